import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { gradCheck, relError } from '../../src/gradcheck.js';
import { layernormBackward, layernormForward } from '../../src/layers/layernorm.js';
import {
  spatialGroupnormBackwardNaive,
  spatialGroupnormForwardNaive,
  type GroupnormParam,
} from '../../src/layers/groupnorm.js';
import { rng } from '../../src/rng.js';
import { cast, clone, tensor, zeros, type Tensor } from '../../src/tensor.js';
import { assertClose, normal, throwsConvnet } from '../helpers.js';

/**
 * An independent reference written per element from the definition: for every (n, c, h, w), the
 * group of c is floor(c / (C/G)); its statistics run over all (c', h', w') with c' in that group.
 */
function referenceGroupnorm(x: Tensor, gamma: number[], beta: number[], G: number, eps = 1e-5): { out: number[]; mean: number[]; invStd: number[] } {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const Cg = C / G;
  const at = (n: number, c: number, h: number, w: number): number => x.data[((n * C + c) * H + h) * W + w]!;
  const mean: number[] = [];
  const invStd: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const values: number[] = [];
      for (let c = g * Cg; c < (g + 1) * Cg; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) values.push(at(n, c, h, w));
      const mu = values.reduce((a, v) => a + v, 0) / values.length;
      const v = values.reduce((a, u) => a + (u - mu) ** 2, 0) / values.length;
      mean.push(mu);
      invStd.push(1 / Math.sqrt(v + eps));
    }
  }
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) {
          const ng = n * G + Math.floor(c / Cg);
          out.push(gamma[c]! * (at(n, c, h, w) - mean[ng]!) * invStd[ng]! + beta[c]!);
        }
  return { out, mean, invStd };
}

describe('spatialGroupnormForwardNaive', () => {
  for (const [N, C, H, W, G, seed] of [
    [2, 6, 4, 5, 2, 1],
    [3, 4, 3, 5, 4, 2],
    [2, 6, 3, 3, 3, 3],
    [1, 8, 2, 3, 1, 4],
  ] as const) {
    test(`x=[${N},${C},${H},${W}] G=${G} matches a per-element reference (out, mean, invStd)`, () => {
      const r = rng(seed);
      const x = normal([N, C, H, W], r, 3, 2);
      const gamma = normal([1, C, 1, 1], r, 1, 0.5);
      const beta = normal([1, C, 1, 1], r);
      const { out, cache } = spatialGroupnormForwardNaive(x, gamma, beta, G);
      const ref = referenceGroupnorm(x, [...gamma.data], [...beta.data], G);
      assert.deepEqual(out.shape, [N, C, H, W]);
      assertClose(out.data, ref.out, 1e-12, 'out');
      assertClose(cache.mean, ref.mean, 1e-12, 'mean');
      assertClose(cache.invStd, ref.invStd, 1e-12, 'invStd');
      assert.equal(cache.mean.length, N * G);
    });
  }

  test('groups are contiguous channels: offsetting group 1 leaves group 0 untouched', () => {
    const r = rng(5);
    const x = normal([2, 4, 3, 2], r);
    const gamma = tensor([1, 1, 1, 1], [1, 4, 1, 1]);
    const beta = zeros([1, 4, 1, 1]);
    const shifted = clone(x);
    // channels 2 and 3 (group 1 of 2) of sample 0 get a large offset
    for (let i = 2 * 6; i < 4 * 6; i++) shifted.data[i] = 1000 + shifted.data[i]!;
    const a = spatialGroupnormForwardNaive(x, gamma, beta, 2).out;
    const b = spatialGroupnormForwardNaive(shifted, gamma, beta, 2).out;
    // group 0 of sample 0 and all of sample 1: bit-identical; group 1 normalises the offset away
    assert.deepEqual(b.data.subarray(0, 12), a.data.subarray(0, 12));
    assert.deepEqual(b.data.subarray(24), a.data.subarray(24));
    assertClose(b.data.subarray(12, 24), a.data.subarray(12, 24), 1e-10, 'group 1');
  });

  test('G = 1 equals layernorm over C·H·W (forward and backward)', () => {
    const r = rng(6);
    const [N, C, H, W] = [3, 4, 2, 3];
    const HW = H * W;
    const x = normal([N, C, H, W], r, 2, 3);
    const gamma = normal([1, C, 1, 1], r, 1, 0.5);
    const beta = normal([1, C, 1, 1], r);
    const dout = normal([N, C, H, W], r);
    // layernorm's per-feature gamma: gamma[c] repeated over the H·W positions of channel c
    const expand = (p: Tensor): Tensor => tensor(Array.from({ length: C * HW }, (_, f) => p.data[Math.floor(f / HW)]!));
    const flat = (t: Tensor): Tensor => ({ shape: [N, C * HW], data: t.data, dtype: t.dtype });

    const gn = spatialGroupnormForwardNaive(x, gamma, beta, 1);
    const ln = layernormForward(flat(x), expand(gamma), expand(beta));
    assert.ok(relError(gn.out.data, ln.out.data) < 1e-12);
    assertClose(gn.cache.mean, ln.cache.mean, 1e-14, 'mean');
    assertClose(gn.cache.invStd, ln.cache.invStd, 1e-12, 'invStd');

    const gg = spatialGroupnormBackwardNaive(dout, gn.cache);
    const lg = layernormBackward(flat(dout), ln.cache);
    assert.ok(relError(gg.dx.data, lg.dx.data) < 1e-10, `dx ${relError(gg.dx.data, lg.dx.data)}`);
    const perChannel = (d: Tensor): number[] =>
      Array.from({ length: C }, (_, c) => Array.from(d.data.subarray(c * HW, (c + 1) * HW)).reduce((a, v) => a + v, 0));
    assert.ok(relError(gg.dgamma.data, perChannel(lg.dgamma)) < 1e-12);
    assert.ok(relError(gg.dbeta.data, perChannel(lg.dbeta)) < 1e-12);
  });

  test('G = C equals instance norm (each (n, c) normalised over its H·W values)', () => {
    const r = rng(7);
    const [N, C, H, W] = [2, 3, 4, 5];
    const HW = H * W;
    const x = normal([N, C, H, W], r, 4, 2);
    const gamma = normal([C], r, 1, 0.5);
    const beta = normal([C], r);
    const { out } = spatialGroupnormForwardNaive(x, gamma, beta, C);
    const expected: number[] = [];
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const plane = Array.from(x.data.subarray((n * C + c) * HW, (n * C + c + 1) * HW));
        const mu = plane.reduce((a, v) => a + v, 0) / HW;
        const v = plane.reduce((a, u) => a + (u - mu) ** 2, 0) / HW;
        for (const u of plane) expected.push(gamma.data[c]! * (u - mu) / Math.sqrt(v + 1e-5) + beta.data[c]!);
      }
    }
    assertClose(out.data, expected, 1e-12, 'out');
  });

  test('eps from gnParam', () => {
    const x = tensor([1, 3, 5, 7], [1, 1, 2, 2]); // mean 4, var 5
    const { out, cache } = spatialGroupnormForwardNaive(x, tensor([1]), tensor([0]), 1, { eps: 0.5 });
    const s = Math.sqrt(5.5);
    assertClose(out.data, [-3 / s, -1 / s, 1 / s, 3 / s], 1e-15, 'out');
    assert.equal(cache.eps, 0.5);
  });
});

