// Loss heads of a Network: softmax (with class weights, an ignored label, label smoothing),
// per-pixel softmax, MSE and L1. Each is gradient-checked in float64 through a whole Network,
// its targets are checked before the forward, and its config round-trips through buildModel
// and a model file.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalNumericalGradient } from '../../src/gradcheck.js';
import { decodeModel, encodeModel } from '../../src/io/model.js';
import { buildModel } from '../../src/models/build.js';
import { Network, type LossHeadOption } from '../../src/models/network.js';
import type { LossTarget } from '../../src/models/model.js';
import { ReLU, Sigmoid, Tanh } from '../../src/nn/activation.js';
import { Sequential } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { ConvTranspose2d } from '../../src/nn/convTranspose.js';
import { Flatten } from '../../src/nn/flatten.js';
import { Linear } from '../../src/nn/linear.js';
import { BatchNorm2d } from '../../src/nn/norm.js';
import { rng } from '../../src/rng.js';
import type { DType, Tensor } from '../../src/tensor.js';
import { assertThrowsConvnet, randomTensor } from '../helpers.js';

/** A classifier: (2, 5, 5) → conv 3×3 → tanh → bn → flatten → linear (4 classes). */
function classifier(loss?: LossHeadOption, dtype: DType = 'float64'): Network {
  const init = { dtype, generator: rng(11) };
  const module = new Sequential([
    new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, pad: 1 }, init),
    new Tanh(),
    new BatchNorm2d({ features: 3 }, init),
    new Flatten(),
    new Linear({ inFeatures: 75, outFeatures: 4 }, init),
  ]);
  return new Network({ module, inputShape: [2, 5, 5], ...(loss === undefined ? {} : { loss }) });
}

/** A segmenter: (2, 5, 5) → conv 3×3 → tanh → bn → conv 1×1 → scores (4, 5, 5). */
function segmenter(loss: LossHeadOption = 'pixelSoftmax', dtype: DType = 'float64'): Network {
  const init = { dtype, generator: rng(12) };
  const module = new Sequential([
    new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, pad: 1 }, init),
    new Tanh(),
    new BatchNorm2d({ features: 3 }, init),
    new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 1 }, init),
  ]);
  return new Network({ module, inputShape: [2, 5, 5], loss });
}

/** A small autoencoder: (1, 6, 6) → conv 3×3 stride 2 → relu → transposed conv 4×4 stride 2 → sigmoid → (1, 6, 6). */
function autoencoder(loss: LossHeadOption = 'mse', dtype: DType = 'float64', reg = 0): Network {
  const init = { dtype, generator: rng(13) };
  const module = new Sequential([
    new Conv2d({ inChannels: 1, outChannels: 3, kernelSize: 3, stride: 2, pad: 1 }, init),
    new ReLU(),
    new ConvTranspose2d({ inChannels: 3, outChannels: 1, kernelSize: 4, stride: 2, pad: 1 }, init),
    new Sigmoid(),
  ]);
  return new Network({ module, inputShape: [1, 6, 6], reg, loss });
}

/**
 * Compares every parameter's analytic gradient with the numerical gradient of the loss; returns
 * the worst relative error |a − b| / max(|a| + |b|, 1e-4), as models.test.ts and
 * contract.test.ts measure it (the floor keeps gradients that are 0 from comparing rounding noise
 * with rounding noise). Through tanh, batch norm and softmax the centred differences' truncation
 * error (h²·f''') reaches 1e-7 of the small first-layer gradients, so the numerical gradient is
 * Richardson-extrapolated from steps 2e-4 and 1e-4 (O(h⁴) remains), as contract.test.ts does.
 */
