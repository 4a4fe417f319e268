/**
 * Fuzz targets for every module (src/nn: each class's constructor, forward and backward, and
 * buildModule) and every model (src/models: each class's constructor, forward, loss and
 * inputGradient, and buildModel), with valid and broken arguments.
 *
 * Arguments are plain data (an options object or a module config, init options, tensors), and
 * each call builds its module from them: so a failure prints everything needed to rebuild it,
 * and the reference builds an identical module (same seed, same parameters) of its own.
 *
 * The reference of a forward or backward is the layer functions called directly with the
 * module's parameters — the naive ones where there are two — composed as the containers
 * compose their children (without Sequential's conv → relu → pool fusion); see refRun.
 */
import * as convnet from '../../src/index.js';
import {
  AvgPool2d,
  BatchNorm,
  BatchNorm2d,
  Conv2d,
  ConvnetError,
  ConvNet,
  Dropout,
  Flatten,
  FullyConnectedNet,
  GlobalAvgPool,
  GlobalMaxPool,
  GroupNorm,
  LayerNorm,
  LeakyReLU,
  ConvTranspose2d,
  Upsample,
  Tanh,
  Sigmoid,
  GELU,
  ELU,
  Linear,
  MaxPool2d,
  Module,
  Network,
  ReLU,
  Residual,
  Sequential,
  ThreeLayerConvNet,
  walk,
  type InitOptions,
  type Mode,
  type ModuleConfig,
} from '../../src/index.js';
import type { Rng } from '../../src/rng.js';
import type { DType, Tensor } from '../../src/tensor.js';
import { describe, differences, isTensorLike, type Expect, type FuzzCase, type FuzzTarget } from './harness.js';
import {
  badFinite,
  badNonNegativeInteger,
  badPositiveInteger,
  between,
  chance,
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
  type Mutation,
} from './values.js';

type Args = unknown[];
type Options = Record<string, unknown>;
type Config = { type: string } & Options;

/** Probability that a generated case is left valid. */
const VALID = 0.45;
const T = (v: unknown): Tensor => wellFormed(v);
const shapeText = (s: unknown): string => JSON.stringify(s);
/** Sizes no module may allocate parameters for: each would be gigabytes (or more than fits in a typed array). */
const HUGE_SIZES = [2 ** 31, 2 ** 40, 2 ** 53, 1e300];

// ---------------------------------------------------------------------------------------------
// building modules from plain data

/** Leaf module classes by type, with whether the constructor takes init options. */
const LEAVES: Record<string, { make(options: unknown, init: unknown): Module; init: boolean }> = {
  Conv2d: { make: (o, i) => new Conv2d(o as never, i as InitOptions), init: true },
  Linear: { make: (o, i) => new Linear(o as never, i as InitOptions), init: true },
  ReLU: { make: (o) => new ReLU(o as never), init: false },
  LeakyReLU: { make: (o) => new LeakyReLU(o as never), init: false },
  Tanh: { make: (o) => new Tanh(o as never), init: false },
  Sigmoid: { make: (o) => new Sigmoid(o as never), init: false },
  GELU: { make: (o) => new GELU(o as never), init: false },
  ELU: { make: (o) => new ELU(o as never), init: false },
  MaxPool2d: { make: (o) => new MaxPool2d(o as never), init: false },
  AvgPool2d: { make: (o) => new AvgPool2d(o as never), init: false },
  GlobalAvgPool: { make: (o) => new GlobalAvgPool(o as never), init: false },
  GlobalMaxPool: { make: (o) => new GlobalMaxPool(o as never), init: false },
  BatchNorm: { make: (o, i) => new BatchNorm(o as never, i as InitOptions), init: true },
  BatchNorm2d: { make: (o, i) => new BatchNorm2d(o as never, i as InitOptions), init: true },
  LayerNorm: { make: (o, i) => new LayerNorm(o as never, i as InitOptions), init: true },
  GroupNorm: { make: (o, i) => new GroupNorm(o as never, i as InitOptions), init: true },
  Dropout: { make: (o, i) => new Dropout(o as never, i as InitOptions), init: true },
  Flatten: { make: (o) => new Flatten(o as never), init: false },
  ConvTranspose2d: { make: (o, i) => new ConvTranspose2d(o as never, i as InitOptions), init: true },
  Upsample: { make: (o) => new Upsample(o as never), init: false },
};

/** A module from a config, through the classes' own constructors (buildModule has its own target). */
function construct(config: Config, init: unknown): Module {
  const { type, ...options } = config;
  if (type === 'Sequential') return new Sequential((options.layers as Config[]).map((c) => construct(c, init)));
  if (type === 'Residual') {
    const projection = options.projection === null || options.projection === undefined ? null : construct(options.projection as Config, init);
    return new Residual({ body: construct(options.body as Config, init), projection });
  }
  const leaf = LEAVES[type];
  if (leaf === undefined) throw new Error(`fuzz: no leaf ${type}`);
  return leaf.make(options, init);
}

function hasParams(config: Config): boolean {
  if (config.type === 'Sequential') return (config.layers as Config[]).some(hasParams);
  if (config.type === 'Residual') return hasParams(config.body as Config) || (config.projection !== null && hasParams(config.projection as Config));
  return ['Conv2d', 'Linear', 'BatchNorm', 'BatchNorm2d', 'LayerNorm', 'GroupNorm'].includes(config.type);
}

/** Every module's gradients after a backward, keyed by position in the tree, type and local name. */
function gradsOf(m: Module): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  walk(m).forEach((child, i) => {
    for (const local of Object.keys(child.params)) if (child.grads[local] !== undefined) out[`${i}:${child.type}.${local}`] = child.grads[local]!;
  });
  return out;
}

