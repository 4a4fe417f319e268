// Training calls that reuse their arrays (Network.loss(X, y, { reuseArrays: true }), what the
// Solver uses): the same losses, gradients and parameters to the last bit as calls that make
// new arrays, step after step, for every model kind and loss head; no new arrays after the
// first call at a batch size; on the WebAssembly kernels the arrays live in its memory.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getBackend, setBackend } from '../../src/kernels/index.js';
import { Network } from '../../src/models/network.js';
import type { LossTarget } from '../../src/models/model.js';
import { ConvNet } from '../../src/models/spec.js';
import { ThreeLayerConvNet } from '../../src/models/threeLayerConvNet.js';
import { Sequential } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { ConvTranspose2d } from '../../src/nn/convTranspose.js';
import { ReLU, Sigmoid } from '../../src/nn/activation.js';
import { rng } from '../../src/rng.js';
import type { DType, Tensor } from '../../src/tensor.js';
import { assertThrowsConvnet, randomTensor } from '../helpers.js';
import { MODEL_KINDS, randomLabels as labels, sampleRows as rows } from './kinds.js';

/** A small conv autoencoder: conv down, transposed conv up, sigmoid, MSE. */
function autoencoder(dtype: DType): Network {
  const init = { dtype, generator: rng(13) };
  const module = new Sequential([
    new Conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, stride: 2, pad: 1 }, init),
    new ReLU(),
    new ConvTranspose2d({ inChannels: 4, outChannels: 1, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1 }, init),
    new Sigmoid(),
  ]);
  return new Network({ module, inputShape: [1, 6, 6], loss: 'mse' });
}

/**
 * Trains `a` with fresh arrays and `b` (made the same way) reusing its arrays, by plain SGD for
 * a few steps (a smaller batch among them), checking that they agree to the last bit.
 */
function assertSameTraining(a: Network, b: Network, X: Tensor, targets: (n: number, from: number) => LossTarget, what: string): void {
  const N = X.shape[0]!;
  const batches: [number, number][] = [[0, N], [1, N - 2], [0, N], [2, N - 2], [0, N]];
  let made = -1;
  for (const [step, [from, count]] of batches.entries()) {
    const Xb = from === 0 && count === N ? X : rows(X, from, count);
    const y = targets(count, from);
    const fresh = a.loss(Xb, y);
    const reused = b.loss(Xb, y, { reuseArrays: true });
    assert.equal(reused.loss, fresh.loss, `${what}: loss at step ${step}`);
    for (const name of Object.keys(fresh.grads)) {
      assert.deepEqual(Array.from(reused.grads[name]!.data), Array.from(fresh.grads[name]!.data), `${what}: gradient of ${name} at step ${step}`);
    }
    // SGD, so that the next step sees new parameters (and batch norm new running statistics).
    for (const model of [a, b]) {
      const grads = model === a ? fresh.grads : reused.grads;
      for (const [name, w] of Object.entries(model.params)) {
        const dw = grads[name]!.data;
        model.params[name] = { ...w, data: w.data.map((v, i) => v - 0.05 * dw[i]!) };
      }
    }
    if (step === 0) made = b.trainingMemory.arrays;
  }
  assert.ok(made > 0);
  assert.equal(b.trainingMemory.arrays, made, `${what}: no new arrays after the first call (a smaller batch uses views)`);
  for (const name of Object.keys(a.params)) assert.deepEqual(Array.from(b.params[name]!.data), Array.from(a.params[name]!.data), `${what}: ${name} after training`);
  for (const name of Object.keys(a.buffers)) assert.deepEqual(Array.from(b.buffers[name]!.data), Array.from(a.buffers[name]!.data), `${what}: buffer ${name} after training`);
  assert.deepEqual(Array.from(b.forward(X).data), Array.from(a.forward(X).data), `${what}: test-mode scores after training`);
}

