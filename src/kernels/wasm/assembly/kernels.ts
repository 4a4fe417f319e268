/**
 * The float32 WebAssembly SIMD kernels (AssemblyScript). `npm run build:wasm` compiles this
 * file to src/kernels/wasm/binary.ts; src/kernels/wasm/ loads it (load.ts, runtime.ts) and
 * implements the kernel interface (src/kernels/types.ts) on top of these exports (facade.ts).
 *
 * The module owns no memory layout: it imports its (shared) memory and every function takes
 * byte addresses chosen by the JavaScript side, plus a scratch address for the GEMM's packing
 * buffers (WORK_BYTES bytes, 16-byte aligned). Matrices are row-major with leading dimensions
 * in elements, as in types.ts. No function allocates, traps or keeps state between calls, so
 * calls on disjoint memory may run on several threads at once.
 */

// ---------------------------------------------------------------- GEMM

/**
 * The register tile: MR rows of c by NR columns (two f32x4). In plain SIMD each step is a
 * multiply and an add per vector; a 4×8 tile keeps 8 accumulators, the two B vectors, a
 * broadcast A value and a product in 12 of x64's 16 XMM registers (V8 keeps one for itself).
 * Measured alone on the Intel Xeon (AVX-512) of 2026-11-26: 4×8 ~36 GFLOP/s, 3×8 ~35, 5×8 ~30, 6×8 ~28, 4×12 ~30
 * (spills), 4×8 unrolled twice ~29. The module is built twice (build.mjs): with relaxed SIMD,
 * the multiply-add is f32x4.relaxed_madd, a fused multiply-add where the CPU has one (4×8:
 * ~42 GFLOP/s); the loader picks that build where the engine validates it.
 *
 * The relaxed build also has a wide tile of WIDE_MR = 5 rows (microKernel5): 8 accumulators
 * are 8 chains of dependent fused multiply-adds, and where an FMA takes 5 cycles and two issue
 * per cycle (AMD Zen 1) 8 chains fill only 80% of the pipes: the 4×8 tile alone runs at 31.5
 * GFLOP/s there, the 5×8 at 35.3 (2.5 GHz; 40 is the peak). The runtime turns it on per
 * thread (the first word of `work`, see tileOf) where it measures it faster; either tile adds
 * every c value's products in the same order, so the choice never changes a result.
 */
export const MR: i32 = 4;
export const NR: i32 = 8;
/** Rows of the wide tile (relaxed build only). */
export const WIDE_MR: i32 = 5;
/** Depth of a k slice: an A micro-panel (4 KiB) and a B micro-panel (8 KiB) stay in L1. */
export const KC: i32 = 256;
/** Rows of op(a) packed at once: 128 KiB of packed A, in L2. */
export const MC: i32 = 128;
/** Columns of op(b) packed at once: 1 MiB of packed B, in L2. */
export const NC: i32 = 1024;
/**
 * Scratch bytes sgemm needs at `work`: a 16-byte header (word 0: use the wide tile), packed A,
 * packed B and one edge tile.
 */
export const WORK_BYTES: i32 = 16 + (MC * KC + KC * NC + WIDE_MR * NR) * 4;

// @ts-ignore: decorator
@inline function packedAOf(work: usize): usize {
  return work + 16;
}

// @ts-ignore: decorator
@inline function packedBOf(work: usize): usize {
  return work + 16 + (<usize>(MC * KC) << 2);
}

// @ts-ignore: decorator
@inline function tileOf(work: usize): usize {
  return work + 16 + (<usize>(MC * KC + KC * NC) << 2);
}

/** Whether this thread's GEMMs use the wide tile: never in the plain build (it would spill). */
// @ts-ignore: decorator
@inline function wideOf(work: usize): bool {
  return ASC_FEATURE_RELAXED_SIMD && load<i32>(work) != 0;
}

/**
 * How many of a row block's panels are WIDE_MR rows high (the first ones; the rest are MR
 * high): as many as leave a multiple of MR rows, so that no panel is cut short where rows
 * allow (32 = 4 × 5 + 3 × 4, 64 = 12 × 5 + 4, 50 = 10 × 5); where none does (7, 11), the most
 * that fit, the last MR panel cut short.
 */
function widePanels(rows: i32, wide: bool): i32 {
  if (!wide) return 0;
  for (let fives = rows / WIDE_MR; fives >= 0; fives--) if ((rows - fives * WIDE_MR) % MR == 0) return fives;
  return rows / WIDE_MR;
}

// @ts-ignore: decorator
@inline function min(a: i32, b: i32): i32 {
  return a < b ? a : b;
}

/** c + a·b, fused where the build has relaxed SIMD and the CPU an FMA. */
// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/**
 * c = op(a)·op(b), or c += op(a)·op(b) with accumulate. Sizes and leading dimensions in
 * elements, addresses in bytes. Loop nest (GotoBLAS/BLIS): NC column blocks of op(b), KC-deep
 * slices of k (balanced: k = 300 runs as 150 + 150, not 256 + 44), MC row blocks of op(a); the
 * MR×NR micro-kernel over packed panels, edge tiles through a scratch tile.
 */
export function sgemm(
  transA: i32,
  transB: i32,
  m: i32,
  n: i32,
  k: i32,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  accumulate: i32,
  work: usize,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) for (let i = 0; i < m; i++) memory.fill(c + (<usize>i * ldc << 2), 0, <usize>n << 2);
    return;
  }
  const packedA = packedAOf(work);
  const packedB = packedBOf(work);
  const tile = tileOf(work);
  const wide = wideOf(work);
  const slices = (k + KC - 1) / KC;
  const kcMax = (k + slices - 1) / slices;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += kcMax) {
      const kc = min(kcMax, k - pc);
      const overwrite = pc == 0 && !accumulate;
      if (transB) packBT(b, ldb, pc, kc, jc, nc, packedB);
      else packBN(b, ldb, pc, kc, jc, nc, packedB);
      macroBlock(transA, a, lda, m, pc, kc, packedA, packedB, nc, c + (<usize>jc << 2), ldc, overwrite, tile, 0, wide);
    }
  }
}

/**
 * c[0..m, 0..nc] (= or +=) op(a)[0..m, pc..pc + kc] · B, where B (kc, nc) is already packed
 * into NR-column panels at packedB: MC row blocks of op(a) packed in turn (into panels of
 * WIDE_MR rows then MR rows with `wide`, see widePanels; of MR rows without), then the
 * micro-kernel over every panel × NR tile, edge tiles through the scratch tile. With overwrite
 * and a nonzero `bias` (m floats), c = bias[row] + the product: a conv layer's bias without a
 * pass to fill c first (the same float32 sums as filling c, then accumulating).
 */
