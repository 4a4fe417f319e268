import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { gradCheck, relError } from '../../src/gradcheck.js';
import { batchnormBackwardAlt, batchnormForwardNaive } from '../../src/layers/batchnorm.js';
import { layernormBackward, layernormForward, type LayernormParam } from '../../src/layers/layernorm.js';
import { rng } from '../../src/rng.js';
import { cast, clone, tensor, zeros, type Tensor } from '../../src/tensor.js';
import { assertClose, normal, throwsConvnet } from '../helpers.js';

function transpose(t: Tensor): Tensor {
  const [R, C] = t.shape as [number, number];
  const out = zeros([C, R], t.dtype);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out.data[c * R + r] = t.data[r * C + c]!;
  return out;
}

describe('layernormForward', () => {
  test('hand values: per-row mean, biased variance, invStd in the cache', () => {
    // row 0 = [1, 2, 3, 4]: mean 2.5, var 1.25; row 1 = [2, 2, 2, 6]: mean 3, var 3
    const x = tensor([[1, 2, 3, 4], [2, 2, 2, 6]]);
    const gamma = tensor([1, 2, -1, 0.5]);
    const beta = tensor([0, 1, 2, 3]);
    const { out, cache } = layernormForward(x, gamma, beta);
    const i0 = 1 / Math.sqrt(1.25 + 1e-5);
    const i1 = 1 / Math.sqrt(3 + 1e-5);
    assert.ok(cache.mean instanceof Float64Array && cache.invStd instanceof Float64Array);
    assertClose(cache.mean, [2.5, 3], 1e-15, 'mean');
    assertClose(cache.invStd, [i0, i1], 1e-15, 'invStd');
    const expected = [
      -1.5 * i0, 2 * -0.5 * i0 + 1, -1 * 0.5 * i0 + 2, 0.5 * 1.5 * i0 + 3,
      -1 * i1, 2 * -1 * i1 + 1, -1 * -1 * i1 + 2, 0.5 * 3 * i1 + 3,
    ];
    assertClose(out.data, expected, 1e-14, 'out');
    assert.deepEqual(out.shape, [2, 4]);
  });

  test('ONNX LayerNormalization 2d axis=1 vectors: Y, Mean and InvStdDev', () => {
    // From ../shared/conformance/onnx/test_layer_normalization_2d_axis1.json (float32 data).
    const X = [1.764052391052246, 0.40015721321105957, 0.978738009929657, 2.2408931255340576, 1.8675580024719238, -0.9772778749465942, 0.9500884413719177, -0.15135720372200012, -0.10321885347366333, 0.4105985164642334, 0.14404356479644775, 1.4542734622955322];
    const Wt = [-0.6724604368209839, -0.35955315828323364, -0.8131462931632996, -1.7262825965881348];
    const B = [0.17742614448070526, -0.4017809331417084, -1.630198359489441, 0.46278226375579834];
    const Y = [-0.2196706086397171, 0.07852867245674133, -1.2084484100341797, -1.7192436456680298, -0.7234886884689331, 0.06466686725616455, -2.0280532836914062, 1.3806627988815308, 0.8346395492553711, -0.3618750274181366, -1.1744937896728516, -2.383401393890381];
    const Mean = [1.3459601402282715, 0.4222528338432312, 0.4764241576194763];
    const InvStdDev = [1.4123992919921875, 0.9269525408744812, 1.686083436012268];
    const { out, cache } = layernormForward(tensor(X, [3, 4], 'float32'), tensor(Wt, [4], 'float32'), tensor(B, [4], 'float32'));
    assert.equal(out.dtype, 'float32');
    assertClose(out.data, Y, 1e-6, 'Y');
    assertClose(cache.mean, Mean, 1e-6, 'Mean');
    assertClose(cache.invStd, InvStdDev, 1e-6, 'InvStdDev');
  });

  test('with gamma = 1, beta = 0 each row has mean 0 and std ≈ 1', () => {
    const r = rng(3);
    const x = normal([5, 40], r, 12, 5);
    const { out } = layernormForward(x, tensor(new Array(40).fill(1)), zeros([40]), { eps: 1e-5 });
    for (let n = 0; n < 5; n++) {
      const row = Array.from(out.data.subarray(n * 40, (n + 1) * 40));
      const mean = row.reduce((a, v) => a + v, 0) / 40;
      const std = Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / 40);
      assert.ok(Math.abs(mean) < 1e-12, `mean ${mean}`);
      assert.ok(Math.abs(std - 1) < 1e-5, `std ${std}`);
    }
  });

  test('equals batchnorm (train, gamma 1, beta 0) on the transpose, forward and backward', () => {
    const r = rng(4);
    const [N, D] = [5, 6];
    const x = normal([N, D], r, 3, 2);
    const dout = normal([N, D], r);
    const ones = (k: number): Tensor => tensor(new Array(k).fill(1));
    const ln = layernormForward(x, ones(D), zeros([D]));
    const bn = batchnormForwardNaive(transpose(x), ones(N), zeros([N]), { mode: 'train' });
    assert.ok(relError(ln.out, transpose(bn.out)) < 1e-12);
    assertClose(ln.cache.mean, bn.cache.mean, 1e-14, 'mean');
    assertClose(ln.cache.invStd, bn.cache.invStd, 1e-12, 'invStd');
    const lg = layernormBackward(dout, ln.cache);
    const bg = batchnormBackwardAlt(transpose(dout), bn.cache);
    assert.ok(relError(lg.dx, transpose(bg.dx)) < 1e-10, `dx ${relError(lg.dx, transpose(bg.dx))}`);
  });
});

