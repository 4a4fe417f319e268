/**
 * Batch normalisation (Ioffe & Szegedy, 2015), as in CS231n:
 *
 *   batchnorm          x (N, D):       statistics per feature d over the N samples
 *   spatial batchnorm  x (N, C, H, W): statistics per channel c over the N·H·W values
 *
 *   mean = (1/M) Σ x,  var = (1/M) Σ (x − mean)²   (biased; M = N or N·H·W)
 *   xhat = (x − mean) / √(var + eps)
 *   out  = gamma · xhat + beta
 *
 * Train mode normalises with the batch statistics and moves the running statistics toward them,
 * `running = momentum·running + (1 − momentum)·batch`, in the caller's bnParam (they start at
 * zeros, created there if absent). Test mode normalises with the running statistics.
 *
 * Both layouts are read as (N, C, S): element (n, c, s) sits at offset (n·C + c)·S + s, with
 * S = 1 for (N, D) and S = H·W for NCHW. Statistics for channel c run over n and s. Writing the
 * spatial case this way avoids the classic trap of reshaping NCHW to (−1, C) without moving C
 * last, which mixes channels.
 *
 * Sums run in JS numbers (float64); outputs and gradients have the input's dtype.
 */
import { ConvnetError, fail, show } from '../errors.js';
import { allocate, sizeOf, zeros, type DType, type Tensor } from '../tensor.js';
import {
  assertCache,
  assertObject,
  assertSameDtype,
  assertSize,
  assertTensor,
  assertUpstream,
  numberInRange,
} from '../validate.js';

export type BatchnormMode = 'train' | 'test';

export interface BatchnormParam {
  mode: BatchnormMode;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Weight of the old running value in the update (default 0.9). */
  momentum?: number;
  /** (D) or (C); created as zeros by the first train-mode forward, updated in place. */
  runningMean?: Tensor;
  /** (D) or (C); created as zeros by the first train-mode forward, updated in place. */
  runningVar?: Tensor;
}

/** What backward needs. Float64Arrays hold the float64 intermediates even for float32 inputs. */
export interface BatchnormCache {
  mode: BatchnormMode;
  /** (N, D) or (N, C, H, W): the input (not copied, never modified) */
  x: Tensor;
  /** (C) elements: the scale */
  gamma: Tensor;
  /** beta's shape, so that dbeta comes back in it */
  betaShape: number[];
  /** same layout as x: the normalised input (x − mean) · invStd */
  xhat: Float64Array;
  /** (C): the mean used (the batch's in train mode, the running one in test mode) */
  mean: Float64Array;
  /** (C): the variance used (biased batch variance in train mode, running in test mode) */
  variance: Float64Array;
  /** (C): 1 / √(variance + eps) */
  invStd: Float64Array;
  eps: number;
}

/** Gradients of the loss with respect to each input, in that input's shape and dtype. */
export type BatchnormGradients = { dx: Tensor; dgamma: Tensor; dbeta: Tensor };

/** Viewing x as (N, C, S): C normalised channels (or features), S values per channel per sample. */
export interface BatchnormLayout {
  N: number;
  C: number;
  S: number;
}

// ---------------------------------------------------------------------------------------------
// batchnorm, x (N, D)

/** Batchnorm forward: x (N, D), gamma and beta of D elements → out (N, D). */
export function batchnormForwardNaive(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  bnParam: BatchnormParam,
): { out: Tensor; cache: BatchnormCache } {
  const fn = 'batchnormForwardNaive';
  return normaliseForward(fn, x, gamma, beta, bnParam, featureLayout(fn, x, gamma, beta), 'D');
}

/** The (N, D) layout of batchnorm's x, with gamma and beta of D elements checked. */
export function featureLayout(fn: string, x: Tensor, gamma: Tensor, beta: Tensor): BatchnormLayout {
  assertTensor(fn, 'x', x, 2);
  const [N, D] = x.shape as [number, number];
  assertTensor(fn, 'gamma', gamma);
  assertTensor(fn, 'beta', beta);
  assertSize(fn, 'gamma', gamma, D, 'D');
  assertSize(fn, 'beta', beta, D, 'D');
  return { N, C: D, S: 1 };
}

