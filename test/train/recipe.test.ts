// The Solver's training-recipe options: learning-rate schedules and warm-up, decoupled weight
// decay, label smoothing; each checked against its formula, and each resumed exactly from a
// checkpoint together with the random affine augmentation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { softmaxCrossEntropyLoss } from '../../src/layers/loss.js';
import type { LossAndGrads, TrainableModel } from '../../src/models/model.js';
import type { Network } from '../../src/models/network.js';
import { ConvNet } from '../../src/models/spec.js';
import { rng } from '../../src/rng.js';
import { tensor, zeros, type Tensor } from '../../src/tensor.js';
import { composeAugmentations, randomAffine, randomShift } from '../../src/train/augment.js';
import { decodeCheckpoint } from '../../src/train/checkpoint.js';
import { decayedParamNames } from '../../src/train/regularise.js';
import { Solver, type SolverOptions, type TrainingData } from '../../src/train/solver.js';
import { assertClose, assertThrowsConvnet } from '../helpers.js';
import { smallMnist } from './smallMnist.js';

/** A model whose gradients are all zero: only the schedule and weight decay move its parameters. */
class Still implements TrainableModel {
  params: Record<string, Tensor> = { W: tensor([[1, -2], [3, 4]]), b: tensor([5, 6]) };
  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Int32Array): LossAndGrads;
  loss(X: Tensor, y?: Int32Array): Tensor | LossAndGrads {
    if (y === undefined) return zeros([X.shape[0]!, 2]);
    return { loss: 1, grads: { W: zeros([2, 2]), b: zeros([2]) } };
  }
}

/** 30 samples, batches of 10: 3 iterations per epoch. */
const still: TrainingData = { XTrain: zeros([30, 1]), yTrain: new Int32Array(30), XVal: zeros([10, 1]), yVal: new Int32Array(10) };

function learningRates(options: SolverOptions): Promise<number[]> {
  const lrs: number[] = [];
  const solver = new Solver(new Still(), still, { batchSize: 10, numEpochs: 4, updateRule: 'sgd', verbose: false, ...options, onIteration: (r) => void lrs.push(r.lr) });
  return solver.train().then(() => lrs);
}

describe('learning-rate schedules', () => {
  test("'cosine' sets lr0·(1 + cos(π·t/T))/2 before step t, ignoring lrDecay", async () => {
    const lrs = await learningRates({ optimConfig: { learningRate: 0.1 }, lrSchedule: 'cosine', lrDecay: 0.5 });
    assert.equal(lrs.length, 12);
    assertClose(lrs, lrs.map((_, t) => (0.1 * (1 + Math.cos((Math.PI * t) / 12))) / 2), 1e-15, 'cosine');
    assert.equal(lrs[0], 0.1);
  });

  test("'step' multiplies by lrDecay every stepEpochs epochs", async () => {
    const lrs = await learningRates({ optimConfig: { learningRate: 0.1 }, lrSchedule: 'step', lrDecay: 0.5, stepEpochs: 2 });
    assertClose(lrs, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05], 1e-15, 'step');
  });

  test('warm-up ramps linearly over warmupEpochs, then the schedule (exp) takes over', async () => {
    const lrs = await learningRates({ optimConfig: { learningRate: 0.3 }, lrDecay: 0.5, warmupEpochs: 1 });
    assertClose(lrs, [0.1, 0.2, 0.3, 0.15, 0.15, 0.15, 0.075, 0.075, 0.075, 0.0375, 0.0375, 0.0375], 1e-15, 'warm-up');
  });

  test("'exp' without warm-up is the per-epoch multiplication it always was (the default)", async () => {
    const lrs = await learningRates({ optimConfig: { learningRate: 0.1 }, lrDecay: 0.5 });
    assert.deepEqual(lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125]);
  });

  test("a schedule starts from the rule's default learning rate when optimConfig has none (adam 1e-3)", async () => {
    const lrs = await learningRates({ updateRule: 'adam', optimConfig: {}, lrSchedule: 'cosine' });
    assert.equal(lrs[0], 1e-3);
    assertClose([lrs[6]!], [0.5e-3], 1e-15, 'half way');
  });

  test('bad schedule options are errors naming the option', () => {
    assertThrowsConvnet(() => new Solver(new Still(), still, { lrSchedule: 'linear' as never }), /Solver/, /lrSchedule among exp, cosine, step, got "linear"/);
    assertThrowsConvnet(() => new Solver(new Still(), still, { warmupEpochs: -1 }), /Solver/, /warmupEpochs/);
    assertThrowsConvnet(() => new Solver(new Still(), still, { stepEpochs: 0 }), /Solver/, /stepEpochs/);
    const custom = (w: Tensor) => ({ next: w, config: {} });
    assertThrowsConvnet(() => new Solver(new Still(), still, { updateRule: custom, lrSchedule: 'cosine' }), /optimConfig\.learningRate for lrSchedule 'cosine'/);
  });
});