function macroBlock(
  transA: i32, a: usize, lda: i32, m: i32, pc: i32, kc: i32, packedA: usize, packedB: usize, nc: i32,
  c: usize, ldc: i32, overwrite: bool, tile: usize, bias: usize, wide: bool,
): void {
  for (let ic = 0; ic < m; ic += MC) {
    const mc = min(MC, m - ic);
    const fives = widePanels(mc, wide);
    if (transA) packAT(a, lda, ic, mc, pc, kc, packedA, fives);
    else packAN(a, lda, ic, mc, pc, kc, packedA, fives);
    for (let jr = 0; jr < nc; jr += NR) {
      const cols = min(NR, nc - jr);
      const pb = packedB + (<usize>(jr * kc) << 2);
      for (let ir = 0, panel = 0; ir < mc; panel++) {
        const height = panel < fives ? WIDE_MR : MR;
        const rows = min(height, mc - ir);
        const pa = packedA + (<usize>(ir * kc) << 2);
        const cAt = c + (<usize>((ic + ir) * ldc + jr) << 2);
        const biasAt = bias == 0 ? 0 : bias + (<usize>(ic + ir) << 2);
        ir += height;
        if (rows == height && cols == NR) {
          if (ASC_FEATURE_RELAXED_SIMD && height == WIDE_MR) microKernel5(kc, pa, pb, cAt, <usize>ldc << 2, overwrite, biasAt);
          else microKernel(kc, pa, pb, cAt, <usize>ldc << 2, overwrite, biasAt);
        } else {
          if (ASC_FEATURE_RELAXED_SIMD && height == WIDE_MR) microKernel5(kc, pa, pb, tile, NR << 2, true, 0);
          else microKernel(kc, pa, pb, tile, NR << 2, true, 0);
          for (let r = 0; r < rows; r++) {
            const dst = cAt + (<usize>(r * ldc) << 2);
            const src = tile + (<usize>(r * NR) << 2);
            const base: f32 = biasAt == 0 ? 0 : load<f32>(biasAt + (<usize>r << 2));
            for (let q = 0; q < cols; q++) {
              const at = dst + (<usize>q << 2);
              const v = load<f32>(src + (<usize>q << 2));
              store<f32>(at, overwrite ? (biasAt == 0 ? v : base + v) : load<f32>(at) + v);
            }
          }
        }
      }
    }
  }
}

/**
 * c[0..4, 0..8] (= or +=) Σ_p pa[p, 0..4]ᵀ · pb[p, 0..8] over kc steps; ldc in bytes; with
 * overwrite and a nonzero `bias`, each row r of c is bias[r] + the sum.
 * Per step: two vector loads of B, four broadcast loads of A, eight multiplies, eight adds.
 */
// @ts-ignore: decorator
@inline function microKernel(kc: i32, pa: usize, pb: usize, c: usize, ldc: usize, overwrite: bool, bias: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    pa += 16;
    pb += 32;
  }
  if (overwrite && bias != 0) {
    let r = v128.load32_splat(bias);
    c00 = f32x4.add(c00, r);
    c01 = f32x4.add(c01, r);
    r = v128.load32_splat(bias, 4);
    c10 = f32x4.add(c10, r);
    c11 = f32x4.add(c11, r);
    r = v128.load32_splat(bias, 8);
    c20 = f32x4.add(c20, r);
    c21 = f32x4.add(c21, r);
    r = v128.load32_splat(bias, 12);
    c30 = f32x4.add(c30, r);
    c31 = f32x4.add(c31, r);
  } else if (!overwrite) {
    c00 = f32x4.add(c00, v128.load(c));
    c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c + ldc));
    c11 = f32x4.add(c11, v128.load(c + ldc, 16));
    c20 = f32x4.add(c20, v128.load(c + 2 * ldc));
    c21 = f32x4.add(c21, v128.load(c + 2 * ldc, 16));
    c30 = f32x4.add(c30, v128.load(c + 3 * ldc));
    c31 = f32x4.add(c31, v128.load(c + 3 * ldc, 16));
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c + ldc, c10);
  v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20);
  v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30);
  v128.store(c + 3 * ldc, c31, 16);
}

/**
 * The wide tile: c[0..5, 0..8] (= or +=) Σ_p pa[p, 0..5]ᵀ · pb[p, 0..8], as microKernel.
 * Rows 0-3 of A come as one vector load and four lane shuffles, row 4 as a broadcast load:
 * with five broadcast loads, V8 issues all loads of a step first and 17 values are live, so
 * two accumulators spill to the stack (measured: half the speed); this way 15 are, which is
 * every XMM register V8 allocates. Relaxed build only (the caller checks wideOf).
 */
// @ts-ignore: decorator
@inline function microKernel5(kc: i32, pa: usize, pb: usize, c: usize, ldc: usize, overwrite: bool, bias: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const four = v128.load(pa);
    let a = v128.shuffle<f32>(four, four, 0, 0, 0, 0);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.shuffle<f32>(four, four, 1, 1, 1, 1);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.shuffle<f32>(four, four, 2, 2, 2, 2);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.shuffle<f32>(four, four, 3, 3, 3, 3);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    a = v128.load32_splat(pa, 16);
    c40 = madd(a, b0, c40);
    c41 = madd(a, b1, c41);
    pa += 20;
    pb += 32;
  }
  if (overwrite && bias != 0) {
    let r = v128.load32_splat(bias);
    c00 = f32x4.add(c00, r);
    c01 = f32x4.add(c01, r);
    r = v128.load32_splat(bias, 4);
    c10 = f32x4.add(c10, r);
    c11 = f32x4.add(c11, r);
    r = v128.load32_splat(bias, 8);
    c20 = f32x4.add(c20, r);
    c21 = f32x4.add(c21, r);
    r = v128.load32_splat(bias, 12);
    c30 = f32x4.add(c30, r);
    c31 = f32x4.add(c31, r);
    r = v128.load32_splat(bias, 16);
    c40 = f32x4.add(c40, r);
    c41 = f32x4.add(c41, r);
  } else if (!overwrite) {
    c00 = f32x4.add(c00, v128.load(c));
    c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c + ldc));
    c11 = f32x4.add(c11, v128.load(c + ldc, 16));
    c20 = f32x4.add(c20, v128.load(c + 2 * ldc));
    c21 = f32x4.add(c21, v128.load(c + 2 * ldc, 16));
    c30 = f32x4.add(c30, v128.load(c + 3 * ldc));
    c31 = f32x4.add(c31, v128.load(c + 3 * ldc, 16));
    c40 = f32x4.add(c40, v128.load(c + 4 * ldc));
    c41 = f32x4.add(c41, v128.load(c + 4 * ldc, 16));
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c + ldc, c10);
  v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20);
  v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30);
  v128.store(c + 3 * ldc, c31, 16);
  v128.store(c + 4 * ldc, c40);
  v128.store(c + 4 * ldc, c41, 16);
}

/** Transposes the 4×4 block of rows r0..r3 and stores its columns at dst, dst+16, … (stride bytes apart). */
// @ts-ignore: decorator
@inline function transpose4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

/**
 * Packs a[ic.., pc..] (a stored (m, k)) into row panels, the first `fives` WIDE_MR rows high
 * and the rest MR: dst[panel][p][r]; rows past m are zero.
 */
function packAN(a: usize, lda: i32, ic: i32, mc: i32, pc: i32, kc: i32, dst: usize, fives: i32): void {
  const rowBytes = <usize>lda << 2;
  for (let ir = 0, panel = 0; ir < mc; panel++) {
    const height = panel < fives ? WIDE_MR : MR;
    const rows = min(height, mc - ir);
    const src = a + (<usize>((ic + ir) * lda + pc) << 2);
    const step = <usize>height << 2; // bytes per p in the panel
    if (rows == height) {
      // Rows 0-3 four p at a time (transposed 4×4 blocks); a fifth row one by one.
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const s = src + (<usize>p << 2);
        transpose4(v128.load(s), v128.load(s + rowBytes), v128.load(s + 2 * rowBytes), v128.load(s + 3 * rowBytes), dst + <usize>p * step, step);
      }
      for (; p < kc; p++) {
        const s = src + (<usize>p << 2);
        const d = dst + <usize>p * step;
        store<f32>(d, load<f32>(s));
        store<f32>(d, load<f32>(s + rowBytes), 4);
        store<f32>(d, load<f32>(s + 2 * rowBytes), 8);
        store<f32>(d, load<f32>(s + 3 * rowBytes), 12);
      }
      if (height == WIDE_MR) {
        const s = src + 4 * rowBytes;
        for (let p = 0; p < kc; p++) store<f32>(dst + <usize>p * step, load<f32>(s + (<usize>p << 2)), 16);
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const d = dst + <usize>p * step;
        for (let r = 0; r < height; r++) {
          store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(src + <usize>r * rowBytes + (<usize>p << 2)) : 0);
        }
      }
    }
    dst += <usize>(height * kc) << 2;
    ir += height;
  }
}