function paramShapesOf(m: Module): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  walk(m).forEach((child, i) => {
    for (const [local, p] of Object.entries(child.params)) out[`${i}:${child.type}.${local}`] = [...p.shape];
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// the reference: layer functions called directly, composed as the containers compose them

type RefGrads = Map<Module, Record<string, Tensor>>;
interface RefRun {
  out: Tensor;
  back(dout: Tensor): { dx: Tensor; grads: RefGrads };
}

const copy = (t: Tensor): Tensor => ({ shape: [...t.shape], data: t.data.slice(), dtype: t.dtype });

/**
 * The largest |value| of every input, output and gradient the last reference computed: the size
 * of the terms a result is made of. A result that is zero by definition (scores after a group
 * norm and a global average pool; a bias's gradient before a batch norm, whose mean removes it)
 * comes out as rounding noise of that size in any order of summation, so results are compared
 * relative to it (see closeTo). Set by each target's reference, read by its compare (the harness
 * calls one right after the other).
 */
let termScale = 0;
function noted<V>(value: V): V {
  termScale = Math.max(termScale, largest(value));
  return value;
}

function leafRun(m: Module, out: Tensor, back: (dout: Tensor) => { dx: Tensor; grads?: Record<string, Tensor> }): RefRun {
  noted(out);
  return {
    out,
    back(dout) {
      noted(dout);
      const { dx, grads } = noted(back(dout));
      return { dx, grads: grads === undefined ? new Map() : new Map([[m, grads]]) };
    },
  };
}

/** What a module's forward must return (and its backward), computed without the module's own code. */
function refRun(m: Module, x: Tensor, mode: Mode): RefRun {
  // Modules accept 'train' and 'test' only (the contract: Module.forward(x, mode)).
  if (mode !== 'train' && mode !== 'test') throw new ConvnetError('reference', `mode ${describe(mode)}`);
  if (isTensorLike(x)) noted(x);
  const p = m.params as Record<string, Tensor>;
  if (m instanceof Conv2d) {
    const { out, cache } = convnet.convForwardNaive(x, p.weight!, p.bias!, m.convParam);
    return leafRun(m, out, (d) => {
      const g = convnet.convBackwardNaive(d, cache);
      return { dx: g.dx, grads: { weight: g.dw, bias: g.db } };
    });
  }
  if (m instanceof Linear) {
    const { out, cache } = convnet.affineForwardNaive(x, p.weight!, p.bias!);
    return leafRun(m, out, (d) => {
      const g = convnet.affineBackwardNaive(d, cache);
      return { dx: g.dx, grads: { weight: g.dw, bias: g.db } };
    });
  }
  if (m instanceof ReLU) {
    const { out, cache } = convnet.reluForward(x);
    return leafRun(m, out, (d) => ({ dx: convnet.reluBackward(d, cache) }));
  }
  if (m instanceof LeakyReLU) {
    const { out, cache } = convnet.leakyReluForward(x, m.alpha);
    return leafRun(m, out, (d) => ({ dx: convnet.leakyReluBackward(d, cache) }));
  }
  if (m instanceof ConvTranspose2d) {
    const p = m.params;
    const { out, cache } = convnet.convTransposeForwardNaive(x, p.weight!, p.bias!, m.convTransposeParam);
    return leafRun(m, out, (d) => {
      const g = convnet.convTransposeBackwardNaive(d, cache);
      return { dx: g.dx, grads: { weight: g.dw, bias: g.db } };
    });
  }
  if (m instanceof Upsample) {
    const { out, cache } = convnet.upsampleForward(x, m.upsampleParam);
    return leafRun(m, out, (d) => ({ dx: convnet.upsampleBackward(d, cache) }));
  }
  if (m instanceof Tanh) {
    const { out, cache } = convnet.tanhForward(x);
    return leafRun(m, out, (d) => ({ dx: convnet.tanhBackward(d, cache) }));
  }
  if (m instanceof Sigmoid) {
    const { out, cache } = convnet.sigmoidForward(x);
    return leafRun(m, out, (d) => ({ dx: convnet.sigmoidBackward(d, cache) }));
  }
  if (m instanceof GELU) {
    const { out, cache } = convnet.geluForward(x, m.approximate);
    return leafRun(m, out, (d) => ({ dx: convnet.geluBackward(d, cache) }));
  }
  if (m instanceof ELU) {
    const { out, cache } = convnet.eluForward(x, m.alpha);
    return leafRun(m, out, (d) => ({ dx: convnet.eluBackward(d, cache) }));
  }
  if (m instanceof MaxPool2d) {
    const { out, cache } = convnet.maxPoolForwardNaive(x, m.poolParam);
    return leafRun(m, out, (d) => ({ dx: convnet.maxPoolBackwardNaive(d, cache) }));
  }
  if (m instanceof AvgPool2d) {
    const { out, cache } = convnet.avgPoolForwardNaive(x, { ...m.poolParam, countIncludePad: m.countIncludePad });
    return leafRun(m, out, (d) => ({ dx: convnet.avgPoolBackwardNaive(d, cache) }));
  }
  if (m instanceof GlobalAvgPool) {
    const { out, cache } = convnet.globalAvgPoolForward(x);
    return leafRun(m, out, (d) => ({ dx: convnet.globalAvgPoolBackward(d, cache) }));
  }
  if (m instanceof GlobalMaxPool) {
    const { out, cache } = convnet.globalMaxPoolForward(x);
    return leafRun(m, out, (d) => ({ dx: convnet.globalMaxPoolBackward(d, cache) }));
  }
  if (m instanceof BatchNorm || m instanceof BatchNorm2d) {
    // Copies of the running statistics: the reference must not move the module's.
    const bn = { mode, eps: m.eps, momentum: m.momentum, runningMean: copy(m.buffers.runningMean!), runningVar: copy(m.buffers.runningVar!) };
    const spatial = m instanceof BatchNorm2d;
    const { out, cache } = (spatial ? convnet.spatialBatchnormForwardNaive : convnet.batchnormForwardNaive)(x, p.gamma!, p.beta!, bn);
    return leafRun(m, out, (d) => {
      const g = (spatial ? convnet.spatialBatchnormBackwardNaive : convnet.batchnormBackwardNaive)(d, cache);
      return { dx: g.dx, grads: { gamma: g.dgamma, beta: g.dbeta } };
    });
  }
  if (m instanceof LayerNorm) {
    const { out, cache } = convnet.layernormForward(x, p.gamma!, p.beta!, { eps: m.eps });
    return leafRun(m, out, (d) => {
      const g = convnet.layernormBackward(d, cache);
      return { dx: g.dx, grads: { gamma: g.dgamma, beta: g.dbeta } };
    });
  }
  if (m instanceof GroupNorm) {
    const { out, cache } = convnet.spatialGroupnormForwardNaive(x, p.gamma!, p.beta!, m.groups, { eps: m.eps });
    return leafRun(m, out, (d) => {
      const g = convnet.spatialGroupnormBackwardNaive(d, cache);
      return { dx: g.dx, grads: { gamma: g.dgamma, beta: g.dbeta } };
    });
  }
  if (m instanceof Dropout) {
    // The reference module was built from the same seed: its generator draws the same masks.
    const source = m.fixedSeed === null ? { rng: m.generator } : { seed: m.fixedSeed };
    const { out, cache } = convnet.dropoutForward(x, { p: m.keep, mode, ...source });
    return leafRun(m, out, (d) => ({ dx: convnet.dropoutBackward(d, cache) }));
  }
  if (m instanceof Flatten) {
    const { out, cache } = convnet.flattenForward(x, 1);
    return leafRun(m, out, (d) => ({ dx: convnet.flattenBackward(d, cache) }));
  }
  if (m instanceof Sequential) {
    const runs: RefRun[] = [];
    let a = x;
    for (const child of m.layers) {
      const run = refRun(child, a, mode);
      runs.push(run);
      a = run.out;
    }
    return {
      out: a,
      back(dout) {
        let d = dout;
        const grads: RefGrads = new Map();
        for (let i = runs.length - 1; i >= 0; i--) {
          const g = runs[i]!.back(d);
          d = g.dx;
          for (const [k, v] of g.grads) grads.set(k, v);
        }
        return { dx: d, grads };
      },
    };
  }
  if (m instanceof Residual) {
    const body = refRun(m.body, x, mode);
    const skip = m.projection === null ? null : refRun(m.projection, x, mode);
    return {
      out: convnet.add(body.out, skip === null ? x : skip.out),
      back(dout) {
        const a = body.back(dout);
        const b = skip === null ? { dx: dout, grads: new Map() as RefGrads } : skip.back(dout);
        return { dx: convnet.add(a.dx, b.dx), grads: new Map([...a.grads, ...b.grads]) };
      },
    };
  }
  throw new Error(`fuzz: no reference for ${m.type}`);
}

/** The reference gradients keyed like gradsOf. */
function refGradsOf(m: Module, grads: RefGrads): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  walk(m).forEach((child, i) => {
    const g = grads.get(child);
    if (g !== undefined) for (const [local, t] of Object.entries(g)) out[`${i}:${child.type}.${local}`] = t;
  });
  return out;
}

/** The largest finite |value| in every tensor of a result. */
function largest(value: unknown): number {
  if (isTensorLike(value)) return Array.from(value.data as ArrayLike<number>).reduce((m, v) => (Number.isFinite(v) ? Math.max(m, Math.abs(v)) : m), 0);
  if (value !== null && typeof value === 'object') return Object.values(value).reduce((m: number, v) => Math.max(m, largest(v)), 0);
  return 0;
}

/**
 * Results against the reference: tensors as `differences` (the fast layers' tolerances); where
 * that fails, every value within 1e-9 (float64) or 1e-4 (float32) of the size of the terms the
 * result is made of (termScale, and the result's own largest value), as normBackwardCompare in
 * layerTargets.ts allows for one norm layer: composed layers carry one layer's rounding into
 * the next. Numbers (losses): 1e-9 or 1e-5 relative.
 */
function closeTo(dtype: DType): (got: unknown, want: unknown) => string[] {
  const tol = dtype === 'float64' ? 1e-9 : 1e-4;
  let scale = 0;
  const walkValues = (got: unknown, want: unknown, path: string): string[] => {
    if (isTensorLike(want)) {
      const diffs = differences(got, want, path);
      if (diffs.length === 0 || !isTensorLike(got) || shapeText(got.shape) !== shapeText(want.shape) || got.dtype !== want.dtype) return diffs;
      let worst = 0;
      for (let i = 0; i < want.data.length; i++) {
        const [a, b] = [got.data[i]!, want.data[i]!];
        if (Number.isNaN(a) !== Number.isNaN(b) || (!Number.isFinite(b) && !Number.isNaN(b) && a !== b)) return diffs;
        if (Number.isFinite(a) && Number.isFinite(b)) worst = Math.max(worst, Math.abs(a - b));
      }
      return worst <= tol * scale ? [] : diffs;
    }
    if (typeof want === 'number' && typeof got === 'number') {
      if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got) ? [] : [`${path}: ${got}, want ${want}`];
      const rel = dtype === 'float64' ? 1e-9 : 1e-5;
      return got === want || Math.abs(got - want) <= rel * Math.max(1, Math.abs(want)) ? [] : [`${path}: ${got}, want ${want}`];
    }
    if (want !== null && typeof want === 'object' && !Array.isArray(want) && got !== null && typeof got === 'object') {
      const keys = new Set([...Object.keys(got), ...Object.keys(want)]);
      return [...keys].flatMap((k) => walkValues((got as Options)[k], (want as Options)[k], `${path}.${k}`));
    }
    return differences(got, want, path);
  };
  return (got, want) => {
    scale = Math.max(largest(got), largest(want), termScale);
    return walkValues(got, want, 'result');
  };
}

// ---------------------------------------------------------------------------------------------
// valid modules and inputs

/**
 * A random tensor of a shape made from another argument's: when that one was huge-and-empty
 * (e.g. [2^31, 0]), a changed dimension makes it huge for real (e.g. [2^31, 1]); the mutation
 * is then not applicable (see mutate) rather than filling gigabytes.
 */
function derivedTensor(r: Rng, shape: number[], dtype: DType): Tensor {
  if (!(sizeOfShape(shape) <= 2 ** 16)) throw new Error(`not applicable: ${shapeText(shape)} is too large to fill`);
  return randomTensor(r, shape, dtype);
}

const MODES: Mode[] = ['train', 'test'];
const BAD_MODES: unknown[] = ['eval', 'Train', 'TEST', '', undefined, null, 1, true, {}, ['train']];
/**
 * Every norm's statistics are over at least 3 values: over 1 a norm's output is constant (and
 * the next norm divides rounding noise by √eps, twice over in float32), over 2 its gradient is
 * zero by definition and computed as noise: nothing to compare. Hence batches of 3 or 4 before
 * a batch norm, LayerNorm over 3+ features, GroupNorm over groups of 3+ values.
 */
const batch = (r: Rng, config?: Config): number => pick(r, config !== undefined && !hasBatchNorm(config) ? [1, 3, 4] : [3, 4]);

function hasBatchNorm(config: Config): boolean {
  return JSON.stringify(config).includes('"BatchNorm');
}

