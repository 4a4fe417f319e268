import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalNumericalGradient } from '../../src/gradcheck.js';
import { FullyConnectedNet } from '../../src/models/fullyConnectedNet.js';
import type { Model } from '../../src/models/model.js';
import { ConvNet, parseSpec } from '../../src/models/spec.js';
import { ThreeLayerConvNet } from '../../src/models/threeLayerConvNet.js';
import { convReluPoolBackward, convReluPoolForward, convBnReluBackward, convBnReluForward, affineReluBackward, affineReluForward } from '../../src/layers/sandwich.js';
import { gradCheck } from '../../src/gradcheck.js';
import type { Tensor } from '../../src/tensor.js';
import { assertGradients, assertThrowsConvnet, randomTensor } from '../helpers.js';
import { getBackend, setBackend } from '../../src/kernels/index.js';
import { scaledError } from '../kernels/suite.js';

/**
 * Checks every parameter gradient of a model's loss numerically.
 *
 * The metric is CS231n's relative error with a floor suited to a whole-model loss:
 * max |a − b| / max(|a| + |b|, 1e-4). A centred difference of a float64 loss of order 1 with
 * h = 1e-5 resolves a gradient only to about ulp(loss) / 2h ≈ 4e-11, so an element of 1e-7
 * cannot be measured to 1e-6 relative; with the floor, elements below 1e-4 must agree to about
 * 1e-10 absolute instead. (Layer checks elsewhere use the plain metric, where dout is random
 * and the gradients are of order 1.)
 */
function checkModel(model: Model, X: Tensor, y: number[], tolerance: number, label: string): number {
  const { grads } = model.loss(X, y);
  assert.deepEqual(Object.keys(grads).sort(), Object.keys(model.params).sort(), `${label}: grads have the keys of params`);
  let worst = 0;
  for (const name of Object.keys(model.params)) {
    const original = model.params[name]!;
    const numeric = evalNumericalGradient((p) => {
      model.params[name] = p;
      const { loss } = model.loss(X, y);
      model.params[name] = original;
      return loss;
    }, original);
    const analytic = grads[name]!;
    for (let i = 0; i < numeric.data.length; i++) {
      const a = analytic.data[i]!;
      const b = numeric.data[i]!;
      const err = Math.abs(a - b) / Math.max(Math.abs(a) + Math.abs(b), 1e-4);
      assert.ok(err < tolerance, `${label}: ${name}[${i}] error ${err.toExponential(2)} >= ${tolerance} (analytic ${a}, numeric ${b})`);
      worst = Math.max(worst, err);
    }
  }
  return worst;
}