describe('groupnorm gradients (float64, centred differences, relError < 1e-7)', () => {
  const cases: { N: number; C: number; H: number; W: number; G: number; pshape: 'C' | '1C11'; seed: number }[] = [
    { N: 2, C: 6, H: 4, W: 5, G: 2, pshape: '1C11', seed: 11 },
    { N: 3, C: 4, H: 3, W: 5, G: 4, pshape: '1C11', seed: 12 },
    { N: 2, C: 6, H: 3, W: 3, G: 1, pshape: 'C', seed: 13 },
    { N: 2, C: 6, H: 2, W: 3, G: 3, pshape: 'C', seed: 14 },
    { N: 1, C: 8, H: 3, W: 1, G: 2, pshape: '1C11', seed: 15 },
  ];
  for (const { N, C, H, W, G, pshape, seed } of cases) {
    const shape = pshape === 'C' ? [C] : [1, C, 1, 1];
    test(`x=[${N},${C},${H},${W}] G=${G} gamma=[${shape}]: dx, dgamma, dbeta`, (t) => {
      const r = rng(seed);
      // x ~ N(0, 1): relError is set by the smallest |dx| entries, where the centred difference's
      // rounding noise (~1e-16·|Σ out·dout| / 2h) is largest relative to the value; a large
      // offset or spread in x adds to that noise and shrinks dx (∝ 1/std), so with 240 values per
      // case N(5, 2²) sat near 1e-7 while N(0, 1) leaves a wide margin. The tolerance is unchanged.
      const report = gradCheck({
        inputs: { x: normal([N, C, H, W], r), gamma: normal(shape, r, 1, 0.5), beta: normal(shape, r) },
        forward: (i) => spatialGroupnormForwardNaive(i.x!, i.gamma!, i.beta!, G),
        backward: spatialGroupnormBackwardNaive,
        seed: seed + 1000, // not the stream that drew x
      });
      for (const e of report.entries) assert.ok(e.relError < 1e-7, `d${e.input}: ${e.relError} at ${e.worstIndex}`);
      t.diagnostic(`max relError ${report.maxRelError.toExponential(2)}`);
    });
  }

  test('dgamma and dbeta come back in their parameters\' shapes', () => {
    const r = rng(16);
    const { cache } = spatialGroupnormForwardNaive(normal([2, 4, 2, 2], r), normal([1, 4, 1, 1], r), normal([4], r), 2);
    const g = spatialGroupnormBackwardNaive(normal([2, 4, 2, 2], r), cache);
    assert.deepEqual(g.dx.shape, [2, 4, 2, 2]);
    assert.deepEqual(g.dgamma.shape, [1, 4, 1, 1]);
    assert.deepEqual(g.dbeta.shape, [4]);
  });
});

