/**
 * The Solver: CS231n's `solver.py` in TypeScript, plus progress records, a stop signal and
 * seeded, reproducible runs.
 *
 *   const solver = new Solver(model, { XTrain, yTrain, XVal, yVal }, { updateRule: 'adam',
 *     optimConfig: { learningRate: 1e-3 }, numEpochs: 10, batchSize: 100 });
 *   await solver.train();            // or: for await (const record of solver.iterations()) …
 *
 * Each iteration samples a minibatch of batchSize training images *with replacement* (as
 * CS231n's np.random.choice), calls model.loss(X, y) and updates every parameter with the
 * update rule and that parameter's own config (a deep copy of optimConfig holding its state).
 * An epoch is max(floor(numTrain / batchSize), 1) iterations; at each epoch end every config's
 * learningRate is multiplied by lrDecay (lrSchedule 'exp', the default; 'cosine' and 'step' and
 * a warm-up set it from optimConfig.learningRate before every step instead). weightDecay
 * shrinks the weights, decoupled from the gradient (AdamW); labelSmoothing trains a Network on
 * smoothed targets. Training and validation accuracy are checked after the
 * first iteration, at each epoch end and after the last iteration; the parameters with the best
 * validation accuracy are kept and put into model.params when training ends (also when it is
 * stopped early or fails).
 *
 * A model trained against target tensors (a regression or reconstruction model: an mse or l1
 * loss head) takes them as yTrain / yVal tensors, or `targets: 'inputs'` for an autoencoder
 * (each minibatch, augmented, is its own target). Its checks then measure the mean squared
 * error of the test-mode output instead of accuracy (metric 'mse'), and the best parameters
 * are those with the lowest validation MSE.
 *
 * All randomness (minibatches, accuracy subsampling) comes from `seed`: the same seed, model
 * and data give the same loss history.
 */
import { ConvnetError, fail, show } from '../errors.js';
import type { Json } from '../nn/module.js';
import { rng, type Rng, type RngState } from '../rng.js';
import { allocate, clone, sizeOf, zerosLike, type Tensor } from '../tensor.js';
import { assertObject, assertTensor, integer } from '../validate.js';
import type { LossAndGrads, TrainableModel } from '../models/model.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint.js';
import { assertSmoothable, decayedParamNames, takesLossOptions } from './regularise.js';
import { getUpdateRule, type OptimConfig, type UpdateRule, type UpdateRuleName } from './optim.js';

/**
 * Resolves after pending timers, I/O and messages have had their turn: setImmediate in Node, a
 * MessageChannel message in browsers (setTimeout(0) would be clamped to 4 ms per iteration).
 * Node's own modules are not imported here, so that the library loads in browsers.
 */
const yieldToEventLoop: () => Promise<void> = (() => {
  const g = globalThis as unknown as { setImmediate?: (callback: () => void) => unknown; MessageChannel?: new () => MessagePortPair };
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate;
    return () => new Promise<void>((resolve) => void setImmediate(resolve));
  }
  if (typeof g.MessageChannel === 'function') {
    const channel = new g.MessageChannel();
    const waiting: (() => void)[] = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    return () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        channel.port2.postMessage(null);
      });
  }
  return () => new Promise<void>((resolve) => setTimeout(resolve, 0));
})();

interface MessagePortPair {
  port1: { onmessage: ((event: unknown) => void) | null };
  port2: { postMessage(message: unknown): void };
}

/** X tensors are (N, …) — NCHW images or (N, D) rows; y holds N class labels. */
export interface TrainingData {
  XTrain: Tensor;
  yTrain: Int32Array;
  XVal: Tensor;
  yVal: Int32Array;
}

/**
 * Data for a model trained against target tensors: yTrain / yVal of shape (N, …the model's
 * output), XTrain's dtype; or `targets: 'inputs'`: each (augmented) minibatch is its own target.
 */
export type TargetData = { XTrain: Tensor; yTrain: Tensor; XVal: Tensor; yVal: Tensor } | { XTrain: Tensor; XVal: Tensor; targets: 'inputs' };

export type SolverData = TrainingData | TargetData;

/** What the checks measure: accuracy for class labels, mean squared error for target tensors. */
export type SolverMetric = 'accuracy' | 'mse';

/** One split's targets, checked: class labels, target tensors, or the inputs themselves. */
type Targets = Int32Array | Tensor | 'inputs';

