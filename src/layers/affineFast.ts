/**
 * Fast affine layer: the same arguments, results, cache and errors as affineForwardNaive /
 * affineBackwardNaive (affine.ts holds the definition), as GEMMs on the active kernels.
 *   x: (N, D) (any trailing shape, flattened)   w: (D, M)   b: (M)
 *   out = x·w + b    dx = dout·wᵀ    dw = xᵀ·dout    db = Σ_n dout
 * No scratch memory: the GEMMs read x, w and dout in place (transposes happen while packing).
 */
import { getKernels } from '../kernels/index.js';
import { allocate, allocateUninitialized, type Tensor } from '../tensor.js';
import { assertUpstream } from '../validate.js';
import { affineCacheGeometry, affineGeometry, type AffineCache } from './affine.js';

export function affineForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: AffineCache } {
  const { N, D, M } = affineGeometry('affineForward', x, w, b);
  const kernels = getKernels();
  const out = allocateUninitialized(x.dtype, N * M); // the bias, then accumulate x·w
  kernels.fillCols(out, 0, N, M, b.data, 0);
  kernels.gemm({
    transA: false, transB: false, m: N, n: M, k: D,
    a: x.data, aOffset: 0, lda: D,
    b: w.data, bOffset: 0, ldb: M,
    c: out, cOffset: 0, ldc: M, accumulate: true,
  });
  return { out: { shape: [N, M], data: out, dtype: x.dtype }, cache: { x, w } };
}

export function affineBackward(dout: Tensor, cache: AffineCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const fn = 'affineBackward';
  const { x, w, N, D, M } = affineCacheGeometry(fn, cache);
  assertUpstream(fn, dout, [N, M], x.dtype);
  const kernels = getKernels();
  const dx = allocate(x.dtype, N * D);
  const dw = allocate(x.dtype, D * M);
  const db = allocate(x.dtype, M);
  kernels.gemm({
    transA: false, transB: true, m: N, n: D, k: M,
    a: dout.data, aOffset: 0, lda: M,
    b: w.data, bOffset: 0, ldb: M,
    c: dx, cOffset: 0, ldc: D, accumulate: false,
  });
  kernels.gemm({
    transA: true, transB: false, m: D, n: M, k: N,
    a: x.data, aOffset: 0, lda: D,
    b: dout.data, bOffset: 0, ldb: M,
    c: dw, cOffset: 0, ldc: M, accumulate: false,
  });
  kernels.sumCols(dout.data, 0, N, M, db, 0);
  const dtype = x.dtype;
  return {
    dx: { shape: [...x.shape], data: dx, dtype },
    dw: { shape: [D, M], data: dw, dtype },
    db: { shape: [M], data: db, dtype },
  };
}
