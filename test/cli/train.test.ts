// `convnet train` as files: model and checkpoint written atomically, exact --resume, Ctrl-C,
// SIGKILL at any moment, --out checks, divergence.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { temporaryDirectory } from '../helpers.js';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/io/files.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/train/checkpoint.js';
import type { Json } from '../../src/nn/module.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');
const work = temporaryDirectory('convnet-train-');

/** A small, quick run on the shipped digits: 8 iterations per epoch, one thread (same bits every time). */
const RUN = ['--num-train', '200', '--batch-size', '25', '--model', 'conv(2,3)-relu-pool-fc(10)', '--no-progress', '--threads', '1', '--seed', '3'];

function convnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface RunResult {
  lossHistory: number[];
  valAccHistory: number[];
  trainAccHistory: number[];
  /** The current (last) parameters, from the checkpoint. */
  params: Record<string, number[]>;
}

function resultOf(dir: string): RunResult {
  const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
  const checkpoint = decodeCheckpoint(readFileSync(join(dir, 'checkpoint.safetensors')));
  const params: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(checkpoint.model)) params[name] = Array.from(t.data);
  return { lossHistory: metrics.lossHistory, valAccHistory: metrics.valAccHistory, trainAccHistory: metrics.trainAccHistory, params };
}

let uninterrupted: RunResult | undefined;
let referenceStdout = '';
function reference(): RunResult {
  if (uninterrupted === undefined) {
    const out = join(work, 'whole');
    const run = convnet('train', ...RUN, '--epochs', '4', '--out', out);
    assert.equal(run.status, 0, run.stderr);
    referenceStdout = run.stdout;
    uninterrupted = resultOf(out);
    assert.equal(uninterrupted.lossHistory.length, 32);
  }
  return uninterrupted;
}

describe('convnet train writes a model and a checkpoint, and --resume continues exactly', () => {
  test('--epochs 4 = --epochs 2, then --resume DIR --epochs 4 (parameters and histories identical)', () => {
    const whole = reference();
    const out = join(work, 'halves');
    const first = convnet('train', ...RUN, '--epochs', '2', '--out', out);
    assert.equal(first.status, 0, first.stderr);
    const second = convnet('train', '--resume', out, '--epochs', '4', '--threads', '1', '--no-progress');
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /resuming at iteration 17 of 32 \(epoch 3\)/);
    assert.deepEqual(resultOf(out), whole);
  });

  test('model.safetensors holds the best-validation model with class names, preprocessing and a training summary', async () => {
    reference();
    const { model, info } = await loadModel(join(work, 'whole', 'model.safetensors'));
    assert.deepEqual(model.inputShape, [1, 28, 28]);
    assert.deepEqual(info.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.ok(info.preprocessing !== undefined && info.preprocessing.scale > 0);
    assert.equal(info.training?.dataset, 'mnist');
    assert.equal(info.training?.model, 'conv(2,3)-relu-pool-fc(10)');
    assert.equal(typeof info.training?.testAcc, 'number');
  });

  test('convnet evaluate on model.safetensors reproduces the test accuracy convnet train printed', () => {
    reference();
    const printed = /test acc (\d\.\d{4})/.exec(referenceStdout)![1];
    const run = convnet('evaluate', join(work, 'whole', 'model.safetensors'));
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`test acc ${printed!.replace('.', '\\.')} `));
  });

  test('Ctrl-C stops after the current iteration, writes a checkpoint, says how to resume and exits 130', async () => {
    const whole = reference();
    const out = join(work, 'interrupted');
    const child = spawn(process.execPath, [bin, 'train', ...RUN, '--epochs', '4', '--out', out]);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/epoch 1\/4/.test(stdout) && !child.killed) child.kill('SIGINT');
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    assert.equal(status, 130, stdout);
    assert.match(stdout, /stopped after iteration \d+ of 32; model\.safetensors holds the best model so far\. Resume with: convnet train --resume /);
    const resumed = convnet('train', '--resume', out, '--threads', '1', '--no-progress');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(resultOf(out), whole);
  });

  test('SIGKILL at ten different moments: the last checkpoint loads and --resume completes the same run', async () => {
    const whole = reference();
    const kill = (k: number): Promise<string> =>
      new Promise((resolve) => {
        const out = join(work, `killed-${k}`);
        const child = spawn(process.execPath, [bin, 'train', ...RUN, '--epochs', '4', '--out', out]);
        let stdout = '';
        // Moment k: after the check of epoch ⌊k / 3⌋ is printed (its checkpoint is on disk), plus 0, 15 or 40 ms.
        const epoch = Math.floor(k / 3);
        const delay = [0, 15, 40][k % 3]!;
        let armed = false;
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (!armed && new RegExp(`epoch ${epoch}/4`).test(stdout)) {
            armed = true;
            setTimeout(() => child.kill('SIGKILL'), delay);
          }
        });
        child.on('close', () => resolve(out));
      });
    const outs: string[] = [];
    for (let k = 0; k < 10; k += 2) outs.push(...(await Promise.all([kill(k), kill(k + 1)])));
    for (const out of outs) {
      const checkpoint = decodeCheckpoint(readFileSync(join(out, 'checkpoint.safetensors')), out);
      assert.ok(checkpoint.solver.lossHistory.length >= 1, out);
      const resumed = convnet('train', '--resume', out, '--threads', '1', '--no-progress');
      assert.equal(resumed.status, 0, `${out}: ${resumed.stderr}`);
      assert.deepEqual(resultOf(out), whole, out);
    }
  });
});

