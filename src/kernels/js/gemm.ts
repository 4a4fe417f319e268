/**
 * A cache-blocked, register-tiled GEMM in plain JavaScript (the GotoBLAS/BLIS loop nest).
 *
 *   for each NC-wide column block of op(b):
 *     for each KC-deep slice of k:        pack op(b)[slice, block] into NR-wide panels (packedB)
 *       for each MC-tall row block of op(a): pack op(a)[rows, slice] into MR-tall panels (packedA)
 *         for each NR panel, for each MR panel: the MR×NR micro-kernel
 *
 * The micro-kernel keeps its 4×8 tile of c in 32 local variables (V8 holds what it can in
 * registers and spills the rest to the stack, which stays in L1) and reads one column of the A
 * panel and one row of the B panel per step, so each loaded value feeds 8 or 4 multiply-adds.
 * Packing copies every operand into Float64Array panels whatever its dtype: the micro-kernel
 * then sees one array type only (monomorphic, no float32→float64 conversions in the inner
 * loop), transposes cost nothing beyond the copy, and ragged edges are zero-padded so the
 * kernel always runs full tiles. JavaScript arithmetic is float64, so a float32 GEMM
 * accumulates in float64 and rounds once when it stores into c.
 *
 * Block sizes: a packed B slice (KC×NC float64 = 1 MiB) stays in L2, a B panel (KC×NR = 16 KiB)
 * and a few A panels (KC×MR = 8 KiB each) in L1.
 */
import type { FloatArray, GemmArgs } from '../types.js';

const MR = 4;
const NR = 8;
const KC = 256;
const MC = 128;
const NC = 512;

// Fixed-size packing buffers shared by every call (1.25 MiB in all): JavaScript is
// single-threaded and a call never yields, so no two calls use them at once.
const packedA = new Float64Array(MC * KC);
const packedB = new Float64Array(KC * NC);
/** A full tile for the ragged edges of c. */
const edgeTile = new Float64Array(MR * NR);

export function gemm(args: GemmArgs): void {
  const { m, n, k, c, cOffset, ldc, accumulate } = args;
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) for (let i = 0; i < m; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + n);
    return;
  }
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      const overwrite = pc === 0 && !accumulate;
      packB(args, pc, kc, jc, nc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packA(args, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = Math.min(NR, nc - jr);
          const bAt = jr * kc; // panel jr / NR starts at (jr / NR)·NR·kc
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = Math.min(MR, mc - ir);
            const cAt = cOffset + (ic + ir) * ldc + jc + jr;
            if (rows === MR && cols === NR) {
              microKernel(kc, packedA, ir * kc, packedB, bAt, c, cAt, ldc, overwrite);
            } else {
              edgeTile.fill(0);
              microKernel(kc, packedA, ir * kc, packedB, bAt, edgeTile, 0, NR, true);
              storeEdge(c, cAt, ldc, rows, cols, overwrite);
            }
          }
        }
      }
    }
  }
}

function storeEdge(c: FloatArray, at: number, ldc: number, rows: number, cols: number, overwrite: boolean): void {
  for (let r = 0; r < rows; r++) {
    const row = at + r * ldc;
    for (let j = 0; j < cols; j++) {
      if (overwrite) c[row + j] = edgeTile[r * NR + j]!;
      else c[row + j] += edgeTile[r * NR + j]!;
    }
  }
}

/**
 * Packs op(a)[ic .. ic+mc, pc .. pc+kc] into MR-row panels: panel p holds, for each k, the MR
 * values of its rows (packedA[p·MR·kc + k·MR + r]); rows past m are zero.
 */
function packA(args: GemmArgs, ic: number, mc: number, pc: number, kc: number): void {
  const { a, aOffset, lda, transA } = args;
  const dst = packedA;
  let d = 0;
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = Math.min(MR, mc - ir);
    const i = ic + ir;
    if (!transA && rows === MR) {
      const s0 = aOffset + i * lda + pc;
      const s1 = s0 + lda;
      const s2 = s1 + lda;
      const s3 = s2 + lda;
      for (let p = 0; p < kc; p++) {
        dst[d] = a[s0 + p]!;
        dst[d + 1] = a[s1 + p]!;
        dst[d + 2] = a[s2 + p]!;
        dst[d + 3] = a[s3 + p]!;
        d += MR;
      }
    } else if (transA && rows === MR) {
      let s = aOffset + pc * lda + i;
      for (let p = 0; p < kc; p++) {
        dst[d] = a[s]!;
        dst[d + 1] = a[s + 1]!;
        dst[d + 2] = a[s + 2]!;
        dst[d + 3] = a[s + 3]!;
        d += MR;
        s += lda;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let r = 0; r < MR; r++) {
          dst[d + r] = r < rows ? a[transA ? aOffset + (pc + p) * lda + i + r : aOffset + (i + r) * lda + pc + p]! : 0;
        }
        d += MR;
      }
    }
  }
}

/**
 * Packs op(b)[pc .. pc+kc, jc .. jc+nc] into NR-column panels: panel q holds, for each k, the
 * NR values of its columns (packedB[q·NR·kc + k·NR + j]); columns past n are zero.
 */