function pairOrNumber(r: Rng, h: number, w: number): number | [number, number] {
  return h === w && chance(r, 0.5) ? h : [h, w];
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

/** A module config of a type that accepts a sample of `shape`, or undefined if it cannot. */
function leafFor(r: Rng, type: string, shape: number[]): Config | undefined {
  const image = shape.length === 3;
  const [C, H, W] = shape as [number, number, number];
  switch (type) {
    case 'Conv2d': {
      if (!image) return undefined;
      const groups = C % 2 === 0 && chance(r, 0.3) ? 2 : 1;
      const F = groups * between(r, 1, 3);
      const [kh, kw] = [between(r, 1, 3), between(r, 1, 3)];
      const [sh, sw] = chance(r, 0.6) ? [1, 1] : [between(r, 1, 2), between(r, 1, 2)];
      const [dh, dw] = chance(r, 0.7) ? [1, 1] : [between(r, 1, 2), between(r, 1, 2)];
      const withPad = chance(r, 0.8);
      const pad = withPad ? (pick(r, [0, 1, [1, 0], [0, 1, 1, 0], Math.floor(kh / 2)]) as number | number[]) : 0;
      const p4 = typeof pad === 'number' ? [pad, pad, pad, pad] : pad.length === 2 ? [pad[0]!, pad[1]!, pad[0]!, pad[1]!] : pad;
      if (outLength(H, kh, sh, p4[0]!, p4[2]!, dh, false) < 1 || outLength(W, kw, sw, p4[1]!, p4[3]!, dw, false) < 1) return undefined;
      const c: Config = { type, inChannels: C, outChannels: F, kernelSize: pairOrNumber(r, kh, kw) };
      if (sh !== 1 || sw !== 1 || chance(r, 0.2)) c.stride = pairOrNumber(r, sh, sw);
      if (withPad) c.pad = pad;
      if (dh !== 1 || dw !== 1) c.dilation = pairOrNumber(r, dh, dw);
      if (groups !== 1 || chance(r, 0.2)) c.groups = groups;
      return c;
    }
    case 'Linear':
      return { type, inFeatures: sizeOfShape(shape), outFeatures: between(r, 1, 5) };
    case 'ReLU':
    case 'Flatten':
      return { type };
    case 'GlobalAvgPool':
    case 'GlobalMaxPool':
      return image ? { type } : undefined;
    case 'LeakyReLU':
      return chance(r, 0.3) ? { type } : { type, alpha: pick(r, [0.01, 0.2, 0, -0.5, 3]) };
    case 'Tanh':
    case 'Sigmoid':
      return { type };
    case 'ConvTranspose2d': {
      if (!image) return undefined;
      const groups = C % 2 === 0 && chance(r, 0.3) ? 2 : 1;
      const F = groups * between(r, 1, 3);
      const k = between(r, 1, 3);
      const stride = between(r, 1, 2);
      const c: Config = { type, inChannels: C, outChannels: F, kernelSize: k };
      if (stride !== 1) c.stride = stride;
      if (chance(r, 0.4) && k > 1) c.pad = 1;
      if (stride === 2 && chance(r, 0.4)) c.outputPadding = 1;
      if (groups !== 1) c.groups = groups;
      return c;
    }
    case 'Upsample':
      if (!image) return undefined;
      return chance(r, 0.5)
        ? { type, mode: 'nearest', scaleFactor: between(r, 1, 3) }
        : { type, mode: 'bilinear', size: [between(r, 1, 2 * H), between(r, 1, 2 * W)], alignCorners: chance(r, 0.5) };
    case 'GELU':
      return chance(r, 0.5) ? { type } : { type, approximate: pick(r, ['none', 'tanh']) };
    case 'ELU':
      return chance(r, 0.3) ? { type } : { type, alpha: pick(r, [1, 0.5, 2]) };
    case 'Dropout':
      return { type, keep: pick(r, [1, 0.5, 0.8, 0.25]) };
    case 'MaxPool2d':
    case 'AvgPool2d': {
      if (!image) return undefined;
      const plain = chance(r, 0.4);
      const [kh, kw] = plain ? [2, 2] : [between(r, 1, 3), between(r, 1, 3)];
      const [sh, sw] = plain ? [2, 2] : [between(r, 1, 3), between(r, 1, 3)];
      const p = plain ? 0 : r.int(Math.min(kh, kw));
      const [dh, dw] = plain || chance(r, 0.7) ? [1, 1] : [between(r, 1, 2), between(r, 1, 2)];
      const ceilMode = !plain && chance(r, 0.3);
      const Ho = outLength(H, kh, sh, p, p, dh, ceilMode);
      const Wo = outLength(W, kw, sw, p, p, dw, ceilMode);
      if (Ho < 1 || Wo < 1 || !windowsTouch(H, Ho, kh, sh, p, dh) || !windowsTouch(W, Wo, kw, sw, p, dw)) return undefined;
      const c: Config = { type, kernelSize: pairOrNumber(r, kh, kw) };
      if (sh !== kh || sw !== kw || chance(r, 0.3)) c.stride = pairOrNumber(r, sh, sw);
      if (p !== 0 || chance(r, 0.2)) c.pad = p;
      if (dh !== 1 || dw !== 1) c.dilation = pairOrNumber(r, dh, dw);
      if (ceilMode || chance(r, 0.2)) c.ceilMode = ceilMode;
      if (type === 'AvgPool2d' && chance(r, 0.5)) c.countIncludePad = chance(r, 0.5);
      return c;
    }
    case 'BatchNorm':
    case 'LayerNorm': {
      if (shape.length !== 1 || (type === 'LayerNorm' && shape[0]! < 3)) return undefined;
      const c: Config = { type, features: shape[0]! };
      if (chance(r, 0.4)) c.eps = pick(r, [1e-5, 1e-3, 0.1]);
      if (type === 'BatchNorm' && chance(r, 0.4)) c.momentum = pick(r, [0, 0.5, 0.9, 1]);
      return c;
    }
    case 'BatchNorm2d': {
      if (!image || H * W === 2) return undefined;
      const c: Config = { type, features: C };
      if (chance(r, 0.4)) c.eps = pick(r, [1e-5, 1e-3, 0.1]);
      if (chance(r, 0.4)) c.momentum = pick(r, [0, 0.5, 0.9, 1]);
      return c;
    }
    case 'GroupNorm': {
      if (!image) return undefined;
      const divisors = Array.from({ length: C }, (_, i) => i + 1).filter((g) => C % g === 0 && (C / g) * H * W >= 3);
      if (divisors.length === 0) return undefined;
      const c: Config = { type, channels: C, groups: pick(r, divisors) };
      if (chance(r, 0.4)) c.eps = pick(r, [1e-5, 1e-3, 0.1]);
      return c;
    }
  }
  return undefined;
}

/** A sample shape a leaf type accepts. */
function sampleFor(r: Rng, type: string): number[] {
  switch (type) {
    case 'Linear':
      return chance(r, 0.5) ? [between(r, 1, 6)] : [between(r, 1, 3), between(r, 1, 3), between(r, 1, 3)];
    case 'BatchNorm':
      return [pick(r, [1, 3, 4, 5])];
    case 'LayerNorm':
      return [pick(r, [3, 4, 5])];
    case 'ReLU':
    case 'LeakyReLU':
    case 'Tanh':
    case 'Sigmoid':
    case 'GELU':
    case 'ELU':
    case 'Dropout':
    case 'Flatten':
      return Array.from({ length: r.int(4) }, () => between(r, 1, 4));
    default:
      return [between(r, 1, 4), between(r, 2, 7), between(r, 2, 7)];
  }
}

/** The shape a config produces for a sample, by the module's own outputShape (checked against forward by every forward target). */
function shapeAfter(config: Config, shape: number[]): number[] | undefined {
  try {
    return construct(config, { dtype: 'float64' }).outputShape(shape);
  } catch (error) {
    if (error instanceof ConvnetError) return undefined;
    throw error;
  }
}

const IMAGE_TYPES = ['Conv2d', 'ReLU', 'LeakyReLU', 'MaxPool2d', 'AvgPool2d', 'BatchNorm2d', 'GroupNorm', 'Dropout', 'GlobalAvgPool', 'GlobalMaxPool', 'Flatten', 'Linear'];
const FLAT_TYPES = ['Linear', 'ReLU', 'LeakyReLU', 'BatchNorm', 'LayerNorm', 'Dropout', 'Flatten'];

/** A chain of 1..n layers from a sample shape (conv → relu (→ 2×2 max pool) runs now and then, to be fused). */
function chain(r: Rng, shape: number[], n: number, depth: number): { layers: Config[]; shape: number[] } {
  const layers: Config[] = [];
  let s = shape;
  while (layers.length < n) {
    if (s.length === 3 && chance(r, 0.25)) {
      const conv = leafFor(r, 'Conv2d', s);
      const after = conv && shapeAfter(conv, s);
      if (conv && after) {
        const pool: Config = { type: 'MaxPool2d', kernelSize: 2 };
        const pooled = chance(r, 0.5) ? shapeAfter(pool, after) : undefined;
        layers.push(conv, { type: 'ReLU' }, ...(pooled ? [pool] : []));
        s = pooled ?? after;
        continue;
      }
    }
    if (s.length === 3 && depth < 2 && chance(r, 0.12)) {
      const block = residual(r, s, depth + 1);
      layers.push(block.config);
      s = block.shape;
      continue;
    }
    const type = pick(r, s.length === 3 ? IMAGE_TYPES : FLAT_TYPES);
    const c = leafFor(r, type, s);
    const after = c && shapeAfter(c, s);
    if (!c || !after) continue;
    layers.push(c);
    s = after;
  }
  return { layers, shape: s };
}

function residual(r: Rng, shape: number[], depth: number): { config: Config; shape: number[] } {
  if (shape.length === 3) {
    const C = shape[0]!;
    const F = chance(r, 0.5) ? C : between(r, 1, 4);
    const conv: Config = { type: 'Conv2d', inChannels: C, outChannels: F, kernelSize: 3, pad: 1 };
    const rest = chain(r, shape.map((d, i) => (i === 0 ? F : d)), r.int(2), depth).layers.filter((c) => shapeAfter(c, [F, shape[1]!, shape[2]!])?.join() === [F, shape[1], shape[2]].join());
    const body: Config = { type: 'Sequential', layers: [conv, ...rest] };
    const projection = F !== C || chance(r, 0.2) ? { type: 'Conv2d', inChannels: C, outChannels: F, kernelSize: 1 } : null;
    return { config: { type: 'Residual', body, projection }, shape: [F, shape[1]!, shape[2]!] };
  }
  const D = sizeOfShape(shape);
  const body: Config = { type: 'Sequential', layers: [{ type: 'Linear', inFeatures: D, outFeatures: D }, { type: 'ReLU' }] };
  return { config: { type: 'Residual', body, projection: chance(r, 0.2) ? { type: 'Linear', inFeatures: D, outFeatures: D } : null }, shape: [D] };
}

/** A valid config of a type with a sample shape it takes. */
function validConfig(r: Rng, type: string): { config: Config; sample: number[] } {
  if (type === 'Sequential') {
    const sample = chance(r, 0.7) ? [between(r, 1, 3), between(r, 2, 6), between(r, 2, 6)] : [between(r, 1, 5)];
    return { config: { type, layers: chain(r, sample, between(r, 1, 4), 0).layers }, sample };
  }
  if (type === 'Residual') {
    const sample = chance(r, 0.7) ? [between(r, 1, 3), between(r, 2, 6), between(r, 2, 6)] : [between(r, 1, 5)];
    return { config: residual(r, sample, 0).config, sample };
  }
  for (;;) {
    const sample = sampleFor(r, type);
    const config = leafFor(r, type, sample);
    if (config) return { config, sample };
  }
}

function randomInit(r: Rng): { dtype: DType; seed: number } & InitOptions {
  const init: { dtype: DType; seed: number } & InitOptions = { dtype: randomDtype(r), seed: r.int(1000) };
  if (chance(r, 0.3)) init.weightScale = pick(r, ['he', 1e-2, 1]);
  return init;
}

// ---------------------------------------------------------------------------------------------
// mutations of a forward's or backward's arguments: [config, init, x, mode, ...]

const MODULE_TYPES = [...Object.keys(LEAVES), 'Sequential', 'Residual'];
/** Layer functions each module type calls (its errors may name them). */
const LAYER_NAMES: Record<string, string[]> = {
  Conv2d: ['convForward', 'convBackward'],
  Linear: ['affineForward', 'affineBackward'],
  ReLU: ['reluForward', 'reluBackward'],
  LeakyReLU: ['leakyReluForward', 'leakyReluBackward'],
  Tanh: ['tanhForward', 'tanhBackward'],
  ConvTranspose2d: ['convTransposeForward', 'convTransposeBackward'],
  Upsample: ['upsampleForward', 'upsampleBackward'],
  Sigmoid: ['sigmoidForward', 'sigmoidBackward'],
  GELU: ['geluForward', 'geluBackward'],
  ELU: ['eluForward', 'eluBackward'],
  MaxPool2d: ['maxPoolForward', 'maxPoolBackward'],
  AvgPool2d: ['avgPoolForward', 'avgPoolBackward'],
  GlobalAvgPool: ['globalAvgPoolForward', 'globalAvgPoolBackward'],
  GlobalMaxPool: ['globalMaxPoolForward', 'globalMaxPoolBackward'],
  BatchNorm: ['batchnormForward', 'batchnormBackward'],
  BatchNorm2d: ['spatialBatchnormForward', 'spatialBatchnormBackward'],
  LayerNorm: ['layernormForward', 'layernormBackward'],
  GroupNorm: ['spatialGroupnormForward', 'spatialGroupnormBackward'],
  Dropout: ['dropoutForward', 'dropoutBackward'],
  Flatten: ['flattenForward', 'flattenBackward', 'flatten'],
};
/** Containers pass on their children's errors, and the fused conv → relu (→ pool) calls'. */
const CONTAINER_NAMES = [
  ...Object.values(LAYER_NAMES).flat(),
  ...MODULE_TYPES.flatMap((t) => [`${t}.forward`, `${t}.backward`]),
  'convReluForwardFast', 'convReluBackwardFast', 'convReluPoolForwardFast', 'convReluPoolBackwardFast', 'add',
];
const errorNamesOf = (type: string): string[] =>
  type === 'Sequential' || type === 'Residual' ? CONTAINER_NAMES : [`${type}.forward`, `${type}.backward`, ...LAYER_NAMES[type]!];

/** Whether a type takes only a fixed rank and checks its channels / features. */
const CHECKS_CHANNELS = new Set(['Conv2d', 'ConvTranspose2d', 'Linear', 'BatchNorm', 'BatchNorm2d', 'LayerNorm', 'GroupNorm']);
const FIXED_RANK = new Set(['Conv2d', 'ConvTranspose2d', 'Upsample', 'MaxPool2d', 'AvgPool2d', 'GlobalAvgPool', 'GlobalMaxPool', 'BatchNorm', 'BatchNorm2d', 'GroupNorm']);

/** Breakages of the input at `slot` of a module of `type` (`params`: whether it has parameters, whose dtype x must have). */
function inputMutations(type: string, slot: number, name: string, params: boolean): Mutation[] {
  return [
    { name: `${name} not a tensor`, expect: 'error', apply: (r, a) => void (a[slot] = junk(r)) },
    {
      name: `${name} malformed`,
      expect: 'error',
      apply(r, a) {
        const m = malformedTensor(r, T(a[slot]));
        a[slot] = m.value;
        return m.note;
      },
    },
    {
      name: `${name} of another rank`,
      expect: FIXED_RANK.has(type) ? 'error' : 'either',
      apply(r, a) {
        a[slot] = wrongRank(r, T(a[slot]));
        return shapeText(T(a[slot]).shape);
      },
    },
    {
      name: `${name} with one channel / feature more`,
      expect: CHECKS_CHANNELS.has(type) ? 'error' : 'either',
      apply(r, a) {
        const t = T(a[slot]);
        if (t.shape.length < 2) throw new Error('no channel axis');
        const shape = t.shape.map((d, i) => (i === 1 ? d + 1 : d));
        a[slot] = derivedTensor(r, shape, t.dtype);
        return shapeText(shape);
      },
    },
    {
      name: `${name} of the other dtype`,
      expect: params ? 'error' : 'either',
      apply(r, a) {
        const t = T(a[slot]);
        a[slot] = derivedTensor(r, t.shape, otherDtype(t.dtype));
      },
    },
    {
      name: `${name} empty or huge-and-empty`,
      expect: 'either',
      apply(r, a) {
        const t = T(a[slot]);
        const shape = t.shape.length > 0 ? [...t.shape] : [1];
        const at = r.int(shape.length);
        shape[at] = 0;
        if (chance(r, 0.5) && shape.length > 1) shape[(at + 1 + r.int(shape.length - 1)) % shape.length] = pick(r, [2 ** 31, 2 ** 40]);
        a[slot] = randomTensor(r, shape, t.dtype);
        return shapeText(shape);
      },
    },
  ];
}
function forwardMutations(type: string, config: Config): Mutation[] {
  return [
    ...inputMutations(type, 2, 'x', hasParams(config)),
    { name: 'mode not train or test', expect: 'error', apply: (r, a) => void (a[3] = pick(r, BAD_MODES)) },
  ];
}

// ---------------------------------------------------------------------------------------------
// module targets

/** Checks of a forward's result: the module's outputShape and the params' dtype. */
function forwardCheck(result: unknown, c: FuzzCase): string[] {
  const [config, init, x] = c.args as [Config, { dtype: DType }, Tensor];
  const out = result as Tensor;
  const problems: string[] = [];
  if (!isTensorLike(x) || !Array.isArray(x.shape)) return [`returned for an x that is not a tensor: ${describe(x)}`];
  let want: number[] | undefined;
  try {
    want = [x.shape[0]!, ...construct(config, init).outputShape(x.shape.slice(1))];
  } catch (error) {
    return [`forward returned ${shapeText(out.shape)} but outputShape(${shapeText(x.shape.slice(1))}) threw ${error instanceof Error ? error.message : String(error)}`];
  }
  if (shapeText(out.shape) !== shapeText(want)) problems.push(`output shape ${shapeText(out.shape)}, want [N, ...outputShape] = ${shapeText(want)}`);
  if (hasParams(config) && out.dtype !== init.dtype) problems.push(`output dtype ${out.dtype}, want the params' ${init.dtype}`);
  return problems;
}

function forwardTarget(type: string): FuzzTarget {
  return {
    name: `${type}.forward`,
    errorNames: errorNamesOf(type),
    generate(r) {
      const { config, sample } = validConfig(r, type);
      const init = randomInit(r);
      const x = randomTensor(r, [batch(r, config), ...sample], init.dtype, randomFill(r));
      const args: Args = [config, init, x, pick(r, MODES)];
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid' };
      return { args, ...mutate(r, args, forwardMutations(type, config)) };
    },
    call: (config, init, x, mode) => construct(config as Config, init).forward(x as Tensor, mode as Mode),
    reference(config, init, x, mode) {
      termScale = 0;
      return refRun(construct(config as Config, init), x as Tensor, mode as Mode).out;
    },
    compare: (got, want, args) => closeTo((args[1] as { dtype: DType }).dtype)(got, want),
    check: forwardCheck,
  };
}

type Scenario = 'forward, backward' | 'backward first' | 'backward after a rejected forward';

function backwardMutations(type: string, config: Config): Mutation[] {
  return [
    {
      name: 'dout of another shape',
      expect: 'error',
      apply(r, a) {
        const d = T(a[4]);
        const shape = chance(r, 0.5) || d.shape.length === 0 ? wrongRank(r, d).shape : d.shape.map((v, i, s) => (i === r.int(s.length) ? v + 1 : v));
        if (shapeText(shape) === shapeText(d.shape)) shape.push(2);
        a[4] = derivedTensor(r, shape, d.dtype);
        return shapeText(shape);
      },
    },
    { name: 'dout of the other dtype', expect: 'error', apply: (r, a) => void (a[4] = derivedTensor(r, T(a[4]).shape, otherDtype(T(a[4]).dtype))) },
    { name: 'dout not a tensor', expect: 'error', apply: (r, a) => void (a[4] = junk(r)) },
    {
      name: 'dout malformed',
      expect: 'error',
      apply(r, a) {
        const m = malformedTensor(r, T(a[4]));
        a[4] = m.value;
        return m.note;
      },
    },
    { name: 'backward before any forward', expect: 'error', apply: (_r, a) => void (a[5] = 'backward first' satisfies Scenario) },
    {
      name: 'backward after a rejected forward',
      expect: 'error',
      apply(r, a) {
        // The last forward threw: there is nothing to differentiate (not the forward before it).
        a[5] = 'backward after a rejected forward' satisfies Scenario;
        // Rejected by every module: not a tensor, a malformed one, or x with a mode that is not one.
        a[6] = pick(r, [() => ({ x: junk(r), mode: a[3] }), () => ({ x: malformedTensor(r, T(a[2])).value, mode: a[3] }), () => ({ x: a[2], mode: pick(r, BAD_MODES) })])();
      },
    },
    ...forwardMutations(type, config).filter((m) => m.name === 'x empty or huge-and-empty'),
  ];
}

function backwardTarget(type: string): FuzzTarget {
  return {
    name: `${type}.backward`,
    errorNames: errorNamesOf(type),
    generate(r) {
      const { config, sample } = validConfig(r, type);
      const init = randomInit(r);
      const N = batch(r, config);
      const x = randomTensor(r, [N, ...sample], init.dtype, chance(r, 0.85) ? 'normal' : 'integers');
      const outShape = [N, ...construct(config, init).outputShape(sample)];
      const dtype = hasParams(config) ? init.dtype : x.dtype;
      const dout = randomTensor(r, outShape, dtype, chance(r, 0.9) ? 'normal' : 'integers');
      const args: Args = [config, init, x, pick(r, MODES), dout, 'forward, backward' satisfies Scenario];
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid' };
      return { args, ...mutate(r, args, backwardMutations(type, config)) };
    },
    call(config, init, x, mode, dout, scenario, bad) {
      const m = construct(config as Config, init);
      if (scenario !== 'backward first') m.forward(x as Tensor, mode as Mode);
      if (scenario === 'backward after a rejected forward') {
        const rejected = bad as { x: Tensor; mode: Mode };
        try {
          m.forward(rejected.x, rejected.mode);
        } catch (error) {
          if (!(error instanceof ConvnetError)) throw error;
        }
      }
      const dx = m.backward(dout as Tensor);
      return { dx, grads: gradsOf(m) };
    },
    reference(config, init, x, mode, dout, scenario) {
      termScale = 0;
      const m = construct(config as Config, init);
      if (scenario !== 'forward, backward') throw new ConvnetError('reference', String(scenario));
      const { dx, grads } = refRun(m, x as Tensor, mode as Mode).back(dout as Tensor);
      return { dx, grads: refGradsOf(m, grads) };
    },
    compare: (got, want, args) => closeTo((args[1] as { dtype: DType }).dtype)(got, want),
    check(result, c) {
      if (c.expect !== 'ok') return [];
      const [config, init, x] = c.args as [Config, InitOptions, Tensor];
      const { dx, grads } = result as { dx: Tensor; grads: Record<string, Tensor> };
      const problems: string[] = [];
      if (shapeText(dx.shape) !== shapeText(x.shape) || dx.dtype !== x.dtype) problems.push(`dx ${dx.dtype} ${shapeText(dx.shape)}, want x's ${x.dtype} ${shapeText(x.shape)}`);
      const want = paramShapesOf(construct(config, init));
      if (shapeText(Object.keys(grads).sort()) !== shapeText(Object.keys(want).sort())) problems.push(`gradients for ${shapeText(Object.keys(grads))}, want one per param ${shapeText(Object.keys(want))}`);
      for (const [k, s] of Object.entries(want)) if (grads[k] && shapeText(grads[k]!.shape) !== shapeText(s)) problems.push(`grad ${k} of shape ${shapeText(grads[k]!.shape)}, want the param's ${shapeText(s)}`);
      return problems;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// constructors

interface OptionField {
  name: string;
  /** An invalid value. */
  bad(r: Rng, options: Options): unknown;
}

const hugeOr = (r: Rng, bad: (r: Rng) => unknown): unknown => (chance(r, 0.4) ? pick(r, HUGE_SIZES) : bad(r));
const windowField = (name: string): OptionField => ({ name, bad: (r) => (chance(r, 0.7) ? badPositiveInteger(r) : pick(r, [[1], [1, 2, 3], [1, 0], [2, 1.5], [Number.NaN, 1]])) });
const epsField: OptionField = { name: 'eps', bad: (r) => pick(r, [0, -1e-5, Number.NaN, Infinity, '1e-5', null, -0]) };

/** Fields whose invalid values each module must reject (values 'huge' are sizes no parameter tensor may have). */
const FIELDS: Record<string, OptionField[]> = {
  Conv2d: [
    { name: 'inChannels', bad: (r) => hugeOr(r, badPositiveInteger) },
    { name: 'outChannels', bad: (r) => hugeOr(r, badPositiveInteger) },
    { name: 'kernelSize', bad: (r) => (chance(r, 0.3) ? pick(r, [[2 ** 16, 2 ** 16], [2 ** 31, 1], 2 ** 20, undefined]) : badPositiveInteger(r)) },
    windowField('stride'),
    { name: 'pad', bad: badNonNegativeInteger },
    windowField('dilation'),
    { name: 'groups', bad: (r, o) => (chance(r, 0.5) ? badPositiveInteger(r) : (o.inChannels as number) + 1) },
  ],
  Linear: [
    { name: 'inFeatures', bad: (r) => hugeOr(r, badPositiveInteger) },
    { name: 'outFeatures', bad: (r) => hugeOr(r, badPositiveInteger) },
  ],
  LeakyReLU: [{ name: 'alpha', bad: badFinite }],
  GELU: [{ name: 'approximate', bad: (r) => pick(r, ['erf', 'Tanh', '', null, 1, {}]) }],
  ELU: [{ name: 'alpha', bad: badFinite }],
  MaxPool2d: [{ name: 'kernelSize', bad: (r) => (chance(r, 0.2) ? undefined : badPositiveInteger(r)) }, windowField('stride'), { name: 'pad', bad: badNonNegativeInteger }, windowField('dilation'), { name: 'ceilMode', bad: (r) => pick(r, [1, 0, 'yes', null, {}]) }],
  AvgPool2d: [{ name: 'kernelSize', bad: (r) => (chance(r, 0.2) ? undefined : badPositiveInteger(r)) }, windowField('stride'), { name: 'pad', bad: badNonNegativeInteger }, { name: 'countIncludePad', bad: (r) => pick(r, [1, 0, 'yes', null, {}]) }],
  BatchNorm: [{ name: 'features', bad: (r) => hugeOr(r, badPositiveInteger) }, epsField, { name: 'momentum', bad: (r) => pick(r, [2, -0.1, Number.NaN, Infinity, '0.9', null]) }],
  BatchNorm2d: [{ name: 'features', bad: (r) => hugeOr(r, badPositiveInteger) }, epsField, { name: 'momentum', bad: (r) => pick(r, [2, -0.1, Number.NaN, '0.9', null]) }],
  LayerNorm: [{ name: 'features', bad: (r) => hugeOr(r, badPositiveInteger) }, epsField],
  GroupNorm: [{ name: 'channels', bad: (r) => hugeOr(r, badPositiveInteger) }, { name: 'groups', bad: (r, o) => (chance(r, 0.5) ? badPositiveInteger(r) : (o.channels as number) + 1) }, epsField],
  Dropout: [{ name: 'keep', bad: (r) => pick(r, [0, -0.5, 1.5, Number.NaN, Infinity, '0.5', null, undefined]) }],
};

/** Options every module has to have (no options at all must then be rejected). */
const REQUIRED = new Set(['Conv2d', 'Linear', 'MaxPool2d', 'AvgPool2d', 'BatchNorm', 'BatchNorm2d', 'LayerNorm', 'GroupNorm', 'Dropout']);

function initMutations(): Mutation[] {
  return [
    { name: 'init not an object', expect: 'either', apply: (r, a) => void (a[1] = junk(r)) },
    { name: 'init.dtype invalid', expect: 'error', apply: (r, a) => void (a[1] = { ...(a[1] as Options), dtype: pick(r, ['float16', 'int32', 1, 'Float32']) }) },
    { name: 'init.seed invalid', expect: 'error', apply: (r, a) => void (a[1] = { ...(a[1] as Options), seed: pick(r, [Number.NaN, 1.5, 'x', null, Infinity, {}]) }) },
    { name: 'init.generator not a generator', expect: 'error', apply: (r, a) => void (a[1] = { ...(a[1] as Options), generator: pick(r, [5, 'rng', {}, { normal: 1 }, [], () => 1]) }) },
    { name: 'init.weightScale invalid', expect: 'error', apply: (r, a) => void (a[1] = { ...(a[1] as Options), weightScale: pick(r, [0, -1, Number.NaN, Infinity, 'xavier']) }) },
    { name: 'init with an unknown key', expect: 'error', apply: (r, a) => void (a[1] = { ...(a[1] as Options), [pick(r, ['dtyp', 'scale', 'rng'])]: 'float64' }) },
  ];
}

function constructorMutations(type: string): Mutation[] {
  const fields = FIELDS[type] ?? [];
  const out: Mutation[] = [
    { name: 'options left out', expect: REQUIRED.has(type) ? 'error' : 'either', apply: (_r, a) => void (a[0] = undefined) },
    { name: 'options not an object', expect: REQUIRED.has(type) ? 'error' : 'either', apply: (r, a) => void (a[0] = junk(r)) },
    { name: 'an unknown option', expect: 'error', apply: (r, a) => void (a[0] = { ...(a[0] as Options), [pick(r, ['size', 'kernel_size', 'bias', 'p', 'inchannels'])]: 1 }) },
    { name: 'options naming another type', expect: 'error', apply: (r, a) => void (a[0] = { ...(a[0] as Options), type: pick(r, ['Linear', 'Conv2d', 'relu', 1].filter((t) => t !== type)) }) },
    ...fields.map(
      (f): Mutation => ({
        name: `${f.name} invalid`,
        expect: 'error',
        apply(r, a) {
          const o = { ...(a[0] as Options) };
          o[f.name] = f.bad(r, o);
          a[0] = o;
          return `${f.name} = ${describe(o[f.name])}`;
        },
      }),
    ),
  ];
  if (type === 'MaxPool2d' || type === 'AvgPool2d') {
    out.push({
      name: 'huge window (no parameters to allocate)',
      expect: 'either',
      apply(r, a) {
        a[0] = { ...(a[0] as Options), kernelSize: pick(r, [2 ** 20, 2 ** 30, [2 ** 20, 1]]), pad: pick(r, [undefined, 2 ** 20 - 1]) };
      },
    });
  }
  if (type === 'Conv2d') {
    out.push({
      name: 'huge window (a weight of more than 2^27 values)',
      expect: 'error',
      apply(r, a) {
        a[0] = { ...(a[0] as Options), kernelSize: pick(r, [2 ** 30, [2 ** 30, 1], [2 ** 14, 2 ** 14]]), pad: pick(r, [undefined, 2 ** 20 - 1]) };
      },
    });
  }
  if (LEAVES[type]!.init) out.push(...initMutations());
  return out;
}

/** A constructor's result, as plain data the harness can check: params, buffers, config, label. */
function described(m: Module): unknown {
  return { params: { ...m.params }, buffers: { ...m.buffers }, config: m.config, label: m.label };
}

/** A module's config must be JSON from which buildModule makes the same architecture (and parameter shapes). */
function configCheck(result: unknown, c: FuzzCase): string[] {
  const { params, config } = result as { params: Record<string, Tensor>; config: ModuleConfig };
  const problems: string[] = [];
  const json = JSON.stringify(config);
  if (JSON.stringify(JSON.parse(json)) !== json) problems.push('config is not JSON');
  try {
    const rebuilt = convnet.buildModule(config, { dtype: 'float64' });
    if (JSON.stringify(rebuilt.config) !== json) problems.push(`buildModule(config).config is ${JSON.stringify(rebuilt.config)}, want ${json}`);
    const shapes = Object.fromEntries(Object.entries(rebuilt.params).map(([k, v]) => [k, v.shape]));
    const got = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.shape]));
    if (shapeText(shapes) !== shapeText(got)) problems.push(`params ${shapeText(got)}, but buildModule(config) has ${shapeText(shapes)}`);
  } catch (error) {
    problems.push(`buildModule(config) threw ${error instanceof Error ? error.message : String(error)}`);
  }
  if (c.expected !== undefined) {
    const got = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.shape]));
    if (shapeText(got) !== shapeText(c.expected)) problems.push(`params ${shapeText(got)}, want ${shapeText(c.expected)}`);
  }
  return problems;
}

