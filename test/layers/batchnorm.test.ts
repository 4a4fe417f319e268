import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { gradCheck, relError } from '../../src/gradcheck.js';
import {
  batchnormBackwardNaive,
  batchnormBackwardAlt,
  batchnormForwardNaive,
  spatialBatchnormBackwardNaive,
  spatialBatchnormForwardNaive,
  type BatchnormParam,
} from '../../src/layers/batchnorm.js';
import { layernormForward } from '../../src/layers/layernorm.js';
import { rng } from '../../src/rng.js';
import { cast, clone, tensor, zeros, type Tensor } from '../../src/tensor.js';
import { assertClose, normal, throwsConvnet } from '../helpers.js';

/** Per-feature mean and biased std of an (M, D) view given an index function. */
function columnStats(t: Tensor, M: number, D: number, at: (m: number, d: number) => number): { mean: number[]; std: number[] } {
  const mean: number[] = [];
  const std: number[] = [];
  for (let d = 0; d < D; d++) {
    let s = 0;
    for (let m = 0; m < M; m++) s += t.data[at(m, d)]!;
    const mu = s / M;
    let v = 0;
    for (let m = 0; m < M; m++) v += (t.data[at(m, d)]! - mu) ** 2;
    mean.push(mu);
    std.push(Math.sqrt(v / M));
  }
  return { mean, std };
}

/** NCHW → NHWC (a real transpose, copying). */
function toNHWC(t: Tensor): Tensor {
  const [N, C, H, W] = t.shape as [number, number, number, number];
  const out = zeros([N, H, W, C], t.dtype);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) out.data[((n * H + h) * W + w) * C + c] = t.data[((n * C + c) * H + h) * W + w]!;
  return out;
}

/** NHWC → NCHW. */
function toNCHW(t: Tensor): Tensor {
  const [N, H, W, C] = t.shape as [number, number, number, number];
  const out = zeros([N, C, H, W], t.dtype);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) out.data[((n * C + c) * H + h) * W + w] = t.data[((n * H + h) * W + w) * C + c]!;
  return out;
}

const flat = (t: Tensor, shape: number[]): Tensor => ({ shape, data: t.data, dtype: t.dtype });

