/**
 * The kernel contract as tests: every backend (js today, wasm or threads later) runs this one
 * suite, `runKernelSuite(kernels, name)`, from its own *.test.ts file.
 *
 * References are written here from the definitions in src/kernels/types.ts (plain loops) or
 * are the naive layers themselves (pooling). Copies (im2col) and integer-valued data must match
 * exactly; floating-point sums in another order are held to `scaledError`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ColumnGeometry, FloatArray, GemmArgs, Kernels, PoolWindow } from '../../src/kernels/types.js';
import { convBackwardNaive, convForwardNaive, convGeometry, type ConvParam } from '../../src/layers/conv.js';
import { convBatchGeometry } from '../../src/layers/geometry.js';
import { avgPoolBackwardNaive, avgPoolForwardNaive, maxPoolBackwardNaive, maxPoolForwardNaive, type PoolParam } from '../../src/layers/pool.js';
import { rng, type Rng } from '../../src/rng.js';
import type { DType, Tensor } from '../../src/tensor.js';

/**
 * max_i |a_i − b_i| / max(1e-30, max_i |a_i| + max_i |b_i|): the error relative to the size of
 * the arrays, not of each element, so a value that cancels to near zero is not held to a
 * relative precision no summation order could give it. NaN anywhere but at the same places
 * in both is an error of NaN.
 */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'arrays of equal length');
  let diff = 0;
  let maxA = 0;
  let maxB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      return Number.NaN;
    }
    if (x === y) {
      maxA = Math.max(maxA, Math.abs(x));
      maxB = Math.max(maxB, Math.abs(y));
      continue; // equal infinities
    }
    diff = Math.max(diff, Math.abs(x - y));
    maxA = Math.max(maxA, Math.abs(x));
    maxB = Math.max(maxB, Math.abs(y));
  }
  return diff / Math.max(1e-30, maxA + maxB);
}

function makeArray(dtype: DType, length: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

function randomArray(gen: Rng, dtype: DType, length: number, integers = false): FloatArray {
  const out = makeArray(dtype, length);
  for (let i = 0; i < length; i++) out[i] = integers ? gen.int(7) - 3 : gen.normal();
  return out;
}

/** The tolerance of a float sum in another order: loose enough for float32's 24 bits. */
const tolerance = (dtype: DType): number => (dtype === 'float32' ? 1e-5 : 1e-13);

// ---------------------------------------------------------------- GEMM

function gemmReference(args: GemmArgs): void {
  const { transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate } = args;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const av = a[aOffset + (transA ? p * lda + i : i * lda + p)]!;
        const bv = b[bOffset + (transB ? j * ldb + p : p * ldb + j)]!;
        sum += av * bv;
      }
      const at = cOffset + i * ldc + j;
      c[at] = accumulate ? c[at]! + sum : sum;
    }
  }
}

interface GemmCase {
  m: number;
  n: number;
  k: number;
}

const GEMM_SIZES: GemmCase[] = [
  { m: 1, n: 1, k: 1 },
  { m: 4, n: 8, k: 16 },
  { m: 3, n: 5, k: 7 },
  { m: 7, n: 13, k: 1 },
  { m: 17, n: 9, k: 33 },
  { m: 1, n: 40, k: 300 },
  { m: 40, n: 1, k: 260 },
  { m: 131, n: 37, k: 257 },
  { m: 9, n: 530, k: 70 },
  { m: 130, n: 515, k: 260 },
];

function runGemm(kernels: Kernels, dtype: DType, size: GemmCase, transA: boolean, transB: boolean, accumulate: boolean, seed: number): void {
  const gen = rng(seed);
  const { m, n, k } = size;
  // Leading dimensions larger than the matrices and nonzero offsets, to catch stride mistakes.
  const lda = (transA ? m : k) + gen.int(3);
  const ldb = (transB ? k : n) + gen.int(3);
  const ldc = n + gen.int(3);
  const aOffset = gen.int(5);
  const bOffset = gen.int(5);
  const cOffset = gen.int(5);
  const a = randomArray(gen, dtype, aOffset + (transA ? k : m) * lda);
  const b = randomArray(gen, dtype, bOffset + (transB ? n : k) * ldb);
  const c = randomArray(gen, dtype, cOffset + m * ldc + 3);
  const expected = c.slice();
  const args: GemmArgs = { transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate };
  gemmReference({ ...args, c: expected });
  kernels.gemm(args);
  const err = scaledError(c, expected);
  assert.ok(err < tolerance(dtype), `gemm error ${err}`);
  // Cells outside the (m, n) block, including the gaps of a wide ldc, are untouched.
  for (let i = 0; i < c.length; i++) {
    const inside = i >= cOffset && (i - cOffset) % ldc < n && Math.floor((i - cOffset) / ldc) < m;
    if (!inside) assert.equal(c[i], expected[i], `gemm wrote outside c's block at ${i}`);
  }
}

