/**
 * Conv nets built from a short spec, e.g.
 *   [conv(32,3)-bn-relu]x2-pool-[conv(64,3)-bn-relu]x2-pool-fc(256)-relu-fc(10)
 *   conv(32,3)-bn-relu-[res(conv(32,3)-bn-relu-conv(32,3)-bn)-relu]x2-res(conv(64,3,2)-bn-relu-conv(64,3)-bn)-relu-gap-fc(10)
 *
 * Grammar (whitespace is ignored):
 *   spec    = element { "-" element }
 *   element = layer | "[" spec "]" "x" count
 *           | "res(" spec ")"                               residual block: the body's output is
 *                                                           added to the block's input; when the
 *                                                           body changes the shape (a stride or
 *                                                           another channel count) the input goes
 *                                                           through a 1×1 conv with the body's
 *                                                           total stride (+ bn when the body has
 *                                                           bn) first, as in He et al.
 *   layer   = "conv(" filters "," size [ "," stride ] ")"   convolution, "same" padding (size odd)
 *           | "fc(" units ")"                               affine (flattens image activations)
 *           | "relu" | "lrelu"                              ReLU, leaky ReLU (alpha 0.01)
 *           | "tanh" | "sigmoid" | "gelu" | "elu"           other activations (GELU exact, ELU alpha 1)
 *           | "bn"                                          batchnorm (spatial after a conv)
 *           | "ln"                                          layernorm (after an fc)
 *           | "gn(" groups ")"                              spatial groupnorm (after a conv)
 *           | "pool" | "maxpool(" size [ "," stride ] ")"   max pool ("pool" is 2×2 stride 2)
 *           | "avgpool(" size [ "," stride ] ")"            average pool
 *           | "gap"                                         global average pool
 *           | "dropout(" keep ")"                           inverted dropout, keep probability in (0, 1]
 * The last layer must be fc(numClasses); a softmax loss follows it.
 */
import { ConvnetError, show } from '../errors.js';
import { ELU, GELU, LeakyReLU, ReLU, Sigmoid, Tanh } from '../nn/activation.js';
import { Residual, Sequential } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import { Dropout } from '../nn/dropout.js';
import { Linear } from '../nn/linear.js';
import type { Init, Module } from '../nn/module.js';
import { BatchNorm, BatchNorm2d, GroupNorm, LayerNorm } from '../nn/norm.js';
import { AvgPool2d, GlobalAvgPool, MaxPool2d } from '../nn/pool.js';
import { rng } from '../rng.js';
import { sizeOf, type DType } from '../tensor.js';
import { assertObject, integer, numberInRange } from '../validate.js';
import { assertKnownOptions, MAX_LAYERS, modelDtype } from './common.js';
import type { ModelConfig } from './model.js';
import { Network } from './network.js';

export type SpecLayer =
  | { kind: 'conv'; filters: number; size: number; stride: number }
  | { kind: 'fc'; units: number }
  | { kind: 'relu' | 'lrelu' | 'tanh' | 'sigmoid' | 'gelu' | 'elu' | 'bn' | 'ln' | 'gap' }
  | { kind: 'gn'; groups: number }
  | { kind: 'maxpool' | 'avgpool'; size: number; stride: number }
  | { kind: 'dropout'; keep: number }
  | { kind: 'res'; body: SpecLayer[] };

/** Layer name → [minimum, maximum] argument count. */
const ARITY: Record<string, [number, number]> = {
  conv: [2, 3],
  fc: [1, 1],
  relu: [0, 0],
  lrelu: [0, 0],
  tanh: [0, 0],
  sigmoid: [0, 0],
  gelu: [0, 0],
  elu: [0, 0],
  bn: [0, 0],
  ln: [0, 0],
  gap: [0, 0],
  pool: [0, 0],
  gn: [1, 1],
  maxpool: [1, 2],
  avgpool: [1, 2],
  dropout: [1, 1],
};

