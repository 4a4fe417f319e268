/**
 * Network: a model made of a module tree (usually a Sequential) followed by a loss head:
 * softmax cross-entropy by default, or per-pixel softmax, MSE or L1 (NetworkOptions.loss).
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
import { getKernels } from '../kernels/index.js';
import { l1Loss, mseLoss, softmaxCrossEntropyLoss, softmaxLoss } from '../layers/loss.js';
import { Residual, Sequential } from '../nn/containers.js';
import { Dropout } from '../nn/dropout.js';
import { Module, parameterCount, showShape, walk, type Json, type Mode } from '../nn/module.js';
import type { RngState } from '../rng.js';
import { Arena, sizeOf, type DType, type Tensor } from '../tensor.js';
import { assertTensor, assertUpstream, labels, numberInRange } from '../validate.js';
import { addL2, assertKnownOptions, checkBatch } from './common.js';
import type { LossAndGrads, LossHead, LossTarget, Model, ModelConfig, RegressionHead, SoftmaxHead, TrainingLossOptions } from './model.js';

/** Where a named parameter or buffer lives. */
export interface NamedTensor {
  name: string;
  module: Module;
  /** Its name inside the module ('weight', 'gamma', 'runningMean', …). */
  local: string;
}

export interface NetworkOptions {
  /** The layers: scores (N, numClasses) out for a softmax head, (N, C, H, W) for pixelSoftmax, any output for mse / l1. */
  module: Module;
  /** One sample's shape, e.g. [3, 32, 32]. */
  inputShape: readonly number[];
  /** L2 regularisation strength: 0.5·reg·ΣW² over the weights of Conv2d and Linear layers. */
  reg?: number;
  /** The loss head (see LossHead): a kind, or { kind, weights?, ignoreIndex?, labelSmoothing? }; default 'softmax'. */
  loss?: LossHeadOption;
  /** The name errors and summaries use; default 'Network'. */
  name?: string;
}

/** NetworkOptions.loss: a head's kind alone ('mse') or the whole head ({ kind: 'softmax', labelSmoothing: 0.1 }). */
export type LossHeadOption = LossHead['kind'] | LossHead;