describe('convnet train: problems are reported before training, in one line', () => {
  test('--out naming a file', () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    const run = convnet('train', ...RUN, '--out', file);
    assert.equal(run.status, 1);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /--out .*a-file is a file, not a folder/);
    assert.doesNotMatch(run.stdout, /epoch/, 'no training happened');
  });
  test('--out inside a file (cannot be created)', () => {
    const run = convnet('train', ...RUN, '--out', join(work, 'a-file', 'sub'));
    assert.equal(run.status, 1);
    assert.match(run.stderr, /--out .* cannot be written \(ENOTDIR\)/);
  });
  test('--resume of a folder without a checkpoint, or with other options', () => {
    const empty = mkdtempSync(join(work, 'empty-'));
    const run = convnet('train', '--resume', empty);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /no checkpoint\.safetensors there/);
    reference();
    const other = convnet('train', '--resume', join(work, 'whole'), '--lr', '0.1');
    assert.equal(other.status, 1);
    assert.match(other.stderr, /only --epochs, --threads and --backend can be given with it, got --lr/);
  });
  test('a diverging run (--lr 1e6) stops with the iteration and learning rate', () => {
    const out = join(work, 'diverged');
    const run = convnet('train', ...RUN, '--lr', '1e6', '--out', out);
    assert.equal(run.status, 1);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /training diverged/);
    assert.match(run.stderr, /at iteration \d+ \(epoch \d+, learning rate 1000000\)/);
    assert.ok(!existsSync(join(out, 'model.safetensors')), 'no model from a diverged run');
  });
});

