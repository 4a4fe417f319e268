// `convnet predict`, `convnet evaluate` and `convnet info` run as a user runs them
// (node dist/cli/main.js) on a model trained here through the API and saved as train saves it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { PNG, type ColorType } from 'pngjs';
import { loadModel, saveModel } from '../../src/io/files.js';
import { runEvaluate } from '../../src/cli/evaluate.js';
import { softmax } from '../../src/layers/activations.js';
import type { Tensor } from '../../src/tensor.js';
import { CONVNET_VERSION } from '../../src/version.js';
import { writeCifar10Archive } from '../data/fixtures.js';
import { testDigitPixels, trainSmallModel, type TrainedFixture } from './modelFixture.js';

// build/test/cli/*.test.js → the repository root is three levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');

/** Runs the CLI; asynchronous so that the tests of a describe block (concurrency: true) overlap. */
function convnet(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

/** PNG bytes of 0..255 grey pixels in the layout of colorType (0 grey, 2 RGB, 4 grey + alpha, 6 RGBA). */
function pngOf(grey: Uint8Array, size: number, colorType: ColorType): Buffer {
  const perPixel = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType as 0 | 2 | 4 | 6];
  const samples = Buffer.alloc(size * size * perPixel);
  grey.forEach((g, p) => {
    // grey + alpha: white ink whose coverage is the pixel value, which is g on black.
    const pixel = { 0: [g], 2: [g, g, g], 4: [255, g], 6: [g, g, g, 255] }[colorType as 0 | 2 | 4 | 6];
    samples.set(pixel, p * perPixel);
  });
  const png = new PNG({ width: size, height: size });
  png.data = samples;
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: colorType === 4 || colorType === 6 });
}

function jpegOf(grey: Uint8Array, size: number): Buffer {
  const rgba = Buffer.alloc(size * size * 4);
  grey.forEach((g, p) => rgba.set([g, g, g, 255], 4 * p));
  return jpeg.encode({ width: size, height: size, data: rgba }, 100).data;
}

/** 28×28 → 56×56 by repeating each pixel 2×2 (bilinear halving gives it back exactly). */
function doubled(grey: Uint8Array): Uint8Array {
  const out = new Uint8Array(56 * 56);
  for (let y = 0; y < 56; y++) for (let x = 0; x < 56; x++) out[y * 56 + x] = grey[(y >> 1) * 28 + (x >> 1)]!;
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'convnet-model-cli-'));
const imageDir = join(dir, 'images');
let fx: TrainedFixture;
/** file name → the class model.forward gives its test-split tensor. */
const expected = new Map<string, number>();