/**
 * Batchnorm backward through the computational graph, one node at a time (CS231n's first
 * version). dx (N, D), dgamma in gamma's shape, dbeta in beta's shape.
 */
export function batchnormBackwardNaive(dout: Tensor, cache: BatchnormCache): BatchnormGradients {
  const fn = 'batchnormBackwardNaive';
  const { N, C: D } = checkCache(fn, cache, 2);
  assertUpstream(fn, dout, cache.x.shape, cache.x.dtype);
  const { x, gamma, mean, variance, eps } = cache;
  const dx = allocate(x.dtype, N * D); // (N, D)
  // out = gamma · xhat + beta   →  dbeta = Σ_n dout,  dgamma = Σ_n dout · xhat   (each (D))
  const { dgamma, dbeta } = paramGradients(dout, cache, { N, C: D, S: 1 });

  for (let d = 0; d < D; d++) {
    // Forward graph for feature d, node by node:
    //   mu = (1/N) Σ_n x          xmu = x − mu          sq = xmu²
    //   var = (1/N) Σ_n sq        sqrtvar = √(var + eps)  ivar = 1 / sqrtvar
    //   xhat = xmu · ivar         out = gamma · xhat + beta
    const sqrtvar = Math.sqrt(variance[d]! + eps);
    const ivar = 1 / sqrtvar;
    const xmu = (n: number): number => x.data[n * D + d]! - mean[d]!;

    // out = gamma · xhat + beta   →  dxhat = dout · gamma
    const dxhat = (n: number): number => dout.data[n * D + d]! * gamma.data[d]!;

    if (cache.mode === 'test') {
      // mu and var are constants (the running statistics): only xhat = xmu · ivar remains.
      for (let n = 0; n < N; n++) dx[n * D + d] = dxhat(n) * ivar;
      continue;
    }

    // xhat = xmu · ivar            →  dxmu1 = dxhat · ivar,  divar = Σ_n dxhat · xmu
    let divar = 0;
    for (let n = 0; n < N; n++) divar += dxhat(n) * xmu(n);
    // ivar = 1 / sqrtvar           →  dsqrtvar = −divar / sqrtvar²
    const dsqrtvar = -divar / (sqrtvar * sqrtvar);
    // sqrtvar = √(var + eps)       →  dvar = dsqrtvar / (2 · sqrtvar)
    const dvar = dsqrtvar / (2 * sqrtvar);
    // var = (1/N) Σ_n sq           →  dsq = dvar / N
    const dsq = dvar / N;
    // sq = xmu²                    →  dxmu2 = 2 · xmu · dsq
    // xmu = x − mu                 →  dx1 = dxmu1 + dxmu2,  dmu = −Σ_n (dxmu1 + dxmu2)
    const dx1 = new Float64Array(N);
    let dmu = 0;
    for (let n = 0; n < N; n++) {
      dx1[n] = dxhat(n) * ivar + 2 * xmu(n) * dsq;
      dmu -= dx1[n]!;
    }
    // mu = (1/N) Σ_n x             →  dx2 = dmu / N;  dx = dx1 + dx2
    for (let n = 0; n < N; n++) dx[n * D + d] = dx1[n]! + dmu / N;
  }
  return { dx: { shape: [N, D], data: dx, dtype: x.dtype }, dgamma, dbeta };
}

/**
 * Batchnorm backward in closed form (CS231n's "alt" version), the graph above simplified on paper:
 *   dx = (gamma · invStd / N) · (N · dout − Σ_n dout − xhat · Σ_n dout · xhat)
 */