describe('batchnormForwardNaive', () => {
  test('train mode: per-feature mean ≈ beta and std ≈ gamma (CS231n notebook check), N=200 D=3', () => {
    const r = rng(231);
    const x = normal([200, 3], r, 12, 5);
    for (const [g, b] of [
      [[1, 1, 1], [0, 0, 0]],
      [[1, 2, 3], [11, 12, 13]],
    ] as const) {
      const { out } = batchnormForwardNaive(x, tensor([...g]), tensor([...b]), { mode: 'train' });
      const { mean, std } = columnStats(out, 200, 3, (m, d) => m * 3 + d);
      assertClose(mean, b, 1e-10, 'mean');
      assertClose(std, g, 1e-5, 'std');
    }
  });

  test('train mode: output equals the formula with biased variance, hand values', () => {
    // x (2, 2): feature 0 = [1, 3] → mean 2, var 1; feature 1 = [2, 6] → mean 4, var 4.
    const x = tensor([[1, 2], [3, 6]]);
    const { out, cache } = batchnormForwardNaive(x, tensor([2, 3]), tensor([0.5, -1]), { mode: 'train', eps: 1e-5 });
    const s0 = Math.sqrt(1 + 1e-5);
    const s1 = Math.sqrt(4 + 1e-5);
    assertClose(out.data, [2 * (-1 / s0) + 0.5, 3 * (-2 / s1) - 1, 2 * (1 / s0) + 0.5, 3 * (2 / s1) - 1], 1e-14, 'out');
    assertClose(cache.mean, [2, 4], 0, 'cache.mean');
    assertClose(cache.variance, [1, 4], 0, 'cache.variance');
    assert.deepEqual(out.shape, [2, 2]);
    assert.equal(out.dtype, 'float64');
  });

  test('running statistics start at zeros in bnParam and follow momentum·running + (1−momentum)·batch', () => {
    const bnParam: BatchnormParam = { mode: 'train' };
    const gamma = tensor([1, 1]);
    const beta = tensor([0, 0]);
    // batch 1: mean [2, 4], var [1, 4]
    batchnormForwardNaive(tensor([[1, 2], [3, 6]]), gamma, beta, bnParam);
    assert.ok(bnParam.runningMean && bnParam.runningVar);
    assert.deepEqual(bnParam.runningMean.shape, [2]);
    assert.equal(bnParam.runningMean.dtype, 'float64');
    assertClose(bnParam.runningMean.data, [0.2, 0.4], 1e-15, 'runningMean after 1');
    assertClose(bnParam.runningVar.data, [0.1, 0.4], 1e-15, 'runningVar after 1');
    const meanTensor = bnParam.runningMean;
    // batch 2: mean [1, 1], var [1, 1] → 0.9·[0.2, 0.4] + 0.1·[1, 1], 0.9·[0.1, 0.4] + 0.1·[1, 1]
    batchnormForwardNaive(tensor([[0, 0], [2, 2]]), gamma, beta, bnParam);
    assert.equal(bnParam.runningMean, meanTensor, 'updated in place, same tensor');
    assertClose(bnParam.runningMean.data, [0.28, 0.46], 1e-15, 'runningMean after 2');
    assertClose(bnParam.runningVar.data, [0.19, 0.46], 1e-15, 'runningVar after 2');
  });

  test('running statistics with momentum 0.5 and caller-provided start values', () => {
    const bnParam: BatchnormParam = { mode: 'train', momentum: 0.5, runningMean: tensor([10, 20]), runningVar: tensor([2, 8]) };
    batchnormForwardNaive(tensor([[1, 2], [3, 6]]), tensor([1, 1]), tensor([0, 0]), bnParam);
    assertClose(bnParam.runningMean!.data, [6, 12], 1e-15, 'runningMean');
    assertClose(bnParam.runningVar!.data, [1.5, 6], 1e-15, 'runningVar');
  });

  test('momentum 1 keeps the running statistics; momentum 0 replaces them by the batch', () => {
    const keep: BatchnormParam = { mode: 'train', momentum: 1 };
    batchnormForwardNaive(tensor([[1, 2], [3, 6]]), tensor([1, 1]), tensor([0, 0]), keep);
    assert.deepEqual([...keep.runningMean!.data], [0, 0]);
    const replace: BatchnormParam = { mode: 'train', momentum: 0 };
    batchnormForwardNaive(tensor([[1, 2], [3, 6]]), tensor([1, 1]), tensor([0, 0]), replace);
    assert.deepEqual([...replace.runningMean!.data], [2, 4]);
    assert.deepEqual([...replace.runningVar!.data], [1, 4]);
  });

  test('test mode normalises with the running statistics and leaves them unchanged', () => {
    const runningMean = tensor([1, -2]);
    const runningVar = tensor([4, 0.25]);
    const bnParam: BatchnormParam = { mode: 'test', eps: 1e-3, runningMean, runningVar };
    const x = tensor([[3, -1], [0, 0], [1, -2]]);
    const { out } = batchnormForwardNaive(x, tensor([2, -1]), tensor([0.5, 1]), bnParam);
    const s0 = Math.sqrt(4 + 1e-3);
    const s1 = Math.sqrt(0.25 + 1e-3);
    const expected = [
      2 * (2 / s0) + 0.5, -1 * (1 / s1) + 1,
      2 * (-1 / s0) + 0.5, -1 * (2 / s1) + 1,
      2 * (0 / s0) + 0.5, -1 * (0 / s1) + 1,
    ];
    assertClose(out.data, expected, 1e-14, 'out');
    assert.deepEqual([...runningMean.data], [1, -2]);
    assert.deepEqual([...runningVar.data], [4, 0.25]);
    assert.equal(bnParam.runningMean, runningMean);
  });

  test('after many train steps on one distribution, test mode ≈ train mode (CS231n check)', () => {
    const r = rng(7);
    const bnParam: BatchnormParam = { mode: 'train' };
    const gamma = tensor([1, 1, 1]);
    const beta = tensor([0, 0, 0]);
    for (let t = 0; t < 60; t++) batchnormForwardNaive(normal([200, 3], r, 12, 5), gamma, beta, bnParam);
    bnParam.mode = 'test';
    const { out } = batchnormForwardNaive(normal([500, 3], r, 12, 5), gamma, beta, bnParam);
    const { mean, std } = columnStats(out, 500, 3, (m, d) => m * 3 + d);
    for (let d = 0; d < 3; d++) {
      assert.ok(Math.abs(mean[d]!) < 0.15, `mean[${d}] = ${mean[d]}`);
      assert.ok(Math.abs(std[d]! - 1) < 0.15, `std[${d}] = ${std[d]}`);
    }
  });
});

