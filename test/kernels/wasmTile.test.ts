/**
 * The GEMM register tiles of the relaxed-SIMD build (kernels.ts: microKernel 4×8, microKernel5
 * 5×8): the narrow tile alone through the kernel suite (wasmRelaxed.test.ts runs the wide one);
 * the same bits from both on GEMMs of every row count up to past two row blocks, both
 * transposes, accumulate, strided operands, and on whole conv layers (forward with bias, relu,
 * the fused pool, backward) on 1 and 2 threads; and the load-time probe that picks one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { wasmRelaxedSimdSupported, wasmTile, setBackend, getKernels } from '../../src/kernels/index.js';
import { createWasmKernels, type WasmKernelInstance } from '../../src/kernels/wasm/index.js';
import { convGeometry } from '../../src/layers/conv.js';
import { convBatchGeometry } from '../../src/layers/geometry.js';
import { rng } from '../../src/rng.js';
import { Runtime } from '../../src/kernels/wasm/runtime.js';
import { runKernelSuite } from './suite.js';
import { workersStarted } from '../helpers.js';


/** Uniform values in [-1, 1): general floats, so that any change of summation order shows in the bits. */
function uniform(random: () => number, length: number): Float32Array {
  return Float32Array.from({ length }, () => 2 * random() - 1);
}

