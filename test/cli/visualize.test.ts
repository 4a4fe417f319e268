// `convnet visualize …`, `convnet plot` and `convnet evaluate --out`, run as a user would.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { temporaryDirectory } from '../helpers.js';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { trainSmallModel, testDigitPixels, type TrainedFixture } from './modelFixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');

function convnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function pngSize(path: string): [number, number] {
  const image = PNG.sync.read(readFileSync(path));
  return [image.width, image.height];
}

describe('convnet visualize, plot and evaluate --out', () => {
  const dir = temporaryDirectory('convnet-viz-');
  const out = join(dir, 'pictures');
  let fx: TrainedFixture;
  let digit: string;

  before(async () => {
    fx = await trainSmallModel(dir);
    digit = join(dir, 'digit.png');
    const png = new PNG({ width: 28, height: 28, colorType: 0, inputColorType: 0, bitDepth: 8 });
    const pixels = testDigitPixels(fx.data, 0);
    for (let i = 0; i < 784; i++) png.data.set([pixels[i]!, pixels[i]!, pixels[i]!, 255], i * 4);
    writeFileSync(digit, PNG.sync.write(png));
  });

  test('saliency, fooling, classes and activations each write their PNG', () => {
    const target = String((fx.data.yTest[0]! + 3) % 10);
    for (const [args, file] of [
      [['saliency', fx.modelPath, digit, digit], 'saliency.png'],
      [['fooling', fx.modelPath, digit, '--target', target, '--objective', 'log-probability'], 'fooling.png'],
      [['classes', fx.modelPath, '--iterations', '20'], 'classes.png'],
      [['activations', fx.modelPath, digit], 'activations.png'],
    ] as const) {
      const run = convnet('visualize', ...args, '--out', out);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`wrote .*${file}`));
      const [w, h] = pngSize(join(out, file));
      assert.ok(w >= 400 && h >= 150, `${file}: ${w}×${h}`);
    }
    assert.match(convnet('visualize', 'fooling', fx.modelPath, digit, '--target', target, '--out', out).stdout, /(not )?fooled after \d+ steps/);
  });

  test('bad input ends with one line and exit code 1', () => {
    const bad = convnet('visualize', 'fooling', fx.modelPath, digit, '--target', '12', '--out', out);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--target must be a class index in \[0, 10\), got 12/);
    const missing = convnet('plot', join(dir, 'nothing.json'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read .*nothing\.json: no such file/);
  });

  test('plot redraws training.png and training.svg from metrics.json', () => {
    const metrics = join(dir, 'metrics.json');
    writeFileSync(metrics, JSON.stringify({ lossHistory: [2.3, 1.2, 0.6, 0.3, 0.2, 0.15], trainAccHistory: [0.1, 0.8, 0.9], valAccHistory: [0.1, 0.78, 0.88], checkIterations: [1, 3, 6], model: 'three-layer', options: { dataset: 'mnist' } }));
    const run = convnet('plot', metrics, '--out', out);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(pngSize(join(out, 'training.png')), [900, 760]);
    assert.match(readFileSync(join(out, 'training.svg'), 'utf8'), /Training three-layer on mnist/);
  });

  test('evaluate --out writes confusion.png, mistakes.png and activations.png', () => {
    const run = convnet('evaluate', fx.modelPath, '--out', out);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /wrote .*\{confusion\.png,mistakes\.png,activations\.png\}/);
    for (const file of ['confusion.png', 'mistakes.png', 'activations.png']) assert.ok(pngSize(join(out, file))[0] >= 400, file);
  });
});