export interface SolverOptions {
  /** A rule name ('sgd', 'sgd_momentum' / 'momentum', 'rmsprop', 'adam') or a function. Default 'sgd'. */
  updateRule?: UpdateRuleName | UpdateRule;
  /** Hyperparameters for the rule (learningRate, …); each parameter gets a deep copy. Default {}. */
  optimConfig?: OptimConfig;
  /** Multiplies every learningRate at each epoch end ('exp'), or every stepEpochs epochs ('step'). Default 1. */
  lrDecay?: number;
  /**
   * How the learning rate lr0 = optimConfig.learningRate changes; with e the epochs completed
   * and t the iterations done before a step, out of T = numIterations:
   *   'exp' (default)  lr0 · lrDecay^e, multiplied in at each epoch end
   *   'step'           lr0 · lrDecay^floor(e / stepEpochs)
   *   'cosine'         lr0 · (1 + cos(π·t / T)) / 2, set before every step (lrDecay unused)
   * Raising numEpochs on resume stretches what is left of a cosine schedule to the new T.
   */
  lrSchedule?: LrSchedule;
  /** Epochs of linear warm-up: the first W·iterationsPerEpoch steps use lr · (t + 1) / (W·iterationsPerEpoch). Default 0. */
  warmupEpochs?: number;
  /** lrSchedule 'step': epochs between two lrDecay factors. Default 1. */
  stepEpochs?: number;
  /**
   * Decoupled weight decay λ (AdamW, Loshchilov & Hutter): before each update, every weight (a
   * Network's Conv2d and Linear weights, else every parameter of rank >= 2; never biases or
   * normalisation parameters) is multiplied by 1 − lr·λ, lr being that step's learning rate.
   * It is not part of the loss or the gradient (unlike the model's reg, an L2 term). Default 0.
   */
  weightDecay?: number;
  /**
   * ε in [0, 1): train on the targets (1 − ε)·onehot(y) + ε/C (softmaxCrossEntropyLoss) instead
   * of model.loss(X, y)'s plain softmax. Needs a Network. Default 0.
   */
  labelSmoothing?: number;
  /** Default 100. */
  batchSize?: number;
  /** Default 10. */
  numEpochs?: number;
  /** Training images subsampled (with replacement) for each training-accuracy check; null = all. Default 1000. */
  numTrainSamples?: number | null;
  /** Validation images subsampled for each validation-accuracy check; null = all. Default null. */
  numValSamples?: number | null;
  /** Log the loss every printEvery iterations (the 1st, the printEvery+1-th, …). Default 10. */
  printEvery?: number;
  /** Log progress through `log`. Default true. */
  verbose?: boolean;
  /** Where log lines go when verbose. Default console.log. */
  log?: (line: string) => void;
  /**
   * A path prefix (Node): at every accuracy check the Solver writes a checkpoint (see
   * `checkpoint()`) to `${checkpointName}_epoch_${epoch}.safetensors`, atomically, creating the
   * folder. Default null (no checkpoint files).
   */
  checkpointName?: string | null;
  /**
   * Called with a checkpoint (the bytes of `checkpoint()`) after every accuracy check
   * ('epoch') and when training is stopped early ('stop', before the best parameters are put
   * back into the model); awaited. Write it somewhere to be able to resume.
   */
  onCheckpoint?: (checkpoint: Uint8Array, reason: 'epoch' | 'stop') => void | Promise<void>;
  /** Plain JSON stored in every checkpoint (the CLI keeps its options there). */
  checkpointExtra?: Json;
  /** Start from a checkpoint's bytes: the run continues exactly as if it had not stopped. */
  resume?: Uint8Array;
  /**
   * Stop with an error when the loss exceeds this many times the first iteration's loss
   * (divergence); null never. Default 100. A loss that is not finite always stops training.
   */
  divergenceFactor?: number | null;
  /** Seed of every random draw the Solver makes. Default 0. */
  seed?: number;
  /** Aborting it stops training after the current iteration (no error is thrown). */
  signal?: AbortSignal;
  /** Called after every iteration; awaited when it returns a promise. */
  onIteration?: (record: IterationRecord) => void | Promise<void>;
  /** Called after every accuracy check; awaited when it returns a promise. */
  onEpoch?: (record: EpochRecord) => void | Promise<void>;
  /**
   * Data augmentation: maps each training minibatch (N, …) to a new one of the same shape,
   * drawing from the generator it is given (seeded from `seed`), e.g. randomShift(2).
   */
  augment?: (X: Tensor, generator: Rng) => Tensor;
}

/** One training step. */
export interface IterationRecord {
  kind: 'iteration';
  /** The epoch this iteration belongs to, 1-based. */
  epoch: number;
  numEpochs: number;
  /** Iterations done so far, this one included (1-based). */
  iteration: number;
  numIterations: number;
  iterationsPerEpoch: number;
  loss: number;
  /** Forward, backward and update of this minibatch, in milliseconds. */
  msPerBatch: number;
  imagesPerSecond: number;
  /** The learning rate this step used (of the first parameter's config; NaN if a custom rule keeps none). */
  lr: number;
  /** Since train() started, checks and checkpoints included. */
  elapsedMs: number;
}

/** One accuracy check: after the first iteration, at each epoch end, after the last iteration. */
export interface EpochRecord {
  kind: 'epoch';
  /** Epochs completed (0 for the check after the first iteration, as CS231n prints). */
  epoch: number;
  numEpochs: number;
  /** Iterations done so far. */
  iteration: number;
  numIterations: number;
  /** What this run's checks measure: 'accuracy' (the *Acc fields; the *Mse ones are NaN) or 'mse' (the reverse). */
  metric: SolverMetric;
  trainAcc: number;
  valAcc: number;
  bestValAcc: number;
  /** Mean squared error of the test-mode output against the targets (metric 'mse'). */
  trainMse: number;
  valMse: number;
  /** The lowest validation MSE so far. */
  bestValMse: number;
  /** Whether this check set a new best validation accuracy (or MSE) and saved the parameters. */
  improved: boolean;
  elapsedMs: number;
}

export type SolverRecord = IterationRecord | EpochRecord;

export type LrSchedule = 'exp' | 'cosine' | 'step';
export const LR_SCHEDULES: readonly LrSchedule[] = ['exp', 'cosine', 'step'];

export interface TrainResult {
  /** True when the stop signal, stop() or leaving the iterator ended training early. */
  stopped: boolean;
  iterations: number;
  epochs: number;
  /** NaN when the metric is 'mse'. */
  bestValAcc: number;
  /** NaN when the metric is 'accuracy'. */
  bestValMse: number;
  elapsedMs: number;
}

const OPTION_KEYS = [
  'updateRule', 'optimConfig', 'lrDecay', 'batchSize', 'numEpochs', 'numTrainSamples', 'numValSamples',
  'printEvery', 'verbose', 'log', 'checkpointName', 'seed', 'signal', 'onIteration', 'onEpoch', 'augment',
  'onCheckpoint', 'checkpointExtra', 'resume', 'divergenceFactor', 'lrSchedule', 'warmupEpochs', 'stepEpochs',
  'weightDecay', 'labelSmoothing',
] as const;

export class Solver<D extends SolverData = TrainingData> {
  readonly model: TrainableModel;
  readonly data: D;
  /** 'accuracy' for class labels, 'mse' for target tensors (see the top of this file). */
  readonly metric: SolverMetric;
  readonly updateRule: UpdateRule;
  /** The rule's name as given ('adam', …), or the function's name ('custom' if anonymous). */
  readonly updateRuleName: string;
  readonly optimConfig: OptimConfig;
  readonly lrDecay: number;
  readonly lrSchedule: LrSchedule;
  readonly warmupEpochs: number;
  readonly stepEpochs: number;
  readonly weightDecay: number;
  readonly labelSmoothing: number;
  readonly batchSize: number;
  readonly numEpochs: number;
  readonly numTrainSamples: number | null;
  readonly numValSamples: number | null;
  readonly printEvery: number;
  readonly verbose: boolean;
  readonly checkpointName: string | null;
  readonly seed: number;
  readonly iterationsPerEpoch: number;
  readonly numIterations: number;

