/**
 * The WebAssembly backend as a kernel table (types.ts: Kernels) over a runtime (runtime.ts):
 * float32 calls run in WebAssembly, float64 calls — and the kernels where a copy into
 * WebAssembly memory would cost more than the work (other pooling, bias fills, column sums) —
 * run the JavaScript kernels. It advertises the batch conv capability (conv.ts) and its own
 * float32 scratch. The default instance loads on first use; createWasmKernels makes others.
 */
import { isPlain2x2 } from '../geometry.js';
import { jsKernels } from '../js/index.js';
import type { ColumnGeometry, ConvBatchGeometry, FloatArray, GemmArgs, Kernels, PoolWindow } from '../types.js';
import { convBackward, convForward } from './conv.js';
import { compileAhead, wasmSimdSupported } from './load.js';
import { onThreads } from './pool.js';
import { Runtime, type TileProbe, type WasmKernelOptions } from './runtime.js';

const isFloat32 = (array: FloatArray): array is Float32Array => array instanceof Float32Array;

/**
 * The runtime when every float array is float32 and every array lives in its memory (an
 * arena's), else undefined: for kernels whose work is less than copying their operands in and
 * out, which then run in JavaScript.
 */
function residentIn(runtime: () => Runtime, floats: FloatArray[], indices: Int32Array[] = []): Runtime | undefined {
  if (!floats.every(isFloat32)) return undefined;
  const rt = runtime();
  return floats.every((a) => rt.mem.owns(a)) && indices.every((a) => rt.mem.owns(a)) ? rt : undefined;
}

