/**
 * Sandwich layers: common sequences fused into one forward/backward pair, as in CS231n's
 * layer_utils. Each backward runs the pieces' backwards in reverse order; conv → relu runs as
 * one kernel call each way where the backend can (convReluForwardFast), with the same results.
 */
import { reluBackward, reluForward, type ReluCache } from './activations.js';
import { affineBackward, affineForward } from './affineFast.js';
import { convBackward, convForward } from './convFast.js';
import type { AffineCache } from './affine.js';
import type { BatchnormCache, BatchnormParam } from './batchnorm.js';
import { spatialBatchnormBackward, spatialBatchnormForward } from './batchnormFast.js';
import type { ConvCache, ConvParam } from './conv.js';
import {
  convReluBackwardFast,
  convReluForwardFast,
  convReluPoolBackwardFast,
  convReluPoolForwardFast,
  type ConvReluPoolFastCache,
} from './convFast.js';
import type { PoolParam } from './pool.js';
import type { Tensor } from '../tensor.js';

export interface AffineReluCache {
  affine: AffineCache;
  relu: ReluCache;
}

/** affine → relu. x: (N, d1, …) w: (D, M) b: (M) → (N, M) */
export function affineReluForward(x: Tensor, w: Tensor, b: Tensor): { out: Tensor; cache: AffineReluCache } {
  const a = affineForward(x, w, b);
  const r = reluForward(a.out);
  return { out: r.out, cache: { affine: a.cache, relu: r.cache } };
}

export function affineReluBackward(dout: Tensor, cache: AffineReluCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  return affineBackward(reluBackward(dout, cache.relu), cache.affine);
}

export interface ConvReluCache {
  conv: ConvCache;
  relu: ReluCache;
}

/** conv → relu (one pass where the kernels can: convReluForwardFast). */
export function convReluForward(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam): { out: Tensor; cache: ConvReluCache } {
  return convReluForwardFast(x, w, b, convParam);
}

export function convReluBackward(dout: Tensor, cache: ConvReluCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  return convReluBackwardFast(dout, cache);
}

/** conv → relu → max pool's cache (convReluPoolForwardFast: composed or fused). */
export type ConvReluPoolCache = ConvReluPoolFastCache;

/** conv → relu → max pool (one kernel call each way for 2×2 pools where the backend can). */
export function convReluPoolForward(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  convParam: ConvParam,
  poolParam: PoolParam,
): { out: Tensor; cache: ConvReluPoolCache } {
  return convReluPoolForwardFast(x, w, b, convParam, poolParam);
}

export function convReluPoolBackward(dout: Tensor, cache: ConvReluPoolCache): { dx: Tensor; dw: Tensor; db: Tensor } {
  return convReluPoolBackwardFast(dout, cache);
}

export interface ConvBnReluCache {
  conv: ConvCache;
  bn: BatchnormCache;
  relu: ReluCache;
}

/** conv → spatial batchnorm → relu. */
export function convBnReluForward(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  gamma: Tensor,
  beta: Tensor,
  convParam: ConvParam,
  bnParam: BatchnormParam,
): { out: Tensor; cache: ConvBnReluCache } {
  const c = convForward(x, w, b, convParam);
  const n = spatialBatchnormForward(c.out, gamma, beta, bnParam);
  const r = reluForward(n.out);
  return { out: r.out, cache: { conv: c.cache, bn: n.cache, relu: r.cache } };
}

export function convBnReluBackward(
  dout: Tensor,
  cache: ConvBnReluCache,
): { dx: Tensor; dw: Tensor; db: Tensor; dgamma: Tensor; dbeta: Tensor } {
  const dn = spatialBatchnormBackward(reluBackward(dout, cache.relu), cache.bn);
  const dc = convBackward(dn.dx, cache.conv);
  return { ...dc, dgamma: dn.dgamma, dbeta: dn.dbeta };
}