describe('models: numerical gradient checks of the loss (float64)', () => {
  test('ThreeLayerConvNet, inputDim [3,8,8], 3 filters of 3x3, hidden 7, reg 0 and 0.1', () => {
    for (const reg of [0, 0.1]) {
      const model = new ThreeLayerConvNet({ inputDim: [3, 8, 8], numFilters: 3, filterSize: 3, hiddenDim: 7, numClasses: 5, weightScale: 0.3, reg, dtype: 'float64', seed: 1 });
      checkModel(model, randomTensor([4, 3, 8, 8], 2), [1, 4, 0, 2], 1e-6, `reg ${reg}`);
    }
  });

  for (const normalization of [null, 'batchnorm', 'layernorm'] as const) {
    for (const reg of [0, 0.1]) {
      test(`FullyConnectedNet hidden [20, 30], normalization ${normalization}, reg ${reg}`, () => {
        const model = new FullyConnectedNet({ hiddenDims: [20, 30], inputDim: 15, numClasses: 10, normalization, reg, weightScale: 0.3, dtype: 'float64', seed: 3 });
        checkModel(model, randomTensor([6, 15], 4), [0, 7, 3, 3, 9, 1], 1e-6, `${normalization} reg ${reg}`);
      });
    }
  }

  test('FullyConnectedNet with dropout (masks fixed by a seed for the check)', () => {
    const model = new FullyConnectedNet({ hiddenDims: [20, 30], inputDim: 15, dropoutKeepRatio: 0.5, weightScale: 0.3, dtype: 'float64', seed: 5 });
    model.dropoutSeed = 123;
    checkModel(model, randomTensor([4, 15], 6), [0, 7, 2, 5], 1e-6, 'dropout');
  });

  test('ConvNet from a spec with conv, bn, gn, pools, gap, ln, dropout', () => {
    const model = new ConvNet({
      spec: 'conv(4,3)-bn-relu-conv(4,3,2)-gn(2)-lrelu-maxpool(2,1)-avgpool(2)-fc(6)-ln-relu-dropout(0.8)-fc(3)',
      inputDim: [2, 9, 8],
      numClasses: 3,
      reg: 0.05,
      dtype: 'float64',
      seed: 7,
    });
    model.dropoutSeed = 1;
    checkModel(model, randomTensor([4, 2, 9, 8], 8), [2, 0, 1, 1], 1e-6, 'spec');
  });

  test('ConvNet whose conv → relu (→ 2×2 max pool) runs fuse into one stage each', () => {
    const model = new ConvNet({ spec: 'conv(3,3)-relu-pool-conv(4,3)-relu-maxpool(3,1)-fc(5)', inputDim: [2, 8, 7], numClasses: 5, dtype: 'float64', seed: 11 });
    assert.equal(model.describe(), 'conv(3,3) → relu → maxpool(2,2) → conv(4,3) → relu → maxpool(3,1) → fc(5)');
    checkModel(model, randomTensor([3, 2, 8, 7], 12), [4, 0, 2], 1e-6, 'fused');
  });

  test('ConvNet with a global average pool head', () => {
    const model = new ConvNet({ spec: '[conv(3,3)-relu]x2-gap-fc(4)', inputDim: [1, 5, 6], numClasses: 4, dtype: 'float64', seed: 9 });
    checkModel(model, randomTensor([2, 1, 5, 6], 10), [3, 1], 1e-6, 'gap');
  });
});

describe('sandwich layers: numerical gradients', () => {
  test('affineRelu, convReluPool and convBnRelu', () => {
    const x = randomTensor([2, 3, 6, 6], 11);
    const w = randomTensor([3, 3, 3, 3], 12);
    const b = randomTensor([3], 13);
    const convParam = { stride: 1, pad: 1 };
    const poolParam = { poolHeight: 2, poolWidth: 2, stride: 2 };
    assertGradients(gradCheck({ inputs: { x, w, b }, forward: (i) => convReluPoolForward(i.x!, i.w!, i.b!, convParam, poolParam), backward: convReluPoolBackward, seed: 1 }), 1e-7, 'convReluPool');
    const gamma = randomTensor([3], 14);
    const beta = randomTensor([3], 15);
    assertGradients(
      gradCheck({
        inputs: { x, w, b, gamma, beta },
        forward: (i) => convBnReluForward(i.x!, i.w!, i.b!, i.gamma!, i.beta!, convParam, { mode: 'train' }),
        backward: convBnReluBackward,
        check: ['x', 'w', 'gamma', 'beta'],
        seed: 2,
      }),
      1e-7,
      'convBnRelu',
    );
    // db before a batchnorm is exactly zero: the norm subtracts the bias again.
    const { cache } = convBnReluForward(x, w, b, gamma, beta, convParam, { mode: 'train' });
    const { db } = convBnReluBackward(randomTensor([2, 3, 6, 6], 20), cache);
    assert.ok(db.data.every((v) => Math.abs(v) < 1e-12), `db ${Array.from(db.data)}`);
    const xa = randomTensor([4, 5], 16);
    const wa = randomTensor([5, 6], 17);
    const ba = randomTensor([6], 18);
    assertGradients(gradCheck({ inputs: { x: xa, w: wa, b: ba }, forward: (i) => affineReluForward(i.x!, i.w!, i.b!), backward: affineReluBackward, seed: 3 }), 1e-7, 'affineRelu');
  });
});