function kernelsOf(runtime: () => Runtime, name: string): Kernels {
  return Object.freeze({
    name,
    gemm(args: GemmArgs): void {
      if (isFloat32(args.c)) runtime().gemm(args);
      else jsKernels.gemm(args);
    },
    im2col(x: FloatArray, xOffset: number, g: ColumnGeometry, first: number, count: number, cols: FloatArray, colsOffset: number): void {
      if (isFloat32(cols)) runtime().im2col(x, xOffset, g, first, count, cols, colsOffset);
      else jsKernels.im2col(x, xOffset, g, first, count, cols, colsOffset);
    },
    col2im(cols: FloatArray, colsOffset: number, g: ColumnGeometry, first: number, count: number, dx: FloatArray, dxOffset: number): void {
      if (isFloat32(dx)) runtime().col2im(cols, colsOffset, g, first, count, dx, dxOffset);
      else jsKernels.col2im(cols, colsOffset, g, first, count, dx, dxOffset);
    },
    maxPoolForward(x: FloatArray, xOffset: number, planes: number, g: PoolWindow, out: FloatArray, outOffset: number, argmax: Int32Array, argmaxOffset: number): void {
      if (isFloat32(out) && isPlain2x2(g)) runtime().maxPool2x2(x, xOffset, planes, g, out, outOffset, argmax, argmaxOffset);
      else jsKernels.maxPoolForward(x, xOffset, planes, g, out, outOffset, argmax, argmaxOffset);
    },
    maxPoolBackward(dout: FloatArray, doutOffset: number, argmax: Int32Array, argmaxOffset: number, planes: number, g: PoolWindow, dx: FloatArray, dxOffset: number): void {
      // A scatter: cheaper in JavaScript than copying dx in and out, so in WebAssembly only on resident operands.
      const rt = residentIn(runtime, [dout, dx], [argmax]);
      if (rt !== undefined) rt.maxPoolBackwardInPlace(dout as Float32Array, doutOffset, argmax, argmaxOffset, planes, g, dx as Float32Array, dxOffset);
      else jsKernels.maxPoolBackward(dout, doutOffset, argmax, argmaxOffset, planes, g, dx, dxOffset);
    },
    avgPoolForward: jsKernels.avgPoolForward,
    avgPoolBackward: jsKernels.avgPoolBackward,
    fillRows: jsKernels.fillRows,
    fillCols: jsKernels.fillCols,
    sumRows(src: FloatArray, srcOffset: number, rows: number, cols: number, sums: FloatArray, sumsOffset: number): void {
      if (isFloat32(sums)) runtime().sumRows(src, srcOffset, rows, cols, sums, sumsOffset);
      else jsKernels.sumRows(src, srcOffset, rows, cols, sums, sumsOffset);
    },
    sumCols: jsKernels.sumCols,
    reluForward(x: FloatArray, xOffset: number, n: number, out: FloatArray, outOffset: number): void {
      if (isFloat32(out)) runtime().reluForward(x, xOffset, n, out, outOffset);
      else jsKernels.reluForward(x, xOffset, n, out, outOffset);
    },
    reluBackward(x: FloatArray, xOffset: number, dout: FloatArray, doutOffset: number, n: number, dx: FloatArray, dxOffset: number): void {
      if (isFloat32(dx)) runtime().reluBackward(x, xOffset, dout, doutOffset, n, dx, dxOffset);
      else jsKernels.reluBackward(x, xOffset, dout, doutOffset, n, dx, dxOffset);
    },
    add(a: FloatArray, aOffset: number, b: FloatArray, bOffset: number, n: number, out: FloatArray, outOffset: number): void {
      // Copying the operands in and out would cost more than the JavaScript loop.
      const rt = residentIn(runtime, [a, b, out]);
      if (rt !== undefined) rt.addInPlace(a as Float32Array, aOffset, b as Float32Array, bOffset, n, out as Float32Array, outOffset);
      else jsKernels.add(a, aOffset, b, bOffset, n, out, outOffset);
    },
    channelMoments(x: FloatArray, n: number, c: number, s: number, c0: number, c1: number, mean: Float64Array, variance: Float64Array): void {
      if (isFloat32(x)) runtime().channelMoments(x, n, c, s, c0, c1, mean, variance);
      else jsKernels.channelMoments(x, n, c, s, c0, c1, mean, variance);
    },
    channelSums(dout: FloatArray, x: FloatArray, n: number, c: number, s: number, c0: number, c1: number, centre: Float64Array, sums: Float64Array, dots: Float64Array): void {
      if (isFloat32(dout) && isFloat32(x)) runtime().channelSums(dout, x, n, c, s, c0, c1, centre, sums, dots);
      else jsKernels.channelSums(dout, x, n, c, s, c0, c1, centre, sums, dots);
    },
    channelAffine(
      x: FloatArray, dout: FloatArray | null, n: number, c: number, s: number, c0: number, c1: number,
      centre: Float64Array, a: Float64Array, b: Float64Array, k: Float64Array, out: FloatArray,
    ): void {
      // Float64 out (the naive backward's xhat, from float32 x): the JavaScript kernel.
      if (isFloat32(out) && isFloat32(x) && (dout === null || isFloat32(dout))) runtime().channelAffine(x, dout, n, c, s, c0, c1, centre, a, b, k, out);
      else jsKernels.channelAffine(x, dout, n, c, s, c0, c1, centre, a, b, k, out);
    },
    adamStep(
      w: FloatArray, g: FloatArray, m0: FloatArray, v0: FloatArray, n: number,
      beta1: number, beta2: number, stepScale: number, rootScale: number, eps: number,
      next: FloatArray, m: FloatArray, v: FloatArray,
    ): number {
      if (isFloat32(w) && isFloat32(g) && isFloat32(m0) && isFloat32(v0) && isFloat32(next) && isFloat32(m) && isFloat32(v)) {
        return runtime().adamStep(w, g, m0, v0, n, beta1, beta2, stepScale, rootScale, eps, next, m, v);
      }
      return jsKernels.adamStep(w, g, m0, v0, n, beta1, beta2, stepScale, rootScale, eps, next, m, v);
    },
    capabilities: Object.freeze({
      scratch32: (length: number) => runtime().mem.scratch32(length),
      resident32: Object.freeze({
        allocate: (length: number) => runtime().mem.resident32(length),
        free: (array: Float32Array | Int32Array) => runtime().mem.freeResident(array),
      }),
      batchConv32: Object.freeze({
        convForward(x: Float32Array, w: Float32Array, b: Float32Array, g: ConvBatchGeometry, out: Float32Array): void {
          convForward(runtime(), x, w, b, g, out);
        },
        convBackward(x: Float32Array, w: Float32Array, dout: Float32Array, g: ConvBatchGeometry, dx: Float32Array, dw: Float32Array, db: Float32Array, reluOut?: Float32Array): void {
          convBackward(runtime(), x, w, dout, g, dx, dw, db, reluOut);
        },
        convReluPoolForward(
          x: Float32Array, w: Float32Array, b: Float32Array, g: ConvBatchGeometry,
          pooled: Float32Array, argmax: Int32Array, pooledHeight: number, pooledWidth: number,
        ): void {
          convForward(runtime(), x, w, b, { ...g, relu: true }, null, { out: pooled, argmax, height: pooledHeight, width: pooledWidth });
        },
        convReluPoolBackward(
          x: Float32Array, w: Float32Array, g: ConvBatchGeometry,
          dpooled: Float32Array, pooled: Float32Array, argmax: Int32Array, pooledHeight: number, pooledWidth: number,
          dx: Float32Array, dw: Float32Array, db: Float32Array,
        ): void {
          convBackward(runtime(), x, w, null, g, dx, dw, db, undefined, { dout: dpooled, out: pooled, argmax, height: pooledHeight, width: pooledWidth });
        },
      }),
    }),
  });
}

