// The Solver on tiny models: a linear softmax classifier with analytic gradients on three
// separable blobs, and a scripted model whose validation accuracy peaks at a known iteration.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { rng } from '../../src/rng.js';
import { tensor, zeros, type Tensor } from '../../src/tensor.js';
import type { LossAndGrads, TrainableModel } from '../../src/models/model.js';
import type { UpdateRule } from '../../src/train/optim.js';
import { Solver, type EpochRecord, type IterationRecord, type SolverOptions, type SolverRecord, type TrainingData } from '../../src/train/solver.js';
import { assertThrowsConvnet } from '../helpers.js';
import { FullyConnectedNet } from '../../src/models/fullyConnectedNet.js';
import { decodeCheckpoint } from '../../src/train/checkpoint.js';

/** Softmax regression: scores = X·W + b with X read as (N, D); W (D, K), b (K). */
class LinearSoftmax implements TrainableModel {
  params: Record<string, Tensor>;

  constructor(D: number, K: number, seed = 1) {
    const g = rng(seed);
    const W = zeros([D, K]);
    for (let i = 0; i < W.data.length; i++) W.data[i] = 0.01 * g.normal();
    this.params = { W, b: zeros([K]) };
  }

  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Int32Array): LossAndGrads;
  loss(X: Tensor, y?: Int32Array): Tensor | LossAndGrads {
    const { W, b } = this.params as { W: Tensor; b: Tensor };
    const [D, K] = W.shape as [number, number];
    const N = X.shape[0]!;
    assert.equal(X.data.length, N * D);
    const scores = zeros([N, K]);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        let s = b.data[k]!;
        for (let d = 0; d < D; d++) s += X.data[n * D + d]! * W.data[d * K + k]!;
        scores.data[n * K + k] = s;
      }
    }
    if (y === undefined) return scores;
    // dscores = (softmax − onehot(y)) / N;  dW = Xᵀ·dscores;  db = Σ_n dscores
    const dW = zeros([D, K]);
    const db = zeros([K]);
    let loss = 0;
    for (let n = 0; n < N; n++) {
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, scores.data[n * K + k]!);
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.exp(scores.data[n * K + k]! - max);
      loss -= scores.data[n * K + y[n]!]! - max - Math.log(sum);
      for (let k = 0; k < K; k++) {
        const g = (Math.exp(scores.data[n * K + k]! - max) / sum - (k === y[n] ? 1 : 0)) / N;
        db.data[k] += g;
        for (let d = 0; d < D; d++) dW.data[d * K + k] += X.data[n * D + d]! * g;
      }
    }
    return { loss: loss / N, grads: { W: dW, b: db } };
  }
}

/** Three Gaussian blobs in the plane (σ 0.5, centres 3 apart), as NCHW (N, 2, 1, 1) or (N, 2). */
function blobs(N: number, seed: number, nchw = false): { X: Tensor; y: Int32Array } {
  const g = rng(seed);
  const centres = [[3, 0], [-1.5, 2.6], [-1.5, -2.6]];
  const X = zeros(nchw ? [N, 2, 1, 1] : [N, 2]);
  const y = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    y[n] = n % 3;
    X.data[2 * n] = centres[y[n]!]![0]! + 0.5 * g.normal();
    X.data[2 * n + 1] = centres[y[n]!]![1]! + 0.5 * g.normal();
  }
  return { X, y };
}

function blobData(nchw = false): TrainingData {
  const train = blobs(120, 11, nchw);
  const val = blobs(30, 12, nchw);
  return { XTrain: train.X, yTrain: train.y, XVal: val.X, yVal: val.y };
}

const quiet = { verbose: false } as const;

/** 120 training images, batches of 40: 3 iterations per epoch. */
function solverFor(options: SolverOptions = {}, model: TrainableModel = new LinearSoftmax(2, 3)): Solver {
  return new Solver(model, blobData(), { batchSize: 40, numEpochs: 3, optimConfig: { learningRate: 0.5 }, ...quiet, ...options });
}

/**
 * A scripted model: one parameter w, which a custom rule raises by 1 per iteration. Every label
 * is 0, and the model predicts 0 only while w equals `goodAt` — so validation accuracy is 1 at
 * exactly that iteration and 0 elsewhere.
 */
