/**
 * Fast spatial group normalisation: the same arguments, results, caches and errors as
 * groupnorm.ts (which holds the definition), through the kernel backend's per-channel kernels
 * (src/kernels/types.ts), reading x in two different (N, C, S) views:
 *
 *   statistics  group g of sample n is one contiguous run of M = (C/G)·H·W values, so the
 *               groups are the "channels" of the view (1, N·G, M): channelMoments gives
 *               mean[n, g] and var[n, g];
 *   affine      each (n, c) plane is a "channel" of the view (1, N·C, H·W), with its own
 *               coefficients: out = gamma[c] · invStd[n, g] · (x − mean[n, g]) + beta[c].
 *
 * Backward, per plane: sum[n, c] = Σ dout and dot[n, c] = Σ dout · (x − mean[n, g]) (channelSums),
 * then dbeta[c] = Σ_n sum, dgamma[c] = Σ_n invStd · dot, and per group
 * A = Σ_{c ∈ g} gamma[c] · sum (= Σ dxhat), B = Σ_{c ∈ g} gamma[c] · invStd · dot (= Σ dxhat · xhat):
 *   dx = gamma[c] · invStd · dout − invStd² · B / M · (x − mean) − invStd · A / M.
 *
 * As in batchnormFast.ts, the cache computes xhat only if the naive backward reads it.
 */
import { getKernels } from '../kernels/index.js';
import { allocate, allocateUninitialized, type Tensor } from '../tensor.js';
import { assertUpstream } from '../validate.js';
import { checkCache, checkForward, type GroupnormCache, type GroupnormGradients, type GroupnormParam } from './groupnorm.js';

/** Groupnorm forward (fast): x (N, C, H, W), gamma and beta of shape (1, C, 1, 1) or (C), G groups. */
export function spatialGroupnormForward(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  G: number,
  gnParam: GroupnormParam = {},
): { out: Tensor; cache: GroupnormCache } {
  const fn = 'spatialGroupnormForward';
  const { N, C, H, W, dtype, eps } = checkForward(fn, x, gamma, beta, G, gnParam);
  const kernels = getKernels();
  const S = H * W;
  const Cg = C / G;
  const mean = new Float64Array(N * G); // (N, G)
  const invStd = new Float64Array(N * G); // (N, G)
  const out = allocateUninitialized(dtype, x.data.length); // (N, C, H, W): every value written
  if (x.data.length === 0) {
    // No channels (N may be huge): the groups hold no values, and their statistics (never read)
    // stay 0, as in the naive layer, rather than being computed one by one.
    const cache: GroupnormCache = { x, gamma, betaShape: [...beta.shape], G, xhat: new Float64Array(0), mean, invStd, eps };
    return { out: { shape: [N, C, H, W], data: out, dtype }, cache };
  }
  const variance = new Float64Array(N * G); // (N, G)
  kernels.channelMoments(x.data, 1, N * G, Cg * S, 0, N * G, mean, variance);
  for (let i = 0; i < N * G; i++) invStd[i] = 1 / Math.sqrt(variance[i]! + eps);
  // Per plane (n, c): centre mean[n, g], scale gamma[c] · invStd[n, g], shift beta[c].
  const centre = planeValues(N, C, Cg, (_c, ng) => mean[ng]!);
  const scale = planeValues(N, C, Cg, (c, ng) => gamma.data[c]! * invStd[ng]!);
  const shift = planeValues(N, C, Cg, (c) => beta.data[c]!);
  kernels.channelAffine(x.data, null, 1, N * C, S, 0, N * C, centre, scale, scale, shift, out);
  const cache = { x, gamma, betaShape: [...beta.shape], G, mean, invStd, eps } as Omit<GroupnormCache, 'xhat'>;
  let xhat: Float64Array | undefined;
  Object.defineProperty(cache, 'xhat', {
    enumerable: true,
    get: (): Float64Array => {
      if (xhat === undefined) {
        xhat = new Float64Array(x.data.length);
        const zero = new Float64Array(N * C);
        getKernels().channelAffine(x.data, null, 1, N * C, S, 0, N * C, centre, planeValues(N, C, Cg, (_c, ng) => invStd[ng]!), zero, zero, xhat);
      }
      return xhat;
    },
  });
  return { out: { shape: [N, C, H, W], data: out, dtype }, cache: cache as GroupnormCache };
}