/** Parses a spec into a flat list of layers (repeats expanded). */
export function parseSpec(spec: string): SpecLayer[] {
  const fn = 'parseSpec';
  if (typeof spec !== 'string') throw new ConvnetError(fn, `expected a spec string, got ${show(spec)}`);
  const text = spec.replace(/\s+/g, '');
  let at = 0;
  const error = (expected: string): never => {
    const got = at < text.length ? `'${text.slice(at, at + 12)}'` : 'the end of the spec';
    throw new ConvnetError(fn, `expected ${expected} at position ${at} of "${text}", got ${got}`);
  };
  const number = (): number => {
    const match = /^\d+(\.\d+)?/.exec(text.slice(at));
    if (!match) return error('a number');
    at += match[0].length;
    return Number(match[0]);
  };

  // Brackets nested deeper than this would end the recursive descent in a RangeError.
  const MAX_BRACKETS = 32;
  let open = 0;

  const parseSequence = (): SpecLayer[] => {
    const layers = parseElement();
    while (text[at] === '-') {
      at++;
      layers.push(...parseElement());
      if (layers.length > MAX_LAYERS) error(`at most ${MAX_LAYERS} layers after repeats`);
    }
    return layers;
  };

  const parseElement = (): SpecLayer[] => {
    if (text.startsWith('res(', at)) {
      at += 4;
      const body = parseSequence();
      if (text[at] !== ')') error("')' closing res(");
      at++;
      return [{ kind: 'res', body }];
    }
    if (text[at] === '[') {
      if (++open > MAX_BRACKETS) error(`brackets nested at most ${MAX_BRACKETS} deep`);
      at++;
      const inner = parseSequence();
      open--;
      if (text[at] !== ']') error("']'");
      at++;
      if (text[at] !== 'x') error("'x' and a repeat count after ']'");
      at++;
      const count = number();
      if (!Number.isInteger(count) || count < 1) error('a whole repeat count >= 1');
      // Before expanding: [relu]x100000000 would build an array of 10^8 layers first.
      if (count * inner.length > MAX_LAYERS) error(`at most ${MAX_LAYERS} layers after repeats (${inner.length} × ${count} here)`);
      return Array.from({ length: count }, () => inner.map((l) => ({ ...l }))).flat();
    }
    const match = /^[a-z]+/.exec(text.slice(at));
    if (!match || !(match[0] in ARITY)) return error(`a layer (${Object.keys(ARITY).join(', ')}) or '['`);
    const name = match[0];
    const start = at;
    at += name.length;
    const args: number[] = [];
    if (text[at] === '(') {
      at++;
      args.push(number());
      while (text[at] === ',') {
        at++;
        args.push(number());
      }
      if (text[at] !== ')') error("')'");
      at++;
    }
    const [min, max] = ARITY[name]!;
    if (args.length < min || args.length > max) {
      at = start;
      error(`${name} with ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'} (see the spec grammar)`);
    }
    const whole = (value: number, what: string): number => {
      if (!Number.isInteger(value) || value < 1) {
        at = start;
        error(`${name}'s ${what} to be a whole number >= 1, not ${value}`);
      }
      return value;
    };
    switch (name) {
      case 'conv':
        return [{ kind: 'conv', filters: whole(args[0]!, 'filter count'), size: whole(args[1]!, 'size'), stride: whole(args[2] ?? 1, 'stride') }];
      case 'fc':
        return [{ kind: 'fc', units: whole(args[0]!, 'unit count') }];
      case 'gn':
        return [{ kind: 'gn', groups: whole(args[0]!, 'group count') }];
      case 'pool':
        return [{ kind: 'maxpool', size: 2, stride: 2 }];
      case 'maxpool':
      case 'avgpool': {
        const size = whole(args[0]!, 'size');
        return [{ kind: name, size, stride: whole(args[1] ?? size, 'stride') }];
      }
      case 'dropout': {
        const keep = args[0]!;
        if (!(keep > 0 && keep <= 1)) {
          at = start;
          error(`dropout's keep probability in (0, 1], not ${keep}`);
        }
        return [{ kind: 'dropout', keep }];
      }
      default:
        return [{ kind: name as 'relu' | 'lrelu' | 'tanh' | 'sigmoid' | 'gelu' | 'elu' | 'bn' | 'ln' | 'gap' }];
    }
  };

  if (text.length === 0) error('a layer');
  const layers = parseSequence();
  if (at !== text.length) error("'-' between layers");
  return layers;
}

