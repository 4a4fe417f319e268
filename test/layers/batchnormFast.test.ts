/**
 * The fast batch norm layers (batchnormFast.ts) against the naive ones (batchnorm.ts), on the
 * default kernel backend (layersJs / layersWasm re-run this file on each): random shapes (odd
 * sizes, one sample, one value per channel), both modes, means far from zero (the two-pass
 * variance and the (x − mean) form of the closed-form dx keep float32 accurate there), both
 * dtypes; caches interchangeable both ways; float64 gradient checks; the same errors.
 *
 * Tolerances: float64 relError < 1e-10 (sums in another order); float32 scaledError < 1e-5
 * (max |a − b| over max |a| + max |b|, test/kernels/suite.ts) against the naive float64 maths.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradCheck, relError } from '../../src/gradcheck.js';
import {
  batchnormBackwardAlt,
  batchnormForwardNaive,
  spatialBatchnormBackwardNaive,
  spatialBatchnormForwardNaive,
  type BatchnormCache,
  type BatchnormParam,
} from '../../src/layers/batchnorm.js';
import {
  batchnormBackward,
  batchnormForward,
  spatialBatchnormBackward,
  spatialBatchnormForward,
} from '../../src/layers/batchnormFast.js';
import { rng, type Rng } from '../../src/rng.js';
import { cast, clone, type DType, type Tensor } from '../../src/tensor.js';
import { scaledError } from '../kernels/suite.js';
import { normal, throwsConvnet } from '../helpers.js';

type Forward = (x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam) => { out: Tensor; cache: BatchnormCache };
type Backward = (dout: Tensor, cache: BatchnormCache) => { dx: Tensor; dgamma: Tensor; dbeta: Tensor };

const LAYOUTS = {
  spatial: { naive: [spatialBatchnormForwardNaive, spatialBatchnormBackwardNaive], fast: [spatialBatchnormForward, spatialBatchnormBackward] },
  // The closed-form naive backward (the graph version equals it to 1e-12: batchnorm.test.ts).
  vector: { naive: [batchnormForwardNaive, batchnormBackwardAlt], fast: [batchnormForward, batchnormBackward] },
} as const satisfies Record<string, { naive: [Forward, Backward]; fast: [Forward, Backward] }>;

function close(label: string, got: Tensor, want: Tensor): void {
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  assert.equal(got.dtype, want.dtype, `${label}: dtype`);
  if (got.dtype === 'float64') {
    const err = relError(got.data, want.data);
    assert.ok(err < 1e-10, `${label}: relError ${err}`);
  } else {
    const err = scaledError(got.data, want.data);
    assert.ok(err < 1e-5, `${label}: scaledError ${err}`);
  }
}

/**
 * At least 3 values per channel: with 2, xhat = ±1 and dx = 0 in exact arithmetic, so both
 * layers return rounding noise that no relative metric can compare (the test below checks it).
 */
function randomCase(gen: Rng, layout: keyof typeof LAYOUTS): number[] {
  const N = 1 + gen.int(6);
  const C = 1 + gen.int(7);
  return layout === 'spatial' ? [N, C, 2 + gen.int(8), 2 + gen.int(10)] : [N + 2, C];
}