/** Groupnorm backward (fast): dx (N, C, H, W), dgamma and dbeta in their parameters' shapes. */
export function spatialGroupnormBackward(dout: Tensor, cache: GroupnormCache): GroupnormGradients {
  const fn = 'spatialGroupnormBackward';
  checkCache(fn, cache, false);
  assertUpstream(fn, dout, cache.x.shape, cache.x.dtype);
  const { x, gamma, mean, invStd, G } = cache;
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const dtype = x.dtype;
  const S = H * W;
  const Cg = C / G;
  const M = Cg * S;
  if (x.data.length === 0) {
    // No values (N = 0 or C = 0, N possibly huge): the gradients are empty, or zero for gamma and beta.
    return {
      dx: { shape: [N, C, H, W], data: allocate(dtype, 0), dtype },
      dgamma: { shape: [...gamma.shape], data: allocate(dtype, C), dtype },
      dbeta: { shape: [...cache.betaShape], data: allocate(dtype, C), dtype },
    };
  }
  const kernels = getKernels();
  const centre = planeValues(N, C, Cg, (_c, ng) => mean[ng]!);
  const sums = new Float64Array(N * C); // (N, C): Σ dout over the plane
  const dots = new Float64Array(N * C); // (N, C): Σ dout · (x − mean[n, g]) over the plane
  kernels.channelSums(dout.data, x.data, 1, N * C, S, 0, N * C, centre, sums, dots);
  const dgamma = allocate(dtype, C);
  const dbeta = allocate(dtype, C);
  const dgammaSums = new Float64Array(C);
  const dbetaSums = new Float64Array(C);
  const a = new Float64Array(N * C);
  const b = new Float64Array(N * C);
  const k = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const ng = n * G + g;
      const inv = invStd[ng]!;
      let sumDxhat = 0; // A
      let sumDxhatXhat = 0; // B
      for (let c = g * Cg; c < (g + 1) * Cg; c++) {
        const nc = n * C + c;
        dbetaSums[c] += sums[nc]!;
        dgammaSums[c] += inv * dots[nc]!;
        sumDxhat += gamma.data[c]! * sums[nc]!;
        sumDxhatXhat += gamma.data[c]! * inv * dots[nc]!;
      }
      for (let c = g * Cg; c < (g + 1) * Cg; c++) {
        const nc = n * C + c;
        a[nc] = gamma.data[c]! * inv;
        b[nc] = (-inv * inv * sumDxhatXhat) / M;
        k[nc] = (-inv * sumDxhat) / M;
      }
    }
  }
  dgamma.set(dgammaSums);
  dbeta.set(dbetaSums);
  const dx = allocateUninitialized(dtype, x.data.length); // (N, C, H, W): every value written
  kernels.channelAffine(x.data, dout.data, 1, N * C, S, 0, N * C, centre, a, b, k, dx);
  return {
    dx: { shape: [N, C, H, W], data: dx, dtype },
    dgamma: { shape: [...gamma.shape], data: dgamma, dtype },
    dbeta: { shape: [...cache.betaShape], data: dbeta, dtype },
  };
}

/** An (N, C) array of per-plane values, value(c, n·G + g) for channel c in group g = ⌊c / Cg⌋. */
function planeValues(N: number, C: number, Cg: number, value: (c: number, ng: number) => number): Float64Array {
  const G = C / Cg;
  const out = new Float64Array(N * C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) out[n * C + c] = value(c, n * G + Math.floor(c / Cg));
  return out;
}
