// `convnet train --dataset folder` end to end: a folder of digits as PNG and JPEG files of mixed
// sizes, grey and colour, is learnt; the model file knows the folder names; `convnet predict`
// names new pictures with them and `convnet evaluate` reproduces the test accuracy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadImageFolder } from '../../src/data/index.js';
import { loadModel } from '../../src/io/files.js';
import { DIGIT_NAMES, digitFile, digits, greyPng, writeDigitFolder } from '../data/folderFixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'convnet-folder-cli-'));

function convnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const PER_CLASS = 40;
/** 10 classes × 40 pictures; per class round(40 · 0.2) = 8 test, round(40 · 0.1) = 4 val, 28 train. */
const TRAIN = ['--size', '16', '--channels', '1', '--test-fraction', '0.2', '--model', 'conv(8,3)-relu-pool-fc(10)', '--epochs', '10', '--lr', '3e-3', '--batch-size', '20', '--shift', '0', '--threads', '1', '--no-progress'];

describe('convnet train --dataset folder learns a folder of digit pictures', () => {
  const data = join(work, 'digits');
  const out = join(work, 'run');
  let classNames: string[] = [];
  let first = { status: null as number | null, stdout: '', stderr: '' };

  before(() => {
    classNames = writeDigitFolder(data, PER_CLASS);
    first = convnet('train', '--dataset', 'folder', '--data', data, ...TRAIN, '--out', out);
  });

  test('it decodes the folder (class names from the folders) and learns well above chance on its test split', () => {
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`images: 400 of 10 classes \\(${classNames.join(', ')}\\) from .*digits, split per class by seed 0; 1×16×16 \\(bilinear\\); decoded in .* images/s, \\d workers?\\), cached in .*\\.convnet-cache`));
    assert.match(first.stdout, /convnet train: folder \(280 train, 40 val, 80 test, 1×16×16\)/);
    const testAcc = Number(/test acc (\d\.\d{4})/.exec(first.stdout)![1]);
    // Chance is 0.1; this small net on 280 pictures gets about 0.7.
    assert.ok(testAcc >= 0.5, `test acc ${testAcc}`);
  });

  test('the model file records the folder names and how the pictures were read', async () => {
    const { info, model } = await loadModel(join(out, 'model.safetensors'));
    assert.deepEqual(model.inputShape, [1, 16, 16]);
    assert.deepEqual(info.classNames, classNames);
    assert.equal(info.preprocessing!.scale, 1 / 255);
    assert.deepEqual(info.preprocessing!.mean!.shape, [1, 16, 16]);
    assert.equal(info.training!.dataset, 'folder');
    assert.equal(info.training!.data, data);
    assert.deepEqual(info.training!.folder, { size: [16, 16], channels: 1, resize: 'bilinear', layout: 'classes', splitSeed: 0, valFraction: null, testFraction: 0.2, skipBadImages: false, skipped: [], cache: true, cacheDir: null });
  });

  test('convnet predict names new pictures with the folder names, and mostly rightly', () => {
    // 3 digits per class that are not in the folder, as the fixture writes them (PNG and JPEG, grey and colour).
    const fresh = join(work, 'new');
    mkdirSync(fresh);
    const truth = new Map<string, string>();
    digits(3, 10, PER_CLASS).forEach((list, label) =>
      list.forEach((digit, k) => {
        const file = digitFile(digit, label + k); // a mix of the kinds
        const path = join(fresh, `${DIGIT_NAMES[label]}-${file.name}`);
        writeFileSync(path, file.bytes);
        truth.set(path, DIGIT_NAMES[label]!);
      }),
    );
    const one = convnet('predict', join(out, 'model.safetensors'), [...truth.keys()][0]!);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, new RegExp(`^\\S+:\\s+(${classNames.join('|')}) \\(0\\.\\d{4}\\), (${classNames.join('|')}) \\(`));
    const all = convnet('predict', join(out, 'model.safetensors'), fresh, '--json');
    assert.equal(all.status, 0, all.stderr);
    const predictions = JSON.parse(all.stdout) as Array<{ file: string; predictions: Array<{ name: string }> }>;
    assert.equal(predictions.length, 30);
    for (const p of predictions) assert.ok(classNames.includes(p.predictions[0]!.name), p.predictions[0]!.name);
    const right = predictions.filter((p) => p.predictions[0]!.name === truth.get(p.file)).length;
    assert.ok(right >= 15, `${right}/30 new pictures named rightly`);
  });

  test('convnet predict on the test split agrees with the accuracy train measured (the preprocessing in the file is the training one)', async () => {
    const split = await loadImageFolder(data, { size: 16, channels: 1, testFraction: 0.2, cache: false, workers: 0 });
    const run = convnet('predict', join(out, 'model.safetensors'), ...split.files.test, '--json', '--top', '1');
    assert.equal(run.status, 0, run.stderr);
    const predictions = JSON.parse(run.stdout) as Array<{ file: string; predictions: Array<{ class: number }> }>;
    const right = predictions.filter((p, i) => p.predictions[0]!.class === split.yTest[i]).length;
    const testAcc = Number(/test acc (\d\.\d{4})/.exec(first.stdout)![1]);
    // predict resizes in float64, the dataset keeps float32 pixels: a near tie may go either way.
    assert.ok(Math.abs(right - Math.round(testAcc * 80)) <= 1, `predict: ${right}/80, train: ${testAcc}`);
  });

  test('convnet evaluate reloads the folder as the model file says and reports the same test accuracy, with class names', () => {
    const run = convnet('evaluate', join(out, 'model.safetensors'));
    assert.equal(run.status, 0, run.stderr);
    const printed = /test acc (\d\.\d{4})/.exec(first.stdout)![1];
    assert.match(run.stdout, new RegExp(`on folder \\(.*digits\\), test split \\(80 images\\)`));
    assert.match(run.stdout, new RegExp(`test acc ${printed.replace('.', '\\.')} `));
    assert.match(run.stdout, /^eight\s+\d\.\d{4}\s+\d\.\d{4}\s+8$/m);
  });

  test('a second run reads the pictures from the cache', () => {
    const again = convnet('train', '--dataset', 'folder', '--data', data, ...TRAIN, '--epochs', '1', '--out', join(work, 'again'));
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /images: 400 of 10 classes .*; read from the cache .*images-16x16-1-bilinear\.bin in/);
  });
});

