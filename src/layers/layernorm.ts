/**
 * Layer normalisation (Ba, Kiros & Hinton, 2016), as in CS231n: each sample is normalised over
 * its own D features, then scaled and shifted per feature. No running statistics; train and
 * test are the same.
 *
 *   mean_n = (1/D) Σ_d x[n, d],   var_n = (1/D) Σ_d (x[n, d] − mean_n)²   (biased)
 *   xhat[n, d] = (x[n, d] − mean_n) · invStd_n,   invStd_n = 1 / √(var_n + eps)
 *   out[n, d]  = gamma[d] · xhat[n, d] + beta[d]
 *
 * Sums run in JS numbers (float64); outputs and gradients have the input's dtype.
 */
import { ConvnetError, fail, show } from '../errors.js';
import { allocate, sizeOf, type Tensor } from '../tensor.js';
import {
  assertCache,
  assertObject,
  assertSameDtype,
  assertSize,
  assertTensor,
  assertUpstream,
  numberInRange,
} from '../validate.js';

export interface LayernormParam {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/**
 * What backward needs. `mean` and `invStd` are Float64Arrays of length N (one value per row,
 * the (N, 1) Mean and InvStdDev outputs of ONNX LayerNormalization), computed in float64 even for
 * float32 inputs.
 */
export interface LayernormCache {
  /** (N, D): the input (not copied, never modified) */
  x: Tensor;
  /** (D) elements: the scale */
  gamma: Tensor;
  /** beta's shape, so that dbeta comes back in it */
  betaShape: number[];
  /** (N, D): the normalised input */
  xhat: Float64Array;
  /** (N): each row's mean */
  mean: Float64Array;
  /** (N): each row's 1 / √(var + eps) */
  invStd: Float64Array;
  eps: number;
}

/** Gradients of the loss with respect to each input, in that input's shape and dtype. */
export type LayernormGradients = { dx: Tensor; dgamma: Tensor; dbeta: Tensor };

/** Layernorm forward: x (N, D), gamma and beta of D elements → out (N, D). */
export function layernormForward(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  lnParam: LayernormParam = {},
): { out: Tensor; cache: LayernormCache } {
  const fn = 'layernormForward';
  assertTensor(fn, 'x', x, 2);
  const [N, D] = x.shape as [number, number];
  assertTensor(fn, 'gamma', gamma);
  assertTensor(fn, 'beta', beta);
  assertSize(fn, 'gamma', gamma, D, 'D');
  assertSize(fn, 'beta', beta, D, 'D');
  const dtype = assertSameDtype(fn, { x, gamma, beta });
  assertObject(fn, 'lnParam', lnParam);
  const eps = numberInRange(fn, 'lnParam.eps', lnParam.eps, 0, Infinity, 1e-5, { low: true });
  if (D === 0 && N > 0) fail(fn, 'x with at least one feature (D >= 1) to normalise over', `shape ${show(x.shape)}`);

  const mean = new Float64Array(N); // (N)
  const invStd = new Float64Array(N); // (N)
  const xhat = new Float64Array(N * D); // (N, D)
  const out = allocate(dtype, N * D); // (N, D)
  for (let n = 0; n < N; n++) {
    const row = n * D;
    let sum = 0;
    for (let d = 0; d < D; d++) sum += x.data[row + d]!;
    mean[n] = sum / D;
    let squares = 0;
    for (let d = 0; d < D; d++) {
      const xmu = x.data[row + d]! - mean[n]!;
      squares += xmu * xmu;
    }
    invStd[n] = 1 / Math.sqrt(squares / D + eps);
    for (let d = 0; d < D; d++) {
      xhat[row + d] = (x.data[row + d]! - mean[n]!) * invStd[n]!;
      out[row + d] = gamma.data[d]! * xhat[row + d]! + beta.data[d]!;
    }
  }
  return {
    out: { shape: [N, D], data: out, dtype },
    cache: { x, gamma, betaShape: [...beta.shape], xhat, mean, invStd, eps },
  };
}

/**
 * Layernorm backward: batchnorm's closed form with the roles of N and D swapped. Per row n,
 * with dxhat = dout · gamma:
 *   dx[n, :] = (invStd_n / D) · (D · dxhat − Σ_d dxhat − xhat · Σ_d dxhat · xhat)
 *   dgamma = Σ_n dout · xhat,   dbeta = Σ_n dout
 */
export function layernormBackward(dout: Tensor, cache: LayernormCache): LayernormGradients {
  const fn = 'layernormBackward';
  checkCache(fn, cache);
  assertUpstream(fn, dout, cache.x.shape, cache.x.dtype);
  const { x, gamma, xhat, invStd } = cache;
  const [N, D] = x.shape as [number, number];
  const dtype = x.dtype;
  const dx = allocate(dtype, N * D); // (N, D)
  const dgamma = allocate(dtype, D); // (D)
  const dbeta = allocate(dtype, D); // (D)

  for (let d = 0; d < D; d++) {
    let sumDout = 0;
    let sumDoutXhat = 0;
    for (let n = 0; n < N; n++) {
      sumDout += dout.data[n * D + d]!;
      sumDoutXhat += dout.data[n * D + d]! * xhat[n * D + d]!;
    }
    dbeta[d] = sumDout;
    dgamma[d] = sumDoutXhat;
  }

  for (let n = 0; n < N; n++) {
    const row = n * D;
    const dxhat = (d: number): number => dout.data[row + d]! * gamma.data[d]!;
    let sumDxhat = 0;
    let sumDxhatXhat = 0;
    for (let d = 0; d < D; d++) {
      sumDxhat += dxhat(d);
      sumDxhatXhat += dxhat(d) * xhat[row + d]!;
    }
    for (let d = 0; d < D; d++) {
      dx[row + d] = (invStd[n]! / D) * (D * dxhat(d) - sumDxhat - xhat[row + d]! * sumDxhatXhat);
    }
  }
  return {
    dx: { shape: [N, D], data: dx, dtype },
    dgamma: { shape: [...gamma.shape], data: dgamma, dtype },
    dbeta: { shape: [...cache.betaShape], data: dbeta, dtype },
  };
}

function checkCache(fn: string, cache: unknown): asserts cache is LayernormCache {
  assertCache(fn, cache, ['x', 'gamma', 'betaShape', 'xhat', 'mean', 'invStd', 'eps']);
  const c = cache as LayernormCache;
  assertTensor(fn, 'cache.x', c.x);
  if (c.x.shape.length !== 2) {
    throw new ConvnetError(fn, `expected the cache of layernormForward (x of rank 2), got cache.x of shape ${show(c.x.shape)}`);
  }
  assertTensor(fn, 'cache.gamma', c.gamma);
  const [N, D] = c.x.shape as [number, number];
  const consistent =
    c.xhat instanceof Float64Array &&
    c.xhat.length === N * D &&
    [c.mean, c.invStd].every((a) => a instanceof Float64Array && a.length === N) &&
    c.gamma.data.length === D &&
    sizeOf(c.betaShape) === D;
  if (!consistent) {
    fail(fn, `the cache of layernormForward for x of shape ${show(c.x.shape)} (xhat (N, D), mean and invStd (N), gamma (D))`, 'an inconsistent cache');
  }
}