function gemmSuite(kernels: Kernels): void {
  describe('gemm', () => {
    let seed = 1;
    for (const dtype of ['float64', 'float32'] as const) {
      for (const size of GEMM_SIZES) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const accumulate = (size.m + size.n + (transA ? 1 : 0) + (transB ? 2 : 0)) % 2 === 0;
            const s = seed++;
            it(`${dtype} m=${size.m} n=${size.n} k=${size.k} ${transA ? 'aᵀ' : 'a'}·${transB ? 'bᵀ' : 'b'}${accumulate ? ' +=' : ''}`, () => {
              runGemm(kernels, dtype, size, transA, transB, accumulate, s);
            });
          }
        }
      }
      it(`${dtype} accumulate and overwrite agree on the same product`, () => {
        const gen = rng(99);
        const a = randomArray(gen, dtype, 6 * 300);
        const b = randomArray(gen, dtype, 300 * 10);
        const c1 = randomArray(gen, dtype, 60);
        const c0 = c1.slice();
        const base = { transA: false, transB: false, m: 6, n: 10, k: 300, a, aOffset: 0, lda: 300, b, bOffset: 0, ldb: 10, cOffset: 0, ldc: 10 };
        const product = makeArray(dtype, 60);
        kernels.gemm({ ...base, c: product, accumulate: false });
        kernels.gemm({ ...base, c: c1, accumulate: true });
        const sum = c0.map((v, i) => v + product[i]!);
        assert.ok(scaledError(c1, sum) < tolerance(dtype));
      });
      it(`${dtype} k = 0 zeroes c, or leaves it with accumulate`, () => {
        const c = makeArray(dtype, 12).fill(5);
        const empty = makeArray(dtype, 0);
        const base = { transA: false, transB: false, m: 3, n: 4, k: 0, a: empty, aOffset: 0, lda: 0, b: empty, bOffset: 0, ldb: 4, c, cOffset: 0, ldc: 4 };
        kernels.gemm({ ...base, accumulate: true });
        assert.deepEqual(Array.from(c), new Array(12).fill(5));
        kernels.gemm({ ...base, accumulate: false });
        assert.deepEqual(Array.from(c), new Array(12).fill(0));
      });
      it(`${dtype} m = 0 or n = 0 does nothing`, () => {
        const c = makeArray(dtype, 4).fill(2);
        const a = makeArray(dtype, 4);
        kernels.gemm({ transA: false, transB: false, m: 0, n: 2, k: 2, a, aOffset: 0, lda: 2, b: a, bOffset: 0, ldb: 2, c, cOffset: 0, ldc: 2, accumulate: false });
        kernels.gemm({ transA: false, transB: false, m: 2, n: 0, k: 2, a, aOffset: 0, lda: 2, b: a, bOffset: 0, ldb: 2, c, cOffset: 0, ldc: 2, accumulate: false });
        assert.deepEqual(Array.from(c), [2, 2, 2, 2]);
      });
    }
    it('float32 GEMM of small integers is exact', () => {
      // Small integers: every product and partial sum is exact, so float32 must be exact too.
      const gen = rng(7);
      const a = randomArray(gen, 'float32', 9 * 200, true);
      const b = randomArray(gen, 'float32', 200 * 11, true);
      const c = new Float32Array(99);
      const expected = new Float32Array(99);
      const args = { transA: false, transB: false, m: 9, n: 11, k: 200, a, aOffset: 0, lda: 200, b, bOffset: 0, ldb: 11, cOffset: 0, ldc: 11, accumulate: false };
      kernels.gemm({ ...args, c });
      gemmReference({ ...args, c: expected });
      assert.deepEqual(Array.from(c), Array.from(expected));
    });
  });
}

// ---------------------------------------------------------------- im2col / col2im

function randomColumnGeometry(gen: Rng): ColumnGeometry {
  for (;;) {
    const kernelH = 1 + gen.int(4);
    const kernelW = 1 + gen.int(4);
    const dilationH = 1 + gen.int(2);
    const dilationW = 1 + gen.int(2);
    const strideH = 1 + gen.int(3);
    const strideW = 1 + gen.int(3);
    const padTop = gen.int(4);
    const padLeft = gen.int(4);
    const padBottom = gen.int(4);
    const padRight = gen.int(4);
    const height = 1 + gen.int(9);
    const width = 1 + gen.int(9);
    const spanH = dilationH * (kernelH - 1) + 1;
    const spanW = dilationW * (kernelW - 1) + 1;
    if (spanH > height + padTop + padBottom || spanW > width + padLeft + padRight) continue;
    return {
      channels: 1 + gen.int(3),
      height,
      width,
      kernelH,
      kernelW,
      strideH,
      strideW,
      padTop,
      padLeft,
      dilationH,
      dilationW,
      outHeight: Math.floor((height + padTop + padBottom - spanH) / strideH) + 1,
      outWidth: Math.floor((width + padLeft + padRight - spanW) / strideW) + 1,
    };
  }
}

/** The input offset (within the block) that column entry (row, p) reads, or -1 for padding. */
function sourceOf(g: ColumnGeometry, row: number, p: number): number {
  const kw = row % g.kernelW;
  const kh = Math.floor(row / g.kernelW) % g.kernelH;
  const ch = Math.floor(row / (g.kernelW * g.kernelH));
  const i = Math.floor(p / g.outWidth);
  const j = p % g.outWidth;
  const r = i * g.strideH - g.padTop + kh * g.dilationH;
  const c = j * g.strideW - g.padLeft + kw * g.dilationW;
  if (r < 0 || r >= g.height || c < 0 || c >= g.width) return -1;
  return (ch * g.height + r) * g.width + c;
}

