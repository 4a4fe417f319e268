/**
 * Transposed convolution (PyTorch's ConvTranspose2d, ONNX's ConvTranspose): the adjoint of a
 * convolution with respect to its input. Each input value scatters a copy of its kernel, scaled
 * by the value, into the output.
 *
 *   x: (N, C, H, W)   w: (C, F / groups, HH, WW)   b: (F)   out: (N, F, Ho, Wo)
 *   out[n, g·Fg + f, i·sh − padTop + kh·dh, j·sw − padLeft + kw·dw] += x[n, g·Cg + c, i, j] · w[g·Cg + c, f, kh, kw]
 *   out[n, f, ·, ·] += b[f]
 * for every c < Cg = C / groups, f < Fg = F / groups, group g; positions outside the output are
 * dropped. w is laid out as PyTorch and ONNX store it: input channels first.
 *
 *   Ho = (H − 1)·sh − padTop − padBottom + dh·(HH − 1) + outputPaddingH + 1   (and Wo likewise)
 *
 * The padding crops the output (it is the padding of the convolution this one is the adjoint of);
 * outputPadding adds rows and columns at the bottom and right (PyTorch: it must be smaller than
 * the stride or the dilation), so that a stride-s convolution's several input sizes can each be
 * recovered. Only padBottom − outputPadding matters, and only to the output's size.
 *
 * The naive version below is the definition: the fast version (convTransposeFast.ts) must agree.
 */
import { ConvnetError, show } from '../errors.js';
import { allocate, assertAllocatable, type Tensor } from '../tensor.js';
import { assertCache, assertObject, assertSameDtype, assertTensor, assertUpstream, integer, intPair } from '../validate.js';
import { describe, parseWindowParams, type WindowParams } from './geometry.js';

export interface ConvTransposeParam {
  /** A number or [h, w]; default 1. */
  stride?: number | [number, number];
  /** Cropped from the output: a number, [h, w] or [top, left, bottom, right]; default 0. */
  pad?: number | [number, number] | [number, number, number, number];
  /** Added to the output's bottom and right: a number or [h, w], below the stride or the dilation; default 0. */
  outputPadding?: number | [number, number];
  /** A number or [h, w]; default 1. */
  dilation?: number | [number, number];
  /** Channel groups (C and F must both be multiples); default 1. */
  groups?: number;
}

/** Every size a transposed convolution needs, validated once. */
export interface ConvTransposeGeometry extends WindowParams {
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
  /** Output channels per group (F / groups = w.shape[1]). */
  Fg: number;
  outputPadH: number;
  outputPadW: number;
  Ho: number;
  Wo: number;
}

export interface ConvTransposeCache {
  /** The input, as given (never modified). */
  x: Tensor;
  w: Tensor;
  b: Tensor;
  geometry: ConvTransposeGeometry;
}

/** Output length along one axis: (size − 1)·stride − pads + dilation·(kernel − 1) + outputPadding + 1. */
export function transposedLength(
  fn: string,
  axis: 'height' | 'width',
  size: number,
  kernel: number,
  stride: number,
  padBefore: number,
  padAfter: number,
  dilation: number,
  outputPadding: number,
): number {
  if (outputPadding >= stride && outputPadding >= dilation) {
    throw new ConvnetError(
      fn,
      `expected outputPadding to be smaller than the stride or the dilation (PyTorch), got output padding ${outputPadding} along the ${axis} with stride ${stride} and dilation ${dilation}`,
    );
  }
  const out = (size - 1) * stride - padBefore - padAfter + dilation * (kernel - 1) + outputPadding + 1;
  if (out < 1) {
    throw new ConvnetError(
      fn,
      `expected an output ${axis} of at least 1, got ${out} ((input ${size} − 1)·stride ${stride} − pads ${padBefore}, ${padAfter} + dilation ${dilation}·(kernel ${kernel} − 1) + output padding ${outputPadding} + 1)`,
    );
  }
  return out;
}

