/**
 * What the network-visualisation functions share: the part of the model contract they use,
 * argument checks, and small tensor helpers. Browser-safe (no Node imports).
 */
import { ConvnetError, show } from '../errors.js';
import type { Model } from '../models/model.js';
import { allocate, type DType, type Tensor } from '../tensor.js';
import { assertTensor } from '../validate.js';

/**
 * The model contract as the visualisations use it: test-mode scores and the gradient of
 * Σ scores·dscores with respect to the input. Any Model (every Network) qualifies.
 */
export type VizModel = Pick<Model, 'forward' | 'inputGradient' | 'numClasses' | 'inputShape' | 'dtype'>;

/**
 * Valid input values, per element of one sample (C·H·W values) or one number for all: the
 * model's inputs are preprocessed pixels, pixel·scale − mean, so 0..255 pixels give
 * low = −mean and high = 255·scale − mean.
 */
export interface InputBounds {
  low: number | ArrayLike<number>;
  high: number | ArrayLike<number>;
}

/** Checks X against the model: (N, …inputShape) in the model's dtype, images (N, C, H, W). Returns N, C, H, W. */
export function checkImages(fn: string, model: VizModel, X: unknown): [number, number, number, number] {
  assertTensor(fn, 'X', X, 4);
  const want = model.inputShape;
  if (want.length !== 3 || X.shape.slice(1).some((d, i) => d !== want[i])) {
    throw new ConvnetError(fn, `expected X of shape (N, ${want.join(', ')}) for this model's images, got ${show(X.shape)}`);
  }
  if (X.dtype !== model.dtype) throw new ConvnetError(fn, `expected X in the model's dtype (${model.dtype}), got ${X.dtype}`);
  return X.shape as [number, number, number, number];
}

/** Checks a class index for the model. */
export function checkClass(fn: string, name: string, value: unknown, numClasses: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= numClasses) {
    throw new ConvnetError(fn, `expected ${name} to be a class index in [0, ${numClasses}), got ${show(value)}`);
  }
  return value;
}

/** (N, C) with one 1 per row at labels[n]: dscores that make inputGradient give ∂score_label/∂X. */
export function oneHot(labels: ArrayLike<number>, numClasses: number, dtype: DType): Tensor {
  const data = allocate(dtype, labels.length * numClasses);
  for (let n = 0; n < labels.length; n++) data[n * numClasses + labels[n]!] = 1;
  return { shape: [labels.length, numClasses], data, dtype };
}

/** The index of the first largest score of row n of scores (N, C), as Solver.checkAccuracy picks it. */
export function argmaxRow(scores: Tensor, n: number): number {
  const C = scores.shape[1]!;
  let best = 0;
  for (let c = 1; c < C; c++) if (scores.data[n * C + c]! > scores.data[n * C + best]!) best = c;
  return best;
}

/** Euclidean norm of all values. */
export function norm(data: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i]! * data[i]!;
  return Math.sqrt(sum);
}

/** Checks bounds for a sample of D values and returns a function that clips one sample in place. */
export function clipper(fn: string, bounds: InputBounds | undefined, D: number): ((data: { [i: number]: number; length: number }) => void) | null {
  if (bounds === undefined) return null;
  if (bounds === null || typeof bounds !== 'object') throw new ConvnetError(fn, `expected clip to be { low, high }, got ${show(bounds)}`);
  const side = (name: 'low' | 'high'): ((i: number) => number) => {
    const v = bounds[name];
    if (typeof v === 'number' && !Number.isNaN(v)) return () => v;
    if (v !== null && typeof v === 'object' && typeof (v as ArrayLike<number>).length === 'number' && (v as ArrayLike<number>).length === D) {
      const values = v as ArrayLike<number>;
      return (i) => values[i]!;
    }
    throw new ConvnetError(fn, `expected clip.${name} to be a number or ${D} numbers (one sample), got ${show(v)}`);
  };
  const low = side('low');
  const high = side('high');
  return (data) => {
    for (let i = 0; i < data.length; i++) data[i] = Math.min(high(i), Math.max(low(i), data[i]!));
  };
}
