/**
 * `npm run bench`: the fast layers on the issue's shapes, this machine, on each kernel backend
 * (js: pure TypeScript, one thread; wasm: WebAssembly SIMD for float32 — float64 runs the js
 * kernels — on one thread and on BENCH_THREADS threads, default the number of cores, at least
 * 2), with the ratios measured in the same run. The conv section also times, on one thread,
 * the plain-SIMD build and the relaxed build with the GEMM register tile the loader did not pick.
 *
 * Every figure is the median of BENCH_REPS timed runs (default 7) after two warm-up runs.
 * Conv flops: forward = 2·N·F·(C/groups)·HH·WW·Ho·Wo, forward+backward = 3× that.
 * The naive layers are far slower, so each is timed once on a batch of NAIVE_BATCH images and
 * scaled to the full batch (it is linear in N); the speedup column says so.
 *
 * Sections: conv, convT (transposed conv on a decoder's shape; flops: forward =
 * 2·N·C·(F/groups)·HH·WW·H·W, the GEMM's work, forward+backward = 3× that), pool, elementwise,
 * training, inference (the three-layer net's model.forward at batch 50, and a pass over the
 * 10,000 shipped digits in batches of 100 as `convnet evaluate` makes it), memory (resident
 * memory after epochs 2 and 10 of `convnet train`, from its metrics.json), files (a model
 * file's size, save and load times), decode (an image folder of 10,000
 * small PNGs decoded by loadImageFolder on 1 and 2 worker threads, and read back from its cache;
 * median of min(BENCH_REPS, 3) runs each, worker start-up included). Name some to run only those, e.g. `node build/bench/bench.js files pool`; with no
 * names all run, and the targets are checked (only then: they need conv, pool and training).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadImageFolder, loadShippedMnist } from '../src/data/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBackend, getKernels, getThreads, jsKernels, setBackend, setKernels, setThreads, wasmKernels, wasmTile, wasmVariant, wasmWorkersReady, type Backend } from '../src/kernels/index.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { reluBackward, reluForward } from '../src/layers/activations.js';
import { affineBackward, affineForward } from '../src/layers/affineFast.js';
import { convBackwardNaive, convForwardNaive, type ConvParam } from '../src/layers/conv.js';
import { convBackward, convForward } from '../src/layers/convFast.js';
import { convTransposeBackwardNaive, convTransposeForwardNaive, type ConvTransposeParam } from '../src/layers/convTranspose.js';
import { convTransposeBackward, convTransposeForward } from '../src/layers/convTransposeFast.js';
import { softmaxLoss } from '../src/layers/loss.js';
import { maxPoolBackwardNaive, maxPoolForwardNaive } from '../src/layers/pool.js';
import { maxPoolBackward, maxPoolForward } from '../src/layers/poolFast.js';
import { rng } from '../src/rng.js';
import { randn, reshape, type DType, type Tensor } from '../src/tensor.js';
import { ThreeLayerConvNet } from '../src/models/threeLayerConvNet.js';
import { ConvNet } from '../src/models/spec.js';
import type { Network } from '../src/models/network.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import { decodeModel, encodeModel } from '../src/io/model.js';

const REPS = Number(process.env.BENCH_REPS ?? 7);
const THREADS = Number(process.env.BENCH_THREADS ?? Math.max(2, getThreads()));
const NAIVE_BATCH = 2;
const generator = rng(231);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median milliseconds of `run` over REPS runs after `warmup` untimed ones. */
function time(run: () => void, reps = REPS, warmup = 2): number {
  for (let i = 0; i < warmup; i++) run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return median(times);
}

function randomTensor(shape: number[], dtype: DType, scale = 1): Tensor {
  const t = randn(shape, generator, dtype);
  if (scale !== 1) for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
  return t;
}

const pad = (s: string, n: number): string => s.padStart(n);

interface ConvCase {
  label: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  param: ConvParam;
}

const CONV_CASES: ConvCase[] = [
  { label: 'x(50,3,32,32) w(32,3,7,7) s1 p3', x: [50, 3, 32, 32], w: [32, 3, 7, 7], param: { stride: 1, pad: 3 } },
  { label: 'x(50,64,16,16) w(64,64,3,3) s1 p1', x: [50, 64, 16, 16], w: [64, 64, 3, 3], param: { stride: 1, pad: 1 } },
  { label: 'x(50,32,32,32) w(64,32,3,3) s2 p1', x: [50, 32, 32, 32], w: [64, 32, 3, 3], param: { stride: 2, pad: 1 } },
];

/**
 * The plain-SIMD build on one thread, timed beside the default where that is the relaxed-SIMD
 * build (fused multiply-add): what CONVNET_RELAXED_SIMD=0, or an engine without relaxed SIMD, gets.
 */
setBackend('wasm'); // loads the module, so that wasmVariant() answers
const plainSimd = wasmVariant() === 'relaxed-simd' ? createWasmKernels({ relaxed: false, threads: 1 }) : undefined;
/**
 * The relaxed build with the GEMM tile the loader did not pick (5×8 and 4×8, or 4×8 alone), on
 * one thread: what the load-time probe's choice is worth on each conv shape.
 */
const chosenTile = wasmTile();
const otherTile = wasmVariant() === 'relaxed-simd' ? createWasmKernels({ relaxed: true, tile: chosenTile?.tile === 'wide' ? 'narrow' : 'wide', threads: 1 }) : undefined;
const tileName = (wide: boolean): string => (wide ? '5×8+4×8' : '4×8');
setBackend('auto');

