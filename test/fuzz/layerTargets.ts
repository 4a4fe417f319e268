/**
 * Fuzz targets for every layer function the package exports (src/index.ts): each forward with
 * valid and broken arguments, each backward with caches from its own forward (naive or fast:
 * they are interchangeable), from other layers' forwards, and with fields broken, and upstream
 * gradients of the wrong shape, dtype or kind. Fast layers are compared with the naive ones;
 * a few layers with simple definitions (relu, leaky relu, global pools, gemm) with oracles here.
 */
import * as convnet from '../../src/index.js';
import type { Rng } from '../../src/rng.js';
import type { DType, Tensor } from '../../src/tensor.js';
import { describeArgs, differences, isTensorLike, type Expect, type FuzzCase, type FuzzTarget } from './harness.js';
import {
  badFinite,
  badNonNegativeInteger,
  badPositiveInteger,
  GeneratorBug,
  between,
  chance,
  dims,
  junk,
  malformedTensor,
  mutate,
  otherDtype,
  pick,
  randomDtype,
  randomFill,
  randomTensor,
  sizeOfShape,
  wellFormed,
  wrongRank,
  type Fill,
  type Mutation,
} from './values.js';

type Args = unknown[];
type Call = (...args: never[]) => unknown;
type ForwardResult = { out: Tensor; cache: unknown };

/** Probability that a generated case is left valid. */
const VALID = 0.45;

// ---------------------------------------------------------------------------------------------
// building blocks

/** A layer's forward: how to make valid arguments, how to break them, what a valid call returns. */
interface ForwardSpec {
  layer: string;
  valid(r: Rng): Args;
  mutations: Mutation[];
  /** The output shape of valid arguments (checked on valid cases). */
  outShape?(args: Args): number[];
  /** Forwards whose caches the backward accepts (randomly chosen per case). */
  forwards: ((...args: never[]) => ForwardResult)[];
  /** The shapes of the gradients of valid arguments, by name (or a single shape for a dx-only backward). */
  gradShapes?(args: Args): Record<string, number[]> | number[];
}

/** A well-formed tensor argument (a mutation reading a broken one is skipped: see mutate). */
const T = (v: unknown): Tensor => wellFormed(v);
const shapeText = (s: unknown): string => JSON.stringify(s);

/** The tensor a result holds as its output: result.out for forwards, the result for convenience forms. */
function outputOf(result: unknown): Tensor | undefined {
  if (isTensorLike(result)) return result;
  const out = (result as { out?: unknown } | null)?.out;
  return isTensorLike(out) ? out : undefined;
}

/** Checks a valid case's output shape and dtype (the first tensor argument's dtype). */
function outputCheck(spec: ForwardSpec): (result: unknown, c: FuzzCase) => string[] {
  return (result, c) => {
    if (c.expect !== 'ok' || spec.outShape === undefined) return [];
    const out = outputOf(result);
    if (out === undefined) return [`no output tensor in ${typeof result}`];
    const problems: string[] = [];
    const want = spec.outShape(c.args);
    if (shapeText(out.shape) !== shapeText(want)) problems.push(`output shape ${shapeText(out.shape)}, want ${shapeText(want)}`);
    const dtype = (c.args.find(isTensorLike) as Tensor | undefined)?.dtype;
    if (dtype !== undefined && out.dtype !== dtype) problems.push(`output dtype ${out.dtype}, want ${dtype}`);
    return problems;
  };
}

function forwardTarget(name: string, spec: ForwardSpec, call: Call, extra: Partial<FuzzTarget> = {}): FuzzTarget {
  return {
    name,
    generate(r) {
      const args = spec.valid(r);
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid' };
      return { args, ...mutate(r, args, spec.mutations) };
    },
    call: call as FuzzTarget['call'],
    check: outputCheck(spec),
    ...extra,
  };
}