  /** Epochs completed. */
  epoch = 0;
  bestValAcc = 0;
  /** Copies of the parameters at the best validation accuracy ({} before the first check). */
  bestParams: Record<string, Tensor> = {};
  /** Copies of model.buffers (batchnorm running statistics) taken with bestParams. */
  bestBuffers: Record<string, Tensor> = {};
  lossHistory: number[] = [];
  trainAccHistory: number[] = [];
  valAccHistory: number[] = [];
  /** The lowest validation MSE (metric 'mse'; Infinity before the first check). */
  bestValMse = Infinity;
  /** Each check's mean squared error on the (subsampled) training and validation data (metric 'mse'). */
  trainMseHistory: number[] = [];
  valMseHistory: number[] = [];
  /** The iteration count (1-based) at which each accuracy check was made. */
  checkIterations: number[] = [];
  /** Each parameter's current config (hyperparameters and state). */
  optimConfigs: Record<string, OptimConfig> = {};

  private readonly log: (line: string) => void;
  private readonly signal: AbortSignal | undefined;
  private readonly onIteration: SolverOptions['onIteration'];
  private readonly onEpoch: SolverOptions['onEpoch'];
  private readonly batchRng: Rng;
  private readonly augment: SolverOptions['augment'];
  private readonly augmentRng: Rng;
  private readonly sampleRng: Rng;
  private readonly onCheckpoint: SolverOptions['onCheckpoint'];
  private readonly checkpointExtra: Json;
  private readonly divergenceFactor: number | null;
  /** lr0 of the schedule: optimConfig.learningRate, else the built-in rule's default. */
  private readonly baseLearningRate: number | undefined;
  /** The parameters weightDecay applies to. */
  private readonly decayed: Set<string>;
  private readonly trainTargets: Targets;
  private readonly valTargets: Targets;
  private stopRequested = false;
  private started = false;
  private hasBest = false;
  private completed = false;

  constructor(model: TrainableModel, data: D, options: SolverOptions = {}) {
    const fn = 'Solver';
    assertModel(fn, model);
    this.model = model;
    const checked = checkData(fn, data);
    this.data = checked.data as D;
    this.trainTargets = checked.train;
    this.valTargets = checked.val;
    this.metric = checked.train instanceof Int32Array ? 'accuracy' : 'mse';
    const given: unknown = options;
    assertObject(fn, 'options', given);
    for (const key of Object.keys(given)) {
      if (!(OPTION_KEYS as readonly string[]).includes(key)) {
        const camel = key.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
        const hint = camel !== key && (OPTION_KEYS as readonly string[]).includes(camel) ? ` (did you mean ${camel}?)` : '';
        throw new ConvnetError(fn, `expected options among ${OPTION_KEYS.join(', ')}, got ${show(key)}${hint}`);
      }
    }
    this.updateRule = getUpdateRule(options.updateRule ?? 'sgd', fn);
    this.updateRuleName = typeof options.updateRule === 'string' ? options.updateRule : options.updateRule?.name || (options.updateRule ? 'custom' : 'sgd');
    const optimConfig: OptimConfig = options.optimConfig ?? {};
    const givenConfig: unknown = optimConfig;
    assertObject(fn, 'optimConfig', givenConfig);
    this.optimConfig = structuredClone(optimConfig);
    this.lrDecay = options.lrDecay ?? 1;
    if (typeof this.lrDecay !== 'number' || !Number.isFinite(this.lrDecay) || this.lrDecay <= 0) {
      fail(fn, 'lrDecay to be a finite number > 0', show(options.lrDecay));
    }
    this.lrSchedule = options.lrSchedule ?? 'exp';
    if (!LR_SCHEDULES.includes(this.lrSchedule)) fail(fn, `lrSchedule among ${LR_SCHEDULES.join(', ')}`, show(options.lrSchedule));
    this.warmupEpochs = integer(fn, 'warmupEpochs', options.warmupEpochs, 0, 0);
    this.stepEpochs = integer(fn, 'stepEpochs', options.stepEpochs, 1, 1);
    this.weightDecay = options.weightDecay ?? 0;
    if (typeof this.weightDecay !== 'number' || !Number.isFinite(this.weightDecay) || this.weightDecay < 0) fail(fn, 'weightDecay to be a finite number >= 0', show(options.weightDecay));
    this.labelSmoothing = options.labelSmoothing ?? 0;
    if (typeof this.labelSmoothing !== 'number' || !(this.labelSmoothing >= 0 && this.labelSmoothing < 1)) fail(fn, 'labelSmoothing to be a number in [0, 1)', show(options.labelSmoothing));
    if (this.labelSmoothing > 0) assertSmoothable(fn, model);
    this.decayed = this.weightDecay > 0 ? new Set(decayedParamNames(model)) : new Set();
    this.batchSize = integer(fn, 'batchSize', options.batchSize, 1, 100);
    this.numEpochs = integer(fn, 'numEpochs', options.numEpochs, 1, 10);
    this.numTrainSamples = options.numTrainSamples === null ? null : integer(fn, 'numTrainSamples', options.numTrainSamples, 1, 1000);
    this.numValSamples = options.numValSamples == null ? null : integer(fn, 'numValSamples', options.numValSamples, 1);
    this.printEvery = integer(fn, 'printEvery', options.printEvery, 1, 10);
    this.verbose = options.verbose ?? true;
    if (typeof this.verbose !== 'boolean') fail(fn, 'verbose to be a boolean', show(options.verbose));
    if (options.log !== undefined && typeof options.log !== 'function') fail(fn, 'log to be a function', show(options.log));
    this.log = this.verbose ? (options.log ?? ((line) => console.log(line))) : () => {};
    const checkpoint = options.checkpointName ?? null;
    if (checkpoint !== null && (typeof checkpoint !== 'string' || checkpoint === '')) {
      fail(fn, 'checkpointName to be a non-empty path prefix or null', show(checkpoint));
    }
    this.checkpointName = checkpoint;
    this.seed = options.seed ?? 0;
    if (!Number.isInteger(this.seed)) fail(fn, 'seed to be an integer', show(options.seed));
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) fail(fn, 'signal to be an AbortSignal', show(options.signal));
    this.signal = options.signal;
    for (const key of ['onIteration', 'onEpoch'] as const) {
      if (options[key] !== undefined && typeof options[key] !== 'function') fail(fn, `${key} to be a function`, show(options[key]));
    }
    this.onIteration = options.onIteration;
    this.onEpoch = options.onEpoch;
    if (options.augment !== undefined && typeof options.augment !== 'function') fail(fn, 'augment to be a function (X, generator) => X', show(options.augment));
    this.augment = options.augment;
    if (options.onCheckpoint !== undefined && typeof options.onCheckpoint !== 'function') fail(fn, 'onCheckpoint to be a function (bytes, reason) => void', show(options.onCheckpoint));
    this.onCheckpoint = options.onCheckpoint;
    this.checkpointExtra = options.checkpointExtra ?? null;
    const factor = options.divergenceFactor === undefined ? 100 : options.divergenceFactor;
    if (factor !== null && !(typeof factor === 'number' && factor > 1)) fail(fn, 'divergenceFactor to be a number > 1 or null', show(options.divergenceFactor));
    this.divergenceFactor = factor;

