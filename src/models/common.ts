/**
 * What every model shares: input checks, the dtype option and L2 regularisation
 * (SEMANTICS.md: 0.5·reg·ΣW² over weight matrices only, dW += reg·W).
 */
import { ConvnetError, show } from '../errors.js';
import type { DType, Tensor } from '../tensor.js';

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
  if (X === null || typeof X !== 'object' || !Array.isArray(X.shape)) throw new ConvnetError(fn, `expected X to be a tensor, got ${show(X)}`);
  const want = X.shape.slice(1);
  if (want.length !== inputDim.length || want.some((d, i) => d !== inputDim[i])) {
    throw new ConvnetError(fn, `expected X of shape (N, ${inputDim.join(', ')}), got ${show(X.shape)}`);
  }
  if (X.dtype !== dtype) throw new ConvnetError(fn, `expected X of the model's dtype ${dtype}, got ${X.dtype}`);
}

/** A model's dtype option: float32 (the default, for speed) or float64 (for gradient checks). */
export function modelDtype(fn: string, dtype: unknown): DType {
  if (dtype === undefined) return 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new ConvnetError(fn, `expected dtype 'float32' or 'float64', got ${show(dtype)}`);
  return dtype;
}
