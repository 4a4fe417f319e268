/**
 * Spatial group normalisation (Wu & He, 2018), as in CS231n: each sample's C channels are split
 * into G contiguous groups of C/G channels; each group is normalised over its own
 * M = (C/G)·H·W values, then every channel is scaled and shifted by its own gamma and beta.
 * G = 1 is layernorm over C·H·W; G = C is instance norm. Same in train and test.
 *
 *   mean[n, g] = (1/M) Σ x over group g of sample n,  var[n, g] = (1/M) Σ (x − mean)²  (biased)
 *   xhat = (x − mean[n, g]) · invStd[n, g],  invStd = 1 / √(var + eps)
 *   out[n, c, h, w] = gamma[c] · xhat[n, c, h, w] + beta[c]
 *
 * In NCHW memory, group g of sample n is one contiguous run of M values starting at
 * (n·C + g·C/G)·H·W, which is what the loops below walk.
 *
 * Sums run in JS numbers (float64); outputs and gradients have the input's dtype.
 */
import { ConvnetError, fail, show } from '../errors.js';
import { allocate, assertAllocatable, sizeOf, type DType, type Tensor } from '../tensor.js';
import {
  assertCache,
  assertObject,
  assertSameDtype,
  assertTensor,
  assertUpstream,
  integer,
  numberInRange,
} from '../validate.js';

