/**
 * Resident float32 arrays in WebAssembly memory (KernelCapabilities.resident32, memory.ts): they
 * keep their values while the scratch grows, staging is used and other blocks come and go; the
 * kernels use them in place; freed space is reused; threads added after them get GEMM buffers
 * clear of them; an unshared memory offers none.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getThreads, jsKernels, setThreads } from '../../src/kernels/index.js';
import type { Float32Heap } from '../../src/tensor.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { convGeometry } from '../../src/layers/conv.js';
import { convBatchGeometry } from '../../src/layers/geometry.js';
import { workersStarted } from '../helpers.js';

/** A pattern that differs per block and per position (small integers: sums stay exact in float32). */
const pattern = (seed: number, i: number): number => ((i * 7 + seed * 13) % 11) - 5;

function filled(heap: Float32Heap, length: number, seed: number): Float32Array {
  const view = heap.allocate(length);
  assert.ok(view !== undefined, 'shared memory gives resident blocks');
  for (let i = 0; i < length; i++) view[i] = pattern(seed, i);
  return view;
}

function assertIntact(view: Float32Array, seed: number, what: string): void {
  for (let i = 0; i < view.length; i++) {
    if (view[i] !== pattern(seed, i)) assert.fail(`${what}: value ${i} is ${view[i]}, expected ${pattern(seed, i)}`);
  }
}

const span = (a: Float32Array): [number, number] => [a.byteOffset, a.byteOffset + a.byteLength];
function assertDisjoint(views: Float32Array[]): void {
  const spans = views.map(span).sort((p, q) => p[0] - q[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i - 1]![1] <= spans[i]![0], `blocks overlap: ${JSON.stringify(spans)}`);
}

/** c (m, n) = a (m, k) · b (k, n) through a kernel table; c is overwritten. */
function gemm(kernels: { gemm: typeof jsKernels.gemm }, a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number): void {
  kernels.gemm({ transA: false, transB: false, m, n, k, a, aOffset: 0, lda: k, b, bOffset: 0, ldb: n, c, cOffset: 0, ldc: n, accumulate: false });
}