export function batchnormBackwardAlt(dout: Tensor, cache: BatchnormCache): BatchnormGradients {
  const fn = 'batchnormBackwardAlt';
  const { N, C: D } = checkCache(fn, cache, 2);
  assertUpstream(fn, dout, cache.x.shape, cache.x.dtype);
  return closedFormBackward(dout, cache, { N, C: D, S: 1 });
}

// ---------------------------------------------------------------------------------------------
// spatial batchnorm, x (N, C, H, W)

/**
 * Spatial batchnorm forward: x (N, C, H, W), gamma and beta of shape (C) or (1, C, 1, 1)
 * → out (N, C, H, W). Each channel is normalised over its N·H·W values.
 */
export function spatialBatchnormForwardNaive(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  bnParam: BatchnormParam,
): { out: Tensor; cache: BatchnormCache } {
  const fn = 'spatialBatchnormForwardNaive';
  return normaliseForward(fn, x, gamma, beta, bnParam, spatialLayout(fn, x, gamma, beta), 'C');
}

/** The (N, C, H·W) layout of spatial batchnorm's x, with gamma and beta of C elements checked. */
export function spatialLayout(fn: string, x: Tensor, gamma: Tensor, beta: Tensor): BatchnormLayout {
  assertTensor(fn, 'x', x, 4);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  assertTensor(fn, 'gamma', gamma);
  assertTensor(fn, 'beta', beta);
  assertChannelParam(fn, 'gamma', gamma, C);
  assertChannelParam(fn, 'beta', beta, C);
  return { N, C, S: H * W };
}

/** Spatial batchnorm backward (closed form): dx (N, C, H, W), dgamma/dbeta in their parameters' shapes. */
export function spatialBatchnormBackwardNaive(dout: Tensor, cache: BatchnormCache): BatchnormGradients {
  const fn = 'spatialBatchnormBackwardNaive';
  const { N, C, S } = checkCache(fn, cache, 4);
  assertUpstream(fn, dout, cache.x.shape, cache.x.dtype);
  return closedFormBackward(dout, cache, { N, C, S });
}

// ---------------------------------------------------------------------------------------------
// shared by both layouts

/**
 * Checks a forward's bnParam and running statistics against x (the naive and fast layers share
 * this): the dtype, mode, eps and momentum to use.
 */
export function checkForward(
  fn: string,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  bnParam: BatchnormParam,
  { N, C, S }: BatchnormLayout,
  meaning: 'D' | 'C',
): { dtype: DType; mode: BatchnormMode; eps: number; momentum: number } {
  const dtype = assertSameDtype(fn, { x, gamma, beta });
  const { mode, eps, momentum } = readParam(fn, bnParam);
  const M = N * S; // values per channel
  for (const name of ['runningMean', 'runningVar'] as const) {
    const running = bnParam[name];
    if (running === undefined) {
      if (mode === 'test') {
        fail(fn, `bnParam.${name} in test mode (run a train-mode forward first or pass it)`, 'undefined');
      }
      continue;
    }
    assertTensor(fn, `bnParam.${name}`, running);
    assertSize(fn, `bnParam.${name}`, running, C, meaning);
    assertSameDtype(fn, { x, [`bnParam.${name}`]: running });
  }
  if (mode === 'train' && M === 0) {
    fail(fn, 'x with at least one value per channel in train mode (batch statistics of nothing are undefined)', `shape ${show(x.shape)}`);
  }
  return { dtype, mode, eps, momentum };
}

/**
 * Moves the running statistics toward the batch's, creating them as zeros in the caller's
 * bnParam on the first train-mode forward.
 */
export function updateRunning(bnParam: BatchnormParam, dtype: DType, mean: Float64Array, variance: Float64Array, momentum: number): void {
  const C = mean.length;
  const runningMean = (bnParam.runningMean ??= zeros([C], dtype));
  const runningVar = (bnParam.runningVar ??= zeros([C], dtype));
  for (let c = 0; c < C; c++) {
    runningMean.data[c] = momentum * runningMean.data[c]! + (1 - momentum) * mean[c]!;
    runningVar.data[c] = momentum * runningVar.data[c]! + (1 - momentum) * variance[c]!;
  }
}

