/**
 * Pooling over (N, C, H, W): max, average, and their global forms.
 *
 * A window at output (i, j) reads rows i·sh − padTop + kh·dh (kh < poolHeight) and the matching
 * columns. Padding cells never win a max (windows start at −Infinity) and, for averages, count
 * toward the divisor only when countIncludePad is set.
 */
import { ConvnetError, fail, show } from '../errors.js';
import { allocate, assertAllocatable, type DType, type Tensor } from '../tensor.js';
import { assertCache, assertObject, assertTensor, assertUpstream, integer } from '../validate.js';
import { assertWindowsTouchInput, endTap, firstTap, outputLength, parseWindowParams, type WindowParams } from './geometry.js';

export interface PoolParam {
  poolHeight: number;
  poolWidth: number;
  /** A number or [h, w]; defaults to the pool size (non-overlapping windows). */
  stride?: number | [number, number];
  /** A number, [h, w] or [top, left, bottom, right]; default 0. */
  pad?: number | [number, number] | [number, number, number, number];
  /** A number or [h, w]; default 1. */
  dilation?: number | [number, number];
  /** Round the output size up (PyTorch's ceil_mode); default false. */
  ceilMode?: boolean;
}

export interface AvgPoolParam extends PoolParam {
  /** Divide by the whole window (true, PyTorch's default) or by its non-padding cells (false). */
  countIncludePad?: boolean;
}

export interface PoolGeometry extends WindowParams {
  N: number;
  C: number;
  H: number;
  W: number;
  poolHeight: number;
  poolWidth: number;
  ceilMode: boolean;
  Ho: number;
  Wo: number;
}

/** Validates pooling arguments and computes the output geometry. */
export function poolGeometry(fn: string, x: unknown, poolParam: unknown): PoolGeometry {
  assertTensor(fn, 'x', x, 4);
  assertObject(fn, 'poolParam', poolParam);
  const param = poolParam as unknown as PoolParam;
  const poolHeight = integer(fn, 'poolParam.poolHeight', param.poolHeight, 1);
  const poolWidth = integer(fn, 'poolParam.poolWidth', param.poolWidth, 1);
  if (param.ceilMode !== undefined && typeof param.ceilMode !== 'boolean') {
    throw new ConvnetError(fn, `expected poolParam.ceilMode to be a boolean, got ${String(param.ceilMode)}`);
  }
  const ceilMode = param.ceilMode ?? false;
  const [N, C, H, W] = x.shape as [number, number, number, number];
  if (N < 1 || C < 1 || H < 1 || W < 1) throw new ConvnetError(fn, `expected a non-empty x, got shape [${x.shape.join(', ')}]`);
  const window = parseWindowParams(fn, param, [poolHeight, poolWidth], 'poolParam');
  const Ho = outputLength(fn, 'height', H, poolHeight, window.strideH, window.padTop, window.padBottom, window.dilationH, ceilMode);
  const Wo = outputLength(fn, 'width', W, poolWidth, window.strideW, window.padLeft, window.padRight, window.dilationW, ceilMode);
  // Before the windows are checked one by one: huge padding can make Ho or Wo astronomical.
  assertAllocatable(fn, N * C * Ho * Wo, `out (N·C·Ho·Wo = ${N}·${C}·${Ho}·${Wo})`);
  assertWindowsTouchInput(fn, 'height', H, Ho, poolHeight, window.strideH, window.padTop, window.dilationH);
  assertWindowsTouchInput(fn, 'width', W, Wo, poolWidth, window.strideW, window.padLeft, window.dilationW);
  return { N, C, H, W, poolHeight, poolWidth, ceilMode, Ho, Wo, ...window };
}

/**
 * Checks that the input a pool cache holds (cache.x's shape, or cache.inputShape) is the one its
 * geometry was computed for, so that a backward given mismatched fields (e.g. another layer's x)
 * throws instead of scattering into a gradient of the wrong shape.
 */
export function assertPoolCacheInput(fn: string, g: PoolGeometry, shape: readonly number[], what: string): void {
  const dims = [g.N, g.C, g.H, g.W];
  if (shape.length !== 4 || dims.some((d, i) => d !== shape[i])) {
    fail(fn, `${what} of the shape cache.geometry was computed for (N, C, H, W) = ${show(dims)}`, show(shape));
  }
}

