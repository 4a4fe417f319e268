/**
 * A small seeded fuzz harness. A *target* is a record:
 *
 *   { name, generate(r) → { args, expect, note }, call(...args), reference?(...args), … }
 *
 * For each call the harness draws a fresh Rng from (seed, target name, call index), asks the
 * target for arguments (valid or not), calls it, and checks the outcome:
 *
 * - it threw: the error must be a ConvnetError (anything else — TypeError, RangeError, a plain
 *   Error — is a failure) whose `fn` is one the target may name, and the case must not have been
 *   one the generator knows to be valid (`expect: 'ok'`);
 * - it returned: every tensor in the result must be well formed (shape of non-negative integers
 *   whose product is data.length, data a Float32Array or Float64Array matching dtype), the case
 *   must not be one the generator knows to be invalid (`expect: 'error'`), the target's own
 *   `check` must pass, and with a `reference` (the naive layer, or any oracle) the result must
 *   match it: same outcome (both throw, or both return), same shapes and dtypes, values within
 *   relError ≤ 1e-10 (float64) or scaledError ≤ 1e-4 (float32), numbers alike, NaN where NaN;
 * - no tensor reachable from the arguments may change (except where `mayMutate` allows);
 * - it must finish: runFuzz (runner.ts) runs the calls in a worker thread and stops a call that
 *   takes longer than its timeout, recording a hang.
 *
 * Everything a failure message needs to reproduce the call — the seed, the target, the call's
 * index and a description of the arguments (shapes and parameters, not data) — is in it.
 *
 * Adding targets (e.g. for modules such as Conv2d or Linear): write a module exporting
 * `targets: FuzzTarget[]` and a test that runs it, like layerTargets.ts and layers.test.ts:
 *
 *   // test/fuzz/moduleTargets.ts
 *   export const targets: FuzzTarget[] = [{
 *     name: 'Linear.forward',
 *     errorNames: ['Linear.forward', 'affineForward'],
 *     generate(r) {
 *       const x = randomTensor(r, [between(r, 1, 4), 5], randomDtype(r));
 *       const args = [new Linear(5, 3, { seed: r.int(1000), dtype: x.dtype }), x];
 *       if (chance(r, 0.5)) return { args, expect: 'ok', note: 'valid' };
 *       return { args, ...mutate(r, args, [{ name: 'x not a tensor', expect: 'error', apply: (r, a) => void (a[1] = junk(r)) }]) };
 *     },
 *     call: (layer, x) => (layer as Linear).forward(x as Tensor),
 *     reference: (layer, x) => affineForwardNaive(x as Tensor, (layer as Linear).w, (layer as Linear).b).out,
 *   }];
 *
 *   // test/fuzz/modules.test.ts: runFuzz({ targetsModule: new URL('./moduleTargets.js', import.meta.url), seed, callsPerTarget, timeoutMs })
 *
 * values.ts has the random values (tensors, junk, malformed tensors, bad numbers) and `mutate`;
 * layerTargets.ts's ForwardSpec / forwardTarget / backwardTarget build forward and backward
 * targets (with caches from other layers) from one description of a layer's arguments.
 */
import { ConvnetError } from '../../src/errors.js';
import { relError } from '../../src/gradcheck.js';
import { rng, type Rng } from '../../src/rng.js';
import type { Tensor } from '../../src/tensor.js';
import { scaledError } from '../kernels/suite.js';

/** What the generator knows about its arguments. */
export type Expect = 'ok' | 'error' | 'either';

export interface FuzzCase {
  args: unknown[];
  /** 'ok': valid, must return; 'error': invalid, must throw a ConvnetError; 'either': both are fine. */
  expect: Expect;
  /** What the generator did, e.g. 'valid' or 'pad -1' (printed with failures). */
  note: string;
  /** Anything the target's `check` needs to know about the case (e.g. the gradients' shapes). */
  expected?: unknown;
  /**
   * false: the arguments are inconsistent in a way neither the call nor the reference need
   * notice (e.g. a cache with one field replaced), so what they return may differ: the
   * reference and oracle are not consulted (every other check still is).
   */
  comparable?: boolean;
}

