/**
 * A cache-blocked, register-tiled GEMM in plain JavaScript (the GotoBLAS/BLIS loop nest).
 *
 *   for each NC-wide column block of op(b):
 *     for each KC-deep slice of k:        pack op(b)[slice, block] into NR-wide panels (packedB)
 *       for each MC-tall row block of op(a): pack op(a)[rows, slice] into MR-tall panels (packedA)
 *         for each NR panel, for each MR panel: the MR×NR micro-kernel
 *
 * The micro-kernel keeps its 8×8 tile of c in 64 local variables (V8 holds what it can in
 * registers and spills the rest to the stack, which stays in L1) and reads one column of the A
 * panel and one row of the B panel per step, so each loaded value feeds 8 multiply-adds. V8
 * bounds-checks every typed-array load, so loads per multiply-add is what decides the speed:
 * measured alone on this machine's V8, 8×8 and 6×8 tiles run at ~4.4 GFLOP/s, 4×8 at ~4.1,
 * 4×4 at ~4.0; 8×8 also divides the common filter counts (32, 64) exactly.
 * Packing copies every operand into Float64Array panels whatever its dtype: the micro-kernel
 * then sees one array type only (monomorphic, no float32→float64 conversions in the inner
 * loop), transposes cost nothing beyond the copy, and ragged edges are zero-padded so the
 * kernel always runs full tiles. JavaScript arithmetic is float64, so a float32 GEMM
 * accumulates in float64 and rounds when it stores into c: once per KC-deep slice of k.
 *
 * Block sizes: a packed B slice (KC×NC float64 = 1 MiB) stays in L2, a B panel (KC×NR = 16 KiB)
 * and an A panel (KC×MR = 16 KiB) in L1.
 */
import type { FloatArray, GemmArgs } from '../types.js';