class Scripted implements TrainableModel {
  params: Record<string, Tensor> = { w: tensor([0]) };
  constructor(private readonly goodAt: number) {}
  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Int32Array): LossAndGrads;
  loss(X: Tensor, y?: Int32Array): Tensor | LossAndGrads {
    const N = X.shape[0]!;
    if (y !== undefined) return { loss: 1 / (1 + this.params.w!.data[0]!), grads: { w: tensor([0]) } };
    const good = this.params.w!.data[0] === this.goodAt;
    const scores = zeros([N, 2]);
    for (let n = 0; n < N; n++) scores.data[n * 2 + (good ? 0 : 1)] = 1;
    return scores;
  }
}
const countUp: UpdateRule = (w, _dw, config = {}) => ({ next: tensor([w.data[0]! + 1]), config });
const zerosData: TrainingData = { XTrain: zeros([30, 1]), yTrain: new Int32Array(30), XVal: zeros([10, 1]), yVal: new Int32Array(10) };

describe('Solver: training', () => {
  test('the loss falls and the blobs are learned (sgd, lr 0.5)', async () => {
    const solver = solverFor({ numEpochs: 5, batchSize: 20 });
    const result = await solver.train();
    const h = solver.lossHistory;
    assert.equal(h.length, 30);
    assert.deepEqual(result, { ...result, stopped: false, iterations: 30, epochs: 5 });
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(Math.abs(h[0]! - Math.log(3)) < 0.05, `first loss ${h[0]} ≈ log 3`);
    assert.ok(mean(h.slice(-5)) < 0.25 * mean(h.slice(0, 5)), `loss ${mean(h.slice(0, 5))} → ${mean(h.slice(-5))}`);
    assert.ok(solver.bestValAcc >= 0.95, `best val acc ${solver.bestValAcc}`);
    assert.ok(solver.trainAccHistory.at(-1)! >= 0.95);
  });

  test('NCHW images (N, 2, 1, 1) reach the model with their shape', async () => {
    const seen: number[][] = [];
    const model = new LinearSoftmax(2, 3);
    const inner = model.loss.bind(model) as (X: Tensor, y?: Int32Array) => Tensor | LossAndGrads;
    model.loss = ((X: Tensor, y?: Int32Array) => {
      seen.push(X.shape);
      return inner(X, y);
    }) as LinearSoftmax['loss'];
    const solver = new Solver(model, blobData(true), { batchSize: 40, numEpochs: 1, optimConfig: { learningRate: 0.5 }, ...quiet });
    await solver.train();
    assert.deepEqual(seen[0], [40, 2, 1, 1]);
    assert.ok(solver.bestValAcc > 0.9);
  });

  for (const updateRule of ['sgd', 'momentum', 'rmsprop', 'adam'] as const) {
    test(`trains with ${updateRule}`, async () => {
      const solver = solverFor({ updateRule, optimConfig: { learningRate: updateRule === 'sgd' || updateRule === 'momentum' ? 0.1 : 0.05 }, numEpochs: 4 });
      await solver.train();
      assert.ok(solver.lossHistory.at(-1)! < solver.lossHistory[0]!);
      assert.ok(solver.bestValAcc >= 0.9, `${updateRule}: best val acc ${solver.bestValAcc}`);
    });
  }

  test('each parameter keeps its own state (deep-copied optimConfig)', async () => {
    const solver = solverFor({ updateRule: 'adam', optimConfig: { learningRate: 0.01 } });
    await solver.train();
    const { W, b } = solver.optimConfigs as Record<'W' | 'b', { m: Tensor; t: number }>;
    assert.deepEqual(W.m.shape, [2, 3]);
    assert.deepEqual(b.m.shape, [3]);
    assert.equal(W.t, 9);
    assert.equal(b.t, 9);
    assert.deepEqual(solver.optimConfig, { learningRate: 0.01 }, 'the shared optimConfig carries no state');
  });
});

