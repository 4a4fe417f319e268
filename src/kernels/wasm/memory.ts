/**
 * The WebAssembly backend's linear memory: its layout, growth, the per-call staging area the
 * operands are copied into, and the scratch the fast layers borrow.
 *
 * The module imports one linear memory, shared (a SharedArrayBuffer) wherever that exists
 * (Node; cross-origin-isolated pages), laid out as
 *
 *   [0, 64 KiB)        unused, but for the threads' control block at 32 KiB (CONTROL)
 *   work               the GEMM's packing buffers (WORK_BYTES, ~1.1 MiB), one per thread
 *   scratch            the float32 workspace the fast layers borrow (workspace.ts): it lives
 *                      here so that im2col writes the columns and the GEMM reads them in place
 *   resident blocks    float32 arrays that stay here across calls (resident32: a model's
 *                      arenas), interleaved with the scratch as each grows
 *   staging            per call: copies of the operands that live in JavaScript arrays
 *
 * An operand that is already a view of this memory (the scratch columns) is used in place;
 * any other is copied in (and c, or dx, copied back out). The memory grows as needed and never
 * shrinks. Growing a shared memory leaves existing views valid, which is what lets the fast
 * layers hold a scratch view across calls that grow the staging area; where only unshared
 * memory exists the layers get no scratch view (every operand is copied: correct, slower).
 */
import type { FloatArray } from '../types.js';
import type { WasmMemory } from './exports.js';

export const PAGE = 65536;
/** The module's declared maximum (src/kernels/wasm/build.mjs): 4 GiB. */
export const MAXIMUM_PAGES = 65536;
/** The threads' control block (jobs.ts), in the unused first page. */
export const CONTROL = 32768;
/** The first thread's GEMM packing buffers; the other threads' follow, a stride apart. */
export const WORK_BASE = 65536;

/** `bytes` rounded up to a multiple of `to` (cache lines by default). */
export const align = (bytes: number, to = 64): number => Math.ceil(bytes / to) * to;

/** The memory above the GEMM buffers: scratch, then one call's staging area at a time. */
export class LinearMemory {
  /** float32 and int32 views of the whole memory (replaced when it grows). */
  f32: Float32Array;
  i32: Int32Array;
  /** Every ArrayBuffer this memory has had (views of any of them are views of the memory). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private scratchBase: number;
  private scratchBytesNow = 0;
  private scratchView: Float32Array | undefined;
  private stagingBase: number;
  private top: number;
  /** The end of the highest resident block (or extra GEMM buffer) ever placed; 0 before the first. */
  private heapTop = 0;
  /** Resident blocks in use: byte address → bytes. */
  private readonly blocks = new Map<number, number>();
  /** Space for resident blocks: freed blocks and scratch areas left behind, by address. */
  private readonly free: { at: number; bytes: number }[] = [];

  /** `scratchBase`: the first byte after the GEMM buffers. */
  constructor(
    readonly memory: WasmMemory,
    readonly shared: boolean,
    scratchBase: number,
  ) {
    this.scratchBase = scratchBase;
    this.stagingBase = scratchBase;
    this.top = scratchBase;
    this.f32 = new Float32Array(0);
    this.i32 = new Int32Array(0);
    this.ensure(this.stagingBase);
  }

  /**
   * Moves the scratch to start at `scratchBase` (more threads' GEMM buffers below it): the
   * scratch handed out so far is forgotten.
   */
  moveScratch(scratchBase: number): void {
    if (this.heapTop !== 0) throw new Error('LinearMemory.moveScratch: resident blocks already sit above the scratch (use reserve)');
    this.scratchBase = scratchBase;
    this.releaseScratch();
  }

  /** Whether any resident block (or reserved area) has been placed: then the scratch cannot move down. */
  get hasResidentBlocks(): boolean {
    return this.heapTop !== 0;
  }

  /** Staging starts above both the scratch and every resident block. */
  private raiseStaging(): void {
    this.stagingBase = align(Math.max(this.scratchBase + this.scratchBytesNow, this.heapTop));
    this.ensure(this.stagingBase);
  }

