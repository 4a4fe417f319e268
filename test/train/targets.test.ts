// The Solver with target tensors: a regression model trained against yTrain / yVal tensors, an
// autoencoder trained with targets 'inputs' (the augmented minibatch is its own target); checks
// measure the MSE (lowest is best), checkpoints resume exactly, bad data is a ConvnetError.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LossAndGrads, TrainableModel } from '../../src/models/model.js';
import { Network } from '../../src/models/network.js';
import { ReLU, Sigmoid } from '../../src/nn/activation.js';
import { Sequential } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { ConvTranspose2d } from '../../src/nn/convTranspose.js';
import { Dropout } from '../../src/nn/dropout.js';
import { Linear } from '../../src/nn/linear.js';
import { BatchNorm2d } from '../../src/nn/norm.js';
import { rng } from '../../src/rng.js';
import { randu, zeros, type Tensor } from '../../src/tensor.js';
import { randomShift } from '../../src/train/augment.js';
import { Solver, type EpochRecord, type SolverOptions, type TargetData } from '../../src/train/solver.js';
import { assertThrowsConvnet, randomTensor } from '../helpers.js';

/** Y = X·A + c for X (N, 3): a regression a Linear(3, 2) can fit exactly. */
function linearData(N: number, seed: number): { X: Tensor; Y: Tensor } {
  const X = randomTensor([N, 3], seed);
  const A = [[1, -2], [0.5, 0], [-1, 3]];
  const c = [0.25, -0.5];
  const Y = zeros([N, 2]);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < 2; j++) {
      let sum = c[j]!;
      for (let i = 0; i < 3; i++) sum += X.data[n * 3 + i]! * A[i]![j]!;
      Y.data[n * 2 + j] = sum;
    }
  }
  return { X, Y };
}

const regression = (): Network => new Network({ module: new Linear({ inFeatures: 3, outFeatures: 2 }, { dtype: 'float64', generator: rng(1) }), inputShape: [3], loss: 'mse' });

/** A tiny autoencoder of (1, 8, 8) images with batch norm and dropout (random state to resume). */
function tinyAutoencoder(): Network {
  const init = { dtype: 'float32' as const, generator: rng(4) };
  const module = new Sequential([
    new Conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, stride: 2, pad: 1 }, init),
    new BatchNorm2d({ features: 4 }, init),
    new ReLU(),
    new Dropout({ keep: 0.9 }, init),
    new ConvTranspose2d({ inChannels: 4, outChannels: 1, kernelSize: 4, stride: 2, pad: 1 }, init),
    new Sigmoid(),
  ]);
  return new Network({ module, inputShape: [1, 8, 8], loss: 'mse' });
}

const images: TargetData = { XTrain: randu([60, 1, 8, 8], rng(5), 0, 1, 'float32'), XVal: randu([20, 1, 8, 8], rng(6), 0, 1, 'float32'), targets: 'inputs' };

function aeOptions(numEpochs: number, extra: SolverOptions = {}): SolverOptions {
  return { updateRule: 'adam', optimConfig: { learningRate: 1e-2 }, lrDecay: 0.9, batchSize: 10, numEpochs, numTrainSamples: 15, augment: randomShift(1), seed: 3, verbose: false, ...extra };
}

