/**
 * The WebAssembly backend's runtime: one instance of the kernels module on its own memory
 * (memory.ts), with the worker threads that share it (pool.ts), and the kernels run over it,
 * each split over the threads when it is big enough (jobs.ts has the splits; conv.ts the whole
 * conv layers). Every method takes JavaScript arrays: operands that are not views of the
 * memory are copied into its staging area for the call, and results copied back out.
 *
 * Work is split along output rows or columns, never along a reduction, so results do not
 * depend on the thread count.
 */
import { jsKernels } from '../js/index.js';
import type { ColumnGeometry, FloatArray, GemmArgs, PoolWindow } from '../types.js';
import { instantiate, wasmApi, type KernelExports, type WasmMemory } from './exports.js';
import { CHANNEL_AFFINE, CHANNEL_MOMENTS, CHANNEL_SUMS, COL2IM, CONTROL_WORDS, GEMM, IM2COL, MAXPOOL, SUM_BLOCKS } from './jobs.js';
import { canShare, compile, wasmRelaxedSimdSupported } from './load.js';
import { align, CONTROL, LinearMemory, MAXIMUM_PAGES, WORK_BASE } from './memory.js';
import { MAX_THREADS, ThreadPool } from './pool.js';

/**
 * Below this many multiply-adds a GEMM runs on the calling thread alone (~70 µs of work):
 * waking the workers for less costs about what it saves. At 2^18 the transposed conv's
 * per-image GEMMs (0.4 M multiply-adds) ran slower on two threads than on one (forward 5.5 ms
 * against 4.3 ms at 2^20, AMD EPYC, 2026-12-02); the spec nets' training and inference steps
 * were unchanged.
 */
const PARALLEL_MACS = 1 << 20;
/** Below this many column values im2col and col2im run on the calling thread alone. */
const PARALLEL_VALUES = 1 << 15;
/** Chunks per thread: enough to even out threads that run at different speeds. */
export const CHUNKS_PER_THREAD = 2;

/**
 * Units (micro-tile panels) per chunk when `units` are split over `threads` threads that claim
 * chunks as they finish: the step whose chunks finish soonest, counted in units, among those
 * giving between `threads` and CHUNKS_PER_THREAD·threads chunks; on a tie, more chunks (slack
 * for a thread that runs slower). 13 panels on 2 threads: 7 + 6 (7 units on each thread), not
 * 4 + 4 + 4 + 1 (8 on the busier one); 128 panels: 4 × 32, as before.
 */
export function balancedStep(units: number, threads: number): number {
  let best = units;
  let bestSpan = Infinity;
  for (let chunks = Math.min(units, threads); chunks <= Math.min(units, CHUNKS_PER_THREAD * threads); chunks++) {
    const step = Math.ceil(units / chunks);
    // Chunks in order, each to the thread that is free first.
    const loads = new Array<number>(threads).fill(0);
    for (let first = 0; first < units; first += step) {
      let idle = 0;
      for (let t = 1; t < threads; t++) if (loads[t]! < loads[idle]!) idle = t;
      loads[idle]! += Math.min(step, units - first);
    }
    const span = Math.max(...loads);
    if (span <= bestSpan) {
      bestSpan = span;
      best = step;
    }
  }
  return best;
}

export interface WasmKernelOptions {
  /** Use a shared memory (default: whenever SharedArrayBuffer exists). Threads need it. */
  shared?: boolean;
  /** A fixed thread count for this instance (default: follow setThreads / CONVNET_THREADS). */
  threads?: number;
  /** Split every call over the threads, however small (tests of the split paths). */
  splitAll?: boolean;
  /** Use the relaxed-SIMD build (fused multiply-add; default: where the engine has it). */
  relaxed?: boolean;
  /**
   * The GEMM register tile of the relaxed build: 'wide' (5×8 panels where the rows allow, 4×8
   * for the rest) or 'narrow' (4×8 only). Default: the faster on this CPU, timed when the
   * instance loads (tileProbe). Results are the same bits either way; the plain build is narrow.
   */
  tile?: 'wide' | 'narrow';
}

/** GFLOP/s of the two register tiles in the load-time probe. */
export interface TileProbe {
  narrow: number;
  wide: number;
}

/** Each compiled module's probe: the CPU does not change within a process, so it runs once. */
const probes = new WeakMap<object, TileProbe>();