export interface FuzzTarget {
  /** The function's name; also the default name a ConvnetError from it must carry. */
  name: string;
  /** Names a ConvnetError from this target may carry in `fn` (default: [name]). */
  errorNames?: readonly string[];
  /** Random arguments from a seeded generator (valid or not). May run other layers (e.g. a forward for a cache). */
  generate(r: Rng): FuzzCase;
  /** The call under test. */
  call(...args: unknown[]): unknown;
  /**
   * What the result must equal: the naive layer, called on a deep copy of the arguments. It
   * validates like the call, so both must throw or both return.
   */
  reference?(...args: unknown[]): unknown;
  /**
   * What the result must equal, by definition (a few lines of obvious code, no validation):
   * consulted only when the call returned. If the oracle cannot compute a result, the call
   * accepted arguments it should not have.
   */
  oracle?(...args: unknown[]): unknown;
  /** Compares a result with the reference's (default: `differences`), given the arguments. */
  compare?(got: unknown, want: unknown, args: unknown[]): string[];
  /** Which parts of a result are compared with the reference (default: drop every `cache` key). */
  compared?(result: unknown): unknown;
  /** Extra checks of a returned result (given the case, whose args the call may have seen change): a message for each problem. */
  check?(result: unknown, fuzzCase: FuzzCase): string[];
  /** Paths (e.g. 'args[3].runningMean') under which the call may change tensors in place. */
  mayMutate?(path: string): boolean;
}

export type FailureKind =
  | 'generator' // the target's generator threw: a harness bug
  | 'wrong-error' // threw something other than a ConvnetError
  | 'misnamed-error' // a ConvnetError naming another function
  | 'rejected-valid' // threw a ConvnetError on arguments the generator knows are valid
  | 'accepted-invalid' // returned on arguments the generator knows are invalid
  | 'malformed-result' // a tensor in the result whose shape, data and dtype disagree
  | 'mismatch' // differs from the reference (outcome, shape, dtype or values)
  | 'check' // the target's own check failed
  | 'mutated-input' // changed a tensor it was given
  | 'hang'; // did not finish within the timeout

export interface Failure {
  target: string;
  index: number;
  kind: FailureKind;
  message: string;
  /** The arguments, described (shapes and parameters, not data). */
  args: string;
  note: string;
}

// ---------------------------------------------------------------------------------------------
// seeds

/** FNV-1a, 32 bits. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The seed of one call: every call has its own stream, so a failure reproduces alone. */
export function callSeed(seed: number, target: string, index: number): number {
  return hash32(`${seed}/${target}/${index}`);
}

/** The generator of one call. */
export function callRng(seed: number, target: string, index: number): Rng {
  return rng(callSeed(seed, target, index));
}

// ---------------------------------------------------------------------------------------------
// values

/** A value that looks like a tensor (not necessarily a valid one). */
export function isTensorLike(v: unknown): v is Tensor {
  return v !== null && typeof v === 'object' && 'shape' in v && 'data' in v && 'dtype' in v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Own enumerable data properties (accessors are not read: reading one may run code). */
function dataEntries(v: object): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const key of Object.keys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, key);
    if (d && 'value' in d) out.push([key, d.value]);
  }
  return out;
}

/**
 * A deep copy of arguments: arrays, plain objects and typed arrays are copied (accessor
 * properties are copied as accessors); everything else (functions, class instances) is shared.
 */
export function deepCopy<T>(value: T, seen = new Map<unknown, unknown>()): T {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return seen.get(value) as T;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const copy = (value as unknown as Float64Array).slice();
    seen.set(value, copy);
    return copy as T;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (const v of value) copy.push(deepCopy(v, seen));
    return copy as T;
  }
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = Object.create(Object.getPrototypeOf(value));
  seen.set(value, copy);
  for (const key of Object.keys(value)) {
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    if ('value' in d) d.value = deepCopy(d.value, seen);
    Object.defineProperty(copy, key, d);
  }
  return copy as T;
}

function describeNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** A short description of a value: tensors as T(dtype [shape]), data never printed. */
export function describe(value: unknown, depth = 0): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'number') return describeNumber(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'symbol') return String(value);
  if (ArrayBuffer.isView(value)) {
    const a = value as unknown as ArrayLike<number>;
    const head = a.length <= 8 ? `[${Array.from(a, (x) => describeNumber(Number(x))).join(', ')}]` : `(${a.length})`;
    return `${value.constructor.name}${head}`;
  }
  if (depth > 4) return '…';
  if (Array.isArray(value)) {
    const items = value.slice(0, 12).map((v) => describe(v, depth + 1));
    return `[${items.join(', ')}${value.length > 12 ? `, … (${value.length})` : ''}]`;
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (isTensorLike(o)) {
      const data = o.data as unknown;
      const dataText = ArrayBuffer.isView(data)
        ? `${data.constructor.name}(${(data as unknown as ArrayLike<number>).length})`
        : describe(data, depth + 1);
      return `T(${describe(o.dtype)} ${describe(o.shape, depth + 1)} ${dataText})`;
    }
    if (!isPlainObject(o)) return `[${(o as object).constructor?.name ?? 'object'}]`;
    const entries = Object.keys(o).map((k) => {
      const d = Object.getOwnPropertyDescriptor(o, k)!;
      return `${k}: ${'value' in d ? describe(d.value, depth + 1) : '<getter>'}`;
    });
    return `{${entries.join(', ')}}`;
  }
  return String(value);
}

