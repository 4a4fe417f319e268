/**
 * Every layer's output for one input: what each layer of a network makes of an image (its
 * feature maps), for inspection and for drawing.
 */
import { ConvnetError, show } from '../errors.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { assertTensor } from '../validate.js';
import type { VizModel } from './common.js';

/** A model made of a module tree (every Network): the visualisations may look inside. */
export type ModuleModel = Pick<VizModel, 'inputShape' | 'dtype'> & { readonly root: Module };

export interface LayerActivation {
  /** The layer's summary label, e.g. "Conv2d 1→8, 3×3, pad 1". */
  label: string;
  /** The layer's output in test mode: (N, C, H, W) for feature maps, (N, D) after a flatten. */
  output: Tensor;
}

/**
 * X: (N, …inputShape) → one record per top-level layer, in order: the root Sequential's children
 * run one by one in test mode (a root that is not a Sequential gives one record). The last
 * output is the model's scores, equal to model.forward(X) up to the last bits where the
 * Sequential would have fused conv → relu (→ pool) into one kernel call.
 */
export function activations(model: ModuleModel, X: Tensor): LayerActivation[] {
  const fn = 'activations';
  if (model === null || typeof model !== 'object' || model.root === undefined) throw new ConvnetError(fn, `expected a model made of modules (a Network, with root), got ${show(model)}`);
  assertTensor(fn, 'X', X);
  const want = model.inputShape;
  if (X.shape.length !== want.length + 1 || X.shape.slice(1).some((d, i) => d !== want[i])) {
    throw new ConvnetError(fn, `expected X of shape (N, ${want.join(', ')}), got ${show(X.shape)}`);
  }
  if (X.dtype !== model.dtype) throw new ConvnetError(fn, `expected X in the model's dtype (${model.dtype}), got ${X.dtype}`);
  const layers = model.root.type === 'Sequential' ? model.root.children() : [model.root];
  const records: LayerActivation[] = [];
  let x = X;
  for (const layer of layers) {
    x = layer.forward(x, 'test');
    records.push({ label: layer.label, output: x });
  }
  return records;
}