function im2colSuite(kernels: Kernels): void {
  describe('im2col and col2im', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${dtype} im2col copies every window cell, zero in the padding (60 random geometries, chunks)`, () => {
        const gen = rng(11);
        for (let t = 0; t < 60; t++) {
          const g = randomColumnGeometry(gen);
          const rows = g.channels * g.kernelH * g.kernelW;
          const P = g.outHeight * g.outWidth;
          const first = t % 3 === 0 ? 0 : gen.int(P);
          const count = t % 3 === 0 ? P : 1 + gen.int(P - first);
          const xOffset = gen.int(4);
          const x = randomArray(gen, dtype, xOffset + g.channels * g.height * g.width);
          const colsOffset = gen.int(4);
          const cols = makeArray(dtype, colsOffset + rows * count + 2).fill(Number.NaN);
          kernels.im2col(x, xOffset, g, first, count, cols, colsOffset);
          for (let row = 0; row < rows; row++) {
            for (let q = 0; q < count; q++) {
              const src = sourceOf(g, row, first + q);
              const want = src < 0 ? 0 : x[xOffset + src]!;
              assert.equal(cols[colsOffset + row * count + q], want, `geometry ${JSON.stringify(g)} first ${first} count ${count} at (${row}, ${q})`);
            }
          }
          for (let i = 0; i < colsOffset; i++) assert.ok(Number.isNaN(cols[i]!), 'im2col wrote before colsOffset');
          assert.ok(Number.isNaN(cols[colsOffset + rows * count]!), 'im2col wrote past its block');
        }
      });
      it(`${dtype} col2im adds every entry back to its source cell and drops the padding (60 random geometries, chunks)`, () => {
        const gen = rng(12);
        for (let t = 0; t < 60; t++) {
          const g = randomColumnGeometry(gen);
          const rows = g.channels * g.kernelH * g.kernelW;
          const P = g.outHeight * g.outWidth;
          const first = t % 3 === 0 ? 0 : gen.int(P);
          const count = t % 3 === 0 ? P : 1 + gen.int(P - first);
          const cols = randomArray(gen, dtype, rows * count + 1, true);
          const dxOffset = gen.int(4);
          const size = g.channels * g.height * g.width;
          const dx = randomArray(gen, dtype, dxOffset + size + 1, true);
          const expected = dx.slice();
          for (let row = 0; row < rows; row++) {
            for (let q = 0; q < count; q++) {
              const src = sourceOf(g, row, first + q);
              if (src >= 0) expected[dxOffset + src] += cols[1 + row * count + q]!;
            }
          }
          kernels.col2im(cols, 1, g, first, count, dx, dxOffset);
          // Integer values: the sums are exact in any order.
          assert.deepEqual(Array.from(dx), Array.from(expected), `geometry ${JSON.stringify(g)} first ${first} count ${count}`);
        }
      });
      it(`${dtype} chunks of columns together make the whole matrix`, () => {
        const gen = rng(13);
        const g: ColumnGeometry = { channels: 2, height: 7, width: 6, kernelH: 3, kernelW: 2, strideH: 2, strideW: 1, padTop: 1, padLeft: 2, dilationH: 1, dilationW: 2, outHeight: 4, outWidth: 7 };
        const rows = 12;
        const P = 28;
        const x = randomArray(gen, dtype, 2 * 7 * 6);
        const whole = makeArray(dtype, rows * P);
        kernels.im2col(x, 0, g, 0, P, whole, 0);
        for (const chunk of [1, 5, 7, 9]) {
          for (let p0 = 0; p0 < P; p0 += chunk) {
            const count = Math.min(chunk, P - p0);
            const part = makeArray(dtype, rows * count);
            kernels.im2col(x, 0, g, p0, count, part, 0);
            for (let row = 0; row < rows; row++) {
              for (let q = 0; q < count; q++) assert.equal(part[row * count + q], whole[row * P + p0 + q]);
            }
          }
        }
      });
    }
  });
}

// ---------------------------------------------------------------- pooling

interface PoolCase {
  x: Tensor;
  param: PoolParam & { countIncludePad?: boolean };
  window: PoolWindow;
}

function poolOutLength(size: number, kernel: number, stride: number, before: number, after: number, dilation: number, ceil: boolean): number {
  const span = dilation * (kernel - 1) + 1;
  const padded = size + before + after;
  let out = ceil ? Math.ceil((padded - span) / stride) + 1 : Math.floor((padded - span) / stride) + 1;
  if (ceil && (out - 1) * stride >= size + before) out -= 1;
  return out;
}

function windowsTouch(size: number, out: number, kernel: number, stride: number, before: number, dilation: number): boolean {
  for (let o = 0; o < out; o++) {
    let touches = false;
    for (let k = 0; k < kernel; k++) {
      const at = o * stride - before + k * dilation;
      if (at >= 0 && at < size) touches = true;
    }
    if (!touches) return false;
  }
  return true;
}

function randomPoolCase(gen: Rng, dtype: DType, integers: boolean, special?: 'plain2x2'): PoolCase {
  for (;;) {
    const plain = special === 'plain2x2';
    const kernelH = plain ? 2 : 1 + gen.int(4);
    const kernelW = plain ? 2 : 1 + gen.int(4);
    const strideH = plain ? 2 : 1 + gen.int(3);
    const strideW = plain ? 2 : 1 + gen.int(3);
    const dilationH = plain ? 1 : 1 + gen.int(2);
    const dilationW = plain ? 1 : 1 + gen.int(2);
    const padTop = plain ? 0 : gen.int(3);
    const padLeft = plain ? 0 : gen.int(3);
    const padBottom = plain ? 0 : gen.int(3);
    const padRight = plain ? 0 : gen.int(3);
    const ceilMode = plain ? false : gen.int(2) === 1;
    const height = 1 + gen.int(9);
    const width = 1 + gen.int(9);
    const N = 1 + gen.int(2);
    const C = 1 + gen.int(3);
    const spanH = dilationH * (kernelH - 1) + 1;
    const spanW = dilationW * (kernelW - 1) + 1;
    if (spanH > height + padTop + padBottom || spanW > width + padLeft + padRight) continue;
    const outHeight = poolOutLength(height, kernelH, strideH, padTop, padBottom, dilationH, ceilMode);
    const outWidth = poolOutLength(width, kernelW, strideW, padLeft, padRight, dilationW, ceilMode);
    if (outHeight < 1 || outWidth < 1) continue;
    if (!windowsTouch(height, outHeight, kernelH, strideH, padTop, dilationH)) continue;
    if (!windowsTouch(width, outWidth, kernelW, strideW, padLeft, dilationW)) continue;
    const data = randomArray(gen, dtype, N * C * height * width, integers);
    return {
      x: { shape: [N, C, height, width], data, dtype },
      param: {
        poolHeight: kernelH,
        poolWidth: kernelW,
        stride: [strideH, strideW],
        pad: [padTop, padLeft, padBottom, padRight],
        dilation: [dilationH, dilationW],
        ceilMode,
        countIncludePad: gen.int(2) === 1,
      },
      window: { height, width, outHeight, outWidth, kernelH, kernelW, strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW },
    };
  }
}

function poolSuite(kernels: Kernels): void {
  describe('pooling', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      for (const special of [undefined, 'plain2x2'] as const) {
        const label = special === 'plain2x2' ? '2×2 stride 2' : 'any window';
        it(`${dtype} max pool (${label}) equals the naive layer, ties to the first maximum (80 cases)`, () => {
          const gen = rng(special ? 21 : 22);
          for (let t = 0; t < 80; t++) {
            // Small integers make ties common; every few cases add NaN and ±Infinity.
            const c = randomPoolCase(gen, dtype, t % 2 === 0, special);
            if (t % 5 === 4) {
              for (let s = 0; s < 3; s++) c.x.data[gen.int(c.x.data.length)] = [Number.NaN, Infinity, -Infinity][s]!;
            }
            const { N, C } = { N: c.x.shape[0]!, C: c.x.shape[1]! };
            const outSize = N * C * c.window.outHeight * c.window.outWidth;
            // Run the kernel on a block at an offset inside larger arrays.
            const xs = makeArray(dtype, 3 + c.x.data.length);
            xs.set(c.x.data, 3);
            const out = makeArray(dtype, 2 + outSize);
            const argmax = new Int32Array(1 + outSize);
            kernels.maxPoolForward(xs, 3, N * C, c.window, out, 2, argmax, 1);
            const naive = maxPoolForwardNaive(c.x, c.param);
            assert.deepEqual(Array.from(out.subarray(2)), Array.from(naive.out.data), `forward ${JSON.stringify(c.param)} x ${c.x.shape}`);
            const dout = randomArray(gen, dtype, outSize, true);
            const dx = makeArray(dtype, 5 + c.x.data.length);
            const douts = makeArray(dtype, 4 + outSize);
            douts.set(dout, 4);
            kernels.maxPoolBackward(douts, 4, argmax, 1, N * C, c.window, dx, 5);
            const naiveDx = maxPoolBackwardNaive({ shape: naive.out.shape, data: dout, dtype }, naive.cache);
            assert.deepEqual(Array.from(dx.subarray(5)), Array.from(naiveDx.data), `backward ${JSON.stringify(c.param)} x ${c.x.shape}`);
          }
        });
      }
      it(`${dtype} max pool 2×2 stride 2 on wide planes equals the naive layer (ties, NaN, ±∞, odd sizes)`, () => {
        const gen = rng(24);
        for (const [N, C, H, W] of [[1, 2, 6, 37], [2, 3, 9, 16], [1, 1, 4, 64], [1, 2, 3, 17]] as const) {
          const Ho = Math.floor(H / 2);
          const Wo = Math.floor(W / 2);
          for (let variant = 0; variant < 3; variant++) {
            const data = randomArray(gen, dtype, N * C * H * W, variant !== 1);
            if (variant === 2) for (let s = 0; s < 6; s++) data[gen.int(data.length)] = [Number.NaN, Infinity, -Infinity][s % 3]!;
            const x: Tensor = { shape: [N, C, H, W], data, dtype };
            const window: PoolWindow = { height: H, width: W, outHeight: Ho, outWidth: Wo, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, dilationH: 1, dilationW: 1 };
            const out = makeArray(dtype, N * C * Ho * Wo);
            const argmax = new Int32Array(N * C * Ho * Wo);
            kernels.maxPoolForward(data, 0, N * C, window, out, 0, argmax, 0);
            const naive = maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2, stride: 2 });
            assert.deepEqual(Array.from(out), Array.from(naive.out.data), `forward x ${x.shape} variant ${variant}`);
            const dout = randomArray(gen, dtype, out.length, true);
            const dx = makeArray(dtype, data.length);
            kernels.maxPoolBackward(dout, 0, argmax, 0, N * C, window, dx, 0);
            const naiveDx = maxPoolBackwardNaive({ shape: naive.out.shape, data: dout, dtype }, naive.cache);
            assert.deepEqual(Array.from(dx), Array.from(naiveDx.data), `backward (argmax) x ${x.shape} variant ${variant}`);
          }
        }
      });
      it(`${dtype} max pool backward adds into dx`, () => {
        const g: PoolWindow = { height: 2, width: 2, outHeight: 1, outWidth: 1, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, dilationH: 1, dilationW: 1 };
        const dx = makeArray(dtype, 4).fill(1);
        kernels.maxPoolBackward(makeArray(dtype, 1).fill(2), 0, Int32Array.of(3), 0, 1, g, dx, 0);
        assert.deepEqual(Array.from(dx), [1, 1, 1, 3]);
      });
      it(`${dtype} average pool equals the naive layer, both divisors (80 cases)`, () => {
        const gen = rng(23);
        for (let t = 0; t < 80; t++) {
          const c = randomPoolCase(gen, dtype, false, t % 4 === 0 ? 'plain2x2' : undefined);
          const countIncludePad = c.param.countIncludePad ?? true;
          const N = c.x.shape[0]!;
          const C = c.x.shape[1]!;
          const outSize = N * C * c.window.outHeight * c.window.outWidth;
          const out = makeArray(dtype, outSize);
          kernels.avgPoolForward(c.x.data, 0, N * C, c.window, countIncludePad, out, 0);
          const naive = avgPoolForwardNaive(c.x, c.param);
          assert.ok(scaledError(out, naive.out.data) < tolerance(dtype), `forward ${JSON.stringify(c.param)} x ${c.x.shape}`);
          const dout = randomArray(gen, dtype, outSize);
          const dx = makeArray(dtype, c.x.data.length).fill(0.5);
          kernels.avgPoolBackward(dout, 0, N * C, c.window, countIncludePad, dx, 0);
          const naiveDx = avgPoolBackwardNaive({ shape: naive.out.shape, data: dout, dtype }, naive.cache);
          const expected = naiveDx.data.map((v) => v + 0.5); // the kernel adds into dx
          assert.ok(scaledError(dx, expected) < tolerance(dtype), `backward ${JSON.stringify(c.param)} x ${c.x.shape}`);
        }
      });
    }
  });
}

// ---------------------------------------------------------------- elementwise

function elementwiseSuite(kernels: Kernels): void {
  describe('elementwise', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${dtype} fillRows and fillCols broadcast a bias`, () => {
        const values = makeArray(dtype, 5);
        values.set([9, 1, 2, 3, 4]);
        const rows = makeArray(dtype, 1 + 3 * 2 + 1).fill(7);
        kernels.fillRows(rows, 1, 3, 2, values, 1);
        assert.deepEqual(Array.from(rows), [7, 1, 1, 2, 2, 3, 3, 7]);
        const cols = makeArray(dtype, 1 + 2 * 3 + 1).fill(7);
        kernels.fillCols(cols, 1, 2, 3, values, 2);
        assert.deepEqual(Array.from(cols), [7, 2, 3, 4, 2, 3, 4, 7]);
      });
      it(`${dtype} sumRows and sumCols add row and column sums`, () => {
        const src = makeArray(dtype, 1 + 6);
        src.set([100, 1, 2, 3, 4, 5, 6], 0); // (2, 3) at offset 1: [[1, 2, 3], [4, 5, 6]]
        const rowSums = makeArray(dtype, 3).fill(1);
        kernels.sumRows(src, 1, 2, 3, rowSums, 1);
        assert.deepEqual(Array.from(rowSums), [1, 7, 16]);
        const colSums = makeArray(dtype, 4).fill(1);
        kernels.sumCols(src, 1, 2, 3, colSums, 1);
        assert.deepEqual(Array.from(colSums), [1, 6, 8, 10]);
      });
      it(`${dtype} sumRows and sumCols of random matrices (odd sizes, offsets) match float64 sums`, () => {
        const gen = rng(42);
        for (const [rows, cols] of [[1, 1], [5, 37], [3, 1024], [33, 7]] as const) {
          const src = randomArray(gen, dtype, 2 + rows * cols);
          const rowSums = randomArray(gen, dtype, rows + 1);
          const colSums = randomArray(gen, dtype, cols + 1);
          const wantRows = Array.from(rowSums);
          const wantCols = Array.from(colSums);
          for (let r = 0; r < rows; r++) {
            for (let c = 0; c < cols; c++) {
              wantRows[1 + r] += src[2 + r * cols + c]!;
              wantCols[1 + c] += src[2 + r * cols + c]!;
            }
          }
          kernels.sumRows(src, 2, rows, cols, rowSums, 1);
          kernels.sumCols(src, 2, rows, cols, colSums, 1);
          assert.equal(rowSums[0], wantRows[0], 'sumRows wrote before its offset');
          assert.equal(colSums[0], wantCols[0], 'sumCols wrote before its offset');
          assert.ok(scaledError(rowSums, makeArray(dtype, rows + 1).map((_, i) => wantRows[i]!)) < tolerance(dtype), `sumRows ${rows}×${cols}`);
          assert.ok(scaledError(colSums, makeArray(dtype, cols + 1).map((_, i) => wantCols[i]!)) < tolerance(dtype), `sumCols ${rows}×${cols}`);
        }
      });
      it(`${dtype} reluForward is Math.max(x, 0) and reluBackward passes dout where x > 0 (NaN, ±0, ±∞, odd lengths, offsets)`, () => {
        const gen = rng(41);
        for (const n of [0, 1, 3, 4, 7, 64, 1001]) {
          const x = randomArray(gen, dtype, n + 3);
          const specials = [Number.NaN, 0, -0, Infinity, -Infinity];
          for (let s = 0; s < Math.min(n, 10); s++) x[2 + gen.int(n)] = specials[s % specials.length]!;
          const out = makeArray(dtype, n + 4).fill(7);
          kernels.reluForward(x, 2, n, out, 1);
          const expected = makeArray(dtype, n + 4).fill(7);
          for (let i = 0; i < n; i++) expected[1 + i] = Math.max(x[2 + i]!, 0);
          assert.deepEqual(Array.from(out), Array.from(expected), `reluForward n=${n}`);
          for (let i = 0; i < n; i++) assert.ok(!Object.is(out[1 + i], -0), 'reluForward gives +0, not -0');
          const dout = randomArray(gen, dtype, n + 1);
          const dx = makeArray(dtype, n + 2).fill(7);
          kernels.reluBackward(x, 2, dout, 1, n, dx, 2);
          const want = makeArray(dtype, n + 2).fill(7);
          for (let i = 0; i < n; i++) want[2 + i] = x[2 + i]! > 0 ? dout[1 + i]! : 0;
          assert.deepEqual(Array.from(dx), Array.from(want), `reluBackward n=${n}`);
        }
      });
      it(`${dtype} add is a + b rounded to ${dtype} (NaN, ±0, ±∞, odd lengths, offsets; out may be a or b)`, () => {
        const gen = rng(43);
        for (const n of [0, 1, 3, 4, 7, 64, 1001]) {
          const a = randomArray(gen, dtype, n + 2);
          const b = randomArray(gen, dtype, n + 1);
          const specials = [Number.NaN, 0, -0, Infinity, -Infinity, 3.4e38];
          for (let s = 0; s < Math.min(n, 12); s++) (s % 2 === 0 ? a : b)[1 + gen.int(n)] = specials[s % specials.length]!;
          const out = makeArray(dtype, n + 3).fill(7);
          kernels.add(a, 2, b, 1, n, out, 3);
          const expected = makeArray(dtype, n + 3).fill(7);
          for (let i = 0; i < n; i++) expected[3 + i] = a[2 + i]! + b[1 + i]!;
          assert.deepEqual(Array.from(out), Array.from(expected), `add n=${n}`);
          // In place (a residual's gradient may be summed into one of its operands).
          kernels.add(a, 2, b, 1, n, a, 2);
          assert.deepEqual(Array.from(a.subarray(2)), Array.from(expected.subarray(3)), `add in place n=${n}`);
        }
      });
    }
  });
}

