/**
 * Saliency maps (Simonyan, Vedaldi and Zisserman 2014; CS231n's NetworkVisualization): how much
 * each pixel moves the correct class's score, |∂score_y / ∂X|, maximised over channels.
 */
import { ConvnetError, show } from '../errors.js';
import { allocate, type Tensor } from '../tensor.js';
import { checkClass, checkImages, oneHot, type VizModel } from './common.js';

/**
 * X: (N, C, H, W) in the model's dtype, y: N class indices → (N, H, W) in X's dtype:
 * max over c of |∂scores[n, y[n]] / ∂X[n, c, h, w]|, scores taken in test mode.
 * One inputGradient call with one-hot dscores gives every image's own gradient, because image n
 * only reaches row n of the scores.
 */
export function saliencyMap(model: VizModel, X: Tensor, y: ArrayLike<number>): Tensor {
  const fn = 'saliencyMap';
  const [N, C, H, W] = checkImages(fn, model, X);
  if (y === null || typeof y !== 'object' || y.length !== N) throw new ConvnetError(fn, `expected y to hold ${N} class indices (one per image), got ${show(y)}`);
  for (let n = 0; n < N; n++) checkClass(fn, `y[${n}]`, y[n], model.numClasses);
  const dX = model.inputGradient(X, oneHot(y, model.numClasses, model.dtype)); // (N, C, H, W)
  const P = H * W;
  const out = allocate(X.dtype, N * P);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < P; p++) {
      let best = 0;
      for (let c = 0; c < C; c++) best = Math.max(best, Math.abs(dX.data[(n * C + c) * P + p]!));
      out[n * P + p] = best;
    }
  }
  return { shape: [N, H, W], data: out, dtype: X.dtype };
}