/** The float32 figures the targets are about, filled in as the benchmarks run. */
const targets = {
  convGflops: { js: [] as number[], wasm: [] as number[], threads: [] as number[], plain: [] as number[] },
  poolMs: Number.NaN,
  imagesPerSecond: { js: Number.NaN, wasm: Number.NaN, threads: Number.NaN },
  forwardImagesPerSecond: { one: Number.NaN, threads: Number.NaN },
  digitsImagesPerSecond: Number.NaN,
  rssGrowth: Number.NaN,
};

/** A backend on a number of threads (js is always one). */
function use(backend: Backend, threads = 1): void {
  setBackend(backend);
  setThreads(threads);
}

interface ConvTiming {
  fwd: number;
  fwdBwd: number;
  flops: number;
}

/** A conv case's random operands, its flops, and its forward and forward+backward as calls. */
function convWork(c: ConvCase, dtype: DType): { flops: number; forward: () => void; both: () => void } {
  const x = randomTensor(c.x, dtype);
  const w = randomTensor(c.w, dtype, 0.1);
  const b = randomTensor([c.w[0]], dtype);
  const { out } = convForward(x, w, b, c.param);
  const dout = randomTensor(out.shape, dtype);
  const [N, F, Ho, Wo] = out.shape as [number, number, number, number];
  return {
    flops: 2 * N * F * c.w[1] * c.w[2] * c.w[3] * Ho * Wo,
    forward: () => void convForward(x, w, b, c.param),
    both: () => {
      const r = convForward(x, w, b, c.param);
      convBackward(dout, r.cache);
    },
  };
}

/**
 * The default wasm build on one thread and `otherTile`, timed in turn (forward, then
 * forward+backward, alternating which goes first): a few percent between them would drown in
 * this machine's drift if each were timed in a block of its own.
 */
function benchTilePair(c: ConvCase, dtype: DType): { chosen: ConvTiming; other: ConvTiming } {
  use('wasm', 1);
  const kernels = [getKernels(), otherTile!];
  const { flops, forward, both } = convWork(c, dtype);
  const times = [0, 1].map(() => ({ fwd: [] as number[], fwdBwd: [] as number[] }));
  for (let rep = -2; rep < REPS; rep++) {
    for (const k of rep % 2 === 0 ? [0, 1] : [1, 0]) {
      setKernels(kernels[k]!);
      let start = performance.now();
      forward();
      const fwd = performance.now() - start;
      start = performance.now();
      both();
      const fwdBwd = performance.now() - start;
      if (rep >= 0) {
        times[k]!.fwd.push(fwd);
        times[k]!.fwdBwd.push(fwdBwd);
      }
    }
  }
  setKernels(kernels[0]!);
  const [chosen, other] = times.map((t) => ({ fwd: median(t.fwd), fwdBwd: median(t.fwdBwd), flops }));
  return { chosen: chosen!, other: other! };
}

function benchConvCase(c: ConvCase, dtype: DType, backend: Backend | 'wasm-simd', threads = 1): ConvTiming {
  if (backend === 'wasm-simd') {
    use('wasm');
    setKernels(plainSimd!);
  } else {
    use(backend, threads);
  }
  const { flops, forward, both } = convWork(c, dtype);
  return { fwd: time(forward), fwdBwd: time(both), flops };
}

/** Milliseconds of the naive forward+backward on the full batch (timed on NAIVE_BATCH images). */
function naiveConvMs(c: ConvCase, dtype: DType): number {
  const xs = randomTensor([NAIVE_BATCH, ...c.x.slice(1)], dtype);
  const w = randomTensor(c.w, dtype, 0.1);
  const b = randomTensor([c.w[0]], dtype);
  const start = performance.now();
  const r = convForwardNaive(xs, w, b, c.param);
  convBackwardNaive(randomTensor(r.out.shape, dtype), r.cache);
  return ((performance.now() - start) * c.x[0]) / NAIVE_BATCH;
}

function convRow(c: ConvCase, dtype: DType, backend: string, t: ConvTiming, note: string): string {
  return `| ${c.label.padEnd(36)} | ${backend.padEnd(7)} | ${dtype} | ${pad(t.fwd.toFixed(1), 8)} | ${pad((t.flops / t.fwd / 1e6).toFixed(2), 7)} | ${pad(t.fwdBwd.toFixed(1), 10)} | ${pad(((3 * t.flops) / t.fwdBwd / 1e6).toFixed(2), 7)} | ${note} |`;
}