/** Validates transposed-conv arguments and computes the output geometry. */
export function convTransposeGeometry(fn: string, x: unknown, w: unknown, b: unknown, convTransposeParam: unknown): ConvTransposeGeometry {
  assertTensor(fn, 'x', x, 4);
  assertTensor(fn, 'w', w, 4);
  assertTensor(fn, 'b', b, 1);
  assertSameDtype(fn, { x, w, b });
  const param = (convTransposeParam ?? {}) as ConvTransposeParam;
  assertObject(fn, 'convTransposeParam', param);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [wC, Fg, HH, WW] = w.shape as [number, number, number, number];
  const groups = integer(fn, 'convTransposeParam.groups', param.groups, 1, 1);
  if (wC !== C) {
    throw new ConvnetError(fn, `expected w to have ${C} rows (one per input channel: w is (C, F / groups, HH, WW)), got w.shape ${show(w.shape)} for x.shape ${show(x.shape)}`);
  }
  if (C % groups !== 0) {
    throw new ConvnetError(fn, `expected groups to divide C, got groups ${groups} with C ${C} (x.shape ${show(x.shape)})`);
  }
  const F = Fg * groups;
  if (b.shape[0] !== F) {
    throw new ConvnetError(fn, `expected b of shape [${F}] (one per output channel: F = w.shape[1]·groups = ${Fg}·${groups}), got ${show(b.shape)}`);
  }
  if (N < 1 || C < 1 || Fg < 1 || HH < 1 || WW < 1 || H < 1 || W < 1) {
    throw new ConvnetError(fn, `expected non-empty x and w, got x.shape ${show(x.shape)} and w.shape ${show(w.shape)}`);
  }
  const window = parseWindowParams(fn, param, [1, 1], 'convTransposeParam');
  const [outputPadH, outputPadW] = intPair(fn, 'convTransposeParam.outputPadding', param.outputPadding, 0, 0);
  const Ho = transposedLength(fn, 'height', H, HH, window.strideH, window.padTop, window.padBottom, window.dilationH, outputPadH);
  const Wo = transposedLength(fn, 'width', W, WW, window.strideW, window.padLeft, window.padRight, window.dilationW, outputPadW);
  assertAllocatable(fn, N * F * Ho * Wo, `an output (${N}, ${F}, ${Ho}, ${Wo}) for ${describe(window)}`);
  return { N, C, H, W, F, HH, WW, groups, Cg: C / groups, Fg, outputPadH, outputPadW, Ho, Wo, ...window };
}

/** Naive transposed convolution forward: every input value scatters its kernel into the output. */
export function convTransposeForwardNaive(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  convTransposeParam: ConvTransposeParam = {},
): { out: Tensor; cache: ConvTransposeCache } {
  const g = convTransposeGeometry('convTransposeForwardNaive', x, w, b, convTransposeParam);
  const { N, C, H, W, F, HH, WW, Cg, Fg, Ho, Wo } = g;
  // Accumulate in float64 whatever the dtype, then store.
  const sums = new Float64Array(N * F * Ho * Wo); // (N, F, Ho, Wo)
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const fBase = Math.floor(c / Cg) * Fg; // first output channel of this input channel's group
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const value = x.data[((n * C + c) * H + i) * W + j]!;
          for (let f = 0; f < Fg; f++) {
            for (let kh = 0; kh < HH; kh++) {
              const row = i * g.strideH - g.padTop + kh * g.dilationH;
              if (row < 0 || row >= Ho) continue; // cropped by the padding
              for (let kw = 0; kw < WW; kw++) {
                const col = j * g.strideW - g.padLeft + kw * g.dilationW;
                if (col < 0 || col >= Wo) continue;
                sums[((n * F + fBase + f) * Ho + row) * Wo + col] += value * w.data[((c * Fg + f) * HH + kh) * WW + kw]!;
              }
            }
          }
        }
      }
    }
    for (let f = 0; f < F; f++) {
      const plane = (n * F + f) * Ho * Wo;
      for (let p = 0; p < Ho * Wo; p++) sums[plane + p] += b.data[f]!;
    }
  }
  const out = allocate(x.dtype, sums.length);
  out.set(sums);
  return { out: { shape: [N, F, Ho, Wo], data: out, dtype: x.dtype }, cache: { x, w, b, geometry: g } };
}

/**
 * Naive transposed convolution backward. With the same indices as the forward, where the
 * output position (row, col) is inside the output:
 *   dx[n, g·Cg + c, i, j]  += dout[n, g·Fg + f, row, col] · w[g·Cg + c, f, kh, kw]
 *   dw[g·Cg + c, f, kh, kw] += dout[n, g·Fg + f, row, col] · x[n, g·Cg + c, i, j]
 *   db[f] += dout[n, f, ·, ·]
 */
export function convTransposeBackwardNaive(dout: Tensor, cache: ConvTransposeCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  const fn = 'convTransposeBackwardNaive';
  assertCache(fn, cache, ['x', 'w', 'b', 'geometry']);
  const { x, w, geometry: g } = cache;
  const { N, C, H, W, F, HH, WW, Cg, Fg, Ho, Wo } = g;
  assertUpstream(fn, dout, [N, F, Ho, Wo], x.dtype);
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(w.data.length);
  const db = new Float64Array(F);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      const plane = (n * F + f) * Ho * Wo;
      for (let p = 0; p < Ho * Wo; p++) db[f] += dout.data[plane + p]!;
    }
    for (let c = 0; c < C; c++) {
      const fBase = Math.floor(c / Cg) * Fg;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const xAt = ((n * C + c) * H + i) * W + j;
          for (let f = 0; f < Fg; f++) {
            for (let kh = 0; kh < HH; kh++) {
              const row = i * g.strideH - g.padTop + kh * g.dilationH;
              if (row < 0 || row >= Ho) continue;
              for (let kw = 0; kw < WW; kw++) {
                const col = j * g.strideW - g.padLeft + kw * g.dilationW;
                if (col < 0 || col >= Wo) continue;
                const upstream = dout.data[((n * F + fBase + f) * Ho + row) * Wo + col]!;
                const wAt = ((c * Fg + f) * HH + kh) * WW + kw;
                dx[xAt] += upstream * w.data[wAt]!;
                dw[wAt] += upstream * x.data[xAt]!;
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
