/**
 * Classification losses over scores (N, K) and labels y (N), each in [0, K).
 * Both return the mean loss over N and its gradient with respect to the scores.
 * Below them: the regression losses mseLoss and l1Loss, and softmaxCrossEntropyLoss (per-position
 * scores, class weights, an ignored label, label smoothing, reductions) as ONNX and PyTorch define it.
 */
import { ConvnetError, fail, show } from '../errors.js';
import { allocate, sizeOf, type Tensor } from '../tensor.js';
import { assertObject, assertSameDtype, assertShape, assertTensor, labels, numberInRange } from '../validate.js';

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

// ---------------------------------------------------------------------------------------------
// Regression losses (mean over every element, PyTorch's reduction='mean')

/** Checks pred and target: tensors of one shape and dtype with at least one element. */
function regressionPair(fn: string, pred: unknown, target: unknown): asserts pred is Tensor {
  assertTensor(fn, 'pred', pred);
  assertTensor(fn, 'target', target);
  assertShape(fn, 'target', target, pred.shape);
  assertSameDtype(fn, { pred, target });
  if (pred.data.length === 0) throw new ConvnetError(fn, `expected pred with at least one element (a mean over none is undefined), got shape ${show(pred.shape)}`);
}

/** Mean squared error: mean of (pred − target)² over every element; dx = 2·(pred − target) / count. */
export function mseLoss(pred: Tensor, target: Tensor): { loss: number; dx: Tensor } {
  regressionPair('mseLoss', pred, target);
  const count = pred.data.length;
  const dx = allocate(pred.dtype, count);
  let loss = 0;
  for (let i = 0; i < count; i++) {
    const d = pred.data[i]! - target.data[i]!;
    loss += d * d;
    dx[i] = (2 * d) / count;
  }
  return { loss: loss / count, dx: { shape: [...pred.shape], data: dx, dtype: pred.dtype } };
}

/**
 * Mean absolute error: mean of |pred − target| over every element; dx = sign(pred − target) /
 * count, with the subgradient 0 where pred = target (PyTorch's).
 */
export function l1Loss(pred: Tensor, target: Tensor): { loss: number; dx: Tensor } {
  regressionPair('l1Loss', pred, target);
  const count = pred.data.length;
  const dx = allocate(pred.dtype, count);
  let loss = 0;
  for (let i = 0; i < count; i++) {
    const d = pred.data[i]! - target.data[i]!;
    loss += Math.abs(d);
    dx[i] = Math.sign(d) / count;
  }
  return { loss: loss / count, dx: { shape: [...pred.shape], data: dx, dtype: pred.dtype } };
}

// ---------------------------------------------------------------------------------------------
// Softmax cross-entropy with class weights, an ignored label, label smoothing and reductions

export type LossReduction = 'mean' | 'sum' | 'none';

export interface SoftmaxCrossEntropyOptions {
  /** One weight per class, shape (C), the scores' dtype (default: all 1). */
  weights?: Tensor;
  /** Positions whose label equals it contribute nothing (any integer; default: none ignored). */
  ignoreIndex?: number;
  /** ε in [0, 1]: the target is (1 − ε)·onehot(y) + ε/C (PyTorch's label_smoothing; default 0). */
  labelSmoothing?: number;
  /** 'mean' (default): Σ loss / Σ w[y] over the positions not ignored; 'sum'; 'none': one loss per position. */
  reduction?: LossReduction;
}

export interface SoftmaxCrossEntropyResult<L extends number | Tensor> {
  /** A number for 'mean' and 'sum'; for 'none' a tensor (N, d1, …, dk) of per-position losses. */
  loss: L;
  /** d loss / d scores, shape of scores; for 'none', the gradient of the sum of the per-position losses. */
  dx: Tensor;
  /** log-softmax of the scores over the class axis (ONNX's optional log_prob output), shape of scores. */
  logProb: Tensor;
}

const SCE_OPTIONS = ['weights', 'ignoreIndex', 'labelSmoothing', 'reduction'];

/** Checks labels for M positions: integers in [0, C) or equal to ignoreIndex (then stored as −1). */
function sceLabels(fn: string, y: unknown, count: number, C: number, ignoreIndex: number | undefined): Int32Array {
  if (!Array.isArray(y) && !(ArrayBuffer.isView(y) && !(y instanceof DataView))) {
    fail(fn, 'labels to be an Int32Array or number[] of class labels', show(y));
  }
  const values = y as ArrayLike<unknown>;
  if (values.length !== count) fail(fn, `labels to have one label per position (N·d1·…·dk = ${count})`, `${values.length} labels`);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = values[i];
    if (ignoreIndex !== undefined && label === ignoreIndex) {
      out[i] = -1;
      continue;
    }
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= C) {
      const ignored = ignoreIndex === undefined ? '' : ` or equal to ignoreIndex (${ignoreIndex})`;
      fail(fn, `labels in [0, ${C})${ignored}`, `labels[${i}] = ${show(label)}`);
    }
    out[i] = label;
  }
  return out;
}

/**
 * Softmax cross-entropy over the class axis 1 of scores (N, C) or, per position, (N, C, d1, …, dk),
 * as ONNX's SoftmaxCrossEntropyLoss and PyTorch's cross_entropy with class-index targets. `labels`
 * holds one class per position, (N) or (N, d1, …, dk) flattened in row-major order, as an
 * Int32Array or number[]. With p = softmax(scores) at a position, label y, weights w (all 1 when
 * none are given), ε = labelSmoothing, the position's loss is
 *
 *   ℓ = (1 − ε)·w[y]·(−log p[y]) + (ε/C)·Σ_c w[c]·(−log p[c])     (0 where y = ignoreIndex)
 *
 * and its gradient (1 − ε)·w[y]·(p − onehot(y)) + (ε/C)·(Σ_c w[c]·p − w). 'mean' divides the
 * sum of ℓ by Σ w[y] over the positions not ignored (ONNX's weighted mean; PyTorch's, smoothing
 * included), so a mean over no position is NaN, as in both; 'sum' adds; 'none' returns every ℓ
 * and, as dx, the gradient of their sum. Unlike PyTorch, no label is ignored by default (pass
 * ignoreIndex: -100 for PyTorch's default).
 */