  /**
   * `bytes` (a multiple of 64) of memory that stays put until freed: a free area if one is big
   * enough (the smallest such), else new space at the bottom of staging (between calls only).
   */
  private place(bytes: number): number {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i]!.bytes >= bytes && (best < 0 || this.free[i]!.bytes < this.free[best]!.bytes)) best = i;
    }
    if (best >= 0) {
      const area = this.free[best]!;
      const at = area.at;
      if (area.bytes === bytes) this.free.splice(best, 1);
      else {
        area.at += bytes;
        area.bytes -= bytes;
      }
      return at;
    }
    const at = this.stagingBase;
    this.heapTop = at + bytes;
    this.raiseStaging();
    return at;
  }

  /** Gives [at, at + bytes) back to the free areas, merged with its neighbours. */
  private release(at: number, bytes: number): void {
    this.free.push({ at, bytes });
    this.free.sort((p, q) => p.at - q.at);
    for (let i = this.free.length - 1; i > 0; i--) {
      const before = this.free[i - 1]!;
      const area = this.free[i]!;
      if (before.at + before.bytes === area.at) {
        before.bytes += area.bytes;
        this.free.splice(i, 1);
      }
    }
  }

  /** A byte address of `bytes` that stays reserved for good (extra threads' GEMM buffers). */
  reserve(bytes: number): number {
    return this.place(align(bytes));
  }

  /**
   * A float32 view of `length` values that lives in this memory until freeResident (shared
   * memory only, else undefined: an unshared memory's views die when it grows). The kernels
   * use it in place, with no copy in or out. Its contents are arbitrary.
   */
  resident32(length: number): Float32Array | undefined {
    if (!this.shared) return undefined;
    const bytes = align(Math.max(1, length) * 4);
    const at = this.place(bytes);
    this.blocks.set(at, bytes);
    const view = new Float32Array(this.memory.buffer, at, length);
    this.buffers.add(view.buffer);
    return view;
  }

  /** Frees a view resident32 gave (anything else is ignored). */
  freeResident(view: Float32Array | Int32Array): void {
    if (!this.owns(view)) return;
    const bytes = this.blocks.get(view.byteOffset);
    if (bytes === undefined) return;
    this.blocks.delete(view.byteOffset);
    this.release(view.byteOffset, bytes);
  }

  /** Grows the memory to hold `end` bytes. */
  ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      // Grow by at least a quarter again, so that rising demand grows the memory a few times only.
      const extra = Math.min(MAXIMUM_PAGES - have / PAGE, Math.max(pages, Math.ceil(have / PAGE / 4)));
      this.memory.grow(extra);
    }
    if (this.f32.buffer !== this.memory.buffer || this.f32.length * 4 !== this.memory.buffer.byteLength) {
      this.f32 = new Float32Array(this.memory.buffer);
      this.i32 = new Int32Array(this.memory.buffer);
      this.buffers.add(this.memory.buffer);
    }
  }

  /** Whether `array` is a view of this memory (then its data is used in place). */
  owns(array: FloatArray | Int32Array): boolean {
    return this.buffers.has(array.buffer);
  }

  /** Starts a call's staging area. */
  reset(): void {
    this.top = this.stagingBase;
  }

  /** Reserves `floats` float32 values of staging; returns the byte address. */
  stage(floats: number): number {
    const at = this.top;
    this.top = align(at + floats * 4);
    this.ensure(this.top);
    return at;
  }

  /** Copies `count` values of `src` from `offset` into wasm memory at byte address `at`. */
  copyIn(src: FloatArray, offset: number, count: number, at: number): void {
    this.f32.set(src.subarray(offset, offset + count), at >> 2);
  }

  copyOut(at: number, count: number, dst: FloatArray, offset: number): void {
    dst.set(this.f32.subarray(at >> 2, (at >> 2) + count), offset);
  }

  /**
   * The byte address of a (rows, cols) matrix with leading dimension ld at `offset` of `src`,
   * copied into staging unless it already lives here; returns [address, leading dimension].
   */
  matrixIn(src: Float32Array, offset: number, rows: number, cols: number, ld: number): [number, number] {
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

  /**
   * A per-image input of `images` images of `imageSize` floats: its address (src's own if it
   * lives in this memory and no copy is forced; else a staged area) and `copy`, which copies
   * images [first, first + count) there (nothing when src is used in place, or is null: an
   * area the kernel fills itself).
   */
  imagesIn(src: Float32Array | null, imageSize: number, images: number, forceCopy = false): { at: number; copy: (first: number, count: number) => void } {
    if (src !== null && !forceCopy && this.owns(src)) return { at: src.byteOffset, copy: () => undefined };
    const at = this.stage(images * imageSize);
    if (src === null) return { at, copy: () => undefined };
    return { at, copy: (first, count) => this.copyIn(src, first * imageSize, count * imageSize, at + first * imageSize * 4) };
  }

  /** The address of `n` values of `src` from `offset`, copied into staging unless they live here. */
  vectorIn(src: FloatArray, offset: number, n: number): number {
    if (this.owns(src)) return src.byteOffset + offset * 4;
    const at = this.stage(n);
    this.copyIn(src, offset, n, at);
    return at;
  }

  /** Stages float64 values; returns the byte address. */
  f64In(values: Float64Array): number {
    const at = this.stage(values.length * 2);
    new Float64Array(this.memory.buffer, at, values.length).set(values);
    return at;
  }

  /** Copies entries [from, to) of the float64 array staged at `at` into dst. */
  f64Out(at: number, from: number, to: number, dst: Float64Array): void {
    dst.set(new Float64Array(this.memory.buffer, at + from * 8, to - from), from);
  }

  /**
   * A float32 view of at least `length` values of scratch inside the memory (shared memory
   * only: an unshared memory's views die when it grows). The same view while it is big enough.
   */
  scratch32(length: number): Float32Array | undefined {
    if (!this.shared) return undefined;
    const bytes = length * 4;
    if (this.scratchView === undefined || this.scratchBytesNow < bytes) {
      // Grow by at least half again; the previous view is no longer in use. In place, unless
      // resident blocks sit above the scratch: then it moves above them, and its old space
      // joins the free areas.
      const grown = align(Math.max(bytes, Math.ceil(this.scratchBytesNow * 1.5)));
      if (this.heapTop > this.scratchBase) {
        if (this.scratchBytesNow > 0) this.release(this.scratchBase, this.scratchBytesNow);
        this.scratchBase = align(this.heapTop);
      }
      this.scratchBytesNow = grown;
      this.raiseStaging();
      this.scratchView = new Float32Array(this.memory.buffer, this.scratchBase, this.scratchBytesNow / 4);
      this.buffers.add(this.scratchView.buffer);
    }
    return this.scratchView;
  }

  scratchBytes(): number {
    return this.scratchView === undefined ? 0 : this.scratchView.byteLength;
  }

  releaseScratch(): void {
    if (this.heapTop > this.scratchBase) {
      // Resident blocks sit above: the scratch's space joins the free areas, and the next one starts above them.
      if (this.scratchBytesNow > 0) this.release(this.scratchBase, this.scratchBytesNow);
      this.scratchBase = align(this.heapTop);
    }
    this.scratchView = undefined;
    this.scratchBytesNow = 0;
    this.raiseStaging();
  }

  /** Bytes of linear memory (it never shrinks). */
  bytes(): number {
    return this.memory.buffer.byteLength;
  }
}