describe('Solver: accuracy checks, learning-rate decay, best parameters', () => {
  test('checks accuracy after the first iteration and at each epoch end (3 epochs × 3 iterations → 4 checks)', async () => {
    const epochs: number[] = [];
    const solver = solverFor({ onEpoch: (r) => void epochs.push(r.epoch) });
    await solver.train();
    assert.equal(solver.numIterations, 9);
    assert.deepEqual(solver.checkIterations, [1, 3, 6, 9]);
    assert.equal(solver.trainAccHistory.length, 4);
    assert.equal(solver.valAccHistory.length, 4);
    assert.deepEqual(epochs, [0, 1, 2, 3]);
    assert.equal(solver.epoch, 3);
  });

  test('one iteration per epoch (batch larger than the data) checks once per iteration, never twice', async () => {
    const solver = solverFor({ batchSize: 500, numEpochs: 3 });
    await solver.train();
    assert.equal(solver.iterationsPerEpoch, 1);
    assert.deepEqual(solver.checkIterations, [1, 2, 3]);
    assert.equal(solver.valAccHistory.length, 3);
  });

  test('lrDecay multiplies every learning rate at each epoch end', async () => {
    const lrs: number[] = [];
    const solver = solverFor({ optimConfig: { learningRate: 0.1 }, lrDecay: 0.5, onIteration: (r) => void lrs.push(r.lr) });
    await solver.train();
    assert.deepEqual(lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025]);
    assert.equal(solver.optimConfigs.W!.learningRate, 0.0125);
    assert.equal(solver.optimConfigs.b!.learningRate, 0.0125);
  });

  test("lrDecay applies to a rule's default learning rate too (adam 1e-3)", async () => {
    const lrs: number[] = [];
    const solver = solverFor({ updateRule: 'adam', optimConfig: {}, lrDecay: 0.1, numEpochs: 2, onIteration: (r) => void lrs.push(r.lr) });
    await solver.train();
    assert.deepEqual(lrs.map((lr) => Number(lr.toPrecision(12))), [1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-4]);
  });

  test('keeps the parameters with the best validation accuracy and puts them into the model', async () => {
    // 30 images, batches of 10: checks at iterations 1, 3, 6, 9; w = 6 only at the third check.
    const model = new Scripted(6);
    const solver = new Solver(model, zerosData, { updateRule: countUp, batchSize: 10, numEpochs: 3, ...quiet });
    await solver.train();
    assert.deepEqual(solver.checkIterations, [1, 3, 6, 9]);
    assert.deepEqual(solver.valAccHistory, [0, 0, 1, 0]);
    assert.equal(solver.bestValAcc, 1);
    assert.deepEqual(Array.from(solver.bestParams.w!.data), [6]);
    assert.deepEqual(Array.from(model.params.w!.data), [6], 'the model ends with the best, not the last (9), parameters');
    assert.notEqual(model.params.w, solver.bestParams.w, 'the model gets a copy');
  });

  test('ties keep the earliest parameters; a run that never improves still keeps the first check', async () => {
    const model = new Scripted(-1); // never good: every validation accuracy is 0
    const solver = new Solver(model, zerosData, { updateRule: countUp, batchSize: 10, numEpochs: 3, ...quiet });
    await solver.train();
    assert.deepEqual(solver.valAccHistory, [0, 0, 0, 0]);
    assert.deepEqual(Array.from(model.params.w!.data), [1], 'not an empty params record (a CS231n corner)');
  });
});

describe('Solver: determinism', () => {
  test('the same seed gives identical loss and accuracy histories', async () => {
    const a = solverFor({ seed: 7, numTrainSamples: 50 });
    const b = solverFor({ seed: 7, numTrainSamples: 50 });
    await a.train();
    await b.train();
    assert.deepEqual(a.lossHistory, b.lossHistory);
    assert.deepEqual(a.trainAccHistory, b.trainAccHistory);
    assert.deepEqual(a.valAccHistory, b.valAccHistory);
    assert.deepEqual(a.model.params, b.model.params);
  });

  test('a different seed gives a different loss history', async () => {
    const a = solverFor({ seed: 7 });
    const b = solverFor({ seed: 8 });
    await a.train();
    await b.train();
    assert.notDeepEqual(a.lossHistory, b.lossHistory);
  });

  test('seed 0 is the default', async () => {
    const a = solverFor();
    const b = solverFor({ seed: 0 });
    await a.train();
    await b.train();
    assert.deepEqual(a.lossHistory, b.lossHistory);
  });

  test('calling checkAccuracy by hand does not change the minibatches', async () => {
    const a = solverFor({ seed: 3 });
    const b = solverFor({ seed: 3 });
    b.checkAccuracy(b.data.XTrain, b.data.yTrain, 10);
    await a.train();
    await b.train();
    assert.deepEqual(a.lossHistory, b.lossHistory);
  });
});