// ---------------------------------------------------------------- batch convolution (optional)

/**
 * The optional whole-layer kernels (float32) against the naive layers in float64 on the same
 * values, on random geometries: batch 1 to 7, groups, stride up to 3, asymmetric padding,
 * dilation, 1×1 windows, im2col chunks of any length. Outputs start as NaN, so a value the
 * kernel fails to write shows.
 */
function convBatchSuite(kernels: Kernels): void {
  const batch = kernels.capabilities?.batchConv32;
  if (batch === undefined) return;
  const { convForward, convBackward } = batch;
  describe('batch convolution', () => {
    it('float32 convForward and convBackward equal the naive layers (60 random geometries, chunks)', () => {
      const gen = rng(4242);
      for (let trial = 0; trial < 60; trial++) {
        const groups = 1 + gen.int(3);
        const pointwise = trial % 10 === 0;
        const C = groups * (1 + gen.int(3));
        const F = groups * (1 + gen.int(3));
        const N = 1 + gen.int(7);
        const [HH, WW] = pointwise ? [1, 1] : [1 + gen.int(4), 1 + gen.int(4)];
        const param: ConvParam = pointwise
          ? { groups }
          : {
              stride: [1 + gen.int(3), 1 + gen.int(3)],
              pad: [gen.int(3), gen.int(3), gen.int(3), gen.int(3)],
              dilation: [1 + gen.int(2), 1 + gen.int(2)],
              groups,
            };
        const H = HH * 2 + gen.int(10);
        const W = WW * 2 + gen.int(14);
        // float32 values in float64 tensors, so both sides start from the same numbers.
        const tensor = (shape: number[]): Tensor => {
          const data = Float64Array.from(Float32Array.from(randomArray(gen, 'float64', shape.reduce((a, b) => a * b, 1))));
          return { shape, data, dtype: 'float64' };
        };
        const x64 = tensor([N, C, H, W]);
        const w64 = tensor([F, C / groups, HH, WW]);
        const b64 = tensor([F]);
        const g = convGeometry('test', x64, w64, b64, param);
        const P = g.Ho * g.Wo;
        const chunk = 1 + gen.int(P);
        const label = `x ${x64.shape} w ${w64.shape} ${JSON.stringify(param)} chunk ${chunk}`;
        const expected = convForwardNaive(x64, w64, b64, param);
        const dout = randomArray(gen, 'float64', N * F * P);
        const grads = convBackwardNaive({ shape: [N, F, g.Ho, g.Wo], data: dout, dtype: 'float64' }, expected.cache);

        const out = new Float32Array(N * F * P).fill(Number.NaN);
        const f32 = (t: Tensor): Float32Array => Float32Array.from(t.data);
        convForward(f32(x64), f32(w64), f32(b64), convBatchGeometry(g, chunk), out);
        assert.ok(scaledError(out, expected.out.data) < 1e-5, `${label}: out error ${scaledError(out, expected.out.data)}`);

        const dx = new Float32Array(x64.data.length).fill(Number.NaN);
        const dw = new Float32Array(w64.data.length).fill(Number.NaN);
        const db = new Float32Array(F).fill(Number.NaN);
        convBackward(f32(x64), f32(w64), Float32Array.from(dout), convBatchGeometry(g, chunk), dx, dw, db);
        for (const [name, got, want] of [['dx', dx, grads.dx], ['dw', dw, grads.dw], ['db', db, grads.db]] as const) {
          const err = scaledError(got, want.data);
          assert.ok(err < 1e-5, `${label}: ${name} error ${err}`);
        }

        // relu fused in: out = max(conv, 0); backward with that output masks dout first.
        const reluOut = new Float32Array(N * F * P).fill(Number.NaN);
        convForward(f32(x64), f32(w64), f32(b64), { ...convBatchGeometry(g, chunk), relu: true }, reluOut);
        const expectedRelu = expected.out.data.map((v) => Math.max(v, 0));
        assert.ok(scaledError(reluOut, expectedRelu) < 1e-5, `${label}: relu out error ${scaledError(reluOut, expectedRelu)}`);
        const masked = dout.map((v, i) => (expected.out.data[i]! > 0 ? v : 0));
        const reluGrads = convBackwardNaive({ shape: [N, F, g.Ho, g.Wo], data: masked, dtype: 'float64' }, expected.cache);
        const doutCopy = Float32Array.from(dout);
        convBackward(f32(x64), f32(w64), doutCopy, convBatchGeometry(g, chunk), dx, dw, db, reluOut);
        assert.deepEqual(doutCopy, Float32Array.from(dout), `${label}: the fused relu backward wrote into dout`);
        for (const [name, got, want] of [['dx', dx, reluGrads.dx], ['dw', dw, reluGrads.dw], ['db', db, reluGrads.db]] as const) {
          // (Seeded data: no conv output lies within float32 rounding of 0, where the masks could differ.)
          const err = scaledError(got, want.data);
          assert.ok(err < 1e-5, `${label}: relu ${name} error ${err}`);
        }

        // conv → relu → 2×2 stride-2 max pool fused, where the backend has it and the planes are 2×2 or more.
        if (g.Ho >= 2 && g.Wo >= 2) {
          const poolParam = { poolHeight: 2, poolWidth: 2, stride: 2 };
          const reluTensor: Tensor = { shape: [N, F, g.Ho, g.Wo], data: Float64Array.from(expectedRelu), dtype: 'float64' };
          const pooledWant = maxPoolForwardNaive(reluTensor, poolParam);
          const [ph, pw] = [Math.floor(g.Ho / 2), Math.floor(g.Wo / 2)];
          const pooled = new Float32Array(N * F * ph * pw).fill(Number.NaN);
          const argmax = new Int32Array(N * F * ph * pw).fill(-1);
          batch.convReluPoolForward(f32(x64), f32(w64), f32(b64), convBatchGeometry(g, chunk), pooled, argmax, ph, pw);
          assert.ok(scaledError(pooled, pooledWant.out.data) < 1e-5, `${label}: pooled error ${scaledError(pooled, pooledWant.out.data)}`);
          // The argmax is the kernel's own (float32 maxima); it must point at a cell holding the maximum.
          for (let i = 0; i < argmax.length; i++) {
            const plane = Math.floor(i / (ph * pw));
            assert.equal(reluOut[plane * g.Ho * g.Wo + argmax[i]!], pooled[i], `${label}: argmax ${i}`);
          }
          const dpooled = Float32Array.from({ length: pooled.length }, () => gen.normal());
          // The reference: dpooled at each argmax where the maximum is positive, then the conv's backward.
          const dconv = new Float64Array(N * F * g.Ho * g.Wo);
          for (let i = 0; i < argmax.length; i++) {
            if (pooled[i]! > 0) dconv[Math.floor(i / (ph * pw)) * g.Ho * g.Wo + argmax[i]!] += dpooled[i]!;
          }
          const poolGrads = convBackwardNaive({ shape: [N, F, g.Ho, g.Wo], data: dconv, dtype: 'float64' }, expected.cache);
          dx.fill(Number.NaN);
          batch.convReluPoolBackward(f32(x64), f32(w64), convBatchGeometry(g, chunk), dpooled, pooled, argmax, ph, pw, dx, dw, db);
          for (const [name, got, want] of [['dx', dx, poolGrads.dx], ['dw', dw, poolGrads.dw], ['db', db, poolGrads.db]] as const) {
            const err = scaledError(got, want.data);
            assert.ok(err < 1e-5, `${label}: pooled ${name} error ${err}`);
          }
        }
      }
    });
  });
}

