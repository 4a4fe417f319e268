/**
 * Convolution (cross-correlation, like PyTorch: no kernel flip).
 *
 *   x: (N, C, H, W)   w: (F, C / groups, HH, WW)   b: (F)   out: (N, F, Ho, Wo)
 *   out[n, f, i, j] = b[f] + Σ_{c, kh, kw} w[f, c, kh, kw] · xpad[n, g·Cg + c, i·sh + kh·dh, j·sw + kw·dw]
 * where g = floor(f / (F / groups)), Cg = C / groups, and xpad is x padded with zeros
 * (top, left, bottom, right). Height and width each have their own stride, padding, dilation.
 *
 * Padding taps are terms of the sum like any other, w · 0 (and dout · 0 in dw), as in PyTorch
 * and in the fast layer's im2col + GEMM: they add nothing to finite values, but 0 · ±∞ is NaN,
 * so a non-finite weight (or dout) whose window reaches the padding gives NaN there.
 * (SEMANTICS.md is silent on non-finite values, so PyTorch decides, as it does elsewhere.)
 *
 * The naive version below is the definition: the fast version must agree with it.
 */
import { ConvnetError, show } from '../errors.js';
import { allocate, assertAllocatable, type Tensor } from '../tensor.js';
import { assertCache, assertObject, assertSameDtype, assertTensor, assertUpstream, integer } from '../validate.js';
import { outputLength, parseWindowParams, type WindowParams } from './geometry.js';

export interface ConvParam {
  /** A number or [h, w]; default 1. */
  stride?: number | [number, number];
  /** A number, [h, w] or [top, left, bottom, right]; default 0. */
  pad?: number | [number, number] | [number, number, number, number];
  /** A number or [h, w]; default 1. */
  dilation?: number | [number, number];
  /** Channel groups (C and F must both be multiples); default 1. */
  groups?: number;
}

/** Every size a convolution needs, validated once. */
export interface ConvGeometry extends WindowParams {
  N: number;
  C: number;
  H: number;
  W: number;
  F: number;
  HH: number;
  WW: number;
  groups: number;
  /** Input channels per group (C / groups). */
  Cg: number;
  /** Filters per group (F / groups). */
  Fg: number;
  Ho: number;
  Wo: number;
}

export interface ConvCache {
  /** The unpadded input, as given (never modified). */
  x: Tensor;
  w: Tensor;
  b: Tensor;
  geometry: ConvGeometry;
}

/** Validates conv arguments and computes the output geometry. */
export function convGeometry(fn: string, x: unknown, w: unknown, b: unknown, convParam: unknown): ConvGeometry {
  assertTensor(fn, 'x', x, 4);
  assertTensor(fn, 'w', w, 4);
  assertTensor(fn, 'b', b, 1);
  assertSameDtype(fn, { x, w, b });
  const param = (convParam ?? {}) as ConvParam;
  assertObject(fn, 'convParam', param);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [F, wC, HH, WW] = w.shape as [number, number, number, number];
  const groups = integer(fn, 'convParam.groups', param.groups, 1, 1);
  if (C % groups !== 0 || F % groups !== 0) {
    throw new ConvnetError(
      fn,
      `expected groups to divide both C and F, got groups ${groups} with C ${C} (x.shape ${show(x.shape)}) and F ${F} (w.shape ${show(w.shape)})`,
    );
  }
  if (wC !== C / groups) {
    throw new ConvnetError(
      fn,
      `expected w to have ${C / groups} input channels (C / groups = ${C} / ${groups}), got w.shape ${show(w.shape)} for x.shape ${show(x.shape)}`,
    );
  }
  if (b.shape[0] !== F) throw new ConvnetError(fn, `expected b of shape [${F}] (one per filter), got ${show(b.shape)}`);
  if (N < 1 || C < 1 || F < 1 || HH < 1 || WW < 1) {
    throw new ConvnetError(fn, `expected non-empty x and w, got x.shape ${show(x.shape)} and w.shape ${show(w.shape)}`);
  }
  const window = parseWindowParams(fn, param, [1, 1], 'convParam');
  const Ho = outputLength(fn, 'height', H, HH, window.strideH, window.padTop, window.padBottom, window.dilationH);
  const Wo = outputLength(fn, 'width', W, WW, window.strideW, window.padLeft, window.padRight, window.dilationW);
  // Huge padding (or an empty x with a huge N) can ask for an output no array can hold.
  assertAllocatable(fn, N * F * Ho * Wo, `out (N·F·Ho·Wo = ${N}·${F}·${Ho}·${Wo})`);
  return { N, C, H, W, F, HH, WW, groups, Cg: C / groups, Fg: F / groups, Ho, Wo, ...window };
}

/**
 * Checks a conv cache and returns its geometry, which must be the one convGeometry computes for
 * the cache's x, w and b with the geometry's own stride, padding, dilation and groups: a field
 * changed by hand, or an x or w from another layer, would make a backward read out of bounds.
 */
