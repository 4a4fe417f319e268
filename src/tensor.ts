/**
 * Tensors are plain data: a row-major typed array, a shape (NCHW for images) and a dtype.
 * There is no engine and no disposal; the garbage collector owns everything (an Arena, below,
 * lets a model's inference forward reuse its intermediate arrays instead).
 */
import { ConvnetError, fail, show } from './errors.js';
import type { Rng } from './rng.js';

export type DType = 'float32' | 'float64';
export type TypedArray = Float32Array | Float64Array;

export interface Tensor {
  readonly shape: number[];
  readonly data: TypedArray;
  readonly dtype: DType;
}

/** Nested arrays of numbers, as written in a test or a notebook. */
export type NestedNumbers = number | NestedNumbers[];

export const DTYPES: readonly DType[] = ['float32', 'float64'];

/** The number of elements of a shape (1 for the scalar shape []). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The most elements one tensor may hold: 2^31 − 1, so that every offset into it is an int32
 * (the kernels' argmax indices are; WebAssembly's memory is at most 4 GiB).
 */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/**
 * Throws a ConvnetError naming `fn` unless `length` is a count of elements a tensor may have
 * (an integer in [0, MAX_ELEMENTS]). Layers call it with the sizes they are about to allocate,
 * so that a request too large to satisfy (e.g. from huge padding, or from an empty x with a
 * huge batch) fails at once rather than with a RangeError or after exhausting memory.
 */
export function assertAllocatable(fn: string, length: number, what: string): void {
  if (!Number.isInteger(length) || length < 0 || length > MAX_ELEMENTS) {
    fail(fn, `${what} of at most 2^31 − 1 elements`, `${show(length)} elements`);
  }
}

/**
 * Where an Arena may take its float32 arrays from instead of `new Float32Array`: a kernel
 * backend's own memory (KernelCapabilities.resident32), so that its kernels use them in place.
 * Its index arrays (a max pool's argmax) come from here too, as Int32Array views of a block.
 * allocate may return undefined (no room, or no such memory here); contents are arbitrary.
 */
export interface Float32Heap {
  allocate(length: number): Float32Array | undefined;
  /** Frees an array allocate gave, or an Int32Array view of one (the same block). */
  free(array: Float32Array | Int32Array): void;
}

/**
 * Arrays reused by calls that allocate the same sequence of sizes: a model's inference forward
 * (Network.forward in test mode) runs inside one, so that after its first call at a batch size
 * it allocates nothing but the output it returns; so does a training call with reuseArrays.
 * Inside `arena.run(...)`, allocate,
 * allocateUninitialized and allocateIndices hand out the array of the same place in the
 * sequence as last time (a view of its first `length` values when a later call is smaller),
 * and create one only when there is none big enough. Why not a free list: the sequence of an
 * inference forward is the same on every call, so matching by position needs no bookkeeping
 * of lifetimes; what the run returns is overwritten by the next run: inference copies its
 * output out, and a training call's gradients are valid until its next call.
 */
export class Arena {
  private readonly slots: (Float32Array | Float64Array | Int32Array)[] = [];
  /** Slots whose array came from `heap` (freed to it when dropped). */
  private readonly fromHeap = new Set<Float32Array | Float64Array | Int32Array>();
  private heap: Float32Heap | undefined;
  private next = 0;
  /** Arrays this arena has created (it stops rising once the sizes repeat). */
  created = 0;

  /** heapOf: the heap to take float32 arrays from, asked at the start of each run (none: ordinary arrays). */
  constructor(private readonly heapOf?: () => Float32Heap | undefined) {}

  /** Runs `body` with this arena serving the allocations (not re-entrant: nested runs share it). */
  run<T>(body: () => T): T {
    const heap = this.heapOf?.();
    if (heap !== this.heap) {
      // The backend changed: make the arrays again where its kernels want them.
      this.clear();
      this.heap = heap;
    }
    const previous = activeArena;
    activeArena = this;
    this.next = 0;
    try {
      return body();
    } finally {
      activeArena = previous;
    }
  }

