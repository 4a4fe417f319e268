// The inference forward (model.forward(X) in test mode, model.loss(X)): the same scores as a
// test-mode forward through the modules, nothing kept for a backward, and no arrays made after
// the first call at a batch size but the output returned.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Arena, allocate, allocateIndices, allocateUninitialized, type Float32Heap } from '../../src/tensor.js';
import { ConvNet } from '../../src/models/spec.js';
import { ThreeLayerConvNet } from '../../src/models/threeLayerConvNet.js';
import { getBackend, setBackend } from '../../src/kernels/index.js';
import { assertThrowsConvnet, randomTensor } from '../helpers.js';
import { MODEL_KINDS, randomLabels as labels, sampleRows as rows } from './kinds.js';

describe('Arena', () => {
  test('hands out the same arrays in the same order on the next run; zeroes what allocate zeroes', () => {
    const arena = new Arena();
    const first = arena.run(() => [allocate('float32', 8), allocateUninitialized('float64', 5), allocateIndices(3)]);
    for (const a of first) a.fill(7);
    assert.equal(arena.created, 3);
    const second = arena.run(() => [allocate('float32', 8), allocateUninitialized('float64', 5), allocateIndices(3)]);
    assert.equal(arena.created, 3, 'no new arrays');
    second.forEach((a, i) => assert.equal(a.buffer, first[i]!.buffer, `array ${i} reused`));
    assert.deepEqual(Array.from(second[0]!), new Array(8).fill(0), 'allocate zero-fills a reused array');
    assert.deepEqual(Array.from(second[2]!), [0, 0, 0], 'allocateIndices zero-fills a reused array');
    assert.deepEqual(Array.from(second[1]!), new Array(5).fill(7), 'allocateUninitialized does not');
  });

  test('a smaller request gets a view of the slot; a larger one or another type a new array; outside a run, new arrays', () => {
    const arena = new Arena();
    arena.run(() => [allocate('float32', 8), allocate('float32', 4)]);
    const [small, other] = arena.run(() => [allocate('float32', 6), allocate('float64', 4)]);
    assert.equal(small!.length, 6);
    assert.equal(arena.created, 3, 'the float64 request made an array; the smaller float32 one did not');
    const big = arena.run(() => allocate('float32', 9));
    assert.equal(big.length, 9);
    assert.equal(arena.created, 4);
    assert.notEqual(allocate('float32', 8).buffer, small!.buffer, 'no arena outside run');
    assert.equal(other!.length, 4);
    arena.clear();
    assert.equal(arena.bytes, 0);
  });

  test('takes its float32 and index arrays from a heap when it has one (zeroed where allocate zeroes), frees them to it, and follows a change of heap', () => {
    // A heap that hands out NaN-filled arrays (arbitrary contents) and records what it has out,
    // by buffer: an index array is an Int32Array view of one of its blocks.
    const heapMade = (name: string) => {
      const out = new Set<ArrayBufferLike>();
      const heap: Float32Heap & { out: Set<ArrayBufferLike>; name: string; has: (a: { buffer: ArrayBufferLike }) => boolean } = {
        name,
        out,
        has: (a) => out.has(a.buffer),
        allocate: (length) => {
          const a = new Float32Array(length).fill(NaN);
          out.add(a.buffer);
          return a;
        },
        free: (a) => assert.ok(out.delete(a.buffer), `${name} frees only its own arrays`),
      };
      return heap;
    };
    const first = heapMade('first');
    const second = heapMade('second');
    let current: Float32Heap | undefined = first;
    const arena = new Arena(() => current);
    const [zeroed, raw, wide, indices] = arena.run(() => [allocate('float32', 6), allocateUninitialized('float32', 4), allocate('float64', 3), allocateIndices(2)]);
    assert.ok(first.has(zeroed!) && first.has(raw!), 'float32 arrays come from the heap');
    assert.ok(indices instanceof Int32Array && first.has(indices), 'index arrays are Int32 views of heap blocks');
    assert.equal(first.out.size, 3, 'float64 arrays do not');
    assert.deepEqual(Array.from(zeroed!), new Array(6).fill(0), 'allocate zeroes a heap array');
    assert.ok(Number.isNaN(raw![0]), 'allocateUninitialized does not');
    assert.deepEqual(Array.from(indices), [0, 0], 'allocateIndices zeroes');
    assert.equal(wide!.length, 3);
    assert.equal(arena.heapBytes, 48);
    // A larger request at a place frees the old array to the heap (an index array's view too).
    arena.run(() => [allocate('float32', 10), allocateUninitialized('float32', 4), allocate('float64', 3), allocateIndices(5)]);
    assert.ok(!first.has(zeroed!) && !first.has(indices));
    assert.equal(first.out.size, 3);
    // The heap changed (another backend): the next run frees everything and starts again.
    current = second;
    arena.run(() => allocate('float32', 5));
    assert.equal(first.out.size, 0, 'all returned to the first heap');
    assert.equal(second.out.size, 1);
    // No heap (or one that has no room): ordinary arrays.
    current = undefined;
    const plain = arena.run(() => allocate('float32', 5));
    assert.equal(second.out.size, 0);
    assert.ok(plain instanceof Float32Array);
    assert.equal(arena.heapBytes, 0);
    current = { allocate: () => undefined, free: () => assert.fail('nothing to free') };
    assert.equal(arena.run(() => allocate('float32', 3)).length, 3);
    arena.clear();
  });

  test('a run that throws leaves no arena active', () => {
    const arena = new Arena();
    assert.throws(() => arena.run(() => {
      throw new Error('boom');
    }), /boom/);
    const a = allocate('float32', 4);
    arena.run(() => allocate('float32', 4));
    assert.notEqual(a.buffer, arena.run(() => allocate('float32', 4)).buffer);
  });
});