/**
 * Times the relaxed build's two register tiles on the calling thread (the packed panels in
 * `work` are zero, so no denormals): each in turn until V8 has optimised the probe (its speed
 * jumps several-fold then: the first calls run the baseline compiler's code), then 8 calls of
 * about 0.5 ms each, keeping each one's fastest. About 15 ms, once per module; never much
 * more than 0.1 s.
 */
function probeTiles(module: object, exports: KernelExports, work: number): TileProbe {
  const known = probes.get(module);
  if (known !== undefined) return known;
  // A slow engine (an interpreter, a baseline compiler that never tiers up) gets a short probe, not a long wait.
  const deadline = performance.now() + 100;
  const kc = 256;
  let reps = 200;
  const gflops = (wide: number): number => {
    const rows = wide ? exports.WIDE_MR.value : exports.MR.value;
    const start = performance.now();
    exports.tileProbe(wide, kc, reps, work);
    const ms = performance.now() - start;
    return (2 * rows * exports.NR.value * kc * reps) / Math.max(ms, 1e-3) / 1e6;
  };
  const baseline = gflops(0);
  let rate = baseline;
  for (let round = 0; round < 100 && rate <= 2 * baseline && performance.now() < deadline - 50; round++) {
    gflops(1);
    rate = gflops(0);
  }
  // Calls of about 0.5 ms: a browser's clock may tick only every 0.1 ms (5 µs where cross-origin isolated).
  reps = Math.min(20_000, Math.max(20, Math.round((rate * 0.5e6) / (2 * exports.MR.value * exports.NR.value * kc))));
  const probe = { narrow: 0, wide: 0 };
  for (let round = 0; round < 8 && (round < 2 || performance.now() < deadline); round++) {
    probe.narrow = Math.max(probe.narrow, gflops(0));
    probe.wide = Math.max(probe.wide, gflops(1));
  }
  probes.set(module, probe);
  return probe;
}

/** A loaded module with its memory and its bookkeeping. */
export class Runtime {
  readonly shared: boolean;
  readonly relaxed: boolean;
  /** Whether GEMMs use the wide tile (every thread's: the first word of its scratch). */
  readonly wideTile: boolean;
  /** The load-time timing of the tiles, when it ran (relaxed build, no `tile` option). */
  readonly tileProbe: TileProbe | undefined;
  readonly exports: KernelExports;
  readonly mem: LinearMemory;
  /** The calling thread's GEMM scratch (byte address). */
  readonly work: number;
  private readonly workStride: number;
  /** Worker slot w's GEMM scratch (byte address). */
  private readonly workerWork: number[] = [];
  private readonly pool: ThreadPool | undefined;
  /** GEMM scratch areas reserved: the calling thread's and one per worker slot. */
  private slots = 1;
  /** Threads in use, the calling one included. */
  threads = 1;
  /** Below these sizes a call runs on the calling thread alone (0 with splitAll). */
  readonly parallelMacs: number;
  readonly parallelValues: number;

  constructor(options: WasmKernelOptions) {
    if (wasmApi === undefined) throw new Error('this engine has no WebAssembly');
    let shared = options.shared ?? canShare();
    let memory: WasmMemory;
    try {
      memory = new wasmApi.Memory({ initial: 1, maximum: MAXIMUM_PAGES, shared });
    } catch (error) {
      // SharedArrayBuffer without shared WebAssembly memory: run unshared.
      if (!shared || options.shared === true) throw error;
      shared = false;
      memory = new wasmApi.Memory({ initial: 1, maximum: MAXIMUM_PAGES, shared });
    }
    // Asking wasmRelaxedSimdSupported also turns on Node 20's flag for relaxed SIMD (load.ts).
    const relaxedHere = options.relaxed !== false && wasmRelaxedSimdSupported();
    if (options.relaxed === true && !relaxedHere) throw new Error('the relaxed-SIMD build was asked for, but this engine has no relaxed SIMD');
    this.relaxed = relaxedHere;
    const module = compile(this.relaxed, shared);
    this.shared = shared;
    this.exports = instantiate(module, memory);
    this.work = WORK_BASE;
    this.workStride = align(this.exports.WORK_BYTES.value);
    this.mem = new LinearMemory(memory, shared, align(this.work + this.workStride));
    // Wide only when clearly faster: its packing and edge panels cost a little more.
    this.tileProbe = this.relaxed && options.tile === undefined ? probeTiles(module, this.exports, this.work) : undefined;
    this.wideTile = this.relaxed && (options.tile === undefined ? this.tileProbe!.wide > 1.03 * this.tileProbe!.narrow : options.tile === 'wide');
    this.mem.i32[this.work >> 2] = +this.wideTile;
    this.parallelMacs = options.splitAll ? 0 : PARALLEL_MACS;
    this.parallelValues = options.splitAll ? 0 : PARALLEL_VALUES;
    this.pool = shared ? new ThreadPool(module, memory, this.exports, new Int32Array(memory.buffer, CONTROL, CONTROL_WORDS), CONTROL) : undefined;
  }

