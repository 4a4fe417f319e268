/**
 * What the Solver's labelSmoothing and weightDecay options need of a model.
 *
 * The training loss with label smoothing, for the Solver's `labelSmoothing` option: a Network's
 * own loss(X, y) is plain softmax, so the Solver runs the forward and backward itself with
 * softmaxCrossEntropyLoss's smoothed targets, (1 − ε)·onehot(y) + ε/C, and adds the Network's
 * L2 term as Network.loss does (0.5·reg·ΣW² over the weights of Conv2d and Linear layers).
 */
import { ConvnetError, show } from '../errors.js';
import { softmaxCrossEntropyLoss } from '../layers/loss.js';
import { addL2 } from '../models/common.js';
import type { LossAndGrads, LossHead, TrainableModel } from '../models/model.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';

/** What the smoothed loss needs of a model: a Network's module tree and parameter names. */
interface NetworkLike {
  root: Module;
  reg: number;
  params: Record<string, Tensor>;
  namedParams: readonly { name: string; module: Module; local: string }[];
}

/**
 * The parameters weight decay applies to: a Network's decayed weights (those of Conv2d and
 * Linear layers, as its L2 term), otherwise every parameter of rank >= 2; never biases or
 * normalisation parameters.
 */
export function decayedParamNames(model: TrainableModel): string[] {
  const m = model as Partial<NetworkLike>;
  if (Array.isArray(m.namedParams)) return m.namedParams.filter((p) => p.module.decayed.includes(p.local)).map((p) => p.name);
  return Object.entries(model.params).filter(([, p]) => p.shape.length >= 2).map(([name]) => name);
}

function isNetworkLike(model: unknown): model is NetworkLike {
  const m = model as Partial<NetworkLike> | null;
  return m !== null && typeof m === 'object' && m.root !== undefined && typeof m.root?.forward === 'function' && typeof m.root?.backward === 'function' && Array.isArray(m.namedParams) && typeof m.reg === 'number';
}

/** Throws unless `model` is a Network (the models the Solver can smooth labels for). */
export function assertSmoothable(fn: string, model: TrainableModel): void {
  if (!isNetworkLike(model)) {
    throw new ConvnetError(fn, `expected labelSmoothing > 0 to train a Network (a model with root, namedParams and reg), got a model with keys [${Object.keys(model).slice(0, 8).join(', ')}]`);
  }
  // smoothedLoss replaces the model's own loss: only the plain softmax head has nothing to lose
  // (class weights, an ignored label, a regression or per-pixel head would be silently dropped).
  const head = (model as { lossHead?: LossHead }).lossHead;
  if (head !== undefined && (head.kind !== 'softmax' || head.weights !== undefined || head.ignoreIndex !== undefined || head.labelSmoothing !== undefined)) {
    throw new ConvnetError(fn, `expected labelSmoothing > 0 to train a model whose loss head is the plain softmax (give a softmax head its own labelSmoothing instead), got loss head ${show(head)}`);
  }
}

/**
 * The mean smoothed cross-entropy of X (N, …) with labels y (N), L2 included, and its gradient
 * for every parameter: what model.loss(X, y) returns, with ε = epsilon. Labels are checked
 * before the forward so that bad ones never move batch norm's running statistics.
 */
export function smoothedLoss(model: TrainableModel, X: Tensor, y: Int32Array, epsilon: number): LossAndGrads {
  const fn = 'Solver.train';
  if (!isNetworkLike(model)) return assertSmoothable(fn, model) as never;
  const numClasses = (model as { numClasses?: number }).numClasses;
  if (numClasses !== undefined) {
    for (let i = 0; i < y.length; i++) {
      if (y[i]! >= numClasses) throw new ConvnetError(fn, `expected labels in [0, ${numClasses}), got y[${i}] = ${show(y[i])}`);
    }
  }
  // scores: (N, C)
  const scores = model.root.forward(X, 'train');
  const { loss, dx: dscores } = softmaxCrossEntropyLoss(scores, y, { labelSmoothing: epsilon });
  model.root.backward(dscores);
  const grads: Record<string, Tensor> = {};
  for (const { name, module, local } of model.namedParams) grads[name] = module.grads[local]!;
  const weightNames = decayedParamNames(model);
  return { loss: addL2(loss, model.reg, model.params, grads, weightNames), grads };
}
