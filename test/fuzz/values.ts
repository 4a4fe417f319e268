/**
 * Random values for fuzz targets, all drawn from the project's seeded Rng: tensors (valid,
 * empty, huge-but-empty, with NaN and infinities), malformed tensors, non-tensor junk, bad
 * numbers, and mutations of arguments. A generator builds valid arguments, then (often) breaks
 * one of them with `mutate`, saying whether the result must be rejected ('error') or may go
 * either way ('either').
 */
import type { Rng } from '../../src/rng.js';
import type { DType, Tensor } from '../../src/tensor.js';
import type { Expect } from './harness.js';

export const pick = <T>(r: Rng, values: readonly T[]): T => values[r.int(values.length)]!;
/** An integer in [low, high]. */
export const between = (r: Rng, low: number, high: number): number => low + r.int(high - low + 1);
export const chance = (r: Rng, p: number): boolean => r.uniform() < p;
export const randomDtype = (r: Rng): DType => (chance(r, 0.5) ? 'float64' : 'float32');
export const otherDtype = (d: DType): DType => (d === 'float32' ? 'float64' : 'float32');
export const sizeOfShape = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** What kind of numbers a random tensor holds. */
export type Fill = 'normal' | 'integers' | 'special';

/**
 * A tensor of a shape: standard normal values (scaled by 1, 1e-3 or 1e3 now and then), small
 * integers (ties), or 'special' (normal values with a few NaN, Infinity and −Infinity).
 */
export function randomTensor(r: Rng, shape: readonly number[], dtype: DType, fill: Fill = 'normal'): Tensor {
  const size = sizeOfShape(shape);
  const data = dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
  const scale = fill === 'normal' && chance(r, 0.1) ? pick(r, [1e-3, 1e3]) : 1;
  for (let i = 0; i < size; i++) data[i] = fill === 'integers' ? r.int(5) - 2 : scale * r.normal();
  if (fill === 'special' && size > 0) {
    for (let k = 0, n = 1 + r.int(3); k < n; k++) data[r.int(size)] = pick(r, [Number.NaN, Infinity, -Infinity]);
  }
  return { shape: [...shape], data, dtype };
}

/** A fill: mostly normal, sometimes integers, rarely special values. */
export function randomFill(r: Rng): Fill {
  const u = r.uniform();
  return u < 0.75 ? 'normal' : u < 0.95 ? 'integers' : 'special';
}

/** A list of n dimensions in [low, high]. */
export function dims(r: Rng, n: number, low: number, high: number): number[] {
  return Array.from({ length: n }, () => between(r, low, high));
}

/** A value that is not a tensor at all. */
export function junk(r: Rng): unknown {
  const choices: (() => unknown)[] = [
    () => null,
    () => undefined,
    () => 0,
    () => 3,
    () => -1,
    () => 2.5,
    () => Number.NaN,
    () => Infinity,
    () => '',
    () => 'tensor',
    () => true,
    () => [],
    () => [1, 2, 3],
    () => [[1, 2], [3, 4]],
    () => ({}),
    () => ({ shape: [2] }),
    () => ({ data: new Float64Array(2) }),
    () => new Float64Array(4),
    () => () => 1,
    () => 1n,
    () => Symbol('fuzz'),
    () => new Date(0),
    () => new Map(),
  ];
  return pick(r, choices)();
}

/** A tensor-shaped object that breaks one rule of a tensor (built from a valid one). */
export function malformedTensor(r: Rng, like: Tensor): { value: unknown; note: string } {
  const shape = [...like.shape];
  const data = like.data.slice();
  const dtype = like.dtype;
  const at = shape.length > 0 ? r.int(shape.length) : 0;
  const withDim = (d: number): number[] => (shape.length > 0 ? shape.map((s, i) => (i === at ? d : s)) : [d]);
  const options: (() => { value: unknown; note: string })[] = [
    () => ({ value: { shape: withDim(shape[at] !== undefined ? shape[at]! + 0.5 : 1.5), data, dtype }, note: 'a non-integer dimension' }),
    () => ({ value: { shape: withDim(-1), data, dtype }, note: 'a negative dimension' }),
    () => ({ value: { shape: withDim(Number.NaN), data, dtype }, note: 'a NaN dimension' }),
    () => ({ value: { shape: withDim(Infinity), data, dtype }, note: 'an infinite dimension' }),
    () => ({ value: { shape: withDim(String(shape[at] ?? 1) as unknown as number), data, dtype }, note: 'a string dimension' }),
    () => ({ value: { shape, data: dtype === 'float32' ? new Float32Array(data.length + 1) : new Float64Array(data.length + 1), dtype }, note: 'one value too many' }),
    () =>
      data.length > 0
        ? { value: { shape, data: data.subarray(0, data.length - 1), dtype }, note: 'data shorter than the shape' }
        : { value: { shape, data: dtype === 'float32' ? new Float32Array(1) : new Float64Array(1), dtype }, note: 'data longer than the (empty) shape' },
    () => ({ value: { shape, data, dtype: otherDtype(dtype) }, note: 'dtype not matching its data' }),
    () => ({ value: { shape, data, dtype: 'int32' }, note: "dtype 'int32'" }),
    () => ({ value: { shape, data: Array.from(data), dtype }, note: 'data a plain array' }),
    () => ({ value: { shape, data: Int32Array.from(data), dtype }, note: 'data an Int32Array' }),
    () => ({ value: { shape: shape.join(','), data, dtype }, note: 'shape a string' }),
    () => ({ value: { data, dtype }, note: 'no shape' }),
    () => ({ value: { shape, dtype }, note: 'no data' }),
    () => ({ value: { shape: [2 ** 31, 2 ** 31, 2 ** 31, 2 ** 31], data, dtype }, note: 'a huge shape (2^124 elements) over small data' }),
    () => ({ value: { shape: [1e200, 1e200], data, dtype }, note: 'a shape whose product overflows to Infinity' }),
  ];
  return pick(r, options)();
}