  /**
   * Uses `threads` threads (the calling one included; 1 without shared memory). Reserving
   * scratch for new workers moves the layers' scratch, so call it between layer calls.
   */
  setThreads(threads: number): void {
    const n = this.pool === undefined ? 1 : Math.max(1, Math.min(MAX_THREADS, threads));
    if (n > this.slots) {
      if (!this.mem.hasResidentBlocks) {
        // The buffers side by side above the calling thread's, the scratch moved above them.
        this.mem.moveScratch(align(this.work + n * this.workStride));
        for (let slot = this.slots - 1; slot < n - 1; slot++) this.workerWork[slot] = this.work + (slot + 1) * this.workStride;
      } else {
        // Resident blocks sit where they would go: reserve the new ones elsewhere in the memory.
        for (let slot = this.slots - 1; slot < n - 1; slot++) this.workerWork[slot] = this.mem.reserve(this.workStride);
      }
      // Each new worker's tile flag: the first word of its scratch (moveScratch and reserve grew the memory to hold it).
      for (let slot = this.slots - 1; slot < n - 1; slot++) this.mem.i32[this.workerWork[slot]! >> 2] = +this.wideTile;
      this.slots = n;
    }
    this.pool?.resize(n, (slot) => this.workerWork[slot]!);
    this.threads = n;
  }

  /** Chunks of split calls run by the calling thread and by workers. */
  chunkCounts(): { caller: number; workers: number } {
    return this.pool === undefined ? { caller: 0, workers: 0 } : { ...this.pool.chunks };
  }

  /** Workers that have started. */
  workersReady(): number {
    return this.pool === undefined ? 0 : this.pool.ready();
  }

  /** Workers still starting (neither ready nor failed). */
  workersPending(): number {
    return this.pool === undefined ? 0 : this.pool.pending();
  }

  /** Stops the workers (tests). */
  terminate(): void {
    this.pool?.terminate();
    this.threads = 1;
  }

  /** The pool, when this call may be split: more than one thread and a worker has started. */
  parallel(): ThreadPool | undefined {
    return this.threads > 1 && this.pool !== undefined && this.pool.ready() > 0 ? this.pool : undefined;
  }