describe('convnet train --dataset folder on bad input', () => {
  const small = (): string => {
    const dir = mkdtempSync(join(work, 'small-'));
    for (const [c, name] of ['cat', 'dog'].entries()) {
      mkdirSync(join(dir, name));
      for (let k = 0; k < 6; k++) writeFileSync(join(dir, name, `${k}.png`), greyPng(5, 5, Array.from({ length: 25 }, (_, p) => (p * (c + 1) * 7 + k) % 256)));
    }
    return dir;
  };
  const QUICK = ['--size', '5', '--model', 'fc', '--epochs', '1', '--batch-size', '4', '--threads', '1', '--no-progress', '--no-cache'];

  test('a file that is not an image: one line naming it and exit 1; --skip-bad-images: a warning naming it', () => {
    const dir = small();
    writeFileSync(join(dir, 'dog', 'notes.txt'), 'dogs I met\n');
    const run = convnet('train', '--dataset', 'folder', '--data', dir, ...QUICK, '--out', join(dir, '..', 'o1'));
    assert.equal(run.status, 1);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /^convnet: loadImageFolder: \S+\/dog\/notes\.txt: expected a PNG or JPEG image, got a text file; .*--skip-bad-images/);
    const skip = convnet('train', '--dataset', 'folder', '--data', dir, ...QUICK, '--skip-bad-images', '--out', join(dir, '..', 'o2'));
    assert.equal(skip.status, 0, skip.stderr);
    assert.match(skip.stderr, /convnet: warning: skipped \S+\/dog\/notes\.txt: expected a PNG or JPEG image, got a text file/);
    assert.match(skip.stdout, /images: 12 of 2 classes \(cat, dog\) .*, 1 bad file skipped;/);
  });

  test('a mix of grey and colour without --channels says to give it', () => {
    const dir = small();
    writeFileSync(join(dir, 'cat', 'colour.png'), digitFile(Float64Array.from({ length: 784 }, (_, p) => p % 256), 2).bytes);
    const run = convnet('train', '--dataset', 'folder', '--data', dir, ...QUICK, '--out', join(dir, '..', 'o3'));
    assert.equal(run.status, 1);
    assert.match(run.stderr, /mixes grey and colour images \(.* is grey, \S+\/cat\/colour\.png is colour\): give channels 1 or 3 \(--channels 1\|3\)/);
  });

  test('folder flags with another dataset, --dataset folder without --data, a bad --channels', () => {
    const other = convnet('train', '--dataset', 'mnist', '--size', '16', '--skip-bad-images', '--out', join(work, 'o4'));
    assert.equal(other.status, 1);
    assert.match(other.stderr, /^convnet: --size, --skip-bad-images apply to --dataset folder only, not to mnist$/m);
    const none = convnet('train', '--dataset', 'folder', '--out', join(work, 'o5'));
    assert.equal(none.status, 1);
    assert.match(none.stderr, /--dataset folder needs --data DIR: a folder with one sub-folder of PNG or JPEG pictures per class/);
    const channels = convnet('train', '--dataset', 'folder', '--data', work, '--channels', '2');
    assert.equal(channels.status, 1);
    assert.match(channels.stderr, /--channels must be 1 \(grey\) or 3 \(RGB\), got '2'/);
  });
});

after(() => rmSync(work, { recursive: true, force: true }));