describe('decoupled weight decay', () => {
  test('multiplies the weights by 1 − lr·λ each step, before the update; biases are not decayed', async () => {
    // Zero gradients and plain SGD: only the decay moves W. Learning rates 0.1 then 0.05 (lrDecay 0.5).
    const model = new Still();
    const seen: { W: number[]; b: number[] }[] = [];
    const solver = new Solver(model, still, {
      batchSize: 10, numEpochs: 2, updateRule: 'sgd', optimConfig: { learningRate: 0.1 }, lrDecay: 0.5, weightDecay: 0.5, verbose: false,
      onIteration: () => void seen.push({ W: Array.from(model.params.W!.data), b: Array.from(model.params.b!.data) }),
    });
    await solver.train();
    assert.equal(seen.length, 6);
    const factor = 0.95 ** 3 * 0.975 ** 3;
    assertClose(seen[5]!.W, [1, -2, 3, 4].map((w) => w * factor), 1e-12, 'W after 6 steps');
    assert.deepEqual(seen[5]!.b, [5, 6]);
    // Not a loss term: the loss the model reports is untouched.
    assert.deepEqual(solver.lossHistory, [1, 1, 1, 1, 1, 1]);
  });

  test('with Adam, decay and update compose as AdamW: w·(1 − lr·λ) − lr·m̂/(√v̂ + ε)', async () => {
    // One parameter with a constant gradient g: Adam's first step moves it by −lr·sign(g) (to ~1e-8).
    const model: TrainableModel = {
      params: { W: tensor([[2]]) },
      loss(X: Tensor, y?: Int32Array) {
        if (y === undefined) return zeros([X.shape[0]!, 2]);
        return { loss: 1, grads: { W: tensor([[3]]) } };
      },
    } as TrainableModel;
    const captured: number[] = [];
    const solver = new Solver(model, still, { batchSize: 30, numEpochs: 1, updateRule: 'adam', optimConfig: { learningRate: 0.01 }, weightDecay: 0.1, verbose: false, onIteration: () => void captured.push(model.params.W!.data[0]!) });
    await solver.train();
    assertClose(captured, [2 * (1 - 0.01 * 0.1) - 0.01], 1e-7, 'AdamW step');
  });

  test("a Network decays its Conv2d and Linear weights only (the same weights as its L2 term)", () => {
    const net = new ConvNet({ spec: 'conv(2,3)-bn-relu-pool-fc(10)', inputDim: [1, 8, 8], seed: 1 });
    assert.deepEqual(decayedParamNames(net), ['W1', 'W2']);
    assert.deepEqual(decayedParamNames(new Still()), ['W']);
  });

  test('a negative weightDecay is an error', () => {
    assertThrowsConvnet(() => new Solver(new Still(), still, { weightDecay: -1 }), /Solver/, /weightDecay to be a finite number >= 0, got -1/);
  });
});

describe('label smoothing', () => {
  const X = { shape: [4, 1, 6, 6], data: Float64Array.from({ length: 144 }, (_, i) => Math.sin(i)), dtype: 'float64' } as Tensor;
  const y = new Int32Array([0, 3, 1, 2]);

  test('the loss and the gradient of a Network are those of softmaxCrossEntropyLoss with smoothing (plus L2)', () => {
    const spec = 'conv(2,3)-relu-pool-fc(4)';
    const net = new ConvNet({ spec, inputDim: [1, 6, 6], numClasses: 4, dtype: 'float64', seed: 2, reg: 0.3 });
    const smoothed = net.loss(X, y, { labelSmoothing: 0.2 });
    // The same scores through the layers, then the smoothed loss: the data term must match.
    const scores = net.forward(X, { mode: 'train' });
    const reference = softmaxCrossEntropyLoss(scores, y, { labelSmoothing: 0.2 });
    let l2 = 0;
    for (const name of ['W1', 'W2']) for (const w of net.params[name]!.data) l2 += 0.5 * 0.3 * w * w;
    assertClose([smoothed.loss], [reference.loss + l2], 1e-12, 'loss');
    // ε = 0 is the network's own loss, gradients included.
    const plain = net.loss(X, y, { labelSmoothing: 0 });
    const own = net.loss(X, y);
    assertClose([plain.loss], [own.loss], 1e-12, 'ε = 0 loss');
    for (const name of Object.keys(own.grads)) assertClose(plain.grads[name]!.data, own.grads[name]!.data, 1e-12, `ε = 0 d${name}`);
  });

  test('the gradient is the numerical gradient of the smoothed loss', () => {
    const net = new ConvNet({ spec: 'conv(2,3)-relu-pool-fc(4)', inputDim: [1, 6, 6], numClasses: 4, dtype: 'float64', seed: 4 });
    const { grads } = net.loss(X, y, { labelSmoothing: 0.3 });
    const W = net.params.W2!;
    const h = 1e-6;
    for (const i of [0, 5, 17]) {
      const keep = W.data[i]!;
      W.data[i] = keep + h;
      const plus = net.loss(X, y, { labelSmoothing: 0.3 }).loss;
      W.data[i] = keep - h;
      const minus = net.loss(X, y, { labelSmoothing: 0.3 }).loss;
      W.data[i] = keep;
      assertClose([grads.W2!.data[i]!], [(plus - minus) / (2 * h)], 1e-7, `dW2[${i}]`);
    }
  });

  test('needs a Network; bad values and labels are errors', () => {
    assertThrowsConvnet(() => new Solver(new Still(), still, { labelSmoothing: 0.1 }), /Solver/, /labelSmoothing > 0 to train a Network/);
    assertThrowsConvnet(() => new Solver(new Still(), still, { labelSmoothing: 1 }), /labelSmoothing to be a number in \[0, 1\), got 1/);
    const net = new ConvNet({ spec: 'conv(2,3)-relu-pool-fc(4)', inputDim: [1, 6, 6], numClasses: 4, dtype: 'float64', seed: 2 });
    assertThrowsConvnet(() => net.loss(X, new Int32Array([0, 1, 2, 4]), { labelSmoothing: 0.1 }), /ConvNet\.loss/, /y\[3\] = 4/);
    assertThrowsConvnet(() => net.loss(X, y, { labelSmoothing: 1 }), /ConvNet\.loss/, /labelSmoothing to be a number in \[0, 1\), got 1/);
    assertThrowsConvnet(() => net.loss(X, y, { labelSmothing: 0.1 } as never), /ConvNet\.loss/, /labelSmothing/);
  });
});