export function convCacheGeometry(fn: string, cache: unknown): ConvGeometry {
  assertCache(fn, cache, ['x', 'w', 'b', 'geometry']);
  const { x, w, b, geometry: g } = cache as ConvCache;
  let expected: ConvGeometry | undefined;
  try {
    const param = { stride: [g.strideH, g.strideW], pad: [g.padTop, g.padLeft, g.padBottom, g.padRight], dilation: [g.dilationH, g.dilationW], groups: g.groups };
    expected = convGeometry(fn, x, w, b, param);
  } catch {
    expected = undefined; // reported below, as a geometry that is not the forward's
  }
  const keys = Object.keys(expected ?? {}) as (keyof ConvGeometry)[];
  if (expected === undefined || keys.some((k) => expected[k] !== g[k])) {
    throw new ConvnetError(fn, `expected cache.geometry to be the one the forward computed for cache.x ${show(x.shape)}, cache.w ${show(w.shape)} and cache.b ${show(b.shape)}, got ${show(g)}`);
  }
  return g;
}

/** Naive convolution forward: six nested loops that read like the formula above. */
export function convForwardNaive(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam = {}): { out: Tensor; cache: ConvCache } {
  const g = convGeometry('convForwardNaive', x, w, b, convParam);
  const { N, C, H, W, F, HH, WW, Cg, Fg, Ho, Wo } = g;
  const out = allocate(x.dtype, N * F * Ho * Wo); // (N, F, Ho, Wo)
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      const cBase = Math.floor(f / Fg) * Cg; // first input channel of this filter's group
      for (let i = 0; i < Ho; i++) {
        for (let j = 0; j < Wo; j++) {
          let sum = b.data[f]!;
          for (let c = 0; c < Cg; c++) {
            for (let kh = 0; kh < HH; kh++) {
              const row = i * g.strideH - g.padTop + kh * g.dilationH;
              const rowInside = row >= 0 && row < H;
              for (let kw = 0; kw < WW; kw++) {
                const col = j * g.strideW - g.padLeft + kw * g.dilationW;
                // A padding tap is a term w · 0 (see the file comment: 0 · ±∞ is NaN).
                const xv = rowInside && col >= 0 && col < W ? x.data[((n * C + cBase + c) * H + row) * W + col]! : 0;
                sum += w.data[((f * Cg + c) * HH + kh) * WW + kw]! * xv;
              }
            }
          }
          out[((n * F + f) * Ho + i) * Wo + j] = sum;
        }
      }
    }
  }
  return { out: { shape: [N, F, Ho, Wo], data: out, dtype: x.dtype }, cache: { x, w, b, geometry: g } };
}

/**
 * Naive convolution backward. With the same indices as the forward:
 *   db[f] += dout[n, f, i, j]
 *   dw[f, c, kh, kw] += dout[n, f, i, j] · xpad[…]      (dout times x, not w times x)
 *   dx[n, cBase + c, row, col] += dout[n, f, i, j] · w[f, c, kh, kw]
 * Overlapping windows accumulate (+=); padded positions receive nothing, so dx has x's shape
 * (dw still gets their dout · 0 terms).
 */
export function convBackwardNaive(dout: Tensor, cache: ConvCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const fn = 'convBackwardNaive';
  const g = convCacheGeometry(fn, cache);
  const { x, w } = cache;
  const { N, C, H, W, F, HH, WW, Cg, Fg, Ho, Wo } = g;
  assertUpstream(fn, dout, [N, F, Ho, Wo], x.dtype);
  // Accumulate in float64 whatever the dtype, then store.
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(w.data.length);
  const db = new Float64Array(F);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      const cBase = Math.floor(f / Fg) * Cg;
      for (let i = 0; i < Ho; i++) {
        for (let j = 0; j < Wo; j++) {
          const upstream = dout.data[((n * F + f) * Ho + i) * Wo + j]!;
          db[f] += upstream;
          for (let c = 0; c < Cg; c++) {
            for (let kh = 0; kh < HH; kh++) {
              const row = i * g.strideH - g.padTop + kh * g.dilationH;
              const rowInside = row >= 0 && row < H;
              for (let kw = 0; kw < WW; kw++) {
                const col = j * g.strideW - g.padLeft + kw * g.dilationW;
                const wAt = ((f * Cg + c) * HH + kh) * WW + kw;
                if (!rowInside || col < 0 || col >= W) {
                  dw[wAt] += upstream * 0; // a padding tap: a zero term (NaN if dout is ±∞ or NaN)
                  continue;
                }
                const xAt = ((n * C + cBase + c) * H + row) * W + col;
                dw[wAt] += upstream * x.data[xAt]!;
                dx[xAt] += upstream * w.data[wAt]!;
              }
            }
          }
        }
      }
    }
  }
  const dtype = x.dtype;
  const store = (values: Float64Array, shape: number[]): Tensor => {
    const data = allocate(dtype, values.length);
    data.set(values);
    return { shape, data, dtype };
  };
  return { dx: store(dx, [...x.shape]), dw: store(dw, [...w.shape]), db: store(db, [F]) };
}