/** Packs op(a) = aᵀ (a stored (k, m)) into row panels as packAN; rows past m are zero. */
function packAT(a: usize, lda: i32, ic: i32, mc: i32, pc: i32, kc: i32, dst: usize, fives: i32): void {
  const rowBytes = <usize>lda << 2;
  for (let ir = 0, panel = 0; ir < mc; panel++) {
    const height = panel < fives ? WIDE_MR : MR;
    const rows = min(height, mc - ir);
    let src = a + (<usize>(pc * lda + ic + ir) << 2);
    const step = <usize>height << 2;
    if (rows == MR && height == MR) {
      for (let p = 0; p < kc; p++, src += rowBytes) v128.store(dst + <usize>p * step, v128.load(src));
    } else if (rows == WIDE_MR) {
      for (let p = 0; p < kc; p++, src += rowBytes) {
        const d = dst + <usize>p * step;
        v128.store(d, v128.load(src));
        store<f32>(d, load<f32>(src, 16), 16);
      }
    } else {
      for (let p = 0; p < kc; p++, src += rowBytes) {
        const d = dst + <usize>p * step;
        for (let r = 0; r < height; r++) store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(src + (<usize>r << 2)) : 0);
      }
    }
    dst += <usize>(height * kc) << 2;
    ir += height;
  }
}

/** Packs b[pc.., jc..] (b stored (k, n)) into NR-column panels: dst[panel][p][j]; columns past n are zero. */
function packBN(b: usize, ldb: i32, pc: i32, kc: i32, jc: i32, nc: i32, dst: usize): void {
  const rowBytes = <usize>ldb << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    let src = b + (<usize>(pc * ldb + jc + jr) << 2);
    if (cols == NR) {
      for (let p = 0; p < kc; p++, src += rowBytes) {
        const d = dst + (<usize>p << 5);
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
      }
    } else {
      for (let p = 0; p < kc; p++, src += rowBytes) {
        const d = dst + (<usize>p << 5);
        for (let q = 0; q < NR; q++) store<f32>(d + (<usize>q << 2), q < cols ? load<f32>(src + (<usize>q << 2)) : 0);
      }
    }
    dst += <usize>(NR * kc) << 2;
  }
}

/** Packs op(b) = bᵀ (b stored (n, k)) into NR-column panels; columns past n are zero. */
function packBT(b: usize, ldb: i32, pc: i32, kc: i32, jc: i32, nc: i32, dst: usize): void {
  const rowBytes = <usize>ldb << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const src = b + (<usize>((jc + jr) * ldb + pc) << 2);
    if (cols == NR) {
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const s = src + (<usize>p << 2);
        const d = dst + (<usize>p << 5);
        transpose4(v128.load(s), v128.load(s + rowBytes), v128.load(s + 2 * rowBytes), v128.load(s + 3 * rowBytes), d, 32);
        const s4 = s + 4 * rowBytes;
        transpose4(v128.load(s4), v128.load(s4 + rowBytes), v128.load(s4 + 2 * rowBytes), v128.load(s4 + 3 * rowBytes), d + 16, 32);
      }
      for (; p < kc; p++) {
        const s = src + (<usize>p << 2);
        const d = dst + (<usize>p << 5);
        for (let q = 0; q < NR; q++) store<f32>(d + (<usize>q << 2), load<f32>(s + <usize>q * rowBytes));
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const s = src + (<usize>p << 2);
        const d = dst + (<usize>p << 5);
        for (let q = 0; q < NR; q++) store<f32>(d + (<usize>q << 2), q < cols ? load<f32>(s + <usize>q * rowBytes) : 0);
      }
    }
    dst += <usize>(NR * kc) << 2;
  }
}

// ---------------------------------------------------------------- im2col / col2im

/** Copies n floats from src to dst (no overlap), four at a time. */
// @ts-ignore: decorator
@inline function copy(dst: usize, src: usize, n: i32): void {
  const end = dst + (<usize>n << 2);
  while (dst + 64 <= end) {
    v128.store(dst, v128.load(src));
    v128.store(dst, v128.load(src, 16), 16);
    v128.store(dst, v128.load(src, 32), 32);
    v128.store(dst, v128.load(src, 48), 48);
    dst += 64;
    src += 64;
  }
  while (dst + 16 <= end) {
    v128.store(dst, v128.load(src));
    dst += 16;
    src += 16;
  }
  while (dst < end) {
    store<f32>(dst, load<f32>(src));
    dst += 4;
    src += 4;
  }
}

// @ts-ignore: decorator
@inline function zero(dst: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(dst + (<usize>j << 2), f32x4.splat(0));
  for (; j < n; j++) store<f32>(dst + (<usize>j << 2), 0);
}

/** The first j in [0, outWidth) whose column j·stride + shift is ≥ 0. */
// @ts-ignore: decorator
@inline function validLow(shift: i32, stride: i32, outWidth: i32): i32 {
  return min(shift >= 0 ? 0 : (stride - 1 - shift) / stride, outWidth);
}

/** One past the last j in [0, outWidth) whose column j·stride + shift is < width (at least low). */
// @ts-ignore: decorator
@inline function validHigh(shift: i32, stride: i32, width: i32, outWidth: i32, low: i32): i32 {
  const high = width - 1 - shift < 0 ? 0 : (width - 1 - shift) / stride + 1;
  const h = min(high, outWidth);
  return h > low ? h : low;
}

/**
 * cols[(c·kH + kh)·kW + kw, q] = x[c, i·sh − padTop + kh·dh, j·sw − padLeft + kw·dw] (0 in
 * the padding) for output positions p = first + q = i·outWidth + j, q < count; cols has leading
 * dimension ld ≥ count (a block of columns of a wider matrix, for a thread's share of it). The
 * same loops as the JavaScript kernel (src/kernels/js/im2col.ts).
 */
export function im2col(
  x: usize,
  channels: i32,
  height: i32,
  width: i32,
  kernelH: i32,
  kernelW: i32,
  strideH: i32,
  strideW: i32,
  padTop: i32,
  padLeft: i32,
  dilationH: i32,
  dilationW: i32,
  outWidth: i32,
  first: i32,
  count: i32,
  cols: usize,
  ld: i32,
): void {
  if (count <= 0) return;
  const skip = <usize>(ld - count) << 2;
  const end = first + count;
  const iFirst = first / outWidth;
  const iLast = (end - 1) / outWidth;
  let d = cols;
  for (let c = 0; c < channels; c++) {
    const plane = x + (<usize>(c * height * width) << 2);
    for (let kh = 0; kh < kernelH; kh++) {
      for (let kw = 0; kw < kernelW; kw++) {
        const shift = kw * dilationW - padLeft;
        const jLow = validLow(shift, strideW, outWidth);
        const jHigh = validHigh(shift, strideW, width, outWidth, jLow);
        for (let i = iFirst; i <= iLast; i++) {
          const js = i == iFirst ? first - i * outWidth : 0;
          const je = i == iLast ? end - i * outWidth : outWidth;
          const ih = i * strideH - padTop + kh * dilationH;
          if (ih < 0 || ih >= height) {
            zero(d, je - js);
            d += <usize>(je - js) << 2;
            continue;
          }
          const lo = min(js > jLow ? js : jLow, je);
          const hiRaw = min(jHigh, je);
          const hi = hiRaw > lo ? hiRaw : lo;
          zero(d, lo - js);
          d += <usize>(lo - js) << 2;
          const base = plane + (<usize>(ih * width + shift) << 2);
          if (strideW == 1) {
            copy(d, base + (<usize>lo << 2), hi - lo);
          } else if (strideW == 2) {
            let j = lo;
            let dd = d;
            for (; j + 4 <= hi; j += 4, dd += 16) {
              const s = base + (<usize>j << 3);
              v128.store(dd, f32x4.shuffle(v128.load(s), v128.load(s, 16), 0, 2, 4, 6));
            }
            for (; j < hi; j++, dd += 4) store<f32>(dd, load<f32>(base + (<usize>j << 3)));
          } else {
            let dd = d;
            for (let j = lo; j < hi; j++, dd += 4) store<f32>(dd, load<f32>(base + (<usize>(j * strideW) << 2)));
          }
          d += <usize>(hi - lo) << 2;
          zero(d, je - hi);
          d += <usize>(je - hi) << 2;
        }
        d += skip;
      }
    }
  }
}

