// The model contract, for every model kind: config → buildModel, inputGradient, summary, params views.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalNumericalGradientArray, relErrorDetail } from '../../src/gradcheck.js';
import { buildModel } from '../../src/models/build.js';
import { clone, zeros } from '../../src/tensor.js';
import { assertThrowsConvnet, randomTensor } from '../helpers.js';
import { MODEL_KINDS, randomLabels as labels, residualNet } from './kinds.js';
import { ThreeLayerConvNet } from '../../src/models/threeLayerConvNet.js';
import { ConvNet } from '../../src/models/spec.js';
import { Solver } from '../../src/train/solver.js';

describe('buildModel(model.config) with the same parameters gives bit-identical scores', () => {
  for (const kind of MODEL_KINDS) {
    for (const dtype of ['float32', 'float64'] as const) {
      test(`${kind.label}, ${dtype}`, () => {
        const model = kind.make(dtype);
        const X = randomTensor([5, ...kind.inputShape], 11, dtype);
        // A training step moves batch norm's running statistics off their initial zeros.
        model.loss(X, labels(5, model.numClasses, 1));
        const config = JSON.parse(JSON.stringify(model.config));
        const rebuilt = buildModel(config);
        assert.deepEqual(rebuilt.config, model.config, 'the same config');
        assert.deepEqual(Object.keys(rebuilt.params), Object.keys(model.params));
        assert.deepEqual(Object.keys(rebuilt.buffers), Object.keys(model.buffers));
        rebuilt.loadState(model.params, model.buffers);
        const a = model.forward(X);
        const b = rebuilt.forward(X);
        assert.deepEqual(b.shape, [5, model.numClasses]);
        assert.deepEqual(Array.from(b.data), Array.from(a.data), 'bit-identical scores');
        assert.deepEqual(Array.from(rebuilt.loss(X).data), Array.from(model.loss(X).data), 'loss(X) is the test-mode forward');
      });
    }
  }
});

describe('inputGradient passes a float64 numerical gradient check', () => {
  for (const kind of MODEL_KINDS) {
    test(kind.label, () => {
      const model = kind.make('float64');
      const X = randomTensor([3, ...kind.inputShape], 21);
      model.loss(X, labels(3, model.numClasses, 2)); // running statistics of one batch
      const dscores = randomTensor([3, model.numClasses], 22);
      const analytic = model.inputGradient(X, dscores);
      assert.deepEqual(analytic.shape, X.shape);
      const numeric = evalNumericalGradientArray((x) => model.forward(x), X, dscores, 1e-4);
      const { error, offset } = relErrorDetail(analytic, numeric);
      assert.ok(error < 1e-7, `relative error ${error.toExponential(2)} at ${offset} (analytic ${analytic.data[offset]}, numeric ${numeric.data[offset]})`);
    });
  }
  test('throws when dscores does not match the scores', () => {
    const model = MODEL_KINDS[0]!.make('float64');
    assertThrowsConvnet(() => model.inputGradient(randomTensor([2, 2, 8, 7], 1), zeros([2, 5])), /ThreeLayerConvNet\.inputGradient/, /dout of shape \[2, 4\]|\[2, 4\]/);
  });
});