function expectedParams(config: Config): Record<string, number[]> | undefined {
  const o = config as Record<string, number | number[]>;
  const pair = (v: number | number[]): number[] => (typeof v === 'number' ? [v, v] : v);
  switch (config.type) {
    case 'Conv2d': {
      const [kh, kw] = pair(o.kernelSize!);
      return { weight: [o.outChannels as number, (o.inChannels as number) / ((o.groups as number | undefined) ?? 1), kh!, kw!], bias: [o.outChannels as number] };
    }
    case 'ConvTranspose2d': {
      // PyTorch's and ONNX's layout: (C, F / groups, kH, kW).
      const [kh, kw] = pair(o.kernelSize!);
      return { weight: [o.inChannels as number, (o.outChannels as number) / ((o.groups as number | undefined) ?? 1), kh!, kw!], bias: [o.outChannels as number] };
    }
    case 'Linear':
      return { weight: [o.inFeatures as number, o.outFeatures as number], bias: [o.outFeatures as number] };
    case 'BatchNorm':
    case 'BatchNorm2d':
    case 'LayerNorm':
      return { gamma: [o.features as number], beta: [o.features as number] };
    case 'GroupNorm':
      return { gamma: [1, o.channels as number, 1, 1], beta: [1, o.channels as number, 1, 1] };
    default:
      return {};
  }
}