describe('Solver: records, callbacks and stopping', () => {
  test('onIteration and onEpoch receive every record', async () => {
    const its: IterationRecord[] = [];
    const checks: EpochRecord[] = [];
    const solver = solverFor({ onIteration: (r) => void its.push(r), onEpoch: (r) => void checks.push(r) });
    await solver.train();
    assert.equal(its.length, 9);
    assert.deepEqual(its.map((r) => r.iteration), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(its.map((r) => r.epoch), [1, 1, 1, 2, 2, 2, 3, 3, 3]);
    assert.deepEqual(its.map((r) => r.loss), solver.lossHistory);
    for (const r of its) {
      assert.equal(r.kind, 'iteration');
      assert.equal(r.numIterations, 9);
      assert.equal(r.numEpochs, 3);
      assert.equal(r.iterationsPerEpoch, 3);
      assert.ok(r.msPerBatch >= 0 && r.imagesPerSecond > 0 && r.elapsedMs >= r.msPerBatch);
      assert.equal(r.lr, 0.5);
    }
    assert.deepEqual(checks.map((r) => [r.kind, r.epoch, r.iteration]), [['epoch', 0, 1], ['epoch', 1, 3], ['epoch', 2, 6], ['epoch', 3, 9]]);
    assert.deepEqual(checks.map((r) => r.trainAcc), solver.trainAccHistory);
    assert.deepEqual(checks.map((r) => r.valAcc), solver.valAccHistory);
    assert.equal(checks.at(-1)!.bestValAcc, solver.bestValAcc);
    assert.equal(checks[0]!.improved, true);
  });

  test('async callbacks are awaited', async () => {
    const order: string[] = [];
    const solver = solverFor({
      numEpochs: 1,
      onIteration: async (r) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        order.push(`it ${r.iteration}`);
      },
      onEpoch: (r) => void order.push(`epoch ${r.epoch}`),
    });
    await solver.train();
    assert.deepEqual(order, ['it 1', 'epoch 0', 'it 2', 'it 3', 'epoch 1']);
  });

  test('iterations() yields the same records in order', async () => {
    const solver = solverFor({ numEpochs: 2 });
    const kinds: string[] = [];
    for await (const record of solver.iterations()) kinds.push(record.kind === 'iteration' ? `i${record.iteration}` : `e${record.epoch}`);
    assert.deepEqual(kinds, ['i1', 'e0', 'i2', 'i3', 'e1', 'i4', 'i5', 'i6', 'e2']);
  });

  test('leaving the iterator stops training and restores the best parameters', async () => {
    const model = new Scripted(1); // best at the first check (w = 1)
    const solver = new Solver(model, zerosData, { updateRule: countUp, batchSize: 10, numEpochs: 3, ...quiet });
    let last: SolverRecord | undefined;
    for await (const record of solver.iterations()) {
      last = record;
      if (record.kind === 'iteration' && record.iteration === 5) break;
    }
    assert.equal(last?.kind, 'iteration');
    assert.equal(solver.lossHistory.length, 5);
    assert.deepEqual(Array.from(model.params.w!.data), [1]);
  });

  test('an AbortSignal stops training after the current iteration', async () => {
    const controller = new AbortController();
    const solver = solverFor({ numEpochs: 20, signal: controller.signal, onIteration: (r) => (r.iteration === 4 ? controller.abort() : undefined) });
    const result = await solver.train();
    assert.equal(solver.lossHistory.length, 4);
    assert.deepEqual([result.stopped, result.iterations, result.epochs], [true, 4, 1]);
    assert.deepEqual(solver.checkIterations, [1, 3]);
  });

  test('solver.stop() stops training; an already aborted signal trains nothing', async () => {
    const solver = solverFor({ onIteration: (r) => (r.iteration === 2 ? solver.stop() : undefined) });
    assert.equal((await solver.train()).stopped, true);
    assert.equal(solver.lossHistory.length, 2);

    const idle = solverFor({ signal: AbortSignal.abort() });
    const result = await idle.train();
    assert.deepEqual([result.stopped, result.iterations, idle.lossHistory.length], [true, 0, 0]);
  });

  test('train() yields to the event loop, so a timer (a progress bar, Ctrl-C) can stop it', async () => {
    const controller = new AbortController();
    const solver = solverFor({ numEpochs: 1000, signal: controller.signal });
    setImmediate(() => controller.abort());
    const result = await solver.train();
    assert.equal(result.stopped, true);
    assert.ok(solver.lossHistory.length <= 3, `${solver.lossHistory.length} iterations before the timer ran`);
  });

  test('a Solver trains once', async () => {
    const solver = solverFor({ numEpochs: 1 });
    await solver.train();
    await assert.rejects(solver.train(), /Solver\.train: expected a Solver that has not trained yet/);
  });
});

