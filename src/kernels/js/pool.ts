/**
 * Max and average pooling over consecutive (height, width) planes.
 *
 * The generic path precomputes, per output row and per output column, the window's start and
 * the range of kernel taps that land inside the input, so the inner loops visit only real cells
 * in row-major order (which keeps "first maximum wins" for ties) with no bounds tests. A 2×2
 * stride-2 window without padding — the reshape-style pool of most convnets — has its own loop.
 */
import { isPlain2x2 } from '../geometry.js';
import type { FloatArray, PoolWindow } from '../types.js';

/**
 * Per output index along one axis: the window's first tap inside the input and its taps there,
 * as `start` with taps [kLow, kHigh) = [0, count) (so every value is an input index, an int32
 * whatever the kernel and padding), and the divisor factor.
 */
interface AxisWindows {
  start: Int32Array;
  kLow: Int32Array;
  kHigh: Int32Array;
  /** Taps inside the padded input (countIncludePad's divisor factor; may exceed an int32). */
  countPadded: Float64Array;
}

/**
 * Each window clipped in closed form: its taps s + k·dilation (k < kernel) inside [low, high)
 * are k in [ceil((low − s) / dilation), floor((high − 1 − s) / dilation) + 1), so a huge kernel
 * costs no more than a small one.
 */
function axisWindows(size: number, outSize: number, kernel: number, stride: number, padBefore: number, padAfter: number, dilation: number): AxisWindows {
  const start = new Int32Array(outSize);
  const kLow = new Int32Array(outSize);
  const kHigh = new Int32Array(outSize);
  const countPadded = new Float64Array(outSize);
  const first = (s: number, low: number): number => Math.max(0, Math.ceil((low - s) / dilation));
  const end = (s: number, high: number): number => Math.min(kernel, Math.floor((high - 1 - s) / dilation) + 1);
  for (let o = 0; o < outSize; o++) {
    const s = o * stride - padBefore;
    const low = first(s, 0);
    const count = Math.max(0, end(s, size) - low);
    start[o] = count > 0 ? s + low * dilation : 0;
    kLow[o] = 0;
    kHigh[o] = count;
    countPadded[o] = Math.max(0, end(s, size + padAfter) - first(s, -padBefore));
  }
  return { start, kLow, kHigh, countPadded };
}

const rowsOf = (g: PoolWindow): AxisWindows =>
  axisWindows(g.height, g.outHeight, g.kernelH, g.strideH, g.padTop, g.padBottom, g.dilationH);
const colsOf = (g: PoolWindow): AxisWindows =>
  axisWindows(g.width, g.outWidth, g.kernelW, g.strideW, g.padLeft, g.padRight, g.dilationW);

export function maxPoolForward(
  x: FloatArray,
  xOffset: number,
  planes: number,
  g: PoolWindow,
  out: FloatArray,
  outOffset: number,
  argmax: Int32Array,
  argmaxOffset: number,
): void {
  if (isPlain2x2(g)) {
    maxPool2x2(x, xOffset, planes, g, out, outOffset, argmax, argmaxOffset);
    return;
  }
  const { height: H, width: W, outHeight: Ho, outWidth: Wo, dilationH: dh, dilationW: dw } = g;
  const rows = rowsOf(g);
  const cols = colsOf(g);
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = xOffset + plane * H * W;
    for (let i = 0; i < Ho; i++) {
      const rowStart = rows.start[i]!;
      const khLow = rows.kLow[i]!;
      const khHigh = rows.kHigh[i]!;
      if (i > 0 && rowStart === rows.start[i - 1] && khHigh === rows.kHigh[i - 1]) {
        // The input rows of the row above (windows taller than the input): the same outputs.
        for (let j = 0; j < Wo; j++, o++) {
          out[outOffset + o] = out[outOffset + o - Wo]!;
          argmax[argmaxOffset + o] = argmax[argmaxOffset + o - Wo]!;
        }
        continue;
      }
      for (let j = 0; j < Wo; j++, o++) {
        const colStart = cols.start[j]!;
        const kwLow = cols.kLow[j]!;
        const kwHigh = cols.kHigh[j]!;
        let best = -Infinity;
        let bestAt = -1;
        for (let kh = khLow; kh < khHigh; kh++) {
          const rowAt = (rowStart + kh * dh) * W + colStart;
          for (let kw = kwLow; kw < kwHigh; kw++) {
            const at = rowAt + kw * dw;
            const v = x[base + at]!;
            // The first cell always wins; later ones only when larger, or a NaN over a number.
            if (v > best || bestAt < 0 || (v !== v && best === best)) {
              best = v;
              bestAt = at;
            }
          }
        }
        out[outOffset + o] = best;
        argmax[argmaxOffset + o] = bestAt;
      }
    }
  }
}

/**
 * 2×2 windows without branches on the data: on random inputs the comparisons of a max are
 * unpredictable and mispredicted branches cost more than the rest of the loop, so each
 * comparison becomes a 0/1 index (V8 compiles +(a > b) to a flag, not a jump) and the maximum
 * is loaded from the winning index. Strict comparisons keep the first maximum in scan order
 * (top-left, top-right, bottom-left, bottom-right). A window holding a NaN (or ∞ − ∞) takes the
 * scanning path, where the first NaN wins.
 */