function leafConstructorTarget(type: string): FuzzTarget {
  const leaf = LEAVES[type]!;
  return {
    name: `new ${type}`,
    errorNames: [type],
    generate(r) {
      const { config } = validConfig(r, type);
      const { type: _type, ...options } = config;
      const args: Args = leaf.init ? [options, randomInit(r)] : [options];
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid', expected: expectedParams(config) };
      return { args, ...mutate(r, args, constructorMutations(type)) };
    },
    call: (options, init) => described(leaf.make(options, init)),
    check: configCheck,
  };
}

function containerConstructorTarget(type: 'Sequential' | 'Residual'): FuzzTarget {
  const modules = (r: Rng, n: number): Module[] => Array.from({ length: n }, () => construct(validConfig(r, pick(r, Object.keys(LEAVES))).config, { dtype: 'float64' }));
  const mutations: Mutation[] =
    type === 'Sequential'
      ? [
          { name: 'layers not an array', expect: 'error', apply: (r, a) => void (a[0] = ((j) => (Array.isArray(j) ? 'layers' : j))(junk(r))) },
          { name: 'a layer not a module', expect: 'error', apply: (r, a) => void (a[0] = [...(a[0] as Module[]), pick(r, [{ type: 'ReLU' }, null, 1, 'relu', () => 1, new Map()])]) },
          {
            name: 'the same module twice',
            expect: 'error',
            apply(r, a) {
              // One module's cache would serve two places in the chain: backward would be wrong.
              const layers = a[0] as Module[];
              const m = pick(r, layers);
              a[0] = chance(r, 0.5) ? [...layers, m] : [...layers, new Sequential([m])];
            },
          },
          { name: 'options not an object', expect: 'either', apply: (r, a) => void (a[1] = junk(r)) },
          { name: 'options.fuse not a boolean', expect: 'error', apply: (r, a) => void (a[1] = { fuse: pick(r, [1, 'yes', null]) }) },
          { name: 'an unknown option', expect: 'error', apply: (_r, a) => void (a[1] = { fusion: true }) },
        ]
      : [
          { name: 'options not an object', expect: 'error', apply: (r, a) => void (a[0] = junk(r)) },
          { name: 'body not a module', expect: 'error', apply: (r, a) => void (a[0] = { ...(a[0] as Options), body: junk(r) }) },
          { name: 'projection not a module', expect: 'error', apply: (r, a) => void (a[0] = { ...(a[0] as Options), projection: pick(r, [1, 'conv', {}, [], true]) }) },
          { name: 'projection the body itself', expect: 'error', apply: (_r, a) => void (a[0] = { ...(a[0] as Options), projection: (a[0] as Options).body }) },
          { name: 'an unknown option', expect: 'error', apply: (_r, a) => void (a[0] = { ...(a[0] as Options), skip: null }) },
        ];
  return {
    name: `new ${type}`,
    errorNames: [type],
    generate(r) {
      const args: Args =
        type === 'Sequential'
          ? [modules(r, r.int(4)), chance(r, 0.5) ? undefined : { fuse: chance(r, 0.5) }]
          : [{ body: modules(r, 1)[0], projection: chance(r, 0.5) ? null : modules(r, 1)[0] }];
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid' };
      return { args, ...mutate(r, args, mutations) };
    },
    call: (a, b) => described(type === 'Sequential' ? new Sequential(a as Module[], b as never) : new Residual(a as never)),
    check: configCheck,
  };
}

