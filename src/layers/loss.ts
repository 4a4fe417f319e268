/**
 * Classification losses over scores (N, K) and labels y (N), each in [0, K).
 * Both return the mean loss over N and its gradient with respect to the scores.
 */
import { ConvnetError, show } from '../errors.js';
import { allocate, type Tensor } from '../tensor.js';
import { assertTensor, labels } from '../validate.js';

function scoresAndLabels(fn: string, scores: unknown, y: unknown): { s: Tensor; labelOf: Int32Array; N: number; K: number } {
  assertTensor(fn, 'scores', scores, 2);
  const [N, K] = scores.shape as [number, number];
  if (N < 1 || K < 1) throw new ConvnetError(fn, `expected scores of shape (N, K) with N, K >= 1, got ${show(scores.shape)}`);
  return { s: scores, labelOf: labels(fn, y, N, K), N, K };
}

/**
 * Softmax (cross-entropy) loss: mean over N of −log softmax(scores)[y], computed with the row
 * max subtracted; dx = (softmax − onehot(y)) / N.
 */
export function softmaxLoss(scores: Tensor, y: Int32Array | number[]): { loss: number; dx: Tensor } {
  const { s, labelOf, N, K } = scoresAndLabels('softmaxLoss', scores, y);
  const dx = allocate(s.dtype, N * K);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, s.data[n * K + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(s.data[n * K + k]! - max);
    const logSum = Math.log(sum);
    loss -= s.data[n * K + labelOf[n]!]! - max - logSum;
    for (let k = 0; k < K; k++) {
      const p = Math.exp(s.data[n * K + k]! - max - logSum);
      dx[n * K + k] = (p - (k === labelOf[n] ? 1 : 0)) / N;
    }
  }
  return { loss: loss / N, dx: { shape: [N, K], data: dx, dtype: s.dtype } };
}

/**
 * Multiclass SVM (hinge) loss with margin 1: mean over N of Σ_{k≠y} max(0, s_k − s_y + 1).
 * Each positive margin adds 1/N to dx[k] and takes 1/N from dx[y].
 */
export function svmLoss(scores: Tensor, y: Int32Array | number[]): { loss: number; dx: Tensor } {
  const { s, labelOf, N, K } = scoresAndLabels('svmLoss', scores, y);
  const dx = allocate(s.dtype, N * K);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const label = labelOf[n]!;
    const correct = s.data[n * K + label]!;
    for (let k = 0; k < K; k++) {
      if (k === label) continue;
      const margin = s.data[n * K + k]! - correct + 1;
      if (margin > 0) {
        loss += margin;
        dx[n * K + k] += 1 / N;
        dx[n * K + label] -= 1 / N;
      }
    }
  }
  return { loss: loss / N, dx: { shape: [N, K], data: dx, dtype: s.dtype } };
}
