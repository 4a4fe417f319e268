/**
 * Fast convolution: the same arguments, results, cache and errors as convForwardNaive /
 * convBackwardNaive (conv.ts holds the definition), computed per image and group as a GEMM
 * over im2col columns.
 *
 *   cols  = im2col(x[n, group])            (K, P)     K = (C/groups)·HH·WW, P = Ho·Wo
 *   out[n, group]  = w[group] · cols + b   (F/groups, P)
 *   dw[group]     += dout[n, group] · colsᵀ
 *   dcols          = w[group]ᵀ · dout[n, group];  dx[n, group] += col2im(dcols)
 *   db            += Σ_p dout[n, :, p]
 *
 * Every valid configuration (any stride, asymmetric padding, dilation, groups) takes this path;
 * a 1×1 convolution with stride 1 and no padding multiplies by x directly, without im2col.
 * A backend with the batch conv capability (BatchConvKernels: WebAssembly, float32) runs the
 * same computation over the whole batch in one call, its threads splitting the images.
 * The caches are interchangeable with the naive layer's: convBackwardNaive accepts this
 * forward's cache and convBackward accepts convForwardNaive's.
 *
 * Memory a conv layer needs (x: (N, C, H, W), w: (F, C/groups, HH, WW), out: (N, F, Ho, Wo)):
 * - Forward allocates out only. The cache holds references to x, w and b and nothing else:
 *   backward recomputes the columns from x, which costs about 1/(F/groups) of the GEMM work,
 *   instead of keeping N·K·P values per layer alive between forward and backward (50×147×1024
 *   floats = 30 MB in float32 for the first layer of the CIFAR-10 three-layer convnet).
 * - Backward allocates dx, dw and db (the sizes of x, w and b).
 * - Scratch: one grow-only array per dtype, shared by all conv layers and reused by every call,
 *   holding the columns of one image and group: K·P values (0.6 MB in float32 for
 *   x (50, 3, 32, 32) with w (32, 3, 7, 7)). Output positions are processed in chunks so it never
 *   exceeds 2²² values (16 MiB float32, 32 MiB float64), however large the image
 *   (setConvColumnLimit changes the cap).
 *   releaseWorkspace() (src/kernels) frees it.
 * - The GEMM's packing buffers: 1.25 MiB of float64, allocated once per process.
 * - The WebAssembly batch kernels (float32) instead copy x, w, b (and dout) into WebAssembly
 *   memory and the results out, and use per thread a zero-padded copy of one image (forward)
 *   or one chunk of columns (backward), plus 16 partial dw and db at most (backward).
 */
import { ConvnetError, show } from '../errors.js';
import { batchConvFor } from '../kernels/capabilities.js';
import { getKernels } from '../kernels/index.js';
import type { ConvBatchGeometry } from '../kernels/types.js';
import { workspace } from '../kernels/workspace.js';
import { allocate, allocateIndices, allocateUninitialized, type Tensor } from '../tensor.js';
import { assertUpstream } from '../validate.js';
import { reluBackward, type ReluCache } from './activations.js';
import type { PoolParam } from './pool.js';
import { maxPoolBackward, maxPoolForward, type MaxPoolFastCache } from './poolFast.js';
import { convCacheGeometry, convGeometry, type ConvCache, type ConvGeometry, type ConvParam } from './conv.js';
import { columnGeometry, convBatchGeometry, isPointwise } from './geometry.js';

/** The largest im2col chunk, in values. */
let maxColumnValues = 1 << 22;

/**
 * Sets the largest im2col chunk (in values; default 2²²) and returns the previous limit: lower
 * it to bound the scratch memory further, or to exercise the chunked path in tests.
 */
export function setConvColumnLimit(values: number): number {
  if (!Number.isInteger(values) || values < 1) {
    throw new ConvnetError('setConvColumnLimit', `expected a positive integer number of values, got ${show(values)}`);
  }
  const previous = maxColumnValues;
  maxColumnValues = values;
  return previous;
}

/** Output positions per im2col chunk. */
function chunkLength(K: number, P: number): number {
  return Math.max(1, Math.min(P, Math.floor(maxColumnValues / K)));
}

/** The batch kernels' geometry of a layer, with im2col chunks under the column limit. */
function batchGeometryOf(g: ConvGeometry, relu?: boolean): ConvBatchGeometry {
  return convBatchGeometry(g, chunkLength(g.Cg * g.HH * g.WW, g.Ho * g.Wo), relu);
}