/** float32: each shape on js and wasm, the ratio, and the naive speedup; float64: js only. */
function benchConv(dtype: DType, withNaive: boolean): string[] {
  const rows: string[] = [];
  for (const c of CONV_CASES) {
    const naive = withNaive ? naiveConvMs(c, dtype) : Number.NaN;
    const speedup = (t: ConvTiming): string => (withNaive ? `naive→fast ${(naive / t.fwdBwd).toFixed(0)}× (naive ${(naive / 1000).toFixed(1)} s)` : '');
    const js = benchConvCase(c, dtype, 'js');
    rows.push(convRow(c, dtype, 'js', js, speedup(js)));
    if (dtype === 'float32') {
      const wasm = benchConvCase(c, dtype, 'wasm');
      const threaded = benchConvCase(c, dtype, 'wasm', THREADS);
      targets.convGflops.js.push(js.flops / js.fwd / 1e6, (3 * js.flops) / js.fwdBwd / 1e6);
      targets.convGflops.wasm.push(wasm.flops / wasm.fwd / 1e6, (3 * wasm.flops) / wasm.fwdBwd / 1e6);
      targets.convGflops.threads.push(threaded.flops / threaded.fwd / 1e6, (3 * threaded.flops) / threaded.fwdBwd / 1e6);
      rows.push(convRow(c, dtype, 'wasm', wasm, `${speedup(wasm)}; wasm/js: fwd ${(js.fwd / wasm.fwd).toFixed(1)}×, fwd+bwd ${(js.fwdBwd / wasm.fwdBwd).toFixed(1)}×`));
      if (plainSimd !== undefined) {
        const plain = benchConvCase(c, dtype, 'wasm-simd');
        targets.convGflops.plain.push(plain.flops / plain.fwd / 1e6, (3 * plain.flops) / plain.fwdBwd / 1e6);
        rows.push(convRow(c, dtype, 'simd', plain, `plain SIMD (no fused multiply-add), one thread; relaxed/plain: fwd ${(plain.fwd / wasm.fwd).toFixed(2)}×, fwd+bwd ${(plain.fwdBwd / wasm.fwdBwd).toFixed(2)}×`));
      }
      if (otherTile !== undefined) {
        const pair = benchTilePair(c, dtype);
        const [chosen, unchosen] = [tileName(!otherTile.wideTile), tileName(otherTile.wideTile)];
        const ratio = (key: 'fwd' | 'fwdBwd'): string => (pair.other[key] / pair.chosen[key]).toFixed(2);
        rows.push(convRow(c, dtype, unchosen, pair.other, `relaxed SIMD with the ${unchosen} GEMM tile, one thread, timed in turn with the loader's pick (${chosen}: fwd ${pair.chosen.fwd.toFixed(1)} ms, fwd+bwd ${pair.chosen.fwdBwd.toFixed(1)} ms); ${chosen} / ${unchosen}: fwd ${ratio('fwd')}×, fwd+bwd ${ratio('fwdBwd')}×`));
      }
      rows.push(convRow(c, dtype, `wasm×${THREADS}`, threaded, `${THREADS} threads / 1: fwd ${(wasm.fwd / threaded.fwd).toFixed(2)}×, fwd+bwd ${(wasm.fwdBwd / threaded.fwdBwd).toFixed(2)}×`));
    }
  }
  return rows;
}

function benchMaxPool(dtype: DType, backend: Backend): string {
  use(backend);
  const x = randomTensor([50, 32, 32, 32], dtype);
  const param = { poolHeight: 2, poolWidth: 2, stride: 2 };
  const dout = randomTensor([50, 32, 16, 16], dtype);
  const fwd = time(() => maxPoolForward(x, param), 3 * REPS);
  const fwdBwd = time(() => maxPoolBackward(dout, maxPoolForward(x, param).cache), 3 * REPS);
  const naive = time(() => maxPoolBackwardNaive(dout, maxPoolForwardNaive(x, param).cache), 3, 1);
  if (dtype === 'float32' && backend === 'js') targets.poolMs = fwdBwd;
  return `| max pool 2×2 s2 on (50,32,32,32) | ${backend.padEnd(7)} | ${dtype} | ${pad(fwd.toFixed(2), 8)} | ${pad(fwdBwd.toFixed(2), 10)} | ${(naive / fwdBwd).toFixed(1)}× (naive ${naive.toFixed(1)} ms) |`;
}

/** The ReLU kernels (what reluForward and reluBackward call) on a conv output, js and wasm. */
function benchReluKernels(): string[] {
  const x = randomTensor([50, 32, 32, 32], 'float32').data;
  const dout = randomTensor([50, 32, 32, 32], 'float32').data;
  const out = new Float32Array(x.length);
  use('wasm');
  return [jsKernels, wasmKernels].map((k) => {
    const fwd = time(() => k.reluForward(x, 0, x.length, out, 0), 3 * REPS);
    const bwd = time(() => k.reluBackward(x, 0, dout, 0, x.length, out, 0), 3 * REPS);
    return `| relu kernels on (50,32,32,32)      | ${k.name.padEnd(7)} | float32 | ${pad(fwd.toFixed(2), 8)} | ${pad(bwd.toFixed(2), 8)} |`;
  });
}

/**
 * One SGD step of the three-layer convnet (conv 32 7×7 pad 3 → relu → 2×2 max pool → affine 100
 * → relu → affine 10 → softmax loss) on a batch of 50 CIFAR-sized images, from the fast layers.
 */
function benchTrainingStep(dtype: DType, backend: Backend, threads = 1): { ms: number; imagesPerSecond: number } {
  use(backend, threads);
  const N = 50;
  const scale = 1e-3;
  const params = {
    W1: randomTensor([32, 3, 7, 7], dtype, scale),
    b1: randomTensor([32], dtype, 0),
    W2: randomTensor([32 * 16 * 16, 100], dtype, scale),
    b2: randomTensor([100], dtype, 0),
    W3: randomTensor([100, 10], dtype, scale),
    b3: randomTensor([10], dtype, 0),
  };
  const x = randomTensor([N, 3, 32, 32], dtype);
  const y = Array.from({ length: N }, () => generator.int(10));
  const lr = 1e-3;
  const step = (): number => {
    const conv = convForward(x, params.W1, params.b1, { stride: 1, pad: 3 });
    const relu1 = reluForward(conv.out);
    const pool = maxPoolForward(relu1.out, { poolHeight: 2, poolWidth: 2, stride: 2 });
    const hidden = affineForward(pool.out, params.W2, params.b2);
    const relu2 = reluForward(hidden.out);
    const scores = affineForward(relu2.out, params.W3, params.b3);
    const { loss, dx: dscores } = softmaxLoss(scores.out, y);
    const g3 = affineBackward(dscores, scores.cache);
    const g2 = affineBackward(reluBackward(g3.dx, relu2.cache), hidden.cache);
    const dpool = maxPoolBackward(reshape(g2.dx, pool.out.shape), pool.cache);
    const g1 = convBackward(reluBackward(dpool, relu1.cache), conv.cache);
    const grads: Record<keyof typeof params, Tensor> = { W1: g1.dw, b1: g1.db, W2: g2.dw, b2: g2.db, W3: g3.dw, b3: g3.db };
    for (const name of Object.keys(params) as (keyof typeof params)[]) {
      const p = params[name].data;
      const d = grads[name].data;
      for (let i = 0; i < p.length; i++) p[i] -= lr * d[i]!;
    }
    return loss;
  };
  const ms = time(step);
  return { ms, imagesPerSecond: (N * 1000) / ms };
}

