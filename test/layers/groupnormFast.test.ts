/**
 * The fast group norm layer (groupnormFast.ts) against the naive one (groupnorm.ts), on the
 * default kernel backend (layersJs / layersWasm re-run this file on each): random shapes with
 * G = 1 (layer norm over C·H·W), G = C (instance norm) and between, means far from zero, both
 * dtypes; caches interchangeable both ways; float64 gradient checks; the same errors.
 *
 * Tolerances: float64 relError < 1e-10; float32 scaledError < 1e-5 (test/kernels/suite.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradCheck, relError } from '../../src/gradcheck.js';
import { spatialGroupnormBackwardNaive, spatialGroupnormForwardNaive, type GroupnormCache } from '../../src/layers/groupnorm.js';
import { spatialGroupnormBackward, spatialGroupnormForward } from '../../src/layers/groupnormFast.js';
import { rng } from '../../src/rng.js';
import { cast, type DType, type Tensor } from '../../src/tensor.js';
import { scaledError } from '../kernels/suite.js';
import { normal, throwsConvnet } from '../helpers.js';

function close(label: string, got: Tensor, want: Tensor): void {
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  assert.equal(got.dtype, want.dtype, `${label}: dtype`);
  const err = got.dtype === 'float64' ? relError(got.data, want.data) : scaledError(got.data, want.data);
  assert.ok(err < (got.dtype === 'float64' ? 1e-10 : 1e-5), `${label}: error ${err}`);
}

describe('fast group norm equals the naive layer', () => {
  for (const dtype of ['float64', 'float32'] as DType[]) {
    it(`${dtype}: out, dx, dgamma, dbeta (40 random shapes, G from 1 to C)`, () => {
      const gen = rng(dtype === 'float64' ? 401 : 402);
      for (let trial = 0; trial < 40; trial++) {
        const G = 1 + gen.int(4);
        const C = G * (1 + gen.int(3));
        // At least 3 values per group (see batchnormFast.test.ts on 2).
        const shape = [1 + gen.int(4), C, 2 + gen.int(6), 2 + gen.int(7)];
        const offset = trial % 3 === 0 ? 40 : 0;
        const x = cast(normal(shape, gen, offset, 0.5 + gen.int(3)), dtype);
        const gammaShape = trial % 2 === 0 ? [C] : [1, C, 1, 1];
        const gamma = cast(normal(gammaShape, gen, 1, 0.5), dtype);
        const beta = cast(normal(gammaShape, gen), dtype);
        const dout = cast(normal(shape, gen), dtype);
        const label = `${dtype} x ${shape.join('×')} G ${G}`;
        const a = spatialGroupnormForwardNaive(x, gamma, beta, G);
        const b = spatialGroupnormForward(x, gamma, beta, G);
        close(`${label} out`, b.out, a.out);
        const ga = spatialGroupnormBackwardNaive(dout, a.cache);
        const gb = spatialGroupnormBackward(dout, b.cache);
        close(`${label} dx`, gb.dx, ga.dx);
        close(`${label} dgamma`, gb.dgamma, ga.dgamma);
        close(`${label} dbeta`, gb.dbeta, ga.dbeta);
      }
    });
  }

  it('caches are interchangeable (fast forward → naive backward, naive forward → fast backward)', () => {
    const gen = rng(8);
    const shape = [3, 6, 4, 5];
    const x = normal(shape, gen, 2, 3);
    const gamma = normal([6], gen, 1, 0.5);
    const beta = normal([6], gen);
    const dout = normal(shape, gen);
    const fromFast = spatialGroupnormForward(x, gamma, beta, 3).cache;
    const fromNaive = spatialGroupnormForwardNaive(x, gamma, beta, 3).cache;
    close('xhat', { shape, data: fromFast.xhat, dtype: 'float64' }, { shape, data: fromNaive.xhat, dtype: 'float64' });
    const reference = spatialGroupnormBackwardNaive(dout, fromNaive);
    for (const grads of [spatialGroupnormBackwardNaive(dout, fromFast), spatialGroupnormBackward(dout, fromNaive)]) {
      close('dx', grads.dx, reference.dx);
      close('dgamma', grads.dgamma, reference.dgamma);
      close('dbeta', grads.dbeta, reference.dbeta);
    }
  });

  for (const G of [1, 2, 4]) {
    it(`float64 gradient check of the fast layer, G = ${G} (relError < 1e-7)`, () => {
      const gen = rng(20 + G);
      const report = gradCheck({
        // x ~ N(0, 1): an offset or spread shrinks dx relative to the numerical gradient's
        // rounding noise (groupnorm.test.ts measured N(5, 2²) near 1e-7 for the naive layer).
        inputs: { x: normal([2, 4, 3, 3], gen), gamma: normal([4], gen, 1, 0.5), beta: normal([4], gen) },
        forward: (i) => spatialGroupnormForward(i.x!, i.gamma!, i.beta!, G),
        backward: spatialGroupnormBackward,
        seed: 77,
      });
      for (const e of report.entries) assert.ok(e.relError < 1e-7, `d${e.input}: ${e.relError} at ${e.worstIndex}`);
    });
  }

  it('throws the naive layer errors, naming the fast function called (spatialGroupnormForward, not spatialGroupnormForwardNaive)', () => {
    const gen = rng(3);
    const x = normal([2, 6, 3, 3], gen);
    const gamma = normal([6], gen);
    const beta = normal([6], gen);
    throwsConvnet(() => spatialGroupnormForward(x, gamma, beta, 4), /^spatialGroupnormForward: expected G to divide the 6 channels/);
    throwsConvnet(() => spatialGroupnormForward(x, normal([5], gen), beta, 3), /^spatialGroupnormForward: expected gamma of shape/);
    const { cache } = spatialGroupnormForward(x, gamma, beta, 3);
    throwsConvnet(() => spatialGroupnormBackward(normal([2, 6, 3, 4], gen), cache), /^spatialGroupnormBackward: expected dout/);
    throwsConvnet(() => spatialGroupnormBackward(normal([2, 6, 3, 3], gen), {} as GroupnormCache), /^spatialGroupnormBackward: expected the cache returned by the matching forward/);
  });
});