function normaliseForward(
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
  const M = N * S; // values per channel
  const at = (n: number, c: number, s: number): number => (n * C + c) * S + s;
  const mean = new Float64Array(C); // (C)
  const variance = new Float64Array(C); // (C)
  if (mode === 'train') {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) sum += x.data[at(n, c, s)]!;
      mean[c] = sum / M;
      let squares = 0;
      for (let n = 0; n < N; n++) {
        for (let s = 0; s < S; s++) {
          const xmu = x.data[at(n, c, s)]! - mean[c]!;
          squares += xmu * xmu;
        }
      }
      variance[c] = squares / M; // biased, like CS231n and ONNX
    }
    // Running statistics live in the caller's object: create them as zeros, then update in place.
    updateRunning(bnParam, dtype, mean, variance, momentum);
  } else {
    mean.set(bnParam.runningMean!.data);
    variance.set(bnParam.runningVar!.data);
  }

  const invStd = new Float64Array(C); // (C)
  for (let c = 0; c < C; c++) invStd[c] = 1 / Math.sqrt(variance[c]! + eps);

  const xhat = new Float64Array(x.data.length); // layout of x
  const out = allocate(dtype, x.data.length); // layout of x
  // (An empty x may have a huge N: no loop over it.)
  for (let n = 0; n < N && out.length > 0; n++) {
    for (let c = 0; c < C; c++) {
      for (let s = 0; s < S; s++) {
        const i = at(n, c, s);
        xhat[i] = (x.data[i]! - mean[c]!) * invStd[c]!;
        out[i] = gamma.data[c]! * xhat[i]! + beta.data[c]!;
      }
    }
  }
  return {
    out: { shape: [...x.shape], data: out, dtype },
    cache: { mode, x, gamma, betaShape: [...beta.shape], xhat, mean, variance, invStd, eps },
  };
}

/** dbeta = Σ dout, dgamma = Σ dout · xhat, both over n and s for each channel. */
function paramGradients(dout: Tensor, cache: BatchnormCache, { N, C, S }: BatchnormLayout): { dgamma: Tensor; dbeta: Tensor } {
  const dtype: DType = cache.x.dtype;
  const dgamma = allocate(dtype, C);
  const dbeta = allocate(dtype, C);
  for (let c = 0; c < C && N * S > 0; c++) {
    let sumDout = 0;
    let sumDoutXhat = 0;
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        sumDout += dout.data[i]!;
        sumDoutXhat += dout.data[i]! * cache.xhat[i]!;
      }
    }
    dgamma[c] = sumDoutXhat;
    dbeta[c] = sumDout;
  }
  return {
    dgamma: { shape: [...cache.gamma.shape], data: dgamma, dtype },
    dbeta: { shape: [...cache.betaShape], data: dbeta, dtype },
  };
}

/**
 * Closed form over M = N·S values per channel, with dxhat = dout · gamma:
 *   dx = (invStd / M) · (M · dxhat − Σ dxhat − xhat · Σ dxhat · xhat)
 * In test mode the statistics are constants and dx = dxhat · invStd.
 */
