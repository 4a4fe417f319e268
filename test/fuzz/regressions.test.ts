/**
 * Focused regression tests for the bugs the layer fuzz test (layers.test.ts) found, one per fix:
 * each call used to throw a TypeError or RangeError, hang, or return a tensor whose shape did
 * not describe its data; now it returns promptly or throws a ConvnetError naming the function.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConvnetError } from '../../src/errors.js';
import {
  affineBackward,
  affineBackwardNaive,
  affineForward,
  affineForwardNaive,
  avgPoolBackward,
  avgPoolBackwardNaive,
  avgPoolForward,
  avgPoolForwardNaive,
  batchnormBackward,
  batchnormBackwardNaive,
  batchnormForward,
  batchnormForwardNaive,
  convBackward,
  convBackwardNaive,
  convForward,
  convForwardNaive,
  dropoutBackward,
  dropoutForward,
  flattenBackward,
  flattenForward,
  gemm,
  globalAvgPoolBackward,
  layernormBackward,
  layernormForward,
  leakyReluBackward,
  leakyReluForward,
  logSoftmaxBackward,
  logSoftmaxForward,
  maxPoolBackward,
  maxPoolBackwardNaive,
  maxPoolForward,
  maxPoolForwardNaive,
  softmaxBackward,
  softmaxForward,
  spatialBatchnormBackward,
  spatialBatchnormBackwardNaive,
  spatialBatchnormForward,
  spatialBatchnormForwardNaive,
  spatialGroupnormBackward,
  spatialGroupnormBackwardNaive,
  spatialGroupnormForward,
  spatialGroupnormForwardNaive,
} from '../../src/index.js';
import type { Tensor } from '../../src/tensor.js';

const empty = (shape: number[], dtype: 'float32' | 'float64' = 'float64'): Tensor => ({ shape, data: dtype === 'float32' ? new Float32Array(0) : new Float64Array(0), dtype });
const filled = (shape: number[], value = 1): Tensor => {
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(value);
  for (let i = 0; i < data.length; i++) data[i] = value + 0.25 * (i % 7);
  return { shape, data, dtype: 'float64' };
};

/** Asserts a ConvnetError from `fn` whose message starts with `name: ` and matches `pattern`. */
function throwsNamed(f: () => unknown, name: string, pattern: RegExp = /./): void {
  assert.throws(f, (error: unknown) => {
    assert.ok(error instanceof ConvnetError, `expected a ConvnetError, got ${String(error)}`);
    assert.equal(error.fn, name);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('fuzz regressions: sizes too large to allocate fail at once with a ConvnetError', () => {
  it('affine: an empty x with a huge N and M >= 1 (RangeError before; a hang in the naive layer for N = 2^31)', () => {
    const x = empty([2 ** 31, 0]);
    const w = empty([0, 2]);
    const b = filled([2]);
    throwsNamed(() => affineForwardNaive(x, w, b), 'affineForwardNaive', /out \(N·M = 2147483648·2\)/);
    throwsNamed(() => affineForward(x, w, b), 'affineForward', /out \(N·M/);
  });

  it('affine: an empty x with a huge N and M = 0 returns an empty out at once (a hang before)', () => {
    const { out, cache } = affineForwardNaive(empty([2 ** 40, 0]), empty([0, 0]), empty([0]));
    assert.deepEqual(out.shape, [2 ** 40, 0]);
    const { dx, dw, db } = affineBackwardNaive(empty([2 ** 40, 0]), cache);
    assert.deepEqual([dx.shape, dw.shape, db.shape], [[2 ** 40, 0], [0, 0], [0]]);
  });

  it('gemm: empty a and b with huge outer sizes (RangeError before; a hang when N = 0)', () => {
    throwsNamed(() => gemm(empty([2 ** 31, 0]), empty([0, 2 ** 31])), 'gemm', /out \(M·N/);
    assert.deepEqual(gemm(empty([2 ** 40, 0]), empty([0, 0])).shape, [2 ** 40, 0]);
  });

  it('spatial group norm: x without channels and a huge N (RangeError or a hang before)', () => {
    const x = empty([2 ** 31, 0, 1, 1]);
    throwsNamed(() => spatialGroupnormForwardNaive(x, empty([0]), empty([0]), 1), 'spatialGroupnormForwardNaive', /statistics of N·G/);
    // The fast layer shares the check, under its own name.
    throwsNamed(() => spatialGroupnormForward(x, empty([0]), empty([0]), 1), 'spatialGroupnormForward', /statistics of N·G/);
  });
});

describe('fuzz regressions: outputs too large to allocate are errors of the layer called (errors named "allocate" before)', () => {
  it('conv with huge padding: N·F·Ho·Wo', () => {
    const args = [filled([1, 1, 2, 2]), filled([1, 1, 1, 1]), filled([1]), { pad: 2 ** 30 }] as const;
    throwsNamed(() => convForward(...args), 'convForward', /out \(N·F·Ho·Wo = 1·1·2147483650·2147483650\)/);
    throwsNamed(() => convForwardNaive(...args), 'convForwardNaive', /out \(N·F·Ho·Wo/);
  });

  it('conv over an empty x with a huge N (an output of N·F·Ho·Wo values all the same)', () => {
    throwsNamed(() => convForward(empty([2 ** 31, 1, 7, 0]), filled([2, 1, 3, 1]), filled([2]), { pad: 1 }), 'convForward', /out \(N·F·Ho·Wo/);
  });

  it('pools with huge padding: N·C·Ho·Wo, checked before the windows are (pad 1e300 hung before)', () => {
    const x = filled([2, 3, 1, 4]);
    throwsNamed(() => maxPoolForward(x, { poolHeight: 2 ** 30, poolWidth: 2 ** 30, pad: 1e300, dilation: [1, 2] }), 'maxPoolForward', /out \(N·C·Ho·Wo/);
    throwsNamed(() => avgPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2, pad: [0, 0, 2 ** 40, 0] }), 'avgPoolForwardNaive', /out \(N·C·Ho·Wo/);
  });
});

describe('fuzz regressions: windows far larger than the input return promptly (hangs before)', () => {
  const x = filled([1, 1, 4, 4]);

  it('max pool, window 2^20 × 1 with pad [2^20 − 1, 0] at stride 1: fast equals naive (a million output rows)', { timeout: 30000 }, () => {
    const param = { poolHeight: 2 ** 20, poolWidth: 1, pad: [2 ** 20 - 1, 0] as [number, number], stride: 1 };
    const fast = maxPoolForward(x, param);
    assert.deepEqual(fast.out.data, maxPoolForwardNaive(x, param).out.data);
    const dout = filled(fast.out.shape);
    assert.deepEqual(maxPoolBackward(dout, fast.cache).data, maxPoolBackwardNaive(dout, fast.cache).data);
  });

  it('average pool, window 2^30 × 2^30 with pad 2^30 − 1: fast equals naive, with and without the padding counted', { timeout: 30000 }, () => {
    for (const countIncludePad of [true, false]) {
      const param = { poolHeight: 2 ** 30, poolWidth: 2 ** 30, pad: 2 ** 30 - 1, countIncludePad };
      const fast = avgPoolForward(x, param);
      assert.deepEqual(fast.out.data, avgPoolForwardNaive(x, param).out.data);
      const dout = filled(fast.out.shape);
      assert.deepEqual(avgPoolBackward(dout, fast.cache).data, avgPoolBackwardNaive(dout, fast.cache).data);
    }
  });

  it('dilated windows of 2^20 at stride 1 over x (2, 1, 7, 3): every output row past the input is a copy', { timeout: 30000 }, () => {
    const param = { poolHeight: 2 ** 20, poolWidth: 2 ** 20, stride: 1, pad: 2 ** 20 - 1, dilation: [1, 2] as [number, number], ceilMode: true };
    const x2 = filled([2, 1, 7, 3]);
    const fast = maxPoolForward(x2, param);
    assert.deepEqual(fast.out.shape, [2, 1, 2 ** 20 + 6, 3]);
    assert.deepEqual(fast.out.data, maxPoolForwardNaive(x2, param).out.data);
    assert.deepEqual(avgPoolForward(x2, param).out.data, avgPoolForwardNaive(x2, param).out.data);
  });
});

describe('fuzz regressions: empty tensors with a huge dimension return at once (hangs before)', () => {
  it('softmax and log-softmax along the last axis of x (2^40, 0), and their backwards', () => {
    for (const [forward, backward] of [
      [softmaxForward, softmaxBackward],
      [logSoftmaxForward, logSoftmaxBackward],
    ] as const) {
      const { out, cache } = forward(empty([2 ** 40, 0]), -1);
      assert.deepEqual(out.shape, [2 ** 40, 0]);
      assert.deepEqual(backward(empty([2 ** 40, 0]), cache).shape, [2 ** 40, 0]);
    }
  });

  it('fast batch norm in train mode over x (2^31, 0), and its backward (the kernels looped over N before)', () => {
    const { out, cache } = batchnormForward(empty([2 ** 31, 0]), empty([0]), empty([0]), { mode: 'train' });
    assert.deepEqual(out.shape, [2 ** 31, 0]);
    assert.deepEqual(batchnormBackward(empty([2 ** 31, 0]), cache).dx.shape, [2 ** 31, 0]);
    assert.equal(cache.xhat.length, 0);
  });

  it('fast spatial batch norm in test mode over x (2^40, 2, 0, 3), and its backward', () => {
    const bnParam = { mode: 'test' as const, runningMean: filled([2], 0), runningVar: filled([2], 1) };
    const { out, cache } = spatialBatchnormForward(empty([2 ** 40, 2, 0, 3]), filled([2]), filled([2]), bnParam);
    assert.deepEqual(out.shape, [2 ** 40, 2, 0, 3]);
    const { dx, dgamma, dbeta } = spatialBatchnormBackward(empty([2 ** 40, 2, 0, 3]), cache);
    assert.deepEqual([dx.shape, Array.from(dgamma.data), Array.from(dbeta.data)], [[2 ** 40, 2, 0, 3], [0, 0], [0, 0]]);
  });

  it('spatial group norm over x (2^30, 0, 1, 1), naive and fast, and the backwards (over N·G empty groups before)', () => {
    for (const [forward, backward] of [
      [spatialGroupnormForwardNaive, spatialGroupnormBackwardNaive],
      [spatialGroupnormForward, spatialGroupnormBackward],
    ] as const) {
      const { out, cache } = forward(empty([2 ** 30, 0, 1, 1]), empty([0]), empty([0]), 1);
      assert.deepEqual(out.shape, [2 ** 30, 0, 1, 1]);
      assert.deepEqual(backward(empty([2 ** 30, 0, 1, 1]), cache).dx.shape, [2 ** 30, 0, 1, 1]);
    }
  });

  it('batch norm in test mode over x (2^40, 0) and spatial (2^40, 2, 0, 3), and the naive backwards', () => {
    const running = (C: number): { runningMean: Tensor; runningVar: Tensor } => ({ runningMean: filled([C], 0), runningVar: filled([C], 1) });
    const bn = batchnormForwardNaive(empty([2 ** 40, 0]), empty([0]), empty([0]), { mode: 'test', ...running(0) });
    assert.deepEqual(bn.out.shape, [2 ** 40, 0]);
    assert.deepEqual(batchnormBackwardNaive(empty([2 ** 40, 0]), bn.cache).dx.shape, [2 ** 40, 0]);
    const sbn = spatialBatchnormForwardNaive(empty([2 ** 40, 2, 0, 3]), filled([2]), filled([2]), { mode: 'test', ...running(2) });
    assert.deepEqual(sbn.out.shape, [2 ** 40, 2, 0, 3]);
    assert.deepEqual(spatialBatchnormBackwardNaive(empty([2 ** 40, 2, 0, 3]), sbn.cache).dgamma.shape, [2]);
  });
});

describe('fuzz regressions: backwards check the caches they are given', () => {
  const x = filled([2, 3, 4, 4]);

  it('affine backward given a conv cache (dx with x.shape over N·F values before)', () => {
    const { cache } = convForwardNaive(x, filled([2, 3, 3, 3]), filled([2]), { pad: 1 });
    throwsNamed(() => affineBackwardNaive(filled([2, 3]), cache as never), 'affineBackwardNaive', /the cache of an affine forward/);
    // The fast backward returned dx of shape [2, 3, 4, 4] over 4 values.
    throwsNamed(() => affineBackward(filled([2, 3]), cache as never), 'affineBackward', /the cache of an affine forward/);
  });

  it('fast pool backwards given a cache whose x (or inputShape) is not the geometry\'s input (dx of the wrong shape before)', () => {
    const max = maxPoolForward(x, { poolHeight: 2, poolWidth: 2 });
    throwsNamed(() => maxPoolBackward(filled(max.out.shape), { ...max.cache, x: filled([2, 3, 6, 4]) }), 'maxPoolBackward', /cache.x of the shape cache.geometry was computed for/);
    const avg = avgPoolForward(x, { poolHeight: 2, poolWidth: 2 });
    throwsNamed(() => avgPoolBackward(filled(avg.out.shape), { ...avg.cache, inputShape: [3, 2, 4, 4] }), 'avgPoolBackward', /cache.inputShape of the shape/);
  });

  it('conv backwards given a cache whose geometry is not the forward\'s for its x and w (RangeError, or a WebAssembly trap, before)', () => {
    const { cache } = convForward(filled([1, 1, 6, 5]), filled([3, 1, 3, 3]), filled([3]), { stride: [3, 2], pad: 1 });
    const dout = filled([1, 3, 2, 3]);
    for (const [name, backward] of [['convBackward', convBackward], ['convBackwardNaive', convBackwardNaive]] as const) {
      for (const geometry of [{ ...cache.geometry, W: 6 }, { ...cache.geometry, W: Number.NaN }, { ...cache.geometry, Cg: 2 }]) {
        throwsNamed(() => backward(dout, { ...cache, geometry }), name, /cache.geometry to be the one the forward computed for cache.x \[1, 1, 6, 5\]/);
      }
      throwsNamed(() => backward(dout, { ...cache, x: filled([1, 1, 7, 5]) }), name, /cache.geometry to be the one/);
    }
  });

  it('global average pool backward given a cache whose x is not (N, C, H, W) (an error named "allocate" before)', () => {
    const { cache } = layernormForward(filled([1, 3]), filled([3]), filled([3]));
    throwsNamed(() => globalAvgPoolBackward(filled([1, 3, 1, 1]), cache as never), 'globalAvgPoolBackward', /cache.x of rank 4/);
  });

  it('flatten backward given a cache whose shape and outShape differ in size (a malformed dx before)', () => {
    const { out, cache } = flattenForward(x);
    throwsNamed(() => flattenBackward(filled(out.shape), { ...cache, shape: [5, 5] }), 'flattenBackward', /one size/);
  });

  it('dropout backward given a mask of the wrong size, or not a tensor (NaN or TypeError before)', () => {
    const { out, cache } = dropoutForward(x, { p: 0.5, mode: 'train', seed: 1 });
    throwsNamed(() => dropoutBackward(filled(out.shape), { ...cache, scale: filled([3]) }), 'dropoutBackward', /scale of shape/);
    throwsNamed(() => dropoutBackward(filled(out.shape), { ...cache, scale: 7 as never }), 'dropoutBackward', /cache\.scale/);
  });

  it('leaky relu backward given a cache whose alpha is not a finite number', () => {
    const { cache } = leakyReluForward(x, 0.1);
    throwsNamed(() => leakyReluBackward(filled(x.shape), { ...cache, alpha: Number.NaN }), 'leakyReluBackward', /cache\.alpha/);
  });

  it('softmax backward given a cache whose axis is out of range (reads out of bounds before)', () => {
    const { cache } = softmaxForward(filled([2, 3]));
    throwsNamed(() => softmaxBackward(filled([2, 3]), { ...cache, axis: 5 }), 'softmaxBackward', /axis in \[0, 1\]/);
  });

  it('norm backwards given a betaShape of another size (a malformed dbeta before)', () => {
    const ln = layernormForward(filled([2, 3]), filled([3]), filled([3]));
    throwsNamed(() => layernormBackward(filled([2, 3]), { ...ln.cache, betaShape: [2] }), 'layernormBackward');
    const bn = batchnormForwardNaive(filled([2, 3]), filled([3]), filled([3]), { mode: 'train' });
    throwsNamed(() => batchnormBackwardNaive(filled([2, 3]), { ...bn.cache, betaShape: [4] }), 'batchnormBackwardNaive');
    const gn = spatialGroupnormForwardNaive(x, filled([3]), filled([3]), 3);
    throwsNamed(() => spatialGroupnormBackwardNaive(filled(x.shape), { ...gn.cache, betaShape: [1, 2, 1, 1] }), 'spatialGroupnormBackwardNaive');
  });
});