// ---------------------------------------------------------------- per-channel (batch norm)

function channelSuite(kernels: Kernels): void {
  describe('per-channel kernels', () => {
    for (const dtype of ['float64', 'float32'] as DType[]) {
      it(`${dtype} channelMoments, channelSums and channelAffine equal plain loops over a channel range (40 random layouts)`, () => {
        const gen = rng(dtype === 'float64' ? 61 : 62);
        for (let trial = 0; trial < 40; trial++) {
          const N = 1 + gen.int(5);
          const C = 1 + gen.int(6);
          const S = 1 + gen.int(40);
          const c0 = gen.int(C);
          const c1 = c0 + 1 + gen.int(C - c0);
          const size = N * C * S;
          const x = randomArray(gen, dtype, size);
          for (let i = 0; i < size; i++) x[i] = x[i]! + 20; // far from zero
          const dout = randomArray(gen, dtype, size);
          const per = (): Float64Array => Float64Array.from({ length: C }, () => gen.normal());
          const [centre, a, b, k] = [per(), per(), per(), per()];
          const label = `N ${N} C ${C} S ${S} channels [${c0}, ${c1})`;
          const mean = new Float64Array(C).fill(Number.NaN);
          const variance = new Float64Array(C).fill(Number.NaN);
          kernels.channelMoments(x, N, C, S, c0, c1, mean, variance);
          const sums = new Float64Array(C).fill(Number.NaN);
          const dots = new Float64Array(C).fill(Number.NaN);
          kernels.channelSums(dout, x, N, C, S, c0, c1, centre, sums, dots);
          const out = makeArray(dtype, size).fill(Number.NaN);
          const dx = makeArray(dtype, size).fill(Number.NaN);
          kernels.channelAffine(x, null, N, C, S, c0, c1, centre, a, b, k, out);
          kernels.channelAffine(x, dout, N, C, S, c0, c1, centre, a, b, k, dx);
          for (let c = 0; c < C; c++) {
            const inside = c >= c0 && c < c1;
            const values: number[] = [];
            for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) values.push((n * C + c) * S + s);
            if (!inside) {
              for (const array of [mean, variance, sums, dots]) assert.ok(Number.isNaN(array[c]!), `${label}: channel ${c} written`);
              for (const i of values) assert.ok(Number.isNaN(out[i]!) && Number.isNaN(dx[i]!), `${label}: channel ${c} written`);
              continue;
            }
            const m = values.reduce((t, i) => t + x[i]!, 0) / values.length;
            const v = values.reduce((t, i) => t + (x[i]! - m) ** 2, 0) / values.length;
            const close = (got: number, want: number, scale: number, what: string): void =>
              assert.ok(Math.abs(got - want) <= 1e-12 * scale, `${label}: ${what} ${got} vs ${want}`);
            close(mean[c]!, m, Math.abs(m), `mean[${c}]`);
            close(variance[c]!, v, v + 1e-300, `variance[${c}]`);
            const sum = values.reduce((t, i) => t + dout[i]!, 0);
            const dot = values.reduce((t, i) => t + dout[i]! * (x[i]! - centre[c]!), 0);
            const magnitude = values.reduce((t, i) => t + Math.abs(dout[i]!) * (1 + Math.abs(x[i]! - centre[c]!)), 0);
            close(sums[c]!, sum, magnitude, `sums[${c}]`);
            close(dots[c]!, dot, magnitude, `dots[${c}]`);
            const eps = dtype === 'float32' ? 1e-6 : 1e-14;
            for (const i of values) {
              const want = a[c]! * (x[i]! - centre[c]!) + k[c]!;
              const wantDx = a[c]! * dout[i]! + b[c]! * (x[i]! - centre[c]!) + k[c]!;
              assert.ok(Math.abs(out[i]! - want) <= eps * (1 + Math.abs(want)), `${label}: out ${out[i]} vs ${want}`);
              assert.ok(Math.abs(dx[i]! - wantDx) <= eps * (1 + Math.abs(wantDx)), `${label}: dx ${dx[i]} vs ${wantDx}`);
            }
          }
        }
      });
    }
  });
}