/**
 * The adjoint of im2col: dx[source of (row, q)] += cols[row, q] for every entry that came from
 * inside the input (padding entries are dropped); dx is accumulated into. cols has leading
 * dimension ld ≥ count.
 */
export function col2im(
  cols: usize,
  channels: i32,
  height: i32,
  width: i32,
  kernelH: i32,
  kernelW: i32,
  strideH: i32,
  strideW: i32,
  padTop: i32,
  padLeft: i32,
  dilationH: i32,
  dilationW: i32,
  outWidth: i32,
  first: i32,
  count: i32,
  dx: usize,
  ld: i32,
): void {
  if (count <= 0) return;
  const skip = <usize>(ld - count) << 2;
  const end = first + count;
  const iFirst = first / outWidth;
  const iLast = (end - 1) / outWidth;
  let d = cols;
  for (let c = 0; c < channels; c++) {
    const plane = dx + (<usize>(c * height * width) << 2);
    for (let kh = 0; kh < kernelH; kh++) {
      for (let kw = 0; kw < kernelW; kw++) {
        const shift = kw * dilationW - padLeft;
        const jLow = validLow(shift, strideW, outWidth);
        const jHigh = validHigh(shift, strideW, width, outWidth, jLow);
        for (let i = iFirst; i <= iLast; i++) {
          const js = i == iFirst ? first - i * outWidth : 0;
          const je = i == iLast ? end - i * outWidth : outWidth;
          const ih = i * strideH - padTop + kh * dilationH;
          if (ih < 0 || ih >= height) {
            d += <usize>(je - js) << 2;
            continue;
          }
          const lo = min(js > jLow ? js : jLow, je);
          const hiRaw = min(jHigh, je);
          const hi = hiRaw > lo ? hiRaw : lo;
          d += <usize>(lo - js) << 2;
          const base = plane + (<usize>(ih * width + shift) << 2);
          if (strideW == 1) {
            let j = lo;
            let dd = d;
            for (; j + 4 <= hi; j += 4, dd += 16) {
              const at = base + (<usize>j << 2);
              v128.store(at, f32x4.add(v128.load(at), v128.load(dd)));
            }
            for (; j < hi; j++, dd += 4) {
              const at = base + (<usize>j << 2);
              store<f32>(at, load<f32>(at) + load<f32>(dd));
            }
          } else {
            let dd = d;
            for (let j = lo; j < hi; j++, dd += 4) {
              const at = base + (<usize>(j * strideW) << 2);
              store<f32>(at, load<f32>(at) + load<f32>(dd));
            }
          }
          d += <usize>(je - lo) << 2;
        }
        d += skip;
      }
    }
  }
}

// ---------------------------------------------------------------- whole convolution layers

/**
 * A convolution layer over a batch, as 32-bit words at `desc`: sizes,
 * window, and the byte addresses of its tensors. x: (N, C, H, W), w: (F, C/groups, kH, kW),
 * b: (F), out and dout: (N, F, outH, outW), dx like x; dw and db are `blocks` partial sums,
 * one (F, K) and one (F) per block of images, summed in block order afterwards (sumBlocks), so
 * that the result does not depend on which thread ran which block.
 */
const D_N = 0, D_C = 1, D_H = 2, D_W = 3, D_F = 4, D_GROUPS = 5, D_KH = 6, D_KW = 7;
const D_SH = 8, D_SW = 9, D_PT = 10, D_PL = 11, D_DH = 12, D_DW = 13, D_HO = 14, D_WO = 15;
/** Output positions per im2col chunk (backward), and 1 for a 1×1 stride-1 unpadded window. */
const D_CHUNK = 16, D_POINTWISE = 17;
const D_X = 18, D_WEIGHT = 19, D_BIAS = 20, D_OUT = 21, D_DX = 22, D_DWEIGHT = 23, D_DBIAS = 24;
/**
 * Per-thread scratch, the first slot's address and the bytes between slots: the im2col columns
 * (backward), the zero-padded image (forward, paddedSize floats).
 */
const D_COLS = 25, D_COLS_STRIDE = 26, D_BLOCKS = 27;
/**
 * A relu fused in: forward, 1 to write max(out, 0); backward, the address of that forward's
 * output (0: none), whose nonpositive (or NaN) entries zero dout first (dout must be a copy).
 */
const D_RELU = 28, D_RELU_OUT = 29;
/**
 * A 2×2 stride-2 max pool fused after the relu: the pooled output's and argmax's addresses and
 * the pooled plane's size. Forward (D_POOL_OUT nonzero) writes them per image; backward
 * (D_POOL_DOUT nonzero: the pooled gradient) builds each image's dout from them: the gradient
 * at the argmax where the pooled value is positive (relu), 0 elsewhere.
 */
const D_POOL_OUT = 30, D_POOL_ARGMAX = 31, D_POOL_H = 32, D_POOL_W = 33, D_POOL_DOUT = 34;
/**
 * Words in a descriptor. The layout is defined in ../descriptor.ts (which the TypeScript side
 * writes from); test/kernels/descriptor.test.ts checks every D_ constant here against it.
 */
export const CONV_WORDS: i32 = 40;

// @ts-ignore: decorator
@inline function word(desc: usize, at: i32): i32 {
  return load<i32>(desc + (<usize>at << 2));
}

/** The rows and columns of a zero-padded copy of one image: every window reads inside it. */
// @ts-ignore: decorator
@inline function paddedHeight(desc: usize): i32 {
  return (word(desc, D_HO) - 1) * word(desc, D_SH) + (word(desc, D_KH) - 1) * word(desc, D_DH) + 1;
}

// @ts-ignore: decorator
@inline function paddedWidth(desc: usize): i32 {
  return (word(desc, D_WO) - 1) * word(desc, D_SW) + (word(desc, D_KW) - 1) * word(desc, D_DW) + 1;
}

/** Floats of the padded copy of `channels` planes, with slack for the stride-2 vector reads. */
export function paddedSize(desc: usize, channels: i32): i32 {
  return channels * paddedHeight(desc) * paddedWidth(desc) + 16;
}

/**
 * Copies planes xg: (channels, H, W) into xp: (channels, Hp, Wp) at (padTop, padLeft),
 * dropping what no window reads; the border of xp is left as it is (zero: the caller clears
 * xp once, and every copy writes the same cells).
 */
function padImage(desc: usize, xg: usize, channels: i32, xp: usize): void {
  const height = word(desc, D_H), width = word(desc, D_W);
  const padTop = word(desc, D_PT), padLeft = word(desc, D_PL);
  const hp = paddedHeight(desc), wp = paddedWidth(desc);
  const rows = min(height, hp - padTop);
  const cols = min(width, wp - padLeft);
  if (rows <= 0 || cols <= 0) return;
  for (let c = 0; c < channels; c++) {
    const src = xg + (<usize>(c * height * width) << 2);
    const dst = xp + (<usize>((c * hp + padTop) * wp + padLeft) << 2);
    for (let r = 0; r < rows; r++) copy(dst + (<usize>(r * wp) << 2), src + (<usize>(r * width) << 2), cols);
  }
}