    // Two independent streams, so that calling checkAccuracy by hand never changes the minibatches.
    const root = rng(this.seed);
    this.batchRng = root.fork();
    this.sampleRng = root.fork();
    this.augmentRng = root.fork();

    const numTrain = this.data.XTrain.shape[0]!;
    this.iterationsPerEpoch = Math.max(Math.floor(numTrain / this.batchSize), 1);
    this.numIterations = this.numEpochs * this.iterationsPerEpoch;

    for (const name of Object.keys(model.params)) this.optimConfigs[name] = structuredClone(this.optimConfig);
    // Let a built-in rule reject a bad optimConfig now rather than at the first step; its
    // filled-in config gives the schedule's base learning rate when optimConfig has none.
    this.baseLearningRate = this.optimConfig.learningRate;
    if (typeof options.updateRule !== 'function') {
      const [name, w] = Object.entries(model.params)[0]!;
      const filled = this.updateRule(w, zerosLike(w), structuredClone(this.optimConfig), name).config.learningRate;
      this.baseLearningRate ??= filled;
    }
    if (!this.multipliesLearningRate && typeof this.baseLearningRate !== 'number') {
      fail(fn, `optimConfig.learningRate for lrSchedule '${this.lrSchedule}'${this.warmupEpochs > 0 ? ' with warmupEpochs' : ''} (a custom update rule has no default)`, show(this.baseLearningRate));
    }
    if (options.resume !== undefined) {
      if (!(options.resume instanceof Uint8Array)) fail(fn, 'resume to be the bytes of a checkpoint (a Uint8Array)', show(options.resume));
      this.restore(decodeCheckpoint(options.resume, 'the checkpoint'));
    }
  }

  /**
   * The whole training state between two iterations as a checkpoint (safetensors bytes, see
   * checkpoint.ts): current and best parameters and buffers, each parameter's update-rule
   * state, the epoch, histories, and the state of every random generator (minibatches,
   * accuracy samples, augmentation, the model's dropout). `resume` continues from it exactly.
   */
  checkpoint(): Uint8Array {
    const model = this.model as CheckpointableModel;
    if (model.config === null || typeof model.config !== 'object') {
      throw new ConvnetError('Solver.checkpoint', 'expected a convnet model (with a config) to checkpoint, got a model without config');
    }
    return encodeCheckpoint({
      modelConfig: model.config,
      model: { ...model.params, ...(model.buffers ?? {}) },
      best: { ...this.bestParams, ...this.bestBuffers },
      solver: {
        epoch: this.epoch,
        iterationsPerEpoch: this.iterationsPerEpoch,
        batchSize: this.batchSize,
        seed: this.seed,
        updateRule: this.updateRuleName,
        lrDecay: this.lrDecay,
        lrSchedule: this.lrSchedule,
        warmupEpochs: this.warmupEpochs,
        stepEpochs: this.stepEpochs,
        weightDecay: this.weightDecay,
        labelSmoothing: this.labelSmoothing,
        lossHistory: this.lossHistory,
        trainAccHistory: this.trainAccHistory,
        valAccHistory: this.valAccHistory,
        checkIterations: this.checkIterations,
        bestValAcc: this.bestValAcc,
        hasBest: this.hasBest,
        optimConfigs: this.optimConfigs,
        random: { batch: this.batchRng.getState(), sample: this.sampleRng.getState(), augment: this.augmentRng.getState(), model: model.randomState?.() ?? [] },
        // Only MSE runs carry these, so that classifiers' checkpoints are as they were.
        ...(this.metric === 'mse' ? { metric: this.metric, trainMseHistory: this.trainMseHistory, valMseHistory: this.valMseHistory, bestValMse: this.hasBest ? this.bestValMse : null } : {}),
      },
      extra: this.checkpointExtra,
    });
  }

  /** Puts a checkpoint's state into this Solver and its model (the constructor's `resume`). */
  private restore(checkpoint: Checkpoint): void {
    const fn = 'Solver';
    const model = this.model as CheckpointableModel;
    const s = checkpoint.solver;
    if (model.config === undefined || JSON.stringify(model.config) !== JSON.stringify(checkpoint.modelConfig)) {
      throw new ConvnetError(fn, `expected to resume the model the checkpoint was made with (${JSON.stringify(checkpoint.modelConfig)}), got ${model.config === undefined ? 'a model without config' : JSON.stringify(model.config)}`);
    }
    const same: [string, unknown, unknown][] = [
      ['batchSize', this.batchSize, s.batchSize],
      ['iterations per epoch (training images / batchSize)', this.iterationsPerEpoch, s.iterationsPerEpoch],
      ['seed', this.seed, s.seed],
      ['updateRule', this.updateRuleName, s.updateRule],
      ['lrDecay', this.lrDecay, s.lrDecay],
      ['lrSchedule', this.lrSchedule, s.lrSchedule],
      ['warmupEpochs', this.warmupEpochs, s.warmupEpochs],
      ['stepEpochs', this.stepEpochs, s.stepEpochs],
      ['weightDecay', this.weightDecay, s.weightDecay],
      ['labelSmoothing', this.labelSmoothing, s.labelSmoothing],
    ];
    for (const [what, mine, theirs] of same) {
      if (mine !== theirs) throw new ConvnetError(fn, `expected the ${what} of the run being resumed (${show(theirs)}), got ${show(mine)}`);
    }
    if ((s.metric ?? 'accuracy') !== this.metric) {
      throw new ConvnetError(fn, `expected data like the run being resumed's (checked by ${s.metric ?? 'accuracy'}), got ${this.metric === 'mse' ? 'target tensors (checked by mse)' : 'class labels (checked by accuracy)'}`);
    }
    if (s.lossHistory.length > this.numIterations) {
      throw new ConvnetError(fn, `expected numEpochs to cover the ${s.lossHistory.length} iterations already done, got ${this.numEpochs} epochs (${this.numIterations} iterations)`);
    }
    const buffers = model.buffers ?? {};
    const tensorNames = [...Object.keys(model.params), ...Object.keys(buffers)];
    const missing = tensorNames.filter((name) => checkpoint.model[name] === undefined);
    if (missing.length > 0) throw new ConvnetError(fn, `expected the checkpoint to hold ${missing.join(', ')}, got none`);
    const optimNames = Object.keys(s.optimConfigs);
    if (optimNames.length !== Object.keys(model.params).length || !Object.keys(model.params).every((n) => optimNames.includes(n))) {
      throw new ConvnetError(fn, `expected update-rule state for ${Object.keys(model.params).join(', ')}, got ${optimNames.join(', ')}`);
    }
    for (const name of Object.keys(model.params)) model.params[name] = clone(checkpoint.model[name]!);
    // In place: layers hold references to their buffers.
    for (const name of Object.keys(buffers)) buffers[name]!.data.set(checkpoint.model[name]!.data);
    this.bestParams = {};
    this.bestBuffers = {};
    for (const [name, t] of Object.entries(checkpoint.best)) (name in model.params ? this.bestParams : this.bestBuffers)[name] = t;
    this.optimConfigs = s.optimConfigs;
    this.epoch = s.epoch;
    this.lossHistory = [...s.lossHistory];
    this.trainAccHistory = [...s.trainAccHistory];
    this.valAccHistory = [...s.valAccHistory];
    this.checkIterations = [...s.checkIterations];
    this.bestValAcc = s.bestValAcc;
    this.hasBest = s.hasBest;
    this.trainMseHistory = [...(s.trainMseHistory ?? [])];
    this.valMseHistory = [...(s.valMseHistory ?? [])];
    this.bestValMse = s.bestValMse ?? Infinity;
    this.batchRng.setState(s.random.batch);
    this.sampleRng.setState(s.random.sample);
    this.augmentRng.setState(s.random.augment);
    if (typeof model.setRandomState === 'function') model.setRandomState(s.random.model);
    else if (s.random.model.length > 0) throw new ConvnetError(fn, 'expected a model that can restore its dropout generators, got one without setRandomState');
  }

  /** Asks training to stop after the current iteration (or accuracy batch). */
  stop(): void {
    this.stopRequested = true;
  }

  private get stopping(): boolean {
    return this.stopRequested || this.signal?.aborted === true;
  }

  /**
   * Trains to the end (or until stopped) and returns a summary. Progress goes to the
   * callbacks and the log. A Solver trains once; make a new one to train again.
   */
  async train(): Promise<TrainResult> {
    const startedAt = performance.now();
    for await (const record of this.iterations()) void record;
    const mse = this.metric === 'mse';
    return { stopped: !this.completed, iterations: this.lossHistory.length, epochs: this.epoch, bestValAcc: mse ? NaN : this.bestValAcc, bestValMse: mse ? this.bestValMse : NaN, elapsedMs: performance.now() - startedAt };
  }

  /**
   * Trains, yielding a record after every iteration and every accuracy check. Leaving the loop
   * (break, return, throw) stops training and puts the best parameters into the model. The
   * callbacks run too, before each record is yielded.
   */
  async *iterations(): AsyncGenerator<SolverRecord, void, undefined> {
    const fn = 'Solver.train';
    if (this.started) throw new ConvnetError(fn, 'expected a Solver that has not trained yet (a Solver trains once; make a new one)');
    this.started = true;
    const startedAt = performance.now();
    try {
      for (let t = this.lossHistory.length; t < this.numIterations; t++) {
        if (this.stopping) break;
        const epochOfStep = this.epoch + 1;
        const before = performance.now();
        this.scheduleLearningRate(t);
        const loss = this.step(t);
        const msPerBatch = performance.now() - before;
        const lr = this.optimConfigs[Object.keys(this.optimConfigs)[0]!]!.learningRate;
        if (t % this.printEvery === 0) this.log(`(Iteration ${t + 1} / ${this.numIterations}) loss: ${loss.toFixed(6)}`);
        const record: IterationRecord = {
          kind: 'iteration',
          epoch: epochOfStep,
          numEpochs: this.numEpochs,
          iteration: t + 1,
          numIterations: this.numIterations,
          iterationsPerEpoch: this.iterationsPerEpoch,
          loss,
          msPerBatch,
          imagesPerSecond: msPerBatch > 0 ? (this.batchSize * 1000) / msPerBatch : Infinity,
          lr: typeof lr === 'number' ? lr : NaN,
          elapsedMs: performance.now() - startedAt,
        };
        await this.onIteration?.(record);
        yield record;

        const epochEnd = (t + 1) % this.iterationsPerEpoch === 0;
        if (epochEnd) {
          this.epoch += 1;
          if (this.multipliesLearningRate) {
            for (const config of Object.values(this.optimConfigs)) {
              if (typeof config.learningRate === 'number') config.learningRate *= this.lrDecay;
            }
          }
        }
        if (t === 0 || t === this.numIterations - 1 || epochEnd) {
          // A check runs to its end even when a stop is asked for, so that a checkpoint never
          // falls inside one.
          const mse = this.metric === 'mse';
          const train = await this.metricAsync(this.data.XTrain, this.trainTargets, this.numTrainSamples);
          const val = await this.metricAsync(this.data.XVal, this.valTargets, this.numValSamples);
          (mse ? this.trainMseHistory : this.trainAccHistory).push(train);
          (mse ? this.valMseHistory : this.valAccHistory).push(val);
          this.checkIterations.push(t + 1);
          const improved = !this.hasBest || (mse ? val < this.bestValMse : val > this.bestValAcc);
          if (improved) {
            this.hasBest = true;
            if (mse) this.bestValMse = val;
            else this.bestValAcc = val;
            this.bestParams = copyParams(this.model.params);
            this.bestBuffers = copyParams(this.model.buffers ?? {});
          }
          await this.saveCheckpoint();
          await this.onCheckpoint?.(this.checkpoint(), 'epoch');
          if (mse) this.log(`(Epoch ${this.epoch} / ${this.numEpochs}) train mse: ${train.toPrecision(6)}; val mse: ${val.toPrecision(6)}`);
          else this.log(`(Epoch ${this.epoch} / ${this.numEpochs}) train acc: ${train.toFixed(6)}; val_acc: ${val.toFixed(6)}`);
          const check: EpochRecord = {
            kind: 'epoch',
            epoch: this.epoch,
            numEpochs: this.numEpochs,
            iteration: t + 1,
            numIterations: this.numIterations,
            metric: this.metric,
            trainAcc: mse ? NaN : train,
            valAcc: mse ? NaN : val,
            bestValAcc: mse ? NaN : this.bestValAcc,
            trainMse: mse ? train : NaN,
            valMse: mse ? val : NaN,
            bestValMse: mse ? this.bestValMse : NaN,
            improved,
            elapsedMs: performance.now() - startedAt,
          };
          await this.onEpoch?.(check);
          yield check;
        }
        // Let timers, I/O and signal handlers (a progress bar, Ctrl-C) run.
        await yieldToEventLoop();
      }
      this.completed = this.lossHistory.length === this.numIterations && this.checkIterations.at(-1) === this.numIterations;
      // Stopped early: the current state, before the best parameters go back into the model.
      if (!this.completed) await this.onCheckpoint?.(this.checkpoint(), 'stop');
    } finally {
      if (this.hasBest) {
        for (const [name, p] of Object.entries(this.bestParams)) this.model.params[name] = clone(p);
        // In place: layers hold references to their buffers.
        for (const [name, b] of Object.entries(this.bestBuffers)) this.model.buffers![name]!.data.set(b.data);
      }
    }
  }

  /**
   * Whether the learning rate is multiplied by lrDecay at each epoch end (CS231n's way, kept
   * bit for bit for 'exp' without warm-up) rather than set from the schedule before each step.
   */
  private get multipliesLearningRate(): boolean {
    return this.lrSchedule === 'exp' && this.warmupEpochs === 0;
  }

  /** The schedule's learning rate for step t (0-based), or null when the configs carry it. */
  learningRateAt(t: number): number | null {
    const lr0 = this.baseLearningRate;
    if (this.multipliesLearningRate || typeof lr0 !== 'number') return null;
    const epoch = Math.floor(t / this.iterationsPerEpoch);
    let lr: number;
    if (this.lrSchedule === 'cosine') lr = (lr0 * (1 + Math.cos((Math.PI * t) / this.numIterations))) / 2;
    else if (this.lrSchedule === 'step') lr = lr0 * this.lrDecay ** Math.floor(epoch / this.stepEpochs);
    else lr = lr0 * this.lrDecay ** epoch;
    const warmup = this.warmupEpochs * this.iterationsPerEpoch;
    if (t < warmup) lr *= (t + 1) / warmup;
    return lr;
  }

  /** Sets every config's learningRate to the schedule's value for step t (0-based). */
  private scheduleLearningRate(t: number): void {
    const lr = this.learningRateAt(t);
    if (lr === null) return;
    for (const config of Object.values(this.optimConfigs)) config.learningRate = lr;
  }

  /** One update from a sampled minibatch; returns its loss. */
  private step(t: number): number {
    const fn = 'Solver.train';
    const XTrain = this.data.XTrain;
    const indices = new Int32Array(this.batchSize);
    for (let i = 0; i < indices.length; i++) indices[i] = this.batchRng.int(XTrain.shape[0]!);
    let batch = gather(XTrain, indices);
    if (this.augment) {
      const augmented = this.augment(batch, this.augmentRng);
      assertTensor(fn, 'augment(X)', augmented);
      if (augmented.shape.length !== batch.shape.length || augmented.shape.some((d, i) => d !== batch.shape[i]) || augmented.dtype !== batch.dtype) {
        fail(fn, `augment to return a ${batch.dtype} batch of shape ${show(batch.shape)}`, `${augmented.dtype} ${show(augmented.shape)}`);
      }
      batch = augmented;
    }
    const targets = this.trainTargets;
    const y = targets === 'inputs' ? batch : targets instanceof Int32Array ? gatherLabels(targets, indices) : gather(targets, indices);
    // assertSmoothable checked, in the constructor, that a model trained with smoothing takes it.
    // A Network reuses its arrays step after step (the grads are consumed below, before the next step).
    const out: LossAndGrads = takesLossOptions(this.model)
      ? this.model.loss(batch, y, { reuseArrays: true, ...(this.labelSmoothing > 0 ? { labelSmoothing: this.labelSmoothing } : {}) })
      : this.model.loss(batch, y);
    if (out === null || typeof out !== 'object' || out.grads === null || typeof out.grads !== 'object') {
      throw new ConvnetError(fn, `expected model.loss(X, y) to return { loss, grads }, got ${show(out === null || typeof out !== 'object' ? out : Object.keys(out))}`);
    }
    if (typeof out.loss !== 'number' || !Number.isFinite(out.loss)) {
      throw new ConvnetError(
        fn,
        `expected a finite loss, got ${show(out.loss)} at iteration ${t + 1} (epoch ${this.epoch + 1}, learning rate ${this.currentLearningRate()}); training diverged — try a smaller learningRate or weightScale`,
      );
    }
    const first = this.lossHistory[0];
    if (this.divergenceFactor !== null && first !== undefined && first > 0 && out.loss > this.divergenceFactor * first) {
      throw new ConvnetError(
        fn,
        `expected the loss to stay below ${this.divergenceFactor}× the first iteration's ${first.toPrecision(4)}, got ${out.loss.toPrecision(4)} at iteration ${t + 1} (epoch ${this.epoch + 1}, learning rate ${this.currentLearningRate()}); training diverged — try a smaller learningRate`,
      );
    }
    const params = this.model.params;
    for (const name of Object.keys(out.grads)) {
      if (!(name in params)) throw new ConvnetError(fn, `expected grads only for model.params (${Object.keys(params).join(', ')}), got ${show(name)}`);
    }
    for (const name of Object.keys(params)) {
      const dw = out.grads[name];
      if (dw === undefined) throw new ConvnetError(fn, `expected grads to have a gradient for every parameter, missing ${show(name)}`);
      const { next, config } = this.updateRule(this.decay(name, params[name]!), dw, this.optimConfigs[name], name);
      assertTensor(fn, `the update of ${name}`, next);
      if (next.data.length !== params[name]!.data.length) {
        throw new ConvnetError(fn, `expected the update rule to return ${name} of shape ${show(params[name]!.shape)}, got ${show(next.shape)}`);
      }
      params[name] = next;
      this.optimConfigs[name] = config;
    }
    this.lossHistory.push(out.loss);
    return out.loss;
  }

  /** w · (1 − lr·weightDecay) for the decayed parameters (a new tensor); w itself otherwise. */
  private decay(name: string, w: Tensor): Tensor {
    if (!this.decayed.has(name)) return w;
    const lr = this.optimConfigs[name]!.learningRate;
    if (typeof lr !== 'number') return w;
    const factor = 1 - lr * this.weightDecay;
    const out = allocate(w.dtype, w.data.length);
    for (let i = 0; i < out.length; i++) out[i] = w.data[i]! * factor;
    return { shape: [...w.shape], data: out, dtype: w.dtype };
  }

  /**
   * The fraction of X the model classifies as y: scores from model.loss(X) in batches of
   * batchSize, argmax per row (the first maximum on ties). When numSamples is given and smaller
   * than N, that many samples are drawn with replacement from the Solver's seeded generator.
   */
  checkAccuracy(X: Tensor, y: Int32Array, numSamples: number | null = null, batchSize = 100): number {
    let accuracy = 0;
    for (const step of this.accuracySteps('Solver.checkAccuracy', X, y, numSamples, batchSize)) accuracy = step;
    return accuracy;
  }

  /**
   * The mean squared error of the test-mode output of model.loss(X) against Y (N, …output),
   * or against X itself for 'inputs', over every element; in batches of batchSize, with
   * numSamples drawn as checkAccuracy draws them.
   */
  checkMse(X: Tensor, Y: Tensor | 'inputs' = 'inputs', numSamples: number | null = null, batchSize = 100): number {
    let mse = 0;
    for (const step of this.mseSteps('Solver.checkMse', X, Y, numSamples, batchSize)) mse = step;
    return mse;
  }

  /** The run's metric (checkAccuracy or checkMse), yielding to the event loop between batches (a progress bar, signals). */
  private async metricAsync(X: Tensor, targets: Targets, numSamples: number | null): Promise<number> {
    const steps = targets instanceof Int32Array ? this.accuracySteps('Solver.train', X, targets, numSamples, this.batchSize) : this.mseSteps('Solver.train', X, targets, numSamples, this.batchSize);
    let value = 0;
    for (const step of steps) {
      if (step >= 0) value = step;
      else await yieldToEventLoop();
    }
    return value;
  }

  /** The samples a check uses: numSamples drawn with replacement from N, or null for all. */
  private sampleIndices(fn: string, N0: number, numSamples: number | null): Int32Array | null {
    if (numSamples === null || numSamples === undefined) return null;
    integer(fn, 'numSamples', numSamples, 1);
    if (N0 <= numSamples) return null;
    const indices = new Int32Array(numSamples);
    for (let i = 0; i < numSamples; i++) indices[i] = this.sampleRng.int(N0);
    return indices;
  }

  /** Yields -1 after each batch, then the mean squared error. */
  private *mseSteps(fn: string, X: Tensor, Y: Tensor | 'inputs', numSamples: number | null, batchSize: number): Generator<number> {
    assertTensor(fn, 'X', X);
    if (X.shape.length < 2) throw new ConvnetError(fn, `expected X of shape (N, …) with rank >= 2, got ${show(X.shape)}`);
    const N0 = X.shape[0]!;
    if (Y !== 'inputs') {
      assertTensor(fn, 'Y', Y);
      if (Y.shape[0] !== N0) throw new ConvnetError(fn, `expected Y to have one target per sample of X (${N0}), got shape ${show(Y.shape)}`);
    }
    integer(fn, 'batchSize', batchSize, 1);
    const indices = this.sampleIndices(fn, N0, numSamples);
    const N = indices ? indices.length : N0;
    if (N === 0) throw new ConvnetError(fn, `expected at least one sample, got X.shape ${show(X.shape)}`);
    let sum = 0;
    let count = 0;
    for (let start = 0; start < N; start += batchSize) {
      const end = Math.min(start + batchSize, N);
      const batch = new Int32Array(end - start);
      for (let i = 0; i < batch.length; i++) batch[i] = indices ? indices[start + i]! : start + i;
      const Xb = gather(X, batch);
      const target = Y === 'inputs' ? Xb : gather(Y, batch);
      const out: unknown = this.model.loss(Xb);
      assertTensor(fn, 'the output of model.loss(X)', out);
      if (out.shape.length !== target.shape.length || out.shape.some((d, i) => d !== target.shape[i])) {
        throw new ConvnetError(fn, `expected model.loss(X) to return an output of the targets' shape ${show(target.shape)}, got ${show(out.shape)}`);
      }
      for (let i = 0; i < out.data.length; i++) {
        const d = out.data[i]! - target.data[i]!;
        sum += d * d;
      }
      count += out.data.length;
      if (end < N) yield -1;
    }
    yield sum / count;
  }

  /** Yields -1 after each batch, then the accuracy. */
  private *accuracySteps(fn: string, X: Tensor, y: Int32Array, numSamples: number | null, batchSize: number): Generator<number> {
    assertTensor(fn, 'X', X);
    if (X.shape.length < 2) throw new ConvnetError(fn, `expected X of shape (N, …) with rank >= 2, got ${show(X.shape)}`);
    const N0 = X.shape[0]!;
    const labels = checkLabels(fn, 'y', y, N0);
    integer(fn, 'batchSize', batchSize, 1);
    const indices = this.sampleIndices(fn, N0, numSamples);
    const N = indices ? indices.length : N0;
    if (N === 0) throw new ConvnetError(fn, `expected at least one sample, got X.shape ${show(X.shape)}`);
    let correct = 0;
    for (let start = 0; start < N; start += batchSize) {
      const end = Math.min(start + batchSize, N);
      const batch = new Int32Array(end - start);
      for (let i = 0; i < batch.length; i++) batch[i] = indices ? indices[start + i]! : start + i;
      const scores: unknown = this.model.loss(gather(X, batch));
      assertTensor(fn, 'the scores of model.loss(X)', scores, 2);
      if (scores.shape[0] !== batch.length || scores.shape[1]! < 1) {
        throw new ConvnetError(fn, `expected model.loss(X) to return scores of shape [${batch.length}, C], got ${show(scores.shape)}`);
      }
      const C = scores.shape[1]!;
      for (let i = 0; i < batch.length; i++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (scores.data[i * C + c]! > scores.data[i * C + best]!) best = c;
        if (best === labels[batch[i]!]) correct++;
      }
      if (end < N) yield -1;
    }
    yield correct / N;
  }

  /** The learning rate of the first parameter's config (what the next step uses). */
  private currentLearningRate(): number | string {
    const lr = Object.values(this.optimConfigs)[0]?.learningRate;
    return typeof lr === 'number' ? lr : 'unknown';
  }

  /** Writes `${checkpointName}_epoch_${epoch}.safetensors` atomically. */
  private async saveCheckpoint(): Promise<void> {
    if (this.checkpointName === null) return;
    const path = `${this.checkpointName}_epoch_${this.epoch}.safetensors`;
    this.log(`Saving checkpoint to "${path}"`);
    // Node's file system, loaded only when a checkpoint file is written (the library runs in browsers).
    const fs = await import('node:fs/promises').catch(() => {
      throw new ConvnetError('Solver', `checkpointName needs Node's file system to write "${path}", and this runtime has none`);
    });
    const { dirname } = await import('node:path');
    const { writeFileAtomic } = await import('../io/atomic.js');
    await fs.mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, this.checkpoint());
  }
}