  /** Bytes held by the arena's arrays. */
  get bytes(): number {
    return this.slots.reduce((sum, a) => sum + a.byteLength, 0);
  }

  /** Bytes of the arena's arrays that live in a backend's memory (the heap). */
  get heapBytes(): number {
    let sum = 0;
    for (const a of this.fromHeap) sum += a.byteLength;
    return sum;
  }

  /** Drops every array (the next run creates them again). */
  clear(): void {
    for (const slot of this.slots) this.drop(slot);
    this.slots.length = 0;
    this.next = 0;
  }

  private drop(slot: Float32Array | Float64Array | Int32Array | undefined): void {
    if (slot === undefined || !this.fromHeap.delete(slot)) return;
    this.heap?.free(slot as Float32Array | Int32Array);
  }

  take<A extends Float32Array | Float64Array | Int32Array>(kind: new (length: number) => A, length: number, zero: boolean): A {
    const at = this.next++;
    const slot = this.slots[at];
    let array: A;
    if (slot instanceof kind && slot.length >= length) {
      array = (slot.length === length ? slot : slot.subarray(0, length)) as A;
      if (zero) array.fill(0);
    } else {
      this.drop(slot);
      // Float32 arrays, and index arrays (a max pool's argmax) as Int32 views of a float32 block.
      const block = (kind as unknown) === Float32Array || (kind as unknown) === Int32Array ? this.heap?.allocate(length) : undefined;
      if (block !== undefined) {
        array = ((kind as unknown) === Int32Array ? new Int32Array(block.buffer, block.byteOffset, length) : block) as A;
        this.fromHeap.add(array);
        if (zero) array.fill(0);
      } else {
        array = new kind(length); // zero-filled
      }
      this.slots[at] = array;
      this.created++;
    }
    return array;
  }
}

let activeArena: Arena | null = null;

/** A new zero-filled typed array of a dtype (a ConvnetError above MAX_ELEMENTS). */
export function allocate(dtype: DType, length: number): TypedArray {
  assertAllocatable('allocate', length, 'an array');
  if (activeArena !== null) return (dtype === 'float32' ? activeArena.take(Float32Array, length, true) : activeArena.take(Float64Array, length, true));
  return dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

/** A new zero-filled Int32Array (argmax indices), from the active Arena if there is one. */
export function allocateIndices(length: number): Int32Array {
  assertAllocatable('allocateIndices', length, 'an index array');
  if (activeArena !== null) return activeArena.take(Int32Array, length, true);
  return new Int32Array(length);
}

/** Below this many bytes allocateUninitialized zero-fills like allocate (no gain to be had). */
const UNINITIALIZED_BYTES = 1 << 18;

const nodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow?: (bytes: number) => Uint8Array } }).Buffer;

/**
 * A new typed array of a dtype whose contents are arbitrary, for an output that the caller
 * overwrites in full (like numpy.empty). Why: a zero-filled array of megabytes comes from a
 * fresh mapping of zeroed pages on every call (Node's calloc), and touching them costs more
 * than many layers' arithmetic (a 6.5 MB conv output: ~3 ms against ~0.5 ms for a reused
 * block, measured on this project's machine); Node's allocUnsafeSlow reuses freed memory.
 * Elsewhere (browsers), and for small arrays, this is allocate.
 */
export function allocateUninitialized(dtype: DType, length: number): TypedArray {
  const bytesPer = dtype === 'float32' ? 4 : 8;
  assertAllocatable('allocate', length, 'an array');
  if (activeArena !== null) return (dtype === 'float32' ? activeArena.take(Float32Array, length, false) : activeArena.take(Float64Array, length, false));
  if (nodeBuffer?.allocUnsafeSlow === undefined || length * bytesPer < UNINITIALIZED_BYTES) return allocate(dtype, length);
  let bytes: Uint8Array;
  try {
    bytes = nodeBuffer.allocUnsafeSlow(length * bytesPer);
  } catch {
    // Above Buffer's own limit (4 GiB on Node 20), which typed arrays do not share.
    return allocate(dtype, length);
  }
  // allocUnsafeSlow's buffer is its own, at offset 0 (no pool), so any alignment holds.
  return dtype === 'float32' ? new Float32Array(bytes.buffer, bytes.byteOffset, length) : new Float64Array(bytes.buffer, bytes.byteOffset, length);
}