describe('resident float32 blocks in WebAssembly memory', () => {
  it('keep their values through scratch growth, staging and other blocks; the kernels use them in place; freed space is reused', () => {
    const kernels = createWasmKernels({ threads: 1 });
    try {
      const heap = kernels.capabilities!.resident32!;
      const scratch = kernels.capabilities!.scratch32!;
      const a = filled(heap, 1000, 1);
      assert.ok(a.buffer instanceof SharedArrayBuffer);
      scratch(500)!.fill(99);
      const b = filled(heap, 3000, 2);
      // The scratch must grow past b: it moves above it rather than over it.
      const bigScratch = scratch(200_000)!;
      bigScratch.fill(-99);
      assertDisjoint([a, b, bigScratch]);
      assertIntact(a, 1, 'a after the scratch grew');
      assertIntact(b, 2, 'b after the scratch grew');

      // A GEMM on ordinary arrays (staged: large copies into the memory) leaves the blocks alone.
      const [m, n, k] = [64, 96, 80];
      const x = Float32Array.from({ length: m * k }, (_, i) => pattern(3, i));
      const y = Float32Array.from({ length: k * n }, (_, i) => pattern(4, i));
      const staged = new Float32Array(m * n);
      gemm(kernels, x, y, staged, m, n, k);
      assertIntact(a, 1, 'a after a staged GEMM');
      assertIntact(b, 2, 'b after a staged GEMM');

      // The same GEMM on resident operands and output: in place, the same numbers.
      const xr = filled(heap, m * k, 3);
      const yr = filled(heap, k * n, 4);
      const cr = heap.allocate(m * n)!;
      gemm(kernels, xr, yr, cr, m, n, k);
      assert.deepEqual(Array.from(cr), Array.from(staged));
      const reference = new Float32Array(m * n);
      gemm(jsKernels, x, y, reference, m, n, k);
      assert.deepEqual(Array.from(cr), Array.from(reference), 'small integers: exact in any order');
      assertDisjoint([a, b, xr, yr, cr, scratch(200_000)!]);

      // Freed space is reused (the smallest free area that fits), and merged with its neighbours.
      const where = a.byteOffset;
      heap.free(a);
      const c = filled(heap, 900, 5);
      assert.equal(c.byteOffset, where, 'the freed block is reused');
      heap.free(c);
      heap.free(b);
      const d = filled(heap, 3500, 6); // fits only in a's and b's space merged (or the old scratch's)
      assertDisjoint([d, xr, yr, cr]);
      assert.ok(d.byteOffset < xr.byteOffset, 'placed in freed space below the later blocks');
      assertIntact(xr, 3, 'xr after frees and reuse');
      heap.free(new Float32Array(4)); // not one of its blocks: ignored
    } finally {
      kernels.terminate();
    }
  });

  it('threads added after resident blocks get GEMM buffers clear of them; results do not depend on the thread count', async () => {
    const previous = getThreads();
    setThreads(1);
    const kernels = createWasmKernels(); // follows setThreads
    try {
      const heap = kernels.capabilities!.resident32!;
      const [m, n, k] = [200, 150, 120]; // 3.6 M multiply-adds: split over the threads
      const x = filled(heap, m * k, 7);
      const y = filled(heap, k * n, 8);
      const one = heap.allocate(m * n)!;
      gemm(kernels, x, y, one, m, n, k);
      setThreads(3);
      await workersStarted(kernels, 2);
      const three = heap.allocate(m * n)!;
      const before = kernels.chunkCounts().workers;
      // The calling thread may take every chunk before a worker wakes: repeat until a worker has run some.
      for (let attempt = 0; attempt < 200 && kernels.chunkCounts().workers === before; attempt++) {
        gemm(kernels, x, y, three, m, n, k);
        assert.deepEqual(Array.from(three), Array.from(one));
      }
      assert.ok(kernels.chunkCounts().workers > before, 'the workers ran chunks');
      assertIntact(x, 7, 'x after the workers ran in their new GEMM buffers');
      assertIntact(y, 8, 'y after the workers ran in their new GEMM buffers');
    } finally {
      setThreads(previous);
      kernels.terminate();
    }
  });

  it("a fused conv → relu → 2×2 pool reads and writes resident pooled outputs, argmax (Int32 views) and gradients in place: the same bits as ordinary arrays", async () => {
    // N 2: the forward splits each image's positions; N 8: it splits by images.
    for (const threads of [1, 2]) {
      for (const N of [2, 8]) {
        const kernels = createWasmKernels({ threads });
        try {
          await workersStarted(kernels, threads - 1);
          const [C, H, W, F] = [3, 10, 12, 4];
          const g = convGeometry('test', { shape: [N, C, H, W], data: new Float32Array(N * C * H * W), dtype: 'float32' }, { shape: [F, C, 3, 3], data: new Float32Array(F * C * 9), dtype: 'float32' }, { shape: [F], data: new Float32Array(F), dtype: 'float32' }, { pad: 1 });
          const geometry = convBatchGeometry(g, 64);
          const x = Float32Array.from({ length: N * C * H * W }, (_, i) => Math.sin(i * 0.7));
          const w = Float32Array.from({ length: F * C * 9 }, (_, i) => Math.cos(i * 1.3) * 0.5);
          const b = Float32Array.from({ length: F }, (_, i) => 0.1 * i - 0.15);
          const [ph, pw] = [H / 2, W / 2];
          const size = N * F * ph * pw;
          const dpooled = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.31));
          const heap = kernels.capabilities!.resident32!;
          const batch = kernels.capabilities!.batchConv32!;
          const run = (resident: boolean): Float32Array[] => {
            const pooled = resident ? heap.allocate(size)! : new Float32Array(size);
            const argmaxBlock = heap.allocate(size)!;
            const argmax = resident ? new Int32Array(argmaxBlock.buffer, argmaxBlock.byteOffset, size) : new Int32Array(size);
            const dp = resident ? heap.allocate(size)! : new Float32Array(size);
            dp.set(dpooled);
            batch.convReluPoolForward(x, w, b, geometry, pooled, argmax, ph, pw);
            const [dx, dw, db] = [new Float32Array(x.length), new Float32Array(w.length), new Float32Array(F)];
            batch.convReluPoolBackward(x, w, geometry, dp, pooled, argmax, ph, pw, dx, dw, db);
            return [Float32Array.from(pooled), new Float32Array(Int32Array.from(argmax)), dx, dw, db];
          };
          const ordinary = run(false);
          const resident = run(true);
          assert.ok(ordinary[0]!.some((v) => v > 0) && ordinary[2]!.some((v) => v !== 0), 'a case with work in it');
          ['pooled', 'argmax', 'dx', 'dw', 'db'].forEach((name, i) => assert.deepEqual(resident[i], ordinary[i], `${threads} thread(s), N ${N}: ${name}`));
        } finally {
          kernels.terminate();
        }
      }
    }
  });

  it('a 2×2 max pool writes a resident output and argmax (an Int32 view, at an offset) in place: the same as ordinary arrays', () => {
    const kernels = createWasmKernels({ threads: 1 });
    try {
      const heap = kernels.capabilities!.resident32!;
      const [planes, height, width] = [6, 8, 10];
      const g = { height, width, outHeight: 4, outWidth: 5, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, dilationH: 1, dilationW: 1 };
      const x = Float32Array.from({ length: planes * height * width }, (_, i) => Math.sin(i * 1.7));
      const size = planes * 20;
      const out = new Float32Array(size + 3);
      const argmax = new Int32Array(size + 3);
      kernels.maxPoolForward(x, 0, planes, g, out, 3, argmax, 3);
      const residentOut = heap.allocate(size + 3)!.fill(NaN);
      const block = heap.allocate(size + 3)!;
      const residentArgmax = new Int32Array(block.buffer, block.byteOffset, size + 3).fill(-1);
      kernels.maxPoolForward(x, 0, planes, g, residentOut, 3, residentArgmax, 3);
      assert.deepEqual(Array.from(residentOut.subarray(3)), Array.from(out.subarray(3)));
      assert.deepEqual(Array.from(residentArgmax.subarray(3)), Array.from(argmax.subarray(3)));
      assert.deepEqual(Array.from(residentArgmax.subarray(0, 3)), [-1, -1, -1], 'nothing written before the offset');
    } finally {
      kernels.terminate();
    }
  });

  it('max pool backward runs in WebAssembly on resident operands, adding into dx (overlapping windows too): the same bits as the JavaScript kernel', () => {
    const kernels = createWasmKernels({ threads: 1 });
    try {
      const heap = kernels.capabilities!.resident32!;
      const planes = 5;
      const windows = [
        { height: 9, width: 7, outHeight: 5, outWidth: 4, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, dilationH: 1, dilationW: 1 },
        { height: 8, width: 6, outHeight: 4, outWidth: 3, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, dilationH: 1, dilationW: 1 },
      ];
      for (const g of windows) {
        const [inSize, outSize] = [planes * g.height * g.width, planes * g.outHeight * g.outWidth];
        const x = Float32Array.from({ length: inSize }, (_, i) => Math.sin(i * 0.37) * 3);
        const argmax = new Int32Array(outSize + 2);
        jsKernels.maxPoolForward(x, 0, planes, g, new Float32Array(outSize + 2), 2, argmax, 2);
        const dout = Float32Array.from({ length: outSize + 1 }, (_, i) => Math.cos(i * 1.1) * 10 ** ((i % 5) - 2));
        const dx0 = Float32Array.from({ length: inSize + 3 }, (_, i) => (i % 3) - 1);
        const want = Float32Array.from(dx0);
        jsKernels.maxPoolBackward(dout, 1, argmax, 2, planes, g, want, 3);
        const [rDout, rDx, block] = [heap.allocate(outSize + 1)!, heap.allocate(inSize + 3)!, heap.allocate(outSize + 2)!];
        const rArgmax = new Int32Array(block.buffer, block.byteOffset, outSize + 2);
        rDout.set(dout);
        rDx.set(dx0);
        rArgmax.set(argmax);
        kernels.maxPoolBackward(rDout, 1, rArgmax, 2, planes, g, rDx, 3);
        assert.deepEqual(Array.from(rDx), Array.from(want), `${g.kernelH}×${g.kernelW} stride ${g.strideH}`);
      }
    } finally {
      kernels.terminate();
    }
  });

  it('add runs in WebAssembly on resident operands (in place too): the same bits as the JavaScript kernel', () => {
    const kernels = createWasmKernels({ threads: 1 });
    try {
      const heap = kernels.capabilities!.resident32!;
      for (const n of [1, 3, 4, 7, 1001]) {
        const a = heap.allocate(n + 2)!;
        const b = heap.allocate(n + 1)!;
        a.forEach((_, i) => (a[i] = Math.sin(i * 2.1) * 10 ** ((i % 7) - 3)));
        b.forEach((_, i) => (b[i] = Math.cos(i * 0.9) * 10 ** ((i % 5) - 2)));
        [Number.NaN, -0, Infinity, -Infinity, 3.4e38].forEach((v, i) => i < n && (a[2 + i] = v));
        if (n > 1) b[1 + n - 1] = 3.4e38; // overflows to ∞ with a's 3.4e38 where they meet
        const want = new Float32Array(n + 3).fill(7);
        jsKernels.add(Float32Array.from(a), 2, Float32Array.from(b), 1, n, want, 3);
        const out = heap.allocate(n + 3)!.fill(7);
        kernels.add(a, 2, b, 1, n, out, 3);
        assert.deepEqual(Array.from(out), Array.from(want), `n=${n}`);
        kernels.add(a, 2, b, 1, n, a, 2);
        assert.deepEqual(Array.from(a.subarray(2)), Array.from(want.subarray(3)), `in place, n=${n}`);
      }
    } finally {
      kernels.terminate();
    }
  });

  it('an unshared memory has none (its views would die when it grows): callers use ordinary arrays', () => {
    const kernels = createWasmKernels({ shared: false, threads: 1 });
    assert.equal(kernels.capabilities!.resident32!.allocate(10), undefined);
  });
});