describe('Solver: models trained against target tensors', () => {
  test('a regression model learns Y = X·A + c from yTrain / yVal tensors; checks report MSE, not accuracy', async () => {
    const train = linearData(200, 1);
    const val = linearData(50, 2);
    const model = regression();
    const checks: EpochRecord[] = [];
    const lines: string[] = [];
    const solver = new Solver(model, { XTrain: train.X, yTrain: train.Y, XVal: val.X, yVal: val.Y }, {
      updateRule: 'adam', optimConfig: { learningRate: 0.05 }, batchSize: 20, numEpochs: 20, printEvery: 1000, log: (line) => lines.push(line), onEpoch: (r) => void checks.push(r),
    });
    const result = await solver.train();
    assert.equal(solver.metric, 'mse');
    assert.equal(checks.length, 21);
    for (const c of checks) {
      assert.equal(c.metric, 'mse');
      assert.ok(Number.isNaN(c.trainAcc) && Number.isNaN(c.valAcc) && Number.isNaN(c.bestValAcc));
      assert.ok(Number.isFinite(c.trainMse) && Number.isFinite(c.valMse));
    }
    assert.deepEqual(solver.trainAccHistory, []);
    assert.deepEqual(solver.valMseHistory, checks.map((c) => c.valMse));
    assert.equal(solver.bestValMse, Math.min(...solver.valMseHistory));
    assert.equal(result.bestValMse, solver.bestValMse);
    assert.ok(Number.isNaN(result.bestValAcc));
    assert.ok(solver.valMseHistory[0]! > 1, `untrained MSE ${solver.valMseHistory[0]}`);
    assert.ok(solver.bestValMse < 1e-3, `best validation MSE ${solver.bestValMse}`);
    assert.match(lines.at(-1)!, /^\(Epoch 20 \/ 20\) train mse: [\d.e-]+; val mse: [\d.e-]+$/);
    // The best parameters are in the model: checkMse on the validation data gives the best MSE.
    assert.ok(Math.abs(solver.checkMse(val.X, val.Y) - solver.bestValMse) < 1e-15);
  });

  test("targets 'inputs': each augmented minibatch is the target; the MSE checks compare outputs with inputs", async () => {
    const seen: { X: Tensor; y: unknown }[] = [];
    // Outputs X / 2, so that the MSE of a check is mean(X²) / 4.
    const half: TrainableModel = {
      params: { w: zeros([1]) },
      loss: ((X: Tensor, y?: unknown): Tensor | LossAndGrads => {
        if (y === undefined) return { ...X, data: X.data.map((v) => v / 2) };
        seen.push({ X, y });
        return { loss: 1, grads: { w: zeros([1]) } };
      }) as TrainableModel['loss'],
    };
    const X = randu([12, 1, 4, 4], rng(1));
    const solver = new Solver(half, { XTrain: X, XVal: X, targets: 'inputs' }, { batchSize: 4, numEpochs: 1, augment: randomShift(1), verbose: false });
    await solver.train();
    assert.equal(seen.length, 3);
    for (const { X: batch, y } of seen) assert.equal(y, batch, 'the target is the (augmented) minibatch itself');
    let squares = 0;
    for (const v of X.data) squares += v * v;
    assert.ok(Math.abs(solver.valMseHistory[0]! - squares / X.data.length / 4) < 1e-15);
    assert.ok(Math.abs(solver.checkMse(X) - squares / X.data.length / 4) < 1e-15);
  });

  test('an autoencoder run stopped after 2 epochs (or mid-epoch) and resumed ends as the run that never stopped', async () => {
    const whole = tinyAutoencoder();
    const wholeSolver = new Solver(whole, images, aeOptions(4));
    await wholeSolver.train();
    assert.ok(wholeSolver.bestValMse < wholeSolver.valMseHistory[0]!, 'training lowered the validation MSE');

    for (const stopAt of [null, 9] as const) {
      let saved: Uint8Array | undefined;
      const first: Solver<TargetData> = new Solver(tinyAutoencoder(), images, aeOptions(stopAt === null ? 2 : 4, {
        onCheckpoint: (bytes) => void (saved = bytes),
        ...(stopAt === null ? {} : { onIteration: (r) => void (r.iteration === stopAt && first.stop()) }),
      }));
      await first.train();
      const model = tinyAutoencoder();
      const resumed: Solver<TargetData> = new Solver(model, images, aeOptions(4, { resume: saved! }));
      await resumed.train();
      const label = stopAt === null ? 'after 2 epochs' : `at iteration ${stopAt}`;
      assert.deepEqual(resumed.lossHistory, wholeSolver.lossHistory, `${label}: loss history`);
      assert.deepEqual(resumed.trainMseHistory, wholeSolver.trainMseHistory, `${label}: train MSE history`);
      assert.deepEqual(resumed.valMseHistory, wholeSolver.valMseHistory, `${label}: validation MSE history`);
      assert.equal(resumed.bestValMse, wholeSolver.bestValMse);
      for (const name of Object.keys(whole.params)) assert.deepEqual(Array.from(model.params[name]!.data), Array.from(whole.params[name]!.data), `${label}: ${name}`);
      for (const name of Object.keys(whole.buffers)) assert.deepEqual(Array.from(model.buffers[name]!.data), Array.from(whole.buffers[name]!.data), `${label}: ${name}`);
    }
  });

  test('resuming an MSE run with class labels (or the reverse) is an error naming the difference', async () => {
    let saved: Uint8Array | undefined;
    await new Solver(tinyAutoencoder(), images, aeOptions(1, { onCheckpoint: (bytes) => void (saved = bytes) })).train();
    const labelled = { XTrain: images.XTrain, yTrain: new Int32Array(60), XVal: images.XVal, yVal: new Int32Array(20) };
    assertThrowsConvnet(() => new Solver(tinyAutoencoder(), labelled, aeOptions(2, { resume: saved! })), /expected data like the run being resumed's \(checked by mse\), got class labels \(checked by accuracy\)/);
    let classifierSaved: Uint8Array | undefined;
    const classifier = (): Network => new Network({ module: new Linear({ inFeatures: 3, outFeatures: 2 }, { dtype: 'float64', generator: rng(1) }), inputShape: [3] });
    const X = randomTensor([10, 3], 1);
    await new Solver(classifier(), { XTrain: X, yTrain: new Int32Array(10), XVal: X, yVal: new Int32Array(10) }, { numEpochs: 1, batchSize: 5, verbose: false, onCheckpoint: (bytes) => void (classifierSaved = bytes) }).train();
    assertThrowsConvnet(() => new Solver(classifier(), { XTrain: X, yTrain: zeros([10, 2]), XVal: X, yVal: zeros([10, 2]) }, { numEpochs: 2, batchSize: 5, resume: classifierSaved! }), /checked by accuracy\), got target tensors \(checked by mse\)/);
  });

  test('bad target data is a ConvnetError naming the field', async () => {
    const { X, Y } = linearData(10, 1);
    const model = regression();
    assertThrowsConvnet(() => new Solver(model, { XTrain: X, XVal: X, targets: 'outputs' } as unknown as TargetData), /Solver: expected data\.targets to be 'inputs'/);
    assertThrowsConvnet(() => new Solver(model, { XTrain: X, XVal: X, yTrain: Y, yVal: Y, targets: 'inputs' } as unknown as TargetData), /either data\.targets 'inputs' or data\.yTrain and data\.yVal, got both/);
    assertThrowsConvnet(() => new Solver(model, { XTrain: X, yTrain: Y, XVal: X, yVal: new Int32Array(10) } as unknown as TargetData), /data\.yVal to be a target tensor too/);
    assertThrowsConvnet(() => new Solver(model, { XTrain: X, yTrain: zeros([9, 2]), XVal: X, yVal: Y }), /data\.yTrain of shape \(N, …\) with one target per sample \(10\), got \[9, 2\]/);
    assertThrowsConvnet(() => new Solver(model, { XTrain: X, yTrain: Y, XVal: X, yVal: zeros([10, 3]) }), /data\.yVal targets of shape \[2\] \(yTrain's\)/);
    assertThrowsConvnet(() => new Solver(model, { XTrain: X, yTrain: zeros([10, 2], 'float32'), XVal: X, yVal: zeros([10, 2], 'float32') }), /data\.yTrain of the dtype of data\.XTrain \(float64\), got float32/);
    // Targets of another shape than the model's output: the model names the shape it needs.
    const wrong = new Solver(model, { XTrain: X, yTrain: zeros([10, 3]), XVal: X, yVal: zeros([10, 3]) }, { batchSize: 5, verbose: false });
    await assert.rejects(wrong.train(), /Network\.loss: expected a target tensor of shape \(5, 2\)/);
    // A model whose output does not match the targets in a check.
    const flat: TrainableModel = { params: { w: zeros([1]) }, loss: ((Xb: Tensor, y?: unknown) => (y === undefined ? zeros([Xb.shape[0]!, 3]) : { loss: 1, grads: { w: zeros([1]) } })) as TrainableModel['loss'] };
    await assert.rejects(new Solver(flat, { XTrain: X, yTrain: Y, XVal: X, yVal: Y }, { batchSize: 5, verbose: false }).train(), /Solver\.train: expected model\.loss\(X\) to return an output of the targets' shape \[5, 2\], got \[5, 3\]/);
    assertThrowsConvnet(() => new Solver(model, { XTrain: X, yTrain: Y, XVal: X, yVal: Y }).checkMse(X, zeros([4, 2])), /Solver\.checkMse: expected Y to have one target per sample of X \(10\), got shape \[4, 2\]/);
  });
});