export function dtypeOf(data: TypedArray): DType {
  return data instanceof Float32Array ? 'float32' : 'float64';
}

function checkShape(fn: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    fail(fn, 'a shape of non-negative integers', show(shape));
  }
  return [...shape];
}

function checkDtype(fn: string, dtype: unknown): DType {
  if (dtype !== 'float32' && dtype !== 'float64') fail(fn, "dtype 'float32' or 'float64'", show(dtype));
  return dtype;
}

function flattenNested(values: NestedNumbers, out: number[], inferred: number[], depth: number): void {
  if (typeof values === 'number') {
    out.push(values);
    return;
  }
  if (inferred.length <= depth) inferred.push(values.length);
  for (const v of values) flattenNested(v, out, inferred, depth + 1);
}

/**
 * Makes a tensor from flat values (any array-like) or nested arrays. `shape` defaults to the
 * nesting of `values` (or [length] for flat values); the values are copied.
 */
export function tensor(
  values: ArrayLike<number> | NestedNumbers,
  shape?: readonly number[],
  dtype: DType = 'float64',
): Tensor {
  const fn = 'tensor';
  checkDtype(fn, dtype);
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (typeof values === 'number') {
    flat = [values];
    inferred = [];
  } else if (Array.isArray(values)) {
    const out: number[] = [];
    inferred = [];
    flattenNested(values as NestedNumbers, out, inferred, 0);
    flat = out;
  } else if (values !== null && typeof values === 'object' && typeof (values as ArrayLike<number>).length === 'number') {
    flat = values as ArrayLike<number>;
    inferred = [flat.length];
  } else {
    fail(fn, 'values as numbers, nested arrays or a typed array', show(values));
  }
  const finalShape = shape === undefined ? inferred : checkShape(fn, shape);
  if (sizeOf(finalShape) !== flat.length) {
    fail(fn, `${sizeOf(finalShape)} values for shape ${show(finalShape)}`, `${flat.length} values`);
  }
  const data = allocate(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) data[i] = flat[i]!;
  return { shape: finalShape, data, dtype };
}

/** Wraps an existing typed array without copying. */
export function fromData(data: TypedArray, shape: readonly number[]): Tensor {
  const finalShape = checkShape('fromData', shape);
  if (!(data instanceof Float32Array || data instanceof Float64Array)) {
    fail('fromData', 'a Float32Array or Float64Array', show(data));
  }
  if (sizeOf(finalShape) !== data.length) {
    fail('fromData', `${sizeOf(finalShape)} values for shape ${show(finalShape)}`, `${data.length} values`);
  }
  return { shape: finalShape, data, dtype: dtypeOf(data) };
}

export function zeros(shape: readonly number[], dtype: DType = 'float64'): Tensor {
  const finalShape = checkShape('zeros', shape);
  checkDtype('zeros', dtype);
  return { shape: finalShape, data: allocate(dtype, sizeOf(finalShape)), dtype };
}

export function ones(shape: readonly number[], dtype: DType = 'float64'): Tensor {
  const t = zeros(shape, dtype);
  t.data.fill(1);
  return t;
}

export function full(shape: readonly number[], value: number, dtype: DType = 'float64'): Tensor {
  const t = zeros(shape, dtype);
  t.data.fill(value);
  return t;
}

/** A zero tensor with the shape and dtype of `t`. */
export function zerosLike(t: Tensor): Tensor {
  return { shape: [...t.shape], data: allocate(t.dtype, t.data.length), dtype: t.dtype };
}

/** A deep copy (new data array, new shape array). */
export function clone(t: Tensor): Tensor {
  return { shape: [...t.shape], data: t.data.slice(), dtype: t.dtype };
}