/** Checks that `model` has a non-empty params record of tensors and a loss method. */
function assertModel(fn: string, model: unknown): asserts model is TrainableModel {
  const m = model as TrainableModel;
  if (m === null || typeof m !== 'object' || typeof m.loss !== 'function') {
    throw new ConvnetError(fn, `expected model to have params and a loss(X, y?) method, got ${describe(model)}`);
  }
  if (m.params === null || typeof m.params !== 'object' || Object.keys(m.params).length === 0) {
    throw new ConvnetError(fn, `expected model.params to be a non-empty record of tensors, got ${describe(m.params)}`);
  }
  for (const [name, p] of Object.entries(m.params)) assertTensor(fn, `model.params.${name}`, p);
}

/** A short description of a value (never the contents of a large object). */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const keys = Object.keys(value);
  return `an object with keys [${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}]`;
}

/** What checkpoints need of a model beyond training: its config and its own generators. */
type CheckpointableModel = TrainableModel & {
  config?: import('../models/model.js').ModelConfig;
  randomState?: () => RngState[];
  setRandomState?: (states: readonly RngState[]) => void;
};

/** The data, checked, and each split's targets (labels, target tensors or 'inputs'). */
function checkData(fn: string, data: unknown): { data: SolverData; train: Targets; val: Targets } {
  assertObject(fn, 'data', data);
  const { XTrain, yTrain, XVal, yVal } = data as Partial<TrainingData>;
  for (const [name, X] of [['XTrain', XTrain], ['XVal', XVal]] as const) {
    assertTensor(fn, `data.${name}`, X);
    if (X.shape.length < 2 || X.shape[0]! < 1) {
      throw new ConvnetError(fn, `expected data.${name} of shape (N, …) with N >= 1 and rank >= 2, got ${show(X.shape)}`);
    }
  }
  const xt = XTrain as Tensor;
  const xv = XVal as Tensor;
  if (xv.dtype !== xt.dtype) throw new ConvnetError(fn, `expected data.XVal to have the dtype of data.XTrain (${xt.dtype}), got ${xv.dtype}`);
  const sampleShape = xt.shape.slice(1);
  if (xv.shape.length !== xt.shape.length || xv.shape.slice(1).some((d, i) => d !== sampleShape[i])) {
    throw new ConvnetError(fn, `expected data.XVal samples of shape ${show(sampleShape)} (XTrain's), got data.XVal.shape ${show(xv.shape)}`);
  }
  if ('targets' in data) {
    if (data.targets !== 'inputs') fail(fn, "data.targets to be 'inputs' (each minibatch is its own target)", show(data.targets));
    if (yTrain !== undefined || yVal !== undefined) fail(fn, "either data.targets 'inputs' or data.yTrain and data.yVal", 'both');
    return { data: { XTrain: xt, XVal: xv, targets: 'inputs' }, train: 'inputs', val: 'inputs' };
  }
  const isTensorTarget = (y: unknown): boolean => y !== null && typeof y === 'object' && !Array.isArray(y) && !ArrayBuffer.isView(y) && 'shape' in y;
  if (isTensorTarget(yTrain) || isTensorTarget(yVal)) {
    for (const [name, Y, X] of [['yTrain', yTrain, xt], ['yVal', yVal, xv]] as const) {
      if (!isTensorTarget(Y)) fail(fn, `data.${name} to be a target tensor too (the other split's is one), or both to be class labels`, show(Y));
      assertTensor(fn, `data.${name}`, Y);
      if (Y.shape.length < 2 || Y.shape[0] !== X.shape[0]) fail(fn, `data.${name} of shape (N, …) with one target per sample (${X.shape[0]})`, show(Y.shape));
      if (Y.dtype !== xt.dtype) fail(fn, `data.${name} of the dtype of data.XTrain (${xt.dtype})`, Y.dtype);
    }
    const Yt = yTrain as unknown as Tensor;
    const Yv = yVal as unknown as Tensor;
    if (Yt.shape.length !== Yv.shape.length || Yt.shape.slice(1).some((d, i) => d !== Yv.shape[i + 1])) {
      fail(fn, `data.yVal targets of shape ${show(Yt.shape.slice(1))} (yTrain's)`, `data.yVal.shape ${show(Yv.shape)}`);
    }
    return { data: { XTrain: xt, yTrain: Yt, XVal: xv, yVal: Yv }, train: Yt, val: Yv };
  }
  const labelsTrain = checkLabels(fn, 'data.yTrain', yTrain, xt.shape[0]!);
  const labelsVal = checkLabels(fn, 'data.yVal', yVal, xv.shape[0]!);
  return { data: { XTrain: xt, yTrain: labelsTrain, XVal: xv, yVal: labelsVal }, train: labelsTrain, val: labelsVal };
}