export const LOSS_HEADS: readonly LossHead['kind'][] = ['softmax', 'pixelSoftmax', 'mse', 'l1'];

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
  readonly outputShape: readonly number[];
  readonly lossHead: LossHead;
  readonly dtype: DType;
  readonly reg: number;
  readonly name: string;
  params: Record<string, Tensor>;
  buffers: Record<string, Tensor>;
  /** Every parameter's name and where it lives, in execution order. */
  readonly namedParams: readonly NamedTensor[];
  readonly namedBuffers: readonly NamedTensor[];
  private readonly weightNames: string[];
  /** The head's class weights as a tensor of the model's dtype (softmax heads with weights). */
  private readonly classWeights: Tensor | undefined;
  /** The intermediate arrays of inference forwards, reused call after call. */
  private readonly inference = new Arena(() => getKernels().capabilities?.resident32);
  /** The arrays of training calls that ask to reuse them (loss(X, y, { reuseArrays: true })). */
  private readonly training = new Arena(() => getKernels().capabilities?.resident32);

  constructor(options: NetworkOptions) {
    const name = options?.name ?? 'Network';
    if (options === null || typeof options !== 'object' || !(options.module instanceof Module)) {
      throw new ConvnetError(name, `expected options { module, inputShape, reg?, loss? }, got ${show(options)}`);
    }
    assertKnownOptions(name, options, ['module', 'inputShape', 'reg', 'loss', 'name']);
    const { module, inputShape } = options;
    if (!Array.isArray(inputShape) || inputShape.length < 1 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ConvnetError(name, `expected inputShape to be one sample's shape of positive integers, got ${show(inputShape)}`);
    }
    this.name = name;
    this.root = module;
    this.inputShape = [...inputShape];
    this.reg = numberInRange(name, 'reg', options.reg, 0, Infinity, 0, { high: true });
    this.lossHead = lossHeadOf(name, options.loss);
    const out = module.outputShape(this.inputShape);
    this.outputShape = out;
    switch (this.lossHead.kind) {
      case 'softmax':
        if (out.length !== 1 || out[0]! < 1) throw new ConvnetError(name, `expected the layers to end in class scores (numClasses) for the softmax loss, got output shape ${showShape(out)}`);
        this.numClasses = out[0]!;
        break;
      case 'pixelSoftmax':
        if (out.length !== 3) throw new ConvnetError(name, `expected the layers to end in per-pixel class scores (C, H, W) for the pixelSoftmax loss, got output shape ${showShape(out)}`);
        this.numClasses = out[0]!;
        break;
      default:
        this.numClasses = 0;
    }

    const { params, buffers, weights } = nameTensors(module);
    this.namedParams = params;
    this.namedBuffers = buffers;
    this.weightNames = weights;
    const dtypes = new Set(params.map((p) => p.module.params[p.local]!.dtype));
    if (dtypes.size > 1) throw new ConvnetError(name, `expected every parameter to have one dtype, got ${[...dtypes].join(' and ')}`);
    this.dtype = dtypes.values().next().value ?? 'float32';
    this.params = views(name, 'params', params, (m) => m.params);
    this.buffers = views(name, 'buffers', buffers, (m) => m.buffers);
    const head = this.lossHead;
    if (head.kind === 'softmax' || head.kind === 'pixelSoftmax') {
      if (head.weights !== undefined && head.weights.length !== this.numClasses) {
        throw new ConvnetError(name, `expected loss.weights to hold one weight per class (${this.numClasses}), got ${head.weights.length}`);
      }
      this.classWeights = head.weights === undefined ? undefined : { shape: [head.weights.length], data: this.dtype === 'float32' ? Float32Array.from(head.weights) : Float64Array.from(head.weights), dtype: this.dtype };
    }
  }

  get config(): ModelConfig {
    // The default head is left out, so that classifiers' configs (and model files) stay as they were.
    const loss = lossHeadConfig(this.lossHead);
    return { kind: 'Network', inputShape: [...this.inputShape], reg: this.reg, dtype: this.dtype, module: this.root.config, ...(loss === null ? {} : { loss }) };
  }

  forward(X: Tensor, options: { mode?: Mode } = {}): Tensor {
    // forward(X, 'train') (a mode where { mode } belongs) must not run in test mode without a word.
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ConvnetError(`${this.name}.forward`, `expected options { mode? }, got ${show(options)}`);
    const mode = options.mode ?? 'test';
    if (mode !== 'train' && mode !== 'test') throw new ConvnetError(`${this.name}.forward`, `expected mode 'train' or 'test', got ${show(mode)}`);
    checkBatch(`${this.name}.forward`, X, this.inputShape, this.dtype);
    return mode === 'train' ? this.root.forward(X, 'train') : this.infer(X);
  }

  /**
   * The test-mode output for X (already checked), keeping nothing for a backward: the layers'
   * arrays come from this model's arena and are reused by the next call, so that after the
   * first call at a batch size the only array allocated is the output returned (a copy). The
   * arena keeps the intermediate arrays of the largest batch seen (releaseInference frees them).
   */
  private infer(X: Tensor): Tensor {
    try {
      const out = this.inference.run(() => this.root.forward(X, 'test'));
      return { shape: [...out.shape], data: out.data.slice(), dtype: out.dtype };
    } finally {
      this.root.releaseForward();
    }
  }

  /** Frees the arrays inference forwards reuse (they are made again by the next one). */
  releaseInference(): void {
    this.inference.clear();
  }

  /**
   * Arrays made by inference forwards so far, and the bytes they hold (they stop growing once
   * the batch sizes repeat); residentBytes of them live in the kernel backend's own memory
   * (WebAssembly), where its kernels use them without copies.
   */
  get inferenceMemory(): { arrays: number; bytes: number; residentBytes: number } {
    return { arrays: this.inference.created, bytes: this.inference.bytes, residentBytes: this.inference.heapBytes };
  }

  loss(X: Tensor): Tensor;
  /**
   * options.labelSmoothing trains this call against smoothed targets, (1 − ε)·onehot + ε/C, in
   * place of the head's own smoothing (class weights and ignoreIndex still apply): the Solver's
   * labelSmoothing option. Softmax and pixelSoftmax heads only.
   */
  loss(X: Tensor, y: LossTarget, options?: TrainingLossOptions): LossAndGrads;
  loss(X: Tensor, y?: LossTarget, options: TrainingLossOptions = {}): Tensor | LossAndGrads {
    const fn = `${this.name}.loss`;
    checkBatch(fn, X, this.inputShape, this.dtype);
    if (y === undefined) return this.infer(X);
    const head = this.withSmoothing(fn, options);
    if (options.reuseArrays !== true) return this.trainingLoss(fn, X, y, head);
    // Every array of the call from the training arena: the same arrays step after step, in the
    // kernel backend's own memory where it has one (no copies in and out of WebAssembly).
    return this.training.run(() => this.trainingLoss(fn, X, y, head));
  }

  /** Arrays made by loss(X, y, { reuseArrays: true }) so far, their bytes, and those in the kernel backend's memory. */
  get trainingMemory(): { arrays: number; bytes: number; residentBytes: number } {
    return { arrays: this.training.created, bytes: this.training.bytes, residentBytes: this.training.heapBytes };
  }

  /** Frees the arrays that loss(X, y, { reuseArrays: true }) reuses (made again by its next call). */
  releaseTraining(): void {
    this.training.clear();
  }

  /** The training forward, loss and backward (X checked; y checked here). */
  private trainingLoss(fn: string, X: Tensor, y: LossTarget, head: LossHead): LossAndGrads {
    // Before the forward: bad targets are the caller's error, named after this method, and must not move batch norm's running statistics.
    const N = X.shape[0]!;
    let dataLoss: number;
    let dout: Tensor;
    if (isRegression(head)) {
      const target = this.checkTarget(fn, y, N);
      const out = this.root.forward(X, 'train');
      ({ loss: dataLoss, dx: dout } = head.kind === 'mse' ? mseLoss(out, target) : l1Loss(out, target));
    } else if (isPlainSoftmax(head)) {
      // CS231n's softmax_loss, as every classifier has always been trained (same numbers to the last bit).
      const classes = labels(fn, notTensor(fn, head.kind, y), N, this.numClasses);
      const scores = this.root.forward(X, 'train');
      ({ loss: dataLoss, dx: dout } = softmaxLoss(scores, classes));
    } else {
      // scores (N, C) or (N, C, H, W); one label per position: N or N·H·W.
      const positions = head.kind === 'softmax' ? N : N * this.outputShape[1]! * this.outputShape[2]!;
      const classes = headLabels(fn, notTensor(fn, head.kind, y), positions, this.numClasses, head.ignoreIndex, head.kind === 'softmax' ? `one label per sample (${N})` : `one label per pixel (N·H·W = ${N}·${this.outputShape[1]}·${this.outputShape[2]} = ${positions}, row-major)`);
      const scores = this.root.forward(X, 'train');
      const result = softmaxCrossEntropyLoss(scores, classes, {
        ...(this.classWeights === undefined ? {} : { weights: this.classWeights }),
        ...(head.ignoreIndex === undefined ? {} : { ignoreIndex: head.ignoreIndex }),
        ...(head.labelSmoothing === undefined ? {} : { labelSmoothing: head.labelSmoothing }),
      });
      dataLoss = result.loss;
      dout = result.dx;
    }
    this.root.backward(dout);
    const grads: Record<string, Tensor> = {};
    for (const { name, module, local } of this.namedParams) grads[name] = module.grads[local]!;
    return { loss: addL2(dataLoss, this.reg, this.params, grads, this.weightNames), grads };
  }

  /** The loss head with options.labelSmoothing in place of its own (the head itself when none is given). */
  private withSmoothing(fn: string, options: TrainingLossOptions): LossHead {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ConvnetError(fn, `expected options { labelSmoothing?, reuseArrays? }, got ${show(options)}`);
    assertKnownOptions(fn, options, ['labelSmoothing', 'reuseArrays']);
    if (options.reuseArrays !== undefined && typeof options.reuseArrays !== 'boolean') throw new ConvnetError(fn, `expected options.reuseArrays to be true or false, got ${show(options.reuseArrays)}`);
    const epsilon = options.labelSmoothing;
    if (epsilon === undefined) return this.lossHead;
    if (typeof epsilon !== 'number' || !(epsilon >= 0 && epsilon < 1)) throw new ConvnetError(fn, `expected options.labelSmoothing to be a number in [0, 1), got ${show(epsilon)}`);
    const head = this.lossHead;
    if (isRegression(head)) throw new ConvnetError(fn, `expected labelSmoothing only for a softmax or pixelSoftmax loss head (it smooths class targets), got the ${head.kind} head`);
    // ε = 0 leaves a plain head plain: the same numbers as without the option.
    const { labelSmoothing: _own, ...rest } = head;
    return epsilon === 0 ? rest : { ...rest, labelSmoothing: epsilon };
  }

  /** The target tensor of an mse / l1 head: (N, …outputShape), the model's dtype. */
  private checkTarget(fn: string, y: unknown, N: number): Tensor {
    const want = `a target tensor of shape (${[N, ...this.outputShape].join(', ')}) (N, …outputShape) for the ${this.lossHead.kind} loss`;
    if (y instanceof Int32Array || Array.isArray(y)) throw new ConvnetError(fn, `expected ${want}, got class labels (${y instanceof Int32Array ? 'Int32Array' : 'number[]'} of ${y.length})`);
    if (y === null || typeof y !== 'object' || !('shape' in y)) throw new ConvnetError(fn, `expected ${want}, got ${show(y)}`);
    assertTensor(fn, 'y', y);
    const shape = [N, ...this.outputShape];
    if (y.shape.length !== shape.length || y.shape.some((d, i) => d !== shape[i])) throw new ConvnetError(fn, `expected ${want}, got shape ${show(y.shape)}`);
    if (y.dtype !== this.dtype) throw new ConvnetError(fn, `expected ${want} of the model's dtype ${this.dtype}, got ${y.dtype}`);
    return y;
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
    const head = this.lossHead.kind === 'softmax' ? `${this.numClasses} classes` : this.lossHead.kind === 'pixelSoftmax' ? `${this.numClasses} classes per pixel` : `output ${showShape(this.outputShape)}, ${this.lossHead.kind} loss`;
    return [
      `${this.name}: input ${showShape(this.inputShape)}, ${head}, ${this.dtype}`,
      line(table[0]!),
      ...table.slice(1).map(line),
      `total: ${total.toLocaleString('en-US')} parameters${bufferValues > 0 ? ` and ${bufferValues.toLocaleString('en-US')} buffer values` : ''} (${formatBytes(bytes)})`,
    ].join('\n');
  }
}

