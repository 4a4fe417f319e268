/**
 * The module contract: a layer (or a container of layers) that owns its parameters, their
 * gradients and its buffers by name, runs forward and backward through the layer functions of
 * src/layers (no second implementation of any layer), describes itself as plain JSON (`config`)
 * and knows the shape it produces.
 *
 *   const conv = new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, pad: 1 }, { seed: 0 });
 *   const y = conv.forward(x, 'train');   // x: (N, 3, H, W) → y: (N, 8, H, W)
 *   const dx = conv.backward(dy);         // fills conv.grads.weight and conv.grads.bias
 *
 * A module keeps what its backward needs from its last forward, so backward(dout) follows the
 * forward it differentiates (PyTorch's autograd tape, one step deep). Parameters are replaced,
 * never mutated, by an update (`module.params.weight = next`, as CS231n's Solver does);
 * buffers (batch norm's running statistics) are updated in place by training forwards.
 */
import { ConvnetError, show } from '../errors.js';
import { rng, type Rng } from '../rng.js';
import { allocate, sizeOf, type DType, type Tensor } from '../tensor.js';

/** 'train' uses batch statistics and draws dropout masks; 'test' uses running statistics. */
export type Mode = 'train' | 'test';

/** JSON values: what a config may hold. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A module's architecture as plain JSON: `type` names the class, the rest its options. */
export interface ModuleConfig {
  type: string;
  [option: string]: Json;
}

/** How a new module draws its parameters. */
export interface InitOptions {
  /** float32 (default) or float64. */
  dtype?: DType;
  /** The generator weights are drawn from (advanced); or give a seed. */
  generator?: Rng;
  /** Seed of a new generator when none is given; default 0. */
  seed?: number;
  /** weightScale · N(0, 1) for weights, or 'he' (default): √(2 / fan-in) (He et al.). */
  weightScale?: number | 'he';
}

/** InitOptions resolved: what module constructors use. */
export interface Init {
  dtype: DType;
  generator: Rng;
  weightScale: number | 'he';
}

const INIT_OPTIONS = ['dtype', 'generator', 'seed', 'weightScale'];

export function resolveInit(fn: string, init: InitOptions = {}): Init {
  if (init === null || typeof init !== 'object' || Array.isArray(init)) throw new ConvnetError(fn, `expected init options { dtype, generator, seed, weightScale }, got ${show(init)}`);
  // A misspelt option (e.g. { dtyp: 'float64' }) would otherwise be ignored without a word.
  for (const key of Object.keys(init)) {
    if (!INIT_OPTIONS.includes(key)) throw new ConvnetError(fn, `expected init options among ${INIT_OPTIONS.join(', ')}, got ${show(key)}`);
  }
  const dtype = init.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new ConvnetError(fn, `expected dtype 'float32' or 'float64', got ${show(init.dtype)}`);
  const weightScale = init.weightScale ?? 'he';
  if (weightScale !== 'he' && !(typeof weightScale === 'number' && Number.isFinite(weightScale) && weightScale > 0)) {
    throw new ConvnetError(fn, `expected weightScale to be a finite number > 0 or 'he', got ${show(init.weightScale)}`);
  }
  // Checked here so that the error names the module being built, not rng (or a TypeError at the first draw).
  const g = init.generator as unknown as Record<string, unknown> | undefined;
  if (g !== undefined && (g === null || typeof g !== 'object' || typeof g.normal !== 'function' || typeof g.fork !== 'function')) {
    throw new ConvnetError(fn, `expected generator to be a generator made by rng(seed), got ${show(init.generator)}`);
  }
  if (init.seed !== undefined && !Number.isSafeInteger(init.seed)) throw new ConvnetError(fn, `expected seed to be an integer, got ${show(init.seed)}`);
  const generator = init.generator ?? rng(init.seed ?? 0);
  return { dtype, generator, weightScale };
}

/**
 * The most values one parameter tensor of a module may hold: 2^27 (512 MiB in float32), above
 * the largest layer of common networks (VGG-16's first fully connected weight, 102.8M values).
 * Why a limit below tensor.ts's MAX_ELEMENTS (2^31 − 1): sizes come from options (and from
 * model files), and a slip such as 2^30 features would otherwise allocate and fill gigabytes
 * for seconds before anything could fail. Checked before anything is allocated.
 */
export const MAX_PARAMETER_ELEMENTS = 2 ** 27;

/** Throws a ConvnetError naming the module unless a parameter of this shape may be allocated. */
export function assertParameterSize(fn: string, name: string, shape: readonly number[]): void {
  const size = sizeOf(shape);
  if (!(size <= MAX_PARAMETER_ELEMENTS)) {
    throw new ConvnetError(fn, `expected ${name} of at most 2^27 values (options this large are a mistake), got shape ${showShape(shape)} (${size} values)`);
  }
}