describe('fast batch norm equals the naive layers', () => {
  for (const layout of Object.keys(LAYOUTS) as (keyof typeof LAYOUTS)[]) {
    const { naive, fast } = LAYOUTS[layout];
    for (const dtype of ['float64', 'float32'] as DType[]) {
      it(`${layout} ${dtype}: out, running statistics, dx, dgamma, dbeta (40 random shapes, train and test)`, () => {
        const gen = rng(layout === 'spatial' ? 301 : 302);
        for (let trial = 0; trial < 40; trial++) {
          const shape = randomCase(gen, layout);
          const C = shape[1]!;
          const offset = trial % 3 === 0 ? 50 : 0; // values far from zero: cancellation traps
          const x = cast(normal(shape, gen, offset, 0.5 + gen.int(3)), dtype);
          const gamma = cast(normal([C], gen, 1, 0.5), dtype);
          const beta = cast(normal([C], gen), dtype);
          const dout = cast(normal(shape, gen), dtype);
          const mode = trial % 4 === 3 ? 'test' : 'train';
          const running = (): BatchnormParam => ({
            mode,
            momentum: 0.8,
            runningMean: cast(normal([C], rng(trial), offset), dtype),
            runningVar: cast(normal([C], rng(trial + 99), 2, 0.3), dtype),
          });
          const label = `${layout} ${dtype} ${mode} x ${shape.join('×')}`;
          const naiveParam = running();
          const fastParam = running();
          const a = naive[0](x, gamma, beta, naiveParam);
          const b = fast[0](x, gamma, beta, fastParam);
          close(`${label} out`, b.out, a.out);
          close(`${label} runningMean`, fastParam.runningMean!, naiveParam.runningMean!);
          close(`${label} runningVar`, fastParam.runningVar!, naiveParam.runningVar!);
          const ga = naive[1](dout, a.cache);
          const gb = fast[1](dout, b.cache);
          close(`${label} dx`, gb.dx, ga.dx);
          close(`${label} dgamma`, gb.dgamma, ga.dgamma);
          close(`${label} dbeta`, gb.dbeta, ga.dbeta);
        }
      });
    }

    it(`${layout}: caches are interchangeable (fast forward → naive backward, naive forward → fast backward)`, () => {
      const gen = rng(7);
      const shape = layout === 'spatial' ? [3, 4, 5, 3] : [6, 4];
      const x = normal(shape, gen, 2, 3);
      const gamma = normal([4], gen, 1, 0.5);
      const beta = normal([4], gen);
      const dout = normal(shape, gen);
      const fromFast = fast[0](x, gamma, beta, { mode: 'train' }).cache;
      const fromNaive = naive[0](x, gamma, beta, { mode: 'train' }).cache;
      // The fast cache computes xhat when the naive backward reads it.
      close('xhat', { shape, data: fromFast.xhat, dtype: 'float64' }, { shape, data: fromNaive.xhat, dtype: 'float64' });
      const reference = naive[1](dout, fromNaive);
      for (const grads of [naive[1](dout, fromFast), fast[1](dout, fromNaive)]) {
        close('dx', grads.dx, reference.dx);
        close('dgamma', grads.dgamma, reference.dgamma);
        close('dbeta', grads.dbeta, reference.dbeta);
      }
    });

    for (const mode of ['train', 'test'] as const) {
      it(`${layout} ${mode}: float64 gradient check of the fast layer (relError < 1e-7)`, () => {
        const gen = rng(mode === 'train' ? 17 : 18);
        const shape = layout === 'spatial' ? [3, 2, 3, 4] : [5, 3];
        const C = shape[1]!;
        const runningMean = normal([C], gen);
        const runningVar = normal([C], gen, 1.5, 0.2);
        const report = gradCheck({
          inputs: { x: normal(shape, gen, 3, 2), gamma: normal([C], gen, 1, 0.5), beta: normal([C], gen) },
          forward: (i) => fast[0](i.x!, i.gamma!, i.beta!, mode === 'train' ? { mode } : { mode, runningMean: clone(runningMean), runningVar: clone(runningVar) }),
          backward: fast[1],
          seed: 1234,
        });
        for (const e of report.entries) assert.ok(e.relError < 1e-7, `d${e.input}: ${e.relError} at ${e.worstIndex}`);
      });
    }
  }

  it('one or two values per channel (dx nearly cancels): fast within 1e-12 of naive, relative to gamma · invStd · dout', () => {
    const gen = rng(5);
    for (const [layout, shape] of [['vector', [2, 5]], ['spatial', [1, 3, 1, 2]], ['spatial', [2, 3, 1, 1]], ['spatial', [1, 3, 1, 1]]] as const) {
      const { naive, fast } = LAYOUTS[layout];
      const C = shape[1]!;
      const x = normal([...shape], gen, 4, 3);
      const gamma = normal([C], gen, 1, 0.5);
      const beta = normal([C], gen);
      const dout = normal([...shape], gen);
      const a = naive[0](x, gamma, beta, { mode: 'train' });
      const want = naive[1](dout, a.cache).dx.data;
      const got = fast[1](dout, fast[0](x, gamma, beta, { mode: 'train' }).cache).dx.data;
      // The terms that cancel are of size gamma · invStd · dout.
      let scale = 0;
      for (let i = 0; i < dout.data.length; i++) {
        const c = layout === 'vector' ? i % C : Math.floor(i / (shape.length === 4 ? shape[2]! * shape[3]! : 1)) % C;
        scale = Math.max(scale, Math.abs(gamma.data[c]! * a.cache.invStd[c]! * dout.data[i]!));
      }
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-12 * scale, `x ${shape}: dx ${got[i]} vs ${want[i]}`);
    }
  });

  it('test-mode backward: dx = gamma · invStd · dout, whatever x is (NaN where x = ±∞ before: 0 · ∞)', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const x = cast({ shape: [2, 1], data: new Float64Array([Infinity, 1]), dtype: 'float64' }, dtype);
      const one = cast({ shape: [1], data: new Float64Array([1]), dtype: 'float64' }, dtype);
      const zero = cast({ shape: [1], data: new Float64Array([0]), dtype: 'float64' }, dtype);
      const bnParam: BatchnormParam = { mode: 'test', runningMean: zero, runningVar: one };
      const { cache } = batchnormForward(x, one, zero, bnParam);
      const dout = cast({ shape: [2, 1], data: new Float64Array([1, 1]), dtype: 'float64' }, dtype);
      const { dx } = batchnormBackward(dout, cache);
      const want = batchnormBackwardAlt(dout, batchnormForwardNaive(x, one, zero, bnParam).cache).dx;
      assert.deepEqual(Array.from(want.data), Array.from(dx.data), dtype);
      assert.ok(Array.from(dx.data).every((v) => Math.abs(v - 1 / Math.sqrt(1 + 1e-5)) < 1e-6), `${dtype}: dx ${Array.from(dx.data)}`);
    }
  });

  it('float32 train mode with the mean far from the spread (x = 100 ± 1e-3): out and dx within 1e-5 of the naive layer (8.6e-4 before)', () => {
    const values = [100.001, 99.999, 100.0005, 99.9995, 100.002, 99.998];
    for (const layout of ['vector', 'spatial'] as const) {
      const shape = layout === 'vector' ? [6, 1] : [2, 1, 1, 3];
      const x = cast({ shape, data: Float64Array.from(values), dtype: 'float64' }, 'float32');
      const gamma = cast({ shape: [1], data: new Float64Array([1.5]), dtype: 'float64' }, 'float32');
      const beta = cast({ shape: [1], data: new Float64Array([0.25]), dtype: 'float64' }, 'float32');
      const [naiveForward, naiveBackward] = LAYOUTS[layout].naive;
      const [fastForward, fastBackward] = LAYOUTS[layout].fast;
      const fast = fastForward(x, gamma, beta, { mode: 'train' });
      const naive = naiveForward(x, gamma, beta, { mode: 'train' });
      close(`${layout} out`, fast.out, naive.out);
      const dout = cast({ shape, data: Float64Array.from([0.5, -1, 2, 0.25, -0.75, 1]), dtype: 'float64' }, 'float32');
      close(`${layout} dx`, fastBackward(dout, fast.cache).dx, naiveBackward(dout, naive.cache).dx);
    }
  });

  it('throws the naive layer errors, naming the fast function called (batchnormForward, not batchnormForwardNaive)', () => {
    const gen = rng(3);
    const x = normal([2, 3, 4, 4], gen);
    const gamma = normal([3], gen);
    const beta = normal([3], gen);
    throwsConvnet(() => spatialBatchnormForward(x, normal([4], gen), beta, { mode: 'train' }), /^spatialBatchnormForward: expected gamma of shape \[3\] or \[1, 3, 1, 1\]/);
    throwsConvnet(() => spatialBatchnormForward(x, gamma, beta, { mode: 'eval' as 'train' }), /^spatialBatchnormForward: expected bnParam.mode to be 'train' or 'test'/);
    throwsConvnet(() => spatialBatchnormForward(x, gamma, beta, { mode: 'test' }), /^spatialBatchnormForward: expected bnParam.runningMean in test mode/);
    throwsConvnet(() => batchnormForward(x, gamma, beta, { mode: 'train' }), /^batchnormForward: expected x of rank 2/);
    const { cache } = spatialBatchnormForward(x, gamma, beta, { mode: 'train' });
    throwsConvnet(() => spatialBatchnormBackward(normal([2, 3, 4, 5], gen), cache), /^spatialBatchnormBackward: expected dout/);
    throwsConvnet(() => batchnormBackward(normal([2, 3], gen), cache), /^batchnormBackward: expected the cache of batchnormForward /);
    throwsConvnet(() => spatialBatchnormBackward(normal([2, 3, 4, 4], gen), {} as BatchnormCache), /^spatialBatchnormBackward: expected the cache returned by the matching forward/);
  });
});