function worstGradientError(model: Network, X: Tensor, y: LossTarget): number {
  const { grads } = model.loss(X, y);
  assert.deepEqual(Object.keys(grads).sort(), Object.keys(model.params).sort());
  let worst = 0;
  for (const name of Object.keys(model.params)) {
    const original = model.params[name]!;
    const lossAt = (p: Tensor): number => {
      model.params[name] = p;
      const { loss } = model.loss(X, y);
      model.params[name] = original;
      return loss;
    };
    const coarse = evalNumericalGradient(lossAt, original, 2e-4);
    const fine = evalNumericalGradient(lossAt, original, 1e-4);
    for (let i = 0; i < fine.data.length; i++) {
      const a = grads[name]!.data[i]!;
      const b = (4 * fine.data[i]! - coarse.data[i]!) / 3;
      worst = Math.max(worst, Math.abs(a - b) / Math.max(Math.abs(a) + Math.abs(b), 1e-4));
    }
  }
  return worst;
}

describe('Network loss heads: float64 gradient checks through the network', () => {
  const X = randomTensor([4, 2, 5, 5], 1);

  test('softmax (default) and softmax with class weights, an ignored label and label smoothing', () => {
    const plain = worstGradientError(classifier(), X, [0, 3, 1, 2]);
    assert.ok(plain < 1e-7, `plain softmax: ${plain}`);
    const head: LossHeadOption = { kind: 'softmax', weights: [0.5, 2, 1, 1.5], ignoreIndex: 255, labelSmoothing: 0.1 };
    const rich = worstGradientError(classifier(head), X, [0, 255, 1, 3]);
    assert.ok(rich < 1e-7, `weighted, smoothed softmax: ${rich}`);
  });

  test('pixelSoftmax: scores (N, 4, 5, 5) against (N, 5, 5) labels, with weights, ignored pixels and smoothing', () => {
    const generator = rng(3);
    const labels = Array.from({ length: 4 * 25 }, (_, i) => (i % 7 === 0 ? -1 : generator.int(4)));
    const plain = worstGradientError(segmenter('pixelSoftmax'), X, labels.map((l) => (l < 0 ? 0 : l)));
    assert.ok(plain < 1e-7, `pixelSoftmax: ${plain}`);
    const rich = worstGradientError(segmenter({ kind: 'pixelSoftmax', weights: [1, 0.25, 3, 1], ignoreIndex: -1, labelSmoothing: 0.2 }), X, labels);
    assert.ok(rich < 1e-7, `weighted, smoothed pixelSoftmax: ${rich}`);
  });

  test('mse and l1 against a target tensor, through a transposed convolution (with L2 regularisation)', () => {
    const images = randomTensor([3, 1, 6, 6], 4);
    const target = randomTensor([3, 1, 6, 6], 5);
    for (let i = 0; i < target.data.length; i++) target.data[i] = 1 / (1 + Math.exp(-target.data[i]!));
    for (const kind of ['mse', 'l1'] as const) {
      for (const reg of [0, 0.3]) {
        const worst = worstGradientError(autoencoder(kind, 'float64', reg), images, target);
        assert.ok(worst < 1e-7, `${kind}, reg ${reg}: ${worst}`);
      }
    }
  });

  test('the loss values are the layers\' losses of the output', () => {
    const images = randomTensor([2, 1, 6, 6], 6);
    const target = randomTensor([2, 1, 6, 6], 7);
    const model = autoencoder('mse');
    const out = model.loss(images);
    let sq = 0;
    let abs = 0;
    for (let i = 0; i < out.data.length; i++) {
      sq += (out.data[i]! - target.data[i]!) ** 2;
      abs += Math.abs(out.data[i]! - target.data[i]!);
    }
    assert.ok(Math.abs(model.loss(images, target).loss - sq / out.data.length) < 1e-12);
    const l1 = autoencoder('l1');
    assert.ok(Math.abs(l1.loss(images, target).loss - abs / out.data.length) < 1e-12);
    // Class weights of 1 and no smoothing: the plain softmax's loss.
    const weighted = classifier({ kind: 'softmax', weights: [1, 1, 1, 1] });
    assert.ok(Math.abs(weighted.loss(X, [1, 2, 3, 0]).loss - classifier().loss(X, [1, 2, 3, 0]).loss) < 1e-12);
  });
});