/** A float32 tensor's data (the batch kernels' paths are float32 only: batchConvFor). */
const f32 = (t: Tensor): Float32Array => t.data as Float32Array;

/**
 * dx, dw and db of a float32 layer from a batch kernel that overwrites all three (so dx need
 * not be zeroed): `run` fills them.
 */
function batchGradients(x: Tensor, w: Tensor, F: number, run: (dx: Float32Array, dw: Float32Array, db: Float32Array) => void): { dx: Tensor; dw: Tensor; db: Tensor } {
  const dx = allocateUninitialized('float32', x.data.length) as Float32Array;
  const dw = allocate('float32', w.data.length) as Float32Array;
  const db = allocate('float32', F) as Float32Array;
  run(dx, dw, db);
  return {
    dx: { shape: [...x.shape], data: dx, dtype: 'float32' },
    dw: { shape: [...w.shape], data: dw, dtype: 'float32' },
    db: { shape: [F], data: db, dtype: 'float32' },
  };
}

export function convForward(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam = {}): { out: Tensor; cache: ConvCache } {
  return forward(convGeometry('convForward', x, w, b, convParam), x, w, b, false);
}

/**
 * The forward of a layer whose geometry g (convGeometry) is validated; with `relu`,
 * max(conv, 0) (the batch kernel applies it per image, in cache).
 */
function forward(g: ConvGeometry, x: Tensor, w: Tensor, b: Tensor, relu: boolean): { out: Tensor; cache: ConvCache } {
  const kernels = getKernels();
  const { N, C, H, W, F, HH, WW, groups, Cg, Fg, Ho, Wo } = g;
  const P = Ho * Wo;
  const K = Cg * HH * WW;
  const out = allocateUninitialized(x.dtype, N * F * P); // (N, F, Ho, Wo): every value written below
  const chunk = chunkLength(K, P);
  const cache = { x, w, b, geometry: g };
  const batch = batchConvFor(kernels, x.dtype);
  if (batch !== undefined) {
    batch.convForward(f32(x), f32(w), f32(b), batchGeometryOf(g, relu), out as Float32Array);
    return { out: { shape: [N, F, Ho, Wo], data: out, dtype: x.dtype }, cache };
  }
  const pointwise = isPointwise(g);
  const cols = pointwise ? null : workspace(x.dtype, K * chunk); // (K, chunk)
  const colGeometry = columnGeometry(g);
  for (let n = 0; n < N; n++) {
    kernels.fillRows(out, n * F * P, F, P, b.data, 0); // the bias, then accumulate w·cols
    for (let group = 0; group < groups; group++) {
      const xAt = (n * C + group * Cg) * H * W;
      const outAt = (n * F + group * Fg) * P;
      const wAt = group * Fg * K;
      if (cols === null) {
        kernels.gemm({
          transA: false, transB: false, m: Fg, n: P, k: K,
          a: w.data, aOffset: wAt, lda: K,
          b: x.data, bOffset: xAt, ldb: P,
          c: out, cOffset: outAt, ldc: P, accumulate: true,
        });
        continue;
      }
      for (let p0 = 0; p0 < P; p0 += chunk) {
        const count = Math.min(chunk, P - p0);
        kernels.im2col(x.data, xAt, colGeometry, p0, count, cols, 0);
        kernels.gemm({
          transA: false, transB: false, m: Fg, n: count, k: K,
          a: w.data, aOffset: wAt, lda: K,
          b: cols, bOffset: 0, ldb: count,
          c: out, cOffset: outAt + p0, ldc: P, accumulate: true,
        });
      }
    }
  }
  if (relu) kernels.reluForward(out, 0, out.length, out, 0); // in place
  return { out: { shape: [N, F, Ho, Wo], data: out, dtype: x.dtype }, cache };
}

export function convBackward(dout: Tensor, cache: ConvCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  return backward(dout, cache);
}