/** NetworkOptions.loss, checked and normalised (options that are absent stay absent). */
function lossHeadOf(fn: string, option: unknown): LossHead {
  if (option === undefined) return { kind: 'softmax' };
  const given: unknown = typeof option === 'string' ? { kind: option } : option;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new ConvnetError(fn, `expected loss to be one of ${LOSS_HEADS.join(', ')} or { kind, weights?, ignoreIndex?, labelSmoothing? }, got ${show(option)}`);
  }
  const o = given as Record<string, unknown>;
  const kind = o.kind;
  if (kind === 'mse' || kind === 'l1') {
    const extra = Object.keys(o).filter((k) => k !== 'kind');
    if (extra.length > 0) throw new ConvnetError(fn, `expected the ${kind} loss without options, got ${show(extra)}`);
    return { kind };
  }
  if (kind !== 'softmax' && kind !== 'pixelSoftmax') throw new ConvnetError(fn, `expected loss.kind to be one of ${LOSS_HEADS.join(', ')}, got ${show(kind)}`);
  assertKnownOptions(`${fn} (loss)`, o, ['kind', 'weights', 'ignoreIndex', 'labelSmoothing']);
  const head: SoftmaxHead = { kind };
  if (o.weights !== undefined) {
    const w = o.weights;
    if (!(Array.isArray(w) || w instanceof Float32Array || w instanceof Float64Array) || w.length < 1 || !Array.from(w as ArrayLike<unknown>).every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      throw new ConvnetError(fn, `expected loss.weights to be one finite weight >= 0 per class, got ${show(w)}`);
    }
    head.weights = Array.from(w as ArrayLike<number>);
  }
  if (o.ignoreIndex !== undefined) {
    if (!Number.isInteger(o.ignoreIndex)) throw new ConvnetError(fn, `expected loss.ignoreIndex to be an integer, got ${show(o.ignoreIndex)}`);
    head.ignoreIndex = o.ignoreIndex as number;
  }
  if (o.labelSmoothing !== undefined) head.labelSmoothing = numberInRange(fn, 'loss.labelSmoothing', o.labelSmoothing, 0, 1);
  return head;
}