describe('the recipe options resume exactly', () => {
  const data: TrainingData = smallMnist();
  const makeModel = (): Network => new ConvNet({ spec: 'conv(4,3)-bn-relu-pool-fc(16)-relu-dropout(0.7)-fc(10)', inputDim: [1, 28, 28], seed: 3 });
  const options = (extra: SolverOptions): SolverOptions => ({
    updateRule: 'adam',
    optimConfig: { learningRate: 2e-3 },
    batchSize: 25,
    numEpochs: 4,
    numTrainSamples: 50,
    numValSamples: 60,
    augment: composeAugmentations(randomAffine(12, 0.1), randomShift(1)),
    weightDecay: 0.05,
    labelSmoothing: 0.1,
    warmupEpochs: 1,
    seed: 5,
    verbose: false,
    ...extra,
  });

  for (const schedule of [{ lrSchedule: 'cosine' }, { lrSchedule: 'step', lrDecay: 0.7, stepEpochs: 2 }] as const) {
    test(`${schedule.lrSchedule}, warm-up, weight decay, label smoothing, rotation and scaling: stopped at iteration 13, resumed = uninterrupted`, async () => {
      const wholeModel = makeModel();
      const whole = new Solver(wholeModel, data, options(schedule));
      await whole.train();
      let stopCheckpoint: Uint8Array | undefined;
      const first: Solver = new Solver(makeModel(), data, options({
        ...schedule,
        onIteration: (r) => {
          if (r.iteration === 13) first.stop();
        },
        onCheckpoint: (bytes, reason) => {
          if (reason === 'stop') stopCheckpoint = bytes;
        },
      }));
      await first.train();
      const saved = decodeCheckpoint(stopCheckpoint!).solver;
      assert.equal(saved.lrSchedule, schedule.lrSchedule);
      assert.deepEqual([saved.warmupEpochs, saved.weightDecay, saved.labelSmoothing], [1, 0.05, 0.1]);
      const model = makeModel();
      const resumed = new Solver(model, data, options({ ...schedule, resume: stopCheckpoint! }));
      await resumed.train();
      assert.deepEqual(resumed.lossHistory, whole.lossHistory);
      assert.deepEqual(resumed.valAccHistory, whole.valAccHistory);
      for (const name of Object.keys(wholeModel.params)) assert.deepEqual(Array.from(model.params[name]!.data), Array.from(wholeModel.params[name]!.data), name);
      // Another schedule or decay than the checkpoint's is an error naming it.
      assertThrowsConvnet(() => new Solver(makeModel(), data, options({ ...schedule, resume: stopCheckpoint!, weightDecay: 0.01 })), /weightDecay of the run being resumed \(0\.05\), got 0\.01/);
      assertThrowsConvnet(() => new Solver(makeModel(), data, options({ ...schedule, resume: stopCheckpoint!, lrSchedule: schedule.lrSchedule === 'cosine' ? 'step' : 'cosine' })), /lrSchedule of the run being resumed/);
    });
  }

  test('randomAffine draws from the generator it is given: same seed, same batch', () => {
    const augment = randomAffine(15, 0.2);
    assert.deepEqual(Array.from(augment(data.XTrain, rng(7)).data.slice(0, 2000)), Array.from(augment(data.XTrain, rng(7)).data.slice(0, 2000)));
  });
});
