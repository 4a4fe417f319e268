/**
 * Argument checks shared by every exported function. Each throws a ConvnetError naming the
 * function, the argument, what was expected and what came.
 */
import { ConvnetError, fail, show } from './errors.js';
import { MAX_ELEMENTS, sizeOf, type DType, type Tensor } from './tensor.js';

/** Checks that `value` is a well-formed tensor, optionally of a given rank (or one of several). */
export function assertTensor(fn: string, name: string, value: unknown, rank?: number | readonly number[]): asserts value is Tensor {
  const t = value as Tensor;
  if (t === null || typeof t !== 'object' || !Array.isArray(t.shape)) {
    throw new ConvnetError(fn, `expected ${name} to be a tensor { shape, data, dtype }, got ${show(value)}`);
  }
  if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
    throw new ConvnetError(fn, `expected ${name}.data to be a Float32Array or Float64Array, got ${show(t.data)}`);
  }
  const dataDtype: DType = t.data instanceof Float32Array ? 'float32' : 'float64';
  if (t.dtype !== dataDtype) {
    throw new ConvnetError(fn, `expected ${name}.dtype to match its data (${dataDtype}), got ${show(t.dtype)}`);
  }
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || sizeOf(t.shape) !== t.data.length) {
    throw new ConvnetError(fn, `expected ${name}.shape to describe its ${t.data.length} values, got ${show(t.shape)}`);
  }
  if (rank !== undefined) {
    const ranks = typeof rank === 'number' ? [rank] : rank;
    if (!ranks.includes(t.shape.length)) {
      const want = ranks.length === 1 ? `rank ${ranks[0]}` : `rank ${ranks.join(' or ')}`;
      throw new ConvnetError(fn, `expected ${name} of ${want}, got shape ${show(t.shape)}`);
    }
  }
}

/** Checks that every named tensor has the dtype of the first; mixing dtypes is an error. */
export function assertSameDtype(fn: string, tensors: Record<string, Tensor>): DType {
  const entries = Object.entries(tensors);
  const [firstName, first] = entries[0]!;
  for (const [name, t] of entries.slice(1)) {
    if (t.dtype !== first.dtype) {
      throw new ConvnetError(fn, `expected ${name} to have the dtype of ${firstName} (${first.dtype}), got ${t.dtype}`);
    }
  }
  return first.dtype;
}

/** Checks an exact shape. */
export function assertShape(fn: string, name: string, t: Tensor, expected: readonly number[]): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new ConvnetError(fn, `expected ${name} of shape ${show(expected)}, got ${show(t.shape)}`);
  }
}

/** Checks that a tensor has `count` elements (any shape), e.g. gamma of length D. */
export function assertSize(fn: string, name: string, t: Tensor, count: number, meaning: string): void {
  if (t.data.length !== count) {
    throw new ConvnetError(fn, `expected ${name} to have ${count} elements (${meaning}), got shape ${show(t.shape)}`);
  }
}

export function assertObject(fn: string, name: string, value: unknown): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(fn, `${name} to be an object`, show(value));
  }
}

/** A finite number, defaulting when undefined. */
export function finiteNumber(fn: string, name: string, value: unknown, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(fn, `${name} to be a finite number`, show(value));
  return value;
}

/** A number in an interval; `open` excludes the bounds named. */
export function numberInRange(
  fn: string,
  name: string,
  value: unknown,
  low: number,
  high: number,
  fallback?: number,
  open: { low?: boolean; high?: boolean } = {},
): number {
  const v = finiteNumber(fn, name, value, fallback);
  const lowOk = open.low ? v > low : v >= low;
  const highOk = open.high ? v < high : v <= high;
  if (!lowOk || !highOk) {
    fail(fn, `${name} in ${open.low ? '(' : '['}${low}, ${high}${open.high ? ')' : ']'}`, show(value));
  }
  return v;
}

export function integer(fn: string, name: string, value: unknown, min: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(fn, `${name} to be an integer >= ${min}`, show(value));
  }
  return value;
}