describe('parameters are named as CS231n names them and are views of the modules', () => {
  test('the three-layer net: W1…b3 with the conv, hidden and output shapes', () => {
    const model = new ThreeLayerConvNet({ inputDim: [1, 6, 6], numFilters: 2, filterSize: 3, hiddenDim: 5, numClasses: 3 });
    assert.deepEqual(Object.fromEntries(Object.entries(model.params).map(([n, p]) => [n, p.shape])), {
      W1: [2, 1, 3, 3],
      b1: [2],
      W2: [18, 5],
      b2: [5],
      W3: [5, 3],
      b3: [3],
    });
  });
  test('the residual net: weights and norms numbered in execution order, projection last in its block', () => {
    const model = residualNet('float64');
    assert.deepEqual(Object.keys(model.params), [
      'W1', 'b1', 'gamma1', 'beta1', 'W2', 'b2', 'gamma2', 'beta2', 'W3', 'b3', 'gamma3', 'beta3',
      'W4', 'b4', 'gamma4', 'beta4', 'W5', 'b5', 'W6', 'b6', 'gamma5', 'beta5', 'W7', 'b7',
    ]);
    assert.deepEqual(model.params.W6!.shape, [4, 3, 1, 1], 'the projection');
    assert.deepEqual(Object.keys(model.buffers).slice(0, 2), ['runningMean1', 'runningVar1']);
  });
  test('replacing model.params[name] replaces the layer\'s tensor; a wrong shape is an error', () => {
    const model = new ThreeLayerConvNet({ inputDim: [1, 6, 6], numFilters: 2, filterSize: 3, hiddenDim: 5, numClasses: 3, dtype: 'float64' });
    const X = randomTensor([2, 1, 6, 6], 3);
    const before = model.forward(X);
    model.params.b3 = { shape: [3], data: Float64Array.from([1, 2, 3]), dtype: 'float64' };
    const after = model.forward(X);
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(after.data[i]! - before.data[i]! - ((i % 3) + 1)) < 1e-12);
    assertThrowsConvnet(() => (model.params.W3 = zeros([3, 5])), /params\.W3/, /shape \[5, 3\]/);
    assertThrowsConvnet(() => (model.params.W3 = zeros([5, 3], 'float32')), /float64/);
    assert.throws(() => ((model.params as Record<string, unknown>).W9 = zeros([1])), TypeError, 'no new names');
  });
  test('loadState names what is missing, unknown or of the wrong shape', () => {
    const model = residualNet('float32');
    const params = Object.fromEntries(Object.entries(model.params).map(([n, p]) => [n, clone(p)]));
    const { W1, ...withoutW1 } = params;
    assertThrowsConvnet(() => model.loadState(withoutW1, model.buffers), /loadState/, /no W1/);
    assertThrowsConvnet(() => model.loadState({ ...params, W99: W1! }, model.buffers), /unknown W99/);
    assertThrowsConvnet(() => model.loadState({ ...params, W1: zeros([1, 2], 'float32') }, model.buffers), /params\.W1 to be float32 of shape \[3, 2, 3, 3\]/);
    assertThrowsConvnet(() => model.loadState(params, {}), /buffers named runningMean1/);
  });
  test('the Solver trains a module-built network through the contract', async () => {
    const model = residualNet('float32');
    const X = randomTensor([20, 2, 6, 5], 4, 'float32');
    const y = labels(20, 5, 5);
    const solver = new Solver(model, { XTrain: X, yTrain: y, XVal: X, yVal: y }, { updateRule: 'adam', optimConfig: { learningRate: 1e-2 }, batchSize: 10, numEpochs: 8, verbose: false });
    await solver.train();
    assert.ok(solver.lossHistory.at(-1)! < solver.lossHistory[0]!, `loss ${solver.lossHistory[0]} → ${solver.lossHistory.at(-1)}`);
  });
});

describe('summary', () => {
  test('the three-layer net: a row per layer with output shapes, parameter counts and names', () => {
    const model = new ThreeLayerConvNet({ inputDim: [1, 28, 28], numClasses: 10 });
    const text = model.summary();
    const lines = text.split('\n');
    assert.match(lines[0]!, /ThreeLayerConvNet: input \(1, 28, 28\), 10 classes, float32/);
    assert.match(text, /Conv2d 1→32, 7×7, pad 3\s+\(32, 28, 28\)\s+1,600\s+W1, b1/);
    assert.match(text, /MaxPool2d 2×2\s+\(32, 14, 14\)\s+0/);
    assert.match(text, /Linear 6272→100\s+\(100\)\s+627,300\s+W2, b2/);
    assert.match(text, /Linear 100→10\s+\(10\)\s+1,010\s+W3, b3/);
    assert.match(lines.at(-1)!, /total: 629,910 parameters \(2\.4 MiB\)/);
  });
  test('the residual net: blocks indented, the skip projection marked, buffers counted', () => {
    const text = residualNet('float32').summary();
    assert.match(text, /\n {2}Conv2d 3→3, 3×3, pad 1 /);
    assert.match(text, /skip: Conv2d 3→4, 1×1, stride 2\s+\(4, 3, 3\)/);
    assert.match(text, /Residual \(projected skip\)\s+\(4, 3, 3\)/);
    assert.match(text, /buffer values/);
  });
});