/** Labels as an Int32Array of N non-negative integers (number[] is accepted and converted). */
function checkLabels(fn: string, name: string, y: unknown, n: number): Int32Array {
  if (!(y instanceof Int32Array) && !Array.isArray(y)) fail(fn, `${name} to be an Int32Array of class labels`, show(y));
  const values = y as ArrayLike<number>;
  if (values.length !== n) fail(fn, `${name} to have one label per sample (${n})`, `${values.length} labels`);
  for (let i = 0; i < n; i++) {
    const label = values[i]!;
    if (!Number.isInteger(label) || label < 0) fail(fn, `${name} to hold non-negative integer labels`, `${name}[${i}] = ${show(label)}`);
  }
  return y instanceof Int32Array ? y : Int32Array.from(values);
}

/** The samples of X at `indices`, in that order: (indices.length, …X.shape[1:]). */
function gather(X: Tensor, indices: Int32Array): Tensor {
  const per = sizeOf(X.shape.slice(1));
  const out = allocate(X.dtype, indices.length * per);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i]! * per;
    out.set(X.data.subarray(from, from + per), i * per);
  }
  return { shape: [indices.length, ...X.shape.slice(1)], data: out, dtype: X.dtype };
}

function gatherLabels(y: Int32Array, indices: Int32Array): Int32Array {
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = y[indices[i]!]!;
  return out;
}

function copyParams(params: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, p] of Object.entries(params)) out[name] = clone(p);
  return out;
}