describe('layernorm gradients (float64, centred differences, relError < 1e-7)', () => {
  const cases: { N: number; D: number; seed: number; gammaShape?: number[] }[] = [
    { N: 4, D: 5, seed: 1 },
    { N: 3, D: 7, seed: 2 },
    { N: 5, D: 3, seed: 3 },
    { N: 2, D: 9, seed: 4, gammaShape: [1, 9] },
  ];
  for (const { N, D, seed, gammaShape } of cases) {
    const pshape = gammaShape ?? [D];
    test(`x=[${N},${D}] gamma=[${pshape}]: dx, dgamma, dbeta`, (t) => {
      const r = rng(seed);
      const report = gradCheck({
        inputs: { x: normal([N, D], r, 5, 2), gamma: normal(pshape, r, 1, 0.5), beta: normal(pshape, r) },
        forward: (i) => layernormForward(i.x!, i.gamma!, i.beta!),
        backward: layernormBackward,
        seed: seed + 1000, // not the stream that drew x
      });
      for (const e of report.entries) assert.ok(e.relError < 1e-7, `d${e.input}: ${e.relError} at ${e.worstIndex}`);
      t.diagnostic(`max relError ${report.maxRelError.toExponential(2)}`);
    });
  }

  test('with eps = 0.1 (eps is part of the function being differentiated)', (t) => {
    const r = rng(5);
    const report = gradCheck({
      inputs: { x: normal([3, 4], r), gamma: normal([4], r, 1, 0.5), beta: normal([4], r) },
      forward: (i) => layernormForward(i.x!, i.gamma!, i.beta!, { eps: 0.1 }),
      backward: layernormBackward,
      seed: 99,
    });
    for (const e of report.entries) assert.ok(e.relError < 1e-7, `d${e.input}: ${e.relError}`);
    t.diagnostic(`max relError ${report.maxRelError.toExponential(2)}`);
  });

  test('dgamma and dbeta come back in their parameters\' shapes', () => {
    const r = rng(6);
    const { cache } = layernormForward(normal([3, 4], r), normal([1, 4], r), normal([4], r));
    const g = layernormBackward(normal([3, 4], r), cache);
    assert.deepEqual(g.dx.shape, [3, 4]);
    assert.deepEqual(g.dgamma.shape, [1, 4]);
    assert.deepEqual(g.dbeta.shape, [4]);
  });
});

describe('layernorm float32 and purity', () => {
  test('float32 in → float32 out, close to float64', () => {
    const r = rng(7);
    const x = normal([4, 6], r, 5, 2);
    const gamma = normal([6], r, 1, 0.5);
    const beta = normal([6], r);
    const dout = normal([4, 6], r);
    const f64 = layernormForward(x, gamma, beta);
    const f32 = layernormForward(cast(x, 'float32'), cast(gamma, 'float32'), cast(beta, 'float32'));
    assert.equal(f32.out.dtype, 'float32');
    assert.ok(f32.out.data instanceof Float32Array);
    assertClose(f32.out.data, f64.out.data, 1e-5, 'out');
    const g64 = layernormBackward(dout, f64.cache);
    const g32 = layernormBackward(cast(dout, 'float32'), f32.cache);
    for (const k of ['dx', 'dgamma', 'dbeta'] as const) {
      assert.equal(g32[k].dtype, 'float32');
      assert.ok(g32[k].data instanceof Float32Array);
      assertClose(g32[k].data, g64[k].data, 1e-5, k);
    }
  });

  test('forward and backward leave x, gamma, beta, dout and lnParam untouched', () => {
    const r = rng(8);
    const x = normal([3, 5], r);
    const gamma = normal([5], r);
    const beta = normal([5], r);
    const dout = normal([3, 5], r);
    const copies = [x, gamma, beta, dout].map(clone);
    const lnParam: LayernormParam = { eps: 1e-3 };
    const { cache } = layernormForward(x, gamma, beta, lnParam);
    layernormBackward(dout, cache);
    [x, gamma, beta, dout].forEach((t, i) => assert.deepEqual(t, copies[i]));
    assert.deepEqual(lnParam, { eps: 1e-3 });
  });
});