/** Converts to another dtype (a copy, even when the dtype is the same). */
export function cast(t: Tensor, dtype: DType): Tensor {
  checkDtype('cast', dtype);
  const data = allocate(dtype, t.data.length);
  data.set(t.data);
  return { shape: [...t.shape], data, dtype };
}

/**
 * numpy's linspace: `num` evenly spaced values from start to stop, both ends included.
 * Returns a 1-D float64 tensor; reshape it for CS231n-style fixtures.
 */
export function linspace(start: number, stop: number, num: number, dtype: DType = 'float64'): Tensor {
  if (!Number.isFinite(start) || !Number.isFinite(stop)) {
    fail('linspace', 'finite start and stop', `start ${show(start)}, stop ${show(stop)}`);
  }
  if (!Number.isInteger(num) || num < 0) fail('linspace', 'num to be a non-negative integer', show(num));
  const data = allocate(checkDtype('linspace', dtype), num);
  if (num === 1) data[0] = start;
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) data[i] = start + i * step;
  // numpy sets the last value to stop exactly.
  if (num > 1) data[num - 1] = stop;
  return { shape: [num], data, dtype };
}

/**
 * A view with a new shape over the same data (no copy, like numpy's reshape of a contiguous
 * array). One dimension may be -1 and is then inferred.
 */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  assertTensorLike('reshape', 't', t);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= -1)) {
    fail('reshape', 'a shape of non-negative integers (one may be -1)', show(shape));
  }
  const inferAt = shape.indexOf(-1);
  if (inferAt !== shape.lastIndexOf(-1)) fail('reshape', 'at most one -1 in the shape', show(shape));
  const finalShape = [...shape];
  if (inferAt >= 0) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || t.data.length % known !== 0) {
      fail('reshape', `a shape whose size divides ${t.data.length}`, show(shape));
    }
    finalShape[inferAt] = t.data.length / known;
  }
  if (sizeOf(finalShape) !== t.data.length) {
    fail('reshape', `a shape of ${t.data.length} elements (from ${show(t.shape)})`, `${show(shape)} (${sizeOf(finalShape)} elements)`);
  }
  return { shape: finalShape, data: t.data, dtype: t.dtype };
}

/** A tensor of standard normal samples drawn from `generator`. */
export function randn(shape: readonly number[], generator: Rng, dtype: DType = 'float64'): Tensor {
  const t = zeros(shape, dtype);
  for (let i = 0; i < t.data.length; i++) t.data[i] = generator.normal();
  return t;
}

/** A tensor of uniform samples in [low, high). */
export function randu(shape: readonly number[], generator: Rng, low = 0, high = 1, dtype: DType = 'float64'): Tensor {
  const t = zeros(shape, dtype);
  for (let i = 0; i < t.data.length; i++) t.data[i] = generator.uniformRange(low, high);
  return t;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** The multi-index of a flat row-major offset. */
export function unravelIndex(offset: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    index[i] = offset % shape[i]!;
    offset = Math.floor(offset / shape[i]!);
  }
  return index;
}

/** Nested arrays of the values, for printing and comparisons in tests. */
export function toNested(t: Tensor): NestedNumbers {
  const build = (dim: number, offset: number, strides: number[]): NestedNumbers => {
    if (dim === t.shape.length) return t.data[offset]!;
    const out: NestedNumbers[] = [];
    for (let i = 0; i < t.shape[dim]!; i++) out.push(build(dim + 1, offset + i * strides[dim]!, strides));
    return out;
  };
  return build(0, 0, stridesOf(t.shape));
}

/** Checks that `value` looks like a Tensor (used by reshape, which sits below validate.ts). */
function assertTensorLike(fn: string, name: string, value: unknown): asserts value is Tensor {
  const t = value as Tensor;
  if (
    t === null ||
    typeof t !== 'object' ||
    !Array.isArray(t.shape) ||
    !(t.data instanceof Float32Array || t.data instanceof Float64Array)
  ) {
    throw new ConvnetError(fn, `expected ${name} to be a tensor { shape, data: Float32Array | Float64Array, dtype }, got ${show(value)}`);
  }
}