/** Starts the worker threads and waits for them, so that no timing includes their start-up. */
async function startWorkers(): Promise<void> {
  use('wasm', THREADS);
  for (let waited = 0; wasmWorkersReady() < THREADS - 1; waited += 10) {
    if (waited > 10_000) throw new Error(`only ${wasmWorkersReady()} of ${THREADS - 1} worker threads started in 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The same network and step through the model (ThreeLayerConvNet.loss, whose conv → relu →
 * pool sandwich is one kernel call each way), float32; with `reuse`, as the Solver calls it
 * (loss(X, y, { reuseArrays: true }): the same arrays step after step, in WebAssembly memory).
 */
function benchModelStep(backend: Backend, threads = 1, reuse = false): { ms: number; imagesPerSecond: number } {
  use(backend, threads);
  const N = 50;
  const model = new ThreeLayerConvNet({ inputDim: [3, 32, 32], dtype: 'float32', seed: 5 });
  return timeSgdSteps(model, randomTensor([N, 3, 32, 32], 'float32'), reuse);
}

/** The residual net of the README's Fashion-MNIST row, batch 100, 1×28×28 (its conv layers are small: overheads show). */
const RESIDUAL_SPEC = 'conv(32,3)-bn-relu-pool-res(conv(32,3)-bn-relu-conv(32,3)-bn)-relu-pool-res(conv(64,3)-bn-relu-conv(64,3)-bn)-relu-fc(10)';

function benchResidualStep(backend: Backend, threads: number, reuse: boolean): { ms: number; imagesPerSecond: number } {
  use(backend, threads);
  const model = new ConvNet({ spec: RESIDUAL_SPEC, inputDim: [1, 28, 28], numClasses: 10, dtype: 'float32', seed: 5 });
  return timeSgdSteps(model, randomTensor([100, 1, 28, 28], 'float32'), reuse);
}

/** Median time of loss(X, y) + an in-place SGD update of every parameter. */
function timeSgdSteps(model: Network, x: Tensor, reuse: boolean): { ms: number; imagesPerSecond: number } {
  const N = x.shape[0]!;
  const y = Array.from({ length: N }, () => generator.int(10));
  const lr = 1e-3;
  const step = (): void => {
    const { grads } = reuse ? model.loss(x, y, { reuseArrays: true }) : model.loss(x, y);
    for (const name of Object.keys(model.params)) {
      const p = model.params[name]!.data;
      const d = grads[name]!.data;
      for (let i = 0; i < p.length; i++) p[i] -= lr * d[i]!;
    }
  };
  const ms = time(step);
  return { ms, imagesPerSecond: (N * 1000) / ms };
}

/** The three-layer net's inference forward (model.forward, test mode: no caches, reused arrays) at batch 50, 3×32×32. */
function benchModelForward(backend: Backend, threads = 1): { ms: number; imagesPerSecond: number } {
  use(backend, threads);
  const N = 50;
  const model = new ThreeLayerConvNet({ inputDim: [3, 32, 32], dtype: 'float32', seed: 5 });
  const x = randomTensor([N, 3, 32, 32], 'float32');
  const ms = time(() => model.forward(x));
  return { ms, imagesPerSecond: (N * 1000) / ms };
}

/**
 * What `convnet evaluate` does on the 10,000 shipped digits (all three splits), without the
 * file and dataset loading: a three-layer MNIST net's inference forward in batches of 100.
 */
function benchShippedDigits(backend: Backend, threads = 1): { seconds: number; imagesPerSecond: number } {
  use(backend, threads);
  const data = loadShippedMnist();
  const X = concatBatches([data.XTrain, data.XVal, data.XTest]);
  const model = new ThreeLayerConvNet({ inputDim: [1, 28, 28], dtype: 'float32', seed: 5 });
  const N = X.shape[0]!;
  const D = X.data.length / N;
  const pass = (): void => {
    for (let start = 0; start < N; start += 100) {
      const n = Math.min(100, N - start);
      model.forward({ shape: [n, 1, 28, 28], data: X.data.subarray(start * D, (start + n) * D), dtype: X.dtype });
    }
  };
  const ms = time(pass, Math.min(REPS, 3), 1);
  return { seconds: ms / 1000, imagesPerSecond: (N * 1000) / ms };
}

function concatBatches(parts: Tensor[]): Tensor {
  const total = parts.reduce((sum, t) => sum + t.data.length, 0);
  const data = new Float32Array(total);
  let at = 0;
  for (const t of parts) {
    data.set(t.data, at);
    at += t.data.length;
  }
  const N = parts.reduce((sum, t) => sum + t.shape[0]!, 0);
  return { shape: [N, ...parts[0]!.shape.slice(1)], data, dtype: 'float32' };
}

function benchInferenceSection(): void {
  console.log('\n| inference (model.forward, test mode)                                     | backend | dtype   | ms/batch | images/s |');
  console.log('|--------------------------------------------------------------------------|---------|---------|---------:|---------:|');
  for (const [backend, threads] of [['js', 1], ['wasm', 1], ['wasm', THREADS]] as const) {
    const { ms, imagesPerSecond } = benchModelForward(backend, threads);
    if (backend === 'wasm') targets.forwardImagesPerSecond[threads > 1 ? 'threads' : 'one'] = imagesPerSecond;
    const label = threads > 1 ? `${backend}×${threads}` : backend;
    console.log(`| ThreeLayerConvNet forward, batch 50, 3×32×32                             | ${label.padEnd(7)} | float32 | ${pad(ms.toFixed(1), 8)} | ${pad(imagesPerSecond.toFixed(0), 8)} |`);
  }
  for (const [backend, threads] of [['wasm', 1], ['wasm', THREADS]] as const) {
    const { seconds, imagesPerSecond } = benchShippedDigits(backend, threads);
    if (threads > 1) targets.digitsImagesPerSecond = imagesPerSecond;
    const label = threads > 1 ? `${backend}×${threads}` : backend;
    console.log(`| the 10,000 shipped digits, batches of 100 (convnet evaluate's pass), 1×28×28 | ${label.padEnd(7)} | float32 | ${pad(((seconds * 1000) / 100).toFixed(2), 8)} | ${pad(imagesPerSecond.toFixed(0), 8)} |`);
  }
}

/**
 * Resident memory over a run: `convnet train` (the built CLI, its defaults, on 2,000 shipped
 * digits for 10 epochs) records the process's RSS at each check in metrics.json.
 */
async function benchMemorySection(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'convnet-bench-memory-'));
  try {
    const cli = new URL('../../dist/cli/main.js', import.meta.url);
    const run = spawnSync(process.execPath, [fileURLToPath(cli), 'train', '--epochs', '10', '--num-train', '2000', '--no-progress', '--out', dir], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`convnet train failed: ${run.stderr.trim()}`);
    const metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')) as { rssMiBHistory: number[] };
    // Checks: after iteration 1, then after each epoch: index e is the end of epoch e.
    const rss = metrics.rssMiBHistory;
    const ratio = rss[10]! / rss[2]!;
    targets.rssGrowth = ratio;
    console.log('\n| resident memory, `convnet train --epochs 10 --num-train 2000` (three-layer net) | after epoch 2 | after epoch 10 | 10 / 2 |');
    console.log('|---------------------------------------------------------------------------------|-------------:|--------------:|-------:|');
    console.log(`| RSS of the training process (metrics.json rssMiBHistory)                        | ${pad(`${rss[2]!.toFixed(0)} MiB`, 12)} | ${pad(`${rss[10]!.toFixed(0)} MiB`, 13)} | ${pad(ratio.toFixed(3), 6)} |`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Median milliseconds of an async `run` over REPS runs after one untimed run. */
async function timeAsync(run: () => Promise<void>, reps = REPS): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return median(times);
}

/**
 * A model file of the CS231n three-layer net (ThreeLayerConvNet's defaults: 3×32×32, 32
 * filters of 7×7, hidden 100, float32): its size, encodeModel alone, save (encodeModel +
 * writeFileAtomic, which fsyncs the file and its folder), decodeModel alone, and load
 * (readFile + decodeModel, which checks everything and builds the model).
 */
async function benchModelFile(): Promise<string> {
  const model = new ThreeLayerConvNet({ dtype: 'float32', seed: 5 });
  const info = { classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'], preprocessing: { scale: 1 / 255 } };
  const dir = await mkdtemp(join(tmpdir(), 'convnet-bench-'));
  try {
    const path = join(dir, 'three-layer.safetensors');
    const bytes = encodeModel(model, info);
    const encodeMs = time(() => void encodeModel(model, info));
    const saveMs = await timeAsync(() => writeFileAtomic(path, encodeModel(model, info)));
    const decodeMs = time(() => void decodeModel(bytes, path));
    const loadMs = await timeAsync(async () => void decodeModel(await readFile(path), path));
    const size = `${bytes.length.toLocaleString('en')} B (${(bytes.length / 2 ** 20).toFixed(2)} MiB)`;
    return `| ThreeLayerConvNet defaults, float32 (${Object.values(model.params).reduce((n, t) => n + t.data.length, 0).toLocaleString('en')} parameters) | ${size} | ${pad(encodeMs.toFixed(2), 9)} | ${pad(saveMs.toFixed(2), 7)} | ${pad(decodeMs.toFixed(2), 9)} | ${pad(loadMs.toFixed(2), 7)} |`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A 32×32 RGB PNG: a smooth gradient in a per-image colour plus noise, so it compresses like a small photo, not like a flat square. */
function benchPng(seed: number): Buffer {
  const png = new PNG({ width: 32, height: 32 });
  const g = rng(seed);
  const base = [g.int(256), g.int(256), g.int(256)];
  for (let p = 0; p < 32 * 32; p++) {
    const x = p % 32;
    const y = Math.floor(p / 32);
    for (let c = 0; c < 3; c++) png.data[4 * p + c] = Math.max(0, Math.min(255, base[c]! + (c === 0 ? x : c === 1 ? y : x + y) * 3 - 48 + g.int(32) - 16));
    png.data[4 * p + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 2 });
}

/**
 * loadImageFolder on a folder of 10,000 32×32 RGB PNGs (10 classes of 1,000): decoding to
 * (3, 32, 32) float32 with 1 and 2 worker threads (no cache), then a run that writes the cache
 * and one that reads it. The folder is written to a temporary folder first and removed after.
 */
async function benchImageFolder(): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'convnet-bench-folder-'));
  const N = 10_000;
  const reps = Math.max(1, Math.min(REPS, 3));
  try {
    let bytes = 0;
    for (let c = 0; c < 10; c++) {
      await mkdir(join(dir, `class${c}`));
      for (let k = 0; k < N / 10; k++) {
        const png = benchPng(c * 100_000 + k);
        bytes += png.length;
        await writeFile(join(dir, `class${c}`, `${k}.png`), png);
      }
    }
    const rows: string[] = [];
    const row = (what: string, ms: number): string => `| ${what.padEnd(52)} | ${pad((ms / 1000).toFixed(2), 6)} | ${pad(Math.round(N / (ms / 1000)).toLocaleString('en'), 9)} |`;
    for (const workers of [1, 2]) {
      const ms = await timeAsync(async () => void (await loadImageFolder(dir, { size: 32, channels: 3, workers, cache: false })), reps);
      rows.push(row(`decode, ${workers} worker thread${workers === 1 ? '' : 's'}`, ms));
    }
    const cacheDir = join(dir, '.cache');
    const writeMs = await timeAsync(async () => {
      await rm(cacheDir, { recursive: true, force: true });
      await loadImageFolder(dir, { size: 32, channels: 3, workers: 2, cacheDir });
    }, reps);
    rows.push(row('decode on 2 worker threads + write the cache', writeMs));
    const readMs = await timeAsync(async () => {
      const data = await loadImageFolder(dir, { size: 32, channels: 3, cacheDir });
      if (!data.cache.hit) throw new Error('bench: expected the second run to read the cache');
    }, reps);
    rows.push(row('second run: every image from the cache', readMs));
    return [`\n| image folder: ${N.toLocaleString('en')} PNGs, 32×32 RGB (${(bytes / N).toFixed(0)} B each) → (3, 32, 32) | s | images/s |`, `|${'-'.repeat(54)}|-------:|----------:|`, ...rows];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const SECTIONS = ['conv', 'convT', 'pool', 'elementwise', 'training', 'inference', 'memory', 'files', 'decode'] as const;
type Section = (typeof SECTIONS)[number];

/** The sections named on the command line; all of them when none is. */
function requestedSections(): Set<Section> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    console.error(`bench: unknown section ${unknown.join(', ')}; the sections are ${SECTIONS.join(', ')} (none named: all)`);
    process.exit(2);
  }
  return new Set(names.length === 0 ? SECTIONS : (names as Section[]));
}

async function main(): Promise<void> {
  const sections = requestedSections();
  await startWorkers();
  console.log(`convnet fast layers, Node ${process.version}, median of ${REPS} runs`);
  console.log(`backends: js (pure TypeScript) and wasm (WebAssembly SIMD, float32; float64 runs the js kernels) on 1 and ${THREADS} threads (wasm×${THREADS}); default here: ${getBackend()} (${wasmVariant() ?? 'not loaded'}), ${getThreads()} threads`);
  const probe = chosenTile?.probe;
  console.log(`GEMM register tile: ${chosenTile === undefined ? 'not loaded' : tileName(chosenTile.tile === 'wide')}${probe === undefined ? '' : ` (the loader's probe, one thread: 5×8 ${probe.wide.toFixed(1)} GFLOP/s, 4×8 ${probe.narrow.toFixed(1)}; wide where over 3% faster)`}\n`);
  if (sections.has('conv')) benchConvSection();
  if (sections.has('convT')) benchConvTransposeSection();
  if (sections.has('pool')) benchPoolSection();
  if (sections.has('elementwise')) benchElementwiseSection();
  if (sections.has('training')) benchTrainingSection();
  if (sections.has('inference')) benchInferenceSection();
  if (sections.has('memory')) await benchMemorySection();
  if (sections.has('files')) {
    console.log('\n| model file (encodeModel / decodeModel; save = encode + writeFileAtomic, load = readFile + decode) | size | encode ms | save ms | decode ms | load ms |');
    console.log('|--------------------------------------------------------------------------------------------------|------|----------:|--------:|----------:|--------:|');
    console.log(await benchModelFile());
  }
  if (sections.has('decode')) for (const line of await benchImageFolder()) console.log(line);
  if (sections.has('conv') && sections.has('pool') && sections.has('training')) printTargets();
}

function benchConvSection(): void {
  console.log('| conv                                 | backend | dtype   |   fwd ms | GFLOP/s | fwd+bwd ms | GFLOP/s | notes |');
  console.log('|--------------------------------------|---------|---------|---------:|--------:|-----------:|--------:|-------|');
  for (const row of benchConv('float32', true)) console.log(row);
  for (const row of benchConv('float64', false)) console.log(row);
  console.log(`\n(naive conv timed once on a batch of ${NAIVE_BATCH} and scaled to 50)`);
}

/** A decoder's upsampling layer: (50, 32, 7, 7) → (50, 16, 14, 14). */
const CONVT_CASE = { label: 'x(50,32,7,7) w(32,16,4,4) s2 p1', x: [50, 32, 7, 7], w: [32, 16, 4, 4], param: { stride: 2, pad: 1 } as ConvTransposeParam };

function benchConvTransposeCase(dtype: DType, backend: Backend, threads = 1): ConvTiming {
  use(backend, threads);
  const c = CONVT_CASE;
  const x = randomTensor(c.x, dtype);
  const w = randomTensor(c.w, dtype, 0.1);
  const b = randomTensor([c.w[1]!], dtype);
  const { out } = convTransposeForward(x, w, b, c.param);
  const dout = randomTensor(out.shape, dtype);
  const [N, C, H, W] = c.x as [number, number, number, number];
  const flops = 2 * N * C * c.w[1]! * c.w[2]! * c.w[3]! * H * W;
  const fwd = time(() => convTransposeForward(x, w, b, c.param));
  const fwdBwd = time(() => {
    const r = convTransposeForward(x, w, b, c.param);
    convTransposeBackward(dout, r.cache);
  });
  return { fwd, fwdBwd, flops };
}

function benchConvTransposeSection(): void {
  const c = CONVT_CASE;
  const row = (backend: string, dtype: DType, t: ConvTiming, note: string): string =>
    `| ${c.label.padEnd(36)} | ${backend.padEnd(7)} | ${dtype} | ${pad(t.fwd.toFixed(1), 8)} | ${pad((t.flops / t.fwd / 1e6).toFixed(2), 7)} | ${pad(t.fwdBwd.toFixed(1), 10)} | ${pad(((3 * t.flops) / t.fwdBwd / 1e6).toFixed(2), 7)} | ${note} |`;
  // The naive layer, once on NAIVE_BATCH images, scaled to the batch.
  const xs = randomTensor([NAIVE_BATCH, ...c.x.slice(1)], 'float32');
  const w = randomTensor(c.w, 'float32', 0.1);
  const b = randomTensor([c.w[1]!], 'float32');
  const start = performance.now();
  const r = convTransposeForwardNaive(xs, w, b, c.param);
  convTransposeBackwardNaive(randomTensor(r.out.shape, 'float32'), r.cache);
  const naive = ((performance.now() - start) * c.x[0]!) / NAIVE_BATCH;
  const speedup = (t: ConvTiming): string => `naive→fast ${(naive / t.fwdBwd).toFixed(0)}× (naive ${(naive / 1000).toFixed(2)} s)`;
  console.log('\n| transposed conv (GEMM + col2im)      | backend | dtype   |   fwd ms | GFLOP/s | fwd+bwd ms | GFLOP/s | notes |');
  console.log('|--------------------------------------|---------|---------|---------:|--------:|-----------:|--------:|-------|');
  const js = benchConvTransposeCase('float32', 'js');
  console.log(row('js', 'float32', js, speedup(js)));
  const wasm = benchConvTransposeCase('float32', 'wasm');
  console.log(row('wasm', 'float32', wasm, `${speedup(wasm)}; wasm/js: fwd ${(js.fwd / wasm.fwd).toFixed(1)}×, fwd+bwd ${(js.fwdBwd / wasm.fwdBwd).toFixed(1)}×`));
  const threaded = benchConvTransposeCase('float32', 'wasm', THREADS);
  console.log(row(`wasm×${THREADS}`, 'float32', threaded, `${THREADS} threads / 1: fwd ${(wasm.fwd / threaded.fwd).toFixed(2)}×, fwd+bwd ${(wasm.fwdBwd / threaded.fwdBwd).toFixed(2)}×`));
  console.log(row('js', 'float64', benchConvTransposeCase('float64', 'js'), ''));
  console.log(`\n(naive transposed conv timed once on a batch of ${NAIVE_BATCH} (float32) and scaled to 50)`);
}

function benchPoolSection(): void {
  console.log('\n| pool (one thread)                | backend | dtype   |   fwd ms | fwd+bwd ms | naive→fast (fwd+bwd) |');
  console.log('|----------------------------------|---------|---------|---------:|-----------:|----------------------|');
  console.log(benchMaxPool('float32', 'js'));
  console.log(benchMaxPool('float32', 'wasm'));
  console.log(benchMaxPool('float64', 'js'));
}

function benchElementwiseSection(): void {
  console.log('\n| elementwise                        | backend | dtype   |   fwd ms |   bwd ms |');
  console.log('|------------------------------------|---------|---------|---------:|---------:|');
  for (const row of benchReluKernels()) console.log(row);
}

function benchTrainingSection(): void {
  console.log('\n| three-layer convnet training step (batch 50, 3×32×32)                    | backend | dtype   | ms/step | images/s |');
  console.log('|--------------------------------------------------------------------------|---------|---------|--------:|---------:|');
  for (const [dtype, backend, threads] of [['float32', 'js', 1], ['float32', 'wasm', 1], ['float32', 'wasm', THREADS], ['float64', 'js', 1]] as const) {
    const { ms, imagesPerSecond } = benchTrainingStep(dtype, backend, threads);
    if (dtype === 'float32') targets.imagesPerSecond[threads > 1 ? 'threads' : backend] = imagesPerSecond;
    const label = threads > 1 ? `${backend}×${threads}` : backend;
    console.log(`| conv 32 7×7 → relu → pool 2×2 → affine 100 → relu → affine 10 → softmax   | ${label.padEnd(7)} | ${dtype} | ${pad(ms.toFixed(0), 7)} | ${pad(imagesPerSecond.toFixed(0), 8)} |`);
  }
  for (const [backend, threads] of [['js', 1], ['wasm', 1], ['wasm', THREADS]] as const) {
    const { ms, imagesPerSecond } = benchModelStep(backend, threads);
    const label = threads > 1 ? `${backend}×${threads}` : backend;
    console.log(`| the same as ThreeLayerConvNet.loss + SGD (fused conv → relu → pool)       | ${label.padEnd(7)} | float32 | ${pad(ms.toFixed(0), 7)} | ${pad(imagesPerSecond.toFixed(0), 8)} |`);
  }
  // Reused arrays (what the Solver does) against the fresh ones above, in the same run.
  const rows: [string, () => { ms: number; imagesPerSecond: number }][] = [];
  for (const threads of [1, THREADS]) {
    const label = threads > 1 ? `wasm×${threads}` : 'wasm';
    rows.push([`| ThreeLayerConvNet.loss + SGD with reuseArrays (as the Solver trains)      | ${label.padEnd(7)}`, () => benchModelStep('wasm', threads, true)]);
    rows.push([`| residual net (Fashion-MNIST row), batch 100, 1×28×28, fresh arrays      | ${label.padEnd(7)}`, () => benchResidualStep('wasm', threads, false)]);
    rows.push([`| residual net (Fashion-MNIST row), batch 100, 1×28×28, reuseArrays       | ${label.padEnd(7)}`, () => benchResidualStep('wasm', threads, true)]);
  }
  for (const [label, run] of rows) {
    const { ms, imagesPerSecond } = run();
    console.log(`${label} | float32 | ${pad(ms.toFixed(0), 7)} | ${pad(imagesPerSecond.toFixed(0), 8)} |`);
  }
  const ips = targets.imagesPerSecond;
  console.log(`\ntraining step (float32): wasm/js ${(ips.wasm / ips.js).toFixed(1)}×, ${THREADS} threads / 1 ${(ips.threads / ips.wasm).toFixed(2)}×`);
}

function printTargets(): void {
  const ips = targets.imagesPerSecond;
  const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const wasm = targets.convGflops.wasm;
  const forward = wasm.filter((_, i) => i % 2 === 0);
  const both = wasm.filter((_, i) => i % 2 === 1);
  const lowestJs = Math.min(...targets.convGflops.js);
  console.log('\nTargets (float32; one thread unless it says threads):');
  const plain = targets.convGflops.plain;
  const plainNote = (offset: number): string =>
    plain.length === 0 ? '' : `; plain SIMD: ${plain.filter((_, i) => i % 2 === offset).map((v) => v.toFixed(1)).join(', ')}`;
  console.log(`- wasm conv forward >= 25 GFLOP/s on each shape: ${mark(Math.min(...forward) >= 25)} (${wasmVariant()}: ${forward.map((v) => v.toFixed(1)).join(', ')}${plainNote(0)})`);
  console.log(`- wasm conv forward+backward >= 20 GFLOP/s on each shape: ${mark(Math.min(...both) >= 20)} (${wasmVariant()}: ${both.map((v) => v.toFixed(1)).join(', ')}${plainNote(1)})`);
  console.log(`- js conv forward and forward+backward >= 3 GFLOP/s on each shape: ${mark(lowestJs >= 3)} (lowest ${lowestJs.toFixed(2)})`);
  console.log(`- max pool forward+backward < 10 ms: ${mark(targets.poolMs < 10)} (${targets.poolMs.toFixed(2)} ms)`);
  console.log(`- js training step >= 80 images/s: ${mark(targets.imagesPerSecond.js >= 80)} (${targets.imagesPerSecond.js.toFixed(0)})`);
  const both1 = both;
  const bothN = targets.convGflops.threads.filter((_, i) => i % 2 === 1);
  const scaling = bothN.map((v, i) => v / both1[i]!);
  console.log(`- wasm conv forward+backward on ${THREADS} threads >= 1.7× one thread on each shape: ${mark(Math.min(...scaling) >= 1.7)} (${scaling.map((v) => `${v.toFixed(2)}×`).join(', ')})`);
  console.log(`- wasm training step on ${THREADS} threads >= 600 images/s: ${mark(ips.threads >= 600)} (${ips.threads.toFixed(0)}; one thread ${ips.wasm.toFixed(0)})`);
  // Issue 15's targets (set for a 2-core AMD EPYC Zen 5; see the README for the CPU of each run).
  const fwdRatio = forward.map((f, i) => both[i]! / f / 3); // fwd time / fwd+bwd time, from GFLOP/s (fwd+bwd does 3× the flops)
  console.log(`- wasm conv forward >= 30 GFLOP/s on each shape (issue 15): ${mark(Math.min(...forward) >= 30)} (${forward.map((v) => v.toFixed(1)).join(', ')})`);
  console.log(`- wasm conv forward time < half of forward+backward on each shape: ${mark(Math.max(...fwdRatio) < 0.5)} (${fwdRatio.map((v) => v.toFixed(2)).join(', ')})`);
  if (plain.length > 0) {
    const relaxedOverPlain = wasm.map((v, i) => v / plain[i]!);
    console.log(`- relaxed SIMD never slower than plain SIMD: ${mark(Math.min(...relaxedOverPlain) >= 1)} (relaxed/plain GFLOP/s: ${relaxedOverPlain.map((v) => `${v.toFixed(2)}×`).join(', ')})`);
  }
  console.log(`- wasm training step >= 2,200 images/s on ${THREADS} threads, >= 1,300 on one: ${mark(ips.threads >= 2200 && ips.wasm >= 1300)} (${ips.threads.toFixed(0)}, ${ips.wasm.toFixed(0)})`);
  const fwd = targets.forwardImagesPerSecond;
  if (!Number.isNaN(fwd.threads)) console.log(`- three-layer inference forward (batch 50) >= 7,000 images/s on ${THREADS} threads: ${mark(fwd.threads >= 7000)} (${fwd.threads.toFixed(0)}; one thread ${fwd.one.toFixed(0)})`);
  if (!Number.isNaN(targets.digitsImagesPerSecond)) console.log(`- the 10,000 shipped digits at >= 10,000 images/s: ${mark(targets.digitsImagesPerSecond >= 10000)} (${targets.digitsImagesPerSecond.toFixed(0)})`);
  if (!Number.isNaN(targets.rssGrowth)) console.log(`- resident memory after epoch 10 within 10% of after epoch 2: ${mark(targets.rssGrowth <= 1.1)} (${targets.rssGrowth.toFixed(3)}×)`);
}

await main();