/** weightScale · N(0, 1), or N(0, 2 / fanIn) for 'he', in the given dtype. */
export function gaussian(fn: string, name: string, shape: number[], fanIn: number, init: Init): Tensor {
  assertParameterSize(fn, name, shape);
  const scale = init.weightScale === 'he' ? Math.sqrt(2 / Math.max(fanIn, 1)) : init.weightScale;
  const data = allocate(init.dtype, sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = scale * init.generator.normal();
  return { shape, data, dtype: init.dtype };
}

export function filled(fn: string, name: string, shape: number[], value: number, dtype: DType): Tensor {
  assertParameterSize(fn, name, shape);
  const data = allocate(dtype, sizeOf(shape));
  data.fill(value);
  return { shape, data, dtype };
}

export abstract class Module {
  /** Trainable tensors by local name ('weight', 'bias', 'gamma', 'beta'). */
  readonly params: Record<string, Tensor> = {};
  /** d loss / d params[name], written by backward. */
  readonly grads: Record<string, Tensor> = {};
  /** State that is saved but not trained ('runningMean', 'runningVar'), updated in place. */
  readonly buffers: Record<string, Tensor> = {};
  /** Local names of the params that L2 regularisation (weight decay) applies to. */
  readonly decayed: readonly string[] = [];

  /** The class name, as in config.type. */
  abstract readonly type: string;
  /** Plain JSON from which buildModule makes the same architecture. */
  abstract get config(): ModuleConfig;
  /** A short description for summaries, e.g. "Conv2d 3→8, 3×3, pad 1". */
  abstract get label(): string;
  /** x: (N, …inputShape) → (N, …outputShape(inputShape)). Remembers what backward needs. */
  abstract forward(x: Tensor, mode: Mode): Tensor;
  /** dout: the gradient of the last forward's output → dx; writes grads. */
  abstract backward(dout: Tensor): Tensor;
  /** The shape of one sample's output for one sample's input (no batch axis); throws if it cannot take it. */
  abstract outputShape(inputShape: readonly number[]): number[];
  /** Modules inside this one, in execution order. */
  children(): readonly Module[] {
    return [];
  }

  /**
   * Forgets what the last forward kept for its backward (a container: its children's too), so
   * that a backward now throws as before any forward. A model's inference forward
   * (Network.forward in test mode) ends with it: a model used only for predictions holds no
   * activations between calls.
   */
  releaseForward(): void {
    for (const child of this.children()) child.releaseForward();
  }

  /**
   * Checks a forward's mode (in every module, whether or not it reads it: a mode such as 'eval'
   * must not pass where the module ignores it and fail where it does not). Forwards clear their
   * cache before it, so that a backward after a rejected forward throws rather than
   * differentiating the forward before it.
   */
  protected checkMode(mode: unknown): asserts mode is Mode {
    if (mode !== 'train' && mode !== 'test') throw new ConvnetError(`${this.type}.forward`, `expected mode 'train' or 'test', got ${show(mode)}`);
  }

  /** The cache of the last forward, or a ConvnetError naming the module when there is none. */
  protected cacheOf<C>(cache: C | undefined): C {
    if (cache === undefined) throw new ConvnetError(`${this.type}.backward`, 'expected a forward before backward, got backward first');
    return cache;
  }
}

/** Every module in the tree under `root` (root included), depth first, in execution order. */
export function walk(root: Module): Module[] {
  const out: Module[] = [root];
  for (const child of root.children()) out.push(...walk(child));
  return out;
}

/** The number of values in a module's params (children included). */
export function parameterCount(module: Module): number {
  let count = 0;
  for (const m of walk(module)) for (const p of Object.values(m.params)) count += p.data.length;
  return count;
}

/** Formats a shape without its batch axis, e.g. (32, 14, 14). */
export function showShape(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}

/** Checks a config's options against the ones a module knows. */
export function assertConfig(type: string, config: unknown, known: readonly string[]): asserts config is Record<string, unknown> {
  const fn = `${type}`;
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new ConvnetError(fn, `expected an options object, got ${show(config)}`);
  for (const key of Object.keys(config)) {
    if (key !== 'type' && !known.includes(key)) throw new ConvnetError(fn, `expected options among ${known.join(', ')}, got ${show(key)}`);
  }
  // A config's type may come along (buildModule strips it), but it must name this module.
  const given = (config as Record<string, unknown>).type;
  if (given !== undefined && given !== type) throw new ConvnetError(fn, `expected options.type to be ${show(type)} if given, got ${show(given)}`);
}