describe('Network loss heads: shapes, targets and errors', () => {
  test('numClasses, outputShape, lossHead and the summary line of each head', () => {
    assert.equal(classifier().numClasses, 4);
    assert.deepEqual(classifier().lossHead, { kind: 'softmax' });
    const seg = segmenter();
    assert.equal(seg.numClasses, 4);
    assert.deepEqual(seg.outputShape, [4, 5, 5]);
    const ae = autoencoder();
    assert.equal(ae.numClasses, 0);
    assert.deepEqual(ae.outputShape, [1, 6, 6]);
    assert.deepEqual(ae.lossHead, { kind: 'mse' });
    assert.match(ae.summary().split('\n')[0]!, /input \(1, 6, 6\), output \(1, 6, 6\), mse loss, float64/);
    assert.match(seg.summary().split('\n')[0]!, /4 classes per pixel/);
  });

  test('a wrong kind, shape or dtype of target is a ConvnetError before the forward (batch norm statistics unmoved)', () => {
    const X = randomTensor([2, 2, 5, 5], 8);
    const clf = classifier();
    const before = Array.from(clf.buffers.runningMean1!.data);
    assertThrowsConvnet(() => clf.loss(X, randomTensor([2, 4], 1)), /Network\.loss: expected class labels \(an Int32Array or number\[\]\) for the softmax loss, got a tensor of shape \[2, 4\]/);
    assertThrowsConvnet(() => clf.loss(X, [0, 4]), /labels in \[0, 4\)/);
    assertThrowsConvnet(() => classifier({ kind: 'softmax', ignoreIndex: -100 }).loss(X, [0, 9]), /labels in \[0, 4\) or equal to ignoreIndex \(-100\), got y\[1\] = 9/);
    assertThrowsConvnet(() => classifier({ kind: 'softmax', labelSmoothing: 0.1 }).loss(X, [0, 1, 2]), /one label per sample \(2\), got 3 labels/);
    assert.deepEqual(Array.from(clf.buffers.runningMean1!.data), before);

    const seg = segmenter();
    assertThrowsConvnet(() => seg.loss(X, [0, 1]), /Network\.loss: expected y to have one label per pixel \(N·H·W = 2·5·5 = 50, row-major\), got 2 labels/);
    assertThrowsConvnet(() => seg.loss(X, randomTensor([2, 5, 5], 1)), /class labels .* for the pixelSoftmax loss, got a tensor/);

    const ae = autoencoder();
    const images = randomTensor([2, 1, 6, 6], 9);
    assertThrowsConvnet(() => ae.loss(images, [0, 1]), /Network\.loss: expected a target tensor of shape \(2, 1, 6, 6\) \(N, …outputShape\) for the mse loss, got class labels \(number\[\] of 2\)/);
    assertThrowsConvnet(() => ae.loss(images, new Int32Array(2)), /got class labels \(Int32Array of 2\)/);
    assertThrowsConvnet(() => ae.loss(images, randomTensor([2, 1, 5, 6], 1)), /target tensor of shape \(2, 1, 6, 6\) .* got shape \[2, 1, 5, 6\]/);
    assertThrowsConvnet(() => ae.loss(images, randomTensor([2, 1, 6, 6], 1, 'float32')), /of the model's dtype float64, got float32/);
    assertThrowsConvnet(() => ae.loss(images, { shape: [2, 1, 6, 6] } as unknown as Tensor), /Network\.loss/);
  });

  test('a head that does not fit the layers, or a malformed head, is a ConvnetError naming the model', () => {
    const init = { dtype: 'float64' as const, generator: rng(1) };
    const conv = (): Conv2d => new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, pad: 1 }, init);
    assertThrowsConvnet(() => new Network({ module: conv(), inputShape: [1, 4, 4] }), /class scores \(numClasses\) for the softmax loss, got output shape \(2, 4, 4\)/);
    assertThrowsConvnet(() => new Network({ module: new Sequential([conv(), new Flatten()]), inputShape: [1, 4, 4], loss: 'pixelSoftmax' }), /per-pixel class scores \(C, H, W\) for the pixelSoftmax loss, got output shape \(32\)/);
    assertThrowsConvnet(() => new Network({ module: conv(), inputShape: [1, 4, 4], loss: 'huber' as LossHeadOption }), /loss\.kind to be one of softmax, pixelSoftmax, mse, l1, got "huber"/);
    assertThrowsConvnet(() => new Network({ module: conv(), inputShape: [1, 4, 4], loss: { kind: 'mse', weights: [1] } as unknown as LossHeadOption }), /the mse loss without options, got \["weights"\]/);
    assertThrowsConvnet(() => new Network({ module: conv(), inputShape: [1, 4, 4], loss: { kind: 'pixelSoftmax', weights: [1, 2, 3] } }), /loss\.weights to hold one weight per class \(2\), got 3/);
    assertThrowsConvnet(() => new Network({ module: conv(), inputShape: [1, 4, 4], loss: { kind: 'pixelSoftmax', weights: [1, -2] } }), /one finite weight >= 0 per class/);
    assertThrowsConvnet(() => new Network({ module: conv(), inputShape: [1, 4, 4], loss: { kind: 'pixelSoftmax', labelSmoothing: 1.5 } }), /loss\.labelSmoothing in \[0, 1\], got 1\.5/);
    assertThrowsConvnet(() => new Network({ module: conv(), inputShape: [1, 4, 4], loss: { kind: 'pixelSoftmax', ignoreIndex: 0.5 } }), /loss\.ignoreIndex to be an integer, got 0\.5/);
    assertThrowsConvnet(() => new Network({ module: conv(), inputShape: [1, 4, 4], loss: { kind: 'pixelSoftmax', smoothing: 0.1 } as unknown as LossHeadOption }), /options among kind, weights, ignoreIndex, labelSmoothing, got \["smoothing"\]/);
    assertThrowsConvnet(() => new Network({ module: conv(), inputShape: [1, 4, 4], loss: 7 as unknown as LossHeadOption }), /loss to be one of softmax, pixelSoftmax, mse, l1 or \{ kind/);
  });
});