let defaultRuntime: Runtime | undefined;
let loadError: unknown;

function runtime(): Runtime {
  if (defaultRuntime === undefined) {
    if (loadError !== undefined) throw loadError;
    let created: Runtime;
    try {
      if (!wasmSimdSupported()) throw new Error('this engine has no WebAssembly with 128-bit SIMD');
      created = new Runtime({});
    } catch (error) {
      loadError = error;
      throw error;
    }
    defaultRuntime = created;
    // Follows setThreads; throws here (once) on a bad CONVNET_THREADS.
    onThreads((threads) => created.setThreads(threads));
  }
  return defaultRuntime;
}

/**
 * The WebAssembly backend (float32 in WebAssembly SIMD, float64 in JavaScript). The module
 * loads on first use and throws there if the engine cannot run it (see wasmAvailable).
 */
export const wasmKernels: Kernels = kernelsOf(runtime, 'wasm');

/**
 * Loads the module if need be: false if this engine cannot run it (and no throw, except for a
 * bad CONVNET_THREADS).
 */
export function wasmAvailable(): boolean {
  if (defaultRuntime !== undefined) return true;
  try {
    runtime();
  } catch (error) {
    if (loadError !== undefined) return false;
    throw error;
  }
  return true;
}

/** Why the module cannot load here (undefined if it loads). */
export function wasmLoadError(): string | undefined {
  return wasmAvailable() ? undefined : String(loadError instanceof Error ? loadError.message : loadError);
}

/**
 * Compiles the module asynchronously. Loading is otherwise synchronous, on first use, which
 * browsers refuse on the main thread for a module this size (Chrome: 4 KB); there, await this
 * before the first layer call (or setBackend('wasm')). Resolves to whether the module loaded.
 */
export async function loadWasm(): Promise<boolean> {
  if (defaultRuntime !== undefined) return true;
  if (!(await compileAhead())) return false;
  loadError = undefined;
  return wasmAvailable();
}

