// The Solver's labelSmoothing replaces the model's loss: it refuses heads whose options it would drop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConvnetError } from '../../src/errors.js';
import { Linear } from '../../src/nn/linear.js';
import { Network } from '../../src/models/network.js';
import { rng } from '../../src/rng.js';
import { randn } from '../../src/tensor.js';
import { Solver } from '../../src/train/solver.js';

const data = (() => {
  const g = rng(1);
  return { XTrain: randn([6, 4], g), yTrain: Int32Array.from([0, 1, 2, 0, 1, 2]), XVal: randn([3, 4], g), yVal: Int32Array.from([0, 1, 2]) };
})();
const net = (loss?: ConstructorParameters<typeof Network>[0]['loss']): Network =>
  new Network({ module: new Linear({ inFeatures: 4, outFeatures: 3 }, { dtype: 'float64', generator: rng(2) }), inputShape: [4], ...(loss === undefined ? {} : { loss }) });

test('labelSmoothing trains a plain softmax head', () => {
  assert.doesNotThrow(() => new Solver(net(), data, { labelSmoothing: 0.1, verbose: false }));
});

test('labelSmoothing refuses a softmax head with class weights or its own smoothing', () => {
  for (const head of [{ kind: 'softmax' as const, weights: [1, 2, 1] }, { kind: 'softmax' as const, labelSmoothing: 0.2 }]) {
    assert.throws(
      () => new Solver(net(head), data, { labelSmoothing: 0.1, verbose: false }),
      (e: unknown) => e instanceof ConvnetError && /plain softmax.*got loss head/.test(e.message),
    );
  }
});
