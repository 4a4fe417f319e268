/**
 * Fast pooling: the same arguments, results and errors as the naive layers in pool.ts (the
 * definition), over the active kernels.
 *
 * Max pool records each window's argmax in the forward (an Int32Array, one index per output
 * value: 4 bytes per output on top of the naive cache) so that backward is a single scatter;
 * ties go to the first maximum in row-major order and overlapping windows add. The kernels run
 * a dedicated loop for 2×2 stride-2 windows without padding and a generic one (any stride,
 * padding, dilation, ceil mode) otherwise. maxPoolBackwardNaive accepts this forward's cache,
 * and maxPoolBackward accepts the naive forward's (it then finds the argmax again).
 *
 * Average pool keeps the naive cache (shapes only) and sums in the naive order, so its results
 * equal the naive layer's exactly.
 */
import { ConvnetError } from '../errors.js';
import { getKernels } from '../kernels/index.js';
import { allocate, allocateIndices, allocateUninitialized, type Tensor } from '../tensor.js';
import { assertCache, assertUpstream } from '../validate.js';
import { poolWindow } from './geometry.js';
import { assertPoolCacheInput, poolGeometry, type AvgPoolCache, type AvgPoolParam, type MaxPoolCache, type PoolParam } from './pool.js';

export interface MaxPoolFastCache extends MaxPoolCache {
  /** (N, C, Ho, Wo): each window's maximum as an offset row·W + col within its input plane. */
  argmax: Int32Array;
}

/** Max-pool forward. x: (N, C, H, W) → out: (N, C, Ho, Wo). */
export function maxPoolForward(x: Tensor, poolParam: PoolParam): { out: Tensor; cache: MaxPoolFastCache } {
  const g = poolGeometry('maxPoolForward', x, poolParam);
  const { N, C, Ho, Wo } = g;
  const out = allocateUninitialized(x.dtype, N * C * Ho * Wo); // every window written
  const argmax = allocateIndices(N * C * Ho * Wo);
  getKernels().maxPoolForward(x.data, 0, N * C, poolWindow(g), out, 0, argmax, 0);
  return { out: { shape: [N, C, Ho, Wo], data: out, dtype: x.dtype }, cache: { x, geometry: g, argmax } };
}

/** Max-pool backward: each window's gradient goes to its argmax, adding where windows overlap. */
export function maxPoolBackward(dout: Tensor, cache: MaxPoolFastCache | MaxPoolCache): Tensor {
  const fn = 'maxPoolBackward';
  assertCache(fn, cache, ['x', 'geometry']);
  const { x, geometry: g } = cache;
  assertPoolCacheInput(fn, g, x.shape, 'cache.x');
  const { N, C, Ho, Wo } = g;
  assertUpstream(fn, dout, [N, C, Ho, Wo], x.dtype);
  const kernels = getKernels();
  const window = poolWindow(g);
  let argmax = (cache as Partial<MaxPoolFastCache>).argmax;
  if (!(argmax instanceof Int32Array) || argmax.length !== N * C * Ho * Wo) {
    // A cache from maxPoolForwardNaive: find the argmax again.
    argmax = new Int32Array(N * C * Ho * Wo);
    kernels.maxPoolForward(x.data, 0, N * C, window, allocate(x.dtype, N * C * Ho * Wo), 0, argmax, 0);
  }
  const dx = allocate(x.dtype, x.data.length);
  kernels.maxPoolBackward(dout.data, 0, argmax, 0, N * C, window, dx, 0);
  return { shape: [...x.shape], data: dx, dtype: x.dtype };
}

function parseCountIncludePad(fn: string, poolParam: AvgPoolParam): boolean {
  const value = poolParam.countIncludePad;
  if (value !== undefined && typeof value !== 'boolean') {
    throw new ConvnetError(fn, `expected poolParam.countIncludePad to be a boolean, got ${String(value)}`);
  }
  return value ?? true;
}

/** Average-pool forward. x: (N, C, H, W) → out: (N, C, Ho, Wo). */
export function avgPoolForward(x: Tensor, poolParam: AvgPoolParam): { out: Tensor; cache: AvgPoolCache } {
  const fn = 'avgPoolForward';
  const g = poolGeometry(fn, x, poolParam);
  const countIncludePad = parseCountIncludePad(fn, poolParam);
  const { N, C, Ho, Wo } = g;
  const out = allocate(x.dtype, N * C * Ho * Wo);
  getKernels().avgPoolForward(x.data, 0, N * C, poolWindow(g), countIncludePad, out, 0);
  return {
    out: { shape: [N, C, Ho, Wo], data: out, dtype: x.dtype },
    cache: { inputShape: [...x.shape], dtype: x.dtype, geometry: g, countIncludePad },
  };
}

/** Average-pool backward: each window spreads dout / divisor over its input cells. */
export function avgPoolBackward(dout: Tensor, cache: AvgPoolCache): Tensor {
  const fn = 'avgPoolBackward';
  assertCache(fn, cache, ['inputShape', 'dtype', 'geometry', 'countIncludePad']);
  const { geometry: g, countIncludePad } = cache;
  assertPoolCacheInput(fn, g, cache.inputShape, 'cache.inputShape');
  const { N, C, H, W, Ho, Wo } = g;
  assertUpstream(fn, dout, [N, C, Ho, Wo], cache.dtype);
  const dx = allocate(cache.dtype, N * C * H * W);
  getKernels().avgPoolBackward(dout.data, 0, N * C, poolWindow(g), countIncludePad, dx, 0);
  return { shape: [...cache.inputShape], data: dx, dtype: cache.dtype };
}
