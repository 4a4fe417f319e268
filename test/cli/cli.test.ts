// End-to-end tests of the `convnet` command, run as a user would (node dist/cli/main.js).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { temporaryDirectory } from '../helpers.js';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeCifar10Archive } from '../data/fixtures.js';

// build/test/cli/cli.test.js → the repository root is three levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');

function convnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('convnet train on a small CIFAR-10 archive in the official format', () => {
  test('trains end to end and writes the model, a checkpoint, metrics.json and both PNGs', () => {
    const dir = temporaryDirectory('convnet-cli-');
    const { archivePath } = writeCifar10Archive(dir, { perBatch: 40, testCount: 40, seed: 1 });
    const out = join(dir, 'out');
    const run = convnet('train', '--dataset', 'cifar10', '--data', archivePath, '--model', 'conv(8,3)-relu-pool-fc(10)', '--epochs', '2', '--batch-size', '20', '--lr', '0.001', '--out', out, '--backend', 'js', '--threads', '1');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /kernels: js, 1 thread/);
    assert.match(run.stdout, /test acc \d\.\d{4}/);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    for (const key of ['trainAcc', 'valAcc', 'testAcc', 'imagesPerSecond']) assert.equal(typeof metrics[key], 'number', key);
    assert.ok(metrics.lossHistory.length > 0 && metrics.lossHistory.every(Number.isFinite));
    for (const file of ['model.safetensors', 'checkpoint.safetensors', 'training.png', 'filters.png']) assert.ok(existsSync(join(out, file)), file);
    // Each PNG starts with the PNG signature.
    assert.deepEqual([...readFileSync(join(out, 'filters.png')).subarray(1, 4)], [0x50, 0x4e, 0x47]);
  });
});

describe('convnet: bad flags and paths end with a one-line error and a non-zero exit', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a non-numeric --epochs', ['train', '--epochs', 'x'], /--epochs must be a whole number/],
    ['an unknown --update', ['train', '--update', 'lbfgs'], /--update/],
    ['a missing CIFAR-10 path', ['train', '--dataset', 'cifar10', '--data', '/nonexistent/cifar.tar.gz'], /cifar/i],
    ['cifar10 without --data', ['train', '--dataset', 'cifar10'], /needs --data PATH/],
    ['a missing Fashion-MNIST folder', ['train', '--dataset', 'fashion-mnist', '--data', '/nonexistent'], /apt-get install dataset-fashion-mnist/],
    ['a bad model spec', ['train', '--model', 'conv(8,3)-swish-fc(10)'], /parseSpec: expected a layer/],
    ['too many --num-train images', ['train', '--num-train', '999999'], /more than the 8000 training images/],
    ['an unknown command', ['fly'], /unknown command/],
    ['zero --threads', ['train', '--threads', '0'], /--threads must be a whole number >= 1/],
    ['an unknown --backend', ['train', '--backend', 'gpu'], /--backend/],
  ];
  for (const [name, args, pattern] of cases) {
    test(name, () => {
      const run = convnet(...args);
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, pattern);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    });
  }
});

describe('convnet gradcheck', () => {
  test('prints a table of relative errors, all below 1e-7', () => {
    const run = convnet('gradcheck');
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /conv 5×7, 3×2 kernel, stride 2, pad 1\s+dx\s+\d\.\d\de-\d+\s+ok/);
    assert.match(run.stdout, /all \d+ gradients below 1e-7/);
  });
});

describe('convnet --help documents every train option', () => {
  test('train --help', () => {
    const run = convnet('train', '--help');
    for (const flag of ['--dataset', '--data', '--model', '--epochs', '--batch-size', '--update', '--lr', '--lr-decay', '--reg', '--num-train', '--seed', '--dtype', '--out']) {
      assert.ok(run.stdout.includes(flag), flag);
    }
  });
});