describe('res(…) in the spec grammar', () => {
  test('an identity block and a projected block (1×1 conv with the body\'s stride, + bn)', () => {
    const model = new ConvNet({ spec: 'conv(4,3)-bn-relu-[res(conv(4,3)-bn-relu-conv(4,3)-bn)-relu]x2-res(conv(6,3,2)-bn-relu-conv(6,3)-bn)-relu-gap-fc(10)', inputDim: [1, 8, 8] });
    const text = model.summary();
    assert.equal((text.match(/Residual \(identity skip\)/g) ?? []).length, 2);
    assert.match(text, /Residual \(projected skip\)\s+\(6, 4, 4\)/);
    assert.match(text, /skip: Conv2d 4→6, 1×1, stride 2\s+\(6, 4, 4\)/);
    assert.match(text, /skip: BatchNorm2d 6/);
    assert.equal(model.describe(), 'conv(4,3) → bn → relu → res(conv(4,3)-bn-relu-conv(4,3)-bn) → relu → res(conv(4,3)-bn-relu-conv(4,3)-bn) → relu → res(conv(6,3,2)-bn-relu-conv(6,3)-bn) → relu → gap → fc(10)');
    const plain = new ConvNet({ spec: 'conv(4,3)-relu-res(conv(6,3))-fc(10)', inputDim: [1, 5, 5] });
    assert.match(plain.summary(), /skip: Conv2d 4→6, 1×1 /);
    assert.doesNotMatch(plain.summary(), /skip: BatchNorm2d/, 'no bn in the body, none in the projection');
  });
  test('bad blocks are errors naming the block', () => {
    assertThrowsConvnet(() => new ConvNet({ spec: 'fc(8)-res(fc(8))-fc(10)', inputDim: [1, 4, 4] }), /res\(fc\(8\)\) to follow image activations/);
    assertThrowsConvnet(() => new ConvNet({ spec: 'conv(4,3)-res(conv(4,3)-pool)-fc(10)', inputDim: [1, 8, 8] }), /body of res\(conv\(4,3\)-maxpool\(2,2\)\) to change the size only by conv strides/);
    assertThrowsConvnet(() => new ConvNet({ spec: 'conv(4,3)-res(conv(4,3)-fc(10)', inputDim: [1, 8, 8] }), /parseSpec/, /'\)' closing res\(/);
  });
});

describe('activation words in the spec grammar', () => {
  test('tanh, sigmoid, gelu and elu build their modules; the loss is gradient-checked in float64', () => {
    const model = new ConvNet({ spec: 'conv(3,3)-tanh-pool-conv(3,3)-gelu-fc(6)-sigmoid-fc(5)-elu-fc(4)', inputDim: [1, 6, 6], numClasses: 4, dtype: 'float64', seed: 2 });
    const text = model.summary();
    for (const label of ['Tanh', 'GELU', 'Sigmoid', 'ELU']) assert.match(text, new RegExp(`\\n${label}`));
    const X = randomTensor([3, 1, 6, 6], 9);
    const dscores = randomTensor([3, 4], 10);
    // Through four smooth activations the centred differences' truncation error (h² · f''') is
    // ~1e-11 absolute; Richardson extrapolation of steps h and h/2 cancels it (O(h⁴) remains).
    const coarse = evalNumericalGradientArray((x) => model.forward(x), X, dscores, 2e-4);
    const fine = evalNumericalGradientArray((x) => model.forward(x), X, dscores, 1e-4);
    const numeric = { ...fine, data: fine.data.map((v, i) => (4 * v - coarse.data[i]!) / 3) };
    const analytic = model.inputGradient(X, dscores);
    for (let i = 0; i < numeric.data.length; i++) {
      const [a, b] = [analytic.data[i]!, numeric.data[i]!];
      const error = Math.abs(a - b) / Math.max(Math.abs(a) + Math.abs(b), 1e-4);
      assert.ok(error < 1e-7, `X[${i}]: analytic ${a}, numeric ${b}, error ${error}`);
    }
  });
});