describe('inference forward, every model kind', () => {
  for (const kind of MODEL_KINDS) {
    for (const dtype of ['float32', 'float64'] as const) {
      test(`${kind.label}, ${dtype}`, () => {
        const model = kind.make(dtype);
        const X = randomTensor([6, ...kind.inputShape], 3, dtype);
        // Running statistics off their initial values, so that test mode differs from train mode.
        model.loss(X, labels(6, Math.max(model.numClasses, 1), 2));
        const reference = model.root.forward(X, 'test'); // the modules' own test-mode forward
        const referenceData = Array.from(reference.data);
        const first = model.forward(X);
        assert.deepEqual(first.shape, reference.shape);
        assert.deepEqual(Array.from(first.data), referenceData, 'bit-identical to the modules’ test-mode forward');
        const made = model.inferenceMemory.arrays;
        assert.ok(made > 0, 'the first call fills the arena');
        const firstCopy = Array.from(first.data);
        const second = model.forward(X, { mode: 'test' });
        assert.equal(model.inferenceMemory.arrays, made, 'no new arrays at the same batch size');
        assert.notEqual(second.data.buffer, first.data.buffer, 'each call returns its own output');
        assert.deepEqual(Array.from(first.data), firstCopy, 'the next call does not overwrite an earlier output');
        assert.deepEqual(Array.from(second.data), referenceData);
        assert.deepEqual(Array.from(model.loss(X).data), referenceData, 'loss(X) is the same inference forward');
        // Smaller, then the first size again: the arena's arrays serve both.
        const part = model.forward(rows(X, 1, 3));
        assert.deepEqual(Array.from(part.data), Array.from(model.root.forward(rows(X, 1, 3), 'test').data));
        model.forward(X);
        assert.equal(model.inferenceMemory.arrays, made, 'a smaller batch and the first size again make no arrays');
        // Nothing is kept for a backward.
        model.forward(X);
        assertThrowsConvnet(() => model.root.backward(reference), /expected a forward before backward/);
        // Gradients still follow their own forward.
        const dx = model.inputGradient(X, randomTensor(reference.shape, 5, dtype));
        assert.deepEqual(dx.shape, X.shape);
        model.releaseInference();
        assert.equal(model.inferenceMemory.bytes, 0);
        assert.deepEqual(Array.from(model.forward(X).data), referenceData, 'after releaseInference, the same scores');
      });
    }
  }
});

describe('inference forward on the WebAssembly kernels (fused conv-relu-pool steps, threads)', () => {
  for (const backend of ['wasm', 'js'] as const) {
    test(`${backend}: a conv net's scores equal the modules' test-mode forward; no new arrays on the second call`, () => {
      const previous = getBackend() as 'wasm' | 'js';
      setBackend(backend);
      try {
        for (const model of [
          new ThreeLayerConvNet({ inputDim: [3, 16, 16], numFilters: 8, filterSize: 5, hiddenDim: 20, numClasses: 10, seed: 4 }),
          new ConvNet({ inputDim: [1, 14, 14], spec: 'conv(8,3)-bn-relu-pool-res(conv(8,3)-bn-relu-conv(8,3)-bn)-relu-conv(16,3)-relu-pool-fc(10)', seed: 4 }),
        ]) {
          // Enough images for the wasm kernels to split them between threads; fewer for pure TypeScript.
          const N = backend === 'wasm' ? 40 : 6;
          const X = randomTensor([N, ...model.inputShape], 8, 'float32');
          model.loss(X, labels(N, 10, 1));
          const reference = Array.from(model.root.forward(X, 'test').data);
          assert.deepEqual(Array.from(model.forward(X).data), reference);
          const made = model.inferenceMemory.arrays;
          assert.deepEqual(Array.from(model.forward(X).data), reference);
          assert.equal(model.inferenceMemory.arrays, made);
          // On the WebAssembly kernels (shared memory, as in Node) the float32 intermediates live
          // in its memory, where the kernels use them without copies.
          const { residentBytes, bytes } = model.inferenceMemory;
          if (backend === 'wasm') assert.ok(residentBytes > 0 && residentBytes <= bytes, `${residentBytes} of ${bytes} bytes resident`);
          else assert.equal(residentBytes, 0);
          // Switching the backend moves them: the same scores from the other backend's arrays.
          setBackend(backend === 'wasm' ? 'js' : 'wasm');
          model.forward(X);
          assert.equal(model.inferenceMemory.residentBytes > 0, backend === 'js');
          setBackend(backend);
          assert.deepEqual(Array.from(model.forward(X).data), reference);
          assert.equal(model.inferenceMemory.residentBytes > 0, backend === 'wasm');
          model.releaseInference();
          assert.equal(model.inferenceMemory.residentBytes, 0);
        }
      } finally {
        setBackend(previous);
      }
    });
  }
});