/** Deeply nested Sequential configs, as JSON text (a model file's): the depth no stack can hold. */
function deepConfig(r: Rng): string {
  const depth = pick(r, [50, 200, 5000, 100_000]);
  const inner = JSON.stringify({ type: 'ReLU' });
  const open = chance(r, 0.5) ? '{"type":"Sequential","layers":[' : '{"type":"Residual","projection":null,"body":';
  const close = open.endsWith('[') ? ']}' : '}';
  return open.repeat(depth) + inner + close.repeat(depth);
}

function buildModuleTarget(): FuzzTarget {
  const mutations: Mutation[] = [
    { name: 'config not an object', expect: 'error', apply: (r, a) => void (a[0] = junk(r)) },
    { name: 'an unknown type', expect: 'error', apply: (r, a) => void (a[0] = { ...(a[0] as Options), type: pick(r, ['Conv', 'conv2d', 'Softmax', '', null, 1, ['ReLU'], {}]) }) },
    { name: 'no type', expect: 'error', apply: (_r, a) => void (delete (a[0] as Options).type) },
    { name: 'an unknown option', expect: 'error', apply: (_r, a) => void (a[0] = { ...(a[0] as Options), extra: 1 }) },
    {
      name: 'nested garbage',
      expect: 'error',
      apply(r, a) {
        const garbage = pick(r, [() => junk(r), () => ({ type: 'Sequential', layers: [junk(r)] }), () => ({ type: 'Sequential', layers: 'ReLU' }), () => ({ type: 'Residual', body: { type: 'Nope' } }), () => ({ type: 'Linear', inFeatures: 2 ** 40, outFeatures: 2 ** 40 })])();
        a[0] = { type: 'Sequential', layers: [a[0], garbage] };
        return describe(garbage);
      },
    },
    { name: 'deeply nested (JSON text)', expect: 'either', apply: (r, a) => void (a[0] = { json: deepConfig(r) }) },
    { name: 'a cycle (not JSON: a config object)', expect: 'error', apply: (_r, a) => void (a[0] = { cycle: true }) },
    ...initMutations(),
  ];
  return {
    name: 'buildModule',
    errorNames: ['buildModule', ...MODULE_TYPES],
    generate(r) {
      const { config } = validConfig(r, pick(r, MODULE_TYPES));
      const args: Args = [config, randomInit(r)];
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid' };
      return { args, ...mutate(r, args, mutations) };
    },
    call(config, init) {
      let c = config as Options;
      if (c !== null && typeof c === 'object' && typeof c.json === 'string') c = JSON.parse(c.json) as Options;
      else if (c !== null && typeof c === 'object' && c.cycle === true) {
        const cyclic: Options = { type: 'Sequential', layers: [] };
        (cyclic.layers as unknown[]).push(cyclic);
        c = cyclic;
      }
      return described(convnet.buildModule(c as ModuleConfig, init as InitOptions));
    },
    check(result, c) {
      const problems = configCheck(result, { ...c, expected: undefined });
      const config = c.args[0] as Options;
      if (c.expect === 'ok' && JSON.stringify((result as { config: unknown }).config) !== JSON.stringify(construct(config as Config, { dtype: 'float64' }).config)) {
        problems.push('the built module differs from the one the constructors make of the config');
      }
      return problems;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// models

type ModelKind = 'ThreeLayerConvNet' | 'FullyConnectedNet' | 'ConvNet' | 'Network';

/** Valid model options of a kind (small), with the sample shape. */
function modelOptions(r: Rng, kind: ModelKind): { options: Options; sample: number[] } {
  const common = (o: Options): Options => {
    if (chance(r, 0.5)) o.dtype = randomDtype(r);
    if (chance(r, 0.5)) o.seed = r.int(1000);
    if (chance(r, 0.3)) o.reg = pick(r, [0, 0.1, 1e-3]);
    return o;
  };
  switch (kind) {
    case 'ThreeLayerConvNet': {
      const inputDim = [between(r, 1, 3), between(r, 2, 7), between(r, 2, 7)];
      const o = common({ inputDim, numFilters: between(r, 1, 4), filterSize: pick(r, [1, 3, 5]), hiddenDim: between(r, 1, 6), numClasses: between(r, 2, 5) });
      if (chance(r, 0.3)) o.weightScale = pick(r, ['he', 1e-2, 1]);
      return { options: o, sample: inputDim };
    }
    case 'FullyConnectedNet': {
      const inputDim = chance(r, 0.5) ? between(r, 1, 6) : [between(r, 1, 3), between(r, 1, 3), between(r, 1, 3)];
      const o = common({ hiddenDims: Array.from({ length: r.int(3) }, () => pick(r, [3, 4, 5])), inputDim, numClasses: between(r, 2, 5) });
      if (chance(r, 0.4)) o.normalization = pick(r, ['batchnorm', 'layernorm', null]);
      if (chance(r, 0.3)) o.dropoutKeepRatio = pick(r, [1, 0.5, 0.9]);
      if (chance(r, 0.3)) o.weightScale = pick(r, ['he', 1e-2, 1]);
      return { options: o, sample: typeof inputDim === 'number' ? [inputDim] : inputDim };
    }
    case 'ConvNet': {
      // Not every spec of these pieces fits its input (pools shrink it): draw until one builds.
      for (let attempt = 0; attempt < 50; attempt++) {
        const inputDim = [between(r, 1, 3), between(r, 4, 8), between(r, 4, 8)];
        const numClasses = between(r, 2, 5);
        const blocks = ['conv(2,3)', 'conv(3,1)', 'relu', 'lrelu', 'bn', 'gn(1)', 'pool', 'avgpool(2)', 'maxpool(2,1)', 'dropout(0.5)', '[conv(2,3)-relu]x2'];
        const body = Array.from({ length: r.int(4) }, () => pick(r, blocks));
        const tail = pick(r, [[], ['gap'], ['fc(4)', 'relu'], ['fc(3)', 'bn', 'relu'], ['fc(5)', 'ln']]);
        const o = common({ spec: [...body, ...tail, `fc(${numClasses})`].join('-'), inputDim, numClasses });
        if (chance(r, 0.3)) o.weightScale = pick(r, ['he', 1e-2]);
        try {
          new ConvNet(o as never);
        } catch (error) {
          if (error instanceof ConvnetError) continue;
          throw error;
        }
        return { options: o, sample: inputDim };
      }
      throw new Error('fuzz: no ConvNet spec built in 50 draws');
    }
    case 'Network': {
      const sample = chance(r, 0.6) ? [between(r, 1, 3), between(r, 2, 6), between(r, 2, 6)] : [between(r, 1, 5)];
      const { layers, shape } = chain(r, sample, r.int(3), 0);
      const numClasses = between(r, 2, 5);
      const module: Config = { type: 'Sequential', layers: [...layers, { type: 'Linear', inFeatures: sizeOfShape(shape), outFeatures: numClasses }] };
      const o: Options = { module, init: randomInit(r), inputShape: sample };
      if (chance(r, 0.3)) o.reg = pick(r, [0, 0.1]);
      return { options: o, sample };
    }
  }
}

function makeModel(kind: ModelKind, options: unknown): Network {
  switch (kind) {
    case 'ThreeLayerConvNet':
      return new ThreeLayerConvNet(options as never);
    case 'FullyConnectedNet':
      return new FullyConnectedNet(options as never);
    case 'ConvNet':
      return new ConvNet(options as never);
    case 'Network': {
      // Arguments are plain data: the module is built from its config here (see the file's header).
      const o = options as Options;
      const module = o !== null && typeof o === 'object' && o.module !== null && typeof o.module === 'object' && 'type' in (o.module as object) ? construct(o.module as Config, o.init) : o?.module;
      const { init: _init, ...rest } = (o ?? {}) as Options;
      return new Network({ ...rest, module } as never);
    }
  }
}

/** A model's constructor passes on its modules' errors (their options, and outputShape of the input). */
const MODEL_ERRORS = [...Object.keys(LEAVES), 'Sequential', 'Residual'];

function modelMutations(kind: ModelKind): Mutation[] {
  const set = (name: string, expect: Exclude<Expect, 'ok'>, value: (r: Rng, o: Options) => unknown): Mutation => ({
    name: `${name} invalid`,
    expect,
    apply(r, a) {
      const o = { ...(a[0] as Options) };
      o[name] = value(r, o);
      a[0] = o;
      return `${name} = ${describe(o[name])}`;
    },
  });
  const out: Mutation[] = [
    { name: 'options not an object', expect: kind === 'ThreeLayerConvNet' ? 'either' : 'error', apply: (r, a) => void (a[0] = junk(r)) },
    { name: 'an unknown option', expect: 'error', apply: (r, a) => void (a[0] = { ...(a[0] as Options), [pick(r, ['numFilter', 'hidden_dims', 'lr', 'kind2'])]: 3 }) },
    set('reg', 'error', (r) => pick(r, [-1, Number.NaN, Infinity, '0.1', null])),
  ];
  if (kind !== 'Network') {
    out.push(
      set('dtype', 'error', (r) => pick(r, ['float16', 1, null, 'Float64'])),
      set('seed', 'error', (r) => pick(r, [1.5, Number.NaN, '1', null, Infinity])),
      set('numClasses', 'error', (r) => pick(r, [1, 0, -3, 2.5, Number.NaN, ...HUGE_SIZES])),
      set('weightScale', 'error', (r) => pick(r, [0, -1, Number.NaN, Infinity, 'xavier', null])),
    );
  }
  if (kind === 'ThreeLayerConvNet') {
    out.push(
      set('inputDim', 'error', (r) => pick(r, [[3, 32], [0, 4, 4], [1, 1, 1], 'x', [1.5, 4, 4]])),
      set('inputDim', 'either', (r) => pick(r, [[1, 2 ** 31, 2 ** 31], [2 ** 40, 4, 4]])),
      set('numFilters', 'error', (r) => hugeOr(r, badPositiveInteger)),
      set('filterSize', 'error', (r) => pick(r, [2, 0, -1, 1.5, 2 ** 31 + 1, Number.NaN])),
      set('hiddenDim', 'error', (r) => hugeOr(r, badPositiveInteger)),
    );
  }
  if (kind === 'FullyConnectedNet') {
    out.push(
      set('hiddenDims', 'error', (r) => pick(r, [undefined, 3, [0], [1.5], [Number.NaN], 'x', [2 ** 40], [2 ** 31, 2 ** 31], Array.from({ length: 1_000_000 }, () => 1)])),
      set('inputDim', 'error', (r) => pick(r, [0, -1, [], [2, 0], 'x', 2 ** 40, [2 ** 20, 2 ** 20]])), // (the first Linear's weight: 2^40 · hidden values)
      set('normalization', 'error', (r) => pick(r, ['bn', 'batch', 1, true])),
      set('dropoutKeepRatio', 'error', (r) => pick(r, [0, -0.5, 1.5, Number.NaN, '0.5'])),
    );
  }
  if (kind === 'ConvNet') {
    out.push(
      set('spec', 'error', (r) =>
        pick(r, ['', 'conv(2)', 'fc(10', 'relu--fc(2)', '[relu]x0-fc(2)', '[relu]x100000000-fc(2)', '[[relu]x100000]x100000-fc(2)', '[relu]x1000000000000000000000-fc(2)', `${'['.repeat(5000)}relu${']x1'.repeat(5000)}-fc(2)`, 'conv(1000000000,3)-fc(2)', 'fc(1099511627776)-fc(2)', 'conv(2,2)-fc(2)', 'pool-pool-pool-pool-fc(2)', 5, null]),
      ),
      set('inputDim', 'error', (r) => pick(r, [[3, 32], [0, 4, 4], 'x', [1, 4, 4.5]])),
      // Huge inputs need no huge parameters without an fc after them: either outcome (but cheaply).
      set('inputDim', 'either', (r) => pick(r, [[1, 2 ** 31, 2 ** 31], [2 ** 40, 4, 4]])),
    );
  }
  if (kind === 'Network') {
    out.push(
      set('module', 'error', (r) => pick(r, [null, 1, 'Sequential', {}, () => 1])),
      set('inputShape', 'error', (r) => pick(r, [[], [0], [-1], [1.5], 'x', null, [2 ** 31, 2 ** 31]])),
      {
        name: 'module not ending in class scores (a 2-D output)',
        expect: 'error',
        apply: (_r, a) => void (a[0] = { ...(a[0] as Options), module: { type: 'ReLU' }, inputShape: [2, 3] }),
      },
    );
  }
  return out;
}

function modelConstructorTarget(kind: ModelKind): FuzzTarget {
  return {
    name: `new ${kind}`,
    errorNames: [kind, ...MODEL_ERRORS, 'parseSpec'],
    generate(r) {
      const { options } = modelOptions(r, kind);
      const args: Args = [options];
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid' };
      return { args, ...mutate(r, args, modelMutations(kind)) };
    },
    call: (options) => {
      const m = makeModel(kind, options);
      return { params: { ...m.params }, buffers: { ...m.buffers }, config: m.config, numClasses: m.numClasses, summary: m.summary() };
    },
    check(result) {
      // The config rebuilds the same architecture: same parameter names and shapes.
      const { params, config } = result as { params: Record<string, Tensor>; config: convnet.ModelConfig };
      const rebuilt = convnet.buildModel(JSON.parse(JSON.stringify(config)) as convnet.ModelConfig);
      const a = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.shape]));
      const b = Object.fromEntries(Object.entries(rebuilt.params).map(([k, v]) => [k, v.shape]));
      return shapeText(a) === shapeText(b) ? [] : [`buildModel(config) has params ${shapeText(b)}, want ${shapeText(a)}`];
    },
  };
}

