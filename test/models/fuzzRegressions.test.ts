// Regression tests for model bugs the module fuzz (test/fuzz/modules.test.ts) found: each case
// failed with another error type, ran out of memory, hung, or silently did something else.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildModel } from '../../src/models/build.js';
import { FullyConnectedNet } from '../../src/models/fullyConnectedNet.js';
import { Network } from '../../src/models/network.js';
import { ConvNet, parseSpec } from '../../src/models/spec.js';
import { ThreeLayerConvNet } from '../../src/models/threeLayerConvNet.js';
import { Linear } from '../../src/nn/linear.js';
import type { Tensor } from '../../src/tensor.js';
import { assertThrowsConvnet, randomTensor } from '../helpers.js';

function rejectsQuickly(fn: () => unknown, ms: number, ...patterns: RegExp[]): void {
  const start = Date.now();
  assertThrowsConvnet(fn, ...patterns);
  assert.ok(Date.now() - start < ms, `took ${Date.now() - start} ms`);
}

describe('model fuzz regressions: options', () => {
  test('spec repeats are limited before they are expanded, and brackets nest at most 32 deep', () => {
    // Was: [relu]x100000000 built an array of 10^8 layers and ran out of memory after about three minutes.
    rejectsQuickly(() => parseSpec('[relu]x100000000-fc(10)'), 1000, /^parseSpec: expected at most 10000 layers after repeats/);
    rejectsQuickly(() => parseSpec('[[relu]x1000]x1000-fc(10)'), 1000, /^parseSpec: expected at most 10000 layers/);
    rejectsQuickly(() => parseSpec('[relu]x1000000000000000000000-fc(10)'), 1000, /^parseSpec: /);
    rejectsQuickly(() => parseSpec(`${'['.repeat(5000)}relu${']x1'.repeat(5000)}-fc(10)`), 1000, /^parseSpec: expected brackets nested at most 32 deep/);
    assert.equal(parseSpec('[relu]x9999-fc(10)').length, 10_000);
  });

  test('FullyConnectedNet takes at most 10,000 hidden layers', () => {
    // Was: a million hidden layers of 1 unit built for half a minute.
    const hiddenDims = Array.from({ length: 1_000_000 }, () => 1);
    rejectsQuickly(() => new FullyConnectedNet({ hiddenDims, inputDim: 2 }), 1000, /^FullyConnectedNet: expected hiddenDims to be an array of at most 10000/);
  });

  test('huge layer sizes are rejected cheaply, naming the layer', () => {
    // Was: 'allocate: …' (numClasses 2^40) — or gigabytes allocated below 2^31 values.
    rejectsQuickly(() => new FullyConnectedNet({ hiddenDims: [3], inputDim: 3, numClasses: 2 ** 40 }), 1000, /^Linear: expected weight of at most 2\^27 values/);
    rejectsQuickly(() => new ThreeLayerConvNet({ inputDim: [1, 2 ** 15, 2 ** 15], numFilters: 1, hiddenDim: 8 }), 1000, /^Linear: /);
    rejectsQuickly(() => new ConvNet({ spec: 'conv(1000000000,3)-fc(2)', inputDim: [3, 4, 4], numClasses: 2 }), 1000, /^Conv2d: /);
  });

  test('unknown options are rejected by every model and by buildModel', () => {
    // Was: { numFilter: 8 } (a slip for numFilters) was ignored, giving the default 32 filters.
    assertThrowsConvnet(() => new ThreeLayerConvNet({ numFilter: 8 } as never), /^ThreeLayerConvNet: expected options among .*got \["numFilter"\]/);
    assertThrowsConvnet(() => new FullyConnectedNet({ hiddenDims: [], inputDim: 2, hidden_dims: [3] } as never), /^FullyConnectedNet: expected options among/);
    assertThrowsConvnet(() => new ConvNet({ spec: 'fc(10)', lr: 1 } as never), /^ConvNet: expected options among/);
    assertThrowsConvnet(() => new Network({ module: new Linear({ inFeatures: 2, outFeatures: 3 }), inputShape: [2], regularization: 1 } as never), /^Network: expected options among/);
    assertThrowsConvnet(() => buildModel({ kind: 'FullyConnectedNet', hiddenDims: [], inputDim: 2, extra: 1 }), /^FullyConnectedNet: expected options among/);
  });

  test('buildModel rejects deeply nested Network modules', () => {
    // Was: RangeError: Maximum call stack size exceeded.
    const deep = '{"type":"Sequential","layers":['.repeat(20_000) + '{"type":"Linear","inFeatures":3,"outFeatures":2}' + ']}'.repeat(20_000);
    rejectsQuickly(() => buildModel(JSON.parse(`{"kind":"Network","inputShape":[3],"module":${deep}}`)), 1000, /^buildModule: expected containers nested/);
  });
});

describe('model fuzz regressions: forward, loss, inputGradient', () => {
  const model = new FullyConnectedNet({ hiddenDims: [3], inputDim: 4, numClasses: 3, normalization: 'batchnorm', dtype: 'float64' });
  const X = randomTensor([2, 4], 1);

  test("forward(X, 'train') is an error, not a test-mode forward", () => {
    // Was: the string was read as options without a mode, so the forward ran in test mode.
    assertThrowsConvnet(() => model.forward(X, 'train' as never), /^FullyConnectedNet.forward: expected options \{ mode\? \}, got "train"/);
    assertThrowsConvnet(() => model.forward(X, [] as never), /^FullyConnectedNet.forward: expected options/);
    assert.deepEqual(model.forward(X, { mode: 'train' }).shape, [2, 3]);
  });

  test("bad labels are the loss's error, and leave the running statistics alone", () => {
    // Was: 'softmaxLoss: …', after a training forward had moved batch norm's running statistics.
    const before = Array.from(model.buffers.runningMean1!.data);
    assertThrowsConvnet(() => model.loss(X, [0, 7]), /^FullyConnectedNet.loss: expected labels in \[0, 3\), got y\[1\] = 7/);
    assertThrowsConvnet(() => model.loss(X, null as never), /^FullyConnectedNet.loss: /);
    assertThrowsConvnet(() => model.loss(X, [0]), /^FullyConnectedNet.loss: expected y to have one label per sample \(2\)/);
    assert.deepEqual(Array.from(model.buffers.runningMean1!.data), before);
  });

  test("a malformed X or an empty batch is the model's error, not its first layer's", () => {
    // Was: 'affineForward: …' / 'convForward: …' (X was checked for its shape and dtype only; N = 0 passed to the layers).
    const malformed = { shape: [2, 4], data: new Float64Array(3), dtype: 'float64' } as Tensor;
    assertThrowsConvnet(() => model.forward(malformed), /^FullyConnectedNet.forward: expected X.shape to describe its 3 values/);
    assertThrowsConvnet(() => model.inputGradient(malformed, randomTensor([2, 3], 2)), /^FullyConnectedNet.inputGradient: /);
    const conv = new ThreeLayerConvNet({ inputDim: [1, 4, 4], numFilters: 2, hiddenDim: 3, numClasses: 2, dtype: 'float64' });
    const empty = { shape: [0, 1, 4, 4], data: new Float64Array(0), dtype: 'float64' } as Tensor;
    assertThrowsConvnet(() => conv.inputGradient(empty, { shape: [0, 2], data: new Float64Array(0), dtype: 'float64' }), /^ThreeLayerConvNet.inputGradient: expected X with at least one sample/);
    assertThrowsConvnet(() => model.forward({ shape: [0, 4], data: new Float64Array(0), dtype: 'float64' }), /^FullyConnectedNet.forward: expected X with at least one sample/);
  });
});