  /** sgemm on byte addresses, split over the threads when it is big enough. */
  private sgemm(transA: number, transB: number, m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: number): void {
    const pool = m * n * k >= this.parallelMacs ? this.parallel() : undefined;
    if (pool === undefined) {
      this.exports.sgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, this.work);
      return;
    }
    // Split the longer side of c (the other operand is packed again for every chunk).
    const byColumns = m <= n;
    const unit = byColumns ? this.exports.NR.value : this.exports.MR.value;
    const units = Math.ceil((byColumns ? n : m) / unit);
    const step = balancedStep(units, this.threads) * unit;
    const total = Math.ceil((byColumns ? n : m) / step);
    pool.run(this.work, GEMM, total, step, byColumns ? 1 : 0, [transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate]);
  }

  gemm(args: GemmArgs): void {
    const { transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate } = args;
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
      jsKernels.gemm(args);
      return;
    }
    this.mem.reset();
    const [aAt, aLd] = this.mem.matrixIn(a as Float32Array, aOffset, transA ? k : m, transA ? m : k, lda);
    const [bAt, bLd] = this.mem.matrixIn(b as Float32Array, bOffset, transB ? n : k, transB ? k : n, ldb);
    if (this.mem.owns(c)) {
      this.sgemm(+transA, +transB, m, n, k, aAt, aLd, bAt, bLd, c.byteOffset + cOffset * 4, ldc, +accumulate);
      return;
    }
    const contiguous = ldc === n;
    const cAt = this.mem.stage(m * n);
    if (accumulate) {
      if (contiguous) this.mem.copyIn(c, cOffset, m * n, cAt);
      else for (let r = 0; r < m; r++) this.mem.copyIn(c, cOffset + r * ldc, n, cAt + r * n * 4);
    }
    this.sgemm(+transA, +transB, m, n, k, aAt, aLd, bAt, bLd, cAt, n, +accumulate);
    if (contiguous) this.mem.copyOut(cAt, m * n, c, cOffset);
    else for (let r = 0; r < m; r++) this.mem.copyOut(cAt + r * n * 4, n, c, cOffset + r * ldc);
  }

  im2col(x: FloatArray, xOffset: number, g: ColumnGeometry, first: number, count: number, cols: FloatArray, colsOffset: number): void {
    if (count <= 0) return;
    this.mem.reset();
    const size = g.channels * g.height * g.width;
    const rows = g.channels * g.kernelH * g.kernelW;
    const xAt = this.mem.vectorIn(x, xOffset, size);
    const direct = this.mem.owns(cols);
    const colsAt = direct ? cols.byteOffset + colsOffset * 4 : this.mem.stage(rows * count);
    const args = [
      xAt, g.channels, g.height, g.width, g.kernelH, g.kernelW, g.strideH, g.strideW,
      g.padTop, g.padLeft, g.dilationH, g.dilationW, g.outWidth, first, count, colsAt,
    ] as const;
    const pool = rows * count >= this.parallelValues && count >= 2 ? this.parallel() : undefined;
    if (pool === undefined) {
      this.exports.im2col(...args, count);
    } else {
      // Blocks of output positions.
      const step = Math.ceil(count / Math.min(count, CHUNKS_PER_THREAD * this.threads));
      pool.run(this.work, IM2COL, Math.ceil(count / step), step, 0, args);
    }
    if (!direct) this.mem.copyOut(colsAt, rows * count, cols, colsOffset);
  }

  col2im(cols: FloatArray, colsOffset: number, g: ColumnGeometry, first: number, count: number, dx: FloatArray, dxOffset: number): void {
    if (count <= 0) return;
    this.mem.reset();
    const size = g.channels * g.height * g.width;
    const rows = g.channels * g.kernelH * g.kernelW;
    const colsAt = this.mem.vectorIn(cols, colsOffset, rows * count);
    const direct = this.mem.owns(dx);
    const dxAt = this.mem.vectorIn(dx, dxOffset, size); // accumulated into
    const args = [
      colsAt, g.channels, g.height, g.width, g.kernelH, g.kernelW, g.strideH, g.strideW,
      g.padTop, g.padLeft, g.dilationH, g.dilationW, g.outWidth, first, count, dxAt,
    ] as const;
    const pool = rows * count >= this.parallelValues && g.channels >= 2 ? this.parallel() : undefined;
    if (pool === undefined) {
      this.exports.col2im(...args, count);
    } else {
      // Blocks of channels: disjoint planes of dx.
      const step = Math.ceil(g.channels / Math.min(g.channels, CHUNKS_PER_THREAD * this.threads));
      pool.run(this.work, COL2IM, Math.ceil(g.channels / step), step, 0, args);
    }
    if (!direct) this.mem.copyOut(dxAt, size, dx, dxOffset);
  }

  /** dst = Σ_b src[b] over `blocks` blocks of n values, in block order (split by elements). */
  sumBlocks(src: number, blocks: number, n: number, dst: number): void {
    const pool = blocks * n >= this.parallelValues && n >= 8 ? this.parallel() : undefined;
    if (pool === undefined) {
      this.exports.sumBlocks(src, blocks, n, 0, n, dst);
      return;
    }
    const step = Math.ceil(n / (CHUNKS_PER_THREAD * this.threads) / 4) * 4;
    pool.run(this.work, SUM_BLOCKS, Math.ceil(n / step), step, 0, [src, blocks, n, dst]);
  }

  /**
   * Runs a per-channel kernel over channels [c0, c1), split over the threads by blocks of
   * channels when there is enough work; `args` follow N, C, S, c0, c1 in the job's order.
   */
  private channels(kind: number, n: number, c: number, s: number, c0: number, c1: number, args: number[], run: () => void): void {
    const pool = n * s * (c1 - c0) >= this.parallelValues && c1 - c0 >= 2 ? this.parallel() : undefined;
    if (pool === undefined) {
      run();
      return;
    }
    const step = Math.ceil((c1 - c0) / Math.min(c1 - c0, CHUNKS_PER_THREAD * this.threads));
    pool.run(this.work, kind, Math.ceil((c1 - c0) / step), step, 0, [n, c, s, c0, c1, ...args]);
  }

  channelMoments(x: Float32Array, n: number, c: number, s: number, c0: number, c1: number, mean: Float64Array, variance: Float64Array): void {
    if (c1 <= c0) return;
    this.mem.reset();
    const xAt = this.mem.vectorIn(x, 0, n * c * s);
    const meanAt = this.mem.stage(2 * c);
    const varAt = this.mem.stage(2 * c);
    this.channels(CHANNEL_MOMENTS, n, c, s, c0, c1, [xAt, meanAt, varAt], () => this.exports.channelMoments(xAt, n, c, s, c0, c1, meanAt, varAt));
    this.mem.f64Out(meanAt, c0, c1, mean);
    this.mem.f64Out(varAt, c0, c1, variance);
  }

  channelSums(dout: Float32Array, x: Float32Array, n: number, c: number, s: number, c0: number, c1: number, centre: Float64Array, sums: Float64Array, dots: Float64Array): void {
    if (c1 <= c0) return;
    this.mem.reset();
    const doutAt = this.mem.vectorIn(dout, 0, n * c * s);
    const xAt = this.mem.vectorIn(x, 0, n * c * s);
    const centreAt = this.mem.f64In(centre);
    const sumsAt = this.mem.stage(2 * c);
    const dotsAt = this.mem.stage(2 * c);
    this.channels(CHANNEL_SUMS, n, c, s, c0, c1, [doutAt, xAt, centreAt, sumsAt, dotsAt], () =>
      this.exports.channelSums(doutAt, xAt, n, c, s, c0, c1, centreAt, sumsAt, dotsAt),
    );
    this.mem.f64Out(sumsAt, c0, c1, sums);
    this.mem.f64Out(dotsAt, c0, c1, dots);
  }

  channelAffine(
    x: Float32Array, dout: Float32Array | null, n: number, c: number, s: number, c0: number, c1: number,
    centre: Float64Array, a: Float64Array, b: Float64Array, k: Float64Array, out: Float32Array,
  ): void {
    if (c1 <= c0 || n * s <= 0) return;
    this.mem.reset();
    const xAt = this.mem.vectorIn(x, 0, n * c * s);
    const doutAt = dout === null ? 0 : this.mem.vectorIn(dout, 0, n * c * s);
    const [centreAt, aAt, bAt, kAt] = [centre, a, b, k].map((values) => this.mem.f64In(values)) as [number, number, number, number];
    const direct = this.mem.owns(out);
    const outAt = direct ? out.byteOffset : this.mem.stage(n * c * s);
    this.channels(CHANNEL_AFFINE, n, c, s, c0, c1, [xAt, doutAt, centreAt, aAt, bAt, kAt, outAt], () =>
      this.exports.channelAffine(xAt, doutAt, n, c, s, c0, c1, centreAt, aAt, bAt, kAt, outAt),
    );
    if (direct) return;
    // Only the channels written: the rest of out keeps its values.
    if (c0 === 0 && c1 === c) this.mem.copyOut(outAt, n * c * s, out, 0);
    else for (let i = 0; i < n; i++) this.mem.copyOut(outAt + (i * c + c0) * s * 4, (c1 - c0) * s, out, (i * c + c0) * s);
  }

  adamStep(
    w: Float32Array, g: Float32Array, m0: Float32Array, v0: Float32Array, n: number,
    beta1: number, beta2: number, stepScale: number, rootScale: number, eps: number,
    next: Float32Array, m: Float32Array, v: Float32Array,
  ): number {
    if (n <= 0) return 0;
    this.mem.reset();
    const [wAt, gAt, m0At, v0At] = [w, g, m0, v0].map((a) => this.mem.vectorIn(a, 0, n)) as [number, number, number, number];
    const outs = [next, m, v];
    const [nextAt, mAt, vAt] = outs.map((a) => (this.mem.owns(a) ? a.byteOffset : this.mem.stage(n))) as [number, number, number];
    const probe = this.exports.adamStep(wAt, gAt, m0At, v0At, 0, n, beta1, beta2, stepScale, rootScale, eps, nextAt, mAt, vAt);
    [nextAt, mAt, vAt].forEach((at, i) => {
      if (!this.mem.owns(outs[i]!)) this.mem.copyOut(at, n, outs[i]!, 0);
    });
    return probe;
  }

  /** Max pooling with 2×2 windows at stride 2 inside the input (isPlain2x2), split over planes. */
  maxPool2x2(x: FloatArray, xOffset: number, planes: number, g: PoolWindow, out: FloatArray, outOffset: number, argmax: Int32Array, argmaxOffset: number): void {
    const outSize = planes * g.outHeight * g.outWidth;
    if (outSize <= 0) return;
    this.mem.reset();
    const xAt = this.mem.vectorIn(x, xOffset, planes * g.height * g.width);
    const direct = this.mem.owns(out);
    const outAt = direct ? out.byteOffset + outOffset * 4 : this.mem.stage(outSize);
    const argmaxDirect = this.mem.owns(argmax);
    const argmaxAt = argmaxDirect ? argmax.byteOffset + argmaxOffset * 4 : this.mem.stage(outSize);
    const args = [xAt, planes, g.height, g.width, g.outHeight, g.outWidth, outAt, argmaxAt] as const;
    const pool = outSize >= this.parallelValues && planes >= 2 ? this.parallel() : undefined;
    if (pool === undefined) {
      this.exports.maxPool2x2(...args);
    } else {
      const step = Math.ceil(planes / Math.min(planes, CHUNKS_PER_THREAD * this.threads));
      pool.run(this.work, MAXPOOL, Math.ceil(planes / step), step, 0, args);
    }
    if (!direct) this.mem.copyOut(outAt, outSize, out, outOffset);
    if (!argmaxDirect) argmax.set(this.mem.i32.subarray(argmaxAt >> 2, (argmaxAt >> 2) + outSize), argmaxOffset);
  }

  sumRows(src: FloatArray, srcOffset: number, rows: number, cols: number, sums: FloatArray, sumsOffset: number): void {
    if (rows <= 0) return;
    this.mem.reset();
    const srcAt = this.mem.vectorIn(src, srcOffset, rows * cols);
    const direct = this.mem.owns(sums);
    const sumsAt = direct ? sums.byteOffset + sumsOffset * 4 : this.mem.vectorIn(sums, sumsOffset, rows);
    this.exports.sumRows(srcAt, rows, cols, sumsAt);
    if (!direct) this.mem.copyOut(sumsAt, rows, sums, sumsOffset);
  }

  reluForward(x: FloatArray, xOffset: number, n: number, out: FloatArray, outOffset: number): void {
    if (n <= 0) return;
    this.mem.reset();
    const xAt = this.mem.vectorIn(x, xOffset, n);
    const direct = this.mem.owns(out);
    const outAt = direct ? out.byteOffset + outOffset * 4 : this.mem.stage(n);
    this.exports.relu(xAt, n, outAt);
    if (!direct) this.mem.copyOut(outAt, n, out, outOffset);
  }

  reluBackward(x: FloatArray, xOffset: number, dout: FloatArray, doutOffset: number, n: number, dx: FloatArray, dxOffset: number): void {
    if (n <= 0) return;
    this.mem.reset();
    const xAt = this.mem.vectorIn(x, xOffset, n);
    const doutAt = this.mem.vectorIn(dout, doutOffset, n);
    const direct = this.mem.owns(dx);
    const dxAt = direct ? dx.byteOffset + dxOffset * 4 : this.mem.stage(n);
    this.exports.reluBackward(xAt, doutAt, n, dxAt);
    if (!direct) this.mem.copyOut(dxAt, n, dx, dxOffset);
  }

  /** Max pooling's backward on operands that all live in this memory (the facade checks). */
  maxPoolBackwardInPlace(dout: Float32Array, doutOffset: number, argmax: Int32Array, argmaxOffset: number, planes: number, g: PoolWindow, dx: Float32Array, dxOffset: number): void {
    if (planes <= 0) return;
    this.exports.maxPoolBackward(dout.byteOffset + doutOffset * 4, argmax.byteOffset + argmaxOffset * 4, planes, g.outHeight * g.outWidth, g.height * g.width, dx.byteOffset + dxOffset * 4);
  }

  /** out = a + b on operands that all live in this memory (the facade checks). */
  addInPlace(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, n: number, out: Float32Array, outOffset: number): void {
    if (n <= 0) return;
    this.exports.add(a.byteOffset + aOffset * 4, b.byteOffset + bOffset * 4, n, out.byteOffset + outOffset * 4);
  }
}
