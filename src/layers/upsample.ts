/**
 * Upsampling (resizing) of each (n, c) plane, as PyTorch's F.interpolate / nn.Upsample with
 * mode 'nearest' or 'bilinear' (recompute_scale_factor left unset).
 *
 *   x: (N, C, H, W)  →  out: (N, C, Ho, Wo)
 *   Ho, Wo = size, or floor(H · scaleFactorH), floor(W · scaleFactorW)
 *
 * Along each axis an output index d reads from the source coordinate
 *   nearest:                  src = min(floor(d · scale), in − 1)             (PyTorch's 'nearest', not 'nearest-exact')
 *   bilinear, alignCorners:   src = d · (in − 1) / (out − 1)                  (0 when out = 1)
 *   bilinear, otherwise:      src = max(0, (d + 0.5) · scale − 0.5)            (pixel centres)
 * where scale = 1 / scaleFactor when a scale factor is given, else in / out (as PyTorch: with
 * scaleFactor 1.5 on 5 pixels, the output has 7 and scale is 2/3, not 5/7). Nearest computes
 * scale and d · scale in float32, as PyTorch does, so that the chosen pixels are the same;
 * bilinear computes in float64. Bilinear blends the two neighbours i0 = min(floor(src), in − 1)
 * and i1 = min(i0 + 1, in − 1) with weights 1 − λ and λ, λ = src − i0, along each axis.
 *
 * The layer is linear in x: backward scatters each dout value back with the same indices and
 * weights (adding where several outputs read one input).
 */
import { ConvnetError, show } from '../errors.js';
import { allocate, assertAllocatable, type Tensor } from '../tensor.js';
import { assertCache, assertObject, assertTensor, assertUpstream } from '../validate.js';

export type UpsampleMode = 'nearest' | 'bilinear';

export interface UpsampleParam {
  /** Default 'nearest' (PyTorch). */
  mode?: UpsampleMode;
  /** A number or [h, w]: an integer >= 1 for nearest, a positive number for bilinear. Give this or size. */
  scaleFactor?: number | [number, number];
  /** The output's [Ho, Wo]. Give this or scaleFactor. */
  size?: [number, number];
  /** Bilinear only: map the corner pixels' centres onto each other; default false (PyTorch). */
  alignCorners?: boolean;
}

/** One axis's source taps: output index d reads (1 − lambda[d])·in[i0[d]] + lambda[d]·in[i1[d]]. */
export interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  lambda: Float64Array;
}

export interface UpsampleGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  Ho: number;
  Wo: number;
  mode: UpsampleMode;
  alignCorners: boolean;
  rows: AxisTaps;
  cols: AxisTaps;
}

export interface UpsampleCache {
  /** x's shape and dtype (x itself is not needed: the layer is linear). */
  shape: number[];
  dtype: Tensor['dtype'];
  geometry: UpsampleGeometry;
}

/** A number or [h, w] pair of scale factors, each checked by `ok`. */
function factorPair(fn: string, paramName: string, value: unknown, ok: (v: unknown) => boolean, what: string): [number, number] {
  if (ok(value)) return [value as number, value as number];
  if (Array.isArray(value) && value.length === 2 && value.every(ok)) return [value[0], value[1]];
  throw new ConvnetError(fn, `expected ${paramName}.scaleFactor to be ${what} or an [h, w] pair of them, got ${show(value)}`);
}

/** The taps of one axis (see the file comment for the formulas). */
function taps(mode: UpsampleMode, alignCorners: boolean, inSize: number, outSize: number, factor: number | undefined): AxisTaps {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const lambda = new Float64Array(outSize);
  if (mode === 'nearest') {
    // PyTorch's nearest_idx: float32 scale and product, floor, clamp (same size and 2× are exact shortcuts).
    const scale = Math.fround(factor !== undefined ? 1 / factor : inSize / outSize);
    for (let d = 0; d < outSize; d++) {
      const src = outSize === inSize ? d : outSize === 2 * inSize ? d >> 1 : Math.min(Math.floor(Math.fround(d * scale)), inSize - 1);
      i0[d] = src;
      i1[d] = src;
    }
    return { i0, i1, lambda };
  }
  const scale = alignCorners ? (outSize > 1 ? (inSize - 1) / (outSize - 1) : 0) : factor !== undefined ? 1 / factor : inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    const src = alignCorners ? d * scale : Math.max(0, (d + 0.5) * scale - 0.5);
    const low = Math.min(Math.floor(src), inSize - 1);
    i0[d] = low;
    i1[d] = Math.min(low + 1, inSize - 1);
    lambda[d] = Math.min(Math.max(src - low, 0), 1);
  }
  return { i0, i1, lambda };
}

