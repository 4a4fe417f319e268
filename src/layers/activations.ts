/**
 * Elementwise and per-axis activations: ReLU, leaky ReLU, softmax and log-softmax.
 */
import { ConvnetError, show } from '../errors.js';
import { getKernels } from '../kernels/index.js';
import { allocate, allocateUninitialized, type Tensor } from '../tensor.js';
import { assertCache, assertTensor, assertUpstream, finiteNumber } from '../validate.js';

export interface ReluCache {
  x: Tensor;
}

/** out = max(0, x). */
export function reluForward(x: Tensor): { out: Tensor; cache: ReluCache } {
  assertTensor('reluForward', 'x', x);
  const out = allocateUninitialized(x.dtype, x.data.length);
  // The kernel backend's relu (WebAssembly SIMD for float32 where available): max(x, 0),
  // NaN passing through, -0 and -Infinity mapped to 0.
  getKernels().reluForward(x.data, 0, out.length, out, 0);
  return { out: { shape: [...x.shape], data: out, dtype: x.dtype }, cache: { x } };
}

/** dx = dout where x > 0, else 0 (zero at exactly 0). */
export function reluBackward(dout: Tensor, cache: ReluCache): Tensor {
  const fn = 'reluBackward';
  assertCache(fn, cache, ['x']);
  const { x } = cache;
  assertUpstream(fn, dout, x.shape, x.dtype);
  const dx = allocateUninitialized(x.dtype, x.data.length);
  getKernels().reluBackward(x.data, 0, dout.data, 0, dx.length, dx, 0);
  return { shape: [...x.shape], data: dx, dtype: x.dtype };
}

export interface LeakyReluCache {
  x: Tensor;
  alpha: number;
}

/** out = x where x > 0, else alpha·x (alpha defaults to 0.01, PyTorch's and ONNX's). */
export function leakyReluForward(x: Tensor, alpha = 0.01): { out: Tensor; cache: LeakyReluCache } {
  const fn = 'leakyReluForward';
  assertTensor(fn, 'x', x);
  const slope = finiteNumber(fn, 'alpha', alpha);
  const out = allocate(x.dtype, x.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = x.data[i]!;
    out[i] = v > 0 ? v : slope * v;
  }
  return { out: { shape: [...x.shape], data: out, dtype: x.dtype }, cache: { x, alpha: slope } };
}

export function leakyReluBackward(dout: Tensor, cache: LeakyReluCache): Tensor {
  const fn = 'leakyReluBackward';
  assertCache(fn, cache, ['x', 'alpha']);
  const { x, alpha } = cache;
  finiteNumber(fn, 'cache.alpha', alpha);
  assertUpstream(fn, dout, x.shape, x.dtype);
  const dx = allocate(x.dtype, x.data.length);
  for (let i = 0; i < dx.length; i++) dx[i] = x.data[i]! > 0 ? dout.data[i]! : alpha * dout.data[i]!;
  return { shape: [...x.shape], data: dx, dtype: x.dtype };
}