const MR = 8;
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
      for (let r = 0; r < MR; r++) {
        const s = aOffset + (i + r) * lda + pc;
        for (let p = 0, q = d + r; p < kc; p++, q += MR) dst[q] = a[s + p]!;
      }
      d += MR * kc;
    } else if (transA && rows === MR) {
      let s = aOffset + pc * lda + i;
      for (let p = 0; p < kc; p++, s += lda, d += MR) {
        for (let r = 0; r < MR; r++) dst[d + r] = a[s + r]!;
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
 * c[0..8, 0..8] (=|+=) Σ_p pa[p, 0..8]ᵀ · pb[p, 0..8] over kc steps, with the tile of c in 64
 * local variables (c{row}{col}). Per step: 16 loads feed 64 multiply-adds.
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
  let c40 = 0, c41 = 0, c42 = 0, c43 = 0, c44 = 0, c45 = 0, c46 = 0, c47 = 0;
  let c50 = 0, c51 = 0, c52 = 0, c53 = 0, c54 = 0, c55 = 0, c56 = 0, c57 = 0;
  let c60 = 0, c61 = 0, c62 = 0, c63 = 0, c64 = 0, c65 = 0, c66 = 0, c67 = 0;
  let c70 = 0, c71 = 0, c72 = 0, c73 = 0, c74 = 0, c75 = 0, c76 = 0, c77 = 0;
  let b = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = pa[aAt]!, a1 = pa[aAt + 1]!, a2 = pa[aAt + 2]!, a3 = pa[aAt + 3]!, a4 = pa[aAt + 4]!, a5 = pa[aAt + 5]!, a6 = pa[aAt + 6]!, a7 = pa[aAt + 7]!;
    b = pb[bAt]!;
    c00 += a0 * b; c10 += a1 * b; c20 += a2 * b; c30 += a3 * b; c40 += a4 * b; c50 += a5 * b; c60 += a6 * b; c70 += a7 * b;
    b = pb[bAt + 1]!;
    c01 += a0 * b; c11 += a1 * b; c21 += a2 * b; c31 += a3 * b; c41 += a4 * b; c51 += a5 * b; c61 += a6 * b; c71 += a7 * b;
    b = pb[bAt + 2]!;
    c02 += a0 * b; c12 += a1 * b; c22 += a2 * b; c32 += a3 * b; c42 += a4 * b; c52 += a5 * b; c62 += a6 * b; c72 += a7 * b;
    b = pb[bAt + 3]!;
    c03 += a0 * b; c13 += a1 * b; c23 += a2 * b; c33 += a3 * b; c43 += a4 * b; c53 += a5 * b; c63 += a6 * b; c73 += a7 * b;
    b = pb[bAt + 4]!;
    c04 += a0 * b; c14 += a1 * b; c24 += a2 * b; c34 += a3 * b; c44 += a4 * b; c54 += a5 * b; c64 += a6 * b; c74 += a7 * b;
    b = pb[bAt + 5]!;
    c05 += a0 * b; c15 += a1 * b; c25 += a2 * b; c35 += a3 * b; c45 += a4 * b; c55 += a5 * b; c65 += a6 * b; c75 += a7 * b;
    b = pb[bAt + 6]!;
    c06 += a0 * b; c16 += a1 * b; c26 += a2 * b; c36 += a3 * b; c46 += a4 * b; c56 += a5 * b; c66 += a6 * b; c76 += a7 * b;
    b = pb[bAt + 7]!;
    c07 += a0 * b; c17 += a1 * b; c27 += a2 * b; c37 += a3 * b; c47 += a4 * b; c57 += a5 * b; c67 += a6 * b; c77 += a7 * b;
    aAt += MR;
    bAt += NR;
  }
  if (overwrite) {
    c[cAt] = c00; c[cAt + 1] = c01; c[cAt + 2] = c02; c[cAt + 3] = c03; c[cAt + 4] = c04; c[cAt + 5] = c05; c[cAt + 6] = c06; c[cAt + 7] = c07;
    cAt += ldc;
    c[cAt] = c10; c[cAt + 1] = c11; c[cAt + 2] = c12; c[cAt + 3] = c13; c[cAt + 4] = c14; c[cAt + 5] = c15; c[cAt + 6] = c16; c[cAt + 7] = c17;
    cAt += ldc;
    c[cAt] = c20; c[cAt + 1] = c21; c[cAt + 2] = c22; c[cAt + 3] = c23; c[cAt + 4] = c24; c[cAt + 5] = c25; c[cAt + 6] = c26; c[cAt + 7] = c27;
    cAt += ldc;
    c[cAt] = c30; c[cAt + 1] = c31; c[cAt + 2] = c32; c[cAt + 3] = c33; c[cAt + 4] = c34; c[cAt + 5] = c35; c[cAt + 6] = c36; c[cAt + 7] = c37;
    cAt += ldc;
    c[cAt] = c40; c[cAt + 1] = c41; c[cAt + 2] = c42; c[cAt + 3] = c43; c[cAt + 4] = c44; c[cAt + 5] = c45; c[cAt + 6] = c46; c[cAt + 7] = c47;
    cAt += ldc;
    c[cAt] = c50; c[cAt + 1] = c51; c[cAt + 2] = c52; c[cAt + 3] = c53; c[cAt + 4] = c54; c[cAt + 5] = c55; c[cAt + 6] = c56; c[cAt + 7] = c57;
    cAt += ldc;
    c[cAt] = c60; c[cAt + 1] = c61; c[cAt + 2] = c62; c[cAt + 3] = c63; c[cAt + 4] = c64; c[cAt + 5] = c65; c[cAt + 6] = c66; c[cAt + 7] = c67;
    cAt += ldc;
    c[cAt] = c70; c[cAt + 1] = c71; c[cAt + 2] = c72; c[cAt + 3] = c73; c[cAt + 4] = c74; c[cAt + 5] = c75; c[cAt + 6] = c76; c[cAt + 7] = c77;
  } else {
    c[cAt] += c00; c[cAt + 1] += c01; c[cAt + 2] += c02; c[cAt + 3] += c03; c[cAt + 4] += c04; c[cAt + 5] += c05; c[cAt + 6] += c06; c[cAt + 7] += c07;
    cAt += ldc;
    c[cAt] += c10; c[cAt + 1] += c11; c[cAt + 2] += c12; c[cAt + 3] += c13; c[cAt + 4] += c14; c[cAt + 5] += c15; c[cAt + 6] += c16; c[cAt + 7] += c17;
    cAt += ldc;
    c[cAt] += c20; c[cAt + 1] += c21; c[cAt + 2] += c22; c[cAt + 3] += c23; c[cAt + 4] += c24; c[cAt + 5] += c25; c[cAt + 6] += c26; c[cAt + 7] += c27;
    cAt += ldc;
    c[cAt] += c30; c[cAt + 1] += c31; c[cAt + 2] += c32; c[cAt + 3] += c33; c[cAt + 4] += c34; c[cAt + 5] += c35; c[cAt + 6] += c36; c[cAt + 7] += c37;
    cAt += ldc;
    c[cAt] += c40; c[cAt + 1] += c41; c[cAt + 2] += c42; c[cAt + 3] += c43; c[cAt + 4] += c44; c[cAt + 5] += c45; c[cAt + 6] += c46; c[cAt + 7] += c47;
    cAt += ldc;
    c[cAt] += c50; c[cAt + 1] += c51; c[cAt + 2] += c52; c[cAt + 3] += c53; c[cAt + 4] += c54; c[cAt + 5] += c55; c[cAt + 6] += c56; c[cAt + 7] += c57;
    cAt += ldc;
    c[cAt] += c60; c[cAt + 1] += c61; c[cAt + 2] += c62; c[cAt + 3] += c63; c[cAt + 4] += c64; c[cAt + 5] += c65; c[cAt + 6] += c66; c[cAt + 7] += c67;
    cAt += ldc;
    c[cAt] += c70; c[cAt + 1] += c71; c[cAt + 2] += c72; c[cAt + 3] += c73; c[cAt + 4] += c74; c[cAt + 5] += c75; c[cAt + 6] += c76; c[cAt + 7] += c77;
  }
}

/**
 * Runs every path of the GEMM once on tiny matrices when the module loads (well under a
 * millisecond), so that V8 has type feedback for all of them (both dtypes of c, overwrite and
 * accumulate, full and edge tiles, every transpose) before it optimises the hot functions.
 * Without this, the first optimised micro-kernel lacks feedback for a branch it has not yet
 * taken (say, the overwriting store) and deoptimises on every call that takes it until V8
 * re-optimises: a measured 1.8× slowdown of the first convolution layer in the benchmark.
 */
function warmUp(): void {
  const m = MR + 1;
  const n = NR + 1;
  const k = 2;
  for (const make of [(size: number) => new Float32Array(size), (size: number) => new Float64Array(size)]) {
    const a = make(m * k).fill(1);
    const b = make(k * n).fill(1);
    const c = make(m * n);
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const accumulate of [false, true]) {
          gemm({
            transA, transB, m, n, k,
            a, aOffset: 0, lda: transA ? m : k,
            b, bOffset: 0, ldb: transB ? k : n,
            c, cOffset: 0, ldc: n, accumulate,
          });
        }
      }
    }
  }
}

warmUp();