/** `v` if it is a well-formed tensor; throws otherwise (a mutation that needs one is then skipped). */
export function wellFormed(v: unknown): Tensor {
  const t = v as Tensor;
  const ok =
    t !== null && typeof t === 'object' && Array.isArray(t.shape) && t.shape.every((d) => Number.isInteger(d) && d >= 0) &&
    ((t.data instanceof Float32Array && t.dtype === 'float32') || (t.data instanceof Float64Array && t.dtype === 'float64')) &&
    sizeOfShape(t.shape) === t.data.length;
  if (!ok) throw new Error('not a well-formed tensor');
  return t;
}

/** A tensor with a different rank holding the same values (shape [size] or [1, ...shape] etc.). */
export function wrongRank(r: Rng, t: Tensor): Tensor {
  const options: number[][] = [[t.data.length], [1, ...t.shape], [...t.shape, 1], t.shape.slice(1).length > 0 ? [t.shape[0]! * (t.shape[1] ?? 1), ...t.shape.slice(2)] : [1, 1, 1, 1, 1]];
  const shape = pick(r, options.filter((s) => s.length !== t.shape.length));
  const data = sizeOfShape(shape) === t.data.length ? t.data.slice() : (t.dtype === 'float32' ? new Float32Array(sizeOfShape(shape)) : new Float64Array(sizeOfShape(shape)));
  return { shape, data, dtype: t.dtype };
}

/** A number that is not a valid integer parameter >= 1 (stride, dilation, groups, pool size). */
export function badPositiveInteger(r: Rng): unknown {
  return pick(r, [0, -1, 1.5, 0.5, Number.NaN, Infinity, -Infinity, '2', null, true, [], {}, 2n, -0.5]);
}

/** A number that is not a valid non-negative integer (padding). */
export function badNonNegativeInteger(r: Rng): unknown {
  return pick(r, [-1, 1.5, -0.5, Number.NaN, Infinity, -Infinity, '1', null, true, {}, 1n, [-1, 0], [1, 2, 3], [0.5, 0], [1, 1, 1, Number.NaN], [1, 1, 1, 1, 1], []]);
}

/** A value that is not a finite number. */
export function badFinite(r: Rng): unknown {
  return pick(r, [Number.NaN, Infinity, -Infinity, '1', null, true, [1], {}, 1n]);
}

/** A mutation of valid arguments: changes `args` in place and says what it did. */
export interface Mutation {
  /** What the mutation does, printed with failures. */
  name: string;
  expect: Exclude<Expect, 'ok'>;
  /** The mutated arguments are inconsistent in a way results may differ on (see FuzzCase.comparable). */
  incomparable?: boolean;
  apply(r: Rng, args: unknown[]): string | void;
}

/** An error that a mutation must not hide: a forward run on valid arguments (for a cache) threw. */
export class GeneratorBug extends Error {
  override name = 'GeneratorBug';
}

/**
 * Applies one mutation (sometimes two different ones) to args. The case must throw if its one
 * mutation says so; after two, either outcome is accepted (one may undo the other, e.g. a bad
 * stride by replacing the whole parameter object, or two dtype changes that agree). A mutation
 * that cannot apply to what an earlier one left (it reads a tensor that is no longer one) is
 * skipped.
 */
export function mutate(r: Rng, args: unknown[], mutations: readonly Mutation[]): { expect: Expect; note: string; comparable: boolean } {
  const first = pick(r, mutations);
  const chosen = chance(r, 0.15) && mutations.length > 1 ? [first, pick(r, mutations.filter((m) => m !== first))] : [first];
  const notes: string[] = [];
  let expect: Expect = 'either';
  let comparable = true;
  let applied = 0;
  for (const m of chosen) {
    const before = [...args];
    try {
      const detail = m.apply(r, args);
      notes.push(detail ? `${m.name} (${detail})` : m.name);
      applied += 1;
      expect = applied === 1 ? m.expect : 'either';
      if (m.incomparable) comparable = false;
    } catch (error) {
      if (error instanceof GeneratorBug) throw error;
      args.splice(0, args.length, ...before);
      notes.push(`${m.name} (not applicable)`);
    }
  }
  return { expect, note: notes.join(' + '), comparable };
}
