/**
 * What every model shares: input checks, the dtype option and L2 regularisation
 * (SEMANTICS.md: 0.5·reg·ΣW² over weight matrices only, dW += reg·W).
 */
import { ConvnetError, show } from '../errors.js';
import type { DType, Tensor } from '../tensor.js';
import { assertTensor } from '../validate.js';

/**
 * The most layers a model's options may describe (FullyConnectedNet's hiddenDims, a ConvNet
 * spec after its repeats are expanded). Far above any real network; the limit keeps a slip
 * such as [conv(8,3)]x100000000 from building modules for minutes until memory runs out.
 */
export const MAX_LAYERS = 10_000;

/** Rejects options a model does not know (a misspelt option would otherwise be ignored without a word). */
export function assertKnownOptions(fn: string, options: object, known: readonly string[]): void {
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new ConvnetError(fn, `expected options among ${known.join(', ')}, got ${show(unknown)}`);
}

/**
 * Adds 0.5·reg·ΣW² to the loss for each named weight and reg·W to its gradient (in place on
 * the gradient, which the model owns).
 */
export function addL2(loss: number, reg: number, params: Record<string, Tensor>, grads: Record<string, Tensor>, weightNames: string[]): number {
  if (reg === 0) return loss;
  let total = loss;
  for (const name of weightNames) {
    const w = params[name]!.data;
    const dw = grads[name]!.data;
    let sumSquares = 0;
    for (let i = 0; i < w.length; i++) {
      sumSquares += w[i]! * w[i]!;
      dw[i] += reg * w[i]!;
    }
    total += 0.5 * reg * sumSquares;
  }
  return total;
}

/** Checks a model's input batch: (N, ...inputDim) with the model's dtype. */
export function checkBatch(fn: string, X: Tensor, inputDim: readonly number[], dtype: DType): void {
  // The whole tensor here, so that a malformed X is rejected in the model's name, not its first layer's.
  assertTensor(fn, 'X', X);
  const want = X.shape.slice(1);
  if (want.length !== inputDim.length || want.some((d, i) => d !== inputDim[i])) {
    throw new ConvnetError(fn, `expected X of shape (N, ${inputDim.join(', ')}), got ${show(X.shape)}`);
  }
  if (X.dtype !== dtype) throw new ConvnetError(fn, `expected X of the model's dtype ${dtype}, got ${X.dtype}`);
  // An empty batch has no scores to compute; convolutions reject it and affine layers did not, so models did either by their layers.
  if (X.shape[0] === 0) throw new ConvnetError(fn, `expected X with at least one sample, got shape ${show(X.shape)}`);
}

/** A model's dtype option: float32 (the default, for speed) or float64 (for gradient checks). */
export function modelDtype(fn: string, dtype: unknown): DType {
  if (dtype === undefined) return 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new ConvnetError(fn, `expected dtype 'float32' or 'float64', got ${show(dtype)}`);
  return dtype;
}
