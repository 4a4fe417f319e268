/**
 * Shape-only layers: flatten (ONNX's Flatten) and its backward.
 */
import { fail, show } from '../errors.js';
import { sizeOf, type Tensor } from '../tensor.js';
import { assertCache, assertTensor, assertUpstream } from '../validate.js';
import { normaliseAxis } from './activations.js';

/**
 * Flattens x to 2-D: (d0·…·d_{axis−1}, d_axis·…·d_last). axis may be 0 (giving (1, size)) up to
 * the rank, or negative. Returns a view over x's data.
 */
export function flatten(x: Tensor, axis = 1): Tensor {
  const fn = 'flatten';
  assertTensor(fn, 'x', x);
  const rank = x.shape.length;
  // axis = rank is allowed (ONNX): everything goes to the rows.
  const ax = axis === rank ? rank : normaliseAxis(fn, axis, Math.max(rank, 1));
  return { shape: [sizeOf(x.shape.slice(0, ax)), sizeOf(x.shape.slice(ax))], data: x.data, dtype: x.dtype };
}

export interface FlattenCache {
  shape: number[];
  dtype: Tensor['dtype'];
  outShape: number[];
}

export function flattenForward(x: Tensor, axis = 1): { out: Tensor; cache: FlattenCache } {
  const out = flatten(x, axis);
  return { out, cache: { shape: [...x.shape], dtype: x.dtype, outShape: [...out.shape] } };
}

export function flattenBackward(dout: Tensor, cache: FlattenCache): Tensor {
  const fn = 'flattenBackward';
  assertCache(fn, cache, ['shape', 'dtype', 'outShape']);
  if (sizeOf(cache.shape) !== sizeOf(cache.outShape)) {
    fail(fn, 'the cache of flattenForward (shape and outShape of one size)', `shape ${show(cache.shape)}, outShape ${show(cache.outShape)}`);
  }
  assertUpstream(fn, dout, cache.outShape, cache.dtype);
  return { shape: [...cache.shape], data: dout.data.slice(), dtype: cache.dtype };
}