function buildModelTarget(): FuzzTarget {
  const kinds: ModelKind[] = ['ThreeLayerConvNet', 'FullyConnectedNet', 'ConvNet', 'Network'];
  const mutations: Mutation[] = [
    { name: 'config not an object', expect: 'error', apply: (r, a) => void (a[0] = junk(r)) },
    { name: 'an unknown kind', expect: 'error', apply: (r, a) => void (a[0] = { ...(a[0] as Options), kind: pick(r, ['Net', 'convnet', '', null, 1, {}]) }) },
    { name: 'an unknown option', expect: 'error', apply: (_r, a) => void (a[0] = { ...(a[0] as Options), extra: 1 }) },
    {
      name: 'a Network with a garbage module',
      expect: 'error',
      apply: (r, a) => void (a[0] = { kind: 'Network', inputShape: [3], module: pick(r, [null, { type: 'Nope' }, { type: 'Sequential', layers: [1] }, [], { type: 'Linear', inFeatures: 2 ** 40, outFeatures: 2 }]) }),
    },
    {
      name: 'a Network deeply nested (JSON text)',
      expect: 'either',
      apply: (r, a) => void (a[0] = { json: `{"kind":"Network","inputShape":[3],"module":${deepConfig(r)}}` }),
    },
  ];
  return {
    name: 'buildModel',
    errorNames: ['buildModel', 'buildModule', 'Network', ...kinds, ...MODEL_ERRORS, 'parseSpec', 'ReLU', 'Residual'],
    generate(r) {
      const kind = pick(r, kinds);
      const { options } = modelOptions(r, kind);
      const config = makeModel(kind, options).config;
      const args: Args = [config];
      if (chance(r, VALID)) return { args, expect: 'ok', note: `valid (${kind})` };
      return { args, ...mutate(r, args, mutations) };
    },
    call(config) {
      const c = config as Options;
      const parsed = c !== null && typeof c === 'object' && typeof c.json === 'string' ? (JSON.parse(c.json) as Options) : c;
      const m = convnet.buildModel(parsed as convnet.ModelConfig);
      return { params: { ...m.params }, config: m.config };
    },
    check(result, c) {
      if (c.expect !== 'ok') return [];
      const got = JSON.stringify((result as { config: unknown }).config);
      return got === JSON.stringify(c.args[0]) ? [] : [`buildModel(config).config is ${got}, want the config given`];
    },
  };
}

