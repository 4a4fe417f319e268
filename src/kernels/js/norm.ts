/**
 * Per-channel kernels for batch normalisation, over arrays viewed as (N, C, S): element
 * (n, c, s) at (n·C + c)·S + s, channel c's N·S values in N runs of S. Sums are float64, four
 * partial sums at a time (a single running sum is one long chain of dependent additions),
 * combined in a fixed order, so results depend on the data only.
 */
import type { FloatArray } from '../types.js';

/** Σ of src[at .. at + n) (float64), and Σ (src − centre)² when `squares`. */
function runSum(src: FloatArray, at: number, n: number, centre: number, squares: boolean): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  if (squares) {
    for (; i + 4 <= n; i += 4) {
      const d0 = src[at + i]! - centre;
      const d1 = src[at + i + 1]! - centre;
      const d2 = src[at + i + 2]! - centre;
      const d3 = src[at + i + 3]! - centre;
      s0 += d0 * d0;
      s1 += d1 * d1;
      s2 += d2 * d2;
      s3 += d3 * d3;
    }
    for (; i < n; i++) {
      const d = src[at + i]! - centre;
      s0 += d * d;
    }
  } else {
    for (; i + 4 <= n; i += 4) {
      s0 += src[at + i]!;
      s1 += src[at + i + 1]!;
      s2 += src[at + i + 2]!;
      s3 += src[at + i + 3]!;
    }
    for (; i < n; i++) s0 += src[at + i]!;
  }
  return (s0 + s1) + (s2 + s3);
}

/**
 * mean[c] and the biased variance[c] of channel c's N·S values, for c in [c0, c1): two passes
 * (the mean, then Σ (x − mean)²), which keeps the variance accurate when it is small beside
 * the mean.
 */
export function channelMoments(x: FloatArray, N: number, C: number, S: number, c0: number, c1: number, mean: Float64Array, variance: Float64Array): void {
  const M = N * S;
  for (let c = c0; c < c1; c++) {
    let sum = 0;
    for (let n = 0; n < N; n++) sum += runSum(x, (n * C + c) * S, S, 0, false);
    const m = sum / M;
    let squares = 0;
    for (let n = 0; n < N; n++) squares += runSum(x, (n * C + c) * S, S, m, true);
    mean[c] = m;
    variance[c] = squares / M;
  }
}

/** sums[c] = Σ dout and dots[c] = Σ dout · (x − centre[c]) over channel c, for c in [c0, c1). */
export function channelSums(
  dout: FloatArray, x: FloatArray, N: number, C: number, S: number, c0: number, c1: number,
  centre: Float64Array, sums: Float64Array, dots: Float64Array,
): void {
  for (let c = c0; c < c1; c++) {
    const m = centre[c]!;
    let sum = 0;
    let dot = 0;
    for (let n = 0; n < N; n++) {
      const at = (n * C + c) * S;
      let a0 = 0, a1 = 0, b0 = 0, b1 = 0;
      let s = 0;
      for (; s + 2 <= S; s += 2) {
        const g0 = dout[at + s]!;
        const g1 = dout[at + s + 1]!;
        a0 += g0;
        a1 += g1;
        b0 += g0 * (x[at + s]! - m);
        b1 += g1 * (x[at + s + 1]! - m);
      }
      for (; s < S; s++) {
        const g = dout[at + s]!;
        a0 += g;
        b0 += g * (x[at + s]! - m);
      }
      sum += a0 + a1;
      dot += b0 + b1;
    }
    sums[c] = sum;
    dots[c] = dot;
  }
}

/**
 * out = a[c] · (x − centre[c]) + k[c] and, with dout, dx = a[c] · dout + b[c] · (x − centre[c]) + k[c],
 * for channels [c0, c1) (batch norm's forward and its backward's closed form).
 */
export function channelAffine(
  x: FloatArray, dout: FloatArray | null, N: number, C: number, S: number, c0: number, c1: number,
  centre: Float64Array, a: Float64Array, b: Float64Array, k: Float64Array, out: FloatArray,
): void {
  for (let n = 0; n < N; n++) {
    for (let c = c0; c < c1; c++) {
      const at = (n * C + c) * S;
      const m = centre[c]!;
      const ac = a[c]!;
      const bc = b[c]!;
      const kc = k[c]!;
      if (dout === null) {
        for (let s = 0; s < S; s++) out[at + s] = ac * (x[at + s]! - m) + kc;
      } else {
        for (let s = 0; s < S; s++) out[at + s] = ac * dout[at + s]! + bc * (x[at + s]! - m) + kc;
      }
    }
  }
}