// ---------------------------------------------------------------- optimiser

function optimiserSuite(kernels: Kernels): void {
  describe('adamStep', () => {
    for (const dtype of ['float64', 'float32'] as DType[]) {
      it(`${dtype}: the same bits as the float64 formula, odd lengths, NaN and infinity probed`, () => {
        const gen = rng(dtype === 'float64' ? 71 : 72);
        for (const n of [0, 1, 2, 3, 17, 1000]) {
          const [w, g, m0, v0] = [0, 1, 2, 3].map(() => randomArray(gen, dtype, n));
          for (let i = 0; i < n; i++) v0[i] = Math.abs(v0[i]!);
          const [beta1, beta2, stepScale, rootScale, eps] = [0.9, 0.999, 1e-3 / (1 - 0.9 ** 3), 1 / Math.sqrt(1 - 0.999 ** 3), 1e-8];
          const next = makeArray(dtype, n).fill(Number.NaN);
          const m = makeArray(dtype, n).fill(Number.NaN);
          const v = makeArray(dtype, n).fill(Number.NaN);
          const probe = kernels.adamStep(w, g, m0, v0, n, beta1, beta2, stepScale, rootScale, eps, next, m, v);
          assert.equal(probe, 0, `n ${n}: probe`);
          const [wantNext, wantM, wantV] = [makeArray(dtype, n), makeArray(dtype, n), makeArray(dtype, n)];
          for (let i = 0; i < n; i++) {
            wantM[i] = beta1 * m0[i]! + (1 - beta1) * g[i]!;
            wantV[i] = beta2 * v0[i]! + (1 - beta2) * g[i]! * g[i]!;
            wantNext[i] = w[i]! - (stepScale * wantM[i]!) / (Math.sqrt(wantV[i]!) * rootScale + eps);
          }
          assert.deepEqual([next, m, v], [wantNext, wantM, wantV], `n ${n}`);
          if (n > 2) {
            for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
              const g2 = g.slice();
              g2[n - 2] = bad;
              assert.ok(Number.isNaN(kernels.adamStep(w, g2, m0, v0, n, beta1, beta2, stepScale, rootScale, eps, next, m, v)), `n ${n}: ${bad} in g`);
              const w2 = w.slice();
              w2[n - 1] = -bad;
              assert.ok(Number.isNaN(kernels.adamStep(w2, g, m0, v0, n, beta1, beta2, stepScale, rootScale, eps, next, m, v)), `n ${n}: ${-bad} in w`);
            }
          }
        }
      });
    }
  });
}

/** Registers the whole kernel contract for one backend under `kernels <name>`. */
export function runKernelSuite(kernels: Kernels, name: string = kernels.name): void {
  describe(`kernels ${name}`, () => {
    gemmSuite(kernels);
    im2colSuite(kernels);
    poolSuite(kernels);
    elementwiseSuite(kernels);
    channelSuite(kernels);
    optimiserSuite(kernels);
    convBatchSuite(kernels);
  });
}