export interface MaxPoolCache {
  x: Tensor;
  geometry: PoolGeometry;
}

/**
 * Flat offset (within one (n, c) plane) of the maximum of window (i, j): the first maximum in
 * row-major scan order wins ties; a NaN wins over any number (NaN propagates).
 */
function windowArgmax(plane: Float32Array | Float64Array, base: number, g: PoolGeometry, i: number, j: number): number {
  let best = -Infinity;
  let bestAt = -1;
  const rowStart = i * g.strideH - g.padTop;
  const colStart = j * g.strideW - g.padLeft;
  // Only the taps inside the input (the rest are padding): the window clipped in O(1).
  const khEnd = endTap(rowStart, g.poolHeight, g.dilationH, g.H);
  const kwEnd = endTap(colStart, g.poolWidth, g.dilationW, g.W);
  for (let kh = firstTap(rowStart, g.dilationH, 0); kh < khEnd; kh++) {
    const row = rowStart + kh * g.dilationH;
    for (let kw = firstTap(colStart, g.dilationW, 0); kw < kwEnd; kw++) {
      const col = colStart + kw * g.dilationW;
      const value = plane[base + row * g.W + col]!;
      // Once best is NaN nothing replaces it (value > NaN is false), so the first NaN stays.
      if (bestAt < 0 || value > best || (Number.isNaN(value) && !Number.isNaN(best))) {
        best = value;
        bestAt = row * g.W + col;
      }
    }
  }
  return bestAt;
}

/** Naive max-pool forward. x: (N, C, H, W) → out: (N, C, Ho, Wo). */
export function maxPoolForwardNaive(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: MaxPoolCache } {
  return maxPoolForwardAs('maxPoolForwardNaive', x, poolParam);
}

/** maxPoolForwardNaive, its errors naming `fn` (the function the caller called). */
function maxPoolForwardAs(fn: string, x: Tensor, poolParam: PoolParam): { out: Tensor; cache: MaxPoolCache } {
  const g = poolGeometry(fn, x, poolParam);
  const { N, C, H, W, Ho, Wo } = g;
  const out = allocate(x.dtype, N * C * Ho * Wo);
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
    for (let i = 0; i < Ho; i++) {
      const row = (plane * Ho + i) * Wo;
      if (i > 0 && sameRowsAsAbove(g, i, false)) for (let j = 0; j < Wo; j++) out[row + j] = out[row + j - Wo]!;
      else for (let j = 0; j < Wo; j++) out[row + j] = x.data[base + windowArgmax(x.data, base, g, i, j)]!;
    }
  }
  return { out: { shape: [N, C, Ho, Wo], data: out, dtype: x.dtype }, cache: { x, geometry: g } };
}

/**
 * Naive max-pool backward: each window's gradient goes to its one argmax (ties are not shared)
 * and adds where overlapping windows pick the same cell.
 */
export function maxPoolBackwardNaive(dout: Tensor, cache: MaxPoolCache): Tensor {
  return maxPoolBackwardAs('maxPoolBackwardNaive', dout, cache);
}

/** maxPoolBackwardNaive, its errors naming `fn` (the function the caller called). */
function maxPoolBackwardAs(fn: string, dout: Tensor, cache: MaxPoolCache): Tensor {
  assertCache(fn, cache, ['x', 'geometry']);
  const { x, geometry: g } = cache;
  assertPoolCacheInput(fn, g, x.shape, 'cache.x');
  const { N, C, H, W, Ho, Wo } = g;
  assertUpstream(fn, dout, [N, C, Ho, Wo], x.dtype);
  const dx = allocate(x.dtype, x.data.length);
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) dx[base + windowArgmax(x.data, base, g, i, j)] += dout.data[(plane * Ho + i) * Wo + j]!;
    }
  }
  return { shape: [...x.shape], data: dx, dtype: x.dtype };
}

export interface AvgPoolCache {
  inputShape: number[];
  dtype: DType;
  geometry: PoolGeometry;
  countIncludePad: boolean;
}