function packB(args: GemmArgs, pc: number, kc: number, jc: number, nc: number): void {
  const { b, bOffset, ldb, transB } = args;
  const dst = packedB;
  let d = 0;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = Math.min(NR, nc - jr);
    const j = jc + jr;
    if (!transB && cols === NR) {
      let s = bOffset + pc * ldb + j;
      for (let p = 0; p < kc; p++) {
        dst[d] = b[s]!;
        dst[d + 1] = b[s + 1]!;
        dst[d + 2] = b[s + 2]!;
        dst[d + 3] = b[s + 3]!;
        dst[d + 4] = b[s + 4]!;
        dst[d + 5] = b[s + 5]!;
        dst[d + 6] = b[s + 6]!;
        dst[d + 7] = b[s + 7]!;
        d += NR;
        s += ldb;
      }
    } else if (transB && cols === NR) {
      const s0 = bOffset + j * ldb + pc;
      for (let p = 0; p < kc; p++) {
        const s = s0 + p;
        dst[d] = b[s]!;
        dst[d + 1] = b[s + ldb]!;
        dst[d + 2] = b[s + 2 * ldb]!;
        dst[d + 3] = b[s + 3 * ldb]!;
        dst[d + 4] = b[s + 4 * ldb]!;
        dst[d + 5] = b[s + 5 * ldb]!;
        dst[d + 6] = b[s + 6 * ldb]!;
        dst[d + 7] = b[s + 7 * ldb]!;
        d += NR;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let q = 0; q < NR; q++) {
          dst[d + q] = q < cols ? b[transB ? bOffset + (j + q) * ldb + pc + p : bOffset + (pc + p) * ldb + j + q]! : 0;
        }
        d += NR;
      }
    }
  }
}

/**
 * c[0..4, 0..8] (=|+=) Σ_k pa[k, 0..4]ᵀ · pb[k, 0..8] over kc steps, with the tile of c in
 * local variables: c{row}{col}.
 */
function microKernel(
  kc: number,
  pa: Float64Array,
  aAt: number,
  pb: Float64Array,
  bAt: number,
  c: FloatArray,
  cAt: number,
  ldc: number,
  overwrite: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = pa[aAt]!, a1 = pa[aAt + 1]!, a2 = pa[aAt + 2]!, a3 = pa[aAt + 3]!;
    let b = pb[bAt]!;
    c00 += a0 * b; c10 += a1 * b; c20 += a2 * b; c30 += a3 * b;
    b = pb[bAt + 1]!;
    c01 += a0 * b; c11 += a1 * b; c21 += a2 * b; c31 += a3 * b;
    b = pb[bAt + 2]!;
    c02 += a0 * b; c12 += a1 * b; c22 += a2 * b; c32 += a3 * b;
    b = pb[bAt + 3]!;
    c03 += a0 * b; c13 += a1 * b; c23 += a2 * b; c33 += a3 * b;
    b = pb[bAt + 4]!;
    c04 += a0 * b; c14 += a1 * b; c24 += a2 * b; c34 += a3 * b;
    b = pb[bAt + 5]!;
    c05 += a0 * b; c15 += a1 * b; c25 += a2 * b; c35 += a3 * b;
    b = pb[bAt + 6]!;
    c06 += a0 * b; c16 += a1 * b; c26 += a2 * b; c36 += a3 * b;
    b = pb[bAt + 7]!;
    c07 += a0 * b; c17 += a1 * b; c27 += a2 * b; c37 += a3 * b;
    aAt += MR;
    bAt += NR;
  }
  const r0 = cAt, r1 = cAt + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
  if (overwrite) {
    c[r0] = c00; c[r0 + 1] = c01; c[r0 + 2] = c02; c[r0 + 3] = c03; c[r0 + 4] = c04; c[r0 + 5] = c05; c[r0 + 6] = c06; c[r0 + 7] = c07;
    c[r1] = c10; c[r1 + 1] = c11; c[r1 + 2] = c12; c[r1 + 3] = c13; c[r1 + 4] = c14; c[r1 + 5] = c15; c[r1 + 6] = c16; c[r1 + 7] = c17;
    c[r2] = c20; c[r2 + 1] = c21; c[r2 + 2] = c22; c[r2 + 3] = c23; c[r2 + 4] = c24; c[r2 + 5] = c25; c[r2 + 6] = c26; c[r2 + 7] = c27;
    c[r3] = c30; c[r3 + 1] = c31; c[r3 + 2] = c32; c[r3 + 3] = c33; c[r3 + 4] = c34; c[r3 + 5] = c35; c[r3 + 6] = c36; c[r3 + 7] = c37;
  } else {
    c[r0] += c00; c[r0 + 1] += c01; c[r0 + 2] += c02; c[r0 + 3] += c03; c[r0 + 4] += c04; c[r0 + 5] += c05; c[r0 + 6] += c06; c[r0 + 7] += c07;
    c[r1] += c10; c[r1 + 1] += c11; c[r1 + 2] += c12; c[r1 + 3] += c13; c[r1 + 4] += c14; c[r1 + 5] += c15; c[r1 + 6] += c16; c[r1 + 7] += c17;
    c[r2] += c20; c[r2 + 1] += c21; c[r2 + 2] += c22; c[r2 + 3] += c23; c[r2 + 4] += c24; c[r2 + 5] += c25; c[r2 + 6] += c26; c[r2 + 7] += c27;
    c[r3] += c30; c[r3 + 1] += c31; c[r3 + 2] += c32; c[r3 + 3] += c33; c[r3 + 4] += c34; c[r3 + 5] += c35; c[r3 + 6] += c36; c[r3 + 7] += c37;
  }
}
