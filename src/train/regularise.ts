/**
 * What the Solver's weightDecay and labelSmoothing options need of a model. Label smoothing
 * itself is the model's: the Solver passes it to Network.loss(X, y, { labelSmoothing }), which
 * trains against (1 − ε)·onehot(y) + ε/C with its head's class weights and ignored label.
 */
import { ConvnetError, show } from '../errors.js';
import type { LossAndGrads, LossHead, LossTarget, TrainableModel, TrainingLossOptions } from '../models/model.js';
import type { Module } from '../nn/module.js';

/** A model whose training loss takes label smoothing: a Network. */
export interface SmoothableModel extends TrainableModel {
  lossHead: LossHead;
  loss: TrainableModel['loss'] & ((X: Parameters<TrainableModel['loss']>[0], y: LossTarget, options?: TrainingLossOptions) => LossAndGrads);
}

/** What decayedParamNames reads of a Network. */
interface NetworkLike {
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

/** Whether model.loss takes TrainingLossOptions (a Network: a model with a loss head). */
export function takesLossOptions(model: TrainableModel): model is SmoothableModel {
  const head = (model as Partial<SmoothableModel>).lossHead;
  return head !== undefined && head !== null && typeof head === 'object';
}

/** Throws unless `model` can train with label smoothing: a Network with a softmax or pixelSoftmax head of no smoothing of its own. */
export function assertSmoothable(fn: string, model: TrainableModel): asserts model is SmoothableModel {
  if (!takesLossOptions(model)) {
    throw new ConvnetError(fn, `expected labelSmoothing > 0 to train a Network (a model with a lossHead), got a model with keys [${Object.keys(model).slice(0, 8).join(', ')}]`);
  }
  const head = model.lossHead;
  if (head.kind !== 'softmax' && head.kind !== 'pixelSoftmax') {
    throw new ConvnetError(fn, `expected labelSmoothing > 0 to train a model with a softmax or pixelSoftmax loss head (it smooths class targets), got the ${show(head.kind)} head`);
  }
  // Two smoothings, the head's and the Solver's, would leave one of them silently unused.
  if (head.labelSmoothing !== undefined) {
    throw new ConvnetError(fn, `expected labelSmoothing > 0 only for a loss head without its own labelSmoothing (give one or the other), got loss head ${show(head)}`);
  }
}