describe('models: behaviour', () => {
  test('ThreeLayerConvNet has CS231n defaults and shapes', () => {
    const model = new ThreeLayerConvNet();
    assert.deepEqual(model.params.W1!.shape, [32, 3, 7, 7]);
    assert.deepEqual(model.params.W2!.shape, [32 * 16 * 16, 100]);
    assert.deepEqual(model.params.W3!.shape, [100, 10]);
    assert.equal(model.params.W1!.dtype, 'float32');
    let sumSquares = 0;
    for (const v of model.params.W1!.data) sumSquares += v * v;
    const std = Math.sqrt(sumSquares / model.params.W1!.data.length);
    assert.ok(Math.abs(std - 1e-3) < 1e-4, `W1 std ${std}`);
    assert.ok(model.params.b1!.data.every((v) => v === 0));
  });
  test("weightScale 'he' draws each layer with std √(2 / fan-in)", () => {
    const model = new ThreeLayerConvNet({ inputDim: [1, 28, 28], weightScale: 'he', seed: 2 });
    const std = (t: Tensor): number => Math.sqrt(Array.from(t.data).reduce((s, v) => s + v * v, 0) / t.data.length);
    assert.ok(Math.abs(std(model.params.W1!) / Math.sqrt(2 / 49) - 1) < 0.05, `W1 std ${std(model.params.W1!)}`);
    assert.ok(Math.abs(std(model.params.W2!) / Math.sqrt(2 / (32 * 14 * 14)) - 1) < 0.01, `W2 std ${std(model.params.W2!)}`);
    assert.ok(Math.abs(std(model.params.W3!) / Math.sqrt(2 / 100) - 1) < 0.1, `W3 std ${std(model.params.W3!)}`);
  });
  test('initial loss is about log(C) for small weights', () => {
    const model = new ThreeLayerConvNet({ inputDim: [3, 16, 16], dtype: 'float64', seed: 1 });
    const X = randomTensor([10, 3, 16, 16], 19);
    const { loss } = model.loss(X, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(Math.abs(loss - Math.log(10)) < 0.01, `loss ${loss}`);
  });
  test('the same seed builds the same model', () => {
    const a = new ConvNet({ spec: 'conv(4,3)-relu-pool-fc(10)', inputDim: [1, 8, 8], seed: 4 });
    const b = new ConvNet({ spec: 'conv(4,3)-relu-pool-fc(10)', inputDim: [1, 8, 8], seed: 4 });
    assert.deepEqual(Array.from(a.params.W1!.data), Array.from(b.params.W1!.data));
  });
  test('spec grammar: repeats expand and pool means 2x2 stride 2', () => {
    const layers = parseSpec('[conv(32,3)-bn-relu]x2-pool-fc(10)');
    assert.deepEqual(layers.map((l) => l.kind), ['conv', 'bn', 'relu', 'conv', 'bn', 'relu', 'maxpool', 'fc']);
    assert.deepEqual(layers[6], { kind: 'maxpool', size: 2, stride: 2 });
    assert.deepEqual(parseSpec(' conv( 8 , 5 , 2 ) - fc(3) ')[0], { kind: 'conv', filters: 8, size: 5, stride: 2 });
  });
  test('throws on an unknown layer, naming the position', () => assertThrowsConvnet(() => parseSpec('conv(8,3)-swish-fc(10)'), /parseSpec/, /position 10/, /'swish/));
  test('throws on a wrong argument count', () => assertThrowsConvnet(() => parseSpec('conv(8)-fc(10)'), /conv with 2 to 3 arguments/));
  test('throws on a missing repeat count', () => assertThrowsConvnet(() => parseSpec('[conv(8,3)-relu]-fc(10)'), /'x' and a repeat count/));
  test('throws on an unclosed bracket', () => assertThrowsConvnet(() => parseSpec('[conv(8,3)-relu'), /'\]'/));
  test('throws on a bad dropout probability', () => assertThrowsConvnet(() => parseSpec('fc(10)-dropout(1.5)-fc(10)'), /keep probability in \(0, 1\]/));
  test('throws when the spec does not end with fc(numClasses)', () => assertThrowsConvnet(() => new ConvNet({ spec: 'conv(8,3)-relu-fc(5)', inputDim: [1, 8, 8] }), /ConvNet/, /end with fc\(10\)/));
  test('throws when a conv follows an fc', () => assertThrowsConvnet(() => new ConvNet({ spec: 'fc(20)-conv(8,3)-fc(10)', inputDim: [1, 8, 8] }), /conv\(8,3\) to follow image activations/));
  test('throws when gn does not divide the channels', () => assertThrowsConvnet(() => new ConvNet({ spec: 'conv(6,3)-gn(4)-fc(10)', inputDim: [1, 8, 8] }), /gn\(4\) to divide the 6 channels/));
  test('throws when a pool is larger than its input', () => assertThrowsConvnet(() => new ConvNet({ spec: 'maxpool(9)-fc(10)', inputDim: [1, 8, 8] }), /larger than the input/));
  test('throws on an even conv size', () => assertThrowsConvnet(() => new ThreeLayerConvNet({ filterSize: 4 }), /odd filterSize/));
  test('throws when X has the wrong shape', () => assertThrowsConvnet(() => new ThreeLayerConvNet({ inputDim: [1, 8, 8] }).loss(randomTensor([2, 3, 8, 8], 1, 'float32')), /ThreeLayerConvNet.loss/, /\(N, 1, 8, 8\)/));
  test('throws when X has the wrong dtype', () => assertThrowsConvnet(() => new ThreeLayerConvNet({ inputDim: [1, 8, 8] }).loss(randomTensor([2, 1, 8, 8], 1)), /dtype float32/));
  test('throws on bad FullyConnectedNet options', () => {
    assertThrowsConvnet(() => new FullyConnectedNet({ hiddenDims: [10, 0] }), /hiddenDims/);
    assertThrowsConvnet(() => new FullyConnectedNet({ hiddenDims: [10], normalization: 'groupnorm' as never }), /normalization/);
    assertThrowsConvnet(() => new FullyConnectedNet({ hiddenDims: [10], dropoutKeepRatio: 0 }), /dropoutKeepRatio/);
  });
});

describe('fused stages on each backend', () => {
  test('float32: the same loss and gradients from the wasm kernels (fused calls) as from the js ones', () => {
    const previous = getBackend() as 'js' | 'wasm';
    const run = (backend: 'js' | 'wasm'): { loss: number; grads: Record<string, Tensor> } => {
      setBackend(backend);
      const model = new ConvNet({ spec: 'conv(6,3)-relu-pool-conv(8,3)-relu-fc(16)-relu-fc(10)', inputDim: [3, 12, 11], dtype: 'float32', seed: 13, weightScale: 'he' });
      return model.loss(randomTensor([5, 3, 12, 11], 14, 'float32'), [1, 2, 3, 4, 5]);
    };
    try {
      const js = run('js');
      const wasm = run('wasm');
      assert.ok(Math.abs(js.loss - wasm.loss) < 1e-5 * Math.abs(js.loss), `loss ${js.loss} vs ${wasm.loss}`);
      for (const name of Object.keys(js.grads)) {
        const err = scaledError(wasm.grads[name]!.data, js.grads[name]!.data);
        assert.ok(err < 1e-4, `d${name}: ${err}`);
      }
    } finally {
      setBackend(previous);
    }
  });
});

describe('batchnorm running statistics are model buffers', () => {
  test('a spec net exposes runningMean/runningVar per bn, updated by training forwards only', () => {
    const model = new ConvNet({ spec: 'conv(3,3)-bn-relu-fc(8)-bn-relu-fc(10)', inputDim: [1, 4, 4], dtype: 'float64', seed: 1 });
    assert.deepEqual(Object.keys(model.buffers).sort(), ['runningMean1', 'runningMean2', 'runningVar1', 'runningVar2']);
    assert.deepEqual(model.buffers.runningMean1!.shape, [3]);
    assert.deepEqual(model.buffers.runningVar2!.shape, [8]);
    const X = randomTensor([5, 1, 4, 4], 3);
    model.loss(X);
    assert.ok(model.buffers.runningVar1!.data.every((v) => v === 0), 'test mode leaves them alone');
    model.loss(X, [0, 1, 2, 3, 4]);
    assert.ok(model.buffers.runningVar1!.data.some((v) => v > 0), 'train mode updates them in place');
  });
});
