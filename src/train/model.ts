/**
 * What the Solver needs from a model: CS231n's contract, with TypeScript overloads.
 *
 *   model.params            trainable parameters by name (W1, b1, gamma1, …)
 *   model.loss(X)           test-time forward: class scores (N, C)
 *   model.loss(X, y)        training forward and backward: the mean loss (regularisation
 *                           included) and a gradient for every key of params, same shapes
 *
 * The Solver *replaces* `model.params[name]` with a new tensor after every update (as
 * CS231n's `self.model.params[p] = next_w`), so `loss` must read `this.params[name]` on every
 * call instead of holding on to tensors. Anything that is not trained (batchnorm running
 * statistics, dropout seeds) lives outside `params`. Passing y switches layers such as dropout
 * and batchnorm to train mode, as in CS231n.
 *
 * A class implements the overloads like this:
 *   loss(X: Tensor): Tensor;
 *   loss(X: Tensor, y: Int32Array): LossAndGrads;
 *   loss(X: Tensor, y?: Int32Array): Tensor | LossAndGrads { … }
 */
import { ConvnetError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { assertTensor } from '../validate.js';

export interface LossAndGrads {
  /** The mean loss over the batch, regularisation included. */
  loss: number;
  /** d loss / d params[name] for every name of params. */
  grads: Record<string, Tensor>;
}

export interface Model {
  params: Record<string, Tensor>;
  /**
   * State that is not trained by gradients but belongs with the parameters, such as batchnorm
   * running statistics. The Solver saves it with the best parameters and restores it by copying
   * values into these same tensors (layers keep references to them).
   */
  buffers?: Record<string, Tensor>;
  /** Class scores (N, C) for X, in test mode. */
  loss(X: Tensor): Tensor;
  /** The loss and its gradients for X with labels y, in train mode. */
  loss(X: Tensor, y: Int32Array): LossAndGrads;
}

/** Checks that `model` has a non-empty params record of tensors and a loss method. */
export function assertModel(fn: string, model: unknown): asserts model is Model {
  const m = model as Model;
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