describe('batchnorm gradients (float64, centred differences, relError < 1e-7)', () => {
  const cases: { name: string; N: number; D: number; seed: number }[] = [
    { name: 'N=4 D=5', N: 4, D: 5, seed: 1 },
    { name: 'N=7 D=3', N: 7, D: 3, seed: 2 },
    { name: 'N=3 D=1', N: 3, D: 1, seed: 3 },
    { name: 'N=5 D=6', N: 5, D: 6, seed: 4 },
  ];
  for (const backwardName of ['batchnormBackwardNaive', 'batchnormBackwardAlt'] as const) {
    const backward = backwardName === 'batchnormBackwardNaive' ? batchnormBackwardNaive : batchnormBackwardAlt;
    for (const { name, N, D, seed } of cases) {
      test(`${backwardName} train ${name}: dx, dgamma, dbeta`, (t) => {
        const r = rng(seed);
        const report = gradCheck({
          inputs: { x: normal([N, D], r, 5, 2), gamma: normal([D], r, 1, 0.5), beta: normal([D], r) },
          forward: (i) => batchnormForwardNaive(i.x!, i.gamma!, i.beta!, { mode: 'train' }),
          backward,
          seed: seed + 1000, // not the stream that drew x: a dout affine in x per feature has dx ≈ 0
        });
        for (const e of report.entries) assert.ok(e.relError < 1e-7, `d${e.input}: ${e.relError} at ${e.worstIndex}`);
        t.diagnostic(`max relError ${report.maxRelError.toExponential(2)}`);
      });
    }
    test(`${backwardName} test mode N=4 D=3: dx, dgamma, dbeta`, (t) => {
      const r = rng(11);
      const runningMean = normal([3], r);
      const runningVar = tensor([0.5, 2, 1.5]);
      const report = gradCheck({
        inputs: { x: normal([4, 3], r), gamma: normal([3], r, 1, 0.5), beta: normal([3], r) },
        forward: (i) => batchnormForwardNaive(i.x!, i.gamma!, i.beta!, { mode: 'test', runningMean, runningVar }),
        backward,
      });
      for (const e of report.entries) assert.ok(e.relError < 1e-7, `d${e.input}: ${e.relError} at ${e.worstIndex}`);
      t.diagnostic(`max relError ${report.maxRelError.toExponential(2)}`);
    });
  }

  test('batchnormBackwardNaive (graph) equals batchnormBackwardAlt (closed form) to 1e-12', () => {
    for (const [N, D, seed] of [[4, 5, 21], [10, 3, 22], [6, 7, 23]] as const) {
      const r = rng(seed);
      const { cache } = batchnormForwardNaive(normal([N, D], r, 5, 2), normal([D], r, 1, 0.5), normal([D], r), { mode: 'train' });
      const dout = normal([N, D], r);
      const a = batchnormBackwardNaive(dout, cache);
      const b = batchnormBackwardAlt(dout, cache);
      assert.ok(relError(a.dx, b.dx) < 1e-12, `dx ${relError(a.dx, b.dx)}`);
      assert.ok(relError(a.dgamma, b.dgamma) < 1e-12, 'dgamma');
      assert.ok(relError(a.dbeta, b.dbeta) < 1e-12, 'dbeta');
    }
  });

  test('dgamma and dbeta come back in their parameters\' shapes', () => {
    const r = rng(5);
    const { cache } = batchnormForwardNaive(normal([4, 3], r), normal([1, 3], r), normal([3], r), { mode: 'train' });
    const { dx, dgamma, dbeta } = batchnormBackwardNaive(normal([4, 3], r), cache);
    assert.deepEqual(dx.shape, [4, 3]);
    assert.deepEqual(dgamma.shape, [1, 3]);
    assert.deepEqual(dbeta.shape, [3]);
  });
});