function maxPool2x2(
  x: FloatArray,
  xOffset: number,
  planes: number,
  g: PoolWindow,
  out: FloatArray,
  outOffset: number,
  argmax: Int32Array,
  argmaxOffset: number,
): void {
  const { height: H, width: W, outHeight: Ho, outWidth: Wo } = g;
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = xOffset + plane * H * W;
    for (let i = 0; i < Ho; i++) {
      const top = 2 * i * W;
      for (let j = 0; j < Wo; j++, o++) {
        const at = top + 2 * j;
        const a = x[base + at]!;
        const b = x[base + at + 1]!;
        const c = x[base + at + W]!;
        const d = x[base + at + W + 1]!;
        const sum = a + b + c + d;
        let win: number; // offset of the maximum within the window
        if (sum === sum) {
          const right = +(b > a);
          const bottomRight = +(d > c);
          const useBottom = +(x[base + at + W + bottomRight]! > x[base + at + right]!);
          win = right + useBottom * (W + bottomRight - right);
        } else {
          win = scan2x2(a, b, c, d, W);
        }
        out[outOffset + o] = x[base + at + win]!;
        argmax[argmaxOffset + o] = at + win;
      }
    }
  }
}

/** The offset (0, 1, W or W + 1) of the first maximum of a 2×2 window, NaN winning. */
function scan2x2(a: number, b: number, c: number, d: number, W: number): number {
  let best = a;
  let bestAt = 0;
  const offsets = [1, W, W + 1];
  const values = [b, c, d];
  for (let k = 0; k < 3; k++) {
    const v = values[k]!;
    if (v > best || (v !== v && best === best)) {
      best = v;
      bestAt = offsets[k]!;
    }
  }
  return bestAt;
}

export function maxPoolBackward(
  dout: FloatArray,
  doutOffset: number,
  argmax: Int32Array,
  argmaxOffset: number,
  planes: number,
  g: PoolWindow,
  dx: FloatArray,
  dxOffset: number,
): void {
  const planeSize = g.height * g.width;
  const outSize = g.outHeight * g.outWidth;
  for (let plane = 0; plane < planes; plane++) {
    const base = dxOffset + plane * planeSize;
    const o0 = plane * outSize;
    for (let o = o0; o < o0 + outSize; o++) dx[base + argmax[argmaxOffset + o]!] += dout[doutOffset + o]!;
  }
}

export function avgPoolForward(
  x: FloatArray,
  xOffset: number,
  planes: number,
  g: PoolWindow,
  countIncludePad: boolean,
  out: FloatArray,
  outOffset: number,
): void {
  const { height: H, width: W, outHeight: Ho, outWidth: Wo, dilationH: dh, dilationW: dw } = g;
  const rows = rowsOf(g);
  const cols = colsOf(g);
  const divisors = divisorTable(g, rows, cols, countIncludePad);
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = xOffset + plane * H * W;
    for (let i = 0; i < Ho; i++) {
      const rowStart = rows.start[i]!;
      const khLow = rows.kLow[i]!;
      const khHigh = rows.kHigh[i]!;
      if (i > 0 && rowStart === rows.start[i - 1] && khHigh === rows.kHigh[i - 1] && (!countIncludePad || rows.countPadded[i] === rows.countPadded[i - 1])) {
        // The input rows and divisors of the row above (windows taller than the input): the same outputs.
        for (let j = 0; j < Wo; j++, o++) out[outOffset + o] = out[outOffset + o - Wo]!;
        continue;
      }
      for (let j = 0; j < Wo; j++, o++) {
        const colStart = base + cols.start[j]!;
        const kwLow = cols.kLow[j]!;
        const kwHigh = cols.kHigh[j]!;
        let sum = 0;
        for (let kh = khLow; kh < khHigh; kh++) {
          const rowAt = (rowStart + kh * dh) * W + colStart;
          for (let kw = kwLow; kw < kwHigh; kw++) sum += x[rowAt + kw * dw]!;
        }
        // Divide (not multiply by a reciprocal) so the result rounds exactly like the naive layer.
        out[outOffset + o] = sum / divisors[i * Wo + j]!;
      }
    }
  }
}

export function avgPoolBackward(
  dout: FloatArray,
  doutOffset: number,
  planes: number,
  g: PoolWindow,
  countIncludePad: boolean,
  dx: FloatArray,
  dxOffset: number,
): void {
  const { height: H, width: W, outHeight: Ho, outWidth: Wo, dilationH: dh, dilationW: dw } = g;
  const rows = rowsOf(g);
  const cols = colsOf(g);
  const divisors = divisorTable(g, rows, cols, countIncludePad);
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const base = dxOffset + plane * H * W;
    for (let i = 0; i < Ho; i++) {
      const rowStart = rows.start[i]!;
      const khLow = rows.kLow[i]!;
      const khHigh = rows.kHigh[i]!;
      for (let j = 0; j < Wo; j++, o++) {
        const colStart = base + cols.start[j]!;
        const kwLow = cols.kLow[j]!;
        const kwHigh = cols.kHigh[j]!;
        const share = dout[doutOffset + o]! / divisors[i * Wo + j]!;
        for (let kh = khLow; kh < khHigh; kh++) {
          const rowAt = (rowStart + kh * dh) * W + colStart;
          for (let kw = kwLow; kw < kwHigh; kw++) dx[rowAt + kw * dw] += share;
        }
      }
    }
  }
}

/** The divisor of every window of a plane, (outHeight, outWidth). */
function divisorTable(g: PoolWindow, rows: AxisWindows, cols: AxisWindows, countIncludePad: boolean): Float64Array {
  const table = new Float64Array(g.outHeight * g.outWidth);
  for (let i = 0; i < g.outHeight; i++) {
    const r = countIncludePad ? rows.countPadded[i]! : rows.kHigh[i]! - rows.kLow[i]!;
    for (let j = 0; j < g.outWidth; j++) {
      const c = countIncludePad ? cols.countPadded[j]! : cols.kHigh[j]! - cols.kLow[j]!;
      table[i * g.outWidth + j] = r * c;
    }
  }
  return table;
}