/**
 * Packs columns [jc, jc + nc) and rows [pc, pc + kc) of one image and group's im2col matrix
 * straight into NR-column panels (the layout packBN makes), without the matrix itself, reading
 * the zero-padded copy xp (padImage) so that no read needs a bounds check. A panel of NR
 * positions on one output row reads two vectors per window cell at stride 1 (four, shuffled,
 * at stride 2); a panel across two output rows goes lane by lane. `lanes` (NR words of
 * scratch) holds such a panel's window origins.
 */
function packIm2col(desc: usize, xp: usize, pc: i32, kc: i32, jc: i32, nc: i32, dst: usize, lanes: usize): void {
  const kernelH = word(desc, D_KH), kernelW = word(desc, D_KW);
  const strideH = word(desc, D_SH), strideW = word(desc, D_SW);
  const dilationH = word(desc, D_DH), dilationW = word(desc, D_DW);
  const outWidth = word(desc, D_WO);
  const hp = paddedHeight(desc), wp = paddedWidth(desc);
  const window = kernelH * kernelW;
  const plane = hp * wp;
  const zeros = f32x4.splat(0);
  for (let jr = 0; jr < nc; jr += NR) {
    const p0 = jc + jr;
    const count = min(NR, nc - jr);
    const i0 = p0 / outWidth;
    const j0 = p0 - i0 * outWidth;
    const oneRow = count == NR && j0 + NR <= outWidth;
    if (!oneRow) {
      for (let q = 0; q < NR; q++) {
        const p = p0 + q;
        const i = p / outWidth;
        store<i32>(lanes + (<usize>q << 2), q < count ? i * strideH * wp + (p - i * outWidth) * strideW : -1);
      }
    }
    const origin = xp + (<usize>(i0 * strideH * wp + j0 * strideW) << 2);
    let c = pc / window;
    let kh = (pc - c * window) / kernelW;
    let kw = pc - c * window - kh * kernelW;
    let d = dst + (<usize>(jr * kc) << 2);
    // Runs of window cells along kw (one input row each), from (c, kh, kw) on.
    for (let p = 0; p < kc; ) {
      const run = min(kernelW - kw, kc - p);
      const rowOffset = c * plane + kh * dilationH * wp;
      if (oneRow) {
        let src = origin + (<usize>(rowOffset + kw * dilationW) << 2);
        const step = <usize>dilationW << 2;
        if (strideW == 1) {
          for (let q = 0; q < run; q++, src += step, d += NR << 2) {
            v128.store(d, v128.load(src));
            v128.store(d, v128.load(src, 16), 16);
          }
        } else if (strideW == 2) {
          for (let q = 0; q < run; q++, src += step, d += NR << 2) {
            v128.store(d, f32x4.shuffle(v128.load(src), v128.load(src, 16), 0, 2, 4, 6));
            v128.store(d, f32x4.shuffle(v128.load(src, 32), v128.load(src, 48), 0, 2, 4, 6), 16);
          }
        } else {
          for (let q = 0; q < run; q++, src += step, d += NR << 2) {
            for (let l = 0; l < NR; l++) store<f32>(d + (<usize>l << 2), load<f32>(src + (<usize>(l * strideW) << 2)));
          }
        }
      } else {
        for (let q = 0; q < run; q++, d += NR << 2) {
          const offset = rowOffset + (kw + q) * dilationW;
          v128.store(d, zeros);
          v128.store(d, zeros, 16);
          for (let l = 0; l < count; l++) {
            store<f32>(d + (<usize>l << 2), load<f32>(xp + (<usize>(load<i32>(lanes + (<usize>l << 2)) + offset) << 2)));
          }
        }
      }
      p += run;
      kw = 0;
      if (++kh == kernelH) {
        kh = 0;
        c++;
      }
    }
  }
}

/**
 * Forward over images [first, first + count), output positions [p0, p0 + pn):
 * out[n] = w · im2col(x[n]) + b per group, the columns packed straight into the GEMM's panels
 * (packIm2col) from a zero-padded copy of the image in this thread's slot of scratch, instead
 * of written out whole. Every output value is the same sum in the same order whatever the
 * ranges, so any split over threads gives the same result.
 */
export function convForward(desc: usize, first: i32, count: i32, p0: i32, pn: i32, slot: i32, work: usize): void {
  const channels = word(desc, D_C), height = word(desc, D_H), width = word(desc, D_W);
  const filters = word(desc, D_F), groups = word(desc, D_GROUPS);
  const positions = word(desc, D_HO) * word(desc, D_WO);
  const cg = channels / groups;
  const fg = filters / groups;
  const k = cg * word(desc, D_KH) * word(desc, D_KW);
  const pointwise = word(desc, D_POINTWISE) != 0;
  const x = <usize>word(desc, D_X), weight = <usize>word(desc, D_WEIGHT), bias = <usize>word(desc, D_BIAS), out = <usize>word(desc, D_OUT);
  const xp = <usize>word(desc, D_COLS) + <usize>slot * <usize>word(desc, D_COLS_STRIDE);
  const packedA = packedAOf(work);
  const packedB = packedBOf(work);
  const tile = tileOf(work);
  const wide = wideOf(work);
  const slices = (k + KC - 1) / KC;
  const kcMax = (k + slices - 1) / slices;
  if (!pointwise) memory.fill(xp, 0, <usize>paddedSize(desc, cg) << 2);
  for (let n = first; n < first + count; n++) {
    // The bias: filled in for a 1×1 window's sgemm to add to, else added by the first k slice.
    const filled = pointwise ? filters : 0;
    for (let f = 0; f < filled; f++) {
      const row = out + (<usize>((n * filters + f) * positions + p0) << 2);
      const value = f32x4.splat(load<f32>(bias + (<usize>f << 2)));
      let j = 0;
      for (; j + 4 <= pn; j += 4) v128.store(row + (<usize>j << 2), value);
      for (; j < pn; j++) store<f32>(row + (<usize>j << 2), f32x4.extract_lane(value, 0));
    }
    for (let group = 0; group < groups; group++) {
      const xg = x + (<usize>((n * channels + group * cg) * height * width) << 2);
      const c = out + (<usize>((n * filters + group * fg) * positions) << 2);
      const a = weight + (<usize>(group * fg * k) << 2);
      if (pointwise) {
        sgemm(0, 0, fg, pn, k, a, k, xg + (<usize>p0 << 2), positions, c + (<usize>p0 << 2), positions, 1, work);
        continue;
      }
      padImage(desc, xg, cg, xp);
      for (let jc = p0; jc < p0 + pn; jc += NC) {
        const nc = min(NC, p0 + pn - jc);
        for (let pc = 0; pc < k; pc += kcMax) {
          const kc = min(kcMax, k - pc);
          packIm2col(desc, xp, pc, kc, jc, nc, packedB, tile);
          const firstSlice = pc == 0;
          const groupBias = firstSlice ? bias + (<usize>(group * fg) << 2) : 0;
          macroBlock(0, a, k, fg, pc, kc, packedA, packedB, nc, c + (<usize>jc << 2), positions, firstSlice, tile, groupBias, wide);
        }
      }
    }
    if (word(desc, D_RELU) != 0) {
      // max(out, 0) on this image's positions, still in cache (NaN stays NaN, as relu's kernel).
      for (let f = 0; f < filters; f++) {
        const row = out + (<usize>((n * filters + f) * positions + p0) << 2);
        relu(row, pn, row);
      }
    }
    const pooled = <usize>word(desc, D_POOL_OUT);
    if (pooled != 0 && p0 == 0 && pn == positions) {
      // The fused pool, over this image's whole planes (a call on part of them leaves it to the caller).
      const ph = word(desc, D_POOL_H), pw = word(desc, D_POOL_W);
      const at = <usize>(n * filters * ph * pw) << 2;
      maxPool2x2(out + (<usize>(n * filters * positions) << 2), filters, word(desc, D_HO), word(desc, D_WO), ph, pw, pooled + at, <usize>word(desc, D_POOL_ARGMAX) + at);
    }
  }
}