/**
 * Loads the default instance (loadWasm) and waits until the worker threads setThreads asked for
 * have started (or failed to), at most `timeoutMs`; resolves to the workers running. A timed
 * pass starts after it, so that it counts the kernels' work and not their start-up (compiling
 * the module, timing its register tiles, starting the workers: about 0.1 s), during which the
 * first calls would run on the calling thread alone.
 */
export async function wasmThreadsReady(timeoutMs = 5000): Promise<number> {
  if (!(await loadWasm())) return 0;
  const start = Date.now();
  const wanted = defaultRuntime!.threads - 1;
  while (defaultRuntime!.workersReady() < wanted && defaultRuntime!.workersPending() > 0 && Date.now() - start < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return defaultRuntime!.workersReady();
}

/**
 * A separate instance of the backend with its own memory (for tests: `shared: false` runs the
 * unshared-memory path that browsers without cross-origin isolation get).
 */
export function createWasmKernels(options: WasmKernelOptions = {}): WasmKernelInstance {
  const own = new Runtime(options);
  if (options.threads === undefined) onThreads((threads) => own.setThreads(threads));
  else own.setThreads(options.threads);
  return Object.freeze({
    ...kernelsOf(() => own, 'wasm'),
    shared: own.shared,
    relaxed: own.relaxed,
    wideTile: own.wideTile,
    workersReady: () => own.workersReady(),
    chunkCounts: () => own.chunkCounts(),
    terminate: () => own.terminate(),
  });
}

export interface WasmKernelInstance extends Kernels {
  readonly shared: boolean;
  /** Whether this instance runs the relaxed-SIMD build. */
  readonly relaxed: boolean;
  /** Whether its GEMMs use the wide register tile (see WasmKernelOptions.tile). */
  readonly wideTile: boolean;
  /** Worker threads that have started. */
  workersReady(): number;
  /** Chunks of split calls run by the calling thread and by the workers. */
  chunkCounts(): { caller: number; workers: number };
  /** Stops this instance's workers. */
  terminate(): void;
}

/** The build the default instance runs: 'relaxed-simd', 'simd', or undefined before it loads. */
export function wasmVariant(): 'relaxed-simd' | 'simd' | undefined {
  return defaultRuntime === undefined ? undefined : defaultRuntime.relaxed ? 'relaxed-simd' : 'simd';
}

/**
 * The default instance's GEMM register tile: 'wide' (5×8 and 4×8 panels) or 'narrow' (4×8), with
 * the load-time timing that chose it (GFLOP/s of one thread; absent when it did not run: the
 * plain build, or a `tile` option); undefined before it loads.
 */
export function wasmTile(): { tile: 'wide' | 'narrow'; probe?: TileProbe } | undefined {
  if (defaultRuntime === undefined) return undefined;
  const tile = defaultRuntime.wideTile ? 'wide' : 'narrow';
  return defaultRuntime.tileProbe === undefined ? { tile } : { tile, probe: { ...defaultRuntime.tileProbe } };
}

/** Worker threads of the default instance that have started (0 before it loads). */
export function wasmWorkersReady(): number {
  return defaultRuntime === undefined ? 0 : defaultRuntime.workersReady();
}

/** Chunks of split calls the default instance's calling thread and workers have run. */
export function wasmChunkCounts(): { caller: number; workers: number } {
  return defaultRuntime === undefined ? { caller: 0, workers: 0 } : defaultRuntime.chunkCounts();
}

/** Bytes of the scratch the default instance has handed out (0 before it loads). */
export function wasmScratchBytes(): number {
  return defaultRuntime === undefined ? 0 : defaultRuntime.mem.scratchBytes();
}

/** Forgets the default instance's scratch (its memory cannot shrink; the space is reused). */
export function releaseWasmScratch(): void {
  defaultRuntime?.mem.releaseScratch();
}

/** Bytes of the default instance's linear memory (0 before it loads). */
export function wasmMemoryBytes(): number {
  return defaultRuntime === undefined ? 0 : defaultRuntime.mem.bytes();
}