describe('loss(X, y, { reuseArrays: true }) trains exactly as fresh arrays do', () => {
  for (const kind of MODEL_KINDS) {
    for (const dtype of ['float32', 'float64'] as const) {
      test(`${kind.label}, ${dtype}`, () => {
        const [a, b] = [kind.make(dtype), kind.make(dtype)];
        const X = randomTensor([6, ...kind.inputShape], 3, dtype);
        const classes = Math.max(a.numClasses, 1);
        assertSameTraining(a, b, X, (n, from) => labels(n, classes, 10 + from), kind.label);
      });
    }
  }

  test('an MSE autoencoder (transposed conv), and label smoothing', () => {
    const X = randomTensor([5, 1, 6, 6], 4, 'float32');
    assertSameTraining(autoencoder('float32'), autoencoder('float32'), X, (n, from) => rows(X, from, n), 'autoencoder');
    const kind = MODEL_KINDS.find((k) => k.label.startsWith('ConvNet with bn'))!;
    const [a, b] = [kind.make('float32'), kind.make('float32')];
    const Xc = randomTensor([6, ...kind.inputShape], 5, 'float32');
    const y = labels(6, a.numClasses, 3);
    const fresh = a.loss(Xc, y, { labelSmoothing: 0.1 });
    const reused = b.loss(Xc, y, { labelSmoothing: 0.1, reuseArrays: true });
    assert.equal(reused.loss, fresh.loss);
  });

  test('the gradients returned are overwritten by the next such call (the contract), not by fresh calls', () => {
    const kind = MODEL_KINDS[0]!;
    const model = kind.make('float64');
    const X = randomTensor([4, ...kind.inputShape], 6, 'float64');
    const first = model.loss(X, labels(4, model.numClasses, 1), { reuseArrays: true });
    const kept = Object.fromEntries(Object.entries(first.grads).map(([k, g]) => [k, Array.from(g.data)]));
    model.loss(X, labels(4, model.numClasses, 2)); // fresh arrays: leaves them alone
    for (const [k, g] of Object.entries(first.grads)) assert.deepEqual(Array.from(g.data), kept[k]);
    const second = model.loss(X, labels(4, model.numClasses, 2), { reuseArrays: true });
    const name = Object.keys(first.grads)[0]!;
    assert.equal(second.grads[name]!.data.buffer, first.grads[name]!.data.buffer, 'the same array, reused');
    model.releaseTraining();
    assert.equal(model.trainingMemory.bytes, 0);
  });

  test('a bad reuseArrays is a ConvnetError naming the method', () => {
    const kind = MODEL_KINDS[0]!;
    const model = kind.make('float64');
    const X = randomTensor([2, ...kind.inputShape], 6, 'float64');
    assertThrowsConvnet(() => model.loss(X, labels(2, model.numClasses, 1), { reuseArrays: 'yes' as unknown as boolean }), /ThreeLayerConvNet\.loss: expected options\.reuseArrays to be true or false, got "yes"/);
  });
});

describe('reused training arrays on the WebAssembly kernels', () => {
  test('live in its memory; the same numbers as fresh arrays on either backend', () => {
    const previous = getBackend() as 'wasm' | 'js';
    setBackend('wasm');
    try {
      const make = (): Network[] => [
        new ThreeLayerConvNet({ inputDim: [3, 16, 16], numFilters: 8, filterSize: 5, hiddenDim: 20, numClasses: 10, seed: 4 }),
        new ConvNet({ inputDim: [1, 14, 14], spec: 'conv(8,3)-bn-relu-pool-res(conv(8,3)-bn-relu-conv(8,3)-bn)-relu-conv(16,3)-relu-pool-fc(10)', seed: 4 }),
      ];
      const [fresh, reused] = [make(), make()];
      for (const [i, a] of fresh.entries()) {
        const b = reused[i]!;
        // Enough images for the kernels to split them between threads.
        const X = randomTensor([40, ...a.inputShape], 8, 'float32');
        assertSameTraining(a, b, X, (n, from) => labels(n, 10, 20 + from), a.name);
        const { residentBytes, bytes } = b.trainingMemory;
        assert.ok(residentBytes > 0 && residentBytes <= bytes, `${residentBytes} of ${bytes} bytes resident`);
        // Moving to pure TypeScript moves the arrays out of WebAssembly memory.
        setBackend('js');
        b.loss(X, labels(40, 10, 1), { reuseArrays: true });
        assert.equal(b.trainingMemory.residentBytes, 0);
        setBackend('wasm');
      }
    } finally {
      setBackend(previous);
    }
  });
});