describe('Network loss heads: configs and model files round-trip the head', () => {
  test('the plain softmax head stays out of the config; the others are in it', () => {
    assert.equal('loss' in classifier().config, false);
    assert.deepEqual(autoencoder('l1').config.loss, { kind: 'l1' });
    assert.deepEqual(segmenter({ kind: 'pixelSoftmax', weights: [1, 2, 3, 4], ignoreIndex: 255, labelSmoothing: 0.05 }).config.loss, { kind: 'pixelSoftmax', weights: [1, 2, 3, 4], ignoreIndex: 255, labelSmoothing: 0.05 });
    assert.deepEqual(classifier('softmax').config, classifier().config);
  });

  test('buildModel and encodeModel / decodeModel give a model with the same head and the same loss', () => {
    const X = randomTensor([2, 2, 5, 5], 2);
    const images = randomTensor([2, 1, 6, 6], 3);
    const cases: [Network, Tensor, LossTarget][] = [
      [classifier({ kind: 'softmax', weights: [1, 2, 1, 2], labelSmoothing: 0.1 }), X, [1, 3]],
      [segmenter({ kind: 'pixelSoftmax', ignoreIndex: 9 }), X, Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? 9 : i % 4))],
      [autoencoder('mse'), images, randomTensor([2, 1, 6, 6], 4)],
      [autoencoder('l1'), images, randomTensor([2, 1, 6, 6], 5)],
    ];
    for (const [model, input, y] of cases) {
      const built = buildModel(model.config);
      built.loadState(model.params, model.buffers);
      assert.deepEqual(built.lossHead, model.lossHead);
      assert.deepEqual(built.config, model.config);
      const decoded = decodeModel(encodeModel(model)).model;
      assert.deepEqual(decoded.lossHead, model.lossHead);
      const want = model.loss(input, y).loss;
      assert.equal(built.loss(input, y).loss, want);
      assert.equal(decoded.loss(input, y).loss, want);
    }
    assertThrowsConvnet(() => buildModel({ ...autoencoder().config, loss: 'hinge' }), /Network: expected loss\.kind to be one of/);
  });
});
