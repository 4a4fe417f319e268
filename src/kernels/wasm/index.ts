/**
 * The WebAssembly SIMD backend: float32 GEMM, im2col, col2im, whole convolution layers
 * (forward split over threads by image, backward by fixed blocks of images), 2×2 max pooling,
 * ReLU and row sums in WebAssembly
 * (src/kernels/wasm/assembly/kernels.ts, shipped compiled in binary.ts), split over worker
 * threads (pool.ts, jobs.ts); float64 calls, and the kernels where a copy into WebAssembly
 * memory would cost more than the work (other pooling, bias fills, column sums), run the JavaScript
 * kernels.
 *
 * Memory. The module imports one linear memory, shared (a SharedArrayBuffer) wherever that
 * exists (Node; cross-origin-isolated pages), laid out as
 *
 *   [0, 64 KiB)        unused, but for the threads' control block at 32 KiB
 *   work               the GEMM's packing buffers (WORK_BYTES, ~1.1 MiB), one per thread
 *   scratch            the float32 workspace the fast layers borrow (workspace.ts): it lives
 *                      here so that im2col writes the columns and the GEMM reads them in place
 *   staging            per call: copies of the operands that live in JavaScript arrays
 *
 * An operand that is already a view of this memory (the scratch columns) is used in place;
 * any other is copied in (and c, or dx, copied back out). The memory grows as needed and never
 * shrinks. Growing a shared memory leaves existing views valid, which is what lets the fast
 * layers hold a scratch view across calls that grow the staging area; where only unshared
 * memory exists the module is loaded with its memory import patched to unshared, the layers
 * get no scratch view (every operand is copied: correct, slower) and there are no threads.
 *
 * Loading is synchronous (new WebAssembly.Module on the embedded bytes), so the API stays
 * synchronous; it happens on first use (loadWasm() compiles ahead, asynchronously, for browser
 * main threads, which refuse to compile a module this size synchronously).
 */
import { jsKernels } from '../js/index.js';
import type { ColumnGeometry, ConvBatchGeometry, FloatArray, GemmArgs, Kernels, PoolWindow } from '../types.js';
import { WASM_BASE64, WASM_RELAXED_BASE64 } from './binary.js';
import { CONV_WORDS, D, writeConvDescriptor } from './descriptor.js';
import { instantiate, wasmApi, type KernelExports, type WasmMemory } from './exports.js';
import { CHANNEL_AFFINE, CHANNEL_MOMENTS, CHANNEL_SUMS, COL2IM, CONTROL_WORDS, CONV_BACKWARD, CONV_FORWARD, GEMM, IM2COL, MAXPOOL, SUM_BLOCKS } from './jobs.js';
import { MAX_THREADS, onThreads, ThreadPool } from './pool.js';

const PAGE = 65536;
/** The module's declared maximum (src/kernels/wasm/build.mjs): 4 GiB. */
const MAXIMUM_PAGES = 65536;
/** The threads' control block (jobs.ts), in the unused first page. */
const CONTROL = 32768;
const WORK_BASE = 65536;
/** Below this many multiply-adds a GEMM runs on the calling thread alone (~15 µs of work). */
const PARALLEL_MACS = 1 << 18;
/** Below this many column values im2col and col2im run on the calling thread alone. */
const PARALLEL_VALUES = 1 << 15;
/** Chunks per thread: enough to even out threads that run at different speeds. */
const CHUNKS_PER_THREAD = 2;
/**
 * A conv layer's backward runs as this many blocks of images at most, each with its own partial
 * dw and db (summed in block order after), so up to this many threads share it. The count
 * depends on the batch and layer sizes only, never on the thread count.
 */
const MAX_CONV_BLOCKS = 16;
/** ... and the partial sums stay under this many values (16 MiB). */
const CONV_PARTIAL_VALUES = 1 << 22;
/** Images per chunk of a conv forward at most: the job protocol counts chunks in 16 bits. */
const MAX_CHUNKS = 4096;

const align = (bytes: number, to = 64): number => Math.ceil(bytes / to) * to;

/**
 * A tiny module using a SIMD instruction (i8x16.popcnt, among the last to be standardised):
 * validates only in engines with 128-bit SIMD.
 */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/**
 * The same with f32x4.relaxed_madd (relaxed SIMD: Node 22+, Chrome 114+; Node 20 with
 * --experimental-wasm-relaxed-simd).
 */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 28, 1, 26, 0,
  67, 0, 0, 0, 0, 253, 19, 67, 0, 0, 0, 0, 253, 19, 67, 0, 0, 0, 0, 253, 19, 253, 133, 2, 11,
]);

function validates(bytes: Uint8Array): boolean {
  try {
    return wasmApi !== undefined && wasmApi.validate(bytes);
  } catch {
    return false;
  }
}

interface NodeGlobals {
  process?: {
    versions?: { node?: string };
    env?: Record<string, string | undefined>;
    getBuiltinModule?: (name: string) => unknown;
  };
}

/** CONVNET_RELAXED_SIMD=0: never use the relaxed-SIMD build (nor turn V8's flag on for it). */
function relaxedAllowed(): boolean {
  return (globalThis as NodeGlobals).process?.env?.CONVNET_RELAXED_SIMD?.trim() !== '0';
}

let relaxedFlagTried = false;

