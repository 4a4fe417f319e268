/**
 * Network: a model made of a module tree (usually a Sequential) followed by a softmax loss.
 * ThreeLayerConvNet, FullyConnectedNet and ConvNet are Networks that build their tree from
 * their options; any other tree (a Residual net, an imported graph) is a plain Network.
 *
 * Parameters get CS231n's names from the tree, in execution order: each layer with a weight and
 * a bias (Conv2d, Linear) takes the next W{k}, b{k}; each normalisation the next gamma{j},
 * beta{j}, and batch norm's running statistics runningMean{j}, runningVar{j}. `params` and
 * `buffers` are views: reading model.params.W1 reads the Conv2d's weight, assigning it replaces
 * the Conv2d's weight.
 */
import { ConvnetError, show } from '../errors.js';
import { softmaxLoss } from '../layers/loss.js';
import { Residual, Sequential } from '../nn/containers.js';
import { Dropout } from '../nn/dropout.js';
import { Module, parameterCount, showShape, walk, type Mode } from '../nn/module.js';
import type { RngState } from '../rng.js';
import { sizeOf, type DType, type Tensor } from '../tensor.js';
import { assertTensor, assertUpstream, labels, numberInRange } from '../validate.js';
import { addL2, assertKnownOptions, checkBatch } from './common.js';
import type { LossAndGrads, Model, ModelConfig } from './model.js';

/** Where a named parameter or buffer lives. */
export interface NamedTensor {
  name: string;
  module: Module;
  /** Its name inside the module ('weight', 'gamma', 'runningMean', …). */
  local: string;
}

export interface NetworkOptions {
  /** The layers, scores (N, numClasses) out. */
  module: Module;
  /** One sample's shape, e.g. [3, 32, 32]. */
  inputShape: readonly number[];
  /** L2 regularisation strength: 0.5·reg·ΣW² over the weights of Conv2d and Linear layers. */
  reg?: number;
  /** The name errors and summaries use; default 'Network'. */
  name?: string;
}

/** One row of a summary table. */
export interface SummaryRow {
  /** Nesting: 0 for the top-level layers, 1 inside a residual block, … */
  depth: number;
  label: string;
  outputShape: number[];
  /** Parameter values in this row's module (with its children). */
  params: number;
  /** The model's names for this module's own parameters. */
  names: string[];
}

const LOCAL_PREFIX: Record<string, { prefix: string; counter: 'weight' | 'norm' }> = {
  weight: { prefix: 'W', counter: 'weight' },
  bias: { prefix: 'b', counter: 'weight' },
  gamma: { prefix: 'gamma', counter: 'norm' },
  beta: { prefix: 'beta', counter: 'norm' },
};

export class Network implements Model {
  readonly root: Module;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly dtype: DType;
  readonly reg: number;
  readonly name: string;
  params: Record<string, Tensor>;
  buffers: Record<string, Tensor>;
  /** Every parameter's name and where it lives, in execution order. */
  readonly namedParams: readonly NamedTensor[];
  readonly namedBuffers: readonly NamedTensor[];
  private readonly weightNames: string[];

  constructor(options: NetworkOptions) {
    const name = options?.name ?? 'Network';
    if (options === null || typeof options !== 'object' || !(options.module instanceof Module)) {
      throw new ConvnetError(name, `expected options { module, inputShape, reg? }, got ${show(options)}`);
    }
    assertKnownOptions(name, options, ['module', 'inputShape', 'reg', 'name']);
    const { module, inputShape } = options;
    if (!Array.isArray(inputShape) || inputShape.length < 1 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ConvnetError(name, `expected inputShape to be one sample's shape of positive integers, got ${show(inputShape)}`);
    }
    this.name = name;
    this.root = module;
    this.inputShape = [...inputShape];
    this.reg = numberInRange(name, 'reg', options.reg, 0, Infinity, 0, { high: true });
    const out = module.outputShape(this.inputShape);
    if (out.length !== 1 || out[0]! < 1) throw new ConvnetError(name, `expected the layers to end in class scores (numClasses), got output shape ${showShape(out)}`);
    this.numClasses = out[0]!;

    const { params, buffers, weights } = nameTensors(module);
    this.namedParams = params;
    this.namedBuffers = buffers;
    this.weightNames = weights;
    const dtypes = new Set(params.map((p) => p.module.params[p.local]!.dtype));
    if (dtypes.size > 1) throw new ConvnetError(name, `expected every parameter to have one dtype, got ${[...dtypes].join(' and ')}`);
    this.dtype = dtypes.values().next().value ?? 'float32';
    this.params = views(name, 'params', params, (m) => m.params);
    this.buffers = views(name, 'buffers', buffers, (m) => m.buffers);
  }

  get config(): ModelConfig {
    return { kind: 'Network', inputShape: [...this.inputShape], reg: this.reg, dtype: this.dtype, module: this.root.config };
  }