export function describeArgs(args: unknown[]): string {
  return `(${args.map((a) => describe(a)).join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// checks

/** Problems of every tensor-like value reachable in a result (caches included). */
export function malformedTensors(value: unknown, path = 'result', seen = new Set<unknown>()): string[] {
  if (value === null || typeof value !== 'object' || seen.has(value) || ArrayBuffer.isView(value)) return [];
  seen.add(value);
  const problems: string[] = [];
  if (isTensorLike(value)) {
    const { shape, data, dtype } = value as { shape: unknown; data: unknown; dtype: unknown };
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      problems.push(`${path}.shape is not a list of non-negative integers: ${describe(shape)}`);
    } else if (!(data instanceof Float32Array || data instanceof Float64Array)) {
      problems.push(`${path}.data is ${describe(data)}, not a Float32Array or Float64Array`);
    } else {
      const size = shape.reduce((a: number, b: number) => a * b, 1);
      if (size !== data.length) problems.push(`${path}: shape ${describe(shape)} has ${size} elements but data has ${data.length}`);
      const dataDtype = data instanceof Float32Array ? 'float32' : 'float64';
      if (dtype !== dataDtype) problems.push(`${path}.dtype ${describe(dtype)} but data is ${data.constructor.name}`);
    }
    return problems;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => problems.push(...malformedTensors(v, `${path}[${i}]`, seen)));
  } else if (isPlainObject(value)) {
    for (const [k, v] of dataEntries(value)) problems.push(...malformedTensors(v, `${path}.${k}`, seen));
  }
  return problems;
}

/** Every typed array reachable from the arguments, with its path, copied. */
function snapshot(value: unknown, path: string, out: { path: string; array: ArrayBufferView; copy: Uint8Array }[], seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    out.push({ path, array: value, copy: bytes.slice() });
    return;
  }
  if (Array.isArray(value)) value.forEach((v, i) => snapshot(v, `${path}[${i}]`, out, seen));
  else if (isPlainObject(value)) for (const [k, v] of dataEntries(value)) snapshot(v, `${path}.${k}`, out, seen);
}

function changed(entry: { array: ArrayBufferView; copy: Uint8Array }): boolean {
  const a = entry.array;
  if (a.byteLength !== entry.copy.length) return true; // detached or resized
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== entry.copy[i]) return true;
  return false;
}

/** The default view of a result for the reference comparison: every `cache` key dropped. */
function withoutCaches(value: unknown): unknown {
  if (isPlainObject(value) && !isTensorLike(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of dataEntries(value)) if (k !== 'cache') out[k] = v;
    return out;
  }
  return value;
}

/** Differences between a result and the reference's, with the repo's fast-layer tolerances. */
export function differences(got: unknown, want: unknown, path = 'result'): string[] {
  if (isTensorLike(want)) {
    if (!isTensorLike(got)) return [`${path}: got ${describe(got)}, want a tensor`];
    const problems: string[] = [];
    if (describe(got.shape) !== describe(want.shape)) problems.push(`${path}.shape ${describe(got.shape)}, want ${describe(want.shape)}`);
    if (got.dtype !== want.dtype) problems.push(`${path}.dtype ${describe(got.dtype)}, want ${describe(want.dtype)}`);
    if (problems.length > 0) return problems;
    const a = got.data as ArrayLike<number>;
    const b = want.data as ArrayLike<number>;
    if (a.length !== b.length) return [`${path}: ${a.length} values, want ${b.length}`];
    for (let i = 0; i < a.length; i++) {
      if (Number.isNaN(a[i]!) !== Number.isNaN(b[i]!)) return [`${path}[${i}] = ${a[i]}, want ${b[i]} (NaN in one only)`];
      if (!Number.isFinite(b[i]!) && !Number.isNaN(b[i]!) && a[i] !== b[i]) return [`${path}[${i}] = ${a[i]}, want ${b[i]}`];
    }
    const finite = (x: ArrayLike<number>): number[] => Array.from(x).filter((_, i) => Number.isFinite(a[i]!) && Number.isFinite(b[i]!));
    const [fa, fb] = [finite(a), finite(b)];
    if (got.dtype === 'float64') {
      const err = fa.length === 0 ? 0 : relError(fa, fb);
      if (!(err <= 1e-10)) return [`${path}: relError ${err} > 1e-10 (float64)`];
    } else {
      const err = fa.length === 0 ? 0 : scaledError(fa, fb);
      if (!(err <= 1e-4)) return [`${path}: scaledError ${err} > 1e-4 (float32)`];
    }
    return [];
  }
  if (typeof want === 'number') {
    if (typeof got !== 'number') return [`${path}: got ${describe(got)}, want the number ${describe(want)}`];
    if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got) ? [] : [`${path}: ${got}, want ${want}`];
    if (got === want) return [];
    return Math.abs(got - want) <= 1e-10 * Math.max(1, Math.abs(got), Math.abs(want)) ? [] : [`${path}: ${got}, want ${want}`];
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return [`${path}: got ${describe(got)}, want ${describe(want)}`];
    return want.flatMap((w, i) => differences(got[i], w, `${path}[${i}]`));
  }
  if (isPlainObject(want)) {
    if (!isPlainObject(got)) return [`${path}: got ${describe(got)}, want an object`];
    const keys = new Set([...Object.keys(got), ...Object.keys(want)]);
    return [...keys].flatMap((k) => differences(got[k], want[k], `${path}.${k}`));
  }
  return Object.is(got, want) ? [] : [`${path}: got ${describe(got)}, want ${describe(want)}`];
}

type Outcome = { threw: false; value: unknown } | { threw: true; error: unknown };

function attempt(f: () => unknown): Outcome {
  try {
    return { threw: false, value: f() };
  } catch (error) {
    return { threw: true, error };
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message.slice(0, 400)}`;
  return `a thrown ${describe(error)}`;
}

/**
 * Runs call `index` of a target (its arguments from callRng(seed, name, index)) and returns
 * the failures it shows (none: it behaved). `onStart` hears the arguments just before the call.
 */
