/**
 * Affine (fully connected) layer.
 *   x: (N, d1, …, dk) is read as (N, D) with D = d1·…·dk;  w: (D, M);  b: (M);  out: (N, M)
 *   out = x·w + b
 */
import { ConvnetError, fail, show } from '../errors.js';
import { allocate, assertAllocatable, sizeOf, type Tensor } from '../tensor.js';
import { assertCache, assertSameDtype, assertTensor, assertUpstream } from '../validate.js';

export interface AffineCache {
  x: Tensor;
  w: Tensor;
}

export function affineGeometry(fn: string, x: unknown, w: unknown, b: unknown): { N: number; D: number; M: number } {
  assertTensor(fn, 'x', x);
  assertTensor(fn, 'w', w, 2);
  assertTensor(fn, 'b', b, 1);
  assertSameDtype(fn, { x, w, b });
  if (x.shape.length < 2) throw new ConvnetError(fn, `expected x of shape (N, d1, …, dk) with k >= 1, got ${show(x.shape)}`);
  const N = x.shape[0]!;
  const D = sizeOf(x.shape.slice(1));
  const [wD, M] = w.shape as [number, number];
  if (wD !== D) {
    throw new ConvnetError(fn, `expected w of shape [${D}, M] (D = ${x.shape.slice(1).join('·')} from x.shape ${show(x.shape)}), got ${show(w.shape)}`);
  }
  if (b.shape[0] !== M) throw new ConvnetError(fn, `expected b of shape [${M}] (w's columns), got ${show(b.shape)}`);
  // An empty x may have a huge N: out (N, M) must still be allocatable.
  assertAllocatable(fn, N * M, `out (N·M = ${N}·${M})`);
  return { N, D, M };
}

/**
 * Checks that an affine cache came from an affine forward (affineForwardNaive's or
 * affineForward's): x (N, d1, …, dk) and w (D, M) with D = d1·…·dk, of one dtype.
 */
export function affineCacheGeometry(fn: string, cache: unknown): { x: Tensor; w: Tensor; N: number; D: number; M: number } {
  assertCache(fn, cache, ['x', 'w']);
  const { x, w } = cache as AffineCache;
  const D = sizeOf(x.shape.slice(1));
  if (x.shape.length < 2 || w.shape.length !== 2 || w.shape[0] !== D || x.dtype !== w.dtype) {
    fail(fn, 'the cache of an affine forward (x (N, d1, …, dk) and w (d1·…·dk, M) of one dtype)', `cache.x ${show(x.shape)} ${x.dtype}, cache.w ${show(w.shape)} ${w.dtype}`);
  }
  return { x, w, N: x.shape[0]!, D, M: w.shape[1]! };
}

export function affineForwardNaive(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: AffineCache } {
  const { N, D, M } = affineGeometry('affineForwardNaive', x, w, b);
  const out = allocate(x.dtype, N * M);
  for (let n = 0; n < N && M > 0; n++) {
    for (let m = 0; m < M; m++) {
      let sum = b.data[m]!;
      for (let d = 0; d < D; d++) sum += x.data[n * D + d]! * w.data[d * M + m]!;
      out[n * M + m] = sum;
    }
  }
  return { out: { shape: [N, M], data: out, dtype: x.dtype }, cache: { x, w } };
}

/**
 *   dx = dout·wᵀ (reshaped to x's shape)   dw = xᵀ·dout   db = Σ_n dout
 */
export function affineBackwardNaive(dout: Tensor, cache: AffineCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const fn = 'affineBackwardNaive';
  const { x, w, N, D, M } = affineCacheGeometry(fn, cache);
  assertUpstream(fn, dout, [N, M], x.dtype);
  const dx = allocate(x.dtype, N * D);
  const dw = allocate(x.dtype, D * M);
  const db = allocate(x.dtype, M);
  for (let n = 0; n < N && D > 0; n++) {
    for (let d = 0; d < D; d++) {
      let sum = 0;
      for (let m = 0; m < M; m++) sum += dout.data[n * M + m]! * w.data[d * M + m]!;
      dx[n * D + d] = sum;
    }
  }
  for (let d = 0; d < D; d++) {
    for (let m = 0; m < M; m++) {
      let sum = 0;
      for (let n = 0; n < N; n++) sum += x.data[n * D + d]! * dout.data[n * M + m]!;
      dw[d * M + m] = sum;
    }
  }
  for (let m = 0; m < M; m++) {
    let sum = 0;
    for (let n = 0; n < N; n++) sum += dout.data[n * M + m]!;
    db[m] = sum;
  }
  const dtype = x.dtype;
  return {
    dx: { shape: [...x.shape], data: dx, dtype },
    dw: { shape: [D, M], data: dw, dtype },
    db: { shape: [M], data: db, dtype },
  };
}
