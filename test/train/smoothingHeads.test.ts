// The Solver's labelSmoothing goes through the model's loss head: class weights and the ignored
// label still apply; heads that have no class targets, or their own smoothing, are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConvnetError } from '../../src/errors.js';
import { softmaxCrossEntropyLoss } from '../../src/layers/loss.js';
import { Linear } from '../../src/nn/linear.js';
import { Network } from '../../src/models/network.js';
import { rng } from '../../src/rng.js';
import { randn } from '../../src/tensor.js';
import { Solver } from '../../src/train/solver.js';
import { assertClose } from '../helpers.js';

const data = (() => {
  const g = rng(1);
  return { XTrain: randn([6, 4], g), yTrain: Int32Array.from([0, 1, 2, 0, 1, 2]), XVal: randn([3, 4], g), yVal: Int32Array.from([0, 1, 2]) };
})();
const net = (loss?: ConstructorParameters<typeof Network>[0]['loss']): Network =>
  new Network({ module: new Linear({ inFeatures: 4, outFeatures: 3 }, { dtype: 'float64', generator: rng(2) }), inputShape: [4], ...(loss === undefined ? {} : { loss }) });

test('labelSmoothing trains a plain softmax head', () => {
  assert.doesNotThrow(() => new Solver(net(), data, { labelSmoothing: 0.1, verbose: false }));
});

test("a head's class weights and ignored label stay in the smoothed loss", () => {
  const model = net({ kind: 'softmax', weights: [1, 2, 0.5], ignoreIndex: 1 });
  const y = Int32Array.from([0, 1, 2, 0, 1, 2]);
  const smoothed = model.loss(data.XTrain, y, { labelSmoothing: 0.2 });
  const scores = model.forward(data.XTrain, { mode: 'train' });
  const weights = { shape: [3], data: Float64Array.from([1, 2, 0.5]), dtype: 'float64' as const };
  const reference = softmaxCrossEntropyLoss(scores, y, { weights, ignoreIndex: 1, labelSmoothing: 0.2 });
  assertClose([smoothed.loss], [reference.loss as number], 1e-12, 'weighted, ignoring class 1, smoothed');
  assert.doesNotThrow(() => new Solver(model, data, { labelSmoothing: 0.1, verbose: false }));
});

test('labelSmoothing refuses a head with its own smoothing, and regression heads', () => {
  for (const head of [{ kind: 'softmax' as const, labelSmoothing: 0.2 }, 'mse' as const]) {
    assert.throws(
      () => new Solver(net(head), data, { labelSmoothing: 0.1, verbose: false }),
      (e: unknown) => e instanceof ConvnetError && /Solver/.test(e.message) && /(without its own labelSmoothing|softmax or pixelSoftmax loss head)/.test(e.message),
    );
  }
  assert.throws(() => net('mse').loss(data.XTrain, data.XTrain as never, { labelSmoothing: 0.1 }), (e: unknown) => e instanceof ConvnetError && /labelSmoothing only for a softmax or pixelSoftmax loss head .*, got the mse head/.test(e.message));
});