/**
 * How many cells window (i, j) averages over. With countIncludePad, every sampled position
 * inside the padded input counts (PyTorch: a ceil-mode window hanging past the padding is
 * clipped); without it, only positions inside the real input.
 */
function windowDivisor(g: PoolGeometry, i: number, j: number, countIncludePad: boolean): number {
  const count = (start: number, kernel: number, dilation: number, size: number, padBefore: number, padAfter: number): number => {
    const low = countIncludePad ? -padBefore : 0;
    const high = countIncludePad ? size + padAfter : size;
    return Math.max(0, endTap(start, kernel, dilation, high) - firstTap(start, dilation, low));
  };
  const rows = count(i * g.strideH - g.padTop, g.poolHeight, g.dilationH, g.H, g.padTop, g.padBottom);
  const cols = count(j * g.strideW - g.padLeft, g.poolWidth, g.dilationW, g.W, g.padLeft, g.padRight);
  return rows * cols;
}

/**
 * Whether the windows of output row i (i >= 1) read the same input rows as row i − 1's, with the
 * same divisor when `countIncludePad`. Then the rows' outputs are equal and the forwards copy the
 * row above instead of recomputing it: in a window much taller than the input (with padding to
 * match) almost every row covers the whole input, and there may be 2^20 of them per plane.
 */
function sameRowsAsAbove(g: PoolGeometry, i: number, countIncludePad: boolean): boolean {
  const here = i * g.strideH - g.padTop;
  const above = here - g.strideH;
  const first = (start: number): number => start + firstTap(start, g.dilationH, 0) * g.dilationH; // first input row read
  const count = (start: number): number => endTap(start, g.poolHeight, g.dilationH, g.H) - firstTap(start, g.dilationH, 0);
  const padded = (start: number): number => endTap(start, g.poolHeight, g.dilationH, g.H + g.padBottom) - firstTap(start, g.dilationH, -g.padTop);
  return first(here) === first(above) && count(here) === count(above) && (!countIncludePad || padded(here) === padded(above));
}

function parseCountIncludePad(fn: string, poolParam: AvgPoolParam): boolean {
  const value = poolParam.countIncludePad;
  if (value !== undefined && typeof value !== 'boolean') {
    throw new ConvnetError(fn, `expected poolParam.countIncludePad to be a boolean, got ${String(value)}`);
  }
  return value ?? true;
}

/** Naive average-pool forward. x: (N, C, H, W) → out: (N, C, Ho, Wo). */
export function avgPoolForwardNaive(x: Tensor, poolParam: AvgPoolParam): { out: Tensor; cache: AvgPoolCache } {
  const fn = 'avgPoolForwardNaive';
  const g = poolGeometry(fn, x, poolParam);
  const countIncludePad = parseCountIncludePad(fn, poolParam);
  const { N, C, H, W, Ho, Wo } = g;
  const out = allocate(x.dtype, N * C * Ho * Wo);
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
    for (let i = 0; i < Ho; i++) {
      if (i > 0 && sameRowsAsAbove(g, i, countIncludePad)) {
        const row = (plane * Ho + i) * Wo;
        for (let j = 0; j < Wo; j++) out[row + j] = out[row + j - Wo]!;
        continue;
      }
      for (let j = 0; j < Wo; j++) {
        let sum = 0;
        const rowStart = i * g.strideH - g.padTop;
        const colStart = j * g.strideW - g.padLeft;
        const khEnd = endTap(rowStart, g.poolHeight, g.dilationH, H);
        const kwEnd = endTap(colStart, g.poolWidth, g.dilationW, W);
        for (let kh = firstTap(rowStart, g.dilationH, 0); kh < khEnd; kh++) {
          const row = rowStart + kh * g.dilationH;
          for (let kw = firstTap(colStart, g.dilationW, 0); kw < kwEnd; kw++) sum += x.data[base + row * W + colStart + kw * g.dilationW]!;
        }
        out[(plane * Ho + i) * Wo + j] = sum / windowDivisor(g, i, j, countIncludePad);
      }
    }
  }
  return {
    out: { shape: [N, C, Ho, Wo], data: out, dtype: x.dtype },
    cache: { inputShape: [...x.shape], dtype: x.dtype, geometry: g, countIncludePad },
  };
}