describe('spatialBatchnormForwardNaive / spatialBatchnormBackwardNaive', () => {
  test('statistics are per channel over N·H·W: channels with very different offsets and scales normalise separately', () => {
    const r = rng(99);
    const [N, C, H, W] = [3, 3, 4, 5];
    const x = normal([N, C, H, W], r);
    const offsets = [-1000, 3, 500];
    const scales = [0.01, 1, 50];
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let s = 0; s < H * W; s++) {
          const i = (n * C + c) * H * W + s;
          x.data[i] = offsets[c]! + scales[c]! * x.data[i]!;
        }
    const bnParam: BatchnormParam = { mode: 'train' };
    const { out, cache } = spatialBatchnormForwardNaive(x, tensor([1, 1, 1]), tensor([0, 0, 0]), bnParam);
    // (n·H·W + s, c) view of NCHW data
    const at = (m: number, c: number): number => (Math.floor(m / (H * W)) * C + c) * H * W + (m % (H * W));
    const { mean, std } = columnStats(out, N * H * W, C, at);
    assertClose(mean, [0, 0, 0], 1e-9, 'per-channel mean');
    // channel 0 has std 0.01, comparable to √eps, so its std is below 1 by the eps term
    const inStats = columnStats(x, N * H * W, C, at);
    for (let c = 0; c < C; c++) {
      const v = inStats.std[c]! ** 2;
      assert.ok(Math.abs(std[c]! - Math.sqrt(v / (v + 1e-5))) < 1e-9, `std[${c}] = ${std[c]}`);
    }
    assertClose(cache.mean, inStats.mean, 1e-9, 'cache.mean');
    assertClose(bnParam.runningMean!.data, inStats.mean.map((m) => 0.1 * m), 1e-9, 'runningMean per channel');
    assert.deepEqual(bnParam.runningMean!.shape, [3]);
  });

  test('equals batchnorm on the correctly transposed (N·H·W, C) view, forward and backward', () => {
    for (const [N, C, H, W, seed] of [[2, 3, 4, 5, 31], [3, 2, 3, 1, 32], [1, 4, 5, 3, 33]] as const) {
      const r = rng(seed);
      const x = normal([N, C, H, W], r, 5, 2);
      const gamma = normal([C], r, 1, 0.5);
      const beta = normal([C], r);
      const dout = normal([N, C, H, W], r);
      const spatialParam: BatchnormParam = { mode: 'train' };
      const spatial = spatialBatchnormForwardNaive(x, gamma, beta, spatialParam);
      const spatialGrads = spatialBatchnormBackwardNaive(dout, spatial.cache);

      const refParam: BatchnormParam = { mode: 'train' };
      const ref = batchnormForwardNaive(flat(toNHWC(x), [N * H * W, C]), gamma, beta, refParam);
      const refOut = toNCHW(flat(ref.out, [N, H, W, C]));
      const refGrads = batchnormBackwardNaive(flat(toNHWC(dout), [N * H * W, C]), ref.cache);
      const refDx = toNCHW(flat(refGrads.dx, [N, H, W, C]));

      assert.ok(relError(spatial.out, refOut) < 1e-12, 'out');
      assert.ok(relError(spatialGrads.dx, refDx) < 1e-10, `dx ${relError(spatialGrads.dx, refDx)}`);
      assert.ok(relError(spatialGrads.dgamma, refGrads.dgamma) < 1e-12, 'dgamma');
      assert.ok(relError(spatialGrads.dbeta, refGrads.dbeta) < 1e-12, 'dbeta');
      assert.ok(relError(spatialParam.runningMean!, refParam.runningMean!) < 1e-12, 'runningMean');
      assert.ok(relError(spatialParam.runningVar!, refParam.runningVar!) < 1e-12, 'runningVar');

      // The trap: reshaping NCHW straight to (−1, C) mixes channels and gives another answer.
      const wrong = batchnormForwardNaive(flat(x, [N * H * W, C]), gamma, beta, { mode: 'train' });
      assert.ok(relError(wrong.out, spatial.out) > 1e-3, 'the naive reshape should differ');
    }
  });

  test('test mode uses the running statistics per channel', () => {
    const x = tensor([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]);
    const bnParam: BatchnormParam = { mode: 'test', eps: 1e-5, runningMean: tensor([2, 25]), runningVar: tensor([1, 100]) };
    const { out } = spatialBatchnormForwardNaive(x, tensor([1, 2, 1, 1].slice(0, 2), [1, 2, 1, 1]), tensor([0, 1]), bnParam);
    const s0 = Math.sqrt(1 + 1e-5);
    const s1 = Math.sqrt(100 + 1e-5);
    const expected = [-1 / s0, 0, 1 / s0, 2 / s0, 2 * (-15 / s1) + 1, 2 * (-5 / s1) + 1, 2 * (5 / s1) + 1, 2 * (15 / s1) + 1];
    assertClose(out.data, expected, 1e-14, 'out');
  });

  const shapes: { N: number; C: number; H: number; W: number; gammaShape: 'C' | '1C11'; seed: number }[] = [
    { N: 2, C: 3, H: 4, W: 5, gammaShape: 'C', seed: 41 },
    { N: 3, C: 2, H: 3, W: 1, gammaShape: '1C11', seed: 42 },
    { N: 2, C: 4, H: 3, W: 5, gammaShape: '1C11', seed: 43 },
    { N: 1, C: 3, H: 5, W: 3, gammaShape: 'C', seed: 44 },
  ];
  for (const { N, C, H, W, gammaShape, seed } of shapes) {
    const pshape = gammaShape === 'C' ? [C] : [1, C, 1, 1];
    test(`gradients x=[${N},${C},${H},${W}] gamma=[${pshape}] train: relError < 1e-7`, (t) => {
      const r = rng(seed);
      const report = gradCheck({
        inputs: { x: normal([N, C, H, W], r, 5, 2), gamma: normal(pshape, r, 1, 0.5), beta: normal(pshape, r) },
        forward: (i) => spatialBatchnormForwardNaive(i.x!, i.gamma!, i.beta!, { mode: 'train' }),
        backward: spatialBatchnormBackwardNaive,
        seed: seed + 1000, // not the stream that drew x: a dout affine in x per feature has dx ≈ 0
      });
      for (const e of report.entries) assert.ok(e.relError < 1e-7, `d${e.input}: ${e.relError} at ${e.worstIndex}`);
      t.diagnostic(`max relError ${report.maxRelError.toExponential(2)}`);
    });
  }

  test('gradients in test mode x=[2,3,3,4]: relError < 1e-7', (t) => {
    const r = rng(45);
    const runningMean = normal([3], r);
    const runningVar = tensor([0.5, 2, 1.5]);
    const report = gradCheck({
      inputs: { x: normal([2, 3, 3, 4], r), gamma: normal([1, 3, 1, 1], r, 1, 0.5), beta: normal([1, 3, 1, 1], r) },
      forward: (i) => spatialBatchnormForwardNaive(i.x!, i.gamma!, i.beta!, { mode: 'test', runningMean, runningVar }),
      backward: spatialBatchnormBackwardNaive,
    });
    for (const e of report.entries) assert.ok(e.relError < 1e-7, `d${e.input}: ${e.relError} at ${e.worstIndex}`);
    t.diagnostic(`max relError ${report.maxRelError.toExponential(2)}`);
  });

  test('dgamma and dbeta come back in gamma\'s and beta\'s shapes', () => {
    const r = rng(46);
    const { cache } = spatialBatchnormForwardNaive(normal([2, 3, 2, 2], r), normal([1, 3, 1, 1], r), normal([3], r), { mode: 'train' });
    const g = spatialBatchnormBackwardNaive(normal([2, 3, 2, 2], r), cache);
    assert.deepEqual(g.dx.shape, [2, 3, 2, 2]);
    assert.deepEqual(g.dgamma.shape, [1, 3, 1, 1]);
    assert.deepEqual(g.dbeta.shape, [3]);
  });
});