before(async () => {
  fx = await trainSmallModel(dir);
  // Test digits the model is sure of (top probability > 0.95): rounding the stored values to
  // bytes and JPEG's small changes must not flip a borderline digit.
  const scores = fx.model.forward(fx.data.XTest);
  const probabilities = softmax(scores);
  const confident: Array<{ index: number; label: number }> = [];
  for (let i = 0; i < fx.data.yTest.length && confident.length < 7; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (scores.data[i * 10 + c]! > scores.data[i * 10 + best]!) best = c;
    if (probabilities.data[i * 10 + best]! > 0.95 && !confident.some((d) => d.label === best)) confident.push({ index: i, label: best });
  }
  assert.equal(confident.length, 7, 'seven confidently classified digits of different classes');
  mkdirSync(imageDir);
  const files: Array<[string, (grey: Uint8Array) => Buffer]> = [
    ['a-grey.png', (g) => pngOf(g, 28, 0)],
    ['b-rgb.png', (g) => pngOf(g, 28, 2)],
    ['c-grey-alpha.png', (g) => pngOf(g, 28, 4)],
    ['d-rgba-56x56.png', (g) => pngOf(doubled(g), 56, 6)],
    ['e.jpg', (g) => jpegOf(g, 28)],
    ['f-56x56.jpeg', (g) => jpegOf(doubled(g), 56)],
    ['g-a-png-named.jpg', (g) => pngOf(g, 28, 0)],
  ];
  files.forEach(([name, encode], k) => {
    writeFileSync(join(imageDir, name), encode(testDigitPixels(fx.data, confident[k]!.index)));
    expected.set(name, confident[k]!.label);
  });
  // Not an image: a folder argument skips it.
  writeFileSync(join(imageDir, 'notes.txt'), 'not an image\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

interface JsonPrediction {
  file: string;
  predictions: Array<{ class: number; name: string; probability: number }>;
}

describe('convnet predict', { concurrency: true }, () => {
  test('every image file gets the class model.forward gives its tensor', async () => {
    const names = [...expected.keys()];
    const run = await convnet('predict', fx.modelPath, ...names.map((n) => join(imageDir, n)));
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, names.length);
    names.forEach((name, i) => {
      // "…/a-grey.png:  7 (0.9981), 9 (0.0012), 2 (0.0003)"
      const match = new RegExp(`^${join(imageDir, name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\s+(\\d) \\((\\d\\.\\d{4})\\), (\\d) \\(\\d\\.\\d{4}\\), (\\d) \\(\\d\\.\\d{4}\\)$`).exec(lines[i]!);
      assert.ok(match, lines[i]);
      assert.equal(Number(match[1]), expected.get(name), name);
    });
  });

  test('--json --top 5: files, classes, names and probabilities, most likely first', async () => {
    const names = [...expected.keys()];
    const run = await convnet('predict', fx.modelPath, ...names.map((n) => join(imageDir, n)), '--json', '--top', '5');
    assert.equal(run.status, 0, run.stderr);
    const results = JSON.parse(run.stdout) as JsonPrediction[];
    assert.deepEqual(results.map((r) => r.file), names.map((n) => join(imageDir, n)));
    for (const [i, r] of results.entries()) {
      assert.equal(r.predictions.length, 5);
      assert.equal(r.predictions[0]!.class, expected.get(names[i]!));
      for (const p of r.predictions) {
        assert.deepEqual(Object.keys(p), ['class', 'name', 'probability']);
        assert.equal(p.name, String(p.class)); // MNIST's class names are the digits
        assert.ok(p.probability >= 0 && p.probability <= 1);
      }
      for (let k = 1; k < 5; k++) assert.ok(r.predictions[k - 1]!.probability >= r.predictions[k]!.probability);
      assert.ok(r.predictions[0]!.probability > 0.5);
    }
  });

  test('--top above the class count lists every class: the softmax of model.forward on the image as prepared', async () => {
    const run = await convnet('predict', fx.modelPath, join(imageDir, 'a-grey.png'), '--json', '--top', '99');
    assert.equal(run.status, 0, run.stderr);
    const [result] = JSON.parse(run.stdout) as JsonPrediction[];
    assert.equal(result!.predictions.length, 10);
    assert.deepEqual(result!.predictions.map((p) => p.class).sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(Math.abs(result!.predictions.reduce((s, p) => s + p.probability, 0) - 1) < 1e-5);
    // a-grey.png holds 0..255 bytes; the model file says input = byte · scale − mean.
    const rgba = PNG.sync.read(readFileSync(join(imageDir, 'a-grey.png'))).data;
    const x = new Float32Array(784);
    for (let j = 0; j < 784; j++) x[j] = rgba[4 * j]! * fx.data.scale - fx.data.meanImage!.data[j]!;
    const X: Tensor = { shape: [1, 1, 28, 28], data: x, dtype: 'float32' };
    const probabilities = softmax(fx.model.forward(X));
    for (const p of result!.predictions) assert.ok(Math.abs(p.probability - probabilities.data[p.class]!) < 1e-6, `class ${p.class}`);
  });

  test('a folder expands to its PNG and JPEG files, sorted by name; other files are skipped', async () => {
    const run = await convnet('predict', fx.modelPath, imageDir, '--json', '--top', '1');
    assert.equal(run.status, 0, run.stderr);
    const results = JSON.parse(run.stdout) as JsonPrediction[];
    assert.deepEqual(results.map((r) => r.file), [...expected.keys()].sort().map((n) => join(imageDir, n)));
    for (const r of results) assert.equal(r.predictions[0]!.class, expected.get(r.file.slice(imageDir.length + 1)));
  });
});

describe('convnet evaluate', { concurrency: true }, () => {
  test('reproduces the test accuracy computed through the API; the tables add up', async () => {
    const run = await convnet('evaluate', fx.modelPath, '--json');
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      dataset: string;
      data: string | null;
      count: number;
      correct: number;
      testAcc: number;
      perClass: Array<{ class: number; name: string; precision: number | null; recall: number | null; support: number }>;
      confusion: number[][];
      recordedTestAcc: number | null;
      seconds: number;
      imagesPerSecond: number;
      kernelStartSeconds: number;
      kernels: string;
      notes: string[];
    };
    assert.equal(report.dataset, 'mnist');
    assert.equal(report.data, null);
    assert.equal(report.testAcc, fx.testAcc);
    assert.equal(report.count, 1000);
    assert.equal(report.recordedTestAcc, fx.testAcc);
    assert.deepEqual(report.notes, []);
    assert.ok(report.seconds > 0 && Math.abs(report.imagesPerSecond * report.seconds - 1000) < 1e-6, `${report.seconds} s, ${report.imagesPerSecond} images/s`);
    assert.ok(report.kernelStartSeconds >= 0 && report.kernelStartSeconds < 10, `kernels started in ${report.kernelStartSeconds} s`);
    assert.match(report.kernels, /^(wasm \([a-z-]+\)|js), \d+ threads?$/);
    assert.equal(report.perClass.reduce((s, m) => s + m.support, 0), 1000);
    assert.equal(report.confusion.flat().reduce((s, v) => s + v, 0), 1000);
    assert.equal(report.confusion.reduce((s, row, k) => s + row[k]!, 0), report.correct);
    for (const m of report.perClass) {
      const predicted = report.confusion.reduce((s, row) => s + row[m.class]!, 0);
      assert.equal(m.support, report.confusion[m.class]!.reduce((s, v) => s + v, 0));
      if (m.recall !== null) assert.equal(m.recall, report.confusion[m.class]![m.class]! / m.support);
      if (m.precision !== null) assert.equal(m.precision, report.confusion[m.class]![m.class]! / predicted);
    }
  });

  test('prints accuracy as train does, a per-class table and an aligned confusion matrix', async () => {
    const run = await convnet('evaluate', fx.modelPath, '--dataset', 'mnist');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^test acc ${fx.testAcc.toFixed(4).replace('.', '\\.')} \\(\\d+/1000\\); 1,000 images in \\d+\\.\\d\\d s: [\\d,]+ images/s \\((wasm \\([a-z-]+\\)|js), \\d+ threads?, batches of 100; kernels started in \\d+\\.\\d\\d s before, not counted\\)$`, 'm'));
    assert.match(run.stdout, /^class\s+precision\s+recall\s+support$/m);
    assert.match(run.stdout, /^7\s+\d\.\d{4}\s+\d\.\d{4}\s+\d+$/m);
    const matrix = run.stdout.split('confusion matrix (rows: true class, columns: predicted class)\n')[1]!.trimEnd().split('\n');
    assert.equal(matrix.length, 11);
    assert.match(matrix[0]!, /^\s+0\s+1\s+2\s+3\s+4\s+5\s+6\s+7\s+8\s+9$/);
    // Aligned: every row as long as the header, each ending in a number.
    for (const row of matrix.slice(1)) assert.equal(row.length, matrix[0]!.length, row);
    assert.doesNotMatch(run.stdout, /note:/);
  });

  test('says so when the model file records another test accuracy', async () => {
    const { model, info } = await loadModel(fx.modelPath);
    const path = join(dir, 'recorded.safetensors');
    await saveModel(model, path, { ...info, training: { ...info.training, testAcc: 0.5 } });
    const run = await convnet('evaluate', path);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`note: .*recorded\\.safetensors records test acc 0\\.5000, measured ${fx.testAcc.toFixed(4).replace('.', '\\.')}`));
  });

  test('a model file whose preprocessing differs from the dataset\'s: its test images are preprocessed as the file says', async () => {
    // In process (no spawn): a per-channel mean, so that the inputs are pixel / 255 − m.
    const { model, info } = await loadModel(fx.modelPath);
    let m = 0;
    for (const v of fx.data.meanImage!.data) m += v / 784;
    const path = join(dir, 'per-channel.safetensors');
    await saveModel(model, path, { ...info, preprocessing: { scale: fx.data.scale, mean: { shape: [1, 1, 1], data: Float32Array.of(m), dtype: 'float32' } } });
    const lines: string[] = [];
    const report = await runEvaluate(path, { json: false }, (line) => lines.push(line));
    assert.ok(lines.some((l) => /^note: the dataset's preprocessing .* differs from the model file's/.test(l)), lines.join('\n'));
    const X = fx.data.XTest;
    const x = new Float32Array(X.data.length);
    for (let i = 0; i < x.length; i++) x[i] = ((X.data[i]! + fx.data.meanImage!.data[i % 784]!) / fx.data.scale) * fx.data.scale - Math.fround(m);
    const scores = fx.model.forward({ shape: [...X.shape], data: x, dtype: 'float32' });
    let correct = 0;
    for (let i = 0; i < 1000; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (scores.data[i * 10 + c]! > scores.data[i * 10 + best]!) best = c;
      if (best === fx.data.yTest[i]) correct++;
    }
    assert.equal(report.correct, correct);
  });

  test('a dataset of another input shape is a clear error', async () => {
    const { archivePath } = writeCifar10Archive(dir, { perBatch: 4, testCount: 4, seed: 1 });
    const run = await convnet('evaluate', fx.modelPath, '--dataset', 'cifar10', '--data', archivePath);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^convnet: evaluate: .*model\.safetensors takes inputs of shape \[1, 28, 28\], but cifar10 images are \[3, 32, 32\]/);
  });

  test('a model file without a training dataset needs --dataset', async () => {
    const { model, info } = await loadModel(fx.modelPath);
    const path = join(dir, 'untrained.safetensors');
    await saveModel(model, path, { ...(info.preprocessing ? { preprocessing: info.preprocessing } : {}) });
    const run = await convnet('evaluate', path);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /untrained\.safetensors does not say which dataset it was trained on: give --dataset/);
  });
});

describe('convnet info', { concurrency: true }, () => {
  test('prints the layer table and the metadata', async () => {
    const run = await convnet('info', fx.modelPath);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.stdout.includes(`model.safetensors: safetensors model file written by convnet ${CONVNET_VERSION}`));
    assert.ok(run.stdout.includes(fx.model.summary()), 'the summary');
    assert.match(run.stdout, /^dtype: float32$/m);
    assert.match(run.stdout, /^preprocessing: input = pixel · 0\.00392157 − mean \(per pixel, shape \[1, 28, 28\]\), for pixels 0\.\.255$/m);
    assert.match(run.stdout, /^classes \(10\): 0, 1, 2, 3, 4, 5, 6, 7, 8, 9$/m);
    assert.match(run.stdout, /^  dataset:\s+mnist$/m);
    assert.match(run.stdout, /^  data:\s+null \(the shipped digits, for mnist\)$/m);
    assert.match(run.stdout, new RegExp(`^  testAcc:\\s+${fx.testAcc.toFixed(4).replace('.', '\\.')}$`, 'm'));
    assert.match(run.stdout, /^  model:\s+three-layer$/m);
  });

  test('--json', async () => {
    const run = await convnet('info', fx.modelPath, '--json');
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Record<string, unknown> & { layers: unknown[]; training: Record<string, unknown> };
    assert.equal(report.format, 'safetensors');
    assert.equal(report.convnetVersion, CONVNET_VERSION);
    assert.equal(report.dtype, 'float32');
    assert.deepEqual(report.inputShape, [1, 28, 28]);
    assert.equal(report.numClasses, 10);
    assert.equal(report.parameters, Object.values(fx.model.params).reduce((s, t) => s + t.data.length, 0));
    assert.deepEqual(report.layers, JSON.parse(JSON.stringify(fx.model.summaryRows())));
    assert.deepEqual(report.preprocessing, { scale: 1 / 255, mean: { shape: [1, 28, 28], per: 'pixel' } });
    assert.deepEqual(report.classNames, fx.data.classNames);
    assert.equal(report.training.testAcc, fx.testAcc);
    assert.equal(report.training.dataset, 'mnist');
  });
});

describe('bad inputs: exit 1 with one line on stderr naming the file, no stack trace', { concurrency: true }, () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['a missing model file', () => ['info', join(dir, 'nope.safetensors')], /^convnet: loadModel: cannot read .*nope\.safetensors: no such file$/],
    ['a PNG given as MODEL', () => ['predict', join(imageDir, 'a-grey.png'), imageDir], /a-grey\.png: expected a model file \(safetensors, as convnet train writes, or ONNX\), got a PNG image$/],
    ['a text file given as MODEL', () => ['evaluate', join(imageDir, 'notes.txt')], /notes\.txt: expected a model file .*, got a text file$/],
    ['a folder given as MODEL', () => ['info', imageDir], /images: expected a model file, got a folder$/],
    ['a truncated PNG', () => ['predict', fx.modelPath, writeCut('cut.png', 'a-grey.png', 60)], /cut\.png: cannot decode this PNG \(the data ends early\): the file is truncated or corrupt$/],
    ['a truncated JPEG', () => ['predict', fx.modelPath, writeCut('cut.jpg', 'e.jpg', 400)], /cut\.jpg: cannot decode this JPEG .*truncated or corrupt$/],
    ['a text file as an image', () => ['predict', fx.modelPath, join(imageDir, 'notes.txt')], /notes\.txt: expected a PNG or JPEG image, got a text file$/],
    ['a missing image', () => ['predict', fx.modelPath, join(dir, 'missing.png')], /cannot read .*missing\.png: no such file$/],
    ['a folder without images', () => ['predict', fx.modelPath, mkdirOnce(join(dir, 'empty'))], /empty: expected a folder with PNG or JPEG files, found none among its 0 entries$/],
  ];
  for (const [name, args, pattern] of cases) {
    test(name, async () => {
      const run = await convnet(...args());
      assert.equal(run.status, 1, run.stdout);
      assert.equal(run.stdout, '');
      const lines = run.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, pattern);
    });
  }
});

function writeCut(name: string, from: string, bytes: number): string {
  const path = join(dir, name);
  writeFileSync(path, readFileSync(join(imageDir, from)).subarray(0, bytes));
  return path;
}

function mkdirOnce(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
