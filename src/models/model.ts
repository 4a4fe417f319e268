/**
 * The model contract every convnet model implements (ThreeLayerConvNet, FullyConnectedNet,
 * ConvNet, and any Network of modules). It keeps CS231n's:
 *
 *   model.params            trainable parameters by name (W1, b1, gamma1, …)
 *   model.loss(X)           test-time forward: class scores (N, C), or the model's output
 *   model.loss(X, y)        training forward and backward: the mean loss (regularisation
 *                           included) and a gradient for every key of params, same shapes
 *
 * y is what the model's loss head (lossHead) compares the output with: class labels (N) for
 * 'softmax' (the default), one label per pixel (N·H·W, row-major) for 'pixelSoftmax', a
 * target tensor of the output's shape (N, …outputShape) for 'mse' and 'l1'.
 *
 * and adds what saving, exporting, drawing and inspecting a model need: buffers, the forward in
 * either mode, the gradient of the scores with respect to the input, a JSON config that
 * buildModel turns back into the same architecture, and a summary.
 *
 * An update *replaces* `model.params[name]` with a new tensor (CS231n's
 * `self.model.params[p] = next_w`); buffers are updated in place by training forwards.
 */
import type { Json, Mode } from '../nn/module.js';
import type { RngState } from '../rng.js';
import type { DType, Tensor } from '../tensor.js';

export interface LossAndGrads {
  /** The mean loss over the batch, regularisation included. */
  loss: number;
  /** d loss / d params[name] for every name of params. */
  grads: Record<string, Tensor>;
}

/**
 * The loss a model ends in (LossHeadOptions, normalised):
 *   softmax        cross-entropy of scores (N, C) against class labels (N); with class
 *                  weights (one per class), an ignored label, label smoothing ε
 *   pixelSoftmax   the same per position: scores (N, C, H, W), labels (N, H, W) flattened
 *                  row-major; the mean is over the positions not ignored (weighted)
 *   mse, l1        mean squared / absolute error against a target tensor of the output's
 *                  shape (regression, reconstruction)
 * The softmax losses are softmaxCrossEntropyLoss's (src/layers/loss.ts) with reduction 'mean'.
 */
export type LossHead = SoftmaxHead | RegressionHead;

/** Mean squared or absolute error against a target tensor; no options. */
export interface RegressionHead {
  kind: 'mse' | 'l1';
}

/** The softmax heads' options: one weight per class, a label that counts for nothing, ε in [0, 1]. */
export interface SoftmaxHead {
  kind: 'softmax' | 'pixelSoftmax';
  weights?: number[];
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** What loss(X, y) takes as y: class labels (softmax heads) or a target tensor (mse, l1). */
export type LossTarget = Int32Array | number[] | Tensor;

/** Per-call options of a training loss, Network.loss(X, y, options): the Solver's labelSmoothing. */
export interface TrainingLossOptions {
  /** Smoothed class targets, (1 − ε)·onehot + ε/C, in place of the loss head's own smoothing. */
  labelSmoothing?: number;
  /**
   * Take every array of the call (activations, caches, the gradients returned) from the
   * model's training arena, reusing those of the previous such call: after the first call at a
   * batch size nothing new is allocated, and on the WebAssembly kernels the arrays live in its
   * memory (no copies in or out). The gradients returned are then valid until the next call
   * with reuseArrays (like PyTorch's .grad buffers): the Solver consumes them before its next
   * step. Default false (every call's arrays are its own).
   */
  reuseArrays?: boolean;
}

/** A model's architecture as plain JSON: `kind` names the class; buildModel reads it. */
export interface ModelConfig {
  kind: string;
  [option: string]: Json;
}

export interface Model {
  /** Trainable parameters by CS231n's names (W1, b1, …, gamma1, beta1, …). */
  params: Record<string, Tensor>;
  /** Saved, untrained state (batch norm's runningMean1, runningVar1, …), updated in place. */
  buffers: Record<string, Tensor>;
  readonly dtype: DType;
  /** One sample's shape, e.g. [1, 28, 28] or [784]. */
  readonly inputShape: readonly number[];
  /** Classes of a softmax head (the score channels of a pixelSoftmax head); 0 for mse and l1. */
  readonly numClasses: number;
  /** One sample's output shape: [numClasses], [C, H, W] for pixelSoftmax, anything for mse / l1. */
  readonly outputShape: readonly number[];
  /** The loss the model is trained with, and so what y must be in loss(X, y). */
  readonly lossHead: LossHead;
  readonly config: ModelConfig;
  /** The output (N, …outputShape), class scores for a classifier, for X (N, …inputShape); mode 'test' unless asked. */
  forward(X: Tensor, options?: { mode?: Mode }): Tensor;
  /** The output (class scores (N, C) for a classifier) for X, in test mode. */
  loss(X: Tensor): Tensor;
  /** The loss and its gradients for X with targets y (labels or a target tensor, by lossHead), in train mode. */
  loss(X: Tensor, y: LossTarget): LossAndGrads;
  /** d(Σ scores · dscores) / dX for the test-mode scores (output) of X: saliency maps and fooling images. */
  inputGradient(X: Tensor, dscores: Tensor): Tensor;
  /** A table of layers with output shapes and parameter counts. */
  summary(): string;
  /** The state of the model's own random generators (dropout masks), for exact resumes. */
  randomState(): RngState[];
  setRandomState(states: readonly RngState[]): void;
}

/**
 * What the Solver needs of a model: CS231n's part of the contract (params, loss) and the
 * buffers it keeps with the best parameters.
 */
export type TrainableModel = Pick<Model, 'params' | 'loss'> & Partial<Pick<Model, 'buffers'>>;