describe('convnet train: the recipe options, the evaluated parameters and where the run ran', () => {
  const RECIPE = ['--schedule', 'step', '--step-epochs', '2', '--lr-decay', '0.5', '--warmup', '1', '--weight-decay', '0.05', '--label-smoothing', '0.1', '--rotate', '10', '--scale', '0.1', '--shift', '1'];

  test('--schedule step, --warmup, --weight-decay, --label-smoothing, --rotate, --scale: --epochs 2 then --resume --epochs 4 = --epochs 4', () => {
    const wholeDir = join(work, 'recipe-whole');
    const whole = convnet('train', ...RUN, ...RECIPE, '--epochs', '4', '--out', wholeDir);
    assert.equal(whole.status, 0, whole.stderr);
    assert.match(whole.stdout, /step schedule \(×0\.5 every 2 epochs\), 1 warm-up epoch, weight decay 0\.05 \(decoupled\), label smoothing 0\.1, rotate ±10°, scale ±0\.1, shift ±1/);
    const out = join(work, 'recipe-halves');
    assert.equal(convnet('train', ...RUN, ...RECIPE, '--epochs', '2', '--out', out).status, 0);
    const second = convnet('train', '--resume', out, '--epochs', '4', '--threads', '1', '--no-progress');
    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual(resultOf(out), resultOf(wholeDir));
    // The options differ from the default run's: another run, another loss history.
    assert.notDeepEqual(resultOf(wholeDir).lossHistory, reference().lossHistory);
    const metrics = JSON.parse(readFileSync(join(wholeDir, 'metrics.json'), 'utf8'));
    assert.deepEqual(
      [metrics.options.schedule, metrics.options.stepEpochs, metrics.options.warmup, metrics.options.weightDecay, metrics.options.labelSmoothing, metrics.options.rotate, metrics.options.scale],
      ['step', 2, 1, 0.05, 0.1, 10, 0.1],
    );
  });

  test('a checkpoint from before the recipe options resumes with their old behaviour (none of them)', () => {
    const out = join(work, 'old-checkpoint');
    assert.equal(convnet('train', ...RUN, '--epochs', '2', '--out', out).status, 0);
    const path = join(out, 'checkpoint.safetensors');
    const checkpoint = decodeCheckpoint(readFileSync(path));
    const cli = { ...(checkpoint.extra as { cli: Record<string, unknown> }).cli };
    for (const key of ['schedule', 'warmup', 'stepEpochs', 'weightDecay', 'labelSmoothing', 'rotate', 'scale']) {
      assert.ok(key in cli, key);
      delete cli[key];
    }
    writeFileSync(path, encodeCheckpoint({ ...checkpoint, extra: { cli: cli as Json } }));
    const resumed = convnet('train', '--resume', out, '--epochs', '4', '--threads', '1', '--no-progress');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(resultOf(out), reference());
  });

  test('the final accuracies are those of the best-validation parameters, and say so; metrics.json records seed, commit, CPU, threads and kernels', () => {
    const whole = reference();
    const metrics = JSON.parse(readFileSync(join(work, 'whole', 'metrics.json'), 'utf8'));
    const bestIndex = whole.valAccHistory.indexOf(Math.max(...whole.valAccHistory));
    assert.deepEqual(metrics.evaluated, { parameters: 'best-validation', epoch: Math.floor(metrics.checkIterations[bestIndex] / 8), iteration: metrics.checkIterations[bestIndex], valAcc: metrics.bestValAcc });
    assert.equal(metrics.valAcc, metrics.bestValAcc, 'the validation accuracy measured at the end is the best check\'s');
    assert.match(referenceStdout, new RegExp(`best-validation parameters \\(epoch ${metrics.evaluated.epoch}, iteration ${metrics.evaluated.iteration} of 32\\): train acc \\d\\.\\d{4}, val acc \\d\\.\\d{4}, test acc \\d\\.\\d{4}`));
    assert.equal(metrics.seed, 3);
    assert.equal(metrics.cpu, cpus()[0]!.model);
    assert.equal(metrics.threads, 1);
    assert.match(metrics.backend, /^(wasm|js)$/);
    const git = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' });
    assert.equal(metrics.commit, git.status === 0 ? git.stdout.trim() : 'unknown');
  });

  test('bad recipe values are errors before training', () => {
    for (const [flag, value, message] of [
      ['--label-smoothing', '1', /--label-smoothing must be a number in \[0, 1\), got '1'/],
      ['--rotate', '200', /--rotate must be a number of degrees from 0 to 180, got '200'/],
      ['--scale', '-0.1', /--scale must be a number in \[0, 1\), got '-0\.1'/],
      ['--schedule', 'linear', /--schedule.*linear/],
      ['--weight-decay', '-1', /--weight-decay must be a number >= 0/],
      ['--warmup', '9', /--warmup 9 is more than the 2 epochs/],
    ] as const) {
      const run = convnet('train', ...RUN, '--epochs', '2', flag, value, '--out', join(work, 'bad-recipe'));
      assert.equal(run.status, 1, `${flag} ${value}`);
      // The error is the first line (commander adds its usage hint on a second).
      assert.match(run.stderr.split('\n')[0]!, message);
      assert.doesNotMatch(run.stdout, /epoch/, 'no training happened');
    }
  });
});