describe('groupnorm float32 and purity', () => {
  test('float32 in → float32 out, close to float64', () => {
    const r = rng(21);
    const x = normal([2, 6, 3, 4], r, 5, 2);
    const gamma = normal([1, 6, 1, 1], r, 1, 0.5);
    const beta = normal([1, 6, 1, 1], r);
    const dout = normal([2, 6, 3, 4], r);
    const f64 = spatialGroupnormForwardNaive(x, gamma, beta, 3);
    const f32 = spatialGroupnormForwardNaive(cast(x, 'float32'), cast(gamma, 'float32'), cast(beta, 'float32'), 3);
    assert.equal(f32.out.dtype, 'float32');
    assert.ok(f32.out.data instanceof Float32Array);
    assertClose(f32.out.data, f64.out.data, 1e-5, 'out');
    const g64 = spatialGroupnormBackwardNaive(dout, f64.cache);
    const g32 = spatialGroupnormBackwardNaive(cast(dout, 'float32'), f32.cache);
    for (const k of ['dx', 'dgamma', 'dbeta'] as const) {
      assert.equal(g32[k].dtype, 'float32');
      assert.ok(g32[k].data instanceof Float32Array);
      assertClose(g32[k].data, g64[k].data, 1e-4, k);
    }
  });

  test('forward and backward leave x, gamma, beta, dout and gnParam untouched', () => {
    const r = rng(22);
    const x = normal([2, 4, 3, 2], r);
    const gamma = normal([1, 4, 1, 1], r);
    const beta = normal([1, 4, 1, 1], r);
    const dout = normal([2, 4, 3, 2], r);
    const copies = [x, gamma, beta, dout].map(clone);
    const gnParam: GroupnormParam = { eps: 1e-4 };
    const { cache } = spatialGroupnormForwardNaive(x, gamma, beta, 2, gnParam);
    spatialGroupnormBackwardNaive(dout, cache);
    [x, gamma, beta, dout].forEach((t, i) => assert.deepEqual(t, copies[i]));
    assert.deepEqual(gnParam, { eps: 1e-4 });
  });
});