export interface ConvNetOptions {
  spec: string;
  /** (C, H, W) of one input; default [3, 32, 32]. */
  inputDim?: [number, number, number];
  numClasses?: number;
  reg?: number;
  /** weightScale · N(0, 1), or 'he' (default): √(2 / fan-in) per layer. */
  weightScale?: number | 'he';
  dtype?: DType;
  seed?: number;
}

/** The spec's short name of a layer, as describe() prints it. */
function specLabel(layer: SpecLayer): string {
  switch (layer.kind) {
    case 'conv':
      return `conv(${layer.filters},${layer.size}${layer.stride === 1 ? '' : `,${layer.stride}`})`;
    case 'fc':
      return `fc(${layer.units})`;
    case 'gn':
      return `gn(${layer.groups})`;
    case 'maxpool':
    case 'avgpool':
      return `${layer.kind}(${layer.size},${layer.stride})`;
    case 'dropout':
      return `dropout(${layer.keep})`;
    case 'res':
      return `res(${layer.body.map(specLabel).join('-')})`;
    default:
      return layer.kind;
  }
}

/**
 * The modules of a spec, tracking the activation shape (C, H, W) or (D) so that a layer that
 * cannot follow the one before it is an error naming it.
 */
function specModules(fn: string, layers: readonly SpecLayer[], inputDim: readonly number[], init: Init): Module[] {
  let shape = [...inputDim];
  const modules: Module[] = [];
  const requireRank = (label: string, rank: number): void => {
    if (shape.length !== rank) {
      const kind = rank === 3 ? 'image activations (C, H, W)' : 'flat features (D)';
      throw new ConvnetError(fn, `expected ${label} to follow ${kind}, got activations of shape (${shape.join(', ')})`);
    }
  };
  for (const layer of layers) {
    const label = specLabel(layer);
    let module: Module;
    switch (layer.kind) {
      case 'conv': {
        requireRank(label, 3);
        if (layer.size % 2 !== 1) throw new ConvnetError(fn, `expected an odd conv size (for "same" padding), got ${label}`);
        module = new Conv2d({ inChannels: shape[0]!, outChannels: layer.filters, kernelSize: layer.size, stride: layer.stride, pad: (layer.size - 1) / 2 }, init);
        break;
      }
      case 'fc':
        module = new Linear({ inFeatures: sizeOf(shape), outFeatures: layer.units }, init);
        break;
      case 'relu':
        module = new ReLU();
        break;
      case 'lrelu':
        module = new LeakyReLU({ alpha: 0.01 });
        break;
      case 'tanh':
        module = new Tanh();
        break;
      case 'sigmoid':
        module = new Sigmoid();
        break;
      case 'gelu':
        module = new GELU();
        break;
      case 'elu':
        module = new ELU();
        break;
      case 'bn':
        if (shape.length === 3) {
          module = new BatchNorm2d({ features: shape[0]! }, init);
        } else {
          requireRank('bn', 1);
          module = new BatchNorm({ features: shape[0]! }, init);
        }
        break;
      case 'ln':
        requireRank('ln', 1);
        module = new LayerNorm({ features: shape[0]! }, init);
        break;
      case 'gn':
        requireRank(label, 3);
        if (shape[0]! % layer.groups !== 0) throw new ConvnetError(fn, `expected ${label} to divide the ${shape[0]} channels before it, got ${layer.groups} groups`);
        module = new GroupNorm({ channels: shape[0]!, groups: layer.groups }, init);
        break;
      case 'maxpool':
      case 'avgpool': {
        requireRank(label, 3);
        const [C, H, W] = shape as [number, number, number];
        if (layer.size > H || layer.size > W) throw new ConvnetError(fn, `expected ${label} to fit activations of shape (${C}, ${H}, ${W}), got a window larger than the input`);
        const options = { kernelSize: layer.size, stride: layer.stride };
        module = layer.kind === 'maxpool' ? new MaxPool2d(options) : new AvgPool2d(options);
        break;
      }
      case 'gap':
        requireRank('gap', 3);
        module = new GlobalAvgPool();
        break;
      case 'dropout':
        module = new Dropout({ keep: layer.keep }, init);
        break;
      case 'res':
        module = residualBlock(fn, label, layer.body, shape, init);
        break;
    }
    shape = module.outputShape(shape);
    modules.push(module);
  }
  return modules;
}