export function softmaxCrossEntropyLoss(scores: Tensor, labels: Int32Array | readonly number[], options?: SoftmaxCrossEntropyOptions & { reduction?: 'mean' | 'sum' }): SoftmaxCrossEntropyResult<number>;
export function softmaxCrossEntropyLoss(scores: Tensor, labels: Int32Array | readonly number[], options: SoftmaxCrossEntropyOptions & { reduction: 'none' }): SoftmaxCrossEntropyResult<Tensor>;
export function softmaxCrossEntropyLoss(scores: Tensor, labels: Int32Array | readonly number[], options?: SoftmaxCrossEntropyOptions): SoftmaxCrossEntropyResult<number | Tensor>;
export function softmaxCrossEntropyLoss(scores: Tensor, labels: Int32Array | readonly number[], options: SoftmaxCrossEntropyOptions = {}): SoftmaxCrossEntropyResult<number | Tensor> {
  const fn = 'softmaxCrossEntropyLoss';
  assertTensor(fn, 'scores', scores);
  if (scores.shape.length < 2 || scores.shape[1]! < 1) {
    throw new ConvnetError(fn, `expected scores of shape (N, C) or (N, C, d1, …, dk) with C >= 1, got shape ${show(scores.shape)}`);
  }
  assertObject(fn, 'options', options);
  for (const key of Object.keys(options)) if (!SCE_OPTIONS.includes(key)) fail(fn, `options among ${SCE_OPTIONS.join(', ')}`, show(key));
  const reduction = options.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') fail(fn, "reduction 'mean', 'sum' or 'none'", show(options.reduction));
  const ignoreIndex = options.ignoreIndex as unknown;
  if (ignoreIndex !== undefined && !Number.isInteger(ignoreIndex)) fail(fn, 'ignoreIndex to be an integer', show(ignoreIndex));
  const eps = numberInRange(fn, 'labelSmoothing', options.labelSmoothing, 0, 1, 0);
  const [N, C] = scores.shape as [number, number];
  const inner = sizeOf(scores.shape.slice(2));
  const count = N * inner;
  let w: ArrayLike<number> | undefined;
  if (options.weights !== undefined) {
    assertTensor(fn, 'weights', options.weights);
    assertShape(fn, 'weights', options.weights, [C]);
    assertSameDtype(fn, { scores, weights: options.weights });
    w = options.weights.data;
  }
  const y = sceLabels(fn, labels, count, C, ignoreIndex as number | undefined);

  // Σ_c w[c], and the mean's divisor Σ w[y] over the positions not ignored.
  let weightSum = C;
  if (w !== undefined) {
    weightSum = 0;
    for (let c = 0; c < C; c++) weightSum += w[c]!;
  }
  let divisor = 0;
  for (let i = 0; i < count; i++) if (y[i]! >= 0) divisor += w === undefined ? 1 : w[y[i]!]!;
  const scale = reduction === 'mean' ? 1 / divisor : 1;

  const s = scores.data;
  const logProb = allocate(scores.dtype, s.length);
  const dx = allocate(scores.dtype, s.length);
  const perPosition = reduction === 'none' ? allocate(scores.dtype, count) : undefined;
  const lp = new Float64Array(count > 0 ? C : 0); // one position's log-probabilities, in float64 (C is bounded only when a position exists)
  let total = 0;
  for (let n = 0; n < N && count > 0; n++) {
    for (let j = 0; j < inner; j++) {
      // Position (n, j): class c at base + c·inner.
      const base = n * C * inner + j;
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, s[base + c * inner]!);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(s[base + c * inner]! - max);
      const logSum = Math.log(sum);
      for (let c = 0; c < C; c++) {
        lp[c] = s[base + c * inner]! - max - logSum;
        logProb[base + c * inner] = lp[c]!;
      }
      const label = y[n * inner + j]!;
      if (label < 0) continue; // ignored: loss 0, gradient 0
      const wy = w === undefined ? 1 : w[label]!;
      let smooth = 0;
      for (let c = 0; c < C; c++) smooth -= (w === undefined ? 1 : w[c]!) * lp[c]!;
      const loss = -(1 - eps) * wy * lp[label]! + (eps / C) * smooth;
      total += loss;
      if (perPosition !== undefined) perPosition[n * inner + j] = loss;
      for (let c = 0; c < C; c++) {
        const p = Math.exp(lp[c]!);
        const hard = (1 - eps) * wy * (p - (c === label ? 1 : 0));
        const soft = eps === 0 ? 0 : (eps / C) * (weightSum * p - (w === undefined ? 1 : w[c]!));
        dx[base + c * inner] = (hard + soft) * scale;
      }
    }
  }
  const loss = perPosition !== undefined ? { shape: [N, ...scores.shape.slice(2)], data: perPosition, dtype: scores.dtype } : reduction === 'mean' ? total / divisor : total;
  return {
    loss,
    dx: { shape: [...scores.shape], data: dx, dtype: scores.dtype },
    logProb: { shape: [...scores.shape], data: logProb, dtype: scores.dtype },
  };
}
