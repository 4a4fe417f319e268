/**
 * The model contract every convnet model implements (ThreeLayerConvNet, FullyConnectedNet,
 * ConvNet, and any Network of modules). It keeps CS231n's:
 *
 *   model.params            trainable parameters by name (W1, b1, gamma1, …)
 *   model.loss(X)           test-time forward: class scores (N, C)
 *   model.loss(X, y)        training forward and backward: the mean loss (regularisation
 *                           included) and a gradient for every key of params, same shapes
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
  readonly numClasses: number;
  readonly config: ModelConfig;
  /** Class scores (N, numClasses) for X (N, …inputShape); mode 'test' unless asked. */
  forward(X: Tensor, options?: { mode?: Mode }): Tensor;
  /** Class scores (N, C) for X, in test mode. */
  loss(X: Tensor): Tensor;
  /** The loss and its gradients for X with labels y, in train mode. */
  loss(X: Tensor, y: Int32Array | number[]): LossAndGrads;
  /** d(Σ scores · dscores) / dX for the test-mode scores of X: saliency maps and fooling images. */
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