describe('Solver: logging and checkpoints', () => {
  test('logs through `log` every printEvery iterations and at every check, as CS231n prints', async () => {
    const lines: string[] = [];
    const solver = solverFor({ verbose: true, log: (line) => void lines.push(line), printEvery: 4 });
    await solver.train();
    const its = lines.filter((l) => l.startsWith('(Iteration'));
    assert.deepEqual(its.map((l) => l.split(')')[0]), ['(Iteration 1 / 9', '(Iteration 5 / 9', '(Iteration 9 / 9']);
    assert.match(its[0]!, /^\(Iteration 1 \/ 9\) loss: \d+\.\d{6}$/);
    const checks = lines.filter((l) => l.startsWith('(Epoch'));
    assert.equal(checks.length, 4);
    assert.match(checks[0]!, /^\(Epoch 0 \/ 3\) train acc: \d\.\d{6}; val_acc: \d\.\d{6}$/);
  });

  test('verbose false logs nothing', async () => {
    const lines: string[] = [];
    await solverFor({ verbose: false, log: (line) => void lines.push(line) }).train();
    assert.deepEqual(lines, []);
  });

  test('writes a checkpoint at every check (${checkpointName}_epoch_${epoch}.safetensors)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'convnet-solver-'));
    try {
      const model = new FullyConnectedNet({ hiddenDims: [4], inputDim: 2, numClasses: 3, dtype: 'float64', weightScale: 'he', seed: 2 });
      const solver = solverFor({ checkpointName: join(dir, 'runs', 'blobs'), updateRule: 'adam', optimConfig: { learningRate: 0.05 } }, model);
      await solver.train();
      assert.deepEqual((await readdir(join(dir, 'runs'))).sort(), ['blobs_epoch_0.safetensors', 'blobs_epoch_1.safetensors', 'blobs_epoch_2.safetensors', 'blobs_epoch_3.safetensors']);
      const last = decodeCheckpoint(await readFile(join(dir, 'runs', 'blobs_epoch_3.safetensors')));
      assert.equal(last.solver.epoch, 3);
      assert.equal(last.solver.lossHistory.length, 9);
      assert.equal(last.solver.updateRule, 'adam');
      assert.deepEqual(last.solver.lossHistory, solver.lossHistory);
      assert.deepEqual(last.solver.valAccHistory, solver.valAccHistory);
      assert.deepEqual(last.modelConfig, model.config);
      assert.deepEqual(last.model.W1!.shape, [2, 4]);
      assert.equal(last.solver.optimConfigs.W1!.t, 9);
      assert.deepEqual(last.solver.optimConfigs.W1!.m!.shape, [2, 4]);
      const first = decodeCheckpoint(await readFile(join(dir, 'runs', 'blobs_epoch_0.safetensors')));
      assert.equal(first.solver.lossHistory.length, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a model without a config cannot be checkpointed, and says so', async () => {
    await assert.rejects(solverFor({ onCheckpoint: () => {} }).train(), /Solver\.checkpoint: expected a convnet model \(with a config\)/);
  });
});

describe('Solver.checkAccuracy', () => {
  // Scores put the maximum at column (x0 mod 3): predictions are known exactly.
  const fixed: TrainableModel = {
    params: { w: tensor([0]) },
    loss: ((X: Tensor) => {
      const N = X.shape[0]!;
      const scores = zeros([N, 3]);
      for (let n = 0; n < N; n++) scores.data[n * 3 + (X.data[n]! % 3)] = 1;
      return scores;
    }) as TrainableModel['loss'],
  };
  const X = tensor(Array.from({ length: 10 }, (_, i) => i), [10, 1]);
  const y = Int32Array.from({ length: 10 }, (_, i) => (i < 6 ? i % 3 : 0)); // right for 0..5 and 6, 9

  test('counts argmax hits, in any batch size', () => {
    const solver = new Solver(fixed, { XTrain: X, yTrain: y, XVal: X, yVal: y }, quiet);
    assert.equal(solver.checkAccuracy(X, y), 0.8);
    assert.equal(solver.checkAccuracy(X, y, null, 3), 0.8);
    assert.equal(solver.checkAccuracy(X, y, 100, 1), 0.8, 'numSamples >= N uses every sample');
  });

  test('ties go to the first maximum', () => {
    const tied: TrainableModel = { params: { w: tensor([0]) }, loss: ((Xb: Tensor) => zeros([Xb.shape[0]!, 3])) as TrainableModel['loss'] };
    const solver = new Solver(tied, { XTrain: X, yTrain: y, XVal: X, yVal: y }, quiet);
    assert.equal(solver.checkAccuracy(X, y), 0.6); // predicts class 0 everywhere; y has six zeros
  });

  test('subsamples numSamples with replacement from the seed', () => {
    const make = (seed: number): Solver => new Solver(fixed, { XTrain: X, yTrain: y, XVal: X, yVal: y }, { ...quiet, seed });
    const a = make(5);
    const b = make(5);
    const runs = Array.from({ length: 5 }, () => a.checkAccuracy(X, y, 4));
    assert.deepEqual(runs, Array.from({ length: 5 }, () => b.checkAccuracy(X, y, 4)));
    for (const acc of runs) assert.ok([0, 0.25, 0.5, 0.75, 1].includes(acc));
  });

  test('throws on bad scores or labels', () => {
    const solver = new Solver(fixed, { XTrain: X, yTrain: y, XVal: X, yVal: y }, quiet);
    assertThrowsConvnet(() => solver.checkAccuracy(X, y.subarray(0, 5)), /^Solver\.checkAccuracy:/, /one label per sample \(10\)/);
    const flat: TrainableModel = { params: { w: tensor([0]) }, loss: ((Xb: Tensor) => zeros([Xb.shape[0]!])) as TrainableModel['loss'] };
    const bad = new Solver(flat, { XTrain: X, yTrain: y, XVal: X, yVal: y }, quiet);
    assertThrowsConvnet(() => bad.checkAccuracy(X, y), /scores of model\.loss\(X\) of rank 2/);
  });
});

describe('Solver: validation', () => {
  const data = blobData();
  const model = (): TrainableModel => new LinearSoftmax(2, 3);

  test('throws on unknown or malformed options', () => {
    assertThrowsConvnet(() => new Solver(model(), data, { batch_size: 10 } as SolverOptions), /^Solver:/, /"batch_size"/, /did you mean batchSize/);
    assertThrowsConvnet(() => new Solver(model(), data, { updateRule: 'adamw' as 'adam' }), /one of sgd, sgd_momentum, momentum, rmsprop, adam/);
    assertThrowsConvnet(() => new Solver(model(), data, { batchSize: 0 }), /batchSize to be an integer >= 1/);
    assertThrowsConvnet(() => new Solver(model(), data, { numEpochs: 1.5 }), /numEpochs to be an integer >= 1/);
    assertThrowsConvnet(() => new Solver(model(), data, { lrDecay: 0 }), /lrDecay to be a finite number > 0/);
    assertThrowsConvnet(() => new Solver(model(), data, { seed: 0.5 }), /seed to be an integer/);
    assertThrowsConvnet(() => new Solver(model(), data, { checkpointName: '' }), /checkpointName/);
    assertThrowsConvnet(() => new Solver(model(), data, { signal: {} as AbortSignal }), /signal to be an AbortSignal/);
  });

  test('rejects a bad optimConfig when constructed, not at the first step', () => {
    assertThrowsConvnet(() => new Solver(model(), data, { updateRule: 'adam', optimConfig: { learning_rate: 1e-3 } as object }), /^adam:/, /did you mean learningRate/);
    assertThrowsConvnet(() => new Solver(model(), data, { updateRule: 'rmsprop', optimConfig: { decayRate: 1 } }), /config\.decayRate in \[0, 1\)/);
  });

  test('throws on malformed data', () => {
    assertThrowsConvnet(() => new Solver(model(), { ...data, yTrain: data.yTrain.subarray(1) }), /data\.yTrain to have one label per sample \(120\)/);
    assertThrowsConvnet(() => new Solver(model(), { ...data, XVal: zeros([30, 3]) }), /data\.XVal samples of shape \[2\]/);
    assertThrowsConvnet(() => new Solver(model(), { ...data, XVal: zeros([30, 2], 'float32') }), /dtype of data\.XTrain/);
    assertThrowsConvnet(() => new Solver(model(), { ...data, XTrain: zeros([120]) }), /data\.XTrain of shape \(N, …\)/);
    assertThrowsConvnet(() => new Solver(model(), { ...data, yVal: Int32Array.from(data.yVal, () => -1) }), /non-negative integer labels/);
  });

  test('throws on a malformed model', () => {
    assertThrowsConvnet(() => new Solver({ params: {} } as unknown as TrainableModel, data), /loss\(X, y\?\) method/);
    assertThrowsConvnet(() => new Solver({ params: {}, loss: () => 0 } as unknown as TrainableModel, data), /model\.params to be a non-empty record/);
  });

  test('throws when grads miss a parameter or name an unknown one', async () => {
    const missing = new LinearSoftmax(2, 3);
    const inner = missing.loss.bind(missing) as (X: Tensor, y?: Int32Array) => Tensor | LossAndGrads;
    missing.loss = ((X: Tensor, y?: Int32Array) => {
      const out = inner(X, y);
      if (y === undefined) return out;
      const { W } = (out as LossAndGrads).grads;
      return { loss: (out as LossAndGrads).loss, grads: { W } };
    }) as LinearSoftmax['loss'];
    await assert.rejects(new Solver(missing, data, quiet).train(), /Solver\.train: expected grads to have a gradient for every parameter, missing "b"/);

    const extra = new Scripted(0);
    extra.loss = ((X: Tensor, y?: Int32Array) => (y ? { loss: 1, grads: { w: tensor([0]), v: tensor([0]) } } : zeros([X.shape[0]!, 2]))) as Scripted['loss'];
    await assert.rejects(new Solver(extra, zerosData, quiet).train(), /expected grads only for model\.params \(w\), got "v"/);
  });

  test('a NaN loss or gradient stops training with an error naming the iteration or parameter', async () => {
    const diverging = new Scripted(0);
    let calls = 0;
    diverging.loss = ((X: Tensor, y?: Int32Array) => (y ? { loss: ++calls === 3 ? NaN : 1, grads: { w: tensor([0]) } } : zeros([X.shape[0]!, 2]))) as Scripted['loss'];
    await assert.rejects(new Solver(diverging, zerosData, { ...quiet, batchSize: 10 }).train(), /expected a finite loss, got NaN at iteration 3 \(epoch 1, learning rate 0\.01\)/);

    const nanGrad = new Scripted(0);
    nanGrad.loss = ((X: Tensor, y?: Int32Array) => (y ? { loss: 1, grads: { w: tensor([NaN]) } } : zeros([X.shape[0]!, 2]))) as Scripted['loss'];
    await assert.rejects(new Solver(nanGrad, zerosData, { ...quiet, updateRule: 'adam' }).train(), /^ConvnetError: adam: expected dw to be finite \(parameter w\), got NaN at dw\[0\]/);
  });
});