/** A head as config JSON; null for the plain softmax head (left out of configs). */
function lossHeadConfig(head: LossHead): Json {
  if (isRegression(head)) return { kind: head.kind };
  if (isPlainSoftmax(head)) return null;
  const { kind, weights, ignoreIndex, labelSmoothing } = head;
  return { kind, ...(weights === undefined ? {} : { weights: [...weights] }), ...(ignoreIndex === undefined ? {} : { ignoreIndex }), ...(labelSmoothing === undefined ? {} : { labelSmoothing }) };
}

function isRegression(head: LossHead): head is RegressionHead {
  return head.kind === 'mse' || head.kind === 'l1';
}

/** The default head: softmax without weights, ignored label or smoothing. */
function isPlainSoftmax(head: SoftmaxHead): boolean {
  return head.kind === 'softmax' && head.weights === undefined && head.ignoreIndex === undefined && head.labelSmoothing === undefined;
}

/** Labels for a softmax head: y must not be a tensor. */
function notTensor(fn: string, kind: string, y: LossTarget): Int32Array | number[] {
  if (y instanceof Int32Array || Array.isArray(y)) return y;
  const what = y !== null && typeof y === 'object' && 'shape' in y ? `a tensor of shape ${show((y as Tensor).shape)}` : show(y);
  throw new ConvnetError(fn, `expected class labels (an Int32Array or number[]) for the ${kind} loss, got ${what}`);
}

/** Labels for `count` positions: integers in [0, C), or ignoreIndex. */
function headLabels(fn: string, y: Int32Array | number[], count: number, C: number, ignoreIndex: number | undefined, per: string): Int32Array {
  if (y.length !== count) throw new ConvnetError(fn, `expected y to have ${per}, got ${y.length} labels`);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = y[i]!;
    if (!Number.isInteger(label) || ((label < 0 || label >= C) && label !== ignoreIndex)) {
      throw new ConvnetError(fn, `expected labels in [0, ${C})${ignoreIndex === undefined ? '' : ` or equal to ignoreIndex (${ignoreIndex})`}, got y[${i}] = ${show(label)}`);
    }
    out[i] = label;
  }
  return out;
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