/** Resolves a possibly negative axis against a rank. */
export function normaliseAxis(fn: string, axis: unknown, rank: number): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ConvnetError(fn, `expected axis to be an integer in [${-rank}, ${rank - 1}] for a rank-${rank} input, got ${show(axis)}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Splits a shape around an axis into (outer, length, inner) for strided loops. */
function around(shape: readonly number[], axis: number): { outer: number; length: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d]!;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  return { outer, length: shape[axis]!, inner };
}

export interface SoftmaxCache {
  /** The forward's output: softmax probabilities, or log-probabilities for logSoftmax. */
  out: Tensor;
  axis: number;
}

/**
 * Softmax or log-softmax along one axis, subtracting the max along the axis first so that
 * large inputs do not overflow.
 */
function softmaxAlong(fn: string, x: Tensor, axis: number, log: boolean): { out: Tensor; cache: SoftmaxCache } {
  assertTensor(fn, 'x', x);
  if (x.shape.length < 1) throw new ConvnetError(fn, `expected x of rank >= 1, got shape ${show(x.shape)}`);
  const ax = normaliseAxis(fn, axis, x.shape.length);
  const { outer, length, inner } = around(x.shape, ax);
  const out = allocate(x.dtype, x.data.length);
  // An empty x may still have a huge dimension: no loop over it.
  if (out.length === 0) return { out: { shape: [...x.shape], data: out, dtype: x.dtype }, cache: { out: { shape: [...x.shape], data: out, dtype: x.dtype }, axis: ax } };
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * length * inner + k;
      let max = -Infinity;
      for (let a = 0; a < length; a++) max = Math.max(max, x.data[base + a * inner]!);
      let sum = 0;
      for (let a = 0; a < length; a++) sum += Math.exp(x.data[base + a * inner]! - max);
      const logSum = Math.log(sum);
      for (let a = 0; a < length; a++) {
        const shifted = x.data[base + a * inner]! - max;
        out[base + a * inner] = log ? shifted - logSum : Math.exp(shifted) / sum;
      }
    }
  }
  const result: Tensor = { shape: [...x.shape], data: out, dtype: x.dtype };
  return { out: result, cache: { out: result, axis: ax } };
}

/** A softmax cache's axis: an integer in [0, rank) of its output (forwards store it resolved). */
function cacheAxis(fn: string, cache: SoftmaxCache): number {
  const rank = cache.out.shape.length;
  if (!Number.isInteger(cache.axis) || cache.axis < 0 || cache.axis >= rank) {
    throw new ConvnetError(fn, `expected the cache of a softmax forward (axis in [0, ${rank - 1}] for out.shape ${show(cache.out.shape)}), got axis ${show(cache.axis)}`);
  }
  return cache.axis;
}

/** Softmax along `axis` (default −1, the last). */
export function softmaxForward(x: Tensor, axis = -1): { out: Tensor; cache: SoftmaxCache } {
  return softmaxAlong('softmaxForward', x, axis, false);
}

/** dx = p ⊙ (dout − Σ_axis dout ⊙ p). */
export function softmaxBackward(dout: Tensor, cache: SoftmaxCache): Tensor {
  const fn = 'softmaxBackward';
  assertCache(fn, cache, ['out', 'axis']);
  const p = cache.out;
  const axis = cacheAxis(fn, cache);
  assertUpstream(fn, dout, p.shape, p.dtype);
  const { outer, length, inner } = around(p.shape, axis);
  const dx = allocate(p.dtype, p.data.length);
  for (let o = 0; o < outer && dx.length > 0; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * length * inner + k;
      let dot = 0;
      for (let a = 0; a < length; a++) dot += dout.data[base + a * inner]! * p.data[base + a * inner]!;
      for (let a = 0; a < length; a++) {
        const at = base + a * inner;
        dx[at] = p.data[at]! * (dout.data[at]! - dot);
      }
    }
  }
  return { shape: [...p.shape], data: dx, dtype: p.dtype };
}

/** Log-softmax along `axis` (default −1). */
export function logSoftmaxForward(x: Tensor, axis = -1): { out: Tensor; cache: SoftmaxCache } {
  return softmaxAlong('logSoftmaxForward', x, axis, true);
}

/** dx = dout − softmax ⊙ Σ_axis dout. */
export function logSoftmaxBackward(dout: Tensor, cache: SoftmaxCache): Tensor {
  const fn = 'logSoftmaxBackward';
  assertCache(fn, cache, ['out', 'axis']);
  const logP = cache.out;
  const axis = cacheAxis(fn, cache);
  assertUpstream(fn, dout, logP.shape, logP.dtype);
  const { outer, length, inner } = around(logP.shape, axis);
  const dx = allocate(logP.dtype, logP.data.length);
  for (let o = 0; o < outer && dx.length > 0; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * length * inner + k;
      let total = 0;
      for (let a = 0; a < length; a++) total += dout.data[base + a * inner]!;
      for (let a = 0; a < length; a++) {
        const at = base + a * inner;
        dx[at] = dout.data[at]! - Math.exp(logP.data[at]!) * total;
      }
    }
  }
  return { shape: [...logP.shape], data: dx, dtype: logP.dtype };
}

/** Convenience forms that return only the output. */
export function relu(x: Tensor): Tensor {
  return reluForward(x).out;
}
export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  return leakyReluForward(x, alpha).out;
}
export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxForward(x, axis).out;
}
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return logSoftmaxForward(x, axis).out;
}