export interface GroupnormParam {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/**
 * What backward needs. `mean` and `invStd` are Float64Arrays of length N·G, row-major (N, G):
 * the statistics of group g of sample n sit at n·G + g. They are float64 even for float32 inputs.
 */
export interface GroupnormCache {
  /** (N, C, H, W): the input (not copied, never modified) */
  x: Tensor;
  /** (1, C, 1, 1) or (C): the scale */
  gamma: Tensor;
  /** beta's shape, so that dbeta comes back in it */
  betaShape: number[];
  /** number of groups */
  G: number;
  /** (N, C, H, W): the normalised input */
  xhat: Float64Array;
  /** (N, G): each group's mean */
  mean: Float64Array;
  /** (N, G): each group's 1 / √(var + eps) */
  invStd: Float64Array;
  eps: number;
}

/** Gradients of the loss with respect to each input, in that input's shape and dtype. */
export type GroupnormGradients = { dx: Tensor; dgamma: Tensor; dbeta: Tensor };

/**
 * Groupnorm forward: x (N, C, H, W), gamma and beta of shape (1, C, 1, 1) or (C), G groups
 * (G divides C) → out (N, C, H, W).
 */
export function spatialGroupnormForwardNaive(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  G: number,
  gnParam: GroupnormParam = {},
): { out: Tensor; cache: GroupnormCache } {
  const fn = 'spatialGroupnormForwardNaive';
  const { N, C, H, W, dtype, eps } = checkForward(fn, x, gamma, beta, G, gnParam);
  const HW = H * W;
  const Cg = C / G; // channels per group
  const M = Cg * HW; // values per group

  const mean = new Float64Array(N * G); // (N, G)
  const invStd = new Float64Array(N * G); // (N, G)
  const xhat = new Float64Array(x.data.length); // (N, C, H, W)
  const out = allocate(dtype, x.data.length); // (N, C, H, W)
  // An empty x (no channels) may have a huge N: its groups hold no values, and their statistics
  // (never read) stay 0 rather than being computed one by one.
  for (let n = 0; n < N && M > 0; n++) {
    for (let g = 0; g < G; g++) {
      const ng = n * G + g;
      const start = (n * C + g * Cg) * HW; // the group's M values are x[start .. start + M)
      let sum = 0;
      for (let i = start; i < start + M; i++) sum += x.data[i]!;
      mean[ng] = sum / M;
      let squares = 0;
      for (let i = start; i < start + M; i++) {
        const xmu = x.data[i]! - mean[ng]!;
        squares += xmu * xmu;
      }
      invStd[ng] = 1 / Math.sqrt(squares / M + eps);
      for (let i = start; i < start + M; i++) {
        const c = g * Cg + Math.floor((i - start) / HW);
        xhat[i] = (x.data[i]! - mean[ng]!) * invStd[ng]!;
        out[i] = gamma.data[c]! * xhat[i]! + beta.data[c]!;
      }
    }
  }
  return {
    out: { shape: [N, C, H, W], data: out, dtype },
    cache: { x, gamma, betaShape: [...beta.shape], G, xhat, mean, invStd, eps },
  };
}

/**
 * Groupnorm backward. dgamma[c] = Σ_{n,h,w} dout · xhat and dbeta[c] = Σ_{n,h,w} dout (in their
 * parameters' shapes); for each group, with dxhat = dout · gamma[c] and M values per group:
 *   dx = (invStd / M) · (M · dxhat − Σ dxhat − xhat · Σ dxhat · xhat)
 */
export function spatialGroupnormBackwardNaive(dout: Tensor, cache: GroupnormCache): GroupnormGradients {
  const fn = 'spatialGroupnormBackwardNaive';
  checkCache(fn, cache);
  assertUpstream(fn, dout, cache.x.shape, cache.x.dtype);
  const { x, gamma, xhat, invStd, G } = cache;
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const dtype = x.dtype;
  const HW = H * W;
  const Cg = C / G;
  const M = Cg * HW;
  const dx = allocate(dtype, x.data.length); // (N, C, H, W)
  const dgamma = allocate(dtype, C); // (C) values, returned in gamma's shape
  const dbeta = allocate(dtype, C); // (C) values, returned in beta's shape

  for (let c = 0; c < C; c++) {
    let sumDout = 0;
    let sumDoutXhat = 0;
    for (let n = 0; n < N; n++) {
      for (let i = (n * C + c) * HW; i < (n * C + c + 1) * HW; i++) {
        sumDout += dout.data[i]!;
        sumDoutXhat += dout.data[i]! * xhat[i]!;
      }
    }
    dbeta[c] = sumDout;
    dgamma[c] = sumDoutXhat;
  }

  for (let n = 0; n < N && M > 0; n++) {
    for (let g = 0; g < G; g++) {
      const ng = n * G + g;
      const start = (n * C + g * Cg) * HW;
      const dxhat = (i: number): number => dout.data[i]! * gamma.data[g * Cg + Math.floor((i - start) / HW)]!;
      let sumDxhat = 0;
      let sumDxhatXhat = 0;
      for (let i = start; i < start + M; i++) {
        sumDxhat += dxhat(i);
        sumDxhatXhat += dxhat(i) * xhat[i]!;
      }
      for (let i = start; i < start + M; i++) {
        dx[i] = (invStd[ng]! / M) * (M * dxhat(i) - sumDxhat - xhat[i]! * sumDxhatXhat);
      }
    }
  }
  return {
    dx: { shape: [N, C, H, W], data: dx, dtype },
    dgamma: { shape: [...gamma.shape], data: dgamma, dtype },
    dbeta: { shape: [...cache.betaShape], data: dbeta, dtype },
  };
}

/** Checks a forward's arguments (the naive and fast layers share this). */
export function checkForward(
  fn: string,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  G: number,
  gnParam: GroupnormParam,
): { N: number; C: number; H: number; W: number; dtype: DType; eps: number } {
  assertTensor(fn, 'x', x, 4);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  assertTensor(fn, 'gamma', gamma);
  assertTensor(fn, 'beta', beta);
  assertChannelParam(fn, 'gamma', gamma, C);
  assertChannelParam(fn, 'beta', beta, C);
  const dtype = assertSameDtype(fn, { x, gamma, beta });
  integer(fn, 'G', G, 1);
  if (C % G !== 0) fail(fn, `G to divide the ${C} channels (C)`, show(G));
  assertObject(fn, 'gnParam', gnParam);
  const eps = numberInRange(fn, 'gnParam.eps', gnParam.eps, 0, Infinity, 1e-5, { low: true });
  if (N > 0 && H * W === 0) fail(fn, 'x with H, W >= 1 (values to normalise over)', `shape ${show(x.shape)}`);
  // An x without channels may have a huge N: the statistics (N, G) must still be allocatable.
  assertAllocatable(fn, N * G, `the statistics of N·G = ${N}·${G} groups`);
  return { N, C, H, W, dtype, eps };
}

/** gamma or beta: shape (1, C, 1, 1) or (C). */
function assertChannelParam(fn: string, name: string, t: Tensor, C: number): void {
  const s = t.shape;
  const ok = (s.length === 4 && s[0] === 1 && s[1] === C && s[2] === 1 && s[3] === 1) || (s.length === 1 && s[0] === C);
  if (!ok) fail(fn, `${name} of shape [1, ${C}, 1, 1] or [${C}] (C)`, `shape ${show(s)}`);
}

/**
 * Checks that the cache came from a groupnorm forward (naive or fast). `useXhat` false (the fast backward):
 * xhat is not read, so a fast forward's lazily computed xhat is not computed here.
 */
export function checkCache(fn: string, cache: unknown, useXhat = true): asserts cache is GroupnormCache {
  assertCache(fn, cache, ['x', 'gamma', 'betaShape', 'G', 'xhat', 'mean', 'invStd', 'eps']);
  const c = cache as GroupnormCache;
  // The forward that makes such caches, named like the backward (fast or naive).
  const forward = fn.endsWith('Naive') ? 'spatialGroupnormForwardNaive' : 'spatialGroupnormForward';
  assertTensor(fn, 'cache.x', c.x);
  if (c.x.shape.length !== 4) {
    throw new ConvnetError(fn, `expected the cache of ${forward} (x of rank 4), got cache.x of shape ${show(c.x.shape)}`);
  }
  assertTensor(fn, 'cache.gamma', c.gamma);
  const [N, C] = c.x.shape as [number, number];
  const G = c.G;
  const consistent =
    Number.isInteger(G) &&
    G >= 1 &&
    C % G === 0 &&
    (!useXhat || (c.xhat instanceof Float64Array && c.xhat.length === c.x.data.length)) &&
    [c.mean, c.invStd].every((a) => a instanceof Float64Array && a.length === N * G) &&
    c.gamma.data.length === C &&
    sizeOf(c.betaShape) === C;
  if (!consistent) {
    fail(fn, `the cache of ${forward} for x of shape ${show(c.x.shape)} (xhat like x, mean and invStd (N, G), gamma (C))`, 'an inconsistent cache');
  }
}
