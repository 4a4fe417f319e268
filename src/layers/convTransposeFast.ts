/**
 * Fast transposed convolution: the same arguments, results, cache and errors as
 * convTransposeForwardNaive / convTransposeBackwardNaive (convTranspose.ts holds the definition),
 * computed per image and group with the kernels. A transposed convolution is a convolution's
 * backward pass with respect to its input, so it runs the conv's steps in the other direction:
 *
 *   cols = w[group]ᵀ · x[n, group]           (K, P)    K = (F/groups)·HH·WW, P = H·W
 *   out[n, group] = b + col2im(cols)         (F/groups, Ho, Wo)
 *   dcols = im2col(dout[n, group])            (K, P)    (a convolution of dout with w)
 *   dx[n, group]  = w[group] · dcols          (C/groups, P)
 *   dw[group]    += x[n, group] · dcolsᵀ      (C/groups, K)
 *   db           += Σ_p dout[n, :, p]
 *
 * where w[group] is the (C/groups, K) block of w's rows, and im2col / col2im see the output
 * (Ho, Wo) as their "input" plane and x's (H, W) as their "output" positions: a window at
 * x position (i, j) covers output rows i·sh − padTop + kh·dh, exactly the cells the naive layer
 * scatters to (the kernels drop the ones outside the output).
 *
 * With ±Infinity or NaN in x or w the backward runs the naive layer instead: the GEMMs would
 * multiply them by the zeros im2col reads outside the output (∞·0 = NaN), where the definition
 * has no such term.
 *
 * Memory: forward allocates out; backward dx, dw, db. Scratch: the conv layers' shared columns
 * array, one chunk of K × (at most P) values, chunked under the same cap as convForward
 * (setConvColumnLimit). The caches are interchangeable with the naive layer's.
 */
import { getKernels } from '../kernels/index.js';
import type { ColumnGeometry } from '../kernels/types.js';
import { workspace } from '../kernels/workspace.js';
import { allocate, allocateUninitialized, type Tensor } from '../tensor.js';
import { assertCache, assertUpstream } from '../validate.js';
import { convTransposeBackwardNaive, convTransposeGeometry, type ConvTransposeCache, type ConvTransposeGeometry, type ConvTransposeParam } from './convTranspose.js';
import { setConvColumnLimit } from './convFast.js';

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

/** The conv layers' column cap (setConvColumnLimit), read without changing it. */
function columnLimit(): number {
  const limit = setConvColumnLimit(1);
  setConvColumnLimit(limit);
  return limit;
}

/** x positions per column chunk: the columns (K, chunk) stay under the conv layers' cap. */
function chunkLength(K: number, P: number): number {
  return Math.max(1, Math.min(P, Math.floor(columnLimit() / K)));
}

/** One group's window for im2col / col2im: the output plane is the kernels' input, x's plane their output. */
function columns(g: ConvTransposeGeometry): ColumnGeometry {
  return {
    channels: g.Fg,
    height: g.Ho,
    width: g.Wo,
    outHeight: g.H,
    outWidth: g.W,
    kernelH: g.HH,
    kernelW: g.WW,
    strideH: g.strideH,
    strideW: g.strideW,
    padTop: g.padTop,
    padLeft: g.padLeft,
    dilationH: g.dilationH,
    dilationW: g.dilationW,
  };
}

export function convTransposeForward(x: Tensor, w: Tensor, b: Tensor, convTransposeParam: ConvTransposeParam = {}): { out: Tensor; cache: ConvTransposeCache } {
  const g = convTransposeGeometry('convTransposeForward', x, w, b, convTransposeParam);
  const kernels = getKernels();
  const { N, C, H, W, F, HH, WW, groups, Cg, Fg, Ho, Wo } = g;
  const P = H * W;
  const Q = Ho * Wo;
  const K = Fg * HH * WW;
  const out = allocateUninitialized(x.dtype, N * F * Q); // (N, F, Ho, Wo): the bias fills every value
  const chunk = chunkLength(K, P);
  const cols = workspace(x.dtype, K * chunk); // (K, chunk)
  const geometry = columns(g);
  for (let n = 0; n < N; n++) {
    kernels.fillRows(out, n * F * Q, F, Q, b.data, 0);
    for (let group = 0; group < groups; group++) {
      const xAt = (n * C + group * Cg) * P;
      const outAt = (n * F + group * Fg) * Q;
      const wAt = group * Cg * K;
      for (let p0 = 0; p0 < P; p0 += chunk) {
        const count = Math.min(chunk, P - p0);
        // cols = w[group]ᵀ · x[n, group][:, p0 : p0 + count]
        kernels.gemm({
          transA: true, transB: false, m: K, n: count, k: Cg,
          a: w.data, aOffset: wAt, lda: K,
          b: x.data, bOffset: xAt + p0, ldb: P,
          c: cols, cOffset: 0, ldc: count, accumulate: false,
        });
        kernels.col2im(cols, 0, geometry, p0, count, out, outAt);
      }
    }
  }
  return { out: { shape: [N, F, Ho, Wo], data: out, dtype: x.dtype }, cache: { x, w, b, geometry: g } };
}

export function convTransposeBackward(dout: Tensor, cache: ConvTransposeCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const fn = 'convTransposeBackward';
  assertCache(fn, cache, ['x', 'w', 'b', 'geometry']);
  const { x, w, geometry: g } = cache;
  const { N, C, H, W, F, HH, WW, groups, Cg, Fg, Ho, Wo } = g;
  assertUpstream(fn, dout, [N, F, Ho, Wo], x.dtype);
  if (!allFinite(x.data) || !allFinite(w.data)) return convTransposeBackwardNaive(dout, cache);
  const kernels = getKernels();
  const P = H * W;
  const Q = Ho * Wo;
  const K = Fg * HH * WW;
  const dx = allocateUninitialized(x.dtype, x.data.length); // every chunk of every (image, group) written once
  const dw = allocate(x.dtype, w.data.length); // added into below
  const db = allocate(x.dtype, F);
  const chunk = chunkLength(K, P);
  const cols = workspace(x.dtype, K * chunk); // dcols: (K, chunk)
  const geometry = columns(g);
  for (let n = 0; n < N; n++) {
    kernels.sumRows(dout.data, n * F * Q, F, Q, db, 0);
    for (let group = 0; group < groups; group++) {
      const xAt = (n * C + group * Cg) * P;
      const doutAt = (n * F + group * Fg) * Q;
      const wAt = group * Cg * K;
      for (let p0 = 0; p0 < P; p0 += chunk) {
        const count = Math.min(chunk, P - p0);
        kernels.im2col(dout.data, doutAt, geometry, p0, count, cols, 0);
        // dx[n, group][:, chunk] = w[group] · dcols
        kernels.gemm({
          transA: false, transB: false, m: Cg, n: count, k: K,
          a: w.data, aOffset: wAt, lda: K,
          b: cols, bOffset: 0, ldb: count,
          c: dx, cOffset: xAt + p0, ldc: P, accumulate: false,
        });
        // dw[group] += x[n, group][:, chunk] · dcolsᵀ
        kernels.gemm({
          transA: false, transB: true, m: Cg, n: K, k: count,
          a: x.data, aOffset: xAt + p0, lda: P,
          b: cols, bOffset: 0, ldb: count,
          c: dw, cOffset: wAt, ldc: K, accumulate: true,
        });
      }
    }
  }
  const dtype = x.dtype;
  return {
    dx: { shape: [...x.shape], data: dx, dtype },
    dw: { shape: [...w.shape], data: dw, dtype },
    db: { shape: [F], data: db, dtype },
  };
}