/**
 * Backward over block `block` of the `blocks` blocks of images: dx for its images, and its
 * partial sums of dw and db. `slot` picks this thread's im2col columns. Per image and group:
 * db += Σ_p dout; dw += dout · colsᵀ; cols = wᵀ · dout; dx += col2im(cols), in chunks of
 * output positions.
 */
export function convBackward(desc: usize, block: i32, slot: i32, work: usize): void {
  const images = word(desc, D_N), blocks = word(desc, D_BLOCKS);
  const channels = word(desc, D_C), height = word(desc, D_H), width = word(desc, D_W);
  const kernelH = word(desc, D_KH), kernelW = word(desc, D_KW);
  const outWidth = word(desc, D_WO);
  const filters = word(desc, D_F), groups = word(desc, D_GROUPS);
  const positions = word(desc, D_HO) * outWidth;
  const cg = channels / groups;
  const fg = filters / groups;
  const k = cg * kernelH * kernelW;
  const chunk = word(desc, D_CHUNK);
  const pointwise = word(desc, D_POINTWISE) != 0;
  const x = <usize>word(desc, D_X), weight = <usize>word(desc, D_WEIGHT), dout = <usize>word(desc, D_OUT);
  const dx = <usize>word(desc, D_DX);
  const dw = <usize>word(desc, D_DWEIGHT) + (<usize>(block * filters * k) << 2);
  const db = <usize>word(desc, D_DBIAS) + (<usize>(block * filters) << 2);
  const cols = <usize>word(desc, D_COLS) + <usize>slot * <usize>word(desc, D_COLS_STRIDE);
  const first = <i32>((<i64>block * images) / blocks);
  const end = <i32>((<i64>(block + 1) * images) / blocks);
  memory.fill(dw, 0, <usize>(filters * k) << 2);
  memory.fill(db, 0, <usize>filters << 2);
  const planeSize = height * width;
  for (let n = first; n < end; n++) {
    const doutN = dout + (<usize>(n * filters * positions) << 2);
    const pooledDout = <usize>word(desc, D_POOL_DOUT);
    if (pooledDout != 0) {
      // dout of the conv → relu → pool: each window's gradient to its argmax if its maximum
      // (the relu's output there) is positive.
      const ph = word(desc, D_POOL_H), pw = word(desc, D_POOL_W);
      const windows = ph * pw;
      memory.fill(doutN, 0, <usize>(filters * positions) << 2);
      const first = <usize>(n * filters * windows) << 2;
      const g = pooledDout + first;
      const value = <usize>word(desc, D_POOL_OUT) + first;
      const argmax = <usize>word(desc, D_POOL_ARGMAX) + first;
      for (let f = 0; f < filters; f++) {
        const plane = doutN + (<usize>(f * positions) << 2);
        for (let i = f * windows; i < (f + 1) * windows; i++) {
          const o = <usize>i << 2;
          if (load<f32>(value + o) > 0) {
            const at = plane + (<usize>load<i32>(argmax + o) << 2);
            store<f32>(at, load<f32>(at) + load<f32>(g + o));
          }
        }
      }
    }
    const reluOut = <usize>word(desc, D_RELU_OUT);
    if (reluOut != 0) {
      // relu's backward, fused: dout = 0 where the relu output is not positive.
      const r = reluOut + (<usize>(n * filters * positions) << 2);
      reluBackward(r, doutN, filters * positions, doutN);
    }
    sumRows(doutN, filters, positions, db);
    memory.fill(dx + (<usize>(n * channels * planeSize) << 2), 0, <usize>(channels * planeSize) << 2);
    for (let group = 0; group < groups; group++) {
      const xg = x + (<usize>((n * channels + group * cg) * planeSize) << 2);
      const dxg = dx + (<usize>((n * channels + group * cg) * planeSize) << 2);
      const doutG = doutN + (<usize>(group * fg * positions) << 2);
      const a = weight + (<usize>(group * fg * k) << 2);
      const dwG = dw + (<usize>(group * fg * k) << 2);
      if (pointwise) {
        sgemm(0, 1, fg, k, positions, doutG, positions, xg, positions, dwG, k, 1, work);
        sgemm(1, 0, k, positions, fg, a, k, doutG, positions, dxg, positions, 0, work);
        continue;
      }
      for (let p0 = 0; p0 < positions; p0 += chunk) {
        const count = min(chunk, positions - p0);
        const doutChunk = doutG + (<usize>p0 << 2);
        im2col(
          xg, cg, height, width, kernelH, kernelW, word(desc, D_SH), word(desc, D_SW), word(desc, D_PT), word(desc, D_PL),
          word(desc, D_DH), word(desc, D_DW), outWidth, p0, count, cols, count,
        );
        sgemm(0, 1, fg, k, count, doutChunk, positions, cols, count, dwG, k, 1, work);
        sgemm(1, 0, k, count, fg, a, k, doutChunk, positions, cols, count, 0, work);
        col2im(
          cols, cg, height, width, kernelH, kernelW, word(desc, D_SH), word(desc, D_SW), word(desc, D_PT), word(desc, D_PL),
          word(desc, D_DH), word(desc, D_DW), outWidth, p0, count, dxg, count,
        );
      }
    }
  }
}

/**
 * dst[i] = Σ_b src[b·n + i] over `blocks` blocks of n values, summed in block order, for
 * elements [first, first + count).
 */
export function sumBlocks(src: usize, blocks: i32, n: i32, first: i32, count: i32, dst: usize): void {
  const stride = <usize>n << 2;
  let i = first;
  const end = first + count;
  for (; i + 4 <= end; i += 4) {
    let at = src + (<usize>i << 2);
    let total = v128.load(at);
    for (let b = 1; b < blocks; b++) {
      at += stride;
      total = f32x4.add(total, v128.load(at));
    }
    v128.store(dst + (<usize>i << 2), total);
  }
  for (; i < end; i++) {
    let at = src + (<usize>i << 2);
    let total = load<f32>(at);
    for (let b = 1; b < blocks; b++) {
      at += stride;
      total += load<f32>(at);
    }
    store<f32>(dst + (<usize>i << 2), total);
  }
}

// ---------------------------------------------------------------- elementwise

/** out[i] = max(x[i], 0): f32x4.max propagates NaN and orders −0 below +0, as Math.max does. */
export function relu(x: usize, n: i32, out: usize): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), f32x4.max(v128.load(x + (<usize>i << 2)), zero));
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    store<f32>(out + (<usize>i << 2), v > 0 || v != v ? v : 0);
  }
}

/** dx[i] = x[i] > 0 ? dout[i] : 0. */
export function reluBackward(x: usize, dout: usize, n: i32, dx: usize): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(dx + at, v128.and(v128.load(dout + at), f32x4.gt(v128.load(x + at), zero)));
  }
  for (; i < n; i++) store<f32>(dx + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) > 0 ? load<f32>(dout + (<usize>i << 2)) : 0);
}

/** out[i] = a[i] + b[i]. */
export function add(a: usize, b: usize, n: i32, out: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(out + at, f32x4.add(v128.load(a + at), v128.load(b + at)));
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), load<f32>(a + (<usize>i << 2)) + load<f32>(b + (<usize>i << 2)));
}

/**
 * sums[r] += Σ_c src[r, c] over a (rows, cols) float32 matrix with contiguous rows, each row
 * summed in float64 (as the JavaScript kernel does), four partial sums at a time.
 */
export function sumRows(src: usize, rows: i32, cols: i32, sums: usize): void {
  for (let r = 0; r < rows; r++) {
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4, src += 16) {
      const v = v128.load(src);
      lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
      hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
    }
    const both = f64x2.add(lo, hi);
    let total = f64x2.extract_lane(both, 0) + f64x2.extract_lane(both, 1);
    for (; c < cols; c++, src += 4) total += <f64>load<f32>(src);
    const at = sums + (<usize>r << 2);
    store<f32>(at, <f32>(<f64>load<f32>(at) + total));
  }
}