/**
 * Node 20's V8 (11.3) implements relaxed SIMD but leaves it behind --experimental-wasm-relaxed-simd;
 * the V8 of later Node versions ships it on (the same instructions, unchanged). On Node 20, turn
 * the flag on once, before the first compile, so that Node 20 gets the fused multiply-add GEMM
 * too (about 1.2× on the conv benchmarks). It only makes more modules valid; nothing that
 * validated before changes meaning. CONVNET_RELAXED_SIMD=0 prevents it.
 */
function enableRelaxedSimdOnNode20(): void {
  if (relaxedFlagTried) return;
  relaxedFlagTried = true;
  const node = (globalThis as NodeGlobals).process;
  if (node?.versions?.node?.split('.')[0] !== '20') return;
  const v8 = node.getBuiltinModule?.('node:v8') as { setFlagsFromString?: (flags: string) => void } | undefined;
  v8?.setFlagsFromString?.('--experimental-wasm-relaxed-simd');
}

/**
 * Whether the relaxed-SIMD build can run here (then the GEMM uses fused multiply-adds): the
 * engine validates relaxed SIMD (on Node 20 once the flag is on: enableRelaxedSimdOnNode20),
 * and CONVNET_RELAXED_SIMD is not 0.
 */
export function wasmRelaxedSimdSupported(): boolean {
  if (!relaxedAllowed()) return false;
  if (validates(RELAXED_PROBE)) return true;
  enableRelaxedSimdOnNode20();
  return validates(RELAXED_PROBE);
}