describe('float32', () => {
  test('batchnorm: float32 in → float32 out, close to float64, running stats float32', () => {
    const r = rng(51);
    const x = normal([6, 4], r, 5, 2);
    const gamma = normal([4], r, 1, 0.5);
    const beta = normal([4], r);
    const dout = normal([6, 4], r);
    const p64: BatchnormParam = { mode: 'train' };
    const p32: BatchnormParam = { mode: 'train' };
    const f64 = batchnormForwardNaive(x, gamma, beta, p64);
    const f32 = batchnormForwardNaive(cast(x, 'float32'), cast(gamma, 'float32'), cast(beta, 'float32'), p32);
    assert.equal(f32.out.dtype, 'float32');
    assert.ok(f32.out.data instanceof Float32Array);
    assert.equal(p32.runningMean!.dtype, 'float32');
    assertClose(f32.out.data, f64.out.data, 1e-5, 'out');
    assertClose(p32.runningVar!.data, p64.runningVar!.data, 1e-5, 'runningVar');
    for (const backward of [batchnormBackwardNaive, batchnormBackwardAlt]) {
      const g64 = backward(dout, f64.cache);
      const g32 = backward(cast(dout, 'float32'), f32.cache);
      for (const k of ['dx', 'dgamma', 'dbeta'] as const) {
        assert.equal(g32[k].dtype, 'float32');
        assert.ok(g32[k].data instanceof Float32Array);
        assertClose(g32[k].data, g64[k].data, 1e-5, k);
      }
    }
    const test32 = batchnormForwardNaive(cast(x, 'float32'), cast(gamma, 'float32'), cast(beta, 'float32'), { ...p32, mode: 'test' });
    assert.equal(test32.out.dtype, 'float32');
  });

  test('spatial batchnorm: float32 in → float32 out, close to float64', () => {
    const r = rng(52);
    const x = normal([2, 3, 4, 5], r, 5, 2);
    const gamma = normal([3], r, 1, 0.5);
    const beta = normal([3], r);
    const dout = normal([2, 3, 4, 5], r);
    const f64 = spatialBatchnormForwardNaive(x, gamma, beta, { mode: 'train' });
    const f32 = spatialBatchnormForwardNaive(cast(x, 'float32'), cast(gamma, 'float32'), cast(beta, 'float32'), { mode: 'train' });
    assert.equal(f32.out.dtype, 'float32');
    assertClose(f32.out.data, f64.out.data, 1e-5, 'out');
    const g64 = spatialBatchnormBackwardNaive(dout, f64.cache);
    const g32 = spatialBatchnormBackwardNaive(cast(dout, 'float32'), f32.cache);
    for (const k of ['dx', 'dgamma', 'dbeta'] as const) {
      assert.equal(g32[k].dtype, 'float32');
      assertClose(g32[k].data, g64[k].data, 1e-4, k);
    }
  });
});

