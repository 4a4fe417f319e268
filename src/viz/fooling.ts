/**
 * Fooling images (Szegedy et al. 2014, "Intriguing properties of neural networks"; CS231n's
 * NetworkVisualization): nudge an image along the gradient of a chosen class's score until the
 * model predicts that class. The change is usually invisible.
 */
import { ConvnetError, show } from '../errors.js';
import { clone, type Tensor } from '../tensor.js';
import { integer, numberInRange } from '../validate.js';
import { argmaxRow, checkClass, checkImages, clipper, norm, oneHot, type InputBounds, type VizModel } from './common.js';

export interface FoolingOptions {
  /** Gradient steps at most; default 100. */
  maxIterations?: number;
  /**
   * The length of each step, ‖ΔX‖ per iteration; default ‖X‖ / 100. (CS231n's 1 is 0.3% of a
   * standardised 3×224×224 image; on a 28×28 digit it would be a tenth of the image per step.)
   */
  learningRate?: number;
  /**
   * What the ascent climbs: 'logProbability' (default), log softmax(scores)[target] =
   * scores[target] − log Σ exp(scores), the target's score measured against the others: its
   * gradient also pushes the winning class down, so the prediction flips after a smaller change;
   * or 'score', scores[target] alone, as CS231n's notebook does (it needs larger changes: on the
   * test's net 151 of 180 digit/target pairs stay under ‖ΔX‖/‖X‖ 0.3, against 177 of 180).
   */
  objective?: 'score' | 'logProbability';
  /** Keep the image within valid inputs (see InputBounds); default: no limit. */
  clip?: InputBounds;
}

export interface FoolingResult {
  /** (1, C, H, W): the fooling image, in the model's dtype. */
  image: Tensor;
  /** Gradient steps taken. */
  iterations: number;
  /** Whether the model predicts the target for `image`. */
  success: boolean;
}

/**
 * X: one image (1, C, H, W). Gradient ascent on the target's log-probability (or its raw score) with
 * CS231n's normalised step, X ← X + lr · g / ‖g‖ (g = ∂objective / ∂X), checking the prediction
 * before each step and stopping as soon as it is the target (or after maxIterations steps).
 */
export function foolingImage(model: VizModel, X: Tensor, target: number, options: FoolingOptions = {}): FoolingResult {
  const fn = 'foolingImage';
  const [N] = checkImages(fn, model, X);
  if (N !== 1) throw new ConvnetError(fn, `expected one image X of shape (1, ${model.inputShape.join(', ')}), got ${show(X.shape)}`);
  checkClass(fn, 'target', target, model.numClasses);
  if (options === null || typeof options !== 'object') throw new ConvnetError(fn, `expected options { maxIterations, learningRate, clip }, got ${show(options)}`);
  const maxIterations = integer(fn, 'maxIterations', options.maxIterations, 0, 100);
  const learningRate = numberInRange(fn, 'learningRate', options.learningRate, 0, Infinity, norm(X.data) / 100 || 1, { low: true, high: true });
  const objective = options.objective ?? 'logProbability';
  if (objective !== 'score' && objective !== 'logProbability') throw new ConvnetError(fn, `expected objective 'score' or 'logProbability', got ${show(objective)}`);
  const clip = clipper(fn, options.clip, X.data.length);
  const image = clone(X);
  const K = model.numClasses;
  const dscores = oneHot([target], K, model.dtype); // (1, K)
  for (let iteration = 0; ; iteration++) {
    const scores = model.forward(image, { mode: 'test' }); // (1, K)
    if (argmaxRow(scores, 0) === target) return { image, iterations: iteration, success: true };
    if (iteration === maxIterations) return { image, iterations: iteration, success: false };
    if (objective === 'logProbability') {
      // ∂ log softmax_t / ∂scores = onehot(t) − softmax(scores)
      let max = -Infinity;
      for (let c = 0; c < K; c++) max = Math.max(max, scores.data[c]!);
      let sum = 0;
      for (let c = 0; c < K; c++) sum += Math.exp(scores.data[c]! - max);
      for (let c = 0; c < K; c++) dscores.data[c] = (c === target ? 1 : 0) - Math.exp(scores.data[c]! - max) / sum;
    }
    const g = model.inputGradient(image, dscores).data; // (1, C, H, W)
    const length = norm(g);
    // A zero gradient (every unit dead) leaves no direction to follow.
    if (length === 0) return { image, iterations: iteration, success: false };
    for (let i = 0; i < g.length; i++) image.data[i] += (learningRate * g[i]!) / length;
    clip?.(image.data);
  }
}