/** Whether this engine has WebAssembly with 128-bit SIMD. */
export function wasmSimdSupported(): boolean {
  return validates(SIMD_PROBE);
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const decoded = new Map<boolean, Uint8Array>();

/** The binary: the relaxed-SIMD build or the plain one, with its memory import shared or not. */
function moduleBytes(relaxed: boolean, shared: boolean): Uint8Array {
  let bytes = decoded.get(relaxed);
  if (bytes === undefined) {
    bytes = decodeBase64(relaxed ? WASM_RELAXED_BASE64 : WASM_BASE64);
    decoded.set(relaxed, bytes);
  }
  return shared ? bytes : unsharedModuleBytes(bytes);
}

/** Compiled modules by variant (loadWasm() fills this ahead, asynchronously). */
const compiled = new Map<string, object>();

function compile(relaxed: boolean, shared: boolean): object {
  const key = `${relaxed}/${shared}`;
  let module = compiled.get(key);
  if (module === undefined) {
    if (wasmApi === undefined) throw new Error('this engine has no WebAssembly');
    module = new wasmApi.Module(moduleBytes(relaxed, shared));
    compiled.set(key, module);
  }
  return module;
}

const canShare = (): boolean => typeof SharedArrayBuffer === 'function';

/**
 * Compiles the module asynchronously. Loading is otherwise synchronous, on first use, which
 * browsers refuse on the main thread for a module this size (Chrome: 4 KB); there, await this
 * before the first layer call (or setBackend('wasm')). Resolves to whether the module loaded.
 */
export async function loadWasm(): Promise<boolean> {
  if (defaultRuntime !== undefined) return true;
  const api = (globalThis as unknown as { WebAssembly?: { compile?: (bytes: Uint8Array) => Promise<object> } }).WebAssembly;
  if (api?.compile === undefined || !wasmSimdSupported()) return false;
  const shared = canShare();
  const relaxed = wasmRelaxedSimdSupported();
  try {
    compiled.set(`${relaxed}/${shared}`, await api.compile(moduleBytes(relaxed, shared)));
  } catch {
    return false;
  }
  loadError = undefined;
  return wasmAvailable();
}

/** Reads an unsigned LEB128 at `at`: [value, next position]. */
function leb(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

/**
 * A copy of the module whose memory import is unshared (limits flag 0x03 → 0x01), for engines
 * without SharedArrayBuffer. The code uses no atomics, so nothing else changes.
 */
export function unsharedModuleBytes(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  let at = 8;
  while (at < out.length) {
    const id = out[at]!;
    const [size, body] = leb(out, at + 1);
    if (id === 2) {
      let [count, p] = leb(out, body);
      for (; count > 0; count--) {
        const [moduleLength, m] = leb(out, p);
        const [fieldLength, f] = leb(out, m + moduleLength);
        p = f + fieldLength;
        const kind = out[p++]!;
        if (kind === 2) {
          if (out[p] === 0x03) out[p] = 0x01;
          return out;
        }
        throw new Error(`unexpected import kind ${kind} in the kernels module`);
      }
    }
    at = body + size;
  }
  throw new Error('the kernels module imports no memory');
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
}

/** A 2×2 stride-2 max pool fused after a conv → relu: its output and argmax, (N, F, height, width). */
interface FusedPool {
  out: Float32Array;
  argmax: Int32Array;
  height: number;
  width: number;
}

/** The backward of a fused pool: the forward's output and argmax, and the gradient of its output. */
interface FusedPoolGradient extends FusedPool {
  dout: Float32Array;
}

/** A loaded module with its memory and its bookkeeping. */
class Runtime {
  readonly shared: boolean;
  readonly relaxed: boolean;
  private readonly memory: WasmMemory;
  private readonly exports: KernelExports;
  private readonly work: number;
  private readonly workStride: number;
  private scratchBase: number;
  private readonly pool: ThreadPool | undefined;
  /** GEMM scratch areas reserved: the calling thread's and one per worker slot. */
  private slots = 1;
  private threads = 1;
  private readonly parallelMacs: number;
  private readonly parallelValues: number;
  /** Every ArrayBuffer this memory has had (views of any of them are views of the memory). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private heap: Float32Array;
  private heapInt: Int32Array;
  private scratchBytesNow = 0;
  private scratchView: Float32Array | undefined;
  private stagingBase: number;
  private top: number;

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
    this.relaxed = options.relaxed ?? wasmRelaxedSimdSupported();
    const module = compile(this.relaxed, shared);
    this.shared = shared;
    this.memory = memory;
    this.exports = instantiate(module, this.memory);
    this.work = WORK_BASE;
    this.workStride = align(this.exports.WORK_BYTES.value);
    this.scratchBase = align(this.work + this.workStride);
    this.stagingBase = this.scratchBase;
    this.top = this.stagingBase;
    this.heap = new Float32Array(0);
    this.heapInt = new Int32Array(0);
    this.ensure(this.stagingBase);
    this.parallelMacs = options.splitAll ? 0 : PARALLEL_MACS;
    this.parallelValues = options.splitAll ? 0 : PARALLEL_VALUES;
    this.pool = shared ? new ThreadPool(module, this.memory, this.exports, new Int32Array(this.memory.buffer, CONTROL, CONTROL_WORDS), CONTROL) : undefined;
  }

  /**
   * Uses `threads` threads (the calling one included; 1 without shared memory). Reserving
   * scratch for new workers moves the layers' scratch, so call it between layer calls.
   */
  setThreads(threads: number): void {
    const n = this.pool === undefined ? 1 : Math.max(1, Math.min(MAX_THREADS, threads));
    if (n > this.slots) {
      this.slots = n;
      this.scratchBase = align(this.work + n * this.workStride);
      this.releaseScratch();
      this.ensure(this.stagingBase);
    }
    this.pool?.resize(n, (slot) => this.work + (slot + 1) * this.workStride);
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

  /** Stops the workers (tests). */
  terminate(): void {
    this.pool?.terminate();
    this.threads = 1;
  }

  private parallel(): ThreadPool | undefined {
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
    const step = Math.ceil(units / Math.min(units, CHUNKS_PER_THREAD * this.threads)) * unit;
    const total = Math.ceil((byColumns ? n : m) / step);
    pool.run(this.work, GEMM, total, step, byColumns ? 1 : 0, [transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate]);
  }

  /** Grows the memory to hold `end` bytes. */
  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      // Grow by at least a quarter again, so that rising demand grows the memory a few times only.
      const extra = Math.min(MAXIMUM_PAGES - have / PAGE, Math.max(pages, Math.ceil(have / PAGE / 4)));
      this.memory.grow(extra);
    }
    if (this.heap.buffer !== this.memory.buffer || this.heap.length * 4 !== this.memory.buffer.byteLength) {
      this.heap = new Float32Array(this.memory.buffer);
      this.heapInt = new Int32Array(this.memory.buffer);
      this.buffers.add(this.memory.buffer);
    }
  }

  /** Whether `array` is a view of this memory (then its data is used in place). */
  owns(array: FloatArray): boolean {
    return this.buffers.has(array.buffer);
  }

  /** Starts a call's staging area. */
  private reset(): void {
    this.top = this.stagingBase;
  }

  /** Reserves `floats` float32 values of staging; returns the byte address. */
  private stage(floats: number): number {
    const at = this.top;
    this.top = align(at + floats * 4);
    this.ensure(this.top);
    return at;
  }

  /** Copies `count` values of `src` from `offset` into wasm memory at byte address `at`. */
  private copyIn(src: FloatArray, offset: number, count: number, at: number): void {
    this.heap.set(src.subarray(offset, offset + count), at >> 2);
  }

  private copyOut(at: number, count: number, dst: FloatArray, offset: number): void {
    dst.set(this.heap.subarray(at >> 2, (at >> 2) + count), offset);
  }

  /**
   * The byte address of a (rows, cols) matrix with leading dimension ld at `offset` of `src`,
   * copied into staging unless it already lives here; returns [address, leading dimension].
   */
  private matrixIn(src: Float32Array, offset: number, rows: number, cols: number, ld: number): [number, number] {
    if (this.owns(src)) return [src.byteOffset + offset * 4, ld];
    const span = (rows - 1) * ld + cols;
    if (span <= 2 * rows * cols + 64) {
      const at = this.stage(span);
      this.copyIn(src, offset, span, at);
      return [at, ld];
    }
    // A narrow block of a wide matrix: copy its rows only.
    const at = this.stage(rows * cols);
    for (let r = 0; r < rows; r++) this.copyIn(src, offset + r * ld, cols, at + r * cols * 4);
    return [at, cols];
  }

  gemm(args: GemmArgs): void {
    const { transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate } = args;
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
      jsKernels.gemm(args);
      return;
    }
    this.reset();
    const [aAt, aLd] = this.matrixIn(a as Float32Array, aOffset, transA ? k : m, transA ? m : k, lda);
    const [bAt, bLd] = this.matrixIn(b as Float32Array, bOffset, transB ? n : k, transB ? k : n, ldb);
    if (this.owns(c)) {
      this.sgemm(+transA, +transB, m, n, k, aAt, aLd, bAt, bLd, c.byteOffset + cOffset * 4, ldc, +accumulate);
      return;
    }
    const contiguous = ldc === n;
    const cAt = this.stage(m * n);
    if (accumulate) {
      if (contiguous) this.copyIn(c, cOffset, m * n, cAt);
      else for (let r = 0; r < m; r++) this.copyIn(c, cOffset + r * ldc, n, cAt + r * n * 4);
    }
    this.sgemm(+transA, +transB, m, n, k, aAt, aLd, bAt, bLd, cAt, n, +accumulate);
    if (contiguous) this.copyOut(cAt, m * n, c, cOffset);
    else for (let r = 0; r < m; r++) this.copyOut(cAt + r * n * 4, n, c, cOffset + r * ldc);
  }

  im2col(x: FloatArray, xOffset: number, g: ColumnGeometry, first: number, count: number, cols: FloatArray, colsOffset: number): void {
    if (count <= 0) return;
    this.reset();
    const size = g.channels * g.height * g.width;
    const rows = g.channels * g.kernelH * g.kernelW;
    const xAt = this.vectorIn(x, xOffset, size);
    const direct = this.owns(cols);
    const colsAt = direct ? cols.byteOffset + colsOffset * 4 : this.stage(rows * count);
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
    if (!direct) this.copyOut(colsAt, rows * count, cols, colsOffset);
  }

  col2im(cols: FloatArray, colsOffset: number, g: ColumnGeometry, first: number, count: number, dx: FloatArray, dxOffset: number): void {
    if (count <= 0) return;
    this.reset();
    const size = g.channels * g.height * g.width;
    const rows = g.channels * g.kernelH * g.kernelW;
    const colsAt = this.vectorIn(cols, colsOffset, rows * count);
    const direct = this.owns(dx);
    const dxAt = this.vectorIn(dx, dxOffset, size); // accumulated into
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
    if (!direct) this.copyOut(dxAt, size, dx, dxOffset);
  }

  /** Writes a conv layer's descriptor (descriptor.ts) into staging; returns its byte address. */
  private describe(
    g: ConvBatchGeometry,
    at: {
      x: number; w: number; b: number; out: number; dx: number; dw: number; db: number; cols: number; colsStride: number; blocks: number;
      reluOut?: number;
      pool?: { out: number; argmax: number; height: number; width: number; dout: number };
    },
  ): number {
    const desc = this.stage(CONV_WORDS);
    writeConvDescriptor(this.heapInt, desc, {
      N: g.batch, C: g.inChannels, H: g.height, W: g.width, F: g.filters, GROUPS: g.groups, KH: g.kernelH, KW: g.kernelW,
      SH: g.strideH, SW: g.strideW, PT: g.padTop, PL: g.padLeft, DH: g.dilationH, DW: g.dilationW, HO: g.outHeight, WO: g.outWidth,
      CHUNK: g.chunk, POINTWISE: g.pointwise ? 1 : 0,
      X: at.x, WEIGHT: at.w, BIAS: at.b, OUT: at.out, DX: at.dx, DWEIGHT: at.dw, DBIAS: at.db,
      COLS: at.cols, COLS_STRIDE: at.colsStride, BLOCKS: at.blocks,
      RELU: g.relu === true ? 1 : 0, RELU_OUT: at.reluOut ?? 0,
      POOL_OUT: at.pool?.out ?? 0, POOL_ARGMAX: at.pool?.argmax ?? 0, POOL_H: at.pool?.height ?? 0, POOL_W: at.pool?.width ?? 0, POOL_DOUT: at.pool?.dout ?? 0,
    });
    return desc;
  }

  /**
   * A conv layer's forward (relu too with g.relu). With `fused`, a 2×2 stride-2 max pool follows
   * inside WebAssembly memory and only its output and argmax are copied out (`out` is unused).
   */
  convForward(x: Float32Array, w: Float32Array, b: Float32Array, g: ConvBatchGeometry, out: Float32Array | null, fused?: FusedPool): void {
    const positions = g.outHeight * g.outWidth;
    const outSize = g.batch * g.filters * positions;
    if (outSize <= 0) return;
    const k = g.channels * g.kernelH * g.kernelW;
    const imageSize = g.inChannels * g.height * g.width;
    const outImage = g.filters * positions;
    const pooledImage = fused === undefined ? 0 : g.filters * fused.height * fused.width;
    this.reset();
    const pool = outSize * k >= this.parallelMacs ? this.parallel() : undefined;
    // Split by images: x copied in and out copied out image by image while the workers compute.
    const byImages = pool !== undefined && g.batch >= CHUNKS_PER_THREAD * this.threads;
    const xIn = this.imagesIn(x, imageSize, g.batch);
    if (!byImages) xIn.copy(0, g.batch);
    const wAt = this.vectorIn(w, 0, g.filters * k);
    const bAt = this.vectorIn(b, 0, g.filters);
    const direct = out !== null && fused === undefined && this.owns(out);
    const outAt = direct ? out.byteOffset : this.stage(outSize);
    const pooledAt = fused === undefined ? 0 : this.stage(g.batch * pooledImage);
    const argmaxAt = fused === undefined ? 0 : this.stage(g.batch * pooledImage);
    const desc = this.describe(g, {
      x: xIn.at, w: wAt, b: bAt, out: outAt, dx: 0, dw: 0, db: 0, cols: 0, colsStride: 0, blocks: 0,
      pool: fused === undefined ? undefined : { out: pooledAt, argmax: argmaxAt, height: fused.height, width: fused.width, dout: 0 },
    });
    // Each thread's zero-padded copy of an image (unused by a 1×1 window).
    const paddedStride = g.pointwise ? 0 : align(this.exports.paddedSize(desc, g.channels) * 4);
    const padded = this.stage((this.threads * paddedStride) / 4);
    this.heapInt[(desc >> 2) + D.COLS] = padded | 0;
    this.heapInt[(desc >> 2) + D.COLS_STRIDE] = paddedStride;
    /** Copies images [first, first + count) of the results out. */
    const copyImagesOut = (first: number, count: number): void => {
      if (fused !== undefined) {
        this.copyOut(pooledAt + first * pooledImage * 4, count * pooledImage, fused.out, first * pooledImage);
        fused.argmax.set(this.heapInt.subarray((argmaxAt >> 2) + first * pooledImage, (argmaxAt >> 2) + (first + count) * pooledImage), first * pooledImage);
      } else if (!direct) {
        this.copyOut(outAt + first * outImage * 4, count * outImage, out!, first * outImage);
      }
    };
    if (pool === undefined) {
      this.exports.convForward(desc, 0, g.batch, 0, positions, 0, this.work);
    } else if (byImages) {
      // Blocks of images.
      const step = Math.ceil(g.batch / Math.min(g.batch, MAX_CHUNKS));
      const images = (chunk: number): [number, number] => [chunk * step, Math.min(step, g.batch - chunk * step)];
      pool.run(this.work, CONV_FORWARD, Math.ceil(g.batch / step), step, 0, [desc, g.batch, positions, 1], {
        input: (chunk) => xIn.copy(...images(chunk)),
        output: (chunk) => copyImagesOut(...images(chunk)),
      });
      return;
    } else {
      // Few images: blocks of each image's output positions too (and the pool after: it needs whole planes).
      const nr = this.exports.NR.value;
      const perImage = Math.min(Math.ceil(positions / nr), Math.ceil((CHUNKS_PER_THREAD * this.threads) / g.batch));
      const step = Math.ceil(positions / perImage / nr) * nr;
      const blocks = Math.ceil(positions / step);
      pool.run(this.work, CONV_FORWARD, g.batch * blocks, step, 0, [desc, g.batch, positions, blocks]);
      if (fused !== undefined && blocks > 1) {
        this.exports.maxPool2x2(outAt, g.batch * g.filters, g.outHeight, g.outWidth, fused.height, fused.width, pooledAt, argmaxAt);
      }
    }
    copyImagesOut(0, g.batch);
  }

  /**
   * A conv layer's backward; with `reluOut`, relu's backward first; with `fused`, dout is built
   * in WebAssembly memory from a fused forward's pooled output, argmax and gradient (`dout` is
   * unused).
   */
  convBackward(
    x: Float32Array, w: Float32Array, dout: Float32Array | null, g: ConvBatchGeometry, dx: Float32Array, dw: Float32Array, db: Float32Array,
    reluOut?: Float32Array, fused?: FusedPoolGradient,
  ): void {
    const positions = g.outHeight * g.outWidth;
    const k = g.channels * g.kernelH * g.kernelW;
    const xSize = g.batch * g.inChannels * g.height * g.width;
    const wSize = g.filters * k;
    if (g.batch <= 0 || positions <= 0 || wSize <= 0) {
      dx.fill(0);
      dw.fill(0);
      db.fill(0);
      return;
    }
    // Fixed by the sizes alone, so the sums do not depend on the thread count.
    const blocks = Math.max(1, Math.min(g.batch, MAX_CONV_BLOCKS, Math.floor(CONV_PARTIAL_VALUES / (wSize + g.filters))));
    const pool = blocks >= 2 && g.batch * g.filters * positions * k >= this.parallelMacs ? this.parallel() : undefined;
    const imageSize = g.inChannels * g.height * g.width;
    const doutImage = g.filters * positions;
    this.reset();
    // With threads, x and dout are copied in and dx out block by block while the workers compute.
    const xIn = this.imagesIn(x, imageSize, g.batch);
    // The fused relu backward zeroes entries of dout in place: always on a copy. A fused pool's
    // dout is built in place from the pool's gradient (dout is null then).
    const doutIn = this.imagesIn(fused === undefined ? dout : null, doutImage, g.batch, reluOut !== undefined);
    const reluIn = reluOut === undefined ? undefined : this.imagesIn(reluOut, doutImage, g.batch);
    // A fused pool's gradient, output and argmax (a quarter of dout's size each).
    const pooledImage = fused === undefined ? 0 : g.filters * fused.height * fused.width;
    const [poolDoutAt, poolOutAt, argmaxAt] = fused === undefined ? [0, 0, 0] : [this.stage(g.batch * pooledImage), this.stage(g.batch * pooledImage), this.stage(g.batch * pooledImage)];
    const pooledIn = (first: number, count: number): void => {
      if (fused === undefined) return;
      const [from, n] = [first * pooledImage, count * pooledImage];
      this.copyIn(fused.dout, from, n, poolDoutAt + from * 4);
      this.copyIn(fused.out, from, n, poolOutAt + from * 4);
      this.heapInt.set(fused.argmax.subarray(from, from + n), (argmaxAt >> 2) + from);
    };
    const imagesIn = (first: number, count: number): void => {
      xIn.copy(first, count);
      doutIn.copy(first, count);
      reluIn?.copy(first, count);
      pooledIn(first, count);
    };
    if (pool === undefined) imagesIn(0, g.batch);
    const wAt = this.vectorIn(w, 0, wSize);
    const dxDirect = this.owns(dx);
    const dxAt = dxDirect ? dx.byteOffset : this.stage(xSize);
    const dwPartials = this.stage(blocks * wSize);
    const dbPartials = this.stage(blocks * g.filters);
    const colsStride = g.pointwise ? 0 : align(k * g.chunk * 4);
    const cols = g.pointwise ? 0 : this.stage((this.threads * colsStride) / 4);
    const desc = this.describe(g, {
      x: xIn.at, w: wAt, b: 0, out: doutIn.at, dx: dxAt, dw: dwPartials, db: dbPartials, cols, colsStride, blocks, reluOut: reluIn?.at ?? 0,
      pool: fused === undefined ? undefined : { out: poolOutAt, argmax: argmaxAt, height: fused.height, width: fused.width, dout: poolDoutAt },
    });
    if (pool === undefined) {
      for (let block = 0; block < blocks; block++) this.exports.convBackward(desc, block, 0, this.work);
    } else {
      // The images of block b, as the module computes them.
      const images = (block: number): [number, number] => {
        const first = Math.floor((block * g.batch) / blocks);
        return [first, Math.floor(((block + 1) * g.batch) / blocks) - first];
      };
      pool.run(this.work, CONV_BACKWARD, blocks, 1, 0, [desc], {
        input: (block) => imagesIn(...images(block)),
        output: (block) => {
          const [first, count] = images(block);
          if (!dxDirect) this.copyOut(dxAt + first * imageSize * 4, count * imageSize, dx, first * imageSize);
        },
      });
    }
    const dwAt = this.owns(dw) ? dw.byteOffset : this.stage(wSize);
    const dbAt = this.owns(db) ? db.byteOffset : this.stage(g.filters);
    this.sumBlocks(dwPartials, blocks, wSize, dwAt);
    this.sumBlocks(dbPartials, blocks, g.filters, dbAt);
    if (!dxDirect && pool === undefined) this.copyOut(dxAt, xSize, dx, 0);
    if (!this.owns(dw)) this.copyOut(dwAt, wSize, dw, 0);
    if (!this.owns(db)) this.copyOut(dbAt, g.filters, db, 0);
  }

  /** dst = Σ_b src[b] over `blocks` blocks of n values, in block order (split by elements). */
  private sumBlocks(src: number, blocks: number, n: number, dst: number): void {
    const pool = blocks * n >= this.parallelValues && n >= 8 ? this.parallel() : undefined;
    if (pool === undefined) {
      this.exports.sumBlocks(src, blocks, n, 0, n, dst);
      return;
    }
    const step = Math.ceil(n / (CHUNKS_PER_THREAD * this.threads) / 4) * 4;
    pool.run(this.work, SUM_BLOCKS, Math.ceil(n / step), step, 0, [src, blocks, n, dst]);
  }

  /** Stages float64 values; returns the byte address. */
  private f64In(values: Float64Array): number {
    const at = this.stage(values.length * 2);
    new Float64Array(this.memory.buffer, at, values.length).set(values);
    return at;
  }

  /** Copies entries [from, to) of the float64 array staged at `at` into dst. */
  private f64Out(at: number, from: number, to: number, dst: Float64Array): void {
    dst.set(new Float64Array(this.memory.buffer, at + from * 8, to - from), from);
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
    this.reset();
    const xAt = this.vectorIn(x, 0, n * c * s);
    const meanAt = this.stage(2 * c);
    const varAt = this.stage(2 * c);
    this.channels(CHANNEL_MOMENTS, n, c, s, c0, c1, [xAt, meanAt, varAt], () => this.exports.channelMoments(xAt, n, c, s, c0, c1, meanAt, varAt));
    this.f64Out(meanAt, c0, c1, mean);
    this.f64Out(varAt, c0, c1, variance);
  }

  channelSums(dout: Float32Array, x: Float32Array, n: number, c: number, s: number, c0: number, c1: number, centre: Float64Array, sums: Float64Array, dots: Float64Array): void {
    if (c1 <= c0) return;
    this.reset();
    const doutAt = this.vectorIn(dout, 0, n * c * s);
    const xAt = this.vectorIn(x, 0, n * c * s);
    const centreAt = this.f64In(centre);
    const sumsAt = this.stage(2 * c);
    const dotsAt = this.stage(2 * c);
    this.channels(CHANNEL_SUMS, n, c, s, c0, c1, [doutAt, xAt, centreAt, sumsAt, dotsAt], () =>
      this.exports.channelSums(doutAt, xAt, n, c, s, c0, c1, centreAt, sumsAt, dotsAt),
    );
    this.f64Out(sumsAt, c0, c1, sums);
    this.f64Out(dotsAt, c0, c1, dots);
  }

  channelAffine(
    x: Float32Array, dout: Float32Array | null, n: number, c: number, s: number, c0: number, c1: number,
    centre: Float64Array, a: Float64Array, b: Float64Array, k: Float64Array, out: Float32Array,
  ): void {
    if (c1 <= c0 || n * s <= 0) return;
    this.reset();
    const xAt = this.vectorIn(x, 0, n * c * s);
    const doutAt = dout === null ? 0 : this.vectorIn(dout, 0, n * c * s);
    const [centreAt, aAt, bAt, kAt] = [centre, a, b, k].map((values) => this.f64In(values)) as [number, number, number, number];
    const direct = this.owns(out);
    const outAt = direct ? out.byteOffset : this.stage(n * c * s);
    this.channels(CHANNEL_AFFINE, n, c, s, c0, c1, [xAt, doutAt, centreAt, aAt, bAt, kAt, outAt], () =>
      this.exports.channelAffine(xAt, doutAt, n, c, s, c0, c1, centreAt, aAt, bAt, kAt, outAt),
    );
    if (direct) return;
    // Only the channels written: the rest of out keeps its values.
    if (c0 === 0 && c1 === c) this.copyOut(outAt, n * c * s, out, 0);
    else for (let i = 0; i < n; i++) this.copyOut(outAt + (i * c + c0) * s * 4, (c1 - c0) * s, out, (i * c + c0) * s);
  }

  adamStep(
    w: Float32Array, g: Float32Array, m0: Float32Array, v0: Float32Array, n: number,
    beta1: number, beta2: number, stepScale: number, rootScale: number, eps: number,
    next: Float32Array, m: Float32Array, v: Float32Array,
  ): number {
    if (n <= 0) return 0;
    this.reset();
    const [wAt, gAt, m0At, v0At] = [w, g, m0, v0].map((a) => this.vectorIn(a, 0, n)) as [number, number, number, number];
    const outs = [next, m, v];
    const [nextAt, mAt, vAt] = outs.map((a) => (this.owns(a) ? a.byteOffset : this.stage(n))) as [number, number, number];
    const probe = this.exports.adamStep(wAt, gAt, m0At, v0At, 0, n, beta1, beta2, stepScale, rootScale, eps, nextAt, mAt, vAt);
    [nextAt, mAt, vAt].forEach((at, i) => {
      if (!this.owns(outs[i]!)) this.copyOut(at, n, outs[i]!, 0);
    });
    return probe;
  }

  /**
   * A per-image input of `images` images of `imageSize` floats: its address (src's own if it
   * lives in this memory and no copy is forced; else a staged area) and `copy`, which copies
   * images [first, first + count) there (nothing when src is used in place, or is null: an
   * area the kernel fills itself).
   */
  private imagesIn(src: Float32Array | null, imageSize: number, images: number, forceCopy = false): { at: number; copy: (first: number, count: number) => void } {
    if (src !== null && !forceCopy && this.owns(src)) return { at: src.byteOffset, copy: () => undefined };
    const at = this.stage(images * imageSize);
    if (src === null) return { at, copy: () => undefined };
    return { at, copy: (first, count) => this.copyIn(src, first * imageSize, count * imageSize, at + first * imageSize * 4) };
  }

  /** The address of `n` values of `src` from `offset`, copied into staging unless they live here. */
  private vectorIn(src: FloatArray, offset: number, n: number): number {
    if (this.owns(src)) return src.byteOffset + offset * 4;
    const at = this.stage(n);
    this.copyIn(src, offset, n, at);
    return at;
  }

  /** Max pooling with 2×2 windows at stride 2 inside the input (isPlain2x2), split over planes. */
  maxPool2x2(x: FloatArray, xOffset: number, planes: number, g: PoolWindow, out: FloatArray, outOffset: number, argmax: Int32Array, argmaxOffset: number): void {
    const outSize = planes * g.outHeight * g.outWidth;
    if (outSize <= 0) return;
    this.reset();
    const xAt = this.vectorIn(x, xOffset, planes * g.height * g.width);
    const direct = this.owns(out);
    const outAt = direct ? out.byteOffset + outOffset * 4 : this.stage(outSize);
    const argmaxAt = this.stage(outSize);
    const args = [xAt, planes, g.height, g.width, g.outHeight, g.outWidth, outAt, argmaxAt] as const;
    const pool = outSize >= this.parallelValues && planes >= 2 ? this.parallel() : undefined;
    if (pool === undefined) {
      this.exports.maxPool2x2(...args);
    } else {
      const step = Math.ceil(planes / Math.min(planes, CHUNKS_PER_THREAD * this.threads));
      pool.run(this.work, MAXPOOL, Math.ceil(planes / step), step, 0, args);
    }
    if (!direct) this.copyOut(outAt, outSize, out, outOffset);
    argmax.set(this.heapInt.subarray(argmaxAt >> 2, (argmaxAt >> 2) + outSize), argmaxOffset);
  }

  sumRows(src: FloatArray, srcOffset: number, rows: number, cols: number, sums: FloatArray, sumsOffset: number): void {
    if (rows <= 0) return;
    this.reset();
    const srcAt = this.vectorIn(src, srcOffset, rows * cols);
    const direct = this.owns(sums);
    const sumsAt = direct ? sums.byteOffset + sumsOffset * 4 : this.vectorIn(sums, sumsOffset, rows);
    this.exports.sumRows(srcAt, rows, cols, sumsAt);
    if (!direct) this.copyOut(sumsAt, rows, sums, sumsOffset);
  }

  reluForward(x: FloatArray, xOffset: number, n: number, out: FloatArray, outOffset: number): void {
    if (n <= 0) return;
    this.reset();
    const xAt = this.vectorIn(x, xOffset, n);
    const direct = this.owns(out);
    const outAt = direct ? out.byteOffset + outOffset * 4 : this.stage(n);
    this.exports.relu(xAt, n, outAt);
    if (!direct) this.copyOut(outAt, n, out, outOffset);
  }

  reluBackward(x: FloatArray, xOffset: number, dout: FloatArray, doutOffset: number, n: number, dx: FloatArray, dxOffset: number): void {
    if (n <= 0) return;
    this.reset();
    const xAt = this.vectorIn(x, xOffset, n);
    const doutAt = this.vectorIn(dout, doutOffset, n);
    const direct = this.owns(dx);
    const dxAt = direct ? dx.byteOffset + dxOffset * 4 : this.stage(n);
    this.exports.reluBackward(xAt, doutAt, n, dxAt);
    if (!direct) this.copyOut(dxAt, n, dx, dxOffset);
  }

  /**
   * A float32 view of at least `length` values of scratch inside the memory (shared memory
   * only: an unshared memory's views die when it grows). The same view while it is big enough.
   */
  scratch32(length: number): Float32Array | undefined {
    if (!this.shared) return undefined;
    const bytes = length * 4;
    if (this.scratchView === undefined || this.scratchBytesNow < bytes) {
      // Grow in place (the previous view is no longer in use), by at least half again.
      this.scratchBytesNow = align(Math.max(bytes, Math.ceil(this.scratchBytesNow * 1.5)));
      this.stagingBase = align(this.scratchBase + this.scratchBytesNow);
      this.ensure(this.stagingBase);
      this.scratchView = new Float32Array(this.memory.buffer, this.scratchBase, this.scratchBytesNow / 4);
      this.buffers.add(this.scratchView.buffer);
    }
    return this.scratchView;
  }

  scratchBytes(): number {
    return this.scratchView === undefined ? 0 : this.scratchView.byteLength;
  }

  releaseScratch(): void {
    this.scratchView = undefined;
    this.scratchBytesNow = 0;
    this.stagingBase = this.scratchBase;
  }

  /** Bytes of linear memory (it never shrinks). */
  memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }
}