/**
 * A res(…) block: its body, and a projection when the body changes the shape (a 1×1 conv with
 * the body's total stride, + bn when the body normalises with bn).
 */
function residualBlock(fn: string, label: string, body: SpecLayer[], shape: number[], init: Init): Module {
  if (shape.length !== 3) throw new ConvnetError(fn, `expected ${label} to follow image activations (C, H, W), got activations of shape (${shape.join(', ')})`);
  const layers = specModules(fn, body, shape, init);
  const main = new Sequential(layers);
  const out = main.outputShape(shape);
  if (out.length !== 3) throw new ConvnetError(fn, `expected the body of ${label} to give image activations (C, H, W), got (${out.join(', ')})`);
  if (out.every((d, i) => d === shape[i])) return new Residual({ body: main });
  const stride = body.reduce((s, l) => s * (l.kind === 'conv' ? l.stride : 1), 1);
  const projection: Module[] = [new Conv2d({ inChannels: shape[0]!, outChannels: out[0]!, kernelSize: 1, stride }, init)];
  if (body.some((l) => l.kind === 'bn')) projection.push(new BatchNorm2d({ features: out[0]! }, init));
  const skip = new Sequential(projection);
  const skipShape = skip.outputShape(shape);
  if (skipShape.some((d, i) => d !== out[i])) {
    throw new ConvnetError(fn, `expected the body of ${label} to change the size only by conv strides (a 1×1 conv of stride ${stride} gives (${skipShape.join(', ')})), got (${out.join(', ')})`);
  }
  return new Residual({ body: main, projection: skip });
}

/** A conv net built from a spec (see the grammar above). */
export class ConvNet extends Network {
  readonly spec: string;
  private readonly options: Required<ConvNetOptions>;
  private readonly labels: string[];

  constructor(options: ConvNetOptions) {
    const fn = 'ConvNet';
    assertObject(fn, 'options', options);
    assertKnownOptions(fn, options, ['spec', 'inputDim', 'numClasses', 'reg', 'weightScale', 'dtype', 'seed']);
    const layers = parseSpec(options.spec);
    const inputDim = options.inputDim ?? [3, 32, 32];
    if (!Array.isArray(inputDim) || inputDim.length !== 3 || !inputDim.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ConvnetError(fn, `expected inputDim to be [C, H, W] of positive integers, got ${show(inputDim)}`);
    }
    const numClasses = integer(fn, 'numClasses', options.numClasses, 2, 10);
    const last = layers[layers.length - 1]!;
    if (last.kind !== 'fc' || last.units !== numClasses) {
      throw new ConvnetError(fn, `expected the spec to end with fc(${numClasses}) (numClasses), got "${options.spec}"`);
    }
    const reg = numberInRange(fn, 'reg', options.reg, 0, Infinity, 0, { high: true });
    const weightScale: number | 'he' =
      options.weightScale === undefined || options.weightScale === 'he'
        ? 'he'
        : numberInRange(fn, 'weightScale', options.weightScale, 0, Infinity, undefined, { low: true, high: true });
    const dtype = modelDtype(fn, options.dtype);
    const seed = integer(fn, 'seed', options.seed, Number.MIN_SAFE_INTEGER, 0);
    const modules = specModules(fn, layers, inputDim, { dtype, weightScale, generator: rng(seed) });
    super({ module: new Sequential(modules), inputShape: inputDim, reg, name: fn });
    this.spec = options.spec;
    this.labels = layers.map(specLabel);
    this.options = { spec: options.spec, inputDim: [...inputDim] as [number, number, number], numClasses, reg, weightScale, dtype, seed };
  }

  override get config(): ModelConfig {
    const o = this.options;
    return { kind: 'ConvNet', spec: o.spec, inputDim: [...o.inputDim], numClasses: o.numClasses, weightScale: o.weightScale, reg: o.reg, dtype: o.dtype, seed: o.seed };
  }

  /** One line, e.g. "conv(32,3) → bn → relu → maxpool(2,2) → fc(10)". */
  describe(): string {
    return this.labels.join(' → ');
  }
}