/** Arguments of a model method: [kind options, X, third]; the model is built from the options in the call. */
function modelMethodTarget(kind: ModelKind, method: 'forward' | 'loss' | 'inputGradient'): FuzzTarget {
  const name = kind === 'Network' ? 'Network' : kind;
  const xMutations: Mutation[] = inputMutations('Conv2d', 1, 'X', true).map((m) =>
    m.name === 'X empty or huge-and-empty' ? m : m.name === 'X of another rank' || m.name === 'X with one channel / feature more' ? { ...m, expect: 'error' as const } : m,
  );
  const thirdMutations: Mutation[] =
    method === 'forward'
      ? [
          // (null and undefined mean the default, test)
          { name: 'options.mode not train or test', expect: 'error', apply: (r, a) => void (a[2] = { mode: pick(r, BAD_MODES.filter((m) => m !== undefined && m !== null)) }) },
          { name: 'options a mode string, not { mode }', expect: 'error', apply: (r, a) => void (a[2] = pick(r, ['train', 'test'])) },
          { name: 'options not an object', expect: 'error', apply: (r, a) => void (a[2] = pick(r, [1, true, 'eval', [], () => 1])) },
        ]
      : method === 'loss'
        ? [
            { name: 'y of the wrong length', expect: 'error', apply: (_r, a) => void (a[2] = [...(a[2] as number[]), 0]) },
            { name: 'a label out of range', expect: 'error', apply: (r, a) => void (a[2] = (a[2] as number[]).map((v, i) => (i === 0 ? pick(r, [-1, 99, 1.5, Number.NaN]) : v))) },
            { name: 'y not labels', expect: 'error', apply: (r, a) => void (a[2] = pick(r, [null, 'ab', {}, 1, [[0]], new Float64Array([0.5])])) },
          ]
        : [
            { name: 'dscores of the wrong shape', expect: 'error', apply: (r, a) => void (a[2] = derivedTensor(r, [...T(a[2]).shape, 1], T(a[2]).dtype)) },
            { name: 'dscores of the other dtype', expect: 'error', apply: (r, a) => void (a[2] = derivedTensor(r, T(a[2]).shape, otherDtype(T(a[2]).dtype))) },
            { name: 'dscores not a tensor', expect: 'error', apply: (r, a) => void (a[2] = junk(r)) },
          ];
  const dtypeOf = (options: Options): DType => ((kind === 'Network' ? (options.init as Options).dtype : options.dtype) as DType | undefined) ?? 'float32';
  return {
    name: `${name}.${method}`,
    errorNames: [`${name}.${method}`],
    generate(r) {
      const { options, sample } = modelOptions(r, kind);
      const dtype = dtypeOf(options);
      const N = batch(r); // (models may hold batch norms)
      const X = randomTensor(r, [N, ...sample], dtype, chance(r, 0.85) ? 'normal' : 'integers');
      const numClasses = kind === 'Network' ? ((((options.module as Options).layers as Options[]).at(-1) as Options).outFeatures as number) : (options.numClasses as number);
      const third =
        method === 'forward'
          ? pick(r, [undefined, {}, { mode: 'test' }, { mode: 'train' }])
          : method === 'loss'
            ? chance(r, 0.2)
              ? undefined
              : Array.from({ length: N }, () => r.int(numClasses))
            : randomTensor(r, [N, numClasses], dtype);
      const args: Args = [options, X, third];
      if (chance(r, VALID)) return { args, expect: 'ok', note: 'valid' };
      return { args, ...mutate(r, args, [...xMutations, ...thirdMutations]) };
    },
    call(options, X, third) {
      const model = makeModel(kind, options);
      if (method === 'forward') return model.forward(X as Tensor, third as never);
      if (method === 'loss') return third === undefined ? model.loss(X as Tensor) : model.loss(X as Tensor, third as number[]);
      return model.inputGradient(X as Tensor, third as Tensor);
    },
    reference(options, X, third) {
      termScale = 0;
      const model = makeModel(kind, options);
      // The model's contract: X of shape (N, ...inputShape) and the model's dtype (its layers may take more).
      const x = X as Tensor;
      if (!isTensorLike(x) || !Array.isArray(x.shape) || shapeText(x.shape.slice(1)) !== shapeText(model.inputShape) || x.dtype !== model.dtype || x.shape[0] === 0) {
        throw new ConvnetError('reference', 'X');
      }
      if (method === 'forward') {
        const o = third as { mode?: unknown } | undefined;
        if (o !== undefined && (o === null || typeof o !== 'object' || Array.isArray(o))) throw new ConvnetError('reference', 'options');
        return refRun(model.root, X as Tensor, (o?.mode ?? 'test') as Mode).out;
      }
      if (method === 'inputGradient') {
        const run = refRun(model.root, X as Tensor, 'test');
        return run.back(third as Tensor).dx;
      }
      if (third === undefined) return refRun(model.root, X as Tensor, 'test').out;
      const run = refRun(model.root, X as Tensor, 'train');
      const { loss, dx } = convnet.softmaxLoss(run.out, third as number[]);
      const { grads } = run.back(dx);
      let total = loss;
      const out: Record<string, Tensor> = {};
      for (const { name: n, module, local } of model.namedParams) {
        const g = copy(grads.get(module)![local]!);
        const w = module.params[local]!;
        if (module.decayed.includes(local) && model.reg !== 0) {
          let sum = 0;
          for (let i = 0; i < w.data.length; i++) {
            sum += w.data[i]! * w.data[i]!;
            g.data[i] += model.reg * w.data[i]!;
          }
          total += 0.5 * model.reg * sum;
        }
        out[n] = g;
      }
      return { loss: total, grads: out };
    },
    compare: (got, want, args) => closeTo(dtypeOf(args[0] as Options))(got, want),
    check(result, c) {
      if (c.expect !== 'ok') return [];
      const [options, X, third] = c.args as [Options, Tensor, unknown];
      const model = makeModel(kind, options);
      const N = X.shape[0]!;
      if (method === 'inputGradient') return shapeText((result as Tensor).shape) === shapeText(X.shape) ? [] : [`dX of shape ${shapeText((result as Tensor).shape)}, want X's`];
      if (method === 'forward' || third === undefined) return shapeText((result as Tensor).shape) === shapeText([N, model.numClasses]) ? [] : [`scores of shape ${shapeText((result as Tensor).shape)}, want ${shapeText([N, model.numClasses])}`];
      const { loss, grads } = result as { loss: number; grads: Record<string, Tensor> };
      const problems: string[] = [];
      if (!Number.isFinite(loss) || loss < 0) problems.push(`loss ${loss}`);
      for (const [k, p] of Object.entries(model.params)) if (shapeText(grads[k]?.shape) !== shapeText(p.shape)) problems.push(`grads.${k} of shape ${shapeText(grads[k]?.shape)}, want ${shapeText(p.shape)}`);
      return problems;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the targets

const MODEL_KINDS: ModelKind[] = ['ThreeLayerConvNet', 'FullyConnectedNet', 'ConvNet', 'Network'];

export const targets: FuzzTarget[] = [
  ...Object.keys(LEAVES).map(leafConstructorTarget),
  containerConstructorTarget('Sequential'),
  containerConstructorTarget('Residual'),
  buildModuleTarget(),
  ...MODULE_TYPES.map(forwardTarget),
  ...MODULE_TYPES.map(backwardTarget),
  ...MODEL_KINDS.map(modelConstructorTarget),
  buildModelTarget(),
  ...MODEL_KINDS.flatMap((k) => (['forward', 'loss', 'inputGradient'] as const).map((m) => modelMethodTarget(k, m))),
];