const isFloat32 = (array: FloatArray): array is Float32Array => array instanceof Float32Array;

/** 2×2 windows at stride 2 that all lie inside the input (the wasm max pool's case). */
function isPlain2x2(g: PoolWindow): boolean {
  return (
    g.kernelH === 2 && g.kernelW === 2 && g.strideH === 2 && g.strideW === 2 &&
    g.padTop === 0 && g.padLeft === 0 && g.dilationH === 1 && g.dilationW === 1 &&
    2 * g.outHeight <= g.height && 2 * g.outWidth <= g.width
  );
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
    maxPoolBackward: jsKernels.maxPoolBackward,
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
      scratch32: (length: number) => runtime().scratch32(length),
      batchConv32: Object.freeze({
        convForward(x: Float32Array, w: Float32Array, b: Float32Array, g: ConvBatchGeometry, out: Float32Array): void {
          runtime().convForward(x, w, b, g, out);
        },
        convBackward(x: Float32Array, w: Float32Array, dout: Float32Array, g: ConvBatchGeometry, dx: Float32Array, dw: Float32Array, db: Float32Array, reluOut?: Float32Array): void {
          runtime().convBackward(x, w, dout, g, dx, dw, db, reluOut);
        },
        convReluPoolForward(
          x: Float32Array, w: Float32Array, b: Float32Array, g: ConvBatchGeometry,
          pooled: Float32Array, argmax: Int32Array, pooledHeight: number, pooledWidth: number,
        ): void {
          runtime().convForward(x, w, b, { ...g, relu: true }, null, { out: pooled, argmax, height: pooledHeight, width: pooledWidth });
        },
        convReluPoolBackward(
          x: Float32Array, w: Float32Array, g: ConvBatchGeometry,
          dpooled: Float32Array, pooled: Float32Array, argmax: Int32Array, pooledHeight: number, pooledWidth: number,
          dx: Float32Array, dw: Float32Array, db: Float32Array,
        ): void {
          runtime().convBackward(x, w, null, g, dx, dw, db, undefined, { dout: dpooled, out: pooled, argmax, height: pooledHeight, width: pooledWidth });
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
    workersReady: () => own.workersReady(),
    chunkCounts: () => own.chunkCounts(),
    terminate: () => own.terminate(),
  });
}

export interface WasmKernelInstance extends Kernels {
  readonly shared: boolean;
  /** Whether this instance runs the relaxed-SIMD build. */
  readonly relaxed: boolean;
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
  return defaultRuntime === undefined ? 0 : defaultRuntime.scratchBytes();
}

/** Forgets the default instance's scratch (its memory cannot shrink; the space is reused). */
export function releaseWasmScratch(): void {
  defaultRuntime?.releaseScratch();
}

/** Bytes of the default instance's linear memory (0 before it loads). */
export function wasmMemoryBytes(): number {
  return defaultRuntime === undefined ? 0 : defaultRuntime.memoryBytes();
}