  forward(X: Tensor, options: { mode?: Mode } = {}): Tensor {
    // forward(X, 'train') (a mode where { mode } belongs) must not run in test mode without a word.
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ConvnetError(`${this.name}.forward`, `expected options { mode? }, got ${show(options)}`);
    const mode = options.mode ?? 'test';
    if (mode !== 'train' && mode !== 'test') throw new ConvnetError(`${this.name}.forward`, `expected mode 'train' or 'test', got ${show(mode)}`);
    checkBatch(`${this.name}.forward`, X, this.inputShape, this.dtype);
    return this.root.forward(X, mode);
  }

  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Int32Array | number[]): LossAndGrads;
  loss(X: Tensor, y?: Int32Array | number[]): Tensor | LossAndGrads {
    checkBatch(`${this.name}.loss`, X, this.inputShape, this.dtype);
    if (y === undefined) return this.root.forward(X, 'test');
    // Before the forward: bad labels are the caller's error, named after this method, and must not move batch norm's running statistics.
    const classes = labels(`${this.name}.loss`, y, X.shape[0]!, this.numClasses);
    const scores = this.root.forward(X, 'train');
    const { loss: dataLoss, dx: dscores } = softmaxLoss(scores, classes);
    this.root.backward(dscores);
    const grads: Record<string, Tensor> = {};
    for (const { name, module, local } of this.namedParams) grads[name] = module.grads[local]!;
    return { loss: addL2(dataLoss, this.reg, this.params, grads, this.weightNames), grads };
  }

  inputGradient(X: Tensor, dscores: Tensor): Tensor {
    const fn = `${this.name}.inputGradient`;
    checkBatch(fn, X, this.inputShape, this.dtype);
    const scores = this.root.forward(X, 'test');
    assertTensor(fn, 'dscores', dscores);
    assertUpstream(fn, dscores, scores.shape, scores.dtype);
    return this.root.backward(dscores);
  }

  /** Fixes every dropout mask to this seed (gradient checks); null draws fresh masks. */
  get dropoutSeed(): number | null {
    const first = walk(this.root).find((m): m is Dropout => m instanceof Dropout);
    return first === undefined ? null : first.fixedSeed;
  }

  set dropoutSeed(seed: number | null) {
    if (seed !== null && !Number.isInteger(seed)) throw new ConvnetError(`${this.name}.dropoutSeed`, `expected an integer seed or null, got ${show(seed)}`);
    for (const m of walk(this.root)) if (m instanceof Dropout) m.fixedSeed = seed;
  }

  /** The state of every random generator inside the model (dropout masks), in execution order: for exact resumes. */
  randomState(): RngState[] {
    return walk(this.root)
      .filter((m): m is Dropout => m instanceof Dropout)
      .map((m) => m.generator.getState());
  }

  /** Continues every generator inside the model from randomState()'s result. */
  setRandomState(states: readonly RngState[]): void {
    const dropouts = walk(this.root).filter((m): m is Dropout => m instanceof Dropout);
    if (!Array.isArray(states) || states.length !== dropouts.length) {
      throw new ConvnetError(`${this.name}.setRandomState`, `expected ${dropouts.length} generator states (one per dropout layer), got ${show(Array.isArray(states) ? states.length : states)}`);
    }
    dropouts.forEach((m, i) => m.generator.setState(states[i]!));
  }

  /**
   * Copies parameters and buffers into this model (by name; shapes and dtypes must match, and
   * every name must be given). Values are copied, so the sources stay the caller's.
   */
  loadState(params: Record<string, Tensor>, buffers: Record<string, Tensor> = {}): void {
    const fn = `${this.name}.loadState`;
    for (const [kind, given, named] of [['params', params, this.namedParams], ['buffers', buffers, this.namedBuffers]] as const) {
      if (given === null || typeof given !== 'object') throw new ConvnetError(fn, `expected ${kind} to be a record of tensors, got ${show(given)}`);
      const expected = new Set(named.map((n) => n.name));
      const extra = Object.keys(given).filter((k) => !expected.has(k));
      const missing = [...expected].filter((k) => !(k in given));
      if (extra.length > 0 || missing.length > 0) {
        throw new ConvnetError(fn, `expected ${kind} named ${[...expected].join(', ') || '(none)'}, got ${missing.length > 0 ? `no ${missing.join(', ')}` : ''}${missing.length > 0 && extra.length > 0 ? ' and ' : ''}${extra.length > 0 ? `unknown ${extra.join(', ')}` : ''}`);
      }
      for (const { name, module, local } of named) {
        const target = (kind === 'params' ? module.params : module.buffers)[local]!;
        const source = given[name]!;
        assertTensor(fn, `${kind}.${name}`, source);
        if (source.dtype !== target.dtype || source.shape.length !== target.shape.length || source.shape.some((d, i) => d !== target.shape[i])) {
          throw new ConvnetError(fn, `expected ${kind}.${name} to be ${target.dtype} of shape ${show(target.shape)}, got ${source.dtype} of shape ${show(source.shape)}`);
        }
      }
    }
    for (const { name, module, local } of this.namedParams) {
      const source = params[name]!;
      module.params[local] = { shape: [...source.shape], data: source.data.slice(), dtype: source.dtype };
    }
    // In place: layers hold references to their buffers.
    for (const { name, module, local } of this.namedBuffers) module.buffers[local]!.data.set(buffers[name]!.data);
  }

  /** The layers as rows: label, output shape (one sample), parameter count and names. */
  summaryRows(): SummaryRow[] {
    const namesOf = new Map<Module, string[]>();
    for (const { name, module } of this.namedParams) namesOf.set(module, [...(namesOf.get(module) ?? []), name]);
    const rows: SummaryRow[] = [];
    const visit = (m: Module, inShape: number[], depth: number): number[] => {
      if (m instanceof Sequential) {
        let shape = inShape;
        for (const child of m.layers) shape = visit(child, shape, depth);
        return shape;
      }
      const out = m.outputShape(inShape);
      rows.push({ depth, label: m.label, outputShape: out, params: parameterCount(m), names: namesOf.get(m) ?? [] });
      if (m instanceof Residual) {
        visit(m.body, inShape, depth + 1);
        if (m.projection !== null) {
          const at = rows.length;
          visit(m.projection, inShape, depth + 1);
          for (let i = at; i < rows.length; i++) if (rows[i]!.depth === depth + 1) rows[i]!.label = `skip: ${rows[i]!.label}`;
        }
      }
      return out;
    };
    visit(this.root, [...this.inputShape], 0);
    return rows;
  }

  /** A table of layers (what Keras' model.summary() and torchinfo print). */
  summary(): string {
    const rows = this.summaryRows();
    const table = [['layer', 'output shape', 'params', 'names'], ...rows.map((r) => ['  '.repeat(r.depth) + r.label, showShape(r.outputShape), r.params.toLocaleString('en-US'), r.names.join(', ')])];
    const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
    const line = (row: string[]): string => row.map((cell, c) => (c === 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
    const total = this.namedParams.reduce((sum, p) => sum + p.module.params[p.local]!.data.length, 0);
    const bufferValues = this.namedBuffers.reduce((sum, b) => sum + b.module.buffers[b.local]!.data.length, 0);
    const bytes = (total + bufferValues) * (this.dtype === 'float32' ? 4 : 8);
    return [
      `${this.name}: input ${showShape(this.inputShape)}, ${this.numClasses} classes, ${this.dtype}`,
      line(table[0]!),
      ...table.slice(1).map(line),
      `total: ${total.toLocaleString('en-US')} parameters${bufferValues > 0 ? ` and ${bufferValues.toLocaleString('en-US')} buffer values` : ''} (${formatBytes(bytes)})`,
    ].join('\n');
  }
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** CS231n's names for every parameter and buffer of the tree, in execution order. */
function nameTensors(root: Module): { params: NamedTensor[]; buffers: NamedTensor[]; weights: string[] } {
  const params: NamedTensor[] = [];
  const buffers: NamedTensor[] = [];
  const weights: string[] = [];
  const count = { weight: 0, norm: 0 };
  let other = 0;
  for (const module of walk(root)) {
    const locals = Object.keys(module.params);
    if (locals.length === 0 && Object.keys(module.buffers).length === 0) continue;
    // One index per module: a Conv2d's weight and bias are W3 and b3.
    const counter = locals.some((l) => LOCAL_PREFIX[l]?.counter === 'weight') ? 'weight' : 'norm';
    const index = ++count[counter];
    for (const local of locals) {
      const known = LOCAL_PREFIX[local];
      const name = known !== undefined ? `${known.prefix}${index}` : `${module.type}${++other}.${local}`;
      params.push({ name, module, local });
      if (module.decayed.includes(local)) weights.push(name);
    }
    for (const local of Object.keys(module.buffers)) buffers.push({ name: `${local}${index}`, module, local });
  }
  return { params, buffers, weights };
}

/** A record whose properties read and replace the named tensors of their modules. */
function views(owner: string, kind: string, named: readonly NamedTensor[], tensorsOf: (m: Module) => Record<string, Tensor>): Record<string, Tensor> {
  const record: Record<string, Tensor> = {};
  for (const { name, module, local } of named) {
    Object.defineProperty(record, name, {
      enumerable: true,
      get: () => tensorsOf(module)[local],
      set: (value: unknown) => {
        const current = tensorsOf(module)[local]!;
        assertTensor(owner, `${kind}.${name}`, value);
        if (value.dtype !== current.dtype || sizeOf(value.shape) !== current.data.length || value.shape.length !== current.shape.length || value.shape.some((d, i) => d !== current.shape[i])) {
          throw new ConvnetError(owner, `expected ${kind}.${name} to be ${current.dtype} of shape ${show(current.shape)}, got ${value.dtype} of shape ${show(value.shape)}`);
        }
        tensorsOf(module)[local] = value;
      },
    });
  }
  return Object.seal(record);
}