/** Runs a forward on valid arguments of a spec: the cache and the output's shape and dtype. */
function runForward(r: Rng, spec: ForwardSpec): { args: Args; result: ForwardResult } {
  const args = spec.valid(r);
  const forward = pick(r, spec.forwards);
  try {
    return { args, result: forward(...(args as never[])) };
  } catch (error) {
    throw new GeneratorBug(`${forward.name} threw on valid arguments ${describeArgs(args)}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
}

/** Every spec with a forward whose cache a backward takes: the pool of "caches from another layer". */
const cacheSpecs: ForwardSpec[] = [];

/** A cache from some layer's forward (perhaps this one's, from other arguments). */
function foreignCache(r: Rng): { layer: string; result: ForwardResult } {
  const spec = pick(r, cacheSpecs);
  return { layer: spec.layer, result: runForward(r, spec).result };
}

/** A copy of a cache with one field replaced (by junk, another tensor, or a broken version). */
function corruptCache(r: Rng, cache: unknown): { cache: unknown; detail: string } {
  if (cache === null || typeof cache !== 'object') return { cache, detail: 'not an object' };
  const copy: Record<string, unknown> = { ...(cache as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return { cache, detail: 'no fields' };
  const key = pick(r, keys);
  const value = copy[key];
  const options: (() => string)[] = [
    () => {
      copy[key] = junk(r);
      return `${key} = ${describeShort(copy[key])}`;
    },
    () => {
      delete copy[key];
      return `${key} deleted`;
    },
  ];
  if (isTensorLike(value)) {
    options.push(() => {
      const broken = malformedTensor(r, value);
      copy[key] = broken.value;
      return `${key}: ${broken.note}`;
    });
    options.push(() => {
      copy[key] = randomTensor(r, value.shape.map((d) => d + 1), value.dtype);
      return `${key} a larger tensor`;
    });
    options.push(() => {
      copy[key] = randomTensor(r, value.shape, otherDtype(value.dtype));
      return `${key} of the other dtype`;
    });
  } else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !Array.isArray(value)) {
    // A nested record (e.g. a geometry): one of its fields changed.
    options.push(() => {
      const inner: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      const innerKey = pick(r, Object.keys(inner).length > 0 ? Object.keys(inner) : ['missing']);
      inner[innerKey] = pick(r, [0, -1, 1.5, Number.NaN, 1e9, undefined, 'x', (inner[innerKey] as number) + 1]);
      copy[key] = inner;
      return `${key}.${innerKey} = ${String(inner[innerKey])}`;
    });
  } else if (ArrayBuffer.isView(value)) {
    options.push(() => {
      copy[key] = (value as Float64Array).subarray(0, Math.floor((value as Float64Array).length / 2));
      return `${key} truncated`;
    });
  } else if (typeof value === 'number' || typeof value === 'string') {
    options.push(() => {
      copy[key] = pick(r, [Number.NaN, -1, 1.5, 1e9, 'train', 'test', 0]);
      return `${key} = ${String(copy[key])}`;
    });
  }
  return { cache: copy, detail: pick(r, options)() };
}

/** Breakages of a backward's (dout, cache). */
function backwardMutations(): Mutation[] {
  return [
    {
      name: 'dout of another shape',
      expect: 'error',
      apply(r, args) {
        const dout = T(args[0]);
        const shape = chance(r, 0.5) || dout.shape.length === 0 ? wrongRank(r, dout).shape : dout.shape.map((d, i, s) => (i === r.int(s.length) ? d + 1 : d));
        if (shapeText(shape) === shapeText(dout.shape)) shape.push(2);
        args[0] = randomTensor(r, shape, dout.dtype);
        return shapeText(shape);
      },
    },
    {
      name: 'dout of the other dtype',
      expect: 'error',
      apply(r, args) {
        args[0] = randomTensor(r, T(args[0]).shape, otherDtype(T(args[0]).dtype));
      },
    },
    { name: 'dout not a tensor', expect: 'error', apply: (r, args) => void (args[0] = junk(r)) },
    {
      name: 'dout malformed',
      expect: 'error',
      apply(r, args) {
        const m = malformedTensor(r, T(args[0]));
        args[0] = m.value;
        return m.note;
      },
    },
    {
      name: 'cache not a cache',
      expect: 'error',
      apply(r, args) {
        args[1] = pick(r, [null, undefined, 0, 'cache', [], {}, true, () => 1, { x: null }]);
      },
    },
    {
      name: 'cache from another layer',
      expect: 'either',
      apply(r, args) {
        const { layer, result } = foreignCache(r);
        args[1] = result.cache;
        // Half the time a dout that fits the other layer's output, to get past the dout check.
        if (chance(r, 0.5)) args[0] = randomTensor(r, result.out.shape, result.out.dtype);
        return layer;
      },
    },
    {
      name: 'cache with a field broken',
      expect: 'either',
      incomparable: true,
      apply(r, args) {
        const { cache, detail } = corruptCache(r, args[1]);
        args[1] = cache;
        return detail;
      },
    },
  ];
}

function gradientCheck(result: unknown, c: FuzzCase): string[] {
  const want = c.expected as Record<string, number[]> | number[] | undefined;
  if (c.expect !== 'ok' || want === undefined) return [];
  if (Array.isArray(want)) {
    return isTensorLike(result) && shapeText(result.shape) === shapeText(want) ? [] : [`dx shape ${shapeText((result as Tensor)?.shape)}, want ${shapeText(want)}`];
  }
  const problems: string[] = [];
  for (const [key, shape] of Object.entries(want)) {
    const got = (result as Record<string, unknown>)[key];
    if (!isTensorLike(got) || shapeText(got.shape) !== shapeText(shape)) problems.push(`${key} shape ${shapeText((got as Tensor)?.shape)}, want ${shapeText(shape)}`);
  }
  return problems;
}

function backwardTarget(name: string, spec: ForwardSpec, call: Call, extra: Partial<FuzzTarget> = {}): FuzzTarget {
  return {
    name,
    generate(r) {
      const { args: forwardArgs, result } = runForward(r, spec);
      const dout = randomTensor(r, result.out.shape, result.out.dtype, chance(r, 0.9) ? 'normal' : 'integers');
      const args: Args = [dout, result.cache];
      const gradShapes = spec.gradShapes?.(forwardArgs);
      if (chance(r, VALID)) return { args, expect: 'ok', note: `valid (forward ${spec.layer})`, expected: gradShapes };
      return { args, ...mutate(r, args, backwardMutations()) };
    },
    call: call as FuzzTarget['call'],
    check: gradientCheck,
    ...extra,
  };
}

/** Mutations of a tensor argument: not a tensor, malformed, (wrong rank), (other dtype). */
function tensorMutations(slot: number, name: string, opts: { rank?: boolean; dtype?: boolean } = {}): Mutation[] {
  const out: Mutation[] = [
    { name: `${name} not a tensor`, expect: 'error', apply: (r, args) => void (args[slot] = junk(r)) },
    {
      name: `${name} malformed`,
      expect: 'error',
      apply(r, args) {
        const m = malformedTensor(r, T(args[slot]));
        args[slot] = m.value;
        return m.note;
      },
    },
  ];
  if (opts.rank) {
    out.push({
      name: `${name} of another rank`,
      expect: 'error',
      apply(r, args) {
        args[slot] = wrongRank(r, T(args[slot]));
        return shapeText(T(args[slot]).shape);
      },
    });
  }
  if (opts.dtype) {
    out.push({
      name: `${name} of the other dtype`,
      expect: 'error',
      apply(r, args) {
        const t = T(args[slot]);
        args[slot] = randomTensor(r, t.shape, otherDtype(t.dtype));
      },
    });
  }
  return out;
}

/** A mutation that sets one field of the parameter object at `slot`. */
function paramMutation(slot: number, field: string, name: string, expect: Exclude<Expect, 'ok'>, value: (r: Rng, args: Args) => unknown): Mutation {
  return {
    name,
    expect,
    apply(r, args) {
      const param = { ...(args[slot] as Record<string, unknown>) };
      param[field] = value(r, args);
      args[slot] = param;
      return `${field} = ${describeShort(param[field])}`;
    },
  };
}

function describeShort(v: unknown): string {
  if (typeof v === 'symbol') return 'a symbol';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'function') return 'a function';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** The whole parameter argument replaced by junk. */
function paramJunk(slot: number, name: string, expect: Exclude<Expect, 'ok'>): Mutation {
  return {
    name: `${name} not an object`,
    expect,
    apply(r, args) {
      args[slot] = junk(r);
      return describeShort(args[slot]);
    },
  };
}

/** A tensor argument replaced by a valid but degenerate one (zero-sized, or huge and empty). */
function shapeMutation(slot: number, name: string, shape: (r: Rng, t: Tensor, args: Args) => number[], expect: Exclude<Expect, 'ok'> = 'either'): Mutation {
  return {
    name,
    expect,
    apply(r, args) {
      const t = T(args[slot]);
      const s = shape(r, t, args);
      args[slot] = randomTensor(r, s, t.dtype);
      return shapeText(s);
    },
  };
}

const HUGE = 2 ** 31;

/** A shape with a zero in it (somewhere) and otherwise like t's, or a huge dimension next to a zero. */
function emptyShape(r: Rng, t: Tensor): number[] {
  const shape = t.shape.length > 0 ? [...t.shape] : [1];
  const zeroAt = r.int(shape.length);
  shape[zeroAt] = 0;
  if (chance(r, 0.5) && shape.length > 1) {
    const hugeAt = (zeroAt + 1 + r.int(shape.length - 1)) % shape.length;
    shape[hugeAt] = pick(r, [HUGE, 2 ** 40]);
  }
  return shape;
}

// ---------------------------------------------------------------------------------------------
// window parameters (conv and pooling)

type Pad = number | [number, number] | [number, number, number, number];

function randomPad(r: Rng, max: number): Pad | undefined {
  switch (r.int(5)) {
    case 0:
      return undefined;
    case 1:
      return r.int(max + 1);
    case 2:
      return [r.int(max + 1), r.int(max + 1)];
    default:
      return [r.int(max + 1), r.int(max + 1), r.int(max + 1), r.int(max + 1)];
  }
}

function pads4(pad: Pad | undefined): [number, number, number, number] {
  if (pad === undefined) return [0, 0, 0, 0];
  if (typeof pad === 'number') return [pad, pad, pad, pad];
  if (pad.length === 2) return [pad[0], pad[1], pad[0], pad[1]];
  return pad;
}

/** A pair written as a number, [h, w] or left out (when it is the default). */
function pairParam(r: Rng, h: number, w: number, fallback: number): number | [number, number] | undefined {
  if (h === w && h === fallback && chance(r, 0.4)) return undefined;
  if (h === w && chance(r, 0.5)) return h;
  return [h, w];
}

function outLength(size: number, kernel: number, stride: number, before: number, after: number, dilation: number, ceil: boolean): number {
  const span = dilation * (kernel - 1) + 1;
  const padded = size + before + after;
  if (span > padded) return 0;
  let out = ceil ? Math.ceil((padded - span) / stride) + 1 : Math.floor((padded - span) / stride) + 1;
  if (ceil && (out - 1) * stride >= size + before) out -= 1;
  return out;
}

function windowsTouch(size: number, out: number, kernel: number, stride: number, before: number, dilation: number): boolean {
  for (let o = 0; o < out; o++) {
    let any = false;
    for (let k = 0; k < kernel; k++) {
      const at = o * stride - before + k * dilation;
      any ||= at >= 0 && at < size;
    }
    if (!any) return false;
  }
  return true;
}

/** Mutations of stride, pad and dilation in the parameter object at `slot`. */
function windowMutations(slot: number, paramName: string): Mutation[] {
  return [
    paramMutation(slot, 'stride', `${paramName}.stride invalid`, 'error', (r) => (chance(r, 0.7) ? badPositiveInteger(r) : pick(r, [[1], [1, 2, 3], [1, 0], [2, 1.5], [Number.NaN, 1]]))),
    paramMutation(slot, 'pad', `${paramName}.pad invalid`, 'error', badNonNegativeInteger),
    paramMutation(slot, 'dilation', `${paramName}.dilation invalid`, 'error', (r) => (chance(r, 0.7) ? badPositiveInteger(r) : pick(r, [[1], [0, 1], [1, Number.NaN]]))),
    paramMutation(slot, 'stride', `${paramName}.stride huge`, 'either', (r) => pick(r, [2 ** 30, 1e300, [1, 2 ** 31]])),
    paramMutation(slot, 'dilation', `${paramName}.dilation huge`, 'either', (r) => pick(r, [2 ** 30, 1e300, [1, 2 ** 31]])),
  ];
}

// ---------------------------------------------------------------------------------------------
// convolution

const convSpec: ForwardSpec = {
  layer: 'conv',
  valid(r) {
    for (;;) {
      const groups = between(r, 1, 3);
      const C = groups * between(r, 1, 3);
      const F = groups * between(r, 1, 3);
      const N = between(r, 1, 3);
      const pointwise = chance(r, 0.12);
      const HH = pointwise ? 1 : between(r, 1, 4);
      const WW = pointwise ? 1 : between(r, 1, 4);
      const H = between(r, 1, 9);
      const W = between(r, 1, 9);
      const stride = pointwise ? [1, 1] : [between(r, 1, 3), between(r, 1, 3)];
      const pad = pointwise ? undefined : randomPad(r, 3);
      const dilation = pointwise ? [1, 1] : [between(r, 1, 2), between(r, 1, 2)];
      const [t, l, b, rr] = pads4(pad);
      if (dilation[0]! * (HH - 1) + 1 > H + t + b || dilation[1]! * (WW - 1) + 1 > W + l + rr) continue;
      const param: Record<string, unknown> = {};
      const s = pairParam(r, stride[0]!, stride[1]!, 1);
      if (s !== undefined) param.stride = s;
      if (pad !== undefined) param.pad = pad;
      const d = pairParam(r, dilation[0]!, dilation[1]!, 1);
      if (d !== undefined) param.dilation = d;
      if (groups > 1 || chance(r, 0.3)) param.groups = groups;
      const dtype = randomDtype(r);
      const fill = randomFill(r);
      const x = randomTensor(r, [N, C, H, W], dtype, fill);
      const w = randomTensor(r, [F, C / groups, HH, WW], dtype, fill);
      const bias = randomTensor(r, [F], dtype, fill === 'special' ? 'normal' : fill);
      return [x, w, bias, param];
    }
  },
  mutations: [
    ...tensorMutations(0, 'x', { rank: true, dtype: true }),
    ...tensorMutations(1, 'w', { rank: true, dtype: true }),
    ...tensorMutations(2, 'b', { rank: true, dtype: true }),
    shapeMutation(1, 'w with the wrong input channels', (_r, w) => [w.shape[0]!, w.shape[1]! + 1, w.shape[2]!, w.shape[3]!], 'error'),
    shapeMutation(2, 'b of the wrong length', (_r, _b, args) => [T(args[1]).shape[0]! + 1], 'error'),
    shapeMutation(0, 'x empty or huge-and-empty', emptyShape),
    shapeMutation(1, 'w empty or huge-and-empty', emptyShape),
    paramMutation(3, 'groups', 'convParam.groups invalid', 'error', badPositiveInteger),
    paramMutation(3, 'groups', 'convParam.groups not dividing C', 'error', (_r, args) => T(args[0]).shape[1]! + 1),
    ...windowMutations(3, 'convParam'),
    paramMutation(3, 'pad', 'convParam.pad huge (an output too large to allocate)', 'error', (r) => pick(r, [2 ** 30, 1e300, [2 ** 26, 2 ** 26], [0, 0, 2 ** 40, 2 ** 40]])),
    paramJunk(3, 'convParam', 'either'),
  ],
  outShape(args) {
    const [x, w] = [T(args[0]), T(args[1])];
    const p = args[3] as { stride?: number | number[]; pad?: Pad; dilation?: number | number[] };
    const pair = (v: number | number[] | undefined, f: number): number[] => (v === undefined ? [f, f] : typeof v === 'number' ? [v, v] : v);
    const [sh, sw] = pair(p.stride, 1);
    const [dh, dw] = pair(p.dilation, 1);
    const [t, l, b, rr] = pads4(p.pad);
    return [x.shape[0]!, w.shape[0]!, outLength(x.shape[2]!, w.shape[2]!, sh!, t, b, dh!, false), outLength(x.shape[3]!, w.shape[3]!, sw!, l, rr, dw!, false)];
  },
  forwards: [convnet.convForward, convnet.convForwardNaive],
  gradShapes: (args) => ({ dx: T(args[0]).shape, dw: T(args[1]).shape, db: T(args[2]).shape }),
};

// ---------------------------------------------------------------------------------------------
// transposed convolution, upsampling

const convTransposeSpec: ForwardSpec = {
  layer: 'convTranspose',
  valid(r) {
    for (;;) {
      const groups = between(r, 1, 3);
      const C = groups * between(r, 1, 3);
      const Fg = between(r, 1, 3);
      const [N, HH, WW, H, W] = [between(r, 1, 3), between(r, 1, 4), between(r, 1, 4), between(r, 1, 7), between(r, 1, 7)];
      const stride = [between(r, 1, 3), between(r, 1, 3)];
      const pad = randomPad(r, 3);
      const dilation = [between(r, 1, 2), between(r, 1, 2)];
      const outputPadding = [r.int(Math.max(stride[0]!, dilation[0]!)), r.int(Math.max(stride[1]!, dilation[1]!))];
      const [t, l, b, rr] = pads4(pad);
      if ((H - 1) * stride[0]! - t - b + dilation[0]! * (HH - 1) + outputPadding[0]! < 0) continue;
      if ((W - 1) * stride[1]! - l - rr + dilation[1]! * (WW - 1) + outputPadding[1]! < 0) continue;
      const param: Record<string, unknown> = {};
      const s = pairParam(r, stride[0]!, stride[1]!, 1);
      if (s !== undefined) param.stride = s;
      if (pad !== undefined) param.pad = pad;
      const o = pairParam(r, outputPadding[0]!, outputPadding[1]!, 0);
      if (o !== undefined) param.outputPadding = o;
      const d = pairParam(r, dilation[0]!, dilation[1]!, 1);
      if (d !== undefined) param.dilation = d;
      if (groups > 1 || chance(r, 0.3)) param.groups = groups;
      const dtype = randomDtype(r);
      const fill = randomFill(r);
      const x = randomTensor(r, [N, C, H, W], dtype, fill);
      const w = randomTensor(r, [C, Fg, HH, WW], dtype, fill);
      const bias = randomTensor(r, [Fg * groups], dtype, fill === 'special' ? 'normal' : fill);
      return [x, w, bias, param];
    }
  },
  mutations: [
    ...tensorMutations(0, 'x', { rank: true, dtype: true }),
    ...tensorMutations(1, 'w', { rank: true, dtype: true }),
    ...tensorMutations(2, 'b', { rank: true, dtype: true }),
    shapeMutation(1, 'w with the wrong row count', (_r, w) => [w.shape[0]! + 1, w.shape[1]!, w.shape[2]!, w.shape[3]!], 'error'),
    shapeMutation(2, 'b of the wrong length', (_r, b) => [b.shape[0]! + 1], 'error'),
    shapeMutation(0, 'x empty or huge-and-empty', emptyShape),
    shapeMutation(1, 'w empty or huge-and-empty', emptyShape),
    paramMutation(3, 'groups', 'convTransposeParam.groups invalid', 'error', badPositiveInteger),
    paramMutation(3, 'groups', 'convTransposeParam.groups not dividing C', 'error', (_r, args) => T(args[0]).shape[1]! + 1),
    paramMutation(3, 'outputPadding', 'convTransposeParam.outputPadding invalid', 'error', (r) => pick(r, [-1, 1.5, Number.NaN, [1], [0, -1], 'x'])),
    paramMutation(3, 'outputPadding', 'convTransposeParam.outputPadding not below the stride or the dilation', 'error', (r) => pick(r, [3, [3, 0], [0, 3]])),
    ...windowMutations(3, 'convTransposeParam'),
    paramMutation(3, 'pad', 'convTransposeParam.pad huge (no output left)', 'error', (r) => pick(r, [2 ** 30, 1e300, [2 ** 26, 2 ** 26], [0, 0, 2 ** 40, 2 ** 40]])),
    paramJunk(3, 'convTransposeParam', 'either'),
  ],
  outShape(args) {
    const [x, w] = [T(args[0]), T(args[1])];
    const p = args[3] as { stride?: number | number[]; pad?: Pad; outputPadding?: number | number[]; dilation?: number | number[]; groups?: number };
    const pair = (v: number | number[] | undefined, f: number): number[] => (v === undefined ? [f, f] : typeof v === 'number' ? [v, v] : v);
    const [sh, sw] = pair(p.stride, 1);
    const [oh, ow] = pair(p.outputPadding, 0);
    const [dh, dw] = pair(p.dilation, 1);
    const [t, l, b, rr] = pads4(p.pad);
    const length = (size: number, k: number, s: number, before: number, after: number, d: number, o: number): number => (size - 1) * s - before - after + d * (k - 1) + o + 1;
    return [x.shape[0]!, w.shape[1]! * (p.groups ?? 1), length(x.shape[2]!, w.shape[2]!, sh!, t, b, dh!, oh!), length(x.shape[3]!, w.shape[3]!, sw!, l, rr, dw!, ow!)];
  },
  forwards: [convnet.convTransposeForward, convnet.convTransposeForwardNaive],
  gradShapes: (args) => ({ dx: T(args[0]).shape, dw: T(args[1]).shape, db: T(args[2]).shape }),
};

const upsampleSpec: ForwardSpec = {
  layer: 'upsample',
  valid(r) {
    const [N, C, H, W] = [between(r, 1, 3), between(r, 1, 3), between(r, 1, 6), between(r, 1, 6)];
    const mode = pick(r, ['nearest', 'bilinear', undefined]);
    const param: Record<string, unknown> = {};
    if (mode !== undefined) param.mode = mode;
    if (chance(r, 0.4)) {
      param.size = [between(r, 1, 9), between(r, 1, 9)];
    } else if (mode === 'bilinear') {
      const factor = (size: number): number => Math.max(1 / size, pick(r, [0.5, 1, 1.5, 2, 2.25, 3]));
      param.scaleFactor = chance(r, 0.5) ? factor(Math.min(H, W)) : [factor(H), factor(W)];
    } else {
      param.scaleFactor = chance(r, 0.5) ? between(r, 1, 3) : [between(r, 1, 3), between(r, 1, 3)];
    }
    if (mode === 'bilinear' && chance(r, 0.6)) param.alignCorners = chance(r, 0.5);
    return [randomTensor(r, [N, C, H, W], randomDtype(r), randomFill(r)), param];
  },
  mutations: [
    ...tensorMutations(0, 'x', { rank: true }),
    shapeMutation(0, 'x empty or huge-and-empty', emptyShape),
    paramMutation(1, 'mode', 'upsampleParam.mode invalid', 'error', (r) => pick(r, ['bicubic', 'Nearest', 1, []])),
    paramMutation(1, 'scaleFactor', 'upsampleParam.scaleFactor invalid', 'error', (r) => pick(r, [0, -1, Number.NaN, Infinity, [1], [1, 2, 3], '2', [2, 0]])),
    paramMutation(1, 'scaleFactor', 'upsampleParam.scaleFactor huge', 'error', (r) => pick(r, [2 ** 30, 1e300, [1, 2 ** 31]])),
    paramMutation(1, 'size', 'upsampleParam.size invalid', 'error', (r) => pick(r, [[0, 1], [1], [1.5, 2], 'x', [-1, 2], 3])),
    paramMutation(1, 'size', 'upsampleParam.size huge', 'error', (r) => pick(r, [[2 ** 30, 2 ** 30], [2 ** 31, 1]])),
    paramMutation(1, 'alignCorners', 'upsampleParam.alignCorners not a boolean', 'error', (r) => pick(r, [1, 'yes', null])),
    paramJunk(1, 'upsampleParam', 'either'),
  ],
  outShape(args) {
    const x = T(args[0]);
    const p = args[1] as { size?: number[]; scaleFactor?: number | number[] };
    const [N, C, H, W] = x.shape as [number, number, number, number];
    if (p.size !== undefined) return [N, C, p.size[0]!, p.size[1]!];
    const [fh, fw] = typeof p.scaleFactor === 'number' ? [p.scaleFactor, p.scaleFactor] : p.scaleFactor!;
    return [N, C, Math.floor(H * fh!), Math.floor(W * fw!)];
  },
  forwards: [convnet.upsampleForward],
  gradShapes: (args) => T(args[0]).shape,
};

// ---------------------------------------------------------------------------------------------
// pooling

function poolValid(r: Rng, average: boolean): Args {
  for (;;) {
    const plain = chance(r, 0.25); // 2×2 stride 2: the dedicated kernel loop
    const ph = plain ? 2 : between(r, 1, 4);
    const pw = plain ? 2 : between(r, 1, 4);
    const stride = plain ? [2, 2] : [between(r, 1, 3), between(r, 1, 3)];
    const pad = plain ? undefined : randomPad(r, 2);
    const dilation = plain ? [1, 1] : [between(r, 1, 2), between(r, 1, 2)];
    const ceilMode = !plain && chance(r, 0.3);
    const [N, C, H, W] = [between(r, 1, 3), between(r, 1, 3), between(r, 1, 9), between(r, 1, 9)];
    const [t, l, b, rr] = pads4(pad);
    const Ho = outLength(H, ph, stride[0]!, t, b, dilation[0]!, ceilMode);
    const Wo = outLength(W, pw, stride[1]!, l, rr, dilation[1]!, ceilMode);
    if (Ho < 1 || Wo < 1) continue;
    if (!windowsTouch(H, Ho, ph, stride[0]!, t, dilation[0]!) || !windowsTouch(W, Wo, pw, stride[1]!, l, dilation[1]!)) continue;
    const param: Record<string, unknown> = { poolHeight: ph, poolWidth: pw };
    if (stride[0] !== ph || stride[1] !== pw || chance(r, 0.5)) param.stride = stride[0] === stride[1] && chance(r, 0.5) ? stride[0] : stride;
    if (pad !== undefined) param.pad = pad;
    const d = pairParam(r, dilation[0]!, dilation[1]!, 1);
    if (d !== undefined) param.dilation = d;
    if (ceilMode || chance(r, 0.2)) param.ceilMode = ceilMode;
    if (average && chance(r, 0.7)) param.countIncludePad = chance(r, 0.5);
    const dtype = randomDtype(r);
    return [randomTensor(r, [N, C, H, W], dtype, chance(r, 0.4) ? 'integers' : randomFill(r)), param];
  }
}

function poolSpec(average: boolean): ForwardSpec {
  const mutations: Mutation[] = [
    ...tensorMutations(0, 'x', { rank: true }),
    shapeMutation(0, 'x empty or huge-and-empty', emptyShape),
    paramMutation(1, 'poolHeight', 'poolParam.poolHeight invalid', 'error', (r) => (chance(r, 0.2) ? undefined : badPositiveInteger(r))),
    paramMutation(1, 'poolWidth', 'poolParam.poolWidth invalid', 'error', (r) => (chance(r, 0.2) ? undefined : badPositiveInteger(r))),
    paramMutation(1, 'ceilMode', 'poolParam.ceilMode not a boolean', 'error', (r) => pick(r, [1, 0, 'yes', null, Number.NaN, {}])),
    paramMutation(1, 'countIncludePad', 'poolParam.countIncludePad not a boolean', average ? 'error' : 'either', (r) => pick(r, [1, 0, 'yes', null, {}])),
    ...windowMutations(1, 'poolParam'),
    paramMutation(1, 'pad', 'poolParam.pad at least the window (windows in the padding)', 'either', (r) => between(r, 2, 6)),
    paramMutation(1, 'pad', 'poolParam.pad huge', 'error', (r) => pick(r, [2 ** 30, 1e300, [0, 0, 2 ** 40, 0]])),
    {
      name: 'poolParam a huge window with huge padding',
      expect: 'either',
      apply(r, args) {
        const k = pick(r, [2 ** 20, 2 ** 30]);
        args[1] = { ...(args[1] as object), poolHeight: k, poolWidth: pick(r, [1, k]), pad: k - 1, stride: pick(r, [undefined, 1, k]) };
        return `window ${k}, pad ${k - 1}`;
      },
    },
    paramJunk(1, 'poolParam', 'error'),
  ];
  return {
    layer: average ? 'avgPool' : 'maxPool',
    valid: (r) => poolValid(r, average),
    mutations,
    outShape(args) {
      const x = T(args[0]);
      const p = args[1] as { poolHeight: number; poolWidth: number; stride?: number | number[]; pad?: Pad; dilation?: number | number[]; ceilMode?: boolean };
      const pair = (v: number | number[] | undefined, f: [number, number]): number[] => (v === undefined ? f : typeof v === 'number' ? [v, v] : v);
      const [sh, sw] = pair(p.stride, [p.poolHeight, p.poolWidth]);
      const [dh, dw] = pair(p.dilation, [1, 1]);
      const [t, l, b, rr] = pads4(p.pad);
      const ceil = p.ceilMode ?? false;
      return [x.shape[0]!, x.shape[1]!, outLength(x.shape[2]!, p.poolHeight, sh!, t, b, dh!, ceil), outLength(x.shape[3]!, p.poolWidth, sw!, l, rr, dw!, ceil)];
    },
    forwards: average ? [convnet.avgPoolForward, convnet.avgPoolForwardNaive] : [convnet.maxPoolForward, convnet.maxPoolForwardNaive],
    gradShapes: (args) => T(args[0]).shape,
  };
}

const maxPoolSpec = poolSpec(false);
const avgPoolSpec = poolSpec(true);

function globalPoolSpec(max: boolean): ForwardSpec {
  return {
    layer: max ? 'globalMaxPool' : 'globalAvgPool',
    valid(r) {
      const dtype = randomDtype(r);
      return [randomTensor(r, [between(r, 1, 3), between(r, 1, 3), between(r, 1, 5), between(r, 1, 5)], dtype, chance(r, 0.3) ? 'integers' : randomFill(r))];
    },
    mutations: [...tensorMutations(0, 'x', { rank: true }), shapeMutation(0, 'x empty or huge-and-empty', emptyShape)],
    outShape: (args) => [T(args[0]).shape[0]!, T(args[0]).shape[1]!, 1, 1],
    forwards: [max ? convnet.globalMaxPoolForward : convnet.globalAvgPoolForward],
    gradShapes: (args) => T(args[0]).shape,
  };
}

const globalMaxSpec = globalPoolSpec(true);
const globalAvgSpec = globalPoolSpec(false);

/** Global pools by definition: each plane's mean, or its maximum (NaN if it holds one). */
function globalPoolOracle(max: boolean): (x: unknown) => unknown {
  return (xv) => {
    const x = T(xv);
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const data = x.dtype === 'float32' ? new Float32Array(N * C) : new Float64Array(N * C);
    for (let p = 0; p < N * C; p++) {
      let acc = max ? -Infinity : 0;
      for (let k = 0; k < H * W; k++) {
        const v = x.data[p * H * W + k]!;
        acc = max ? (Number.isNaN(acc) || Number.isNaN(v) ? Number.NaN : Math.max(acc, v)) : acc + v;
      }
      data[p] = max ? acc : acc / (H * W);
    }
    return { out: { shape: [N, C, 1, 1], data, dtype: x.dtype } };
  };
}

// ---------------------------------------------------------------------------------------------
// affine

const affineSpec: ForwardSpec = {
  layer: 'affine',
  valid(r) {
    const dtype = randomDtype(r);
    const fill = randomFill(r);
    const N = between(r, 0, 4);
    const rest = dims(r, between(r, 1, 3), chance(r, 0.1) ? 0 : 1, 4);
    const D = sizeOfShape(rest);
    const M = between(r, chance(r, 0.1) ? 0 : 1, 5);
    return [randomTensor(r, [N, ...rest], dtype, fill), randomTensor(r, [D, M], dtype, fill), randomTensor(r, [M], dtype, fill === 'special' ? 'normal' : fill)];
  },
  mutations: [
    ...tensorMutations(0, 'x', { dtype: true }),
    ...tensorMutations(1, 'w', { rank: true, dtype: true }),
    ...tensorMutations(2, 'b', { rank: true, dtype: true }),
    shapeMutation(0, 'x of rank 1', (_r, x) => [sizeOfShape(x.shape)], 'error'),
    shapeMutation(1, 'w with the wrong D', (_r, w) => [w.shape[0]! + 1, w.shape[1]!], 'error'),
    shapeMutation(2, 'b of the wrong length', (_r, _b, args) => [T(args[1]).shape[1]! + 1], 'error'),
    {
      name: 'huge and empty: x (N huge, D = 0), w (0, M), b (M)',
      expect: 'either',
      apply(r, args) {
        const dtype = T(args[0]).dtype;
        const M = between(r, 1, 3);
        args[0] = randomTensor(r, [pick(r, [HUGE, 2 ** 40]), 0], dtype);
        args[1] = randomTensor(r, [0, M], dtype);
        args[2] = randomTensor(r, [M], dtype);
      },
    },
  ],
  outShape: (args) => [T(args[0]).shape[0]!, T(args[1]).shape[1]!],
  forwards: [convnet.affineForward, convnet.affineForwardNaive],
  gradShapes: (args) => ({ dx: T(args[0]).shape, dw: T(args[1]).shape, db: T(args[2]).shape }),
};

// ---------------------------------------------------------------------------------------------
// activations

function anyShape(r: Rng): number[] {
  return dims(r, between(r, 0, 4), chance(r, 0.1) ? 0 : 1, 4);
}

const activationTensor = (r: Rng): Tensor => randomTensor(r, anyShape(r), randomDtype(r), randomFill(r));

const reluSpec: ForwardSpec = {
  layer: 'relu',
  valid: (r) => [activationTensor(r)],
  mutations: [...tensorMutations(0, 'x'), shapeMutation(0, 'x empty or huge-and-empty', emptyShape)],
  outShape: (args) => T(args[0]).shape,
  forwards: [convnet.reluForward],
  gradShapes: (args) => T(args[0]).shape,
};

const leakyReluSpec: ForwardSpec = {
  layer: 'leakyRelu',
  valid: (r) => [activationTensor(r), pick(r, [undefined, 0.01, 0.2, 0, -0.5, 3])],
  mutations: [
    ...tensorMutations(0, 'x'),
    shapeMutation(0, 'x empty or huge-and-empty', emptyShape),
    { name: 'alpha not a finite number', expect: 'error', apply: (r, args) => void (args[1] = badFinite(r)) },
  ],
  outShape: (args) => T(args[0]).shape,
  forwards: [convnet.leakyReluForward],
  gradShapes: (args) => T(args[0]).shape,
};

/** Elementwise oracles: relu (NaN passes), leaky relu; returned in the form of the target. */
function elementwise(f: (v: number, alpha: number) => number, form: 'forward' | 'out'): (...args: unknown[]) => unknown {
  return (xv, alphaArg) => {
    const x = T(xv);
    const alpha = alphaArg === undefined ? 0.01 : (alphaArg as number);
    const data = x.data.map((v) => f(v, alpha));
    const out = { shape: [...x.shape], data, dtype: x.dtype };
    return form === 'out' ? out : { out };
  };
}
const reluOf = (v: number): number => (Number.isNaN(v) ? v : v > 0 ? v : 0);
const leakyOf = (v: number, alpha: number): number => (v > 0 ? v : alpha * v);

/** Backward oracles: dout where x > 0, else 0 (relu) or alpha·dout (leaky). */
function elementwiseBackward(leaky: boolean): (...args: unknown[]) => unknown {
  return (doutArg, cacheArg) => {
    const dout = T(doutArg);
    const cache = cacheArg as { x: Tensor; alpha?: number };
    const data = dout.data.map((g, i) => (cache.x.data[i]! > 0 ? g : leaky ? cache.alpha! * g : 0));
    return { shape: [...cache.x.shape], data, dtype: cache.x.dtype };
  };
}

function softmaxSpec(log: boolean): ForwardSpec {
  return {
    layer: log ? 'logSoftmax' : 'softmax',
    valid(r) {
      const shape = dims(r, between(r, 1, 4), chance(r, 0.1) ? 0 : 1, 5);
      const axis = pick(r, [undefined, -1, r.int(shape.length), -1 - r.int(shape.length)]);
      return [randomTensor(r, shape, randomDtype(r), randomFill(r)), axis];
    },
    mutations: [
      ...tensorMutations(0, 'x'),
      shapeMutation(0, 'x empty or huge-and-empty', emptyShape),
      shapeMutation(0, 'x a scalar', () => [], 'error'),
      {
        name: 'axis invalid',
        expect: 'error',
        apply(r, args) {
          const rank = Array.isArray((args[0] as Tensor).shape) ? T(args[0]).shape.length : 1;
          args[1] = pick(r, [rank, -rank - 1, 0.5, Number.NaN, Infinity, '0', null, [0], 1n]);
          return describeShort(args[1]);
        },
      },
    ],
    outShape: (args) => T(args[0]).shape,
    forwards: [log ? convnet.logSoftmaxForward : convnet.softmaxForward],
    gradShapes: (args) => T(args[0]).shape,
  };
}

const softmaxFwdSpec = softmaxSpec(false);
const logSoftmaxFwdSpec = softmaxSpec(true);

// ---------------------------------------------------------------------------------------------
// normalisation

function bnParamMutations(slot: number): Mutation[] {
  return [
    paramMutation(slot, 'mode', 'bnParam.mode invalid', 'error', (r) => pick(r, [undefined, 'eval', 'Train', 1, null, true])),
    paramMutation(slot, 'eps', 'bnParam.eps invalid', 'error', (r) => pick(r, [Number.NaN, 0, -1e-5, Infinity, '1e-5', null, -0])),
    paramMutation(slot, 'momentum', 'bnParam.momentum invalid', 'error', (r) => pick(r, [2, -0.1, 1.0000001, Number.NaN, Infinity, '0.9', null])),
    paramMutation(slot, 'runningMean', 'bnParam.runningMean invalid', 'error', (r, args) => {
      const C = (T(args[1]) as Tensor).data.length;
      return pick(r, [() => randomTensor(r, [C + 1], T(args[0]).dtype), () => randomTensor(r, [Math.max(C, 1)], otherDtype(T(args[0]).dtype)), () => junk(r) ?? null])();
    }),
    paramMutation(slot, 'runningVar', 'bnParam.runningVar invalid', 'error', (r, args) => {
      const C = (T(args[1]) as Tensor).data.length;
      return pick(r, [() => randomTensor(r, [C + 1], T(args[0]).dtype), () => malformedTensor(r, randomTensor(r, [C], T(args[0]).dtype)).value])();
    }),
    {
      name: 'test mode without running statistics',
      expect: 'error',
      apply(_r, args) {
        const { runningMean: _m, runningVar: _v, ...rest } = args[slot] as Record<string, unknown>;
        args[slot] = { ...rest, mode: 'test' };
      },
    },
    paramJunk(slot, 'bnParam', 'error'),
  ];
}

function bnParam(r: Rng, C: number, dtype: DType): Record<string, unknown> {
  const mode = chance(r, 0.6) ? 'train' : 'test';
  const p: Record<string, unknown> = { mode };
  if (chance(r, 0.5)) p.eps = pick(r, [1e-5, 1e-3, 0.1, 1]);
  if (chance(r, 0.5)) p.momentum = pick(r, [0, 0.5, 0.9, 1]);
  if (mode === 'test' || chance(r, 0.5)) {
    p.runningMean = randomTensor(r, [C], dtype);
    const v = randomTensor(r, [C], dtype);
    for (let i = 0; i < v.data.length; i++) v.data[i] = 0.1 + Math.abs(v.data[i]!);
    p.runningVar = v;
  }
  return p;
}

/** gamma or beta of C channels: (C) or (1, C, 1, 1) for spatial layers. */
function channelParam(r: Rng, C: number, dtype: DType, spatial: boolean): Tensor {
  return randomTensor(r, spatial && chance(r, 0.5) ? [1, C, 1, 1] : [C], dtype);
}

function batchnormSpec(spatial: boolean): ForwardSpec {
  return {
    layer: spatial ? 'spatialBatchnorm' : 'batchnorm',
    valid(r) {
      const dtype = randomDtype(r);
      const shape = spatial ? [between(r, 1, 4), between(r, 1, 4), between(r, 1, 4), between(r, 1, 4)] : [between(r, 1, 6), between(r, 1, 5)];
      const C = shape[1]!;
      const fill: Fill = chance(r, 0.1) ? 'special' : 'normal';
      const x = randomTensor(r, shape, dtype, fill);
      if (chance(r, 0.15)) for (let i = 0; i < x.data.length; i++) x.data[i] += 100; // a large mean
      return [x, channelParam(r, C, dtype, spatial), channelParam(r, C, dtype, spatial), bnParam(r, C, dtype)];
    },
    mutations: [
      ...tensorMutations(0, 'x', { rank: true, dtype: true }),
      ...tensorMutations(1, 'gamma', { dtype: true }),
      ...tensorMutations(2, 'beta', { dtype: true }),
      shapeMutation(1, 'gamma of the wrong size', (_r, g) => [g.data.length + 1], 'error'),
      shapeMutation(2, 'beta of the wrong size', (_r, b) => [b.data.length + 1], 'error'),
      shapeMutation(0, 'x empty or huge-and-empty (gamma, beta to match)', emptyShape),
      ...bnParamMutations(3),
    ],
    outShape: (args) => T(args[0]).shape,
    forwards: spatial ? [convnet.spatialBatchnormForward, convnet.spatialBatchnormForwardNaive] : [convnet.batchnormForward, convnet.batchnormForwardNaive],
    gradShapes: (args) => ({ dx: T(args[0]).shape, dgamma: T(args[1]).shape, dbeta: T(args[2]).shape }),
  };
}

const batchnormSpecD = batchnormSpec(false);
const spatialBatchnormSpec = batchnormSpec(true);

/** After "x empty or huge-and-empty", gamma and beta must match the new C to reach the loops. */
for (const spec of [batchnormSpecD, spatialBatchnormSpec]) {
  const empty = spec.mutations.find((m) => m.name.startsWith('x empty'))!;
  const apply = empty.apply;
  empty.apply = (r, args) => {
    const detail = apply(r, args);
    const C = T(args[0]).shape[1] ?? 0;
    if (C <= 64) {
      const dtype = T(args[0]).dtype;
      args[1] = randomTensor(r, [C], dtype);
      args[2] = randomTensor(r, [C], dtype);
      const p = args[3] as Record<string, unknown>;
      if (p.runningMean !== undefined) args[3] = { ...p, runningMean: randomTensor(r, [C], dtype), runningVar: randomTensor(r, [C], dtype) };
    }
    return detail;
  };
}

const layernormSpec: ForwardSpec = {
  layer: 'layernorm',
  valid(r) {
    const dtype = randomDtype(r);
    const [N, D] = [between(r, chance(r, 0.1) ? 0 : 1, 5), between(r, 1, 6)];
    const gammaShape = chance(r, 0.8) ? [D] : [1, D];
    const lnParam = pick(r, [undefined, {}, { eps: 1e-5 }, { eps: 0.1 }]);
    return [randomTensor(r, [N, D], dtype, chance(r, 0.1) ? 'special' : 'normal'), randomTensor(r, gammaShape, dtype), randomTensor(r, gammaShape, dtype), lnParam];
  },
  mutations: [
    ...tensorMutations(0, 'x', { rank: true, dtype: true }),
    ...tensorMutations(1, 'gamma', { dtype: true }),
    ...tensorMutations(2, 'beta', { dtype: true }),
    shapeMutation(1, 'gamma of the wrong size', (_r, g) => [g.data.length + 1], 'error'),
    shapeMutation(0, 'x with D = 0', (r) => [between(r, 1, 3), 0], 'error'),
    paramMutation(3, 'eps', 'lnParam.eps invalid', 'error', (r) => pick(r, [Number.NaN, 0, -1, Infinity, '1e-5', null])),
    { name: 'lnParam not an object', expect: 'error', apply: (r, args) => void (args[3] = pick(r, [null, 1, 'x', [], true])) },
  ],
  outShape: (args) => T(args[0]).shape,
  forwards: [convnet.layernormForward],
  gradShapes: (args) => ({ dx: T(args[0]).shape, dgamma: T(args[1]).shape, dbeta: T(args[2]).shape }),
};

const groupnormSpec: ForwardSpec = {
  layer: 'spatialGroupnorm',
  valid(r) {
    const dtype = randomDtype(r);
    const C = between(r, 1, 6);
    const divisors = Array.from({ length: C }, (_, i) => i + 1).filter((g) => C % g === 0);
    const G = pick(r, divisors);
    const shape = [between(r, 1, 3), C, between(r, 1, 4), between(r, 1, 4)];
    const gnParam = pick(r, [undefined, {}, { eps: 1e-5 }, { eps: 0.5 }]);
    return [randomTensor(r, shape, dtype, chance(r, 0.1) ? 'special' : 'normal'), channelParam(r, C, dtype, true), channelParam(r, C, dtype, true), G, gnParam];
  },
  mutations: [
    ...tensorMutations(0, 'x', { rank: true, dtype: true }),
    ...tensorMutations(1, 'gamma', { dtype: true }),
    ...tensorMutations(2, 'beta', { dtype: true }),
    shapeMutation(1, 'gamma of the wrong size', (_r, g) => [g.data.length + 1], 'error'),
    { name: 'G invalid', expect: 'error', apply: (r, args) => void (args[3] = badPositiveInteger(r)) },
    { name: 'G not dividing C', expect: 'error', apply: (_r, args) => void (args[3] = T(args[0]).shape[1]! + 1) },
    shapeMutation(0, 'x with H·W = 0', (r, x) => [x.shape[0]!, x.shape[1]!, 0, between(r, 0, 3)], 'error'),
    {
      name: 'x huge and empty (N huge, C = 0), gamma and beta empty, G = 1',
      expect: 'either',
      apply(r, args) {
        const dtype = T(args[0]).dtype;
        args[0] = randomTensor(r, [pick(r, [HUGE, 2 ** 40]), 0, 1, 1], dtype);
        args[1] = randomTensor(r, [0], dtype);
        args[2] = randomTensor(r, [0], dtype);
        args[3] = 1;
      },
    },
    paramMutation(4, 'eps', 'gnParam.eps invalid', 'error', (r) => pick(r, [Number.NaN, 0, -1, Infinity, '1e-5', null])),
    { name: 'gnParam not an object', expect: 'error', apply: (r, args) => void (args[4] = pick(r, [null, 1, 'x', [], true])) },
  ],
  outShape: (args) => T(args[0]).shape,
  forwards: [convnet.spatialGroupnormForward, convnet.spatialGroupnormForwardNaive],
  gradShapes: (args) => ({ dx: T(args[0]).shape, dgamma: T(args[1]).shape, dbeta: T(args[2]).shape }),
};

// ---------------------------------------------------------------------------------------------
// dropout, losses, flatten, gemm

const dropoutSpec: ForwardSpec = {
  layer: 'dropout',
  valid(r) {
    const mode = chance(r, 0.7) ? 'train' : 'test';
    const param: Record<string, unknown> = { p: pick(r, [1, 0.5, 0.25, 0.9, r.uniformRange(0.01, 1)]), mode };
    if (mode === 'train' || chance(r, 0.3)) {
      if (chance(r, 0.5)) param.seed = pick(r, [0, 1, -5, 2 ** 40, r.int(1000)]);
      else param.rng = convnet.rng(r.int(1000));
    }
    return [activationTensor(r), param];
  },
  mutations: [
    ...tensorMutations(0, 'x'),
    shapeMutation(0, 'x empty or huge-and-empty', emptyShape),
    paramMutation(1, 'p', 'dropoutParam.p invalid', 'error', (r) => pick(r, [0, 1.5, -0.5, Number.NaN, Infinity, '0.5', null, -0])),
    paramMutation(1, 'mode', 'dropoutParam.mode invalid', 'error', (r) => pick(r, [undefined, 'eval', 1, null])),
    {
      name: 'train mode without seed or rng',
      expect: 'error',
      apply(_r, args) {
        const { seed: _s, rng: _g, ...rest } = args[1] as Record<string, unknown>;
        args[1] = { ...rest, mode: 'train' };
      },
    },
    {
      name: 'dropoutParam.seed invalid (train mode)',
      expect: 'error',
      apply(r, args) {
        const { rng: _g, ...rest } = args[1] as Record<string, unknown>;
        args[1] = { ...rest, mode: 'train', seed: pick(r, [1.5, Number.NaN, Infinity, '3', null, -0.25, {}]) };
        return describeShort((args[1] as { seed: unknown }).seed);
      },
    },
    {
      name: 'dropoutParam.rng not an Rng (train mode)',
      expect: 'error',
      apply(r, args) {
        args[1] = { ...(args[1] as object), mode: 'train', rng: pick(r, [{}, { uniform: 5 }, 7, 'rng', []]) };
      },
    },
    paramJunk(1, 'dropoutParam', 'error'),
  ],
  outShape: (args) => T(args[0]).shape,
  forwards: [convnet.dropoutForward],
  gradShapes: (args) => T(args[0]).shape,
};

/** Each output is 0 or x / p (train), or x itself (test). */
function dropoutCheck(result: unknown, c: FuzzCase): string[] {
  if (c.expect !== 'ok') return [];
  const out = T((result as { out: unknown }).out);
  const x = T(c.args[0]);
  const { p, mode } = c.args[1] as { p: number; mode: string };
  const tol = x.dtype === 'float32' ? 1e-6 : 1e-15;
  for (let i = 0; i < out.data.length; i++) {
    const v = out.data[i]!;
    const kept = x.data[i]! / (mode === 'train' ? p : 1);
    const dropped = mode === 'train' && (v === 0 || (Number.isNaN(v) && !Number.isFinite(x.data[i]!)));
    const ok = Object.is(v, x.data[i]) || dropped || Math.abs(v - kept) <= tol * Math.abs(kept) || (Number.isNaN(v) && Number.isNaN(kept));
    if (!ok) return [`out[${i}] = ${v}: neither 0 nor x / p = ${kept} (${mode})`];
  }
  return [];
}

function lossTarget(name: 'softmaxLoss' | 'svmLoss'): FuzzTarget {
  const mutations: Mutation[] = [
    ...tensorMutations(0, 'scores', { rank: true }),
    shapeMutation(0, 'scores with N or K = 0', (r, s) => (chance(r, 0.5) ? [0, s.shape[1]!] : [s.shape[0]!, 0])),
    {
      name: 'a label out of range or not an integer',
      expect: 'error',
      apply(r, args) {
        const y = Array.from(args[1] as ArrayLike<number>);
        const K = T(args[0]).shape[1]!;
        y[r.int(y.length)] = pick(r, [K, -1, 0.5, Number.NaN, Infinity, K + 100]);
        args[1] = chance(r, 0.5) ? y : Float64Array.from(y);
        return describeShort(y);
      },
    },
    {
      name: 'y of the wrong length',
      expect: 'error',
      apply(r, args) {
        const y = Array.from(args[1] as ArrayLike<number>);
        args[1] = chance(r, 0.5) ? [...y, 0] : y.slice(1);
      },
    },
    { name: 'y not labels', expect: 'error', apply: (r, args) => void (args[1] = pick(r, [null, undefined, 3, 'ab', {}, { length: 2 }, true])) },
    { name: 'y labels as strings', expect: 'either', apply: (_r, args) => void (args[1] = Array.from(args[1] as ArrayLike<number>, String)) },
  ];
  return {
    name,
    generate(r) {
      const [N, K] = [between(r, 1, 5), between(r, 1, 6)];
      const scores = randomTensor(r, [N, K], randomDtype(r), chance(r, 0.1) ? 'special' : 'normal');
      const labels = Array.from({ length: N }, () => r.int(K));
      const args: Args = [scores, chance(r, 0.5) ? Int32Array.from(labels) : labels];
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid' };
      return { args, ...mutate(r, args, mutations) };
    },
    call: (name === 'softmaxLoss' ? convnet.softmaxLoss : convnet.svmLoss) as FuzzTarget['call'],
    check(result, c) {
      const { loss, dx } = result as { loss: unknown; dx: Tensor };
      const problems: string[] = [];
      if (typeof loss !== 'number') problems.push(`loss is ${typeof loss}`);
      if (c.expect === 'ok') {
        const scores = T(c.args[0]);
        if (shapeText(dx?.shape) !== shapeText(scores.shape) || dx.dtype !== scores.dtype) problems.push(`dx ${shapeText(dx?.shape)} ${dx?.dtype}, want ${shapeText(scores.shape)} ${scores.dtype}`);
        const finite = Array.from(scores.data).every(Number.isFinite);
        if (finite && !(typeof loss === 'number' && Number.isFinite(loss) && loss >= 0)) problems.push(`loss ${String(loss)} for finite scores`);
      }
      return problems;
    },
  };
}

const flattenSpec: ForwardSpec = {
  layer: 'flatten',
  valid(r) {
    const x = activationTensor(r);
    const rank = x.shape.length;
    // axis in [-rank, rank] (a scalar: 0 or -1); the default, 1, needs rank >= 1.
    const axis = rank === 0 ? pick(r, [0, -1]) : pick(r, [undefined, r.int(rank + 1), -1 - r.int(rank)]);
    return [x, axis];
  },
  mutations: [
    ...tensorMutations(0, 'x'),
    shapeMutation(0, 'x empty or huge-and-empty', emptyShape),
    {
      name: 'axis invalid',
      expect: 'error',
      apply(r, args) {
        const rank = Array.isArray((args[0] as Tensor).shape) ? T(args[0]).shape.length : 0;
        args[1] = pick(r, [rank + 1, -Math.max(rank, 1) - 1, 0.5, Number.NaN, '1', null, Infinity]);
        return describeShort(args[1]);
      },
    },
  ],
  outShape(args) {
    const x = T(args[0]);
    const rank = x.shape.length;
    const axis = (args[1] as number | undefined) ?? 1;
    const ax = axis < 0 ? axis + Math.max(rank, 1) : axis;
    return [sizeOfShape(x.shape.slice(0, ax)), sizeOfShape(x.shape.slice(ax))];
  },
  forwards: [convnet.flattenForward],
  gradShapes: (args) => T(args[0]).shape,
};

/** gemm by definition, with c broadcast as documented. */
function gemmOracle(aArg: unknown, bArg: unknown, cArg: unknown, paramArg: unknown): Tensor {
  const [a, b] = [T(aArg), T(bArg)];
  const p = (paramArg ?? {}) as { alpha?: number; beta?: number; transA?: boolean; transB?: boolean };
  const [alpha, beta] = [p.alpha ?? 1, p.beta ?? 1];
  const at = (m: number, k: number): number => (p.transA ? a.data[k * a.shape[1]! + m]! : a.data[m * a.shape[1]! + k]!);
  const bt = (k: number, n: number): number => (p.transB ? b.data[n * b.shape[1]! + k]! : b.data[k * b.shape[1]! + n]!);
  const M = p.transA ? a.shape[1]! : a.shape[0]!;
  const K = p.transA ? a.shape[0]! : a.shape[1]!;
  const N = p.transB ? b.shape[0]! : b.shape[1]!;
  const c = cArg === undefined || cArg === null ? undefined : T(cArg);
  const cAt = (m: number, n: number): number => {
    if (c === undefined) return 0;
    if (c.data.length === 1) return c.data[0]!;
    if (c.shape.length === 2 && c.shape[0] === M && c.shape[1] === 1 && M !== 1) return c.data[m]!;
    if (c.shape.length === 2 && c.shape[0] === M && c.shape[1] === N) return c.data[m * N + n]!;
    return c.data[n]!;
  };
  const data = a.dtype === 'float32' ? new Float32Array(M * N) : new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += at(m, k) * bt(k, n);
      data[m * N + n] = alpha * sum + beta * cAt(m, n);
    }
  }
  return { shape: [M, N], data, dtype: a.dtype };
}

function gemmTarget(): FuzzTarget {
  const mutations: Mutation[] = [
    ...tensorMutations(0, 'a', { rank: true, dtype: true }),
    ...tensorMutations(1, 'b', { rank: true, dtype: true }),
    shapeMutation(1, 'b with the wrong inner size', (_r, b) => [b.shape[0]! + 1, b.shape[1]! + 1], 'error'),
    {
      name: 'c not broadcastable',
      expect: 'error',
      apply(r, args) {
        const dtype = T(args[0]).dtype;
        args[2] = pick(r, [() => randomTensor(r, [2, 3, 4], dtype), () => malformedTensor(r, randomTensor(r, [2], dtype)).value, () => junk(r) ?? 5])();
      },
    },
    { name: 'c of the other dtype', expect: 'error', apply: (r, args) => void (args[2] = randomTensor(r, [1], otherDtype(T(args[0]).dtype))) },
    paramMutation(3, 'alpha', 'gemmParam.alpha not finite', 'error', badFinite),
    paramMutation(3, 'beta', 'gemmParam.beta not finite', 'error', badFinite),
    paramMutation(3, 'transA', 'gemmParam.transA not a boolean', 'error', (r) => pick(r, [1, 0, 'yes', {}])),
    { name: 'gemmParam not an object', expect: 'error', apply: (r, args) => void (args[3] = pick(r, [null, 1, 'x', [], true])) },
    {
      name: 'huge and empty: a (M huge, 0), b (0, N huge)',
      expect: 'either',
      apply(r, args) {
        const dtype = T(args[0]).dtype;
        args[0] = randomTensor(r, [pick(r, [HUGE, 2 ** 40]), 0], dtype);
        args[1] = randomTensor(r, [0, pick(r, [1, HUGE])], dtype);
        args[2] = undefined;
        args[3] = {};
      },
    },
  ];
  return {
    name: 'gemm',
    generate(r) {
      const dtype = randomDtype(r);
      const [M, K, N] = [between(r, chance(r, 0.1) ? 0 : 1, 5), between(r, chance(r, 0.1) ? 0 : 1, 5), between(r, chance(r, 0.1) ? 0 : 1, 5)];
      const transA = chance(r, 0.5);
      const transB = chance(r, 0.5);
      const a = randomTensor(r, transA ? [K, M] : [M, K], dtype);
      const b = randomTensor(r, transB ? [N, K] : [K, N], dtype);
      const cShape = pick(r, [undefined, [], [1], [N], [1, N], [M, 1], [M, N], [1, 1]]);
      const c = cShape === undefined ? pick(r, [undefined, null]) : randomTensor(r, cShape, dtype);
      const param: Record<string, unknown> = {};
      if (transA || chance(r, 0.3)) param.transA = transA;
      if (transB || chance(r, 0.3)) param.transB = transB;
      if (chance(r, 0.4)) param.alpha = r.normal();
      if (chance(r, 0.4)) param.beta = r.normal();
      const args: Args = [a, b, c, chance(r, 0.15) && Object.keys(param).length === 0 ? undefined : param];
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid' };
      return { args, ...mutate(r, args, mutations) };
    },
    call: convnet.gemm as FuzzTarget['call'],
    oracle: gemmOracle as FuzzTarget['oracle'],
  };
}

/**
 * Norm backwards against the naive ones: each gradient as usual (`differences`), or else every
 * value within the tolerance (1e-10 float64, 1e-4 float32) relative to the size of the terms it
 * is made of — where a channel or group has few values, dx, dgamma and dbeta nearly cancel and
 * carry the rounding error of their terms in any order of summation (batchnormFast.test.ts
 * holds dx to the same bound):
 *   dx: max |gamma| · max invStd · max |dout|;  dgamma: Σ |dout| · max |xhat|;  dbeta: Σ |dout|.
 */
function normBackwardCompare(got: unknown, want: unknown, args: unknown[]): string[] {
  const diffs = differences(got, want);
  if (diffs.length === 0) return [];
  const g = got as Record<string, Tensor>;
  const w = want as Record<string, Tensor>;
  const cache = args[1] as { gamma: Tensor; invStd: Float64Array; xhat: Float64Array };
  const finite = (a: ArrayLike<number>): number[] => Array.from(a).filter(Number.isFinite).map(Math.abs);
  const maxAbs = (a: ArrayLike<number>): number => finite(a).reduce((m, v) => Math.max(m, v), 0);
  const sumAbs = (a: ArrayLike<number>): number => finite(a).reduce((m, v) => m + v, 0);
  const dout = T(args[0]).data;
  const scales: Record<string, number> = {
    dx: maxAbs(cache.gamma.data) * maxAbs(cache.invStd) * maxAbs(dout),
    dgamma: sumAbs(dout) * maxAbs(cache.xhat),
    dbeta: sumAbs(dout),
  };
  for (const key of ['dx', 'dgamma', 'dbeta']) {
    const [a, b] = [g[key], w[key]];
    if (!isTensorLike(a) || !isTensorLike(b) || shapeText(a.shape) !== shapeText(b.shape) || a.dtype !== b.dtype) return diffs;
    const tol = a.dtype === 'float64' ? 1e-10 : 1e-4;
    for (let i = 0; i < a.data.length; i++) {
      const [u, v] = [a.data[i]!, b.data[i]!];
      if (Number.isNaN(u) !== Number.isNaN(v)) return [`result.${key}[${i}] = ${u}, want ${v} (NaN in one only)`];
      if (!Number.isNaN(u) && u !== v && !(Math.abs(u - v) <= tol * scales[key]!)) {
        return [`result.${key}[${i}] = ${u}, want ${v}: off by more than ${tol} · ${scales[key]} (the size of its terms)`];
      }
    }
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// tanh, sigmoid, GELU, ELU; mse, l1 and softmax cross-entropy losses

const tanhSpec: ForwardSpec = {
  layer: 'tanh',
  valid: (r) => [activationTensor(r)],
  mutations: [...tensorMutations(0, 'x'), shapeMutation(0, 'x empty or huge-and-empty', emptyShape)],
  outShape: (args) => T(args[0]).shape,
  forwards: [convnet.tanhForward],
  gradShapes: (args) => T(args[0]).shape,
};

const sigmoidSpec: ForwardSpec = { ...tanhSpec, layer: 'sigmoid', forwards: [convnet.sigmoidForward] };

const geluSpec: ForwardSpec = {
  layer: 'gelu',
  valid: (r) => [activationTensor(r), pick(r, [undefined, 'none', 'tanh'])],
  mutations: [
    ...tensorMutations(0, 'x'),
    shapeMutation(0, 'x empty or huge-and-empty', emptyShape),
    { name: "approximate not 'none' or 'tanh'", expect: 'error', apply: (r, args) => void (args[1] = pick(r, ['erf', 'exact', '', null, 0, true, 'TANH'])) },
  ],
  outShape: (args) => T(args[0]).shape,
  forwards: [convnet.geluForward],
  gradShapes: (args) => T(args[0]).shape,
};

const eluSpec: ForwardSpec = {
  layer: 'elu',
  valid: (r) => [activationTensor(r), pick(r, [undefined, 1, 0.5, 0, -0.5, 2])],
  mutations: [
    ...tensorMutations(0, 'x'),
    shapeMutation(0, 'x empty or huge-and-empty', emptyShape),
    { name: 'alpha not a finite number', expect: 'error', apply: (r, args) => void (args[1] = badFinite(r)) },
  ],
  outShape: (args) => T(args[0]).shape,
  forwards: [convnet.eluForward],
  gradShapes: (args) => T(args[0]).shape,
};

/** Forward oracles by definition (Math.tanh, 1 / (1 + e^−x), alpha·expm1(x)). */
const tanhOf = (v: number): number => Math.tanh(v);
const sigmoidOfDefinition = (v: number): number => 1 / (1 + Math.exp(-v));
const eluOf = (v: number, alpha: number): number => (v > 0 ? v : alpha * Math.expm1(v));
function elementwiseWithDefault(f: (v: number, alpha: number) => number, fallback: number): (...args: unknown[]) => unknown {
  return (xv, alphaArg) => {
    const x = T(xv);
    const alpha = alphaArg === undefined ? fallback : (alphaArg as number);
    return { out: { shape: [...x.shape], data: x.data.map((v) => f(v, alpha)), dtype: x.dtype } };
  };
}

/** Backward oracles from the cache: tanh and sigmoid read the output, ELU reads x and alpha. */
function fromOutputBackward(f: (y: number) => number): (...args: unknown[]) => unknown {
  return (doutArg, cacheArg) => {
    const dout = T(doutArg);
    const out = (cacheArg as { out: Tensor }).out;
    return { shape: [...out.shape], data: dout.data.map((g, i) => g * f(out.data[i]!)), dtype: out.dtype };
  };
}
const eluBackwardOf = (doutArg: unknown, cacheArg: unknown): unknown => {
  const dout = T(doutArg);
  const { x, alpha } = cacheArg as { x: Tensor; alpha: number };
  return { shape: [...x.shape], data: dout.data.map((g, i) => (x.data[i]! > 0 ? g : alpha * Math.exp(x.data[i]!) * g)), dtype: x.dtype };
};

function regressionLossTarget(name: 'mseLoss' | 'l1Loss'): FuzzTarget {
  const mutations: Mutation[] = [
    ...tensorMutations(0, 'pred', { dtype: true }),
    ...tensorMutations(1, 'target', { rank: true, dtype: true }),
    shapeMutation(1, 'target of another shape', (_r, t) => [...t.shape.slice(0, -1), t.shape[t.shape.length - 1]! + 1], 'error'),
    {
      name: 'pred and target empty (or huge-and-empty)',
      expect: 'error',
      apply(r, args) {
        const pred = T(args[0]);
        const shape = emptyShape(r, pred);
        args[0] = randomTensor(r, shape, pred.dtype);
        args[1] = randomTensor(r, shape, pred.dtype);
        return shapeText(shape);
      },
    },
  ];
  return {
    name,
    generate(r) {
      const shape = dims(r, between(r, 1, 4), 1, 4);
      const dtype = randomDtype(r);
      const args: Args = [randomTensor(r, shape, dtype, randomFill(r)), randomTensor(r, shape, dtype, randomFill(r))];
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid' };
      return { args, ...mutate(r, args, mutations) };
    },
    call: (name === 'mseLoss' ? convnet.mseLoss : convnet.l1Loss) as FuzzTarget['call'],
    oracle(predArg, targetArg) {
      const [pred, target] = [T(predArg), T(targetArg)];
      const n = pred.data.length;
      let loss = 0;
      const dx = pred.data.map((p, i) => {
        const d = p - target.data[i]!;
        loss += name === 'mseLoss' ? d * d : Math.abs(d);
        return name === 'mseLoss' ? (2 * d) / n : Math.sign(d) / n;
      });
      return { loss: loss / n, dx: { shape: [...pred.shape], data: dx, dtype: pred.dtype } };
    },
  };
}

function softmaxCrossEntropyTarget(): FuzzTarget {
  const C = (args: Args): number => T(args[0]).shape[1]!;
  const options = (args: Args): Record<string, unknown> => ({ ...(args[2] as Record<string, unknown>) });
  const optionMutation = (name: string, expect: Exclude<Expect, 'ok'>, set: (r: Rng, o: Record<string, unknown>, args: Args) => void): Mutation => ({
    name,
    expect,
    apply(r, args) {
      const o = options(args);
      set(r, o, args);
      args[2] = o;
      return describeShort(o);
    },
  });
  const mutations: Mutation[] = [
    ...tensorMutations(0, 'scores'),
    shapeMutation(0, 'scores of rank 1', (_r, s) => [sizeOfShape(s.shape)], 'error'),
    shapeMutation(0, 'scores with C = 0', (_r, s) => [s.shape[0]!, 0, ...s.shape.slice(2)], 'error'),
    {
      name: 'a label out of range or not an integer',
      expect: 'error',
      apply(r, args) {
        const y = Array.from(args[1] as ArrayLike<number>);
        if (y.length === 0) throw new Error('no labels');
        const ignore = (args[2] as { ignoreIndex?: number }).ignoreIndex;
        const bad = pick(r, [C(args), -1, 0.5, Number.NaN, Infinity, C(args) + 100, -100]);
        if (bad === ignore) throw new Error('the ignore index');
        y[r.int(y.length)] = bad;
        args[1] = chance(r, 0.5) ? y : Float64Array.from(y);
        return describeShort(bad);
      },
    },
    {
      name: 'labels of the wrong length',
      expect: 'error',
      apply(r, args) {
        const y = Array.from(args[1] as ArrayLike<number>);
        args[1] = chance(r, 0.5) ? [...y, 0] : y.slice(1);
      },
    },
    { name: 'labels not labels', expect: 'error', apply: (r, args) => void (args[1] = pick(r, [null, undefined, 3, 'ab', {}, { length: 2 }, true, new Map()])) },
    optionMutation('ignoreIndex not an integer', 'error', (r, o) => void (o.ignoreIndex = pick(r, [0.5, Number.NaN, Infinity, '1', null, true]))),
    optionMutation('labelSmoothing outside [0, 1]', 'error', (r, o) => void (o.labelSmoothing = pick(r, [-0.1, 1.5, Number.NaN, Infinity, '0.1', null]))),
    optionMutation('reduction unknown', 'error', (r, o) => void (o.reduction = pick(r, ['avg', 'MEAN', '', 0, null]))),
    optionMutation('weights of another length', 'error', (r, o, args) => void (o.weights = randomTensor(r, [C(args) + 1], T(args[0]).dtype))),
    optionMutation('weights of the other dtype', 'error', (r, o, args) => void (o.weights = randomTensor(r, [C(args)], otherDtype(T(args[0]).dtype)))),
    optionMutation('weights not a tensor', 'error', (r, o) => void (o.weights = junk(r))),
    optionMutation('an unknown option', 'error', (_r, o) => void (o.weight = 1)),
    { name: 'options not an object', expect: 'either', apply: (r, args) => void (args[2] = junk(r)) },
  ];
  return {
    name: 'softmaxCrossEntropyLoss',
    generate(r) {
      const dtype = randomDtype(r);
      const [N, classes] = [between(r, 1, 4), between(r, 1, 5)];
      const spatial = dims(r, between(r, 0, 2), 1, 3);
      const scores = randomTensor(r, [N, classes, ...spatial], dtype, chance(r, 0.1) ? 'special' : 'normal');
      const o: Record<string, unknown> = {};
      if (chance(r, 0.5)) o.ignoreIndex = pick(r, [-100, -1, 0, classes - 1, classes + 3]);
      if (chance(r, 0.4)) {
        const w = Array.from({ length: classes }, () => 0.1 + r.uniform()); // positive: a weighted mean's divisor is never 0
        o.weights = { shape: [classes], data: dtype === 'float32' ? Float32Array.from(w) : Float64Array.from(w), dtype };
      }
      if (chance(r, 0.4)) o.labelSmoothing = pick(r, [0, 0.1, 0.5, 1]);
      if (chance(r, 0.6)) o.reduction = pick(r, ['mean', 'sum', 'none']);
      const count = N * sizeOfShape(spatial);
      const labels = Array.from({ length: count }, () => (o.ignoreIndex !== undefined && chance(r, 0.2) ? (o.ignoreIndex as number) : r.int(classes)));
      const args: Args = [scores, chance(r, 0.5) ? Int32Array.from(labels) : labels, o];
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid' };
      return { args, ...mutate(r, args, mutations) };
    },
    call: convnet.softmaxCrossEntropyLoss as FuzzTarget['call'],
    check(result, c) {
      if (c.expect !== 'ok') return [];
      const { loss, dx, logProb } = result as { loss: unknown; dx: Tensor; logProb: Tensor };
      const scores = T(c.args[0]);
      const reduction = (c.args[2] as { reduction?: string }).reduction ?? 'mean';
      const problems: string[] = [];
      for (const [key, t] of [['dx', dx], ['logProb', logProb]] as const) {
        if (shapeText(t?.shape) !== shapeText(scores.shape) || t.dtype !== scores.dtype) problems.push(`${key} ${shapeText(t?.shape)} ${t?.dtype}, want ${shapeText(scores.shape)} ${scores.dtype}`);
      }
      if (reduction === 'none') {
        const want = [scores.shape[0]!, ...scores.shape.slice(2)];
        if (!isTensorLike(loss) || shapeText(loss.shape) !== shapeText(want)) problems.push(`loss ${shapeText((loss as Tensor)?.shape)}, want a tensor ${shapeText(want)}`);
      } else if (typeof loss !== 'number') problems.push(`loss is ${typeof loss}, want a number`);
      else if (Array.from(scores.data).every(Number.isFinite) && reduction === 'sum' && !(loss >= 0)) problems.push(`loss ${loss} for finite scores`);
      return problems;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the targets

cacheSpecs.push(convSpec, convTransposeSpec, upsampleSpec, maxPoolSpec, avgPoolSpec, globalMaxSpec, globalAvgSpec, affineSpec, reluSpec, leakyReluSpec, softmaxFwdSpec, logSoftmaxFwdSpec, batchnormSpecD, spatialBatchnormSpec, layernormSpec, groupnormSpec, dropoutSpec, flattenSpec);

/** Running statistics are the one documented in-place update. */
const runningStats = (path: string): boolean => /\.running(Mean|Var)\b/.test(path);

/** A convenience form returning only the output: its errors may name the forward it calls. */
const outOnly = (f: (...args: never[]) => ForwardResult) => (...args: never[]) => f(...args).out;

export const targets: FuzzTarget[] = [
  // convolution
  forwardTarget('convForward', convSpec, convnet.convForward, { reference: convnet.convForwardNaive as FuzzTarget['reference'] }),
  forwardTarget('convForwardNaive', convSpec, convnet.convForwardNaive),
  backwardTarget('convBackward', convSpec, convnet.convBackward, { reference: convnet.convBackwardNaive as FuzzTarget['reference'] }),
  backwardTarget('convBackwardNaive', convSpec, convnet.convBackwardNaive),
  // transposed convolution, upsampling
  forwardTarget('convTransposeForward', convTransposeSpec, convnet.convTransposeForward, { reference: convnet.convTransposeForwardNaive as FuzzTarget['reference'] }),
  forwardTarget('convTransposeForwardNaive', convTransposeSpec, convnet.convTransposeForwardNaive),
  backwardTarget('convTransposeBackward', convTransposeSpec, convnet.convTransposeBackward, { reference: convnet.convTransposeBackwardNaive as FuzzTarget['reference'] }),
  backwardTarget('convTransposeBackwardNaive', convTransposeSpec, convnet.convTransposeBackwardNaive),
  forwardTarget('upsampleForward', upsampleSpec, convnet.upsampleForward),
  backwardTarget('upsampleBackward', upsampleSpec, convnet.upsampleBackward),
  // pooling
  forwardTarget('maxPoolForward', maxPoolSpec, convnet.maxPoolForward, { reference: convnet.maxPoolForwardNaive as FuzzTarget['reference'] }),
  forwardTarget('maxPoolForwardNaive', maxPoolSpec, convnet.maxPoolForwardNaive),
  backwardTarget('maxPoolBackward', maxPoolSpec, convnet.maxPoolBackward, { reference: convnet.maxPoolBackwardNaive as FuzzTarget['reference'] }),
  backwardTarget('maxPoolBackwardNaive', maxPoolSpec, convnet.maxPoolBackwardNaive),
  forwardTarget('avgPoolForward', avgPoolSpec, convnet.avgPoolForward, { reference: convnet.avgPoolForwardNaive as FuzzTarget['reference'] }),
  forwardTarget('avgPoolForwardNaive', avgPoolSpec, convnet.avgPoolForwardNaive),
  backwardTarget('avgPoolBackward', avgPoolSpec, convnet.avgPoolBackward, { reference: convnet.avgPoolBackwardNaive as FuzzTarget['reference'] }),
  backwardTarget('avgPoolBackwardNaive', avgPoolSpec, convnet.avgPoolBackwardNaive),
  forwardTarget('globalAvgPoolForward', globalAvgSpec, convnet.globalAvgPoolForward, { oracle: globalPoolOracle(false) }),
  backwardTarget('globalAvgPoolBackward', globalAvgSpec, convnet.globalAvgPoolBackward),
  forwardTarget('globalMaxPoolForward', globalMaxSpec, convnet.globalMaxPoolForward, { oracle: globalPoolOracle(true) }),
  backwardTarget('globalMaxPoolBackward', globalMaxSpec, convnet.globalMaxPoolBackward),
  // affine
  forwardTarget('affineForward', affineSpec, convnet.affineForward, { reference: convnet.affineForwardNaive as FuzzTarget['reference'] }),
  forwardTarget('affineForwardNaive', affineSpec, convnet.affineForwardNaive),
  backwardTarget('affineBackward', affineSpec, convnet.affineBackward, { reference: convnet.affineBackwardNaive as FuzzTarget['reference'] }),
  backwardTarget('affineBackwardNaive', affineSpec, convnet.affineBackwardNaive),
  // activations
  forwardTarget('reluForward', reluSpec, convnet.reluForward, { oracle: elementwise(reluOf, 'forward') }),
  forwardTarget('relu', reluSpec, convnet.relu, { oracle: elementwise(reluOf, 'out'), errorNames: ['relu', 'reluForward'] }),
  backwardTarget('reluBackward', reluSpec, convnet.reluBackward, { oracle: elementwiseBackward(false) }),
  forwardTarget('leakyReluForward', leakyReluSpec, convnet.leakyReluForward, { oracle: elementwise(leakyOf, 'forward') }),
  forwardTarget('leakyRelu', leakyReluSpec, convnet.leakyRelu, { oracle: elementwise(leakyOf, 'out'), errorNames: ['leakyRelu', 'leakyReluForward'] }),
  backwardTarget('leakyReluBackward', leakyReluSpec, convnet.leakyReluBackward, { oracle: elementwiseBackward(true) }),
  forwardTarget('softmaxForward', softmaxFwdSpec, convnet.softmaxForward),
  forwardTarget('softmax', softmaxFwdSpec, convnet.softmax, { errorNames: ['softmax', 'softmaxForward'], reference: outOnly(convnet.softmaxForward) as FuzzTarget['reference'] }),
  backwardTarget('softmaxBackward', softmaxFwdSpec, convnet.softmaxBackward),
  forwardTarget('logSoftmaxForward', logSoftmaxFwdSpec, convnet.logSoftmaxForward),
  forwardTarget('logSoftmax', logSoftmaxFwdSpec, convnet.logSoftmax, { errorNames: ['logSoftmax', 'logSoftmaxForward'], reference: outOnly(convnet.logSoftmaxForward) as FuzzTarget['reference'] }),
  backwardTarget('logSoftmaxBackward', logSoftmaxFwdSpec, convnet.logSoftmaxBackward),
  // batch norm
  forwardTarget('batchnormForward', batchnormSpecD, convnet.batchnormForward, { reference: convnet.batchnormForwardNaive as FuzzTarget['reference'], mayMutate: runningStats }),
  forwardTarget('batchnormForwardNaive', batchnormSpecD, convnet.batchnormForwardNaive, { mayMutate: runningStats }),
  backwardTarget('batchnormBackward', batchnormSpecD, convnet.batchnormBackward, { reference: convnet.batchnormBackwardNaive as FuzzTarget['reference'], compare: normBackwardCompare }),
  backwardTarget('batchnormBackwardNaive', batchnormSpecD, convnet.batchnormBackwardNaive),
  backwardTarget('batchnormBackwardAlt', batchnormSpecD, convnet.batchnormBackwardAlt, { reference: convnet.batchnormBackwardNaive as FuzzTarget['reference'], compare: normBackwardCompare }),
  forwardTarget('spatialBatchnormForward', spatialBatchnormSpec, convnet.spatialBatchnormForward, { reference: convnet.spatialBatchnormForwardNaive as FuzzTarget['reference'], mayMutate: runningStats }),
  forwardTarget('spatialBatchnormForwardNaive', spatialBatchnormSpec, convnet.spatialBatchnormForwardNaive, { mayMutate: runningStats }),
  backwardTarget('spatialBatchnormBackward', spatialBatchnormSpec, convnet.spatialBatchnormBackward, { reference: convnet.spatialBatchnormBackwardNaive as FuzzTarget['reference'], compare: normBackwardCompare }),
  backwardTarget('spatialBatchnormBackwardNaive', spatialBatchnormSpec, convnet.spatialBatchnormBackwardNaive),
  // layer norm, group norm
  forwardTarget('layernormForward', layernormSpec, convnet.layernormForward),
  backwardTarget('layernormBackward', layernormSpec, convnet.layernormBackward),
  forwardTarget('spatialGroupnormForward', groupnormSpec, convnet.spatialGroupnormForward, { reference: convnet.spatialGroupnormForwardNaive as FuzzTarget['reference'] }),
  forwardTarget('spatialGroupnormForwardNaive', groupnormSpec, convnet.spatialGroupnormForwardNaive),
  backwardTarget('spatialGroupnormBackward', groupnormSpec, convnet.spatialGroupnormBackward, { reference: convnet.spatialGroupnormBackwardNaive as FuzzTarget['reference'], compare: normBackwardCompare }),
  backwardTarget('spatialGroupnormBackwardNaive', groupnormSpec, convnet.spatialGroupnormBackwardNaive),
  // dropout
  forwardTarget('dropoutForward', dropoutSpec, convnet.dropoutForward, { check: (result, c) => [...outputCheck(dropoutSpec)(result, c), ...dropoutCheck(result, c)] }),
  backwardTarget('dropoutBackward', dropoutSpec, convnet.dropoutBackward),
  // losses
  lossTarget('softmaxLoss'),
  lossTarget('svmLoss'),
  // shape, matmul
  forwardTarget('flatten', flattenSpec, convnet.flatten),
  forwardTarget('flattenForward', flattenSpec, convnet.flattenForward, { errorNames: ['flattenForward', 'flatten'] }),
  backwardTarget('flattenBackward', flattenSpec, convnet.flattenBackward),
  gemmTarget(),
  // tanh, sigmoid, GELU, ELU
  forwardTarget('tanhForward', tanhSpec, convnet.tanhForward, { oracle: elementwiseWithDefault(tanhOf, 0) }),
  backwardTarget('tanhBackward', tanhSpec, convnet.tanhBackward, { oracle: fromOutputBackward((y) => 1 - y * y) }),
  forwardTarget('sigmoidForward', sigmoidSpec, convnet.sigmoidForward, { oracle: elementwiseWithDefault(sigmoidOfDefinition, 0) }),
  backwardTarget('sigmoidBackward', sigmoidSpec, convnet.sigmoidBackward, { oracle: fromOutputBackward((y) => y * (1 - y)) }),
  forwardTarget('geluForward', geluSpec, convnet.geluForward),
  backwardTarget('geluBackward', geluSpec, convnet.geluBackward),
  forwardTarget('eluForward', eluSpec, convnet.eluForward, { oracle: elementwiseWithDefault(eluOf, 1) }),
  backwardTarget('eluBackward', eluSpec, convnet.eluBackward, { oracle: eluBackwardOf }),
  // regression losses, softmax cross-entropy
  regressionLossTarget('mseLoss'),
  regressionLossTarget('l1Loss'),
  softmaxCrossEntropyTarget(),
];
