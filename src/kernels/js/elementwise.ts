/**
 * Row and column broadcasts and reductions over (rows, cols) matrices with contiguous rows:
 * biases in (fillRows for conv's per-channel bias, fillCols for affine's per-output bias) and
 * bias gradients out (sumRows, sumCols); ReLU forward and backward; element-wise sums.
 */
import type { FloatArray } from '../types.js';

export function fillRows(dst: FloatArray, dstOffset: number, rows: number, cols: number, values: FloatArray, valuesOffset: number): void {
  for (let r = 0; r < rows; r++) dst.fill(values[valuesOffset + r]!, dstOffset + r * cols, dstOffset + (r + 1) * cols);
}

export function fillCols(dst: FloatArray, dstOffset: number, rows: number, cols: number, values: FloatArray, valuesOffset: number): void {
  for (let r = 0; r < rows; r++) dst.set(values.subarray(valuesOffset, valuesOffset + cols), dstOffset + r * cols);
}

export function sumRows(src: FloatArray, srcOffset: number, rows: number, cols: number, sums: FloatArray, sumsOffset: number): void {
  for (let r = 0; r < rows; r++) {
    const at = srcOffset + r * cols;
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += src[at + c]!;
    sums[sumsOffset + r] += sum;
  }
}

export function sumCols(src: FloatArray, srcOffset: number, rows: number, cols: number, sums: FloatArray, sumsOffset: number): void {
  // Sum each column in float64 before the single store (sums may be a Float32Array).
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const at = srcOffset + r * cols;
    for (let c = 0; c < cols; c++) acc[c] += src[at + c]!;
  }
  for (let c = 0; c < cols; c++) sums[sumsOffset + c] += acc[c]!;
}

export function reluForward(x: FloatArray, xOffset: number, n: number, out: FloatArray, outOffset: number): void {
  for (let i = 0; i < n; i++) out[outOffset + i] = Math.max(x[xOffset + i]!, 0);
}

export function reluBackward(x: FloatArray, xOffset: number, dout: FloatArray, doutOffset: number, n: number, dx: FloatArray, dxOffset: number): void {
  for (let i = 0; i < n; i++) dx[dxOffset + i] = x[xOffset + i]! > 0 ? dout[doutOffset + i]! : 0;
}

/** Float32: the sum of two float32 values in float64 rounds to the float32 sum (no double-rounding error). */
export function add(a: FloatArray, aOffset: number, b: FloatArray, bOffset: number, n: number, out: FloatArray, outOffset: number): void {
  for (let i = 0; i < n; i++) out[outOffset + i] = a[aOffset + i]! + b[bOffset + i]!;
}

export function adamStep(
  w: FloatArray, g: FloatArray, m0: FloatArray, v0: FloatArray, n: number,
  beta1: number, beta2: number, stepScale: number, rootScale: number, eps: number,
  next: FloatArray, m: FloatArray, v: FloatArray,
): number {
  let probe = 0;
  for (let i = 0; i < n; i++) {
    const gi = g[i]!;
    probe += w[i]! * 0 + gi * 0;
    m[i] = beta1 * m0[i]! + (1 - beta1) * gi;
    v[i] = beta2 * v0[i]! + (1 - beta2) * gi * gi;
    // From the stored moments (w's type), as the next step will read them.
    next[i] = w[i]! - (stepScale * m[i]!) / (Math.sqrt(v[i]!) * rootScale + eps);
  }
  return probe;
}