/** Naive average-pool backward: each window spreads dout / divisor over its real cells. */
export function avgPoolBackwardNaive(dout: Tensor, cache: AvgPoolCache): Tensor {
  const fn = 'avgPoolBackwardNaive';
  assertCache(fn, cache, ['inputShape', 'dtype', 'geometry', 'countIncludePad']);
  const { geometry: g, countIncludePad } = cache;
  assertPoolCacheInput(fn, g, cache.inputShape, 'cache.inputShape');
  const { N, C, H, W, Ho, Wo } = g;
  assertUpstream(fn, dout, [N, C, Ho, Wo], cache.dtype);
  const dx = allocate(cache.dtype, N * C * H * W);
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        const share = dout.data[(plane * Ho + i) * Wo + j]! / windowDivisor(g, i, j, countIncludePad);
        const rowStart = i * g.strideH - g.padTop;
        const colStart = j * g.strideW - g.padLeft;
        const khEnd = endTap(rowStart, g.poolHeight, g.dilationH, H);
        const kwEnd = endTap(colStart, g.poolWidth, g.dilationW, W);
        for (let kh = firstTap(rowStart, g.dilationH, 0); kh < khEnd; kh++) {
          const row = rowStart + kh * g.dilationH;
          for (let kw = firstTap(colStart, g.dilationW, 0); kw < kwEnd; kw++) dx[base + row * W + colStart + kw * g.dilationW] += share;
        }
      }
    }
  }
  return { shape: [...cache.inputShape], data: dx, dtype: cache.dtype };
}

export interface GlobalPoolCache {
  x: Tensor;
}

/** Global average pool: (N, C, H, W) → (N, C, 1, 1), the mean of each plane. */
export function globalAvgPoolForward(x: Tensor): { out: Tensor; cache: GlobalPoolCache } {
  const fn = 'globalAvgPoolForward';
  assertTensor(fn, 'x', x, 4);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  if (H * W < 1) throw new ConvnetError(fn, `expected non-empty planes, got x.shape [${x.shape.join(', ')}]`);
  const out = allocate(x.dtype, N * C);
  for (let plane = 0; plane < N * C; plane++) {
    let sum = 0;
    for (let k = 0; k < H * W; k++) sum += x.data[plane * H * W + k]!;
    out[plane] = sum / (H * W);
  }
  return { out: { shape: [N, C, 1, 1], data: out, dtype: x.dtype }, cache: { x } };
}

export function globalAvgPoolBackward(dout: Tensor, cache: GlobalPoolCache): Tensor {
  const fn = 'globalAvgPoolBackward';
  assertCache(fn, cache, ['x']);
  assertTensor(fn, 'cache.x', cache.x, 4); // another layer's x (e.g. layernorm's (N, D)) is no plane
  const [N, C, H, W] = cache.x.shape as [number, number, number, number];
  assertUpstream(fn, dout, [N, C, 1, 1], cache.x.dtype);
  const dx = allocate(cache.x.dtype, N * C * H * W);
  for (let plane = 0; plane < N * C; plane++) dx.fill(dout.data[plane]! / (H * W), plane * H * W, (plane + 1) * H * W);
  return { shape: [N, C, H, W], data: dx, dtype: cache.x.dtype };
}

/** Global max pool: (N, C, H, W) → (N, C, 1, 1); the first maximum wins ties. */
export function globalMaxPoolForward(x: Tensor): { out: Tensor; cache: MaxPoolCache } {
  const fn = 'globalMaxPoolForward';
  assertTensor(fn, 'x', x, 4);
  const [, , H, W] = x.shape as [number, number, number, number];
  if (H * W < 1) throw new ConvnetError(fn, `expected non-empty planes, got x.shape [${x.shape.join(', ')}]`);
  return maxPoolForwardAs(fn, x, { poolHeight: H, poolWidth: W });
}

export function globalMaxPoolBackward(dout: Tensor, cache: MaxPoolCache): Tensor {
  return maxPoolBackwardAs('globalMaxPoolBackward', dout, cache);
}