export function runCall(target: FuzzTarget, seed: number, index: number, onStart?: (args: string, note: string) => void): Failure[] {
  const r = callRng(seed, target.name, index);
  const base = { target: target.name, index };
  let fuzzCase: FuzzCase;
  try {
    fuzzCase = target.generate(r);
  } catch (error) {
    return [{ ...base, kind: 'generator', message: `the generator threw ${describeError(error)}`, args: '', note: '' }];
  }
  const { args, expect, note } = fuzzCase;
  const comparable = fuzzCase.comparable !== false;
  const argsText = describeArgs(args);
  onStart?.(argsText, note);
  const failures: Failure[] = [];
  const fail = (kind: FailureKind, message: string): void => void failures.push({ ...base, kind, message, args: argsText, note });

  const referenceArgs = comparable && (target.reference || target.oracle) ? deepCopy(args) : undefined;
  const before: { path: string; array: ArrayBufferView; copy: Uint8Array }[] = [];
  snapshot(args, 'args', before, new Set());

  const outcome = attempt(() => target.call(...args));

  if (outcome.threw) {
    const { error } = outcome;
    if (!(error instanceof ConvnetError)) {
      fail('wrong-error', `threw ${describeError(error)}`);
    } else {
      const names = target.errorNames ?? [target.name];
      if (!names.includes(error.fn) || !error.message.startsWith(`${error.fn}: `)) {
        fail('misnamed-error', `a ConvnetError naming ${describe(error.fn)}, not ${names.join(' or ')}: ${error.message.slice(0, 300)}`);
      }
      if (expect === 'ok') fail('rejected-valid', `threw on valid arguments: ${error.message.slice(0, 400)}`);
    }
  } else {
    const problems = malformedTensors(outcome.value);
    if (problems.length > 0) fail('malformed-result', problems.join('; '));
    if (expect === 'error') fail('accepted-invalid', `returned ${describe(target.compared ? target.compared(outcome.value) : withoutCaches(outcome.value))} on invalid arguments`);
    if (problems.length === 0 && target.check) {
      const extra = attempt(() => target.check!(outcome.value, fuzzCase));
      if (extra.threw) fail('check', `the check threw ${describeError(extra.error)}`);
      else if ((extra.value as string[]).length > 0) fail('check', (extra.value as string[]).join('; '));
    }
  }

  for (const entry of before) {
    if (target.mayMutate?.(entry.path)) continue;
    if (changed(entry)) fail('mutated-input', `changed ${entry.path} in place`);
  }

  if (comparable && target.oracle && !outcome.threw) {
    const want = attempt(() => target.oracle!(...referenceArgs!));
    const view = target.compared ?? withoutCaches;
    if (want.threw) fail('mismatch', `returned, but the oracle cannot compute a result (${describeError(want.error)})`);
    else {
      const diffs = differences(view(outcome.value), view(want.value));
      if (diffs.length > 0) fail('mismatch', `differs from the oracle: ${diffs.slice(0, 4).join('; ')}`);
    }
  }

  if (comparable && target.reference) {
    const want = attempt(() => target.reference!(...referenceArgs!));
    if (want.threw && !(want.error instanceof ConvnetError)) {
      fail('mismatch', `the reference threw ${describeError(want.error)}`);
    } else if (outcome.threw !== want.threw) {
      if (outcome.threw) {
        if (outcome.error instanceof ConvnetError) fail('mismatch', `threw where the reference returned: ${describeError(outcome.error)}`);
      } else {
        fail('mismatch', `returned where the reference threw ${describeError((want as { error: unknown }).error)}`);
      }
    } else if (!outcome.threw && !want.threw) {
      const view = target.compared ?? withoutCaches;
      const diffs = target.compare ? target.compare(view(outcome.value), view(want.value), referenceArgs!) : differences(view(outcome.value), view(want.value));
      if (diffs.length > 0) fail('mismatch', `differs from the reference: ${diffs.slice(0, 4).join('; ')}`);
    }
  }
  return failures;
}

/** Formats a failure with everything needed to reproduce it. */
export function formatFailure(f: Failure, seed: number): string {
  return [
    `${f.target} call #${f.index}, seed ${seed}: ${f.kind}: ${f.message}`,
    `  case: ${f.note}`,
    `  args: ${f.args}`,
    `  reproduce: CONVNET_FUZZ_SEED=${seed} CONVNET_FUZZ_TARGET=${f.target} CONVNET_FUZZ_INDEX=${f.index} node --test build/test/fuzz/`,
  ].join('\n');
}