describe('layernorm validation', () => {
  const r = rng(9);
  const x = normal([3, 4], r);
  const g = normal([4], r);
  const b = normal([4], r);

  describe('layernormForward throws', () => {
    const cases: [string, () => unknown, RegExp][] = [
      ['x of rank 4', () => layernormForward(normal([2, 4, 1, 1], r), g, b), /^layernormForward: expected x of rank 2, got shape \[2, 4, 1, 1\]/],
      ['x not a tensor', () => layernormForward(undefined as unknown as Tensor, g, b), /^layernormForward: expected x to be a tensor/],
      ['gamma of the wrong length', () => layernormForward(x, normal([3], r), b), /^layernormForward: expected gamma to have 4 elements \(D\), got shape \[3\]/],
      ['beta of the wrong length', () => layernormForward(x, g, normal([5], r)), /^layernormForward: expected beta to have 4 elements \(D\), got shape \[5\]/],
      ['mixed dtypes (x float32)', () => layernormForward(cast(x, 'float32'), g, b), /^layernormForward: expected gamma to have the dtype of x \(float32\), got float64/],
      ['mixed dtypes (beta float32)', () => layernormForward(x, g, cast(b, 'float32')), /^layernormForward: expected beta to have the dtype of x \(float64\), got float32/],
      ['lnParam not an object', () => layernormForward(x, g, b, null as unknown as LayernormParam), /^layernormForward: expected lnParam to be an object, got null/],
      ['eps = 0', () => layernormForward(x, g, b, { eps: 0 }), /^layernormForward: expected lnParam.eps in \(0, Infinity\], got 0/],
      ['eps < 0', () => layernormForward(x, g, b, { eps: -1 }), /^layernormForward: expected lnParam.eps in \(0, Infinity\], got -1/],
      ['eps NaN', () => layernormForward(x, g, b, { eps: NaN }), /^layernormForward: expected lnParam.eps to be a finite number, got NaN/],
      ['D = 0', () => layernormForward(zeros([2, 0]), zeros([0]), zeros([0])), /^layernormForward: expected x with at least one feature \(D >= 1\).*got shape \[2, 0\]/],
    ];
    for (const [name, f, re] of cases) test(name, () => throwsConvnet(f, re));
  });

  describe('layernormBackward throws', () => {
    const { cache } = layernormForward(x, g, b);
    const dout = normal([3, 4], r);
    const cases: [string, () => unknown, RegExp][] = [
      ['dout of the wrong shape', () => layernormBackward(normal([4, 3], r), cache), /^layernormBackward: expected dout of shape \[3, 4\], got \[4, 3\]/],
      ['dout of another dtype', () => layernormBackward(cast(dout, 'float32'), cache), /^layernormBackward: expected dout of dtype float64 \(the forward's\), got float32/],
      ['dout not a tensor', () => layernormBackward(null as unknown as Tensor, cache), /^layernormBackward: expected dout to be a tensor/],
      ['cache null', () => layernormBackward(dout, null as unknown as typeof cache), /^layernormBackward: expected the cache returned by the matching forward.*got null/],
      ['cache missing keys', () => layernormBackward(dout, { x, gamma: g } as unknown as typeof cache), /^layernormBackward: expected the cache returned by the matching forward \(with x, gamma, .*\), got \["x", "gamma"\]/],
      ['cache of batchnorm (statistics per feature, not per row)', () => layernormBackward(dout, batchnormForwardNaive(x, g, b, { mode: 'train' }).cache), /^layernormBackward: expected the cache of layernormForward for x of shape \[3, 4\].*got an inconsistent cache/],
      ['cache with x of rank 4', () => layernormBackward(dout, { ...cache, x: normal([3, 4, 1, 1], r) }), /^layernormBackward: expected the cache of layernormForward \(x of rank 2\), got cache.x of shape \[3, 4, 1, 1\]/],
    ];
    for (const [name, f, re] of cases) test(name, () => throwsConvnet(f, re));
  });
});