describe('groupnorm validation', () => {
  const r = rng(31);
  const x = normal([2, 4, 3, 2], r);
  const g = normal([1, 4, 1, 1], r);
  const b = normal([1, 4, 1, 1], r);

  describe('spatialGroupnormForwardNaive throws', () => {
    const cases: [string, () => unknown, RegExp][] = [
      ['x of rank 3', () => spatialGroupnormForwardNaive(normal([2, 4, 3], r), g, b, 2), /^spatialGroupnormForwardNaive: expected x of rank 4, got shape \[2, 4, 3\]/],
      ['x not a tensor', () => spatialGroupnormForwardNaive('x' as unknown as Tensor, g, b, 2), /^spatialGroupnormForwardNaive: expected x to be a tensor/],
      ['gamma of the wrong length', () => spatialGroupnormForwardNaive(x, normal([1, 3, 1, 1], r), b, 2), /^spatialGroupnormForwardNaive: expected gamma of shape \[1, 4, 1, 1\] or \[4\] \(C\), got shape \[1, 3, 1, 1\]/],
      ['gamma of shape (C, 1, 1)', () => spatialGroupnormForwardNaive(x, normal([4, 1, 1], r), b, 2), /^spatialGroupnormForwardNaive: expected gamma of shape \[1, 4, 1, 1\] or \[4\] \(C\), got shape \[4, 1, 1\]/],
      ['beta of the wrong length', () => spatialGroupnormForwardNaive(x, g, normal([5], r), 2), /^spatialGroupnormForwardNaive: expected beta of shape \[1, 4, 1, 1\] or \[4\] \(C\), got shape \[5\]/],
      ['mixed dtypes', () => spatialGroupnormForwardNaive(x, g, cast(b, 'float32'), 2), /^spatialGroupnormForwardNaive: expected beta to have the dtype of x \(float64\), got float32/],
      ['G = 0', () => spatialGroupnormForwardNaive(x, g, b, 0), /^spatialGroupnormForwardNaive: expected G to be an integer >= 1, got 0/],
      ['G not an integer', () => spatialGroupnormForwardNaive(x, g, b, 1.5), /^spatialGroupnormForwardNaive: expected G to be an integer >= 1, got 1.5/],
      ['G a string', () => spatialGroupnormForwardNaive(x, g, b, '2' as unknown as number), /^spatialGroupnormForwardNaive: expected G to be an integer >= 1, got "2"/],
      ['G NaN', () => spatialGroupnormForwardNaive(x, g, b, NaN), /^spatialGroupnormForwardNaive: expected G to be an integer >= 1, got NaN/],
      ['G not dividing C', () => spatialGroupnormForwardNaive(x, g, b, 3), /^spatialGroupnormForwardNaive: expected G to divide the 4 channels \(C\), got 3/],
      ['G larger than C', () => spatialGroupnormForwardNaive(x, g, b, 8), /^spatialGroupnormForwardNaive: expected G to divide the 4 channels \(C\), got 8/],
      ['gnParam not an object', () => spatialGroupnormForwardNaive(x, g, b, 2, 1e-5 as unknown as GroupnormParam), /^spatialGroupnormForwardNaive: expected gnParam to be an object, got 0.00001/],
      ['eps = 0', () => spatialGroupnormForwardNaive(x, g, b, 2, { eps: 0 }), /^spatialGroupnormForwardNaive: expected gnParam.eps in \(0, Infinity\], got 0/],
      ['eps < 0', () => spatialGroupnormForwardNaive(x, g, b, 2, { eps: -0.5 }), /^spatialGroupnormForwardNaive: expected gnParam.eps in \(0, Infinity\], got -0.5/],
      ['eps NaN', () => spatialGroupnormForwardNaive(x, g, b, 2, { eps: NaN }), /^spatialGroupnormForwardNaive: expected gnParam.eps to be a finite number, got NaN/],
      ['H = 0', () => spatialGroupnormForwardNaive(zeros([2, 4, 0, 3]), g, b, 2), /^spatialGroupnormForwardNaive: expected x with H, W >= 1.*got shape \[2, 4, 0, 3\]/],
    ];
    for (const [name, f, re] of cases) test(name, () => throwsConvnet(f, re));
  });

  describe('spatialGroupnormBackwardNaive throws', () => {
    const { cache } = spatialGroupnormForwardNaive(x, g, b, 2);
    const dout = normal([2, 4, 3, 2], r);
    const cases: [string, () => unknown, RegExp][] = [
      ['dout of the wrong shape', () => spatialGroupnormBackwardNaive(normal([2, 4, 2, 3], r), cache), /^spatialGroupnormBackwardNaive: expected dout of shape \[2, 4, 3, 2\], got \[2, 4, 2, 3\]/],
      ['dout of another dtype', () => spatialGroupnormBackwardNaive(cast(dout, 'float32'), cache), /^spatialGroupnormBackwardNaive: expected dout of dtype float64 \(the forward's\), got float32/],
      ['dout not a tensor', () => spatialGroupnormBackwardNaive(42 as unknown as Tensor, cache), /^spatialGroupnormBackwardNaive: expected dout to be a tensor/],
      ['cache undefined', () => spatialGroupnormBackwardNaive(dout, undefined as unknown as typeof cache), /^spatialGroupnormBackwardNaive: expected the cache returned by the matching forward.*got undefined/],
      ['cache of layernorm', () => spatialGroupnormBackwardNaive(dout, layernormForward(normal([3, 4], r), g, b).cache as unknown as typeof cache), /^spatialGroupnormBackwardNaive: expected the cache returned by the matching forward \(with x, gamma, betaShape, G, .*\)/],
      ['cache with x of rank 2', () => spatialGroupnormBackwardNaive(dout, { ...cache, x: normal([2, 24], r) }), /^spatialGroupnormBackwardNaive: expected the cache of spatialGroupnormForwardNaive \(x of rank 4\), got cache.x of shape \[2, 24\]/],
      ['cache with G not dividing C', () => spatialGroupnormBackwardNaive(dout, { ...cache, G: 3 }), /^spatialGroupnormBackwardNaive: expected the cache of spatialGroupnormForwardNaive for x of shape \[2, 4, 3, 2\].*got an inconsistent cache/],
    ];
    for (const [name, f, re] of cases) test(name, () => throwsConvnet(f, re));
  });
});