// ---------------------------------------------------------------- per-channel (batch norm)

/**
 * Σ of n float32 values at src in float64 (two f64x2 partial sums), and Σ (v − centre)² when
 * `squares`.
 */
function runSum(src: usize, n: i32, centre: f64, squares: bool): f64 {
  let lo = f64x2.splat(0);
  let hi = f64x2.splat(0);
  const m = f64x2.splat(centre);
  let i = 0;
  for (; i + 4 <= n; i += 4, src += 16) {
    const v = v128.load(src);
    let a = f64x2.promote_low_f32x4(v);
    let b = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    if (squares) {
      a = f64x2.sub(a, m);
      b = f64x2.sub(b, m);
      a = f64x2.mul(a, a);
      b = f64x2.mul(b, b);
    }
    lo = f64x2.add(lo, a);
    hi = f64x2.add(hi, b);
  }
  const both = f64x2.add(lo, hi);
  let total = f64x2.extract_lane(both, 0) + f64x2.extract_lane(both, 1);
  for (; i < n; i++, src += 4) {
    const d = <f64>load<f32>(src) - (squares ? centre : 0);
    total += squares ? d * d : d;
  }
  return total;
}

/**
 * For channels [c0, c1) of x viewed as (N, C, S): mean[c] and the biased variance[c] (float64
 * arrays) over the channel's N·S values, two passes. The same sums as the JavaScript kernel
 * up to summation order.
 */
export function channelMoments(x: usize, n: i32, c: i32, s: i32, c0: i32, c1: i32, mean: usize, variance: usize): void {
  const count = <f64>n * <f64>s;
  for (let ch = c0; ch < c1; ch++) {
    let sum: f64 = 0;
    for (let i = 0; i < n; i++) sum += runSum(x + (<usize>((i * c + ch) * s) << 2), s, 0, false);
    const m = sum / count;
    let squares: f64 = 0;
    for (let i = 0; i < n; i++) squares += runSum(x + (<usize>((i * c + ch) * s) << 2), s, m, true);
    store<f64>(mean + (<usize>ch << 3), m);
    store<f64>(variance + (<usize>ch << 3), squares / count);
  }
}

/** For channels [c0, c1) of (N, C, S): sums[c] = Σ dout, dots[c] = Σ dout · (x − centre[c]) (float64). */
export function channelSums(dout: usize, x: usize, n: i32, c: i32, s: i32, c0: i32, c1: i32, centre: usize, sums: usize, dots: usize): void {
  for (let ch = c0; ch < c1; ch++) {
    const mc = load<f64>(centre + (<usize>ch << 3));
    const m = f64x2.splat(mc);
    let sum = f64x2.splat(0);
    let dot = f64x2.splat(0);
    let sumTail: f64 = 0;
    let dotTail: f64 = 0;
    for (let i = 0; i < n; i++) {
      const at = <usize>((i * c + ch) * s) << 2;
      let g = dout + at;
      let v = x + at;
      let j = 0;
      for (; j + 4 <= s; j += 4, g += 16, v += 16) {
        const gv = v128.load(g);
        const xv = v128.load(v);
        const g0 = f64x2.promote_low_f32x4(gv);
        const g1 = f64x2.promote_low_f32x4(v128.shuffle<f32>(gv, gv, 2, 3, 0, 1));
        const x0 = f64x2.sub(f64x2.promote_low_f32x4(xv), m);
        const x1 = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(xv, xv, 2, 3, 0, 1)), m);
        sum = f64x2.add(sum, f64x2.add(g0, g1));
        dot = f64x2.add(dot, f64x2.add(f64x2.mul(g0, x0), f64x2.mul(g1, x1)));
      }
      for (; j < s; j++, g += 4, v += 4) {
        const gs = <f64>load<f32>(g);
        sumTail += gs;
        dotTail += gs * (<f64>load<f32>(v) - mc);
      }
    }
    store<f64>(sums + (<usize>ch << 3), f64x2.extract_lane(sum, 0) + f64x2.extract_lane(sum, 1) + sumTail);
    store<f64>(dots + (<usize>ch << 3), f64x2.extract_lane(dot, 0) + f64x2.extract_lane(dot, 1) + dotTail);
  }
}

/**
 * For channels [c0, c1) of (N, C, S), in float32: out = a[c] · (x − centre[c]) + k[c], or with
 * dout (nonzero), out = a[c] · dout + b[c] · (x − centre[c]) + k[c]; centre, a, b, k are float64
 * arrays.
 *
 * The centre is not simply rounded to float32: with |centre| much larger than the spread of x
 * (x ≈ 100 ± 1e-3), its rounding error (half an ulp of 100, 4e-6) would be a large part of
 * x − centre. It is split into hi = f32(centre) and lo = centre − hi, and lo moves into the
 * constant: a·(x − centre) + k = a·(x − hi) + (k − a·lo), where x − hi is exact when x is near
 * the centre (Sterbenz) and k − a·lo is computed in float64 once per channel, so the loops keep
 * their float32 operations and only the constant changes.
 */
export function channelAffine(x: usize, dout: usize, n: i32, c: i32, s: i32, c0: i32, c1: i32, centre: usize, a: usize, b: usize, k: usize, out: usize): void {
  for (let i = 0; i < n; i++) {
    for (let ch = c0; ch < c1; ch++) {
      const at = <usize>((i * c + ch) * s) << 2;
      const centre64 = load<f64>(centre + (<usize>ch << 3));
      const a64 = load<f64>(a + (<usize>ch << 3));
      const b64 = load<f64>(b + (<usize>ch << 3));
      const mc = <f32>centre64;
      // The coefficient of (x − centre), times the part of the centre float32 drops (only where
      // both are finite: otherwise the plain rounded form, as before).
      const drop = (dout == 0 ? a64 : b64) * (centre64 - <f64>mc);
      const kc = <f32>(load<f64>(k + (<usize>ch << 3)) - (isFinite(drop) ? drop : 0));
      const ac = <f32>a64;
      const bc = <f32>b64;
      const m = f32x4.splat(mc), av = f32x4.splat(ac), bv = f32x4.splat(bc), kv = f32x4.splat(kc);
      let j = 0;
      if (dout == 0) {
        for (; j + 4 <= s; j += 4) {
          const o = at + (<usize>j << 2);
          v128.store(out + o, f32x4.add(f32x4.mul(av, f32x4.sub(v128.load(x + o), m)), kv));
        }
        for (; j < s; j++) {
          const o = at + (<usize>j << 2);
          store<f32>(out + o, ac * (load<f32>(x + o) - mc) + kc);
        }
      } else {
        for (; j + 4 <= s; j += 4) {
          const o = at + (<usize>j << 2);
          const centred = f32x4.sub(v128.load(x + o), m);
          v128.store(out + o, f32x4.add(f32x4.add(f32x4.mul(av, v128.load(dout + o)), f32x4.mul(bv, centred)), kv));
        }
        for (; j < s; j++) {
          const o = at + (<usize>j << 2);
          store<f32>(out + o, ac * load<f32>(dout + o) + bc * (load<f32>(x + o) - mc) + kc);
        }
      }
    }
  }
}

// ---------------------------------------------------------------- optimiser

/**
 * Adam's update of elements [first, first + count) of float32 arrays, in float64 arithmetic as
 * the JavaScript kernel (src/kernels/js/elementwise.ts: adamStep) does, so both give the same
 * bits: m = β1·m0 + (1−β1)·g and v = β2·v0 + (1−β2)·g², stored as float32, then
 * next = w − stepScale·m / (√v·rootScale + ε) from the stored m and v. Returns
 * Σ (w·0 + g·0): 0 when every w and g is finite, NaN otherwise.
 */