/** The backward; with `reluOut` (a fused forward's output), relu's backward first, fused in. */
function backward(dout: Tensor, cache: ConvCache, reluOut?: Float32Array): { dx: Tensor; dw: Tensor; db: Tensor } {
  const fn = 'convBackward';
  const g = convCacheGeometry(fn, cache);
  const { x, w } = cache;
  const { N, C, H, W, F, HH, WW, groups, Cg, Fg, Ho, Wo } = g;
  assertUpstream(fn, dout, [N, F, Ho, Wo], x.dtype);
  const kernels = getKernels();
  const batch = batchConvFor(kernels, x.dtype);
  if (batch !== undefined) {
    return batchGradients(x, w, F, (dx, dw, db) => batch.convBackward(f32(x), f32(w), f32(dout), batchGeometryOf(g), dx, dw, db, reluOut));
  }
  const P = Ho * Wo;
  const K = Cg * HH * WW;
  const dx = allocate(x.dtype, x.data.length); // added into below
  const dw = allocate(x.dtype, w.data.length);
  const db = allocate(x.dtype, F);
  const chunk = chunkLength(K, P);
  const pointwise = isPointwise(g);
  const cols = pointwise ? null : workspace(x.dtype, K * chunk); // cols, then dcols: (K, chunk)
  const colGeometry = columnGeometry(g);
  for (let n = 0; n < N; n++) {
    kernels.sumRows(dout.data, n * F * P, F, P, db, 0);
    for (let group = 0; group < groups; group++) {
      const xAt = (n * C + group * Cg) * H * W;
      const doutAt = (n * F + group * Fg) * P;
      const wAt = group * Fg * K;
      if (cols === null) {
        // dw[group] += dout[n, group] · x[n, group]ᵀ;  dx[n, group] = w[group]ᵀ · dout[n, group]
        kernels.gemm({
          transA: false, transB: true, m: Fg, n: K, k: P,
          a: dout.data, aOffset: doutAt, lda: P,
          b: x.data, bOffset: xAt, ldb: P,
          c: dw, cOffset: wAt, ldc: K, accumulate: true,
        });
        kernels.gemm({
          transA: true, transB: false, m: K, n: P, k: Fg,
          a: w.data, aOffset: wAt, lda: K,
          b: dout.data, bOffset: doutAt, ldb: P,
          c: dx, cOffset: xAt, ldc: P, accumulate: false,
        });
        continue;
      }
      for (let p0 = 0; p0 < P; p0 += chunk) {
        const count = Math.min(chunk, P - p0);
        kernels.im2col(x.data, xAt, colGeometry, p0, count, cols, 0);
        kernels.gemm({
          transA: false, transB: true, m: Fg, n: K, k: count,
          a: dout.data, aOffset: doutAt + p0, lda: P,
          b: cols, bOffset: 0, ldb: count,
          c: dw, cOffset: wAt, ldc: K, accumulate: true,
        });
        // The columns are used up: overwrite them with dcols = w[group]ᵀ · dout[n, group].
        kernels.gemm({
          transA: true, transB: false, m: K, n: count, k: Fg,
          a: w.data, aOffset: wAt, lda: K,
          b: dout.data, bOffset: doutAt + p0, ldb: P,
          c: cols, cOffset: 0, ldc: count, accumulate: false,
        });
        kernels.col2im(cols, 0, colGeometry, p0, count, dx, xAt);
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

/** What convReluBackwardFast needs: the conv's cache and relu's (here, relu's output as its x). */
export interface ConvReluFastCache {
  conv: ConvCache;
  relu: ReluCache;
}

/**
 * conv → relu, as convForward then reluForward. Where the backend has batch kernels (float32
 * WebAssembly) the relu is applied inside the conv call and its backward is fused into the
 * conv's, so the conv's output never crosses into JavaScript and back. The relu cache holds the
 * relu's output in place of its input: out > 0 exactly where the input is (NaN in neither), so
 * reluBackward gives the same dx from it.
 */
export function convReluForwardFast(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam = {}): { out: Tensor; cache: ConvReluFastCache } {
  return reluFused(convGeometry('convForward', x, w, b, convParam), x, w, b);
}

/** convReluForwardFast on a validated geometry. */
function reluFused(g: ConvGeometry, x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: ConvReluFastCache } {
  const { out, cache } = forward(g, x, w, b, true);
  return { out, cache: { conv: cache, relu: { x: out } } };
}

/** The backward of convReluForwardFast: relu's backward, then the conv's (fused where it can be). */
export function convReluBackwardFast(dout: Tensor, cache: ConvReluFastCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const reluOut = cache?.relu?.x;
  if (batchConvFor(getKernels(), cache?.conv?.x?.dtype) !== undefined && reluOut?.dtype === 'float32') {
    // The checks reluBackward would make (the same errors), then the fused backward.
    assertUpstream('reluBackward', dout, reluOut.shape, reluOut.dtype);
    return backward(dout, cache.conv, f32(reluOut));
  }
  return backward(reluBackward(dout, cache.relu), cache.conv);
}

/** What convReluPoolBackwardFast needs: the conv's cache, and the relu's and pool's or the fused call's. */
export interface ConvReluPoolFastCache {
  conv: ConvCache;
  /** When composed: relu's cache (its output as x, see convReluForwardFast). */
  relu?: ReluCache;
  /** When composed: the max pool's. */
  pool?: MaxPoolFastCache;
  /** When fused: the pool's output (N, F, height, width) and each window's argmax in its plane. */
  fused?: { out: Tensor; argmax: Int32Array; height: number; width: number };
}

/** A 2×2 window at stride 2 without padding, dilation or ceil mode (what the fused kernel pools). */
function isPlain2x2(p: PoolParam): boolean {
  const pair = (v: unknown, d: number): boolean =>
    v === undefined || v === d || (Array.isArray(v) && v.every((e) => e === d) && (v.length === 2 || v.length === 4));
  return p?.poolHeight === 2 && p.poolWidth === 2 && pair(p.stride, 2) && pair(p.pad, 0) && pair(p.dilation, 1) && !p.ceilMode;
}

/**
 * conv → relu → max pool, as convReluForwardFast then maxPoolForward. Where the backend has the
 * fused kernel (float32 WebAssembly) and the pool is 2×2 at stride 2, one call does all three
 * and only the pool's output and argmax leave the backend; the backward builds the conv's dout
 * from them (each window's gradient at its argmax where its maximum is positive) inside the
 * backend too. Same results as the composition.
 */
export function convReluPoolForwardFast(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam, poolParam: PoolParam): { out: Tensor; cache: ConvReluPoolFastCache } {
  const g = convGeometry('convForward', x, w, b, convParam);
  const batch = batchConvFor(getKernels(), x.dtype);
  if (batch !== undefined && isPlain2x2(poolParam) && g.Ho >= 2 && g.Wo >= 2) {
    const height = Math.floor(g.Ho / 2);
    const width = Math.floor(g.Wo / 2);
    const size = g.N * g.F * height * width;
    const pooled = allocateUninitialized('float32', size) as Float32Array; // every window written
    const argmax = allocateIndices(size);
    batch.convReluPoolForward(f32(x), f32(w), f32(b), batchGeometryOf(g), pooled, argmax, height, width);
    const out: Tensor = { shape: [g.N, g.F, height, width], data: pooled, dtype: 'float32' };
    return { out, cache: { conv: { x, w, b, geometry: g }, fused: { out, argmax, height, width } } };
  }
  const c = reluFused(g, x, w, b);
  const p = maxPoolForward(c.out, poolParam);
  return { out: p.out, cache: { conv: c.cache.conv, relu: c.cache.relu, pool: p.cache } };
}

/** The backward of convReluPoolForwardFast. */
export function convReluPoolBackwardFast(dout: Tensor, cache: ConvReluPoolFastCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const fused = cache?.fused;
  if (fused === undefined) {
    return convReluBackwardFast(maxPoolBackward(dout, cache.pool!), { conv: cache.conv, relu: cache.relu! });
  }
  const g = convCacheGeometry('convBackward', cache.conv);
  assertUpstream('maxPoolBackward', dout, fused.out.shape, 'float32');
  const { x, w } = cache.conv;
  const batch = batchConvFor(getKernels(), 'float32');
  if (batch === undefined) {
    // The backend changed since the forward: the pool's and relu's backward here, then the conv's.
    const planeOut = g.Ho * g.Wo;
    const windows = fused.height * fused.width;
    const dconv = allocate('float32', g.N * g.F * planeOut);
    for (let i = 0; i < fused.argmax.length; i++) {
      if (fused.out.data[i]! > 0) dconv[Math.floor(i / windows) * planeOut + fused.argmax[i]!] += dout.data[i]!;
    }
    return convBackward({ shape: [g.N, g.F, g.Ho, g.Wo], data: dconv, dtype: 'float32' }, cache.conv);
  }
  return batchGradients(x, w, g.F, (dx, dw, db) =>
    batch.convReluPoolBackward(f32(x), f32(w), batchGeometryOf(g), f32(dout), f32(fused.out), fused.argmax, fused.height, fused.width, dx, dw, db),
  );
}
