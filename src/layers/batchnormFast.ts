/**
 * Fast batch normalisation: the same arguments, results, caches and errors as batchnorm.ts (which
 * holds the definitions), computed by the kernel backend's per-channel kernels in a few passes
 * over the data (src/kernels/types.ts: channelMoments, channelSums, channelAffine).
 *
 *   forward   mean, var = moments of each channel (two passes, float64 sums)
 *             out = (gamma · invStd) · (x − mean) + beta
 *   backward  Σ dout and Σ dout · (x − mean) per channel, then the closed form
 *             dx = a · dout + b · (x − mean) + k   with, per channel (train mode),
 *               a = gamma · invStd,  b = −gamma · invStd² · dgamma / M,  k = −gamma · invStd · dbeta / M
 *             (test mode: dx = gamma · invStd · dout, x not read), where dgamma = invStd · Σ dout · (x − mean).
 *
 * The cache does not hold xhat = (x − mean) · invStd (a float64 copy of x, twice float32's
 * size): the fast backward uses x and the statistics. It is still there for the naive backward,
 * computed on first read, so the caches stay interchangeable both ways.
 */
import { getKernels } from '../kernels/index.js';
import { allocate, allocateUninitialized, type Tensor } from '../tensor.js';
import { assertUpstream } from '../validate.js';
import {
  checkCache,
  checkForward,
  featureLayout,
  spatialLayout,
  updateRunning,
  type BatchnormCache,
  type BatchnormGradients,
  type BatchnormParam,
  type BatchnormLayout,
} from './batchnorm.js';

/** Batchnorm forward (fast): x (N, D), gamma and beta of D elements → out (N, D). */
export function batchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): { out: Tensor; cache: BatchnormCache } {
  const fn = 'batchnormForward';
  return forward(fn, x, gamma, beta, bnParam, featureLayout(fn, x, gamma, beta), 'D');
}

/** Batchnorm backward (fast, closed form): dx (N, D), dgamma and dbeta in their parameters' shapes. */
export function batchnormBackward(dout: Tensor, cache: BatchnormCache): BatchnormGradients {
  const fn = 'batchnormBackward';
  const layout = checkCache(fn, cache, 2, false);
  assertUpstream(fn, dout, cache.x.shape, cache.x.dtype);
  return backward(dout, cache, layout);
}

/** Spatial batchnorm forward (fast): x (N, C, H, W), gamma and beta of shape (C) or (1, C, 1, 1). */
export function spatialBatchnormForward(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): { out: Tensor; cache: BatchnormCache } {
  const fn = 'spatialBatchnormForward';
  return forward(fn, x, gamma, beta, bnParam, spatialLayout(fn, x, gamma, beta), 'C');
}

/** Spatial batchnorm backward (fast): dx (N, C, H, W), dgamma and dbeta in their parameters' shapes. */
export function spatialBatchnormBackward(dout: Tensor, cache: BatchnormCache): BatchnormGradients {
  const fn = 'spatialBatchnormBackward';
  const layout = checkCache(fn, cache, 4, false);
  assertUpstream(fn, dout, cache.x.shape, cache.x.dtype);
  return backward(dout, cache, layout);
}

function forward(
  fn: string,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  bnParam: BatchnormParam,
  layout: BatchnormLayout,
  meaning: 'D' | 'C',
): { out: Tensor; cache: BatchnormCache } {
  const { dtype, mode, eps, momentum } = checkForward(fn, x, gamma, beta, bnParam, layout, meaning);
  const { N, C, S } = layout;
  const kernels = getKernels();
  const mean = new Float64Array(C); // (C)
  const variance = new Float64Array(C); // (C)
  if (mode === 'train') {
    kernels.channelMoments(x.data, N, C, S, 0, C, mean, variance);
    updateRunning(bnParam, dtype, mean, variance, momentum);
  } else {
    mean.set(bnParam.runningMean!.data);
    variance.set(bnParam.runningVar!.data);
  }
  const invStd = new Float64Array(C); // (C)
  const scale = new Float64Array(C); // gamma · invStd
  const shift = Float64Array.from(beta.data);
  for (let c = 0; c < C; c++) {
    invStd[c] = 1 / Math.sqrt(variance[c]! + eps);
    scale[c] = gamma.data[c]! * invStd[c]!;
  }
  const out = allocateUninitialized(dtype, x.data.length); // layout of x: every value written
  // An empty x may have a huge N (or S): the kernels' loops over it would do nothing for long.
  if (x.data.length > 0) kernels.channelAffine(x.data, null, N, C, S, 0, C, mean, scale, scale, shift, out);
  const cache = { mode, x, gamma, betaShape: [...beta.shape], mean, variance, invStd, eps } as Omit<BatchnormCache, 'xhat'>;
  let xhat: Float64Array | undefined;
  Object.defineProperty(cache, 'xhat', {
    enumerable: true,
    get: (): Float64Array => (xhat ??= normalised(x, layout, mean, invStd)),
  });
  return { out: { shape: [...x.shape], data: out, dtype }, cache: cache as BatchnormCache };
}

/** xhat = (x − mean) · invStd in float64, for the naive backward. */
function normalised(x: Tensor, { N, C, S }: BatchnormLayout, mean: Float64Array, invStd: Float64Array): Float64Array {
  const xhat = new Float64Array(x.data.length);
  if (xhat.length === 0) return xhat; // N may be huge
  const zero = new Float64Array(C);
  getKernels().channelAffine(x.data, null, N, C, S, 0, C, mean, invStd, zero, zero, xhat);
  return xhat;
}

function backward(dout: Tensor, cache: BatchnormCache, { N, C, S }: BatchnormLayout): BatchnormGradients {
  const { x, gamma, mean, invStd } = cache;
  const dtype = x.dtype;
  const M = N * S;
  const kernels = getKernels();
  const sums = new Float64Array(C); // Σ dout = dbeta
  const dots = new Float64Array(C); // Σ dout · (x − mean)
  // An empty x may have a huge N or S: sums over nothing are the zeros already there.
  const empty = x.data.length === 0;
  if (!empty) kernels.channelSums(dout.data, x.data, N, C, S, 0, C, mean, sums, dots);
  const dgamma = allocate(dtype, C);
  const dbeta = allocate(dtype, C);
  const a = new Float64Array(C);
  const b = new Float64Array(C);
  const k = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const g = gamma.data[c]!;
    const dgammaC = invStd[c]! * dots[c]!; // Σ dout · xhat
    dgamma[c] = dgammaC;
    dbeta[c] = sums[c]!;
    a[c] = g * invStd[c]!;
    if (cache.mode === 'train') {
      b[c] = (-g * invStd[c]! * invStd[c]! * dgammaC) / M;
      k[c] = (-g * invStd[c]! * sums[c]!) / M;
    }
  }
  const dx = allocateUninitialized(dtype, x.data.length); // layout of x: every value written
  if (empty) {
    // nothing to write
  } else if (cache.mode === 'test') {
    // dx = a · dout, x not read: b · (x − mean) would be 0 · ∞ = NaN where x is ±∞, though the
    // statistics are constants there and dx does not depend on x.
    const zero = new Float64Array(C);
    kernels.channelAffine(dout.data, null, N, C, S, 0, C, zero, a, a, zero, dx);
  } else {
    kernels.channelAffine(x.data, dout.data, N, C, S, 0, C, mean, a, b, k, dx);
  }
  return {
    dx: { shape: [...x.shape], data: dx, dtype },
    dgamma: { shape: [...gamma.shape], data: dgamma, dtype },
    dbeta: { shape: [...cache.betaShape], data: dbeta, dtype },
  };
}