export function adamStep(
  w: usize, g: usize, m0: usize, v0: usize, first: i32, count: i32,
  beta1: f64, beta2: f64, stepScale: f64, rootScale: f64, eps: f64,
  next: usize, m: usize, v: usize,
): f64 {
  let probe = f64x2.splat(0);
  const b1 = f64x2.splat(beta1), c1 = f64x2.splat(1 - beta1);
  const b2 = f64x2.splat(beta2), c2 = f64x2.splat(1 - beta2);
  const scale = f64x2.splat(stepScale), root = f64x2.splat(rootScale), e = f64x2.splat(eps);
  const zero = f64x2.splat(0);
  let i = first;
  const end = first + count;
  for (; i + 2 <= end; i += 2) {
    const o = <usize>i << 2;
    const wv = f64x2.promote_low_f32x4(v128.load64_zero(w + o));
    const gv = f64x2.promote_low_f32x4(v128.load64_zero(g + o));
    probe = f64x2.add(probe, f64x2.add(f64x2.mul(wv, zero), f64x2.mul(gv, zero)));
    const mi = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(b1, f64x2.promote_low_f32x4(v128.load64_zero(m0 + o))), f64x2.mul(c1, gv)));
    const vi = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(b2, f64x2.promote_low_f32x4(v128.load64_zero(v0 + o))), f64x2.mul(f64x2.mul(c2, gv), gv)));
    v128.store64_lane(m + o, mi, 0);
    v128.store64_lane(v + o, vi, 0);
    const step = f64x2.div(f64x2.mul(scale, f64x2.promote_low_f32x4(mi)), f64x2.add(f64x2.mul(f64x2.sqrt(f64x2.promote_low_f32x4(vi)), root), e));
    v128.store64_lane(next + o, f32x4.demote_f64x2_zero(f64x2.sub(wv, step)), 0);
  }
  let total = f64x2.extract_lane(probe, 0) + f64x2.extract_lane(probe, 1);
  for (; i < end; i++) {
    const o = <usize>i << 2;
    const wi = <f64>load<f32>(w + o);
    const gi = <f64>load<f32>(g + o);
    total += wi * 0 + gi * 0;
    const mi = <f32>(beta1 * <f64>load<f32>(m0 + o) + (1 - beta1) * gi);
    const vi = <f32>(beta2 * <f64>load<f32>(v0 + o) + (1 - beta2) * gi * gi);
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(next + o, <f32>(wi - (stepScale * <f64>mi) / (Math.sqrt(<f64>vi) * rootScale + eps)));
  }
  return total;
}

// ---------------------------------------------------------------- pooling

/** The first maximum of a 2×2 window (offsets 0, 1, W, W + 1 in scan order), a NaN winning. */
function scan2x2(p: usize, width: i32): i32 {
  let best = load<f32>(p);
  let bestAt = 0;
  for (let k = 1; k < 4; k++) {
    const at = k == 1 ? 1 : k == 2 ? width : width + 1;
    const v = load<f32>(p + (<usize>at << 2));
    if (v > best || (v != v && best == best)) {
      best = v;
      bestAt = at;
    }
  }
  return bestAt;
}

/**
 * Max pooling's backward for any window: dx[plane, argmax] += dout over `planes` planes of
 * `windows` outputs and `planeSize` inputs, in order (the JavaScript kernel's sums, bit for bit).
 */
export function maxPoolBackward(dout: usize, argmax: usize, planes: i32, windows: i32, planeSize: i32, dx: usize): void {
  for (let plane = 0; plane < planes; plane++) {
    const base = dx + (<usize>(plane * planeSize) << 2);
    const first = <usize>(plane * windows) << 2;
    for (let o = 0; o < windows; o++) {
      const at = first + (<usize>o << 2);
      const cell = base + (<usize>load<i32>(argmax + at) << 2);
      store<f32>(cell, load<f32>(cell) + load<f32>(dout + at));
    }
  }
}

/**
 * Max pooling with 2×2 windows at stride 2 that lie inside the input, over `planes` planes of
 * (height, width): out gets each window's first maximum in scan order (a NaN wins), argmax its
 * offset row·width + col in the plane. Four windows at a time: deinterleave two rows of eight
 * inputs, compare strictly (a tie keeps the earlier cell), select; a group holding a NaN is
 * scanned one window at a time.
 */
export function maxPool2x2(x: usize, planes: i32, height: i32, width: i32, outHeight: i32, outWidth: i32, out: usize, argmax: usize): void {
  const one = i32x4.splat(1);
  const w = i32x4.splat(width);
  const lanes = i32x4(0, 2, 4, 6);
  for (let plane = 0; plane < planes; plane++) {
    const base = x + (<usize>(plane * height * width) << 2);
    for (let i = 0; i < outHeight; i++) {
      const rowAt = 2 * i * width;
      const top = base + (<usize>rowAt << 2);
      const bottom = top + (<usize>width << 2);
      let j = 0;
      for (; j + 4 <= outWidth; j += 4) {
        const t0 = v128.load(top + (<usize>j << 3));
        const t1 = v128.load(top + (<usize>j << 3), 16);
        const b0 = v128.load(bottom + (<usize>j << 3));
        const b1 = v128.load(bottom + (<usize>j << 3), 16);
        const a = f32x4.shuffle(t0, t1, 0, 2, 4, 6);
        const b = f32x4.shuffle(t0, t1, 1, 3, 5, 7);
        const c = f32x4.shuffle(b0, b1, 0, 2, 4, 6);
        const d = f32x4.shuffle(b0, b1, 1, 3, 5, 7);
        const nan = v128.or(v128.or(f32x4.ne(a, a), f32x4.ne(b, b)), v128.or(f32x4.ne(c, c), f32x4.ne(d, d)));
        if (v128.any_true(nan)) {
          for (let q = 0; q < 4; q++) {
            const at = rowAt + 2 * (j + q);
            const win = scan2x2(base + (<usize>at << 2), width);
            store<f32>(out + (<usize>q << 2), load<f32>(base + (<usize>(at + win) << 2)));
            store<i32>(argmax + (<usize>q << 2), at + win);
          }
        } else {
          const right = f32x4.gt(b, a);
          const upper = v128.bitselect(b, a, right);
          const bottomRight = f32x4.gt(d, c);
          const lower = v128.bitselect(d, c, bottomRight);
          const useBottom = f32x4.gt(lower, upper);
          v128.store(out, v128.bitselect(lower, upper, useBottom));
          const upperAt = v128.and(right, one);
          const lowerAt = i32x4.add(w, v128.and(bottomRight, one));
          const at = i32x4.add(i32x4.splat(rowAt + 2 * j), lanes);
          v128.store(argmax, i32x4.add(at, v128.bitselect(lowerAt, upperAt, useBottom)));
        }
        out += 16;
        argmax += 16;
      }
      for (; j < outWidth; j++) {
        const at = rowAt + 2 * j;
        const win = scan2x2(base + (<usize>at << 2), width);
        store<f32>(out, load<f32>(base + (<usize>(at + win) << 2)));
        store<i32>(argmax, at + win);
        out += 4;
        argmax += 4;
      }
    }
  }
}

/**
 * The loader's timing probe: `reps` runs of one tile over kc steps of the packed panels in this
 * thread's scratch (whatever they hold: the speed does not depend on the values).
 */
export function tileProbe(wide: i32, kc: i32, reps: i32, work: usize): void {
  const pa = packedAOf(work), pb = packedBOf(work), c = tileOf(work);
  for (let r = 0; r < reps; r++) {
    if (ASC_FEATURE_RELAXED_SIMD && wide) microKernel5(kc, pa, pb, c, NR << 2, true, 0);
    else microKernel(kc, pa, pb, c, NR << 2, true, 0);
  }
}
