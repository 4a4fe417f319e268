/**
 * Regression tests for the shared checks the layer fuzz test (layers.test.ts) showed missing:
 * allocation of more than 2^31 − 1 elements (tensor.ts), and cache fields that every forward
 * fills with a tensor, a shape, a dtype or an object (validate.ts assertCache). Each call used
 * to throw a TypeError or RangeError or return a tensor whose shape did not describe its data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConvnetError } from '../../src/errors.js';
import {
  affineBackward,
  affineBackwardNaive,
  affineForwardNaive,
  avgPoolBackwardNaive,
  avgPoolForwardNaive,
  convBackwardNaive,
  convForwardNaive,
  flattenBackward,
  flattenForward,
  globalAvgPoolBackward,
} from '../../src/index.js';
import { allocate, allocateUninitialized, type Tensor } from '../../src/tensor.js';

const filled = (shape: number[], value = 1): Tensor => {
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(value);
  for (let i = 0; i < data.length; i++) data[i] = value + 0.25 * (i % 7);
  return { shape, data, dtype: 'float64' };
};

/** Asserts a ConvnetError from `fn` whose message starts with `name: ` and matches `pattern`. */
function throwsNamed(f: () => unknown, name: string, pattern: RegExp = /./): void {
  assert.throws(f, (error: unknown) => {
    assert.ok(error instanceof ConvnetError, `expected a ConvnetError, got ${String(error)}`);
    assert.equal(error.fn, name);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('fuzz regressions: allocations too large fail at once with a ConvnetError', () => {
  it('allocate and allocateUninitialized reject more than 2^31 − 1 elements (RangeError before)', () => {
    throwsNamed(() => allocate('float64', 2 ** 31), 'allocate', /at most 2\^31 − 1 elements/);
    throwsNamed(() => allocateUninitialized('float32', 2 ** 40), 'allocate');
    throwsNamed(() => allocate('float32', Number.NaN), 'allocate');
  });

});

describe('fuzz regressions: backwards check the fields of their caches', () => {
  const x = filled([2, 3, 4, 4]);

  it('a cache field that must be a tensor and is not (TypeError before)', () => {
    throwsNamed(() => globalAvgPoolBackward(filled([2, 3, 1, 1]), { x: null } as never), 'globalAvgPoolBackward', /cache\.x to be a tensor/);
    const { cache } = affineForwardNaive(filled([2, 3]), filled([3, 2]), filled([2]));
    const broken = { ...cache, w: () => 1 } as never;
    throwsNamed(() => affineBackwardNaive(filled([2, 2]), broken), 'affineBackwardNaive', /cache\.w/);
    throwsNamed(() => affineBackward(filled([2, 2]), broken), 'affineBackward', /cache\.w/);
  });

  it('a cache tensor with a negative dimension (a gradient with a malformed shape before)', () => {
    const { out, cache } = convForwardNaive(x, filled([2, 3, 3, 3]), filled([2]), { pad: 1 });
    const w = cache.w;
    throwsNamed(() => convBackwardNaive(filled(out.shape), { ...cache, w: { ...w, shape: [2, 3, -1, 9] } }), 'convBackwardNaive', /cache\.w\.shape/);
  });

  it('a cache shape that is not a shape (TypeError before)', () => {
    const { out, cache } = avgPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2 });
    throwsNamed(() => avgPoolBackwardNaive(filled(out.shape), { ...cache, inputShape: Symbol('s') as never }), 'avgPoolBackwardNaive', /cache\.inputShape to be a shape/);
    const flat = flattenForward(x);
    throwsNamed(() => flattenBackward(filled(flat.out.shape), { ...flat.cache, shape: 1n as never }), 'flattenBackward', /cache\.shape/);
  });

});

describe('fuzz regressions: conv and pool backwards given a cache without its geometry', () => {
  it('throws a ConvnetError (TypeError: cannot destructure property N before)', () => {
    const x = filled([1, 2, 4, 4]);
    const pool = avgPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2 });
    throwsNamed(() => avgPoolBackwardNaive(filled(pool.out.shape), { ...pool.cache, geometry: undefined as never }), 'avgPoolBackwardNaive', /cache\.geometry/);
    const conv = convForwardNaive(x, filled([2, 2, 3, 3]), filled([2]));
    throwsNamed(() => convBackwardNaive(filled(conv.out.shape), { ...conv.cache, geometry: null as never }), 'convBackwardNaive', /cache\.geometry/);
  });
});