describe('inputs are not mutated', () => {
  test('batchnorm forward/backward (train and test) leave x, gamma, beta, dout untouched', () => {
    const r = rng(61);
    const x = normal([5, 3], r, 5, 2);
    const gamma = normal([3], r);
    const beta = normal([3], r);
    const dout = normal([5, 3], r);
    const copies = [x, gamma, beta, dout].map(clone);
    const bnParam: BatchnormParam = { mode: 'train', eps: 1e-4, momentum: 0.8 };
    const { cache } = batchnormForwardNaive(x, gamma, beta, bnParam);
    batchnormBackwardNaive(dout, cache);
    batchnormBackwardAlt(dout, cache);
    bnParam.mode = 'test';
    const running = [clone(bnParam.runningMean!), clone(bnParam.runningVar!)];
    const testRun = batchnormForwardNaive(x, gamma, beta, bnParam);
    batchnormBackwardNaive(dout, testRun.cache);
    [x, gamma, beta, dout].forEach((t, i) => assert.deepEqual(t, copies[i]));
    assert.deepEqual(bnParam.runningMean, running[0]);
    assert.deepEqual(bnParam.runningVar, running[1]);
    assert.equal(bnParam.eps, 1e-4);
    assert.equal(bnParam.momentum, 0.8);
  });

  test('spatial batchnorm forward/backward leave x, gamma, beta, dout untouched', () => {
    const r = rng(62);
    const x = normal([2, 3, 2, 3], r);
    const gamma = normal([1, 3, 1, 1], r);
    const beta = normal([1, 3, 1, 1], r);
    const dout = normal([2, 3, 2, 3], r);
    const copies = [x, gamma, beta, dout].map(clone);
    const { cache } = spatialBatchnormForwardNaive(x, gamma, beta, { mode: 'train' });
    spatialBatchnormBackwardNaive(dout, cache);
    [x, gamma, beta, dout].forEach((t, i) => assert.deepEqual(t, copies[i]));
  });
});