/** The index of the first value whose bits differ, or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

runKernelSuite(createWasmKernels({ relaxed: true, tile: 'narrow' }), 'wasm (relaxed SIMD, 4×8 tile only)');

describe('the wide and the narrow GEMM tile', () => {
  const narrow = createWasmKernels({ relaxed: true, tile: 'narrow', threads: 1 });
  const wide = createWasmKernels({ relaxed: true, tile: 'wide', threads: 1 });
  const wide2 = createWasmKernels({ relaxed: true, tile: 'wide', threads: 2, splitAll: true });
  before(() => workersStarted(wide2, 1));
  after(() => {
    narrow.terminate();
    wide.terminate();
    wide2.terminate();
  });

  it('the options pick them (this engine has relaxed SIMD; the plain build has the narrow tile only)', () => {
    assert.ok(wasmRelaxedSimdSupported(), 'Node 20 and later have relaxed SIMD (the loader turns its flag on)');
    assert.equal(narrow.wideTile, false);
    assert.equal(wide.wideTile, true);
    assert.equal(wide2.wideTile, true);
    const plain = createWasmKernels({ relaxed: false, tile: 'wide', threads: 1 });
    assert.equal(plain.wideTile, false);
    plain.terminate();
  });

  it('give the same bits on GEMMs of 1 to 140 rows and 200 to 260, both transposes, accumulate, strided operands, k past one slice', () => {
    const generator = rng(15);
    const random = (): number => generator.uniform();
    // m: every panel split (5s then 4s, 7 and 11 with a short last panel) within and across row blocks of 128.
    const rows = [...Array.from({ length: 140 }, (_, i) => i + 1), 200, 203, 255, 256, 257, 260];
    let cases = 0;
    for (const m of rows) {
      const n = 1 + Math.floor(random() * 40);
      const k = [1, 7, 64, 300][m % 4]!;
      const transA = m % 3 === 0;
      const transB = m % 5 === 0;
      const accumulate = m % 2 === 0;
      // Leading dimensions with slack on some cases: rows of the operands not contiguous.
      const pad = m % 7 === 0 ? 3 : 0;
      const lda = (transA ? m : k) + pad;
      const ldb = (transB ? k : n) + pad;
      const ldc = n + pad;
      const a = uniform(random, (transA ? k : m) * lda);
      const b = uniform(random, (transB ? n : k) * ldb);
      const c0 = uniform(random, m * ldc);
      const outputs = [narrow, wide, wide2].map((kernels) => {
        const c = c0.slice();
        kernels.gemm({ transA, transB, m, n, k, a, aOffset: 0, lda, b, bOffset: 0, ldb, c, cOffset: 0, ldc, accumulate });
        return c;
      });
      const what = `m ${m}, n ${n}, k ${k}, transA ${transA}, transB ${transB}, accumulate ${accumulate}, pad ${pad}`;
      assert.equal(firstDifference(outputs[0]!, outputs[1]!), -1, `wide, ${what}`);
      assert.equal(firstDifference(outputs[0]!, outputs[2]!), -1, `wide on 2 threads, ${what}`);
      cases++;
    }
    assert.equal(cases, rows.length);
  });

  it('give the same bits through whole conv layers: forward (bias, relu), fused conv → relu → pool, backward', () => {
    const generator = rng(16);
    const random = (): number => generator.uniform();
    // Filter counts that need 5s and 4s (32 = 4·5 + 3·4), a short last panel (7), one panel (3), 64 = 12·5 + 4.
    for (const [N, C, H, W, F, K, stride, pad] of [
      [3, 3, 12, 12, 32, 7, 1, 3],
      [2, 5, 9, 11, 7, 3, 1, 1],
      [2, 4, 10, 10, 3, 3, 2, 1],
      [4, 16, 8, 8, 64, 3, 1, 1],
    ] as const) {
      const xT = { shape: [N, C, H, W], data: uniform(random, N * C * H * W), dtype: 'float32' as const };
      const wT = { shape: [F, C, K, K], data: uniform(random, F * C * K * K), dtype: 'float32' as const };
      const bT = { shape: [F], data: uniform(random, F), dtype: 'float32' as const };
      const g = convBatchGeometry(convGeometry('test', xT, wT, bT, { stride, pad }), 64);
      const outSize = N * F * g.outHeight * g.outWidth;
      const dout = uniform(random, outSize);
      const [ph, pw] = [Math.floor(g.outHeight / 2), Math.floor(g.outWidth / 2)];
      const dpooled = uniform(random, N * F * ph * pw);
      const run = (kernels: WasmKernelInstance): Float32Array[] => {
        const batch = kernels.capabilities!.batchConv32!;
        const out = new Float32Array(outSize);
        batch.convForward(xT.data, wT.data, bT.data, g, out);
        const withRelu = new Float32Array(outSize);
        batch.convForward(xT.data, wT.data, bT.data, { ...g, relu: true }, withRelu);
        const dx = new Float32Array(xT.data.length);
        const dw = new Float32Array(wT.data.length);
        const db = new Float32Array(F);
        batch.convBackward(xT.data, wT.data, dout.slice(), g, dx, dw, db);
        const pooled = new Float32Array(N * F * ph * pw);
        const argmax = new Int32Array(pooled.length);
        batch.convReluPoolForward(xT.data, wT.data, bT.data, { ...g, relu: true }, pooled, argmax, ph, pw);
        const pdx = new Float32Array(xT.data.length);
        const pdw = new Float32Array(wT.data.length);
        const pdb = new Float32Array(F);
        batch.convReluPoolBackward(xT.data, wT.data, { ...g, relu: true }, dpooled, pooled, argmax, ph, pw, pdx, pdw, pdb);
        return [out, withRelu, dx, dw, db, pooled, new Float32Array(argmax.buffer), pdx, pdw, pdb];
      };
      const names = ['out', 'out (relu)', 'dx', 'dw', 'db', 'pooled', 'argmax', 'dx (pool)', 'dw (pool)', 'db (pool)'];
      const reference = run(narrow);
      for (const [label, kernels] of [['wide', wide], ['wide on 2 threads', wide2]] as const) {
        const got = run(kernels);
        names.forEach((name, i) => assert.equal(firstDifference(reference[i]!, got[i]!), -1, `${label}: ${name}, conv ${K}×${K} ${C}→${F} stride ${stride} on (${N}, ${C}, ${H}, ${W})`));
      }
    }
  });
});

describe('every thread uses the tile the instance chose', () => {
  it("each worker's scratch carries the flag, placed beside the first one or, once resident blocks exist, elsewhere", () => {
    for (const tile of ['wide', 'narrow'] as const) {
      for (const residentFirst of [false, true]) {
        const runtime = new Runtime({ relaxed: true, tile, threads: 1 });
        try {
          // A resident block makes new scratch areas go wherever there is room (LinearMemory.reserve).
          if (residentFirst) assert.ok(runtime.mem.resident32(100_000) !== undefined);
          runtime.setThreads(4);
          runtime.setThreads(8); // seven GEMM scratch areas of ~1.2 MB, in two steps
          const areas = (runtime as unknown as { workerWork: number[] }).workerWork;
          assert.equal(areas.length, 7);
          for (const at of [runtime.work, ...areas]) {
            assert.equal(runtime.mem.i32[at >> 2], tile === 'wide' ? 1 : 0, `${tile}${residentFirst ? ', resident block first' : ''}: the scratch at ${at}`);
          }
        } finally {
          runtime.terminate();
        }
      }
    }
  });
});

describe('the load-time probe', () => {
  it('times both tiles once per process and picks the wide one only where it is over 3% faster', () => {
    setBackend('wasm');
    getKernels();
    const tile = wasmTile();
    assert.ok(tile !== undefined && tile.probe !== undefined, 'the default instance runs the relaxed build and probes');
    const { narrow, wide } = tile.probe;
    assert.ok(Number.isFinite(narrow) && narrow > 0.5 && Number.isFinite(wide) && wide > 0.5, JSON.stringify(tile.probe));
    assert.equal(tile.tile, wide > 1.03 * narrow ? 'wide' : 'narrow');
    // A later instance of the same build reuses the timing: same choice, no second probe.
    const again = createWasmKernels({ relaxed: true, threads: 1 });
    assert.equal(again.wideTile, tile.tile === 'wide');
    again.terminate();
  });
});
