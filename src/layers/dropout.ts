/**
 * Inverted dropout. `p` is the probability of KEEPING a unit (CS231n's convention): train mode
 * multiplies by mask / p so that test mode can be the identity.
 */
import { ConvnetError, show } from '../errors.js';
import { rng, type Rng } from '../rng.js';
import { allocate, sizeOf, type Tensor } from '../tensor.js';
import { assertCache, assertObject, assertTensor, assertUpstream, integer, numberInRange } from '../validate.js';

export interface DropoutParam {
  /** Probability of keeping each unit, in (0, 1]. */
  p: number;
  mode: 'train' | 'test';
  /** Seed for this call's mask (train mode needs a seed or an rng). */
  seed?: number;
  /** A generator to draw the mask from (advanced by each call); takes precedence over seed. */
  rng?: Rng;
}

export interface DropoutCache {
  /** mask / p per element, or null in test mode. */
  scale: Tensor | null;
  shape: number[];
  dtype: Tensor['dtype'];
}

export function dropoutForward(x: Tensor, dropoutParam: DropoutParam): { out: Tensor; cache: DropoutCache } {
  const fn = 'dropoutForward';
  assertTensor(fn, 'x', x);
  assertObject(fn, 'dropoutParam', dropoutParam);
  const p = numberInRange(fn, 'dropoutParam.p (the keep probability)', dropoutParam.p, 0, 1, undefined, { low: true });
  const { mode } = dropoutParam;
  if (mode !== 'train' && mode !== 'test') throw new ConvnetError(fn, `expected dropoutParam.mode 'train' or 'test', got ${show(mode)}`);
  if (mode === 'test') {
    return { out: { shape: [...x.shape], data: x.data.slice(), dtype: x.dtype }, cache: { scale: null, shape: [...x.shape], dtype: x.dtype } };
  }
  let generator = dropoutParam.rng;
  if (generator === undefined) {
    if (dropoutParam.seed === undefined) {
      throw new ConvnetError(fn, 'expected dropoutParam.seed or dropoutParam.rng in train mode (masks come from a seeded generator), got neither');
    }
    generator = rng(integer(fn, 'dropoutParam.seed', dropoutParam.seed, Number.MIN_SAFE_INTEGER));
  } else if (typeof generator.uniform !== 'function') {
    throw new ConvnetError(fn, `expected dropoutParam.rng to be an Rng from rng(seed), got ${show(generator)}`);
  }
  const scale = allocate(x.dtype, x.data.length);
  const out = allocate(x.dtype, x.data.length);
  for (let i = 0; i < out.length; i++) {
    scale[i] = generator.uniform() < p ? 1 / p : 0;
    out[i] = x.data[i]! * scale[i]!;
  }
  return {
    out: { shape: [...x.shape], data: out, dtype: x.dtype },
    cache: { scale: { shape: [...x.shape], data: scale, dtype: x.dtype }, shape: [...x.shape], dtype: x.dtype },
  };
}

export function dropoutBackward(dout: Tensor, cache: DropoutCache): Tensor {
  const fn = 'dropoutBackward';
  assertCache(fn, cache, ['scale', 'shape', 'dtype']);
  const { scale } = cache;
  if (scale !== null) {
    assertTensor(fn, 'cache.scale', scale);
    if (scale.data.length !== sizeOf(cache.shape) || scale.dtype !== cache.dtype) {
      throw new ConvnetError(fn, `expected the cache of dropoutForward (scale of shape ${show(cache.shape)} and dtype ${cache.dtype}, or null), got scale ${show(scale.shape)} ${scale.dtype}`);
    }
  }
  assertUpstream(fn, dout, cache.shape, cache.dtype);
  const dx = allocate(cache.dtype, dout.data.length);
  if (cache.scale === null) dx.set(dout.data);
  else for (let i = 0; i < dx.length; i++) dx[i] = dout.data[i]! * cache.scale.data[i]!;
  return { shape: [...cache.shape], data: dx, dtype: cache.dtype };
}