function closedFormBackward(dout: Tensor, cache: BatchnormCache, layout: BatchnormLayout): BatchnormGradients {
  const { N, C, S } = layout;
  const { x, gamma, xhat, invStd } = cache;
  const M = N * S;
  const dx = allocate(x.dtype, x.data.length); // layout of x
  const { dgamma, dbeta } = paramGradients(dout, cache, layout);
  for (let c = 0; c < C && M > 0; c++) {
    const g = gamma.data[c]!;
    if (cache.mode === 'test') {
      for (let n = 0; n < N; n++) {
        for (let s = 0; s < S; s++) {
          const i = (n * C + c) * S + s;
          dx[i] = dout.data[i]! * g * invStd[c]!;
        }
      }
      continue;
    }
    // Σ dxhat = gamma · dbeta and Σ dxhat · xhat = gamma · dgamma, kept in float64.
    let sumDxhat = 0;
    let sumDxhatXhat = 0;
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        sumDxhat += dout.data[i]! * g;
        sumDxhatXhat += dout.data[i]! * g * xhat[i]!;
      }
    }
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s;
        const dxhat = dout.data[i]! * g;
        dx[i] = (invStd[c]! / M) * (M * dxhat - sumDxhat - xhat[i]! * sumDxhatXhat);
      }
    }
  }
  return { dx: { shape: [...x.shape], data: dx, dtype: x.dtype }, dgamma, dbeta };
}

function readParam(fn: string, bnParam: unknown): { mode: BatchnormMode; eps: number; momentum: number } {
  assertObject(fn, 'bnParam', bnParam);
  const mode = bnParam['mode'];
  if (mode !== 'train' && mode !== 'test') fail(fn, "bnParam.mode to be 'train' or 'test'", show(mode));
  const eps = numberInRange(fn, 'bnParam.eps', bnParam['eps'], 0, Infinity, 1e-5, { low: true });
  const momentum = numberInRange(fn, 'bnParam.momentum', bnParam['momentum'], 0, 1, 0.9);
  return { mode, eps, momentum };
}

/** gamma or beta of a spatial layer: shape (C) or (1, C, 1, 1). */
function assertChannelParam(fn: string, name: string, t: Tensor, C: number): void {
  const s = t.shape;
  const ok = (s.length === 1 && s[0] === C) || (s.length === 4 && s[0] === 1 && s[1] === C && s[2] === 1 && s[3] === 1);
  if (!ok) fail(fn, `${name} of shape [${C}] or [1, ${C}, 1, 1] (C)`, `shape ${show(s)}`);
}

/**
 * Checks that the cache came from the matching forward (x of the right rank, consistent sizes).
 * `useXhat` false (the fast backward): xhat is not read, so a fast forward's lazily computed
 * xhat is not computed here.
 */
export function checkCache(fn: string, cache: unknown, rank: 2 | 4, useXhat = true): BatchnormLayout {
  // The forward that makes such caches, named like the backward (fast or naive); the two
  // forwards' caches are interchangeable.
  const forward = `${rank === 2 ? 'batchnormForward' : 'spatialBatchnormForward'}${/(Naive|Alt)$/.test(fn) ? 'Naive' : ''}`;
  assertCache(fn, cache, ['mode', 'x', 'gamma', 'betaShape', 'xhat', 'mean', 'variance', 'invStd', 'eps']);
  const c = cache as BatchnormCache;
  assertTensor(fn, 'cache.x', c.x);
  if (c.x.shape.length !== rank) {
    throw new ConvnetError(fn, `expected the cache of ${forward} (x of rank ${rank}), got cache.x of shape ${show(c.x.shape)}`);
  }
  assertTensor(fn, 'cache.gamma', c.gamma);
  const N = c.x.shape[0]!;
  const C = c.x.shape[1]!;
  const S = rank === 2 ? 1 : c.x.shape[2]! * c.x.shape[3]!;
  const perChannel = [c.mean, c.variance, c.invStd];
  const consistent =
    (c.mode === 'train' || c.mode === 'test') &&
    (!useXhat || (c.xhat instanceof Float64Array && c.xhat.length === c.x.data.length)) &&
    perChannel.every((a) => a instanceof Float64Array && a.length === C) &&
    c.gamma.data.length === C &&
    sizeOf(c.betaShape) === C &&
    typeof c.eps === 'number';
  if (!consistent) {
    fail(fn, `the cache of ${forward} for x of shape ${show(c.x.shape)} (xhat, mean, variance, invStd, gamma of matching sizes)`, 'an inconsistent cache');
  }
  return { N, C, S };
}