/** An UpsampleParam validated: the mode, alignCorners, and either the size or the [h, w] factors. */
export interface UpsampleSpec {
  mode: UpsampleMode;
  alignCorners: boolean;
  size?: [number, number];
  factors?: [number, number];
}

/** Validates an upsample parameter object (the layer's, or the Upsample module's options). */
export function parseUpsampleParam(fn: string, upsampleParam: unknown, paramName = 'upsampleParam'): UpsampleSpec {
  assertObject(fn, paramName, upsampleParam);
  const param = upsampleParam as UpsampleParam;
  const known = ['mode', 'scaleFactor', 'size', 'alignCorners'];
  for (const key of Object.keys(param)) {
    if (!known.includes(key)) throw new ConvnetError(fn, `expected ${paramName} options among ${known.join(', ')}, got ${show(key)}`);
  }
  const mode = param.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear') throw new ConvnetError(fn, `expected ${paramName}.mode 'nearest' or 'bilinear', got ${show(param.mode)}`);
  if (param.alignCorners !== undefined && typeof param.alignCorners !== 'boolean') {
    throw new ConvnetError(fn, `expected ${paramName}.alignCorners to be a boolean, got ${show(param.alignCorners)}`);
  }
  if (param.alignCorners !== undefined && mode !== 'bilinear') {
    throw new ConvnetError(fn, `expected alignCorners only with mode 'bilinear' (PyTorch), got alignCorners ${show(param.alignCorners)} with mode ${show(mode)}`);
  }
  const alignCorners = param.alignCorners ?? false;
  const hasFactor = param.scaleFactor !== undefined;
  const hasSize = param.size !== undefined;
  if (hasFactor === hasSize) {
    throw new ConvnetError(fn, `expected exactly one of ${paramName}.scaleFactor and ${paramName}.size, got ${hasFactor ? 'both' : 'neither'}`);
  }
  if (hasSize) {
    const size = param.size as unknown;
    const isSize = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 1;
    if (!Array.isArray(size) || size.length !== 2 || !size.every(isSize)) {
      throw new ConvnetError(fn, `expected ${paramName}.size to be [Ho, Wo], integers >= 1, got ${show(size)}`);
    }
    return { mode, alignCorners, size: [size[0], size[1]] };
  }
  const factors =
    mode === 'nearest'
      ? factorPair(fn, paramName, param.scaleFactor, (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1, "an integer >= 1 (mode 'nearest')")
      : factorPair(fn, paramName, param.scaleFactor, (v) => typeof v === 'number' && Number.isFinite(v) && v > 0, "a finite number > 0 (mode 'bilinear')");
  return { mode, alignCorners, factors };
}

/** The output's (Ho, Wo) for an input plane of (H, W): the size, or floor(H · factor), floor(W · factor). */
export function upsampleOutputSize(fn: string, H: number, W: number, spec: UpsampleSpec): [number, number] {
  if (spec.size !== undefined) return [spec.size[0], spec.size[1]];
  const [fh, fw] = spec.factors!;
  const Ho = Math.floor(H * fh);
  const Wo = Math.floor(W * fw);
  if (Ho < 1 || Wo < 1) {
    throw new ConvnetError(fn, `expected an output of at least 1×1, got ${Ho}×${Wo} (floor of the input's ${H}×${W} times scaleFactor ${show(fh === fw ? fh : [fh, fw])})`);
  }
  return [Ho, Wo];
}

/** Validates upsample arguments and computes the output size and each axis's taps. */
export function upsampleGeometry(fn: string, x: unknown, upsampleParam: unknown): UpsampleGeometry {
  assertTensor(fn, 'x', x, 4);
  const spec = parseUpsampleParam(fn, upsampleParam);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  if (N < 1 || C < 1 || H < 1 || W < 1) throw new ConvnetError(fn, `expected a non-empty x, got x.shape ${show(x.shape)}`);
  const [Ho, Wo] = upsampleOutputSize(fn, H, W, spec);
  assertAllocatable(fn, N * C * Ho * Wo, `an output (${N}, ${C}, ${Ho}, ${Wo})`);
  const { mode, alignCorners, factors } = spec;
  return {
    N, C, H, W, Ho, Wo, mode, alignCorners,
    rows: taps(mode, alignCorners, H, Ho, factors?.[0]),
    cols: taps(mode, alignCorners, W, Wo, factors?.[1]),
  };
}

export function upsampleForward(x: Tensor, upsampleParam: UpsampleParam): { out: Tensor; cache: UpsampleCache } {
  const g = upsampleGeometry('upsampleForward', x, upsampleParam);
  const { N, C, H, W, Ho, Wo, rows, cols } = g;
  const out = allocate(x.dtype, N * C * Ho * Wo); // (N, C, Ho, Wo)
  for (let plane = 0; plane < N * C; plane++) {
    const src = plane * H * W;
    const dst = plane * Ho * Wo;
    for (let i = 0; i < Ho; i++) {
      const top = src + rows.i0[i]! * W;
      const bottom = src + rows.i1[i]! * W;
      const lh = rows.lambda[i]!;
      if (g.mode === 'nearest') {
        for (let j = 0; j < Wo; j++) out[dst + i * Wo + j] = x.data[top + cols.i0[j]!]!; // a copy: no 0·∞
        continue;
      }
      for (let j = 0; j < Wo; j++) {
        const [l, r, lw] = [cols.i0[j]!, cols.i1[j]!, cols.lambda[j]!];
        const upper = (1 - lw) * x.data[top + l]! + lw * x.data[top + r]!;
        const lower = (1 - lw) * x.data[bottom + l]! + lw * x.data[bottom + r]!;
        out[dst + i * Wo + j] = (1 - lh) * upper + lh * lower;
      }
    }
  }
  return { out: { shape: [N, C, Ho, Wo], data: out, dtype: x.dtype }, cache: { shape: [...x.shape], dtype: x.dtype, geometry: g } };
}

/** dx[n, c, i0/i1 of the row, i0/i1 of the column] += weight · dout[n, c, i, j]. */
export function upsampleBackward(dout: Tensor, cache: UpsampleCache): Tensor {
  const fn = 'upsampleBackward';
  assertCache(fn, cache, ['shape', 'dtype', 'geometry']);
  const { N, C, H, W, Ho, Wo, mode, rows, cols } = cache.geometry;
  assertUpstream(fn, dout, [N, C, Ho, Wo], cache.dtype);
  const dx = new Float64Array(N * C * H * W); // accumulate in float64, then store
  for (let plane = 0; plane < N * C; plane++) {
    const src = plane * H * W;
    const dst = plane * Ho * Wo;
    for (let i = 0; i < Ho; i++) {
      const top = src + rows.i0[i]! * W;
      const bottom = src + rows.i1[i]! * W;
      const lh = rows.lambda[i]!;
      if (mode === 'nearest') {
        for (let j = 0; j < Wo; j++) dx[top + cols.i0[j]!] += dout.data[dst + i * Wo + j]!;
        continue;
      }
      for (let j = 0; j < Wo; j++) {
        const [l, r, lw] = [cols.i0[j]!, cols.i1[j]!, cols.lambda[j]!];
        const g = dout.data[dst + i * Wo + j]!;
        dx[top + l] += (1 - lh) * (1 - lw) * g;
        dx[top + r] += (1 - lh) * lw * g;
        dx[bottom + l] += lh * (1 - lw) * g;
        dx[bottom + r] += lh * lw * g;
      }
    }
  }
  const data = allocate(cache.dtype, dx.length);
  data.set(dx);
  return { shape: [...cache.shape], data, dtype: cache.dtype };
}