/** A number or [h, w] pair of integers >= min, as [h, w]. */
export function intPair(fn: string, name: string, value: unknown, min: number, fallback: number): [number, number] {
  if (value === undefined) return [fallback, fallback];
  if (typeof value === 'number') {
    const v = integer(fn, name, value, min);
    return [v, v];
  }
  if (Array.isArray(value) && value.length === 2 && value.every((v) => Number.isInteger(v) && v >= min)) {
    return [value[0], value[1]];
  }
  return fail(fn, `${name} to be an integer >= ${min} or an [h, w] pair of them`, show(value));
}

/** Padding as a number, [h, w] or [top, left, bottom, right] → [top, left, bottom, right]. */
export function pads4(fn: string, name: string, value: unknown): [number, number, number, number] {
  if (value === undefined) return [0, 0, 0, 0];
  const isPad = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (isPad(value)) return [value, value, value, value];
  if (Array.isArray(value) && value.every(isPad)) {
    if (value.length === 2) return [value[0], value[1], value[0], value[1]];
    if (value.length === 4) return [value[0], value[1], value[2], value[3]];
  }
  return fail(fn, `${name} to be a non-negative integer, [h, w] or [top, left, bottom, right]`, show(value));
}

/** Class labels for N samples, each in [0, numClasses). */
export function labels(fn: string, y: unknown, n: number, numClasses: number): Int32Array {
  if (!(y instanceof Int32Array) && !Array.isArray(y) && !(ArrayBuffer.isView(y) && !(y instanceof DataView))) {
    fail(fn, 'y to be an Int32Array or number[] of class labels', show(y));
  }
  const values = y as ArrayLike<number>;
  if (values.length !== n) fail(fn, `y to have one label per sample (${n})`, `${values.length} labels`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = values[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      fail(fn, `labels in [0, ${numClasses})`, `y[${i}] = ${show(label)}`);
    }
    out[i] = label;
  }
  return out;
}

/** Checks that `dout` has the shape the forward produced and the same dtype. */
export function assertUpstream(fn: string, dout: unknown, expectedShape: readonly number[], dtype: DType): asserts dout is Tensor {
  assertTensor(fn, 'dout', dout);
  assertShape(fn, 'dout', dout, expectedShape);
  if (dout.dtype !== dtype) throw new ConvnetError(fn, `expected dout of dtype ${dtype} (the forward's), got ${dout.dtype}`);
}

/** Cache fields that every forward fills with a tensor. */
const CACHE_TENSORS = new Set(['x', 'w', 'b', 'gamma', 'out']);
/** Cache fields that every forward fills with a shape. */
const CACHE_SHAPES = new Set(['shape', 'inputShape', 'outShape', 'betaShape']);

/**
 * Checks that a cache object came from the matching forward: it has every key, and the fields
 * a forward always fills with a tensor (x, w, b, gamma, out), a shape (shape, inputShape,
 * outShape, betaShape), a dtype (dtype) or an object (geometry) hold one, so that a backward
 * never reads a broken or foreign value as one. Consistency between fields is the layer's to
 * check.
 */
export function assertCache(fn: string, cache: unknown, keys: readonly string[]): void {
  if (cache === null || typeof cache !== 'object' || keys.some((k) => !(k in (cache as object)))) {
    fail(fn, `the cache returned by the matching forward (with ${keys.join(', ')})`, show(cache === null || typeof cache !== 'object' ? cache : Object.keys(cache)));
  }
  const c = cache as Record<string, unknown>;
  for (const key of keys) {
    if (CACHE_TENSORS.has(key)) assertTensor(fn, `cache.${key}`, c[key]);
    else if (CACHE_SHAPES.has(key)) assertShapeValue(fn, `cache.${key}`, c[key]);
    else if (key === 'dtype' && c[key] !== 'float32' && c[key] !== 'float64') fail(fn, "cache.dtype 'float32' or 'float64'", show(c[key]));
    else if (key === 'geometry' && (c[key] === null || typeof c[key] !== 'object')) fail(fn, 'cache.geometry to be the object the forward computed', show(c[key]));
  }
}

/** Checks that a value is a shape: an array of non-negative integers with at most MAX_ELEMENTS elements. */
export function assertShapeValue(fn: string, name: string, value: unknown): asserts value is number[] {
  if (!Array.isArray(value) || !value.every((d) => Number.isInteger(d) && d >= 0) || sizeOf(value) > MAX_ELEMENTS) {
    fail(fn, `${name} to be a shape (non-negative integers)`, show(value));
  }
}