describe('validation', () => {
  const r = rng(71);
  const x = normal([4, 3], r);
  const g = normal([3], r);
  const b = normal([3], r);
  const x4 = normal([2, 3, 2, 2], r);
  const run = (): BatchnormParam => ({ mode: 'test', runningMean: tensor([0, 0, 0]), runningVar: tensor([1, 1, 1]) });

  describe('batchnormForwardNaive throws', () => {
    const cases: [string, () => unknown, RegExp][] = [
      ['x of rank 3', () => batchnormForwardNaive(x4, g, b, { mode: 'train' }), /^batchnormForwardNaive: expected x of rank 2, got shape \[2, 3, 2, 2\]/],
      ['x not a tensor', () => batchnormForwardNaive([1, 2] as unknown as Tensor, g, b, { mode: 'train' }), /^batchnormForwardNaive: expected x to be a tensor/],
      ['gamma of the wrong length', () => batchnormForwardNaive(normal([2, 4], r), g, normal([4], r), { mode: 'train' }), /^batchnormForwardNaive: expected gamma to have 4 elements \(D\), got shape \[3\]$/],
      ['beta of the wrong length', () => batchnormForwardNaive(x, g, normal([4], r), { mode: 'train' }), /^batchnormForwardNaive: expected beta to have 3 elements \(D\), got shape \[4\]/],
      ['gamma not a tensor', () => batchnormForwardNaive(x, null as unknown as Tensor, b, { mode: 'train' }), /^batchnormForwardNaive: expected gamma to be a tensor/],
      ['mixed dtypes (gamma float32)', () => batchnormForwardNaive(x, cast(g, 'float32'), b, { mode: 'train' }), /^batchnormForwardNaive: expected gamma to have the dtype of x \(float64\), got float32/],
      ['mixed dtypes (beta float32)', () => batchnormForwardNaive(x, g, cast(b, 'float32'), { mode: 'train' }), /^batchnormForwardNaive: expected beta to have the dtype of x \(float64\), got float32/],
      ['bnParam missing', () => batchnormForwardNaive(x, g, b, undefined as unknown as BatchnormParam), /^batchnormForwardNaive: expected bnParam to be an object, got undefined/],
      ['mode not train/test', () => batchnormForwardNaive(x, g, b, { mode: 'eval' as 'train' }), /^batchnormForwardNaive: expected bnParam.mode to be 'train' or 'test', got "eval"/],
      ['mode missing', () => batchnormForwardNaive(x, g, b, {} as BatchnormParam), /^batchnormForwardNaive: expected bnParam.mode to be 'train' or 'test', got undefined/],
      ['eps = 0', () => batchnormForwardNaive(x, g, b, { mode: 'train', eps: 0 }), /^batchnormForwardNaive: expected bnParam.eps in \(0, Infinity\], got 0/],
      ['eps < 0', () => batchnormForwardNaive(x, g, b, { mode: 'train', eps: -1e-5 }), /^batchnormForwardNaive: expected bnParam.eps in \(0, Infinity\], got -0.00001/],
      ['eps NaN', () => batchnormForwardNaive(x, g, b, { mode: 'train', eps: NaN }), /^batchnormForwardNaive: expected bnParam.eps to be a finite number, got NaN/],
      ['momentum > 1', () => batchnormForwardNaive(x, g, b, { mode: 'train', momentum: 1.5 }), /^batchnormForwardNaive: expected bnParam.momentum in \[0, 1\], got 1.5/],
      ['momentum < 0', () => batchnormForwardNaive(x, g, b, { mode: 'train', momentum: -0.1 }), /^batchnormForwardNaive: expected bnParam.momentum in \[0, 1\], got -0.1/],
      ['momentum NaN', () => batchnormForwardNaive(x, g, b, { mode: 'train', momentum: NaN }), /^batchnormForwardNaive: expected bnParam.momentum to be a finite number, got NaN/],
      ['test mode without runningMean', () => batchnormForwardNaive(x, g, b, { mode: 'test', runningVar: tensor([1, 1, 1]) }), /^batchnormForwardNaive: expected bnParam.runningMean in test mode .*got undefined/],
      ['test mode without runningVar', () => batchnormForwardNaive(x, g, b, { mode: 'test', runningMean: tensor([0, 0, 0]) }), /^batchnormForwardNaive: expected bnParam.runningVar in test mode .*got undefined/],
      ['runningMean of the wrong length', () => batchnormForwardNaive(x, g, b, { ...run(), runningMean: tensor([0, 0]) }), /^batchnormForwardNaive: expected bnParam.runningMean to have 3 elements \(D\), got shape \[2\]/],
      ['runningVar of another dtype', () => batchnormForwardNaive(x, g, b, { ...run(), runningVar: tensor([1, 1, 1], [3], 'float32') }), /^batchnormForwardNaive: expected bnParam.runningVar to have the dtype of x \(float64\), got float32/],
      ['runningMean not a tensor', () => batchnormForwardNaive(x, g, b, { ...run(), runningMean: [0, 0, 0] as unknown as Tensor }), /^batchnormForwardNaive: expected bnParam.runningMean to be a tensor/],
      ['train mode with N = 0', () => batchnormForwardNaive(zeros([0, 3]), g, b, { mode: 'train' }), /^batchnormForwardNaive: expected x with at least one value per channel in train mode.*got shape \[0, 3\]/],
    ];
    for (const [name, f, re] of cases) test(name, () => throwsConvnet(f, re));
  });

  for (const [fnName, backward] of [
    ['batchnormBackwardNaive', batchnormBackwardNaive],
    ['batchnormBackwardAlt', batchnormBackwardAlt],
  ] as const) {
    describe(`${fnName} throws`, () => {
      const { cache } = batchnormForwardNaive(x, g, b, { mode: 'train' });
      const dout = normal([4, 3], r);
      const cases: [string, () => unknown, RegExp][] = [
        ['dout of the wrong shape', () => backward(normal([3, 4], r), cache), new RegExp(`^${fnName}: expected dout of shape \\[4, 3\\], got \\[3, 4\\]`)],
        ['dout of another dtype', () => backward(cast(dout, 'float32'), cache), new RegExp(`^${fnName}: expected dout of dtype float64 \\(the forward's\\), got float32`)],
        ['dout not a tensor', () => backward({} as Tensor, cache), new RegExp(`^${fnName}: expected dout to be a tensor`)],
        ['cache null', () => backward(dout, null as unknown as typeof cache), new RegExp(`^${fnName}: expected the cache returned by the matching forward.*got null`)],
        ['cache missing keys', () => backward(dout, { x } as unknown as typeof cache), new RegExp(`^${fnName}: expected the cache returned by the matching forward \\(with mode, x, .*\\), got \\["x"\\]`)],
        ['cache of spatial batchnorm', () => backward(dout, spatialBatchnormForwardNaive(x4, g, b, { mode: 'train' }).cache), new RegExp(`^${fnName}: expected the cache of batchnormForwardNaive \\(x of rank 2\\), got cache.x of shape \\[2, 3, 2, 2\\]`)],
        ['cache of layernorm', () => backward(dout, layernormForward(x, g, b).cache as unknown as typeof cache), new RegExp(`^${fnName}: expected the cache returned by the matching forward`)],
        ['inconsistent cache', () => backward(dout, { ...cache, mean: new Float64Array(2) }), new RegExp(`^${fnName}: expected the cache of batchnormForwardNaive for x of shape \\[4, 3\\].*got an inconsistent cache`)],
      ];
      for (const [name, f, re] of cases) test(name, () => throwsConvnet(f, re));
    });
  }

  describe('spatialBatchnormForwardNaive throws', () => {
    const cases: [string, () => unknown, RegExp][] = [
      ['x of rank 2', () => spatialBatchnormForwardNaive(x, g, b, { mode: 'train' }), /^spatialBatchnormForwardNaive: expected x of rank 4, got shape \[4, 3\]/],
      ['gamma of the wrong length', () => spatialBatchnormForwardNaive(x4, normal([4], r), b, { mode: 'train' }), /^spatialBatchnormForwardNaive: expected gamma of shape \[3\] or \[1, 3, 1, 1\] \(C\), got shape \[4\]/],
      ['gamma of shape (C, 1, 1)', () => spatialBatchnormForwardNaive(x4, normal([3, 1, 1], r), b, { mode: 'train' }), /^spatialBatchnormForwardNaive: expected gamma of shape \[3\] or \[1, 3, 1, 1\] \(C\), got shape \[3, 1, 1\]/],
      ['beta of the wrong length', () => spatialBatchnormForwardNaive(x4, g, normal([1, 2, 1, 1], r), { mode: 'train' }), /^spatialBatchnormForwardNaive: expected beta of shape \[3\] or \[1, 3, 1, 1\] \(C\), got shape \[1, 2, 1, 1\]/],
      ['mixed dtypes', () => spatialBatchnormForwardNaive(cast(x4, 'float32'), g, b, { mode: 'train' }), /^spatialBatchnormForwardNaive: expected gamma to have the dtype of x \(float32\), got float64/],
      ['mode not train/test', () => spatialBatchnormForwardNaive(x4, g, b, { mode: 'Train' as 'train' }), /^spatialBatchnormForwardNaive: expected bnParam.mode to be 'train' or 'test', got "Train"/],
      ['eps = 0', () => spatialBatchnormForwardNaive(x4, g, b, { mode: 'train', eps: 0 }), /^spatialBatchnormForwardNaive: expected bnParam.eps in \(0, Infinity\], got 0/],
      ['eps NaN', () => spatialBatchnormForwardNaive(x4, g, b, { mode: 'train', eps: NaN }), /^spatialBatchnormForwardNaive: expected bnParam.eps to be a finite number, got NaN/],
      ['momentum > 1', () => spatialBatchnormForwardNaive(x4, g, b, { mode: 'train', momentum: 2 }), /^spatialBatchnormForwardNaive: expected bnParam.momentum in \[0, 1\], got 2/],
      ['momentum NaN', () => spatialBatchnormForwardNaive(x4, g, b, { mode: 'train', momentum: NaN }), /^spatialBatchnormForwardNaive: expected bnParam.momentum to be a finite number, got NaN/],
      ['test mode without running statistics', () => spatialBatchnormForwardNaive(x4, g, b, { mode: 'test' }), /^spatialBatchnormForwardNaive: expected bnParam.runningMean in test mode/],
      ['runningVar of the wrong length', () => spatialBatchnormForwardNaive(x4, g, b, { ...run(), runningVar: tensor([1, 1, 1, 1]) }), /^spatialBatchnormForwardNaive: expected bnParam.runningVar to have 3 elements \(C\), got shape \[4\]/],
      ['train mode with no values per channel', () => spatialBatchnormForwardNaive(zeros([2, 3, 0, 4]), g, b, { mode: 'train' }), /^spatialBatchnormForwardNaive: expected x with at least one value per channel in train mode.*got shape \[2, 3, 0, 4\]/],
    ];
    for (const [name, f, re] of cases) test(name, () => throwsConvnet(f, re));
  });

  describe('spatialBatchnormBackwardNaive throws', () => {
    const { cache } = spatialBatchnormForwardNaive(x4, g, b, { mode: 'train' });
    const dout = normal([2, 3, 2, 2], r);
    const cases: [string, () => unknown, RegExp][] = [
      ['dout of the wrong shape', () => spatialBatchnormBackwardNaive(normal([2, 3, 4], r), cache), /^spatialBatchnormBackwardNaive: expected dout of shape \[2, 3, 2, 2\], got \[2, 3, 4\]/],
      ['dout of another dtype', () => spatialBatchnormBackwardNaive(cast(dout, 'float32'), cache), /^spatialBatchnormBackwardNaive: expected dout of dtype float64 \(the forward's\), got float32/],
      ['cache undefined', () => spatialBatchnormBackwardNaive(dout, undefined as unknown as typeof cache), /^spatialBatchnormBackwardNaive: expected the cache returned by the matching forward.*got undefined/],
      ['cache of batchnormForwardNaive', () => spatialBatchnormBackwardNaive(dout, batchnormForwardNaive(x, g, b, { mode: 'train' }).cache), /^spatialBatchnormBackwardNaive: expected the cache of spatialBatchnormForwardNaive \(x of rank 4\), got cache.x of shape \[4, 3\]/],
      ['inconsistent cache', () => spatialBatchnormBackwardNaive(dout, { ...cache, xhat: new Float64Array(3) }), /^spatialBatchnormBackwardNaive: expected the cache of spatialBatchnormForwardNaive for x of shape \[2, 3, 2, 2\].*got an inconsistent cache/],
    ];
    for (const [name, f, re] of cases) test(name, () => throwsConvnet(f, re));
  });
});
