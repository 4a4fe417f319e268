import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradCheck } from '../../src/gradcheck.js';
import {
  avgPoolBackwardNaive,
  avgPoolForwardNaive,
  globalAvgPoolBackward,
  globalAvgPoolForward,
  globalMaxPoolBackward,
  globalMaxPoolForward,
  maxPoolBackwardNaive,
  maxPoolForwardNaive,
  type AvgPoolParam,
  type PoolParam,
} from '../../src/layers/pool.js';
import { clone, linspace, reshape, tensor, zeros } from '../../src/tensor.js';
import { assertGradients, assertTensorClose, assertThrowsConvnet, randomTensor } from '../helpers.js';

const poolCases: Array<{ name: string; x: number[]; param: AvgPoolParam }> = [
  { name: 'x=[2,3,4,4] 2x2 stride 2', x: [2, 3, 4, 4], param: { poolHeight: 2, poolWidth: 2 } },
  { name: 'overlapping x=[1,2,5,5] 3x3 stride 1', x: [1, 2, 5, 5], param: { poolHeight: 3, poolWidth: 3, stride: 1 } },
  { name: 'overlapping non-square x=[2,2,5,7] 3x2 stride [2,1]', x: [2, 2, 5, 7], param: { poolHeight: 3, poolWidth: 2, stride: [2, 1] } },
  { name: 'padded x=[1,2,5,6] 3x3 stride 2 pad 1', x: [1, 2, 5, 6], param: { poolHeight: 3, poolWidth: 3, stride: 2, pad: 1 } },
  { name: 'asymmetric pad [0,1,2,1] x=[1,1,6,5] 3x3 stride 2', x: [1, 1, 6, 5], param: { poolHeight: 3, poolWidth: 3, stride: 2, pad: [0, 1, 2, 1] } },
  { name: 'dilation 2 x=[1,2,7,6] 2x2 stride 1', x: [1, 2, 7, 6], param: { poolHeight: 2, poolWidth: 2, stride: 1, dilation: 2 } },
  { name: 'ceil mode x=[1,2,6,7] 3x3 stride 2', x: [1, 2, 6, 7], param: { poolHeight: 3, poolWidth: 3, stride: 2, ceilMode: true } },
  { name: 'excluding padding x=[1,2,5,5] 3x3 stride 2 pad 1', x: [1, 2, 5, 5], param: { poolHeight: 3, poolWidth: 3, stride: 2, pad: 1, countIncludePad: false } },
];

describe('max pool (naive): numerical gradients in float64', () => {
  for (const [k, c] of poolCases.entries()) {
    test(c.name, () => {
      const x = randomTensor(c.x, 20 + k);
      const report = gradCheck({ inputs: { x }, forward: (i) => maxPoolForwardNaive(i.x!, c.param), backward: maxPoolBackwardNaive, seed: k });
      assertGradients(report, 1e-7, c.name);
    });
  }
});

describe('average pool (naive): numerical gradients in float64', () => {
  for (const [k, c] of poolCases.entries()) {
    for (const countIncludePad of c.param.countIncludePad === false ? [false] : [true, false]) {
      test(`${c.name} countIncludePad ${countIncludePad}`, () => {
        const x = randomTensor(c.x, 40 + k);
        const param = { ...c.param, countIncludePad };
        const report = gradCheck({ inputs: { x }, forward: (i) => avgPoolForwardNaive(i.x!, param), backward: avgPoolBackwardNaive, seed: k });
        assertGradients(report, 1e-7, c.name);
      });
    }
  }
});

describe('global pools: numerical gradients in float64', () => {
  test('global average pool x=[2,3,4,5]', () => {
    const x = randomTensor([2, 3, 4, 5], 60);
    assertGradients(gradCheck({ inputs: { x }, forward: (i) => globalAvgPoolForward(i.x!), backward: globalAvgPoolBackward }), 1e-7);
  });
  test('global max pool x=[2,3,4,5]', () => {
    const x = randomTensor([2, 3, 4, 5], 61);
    assertGradients(gradCheck({ inputs: { x }, forward: (i) => globalMaxPoolForward(i.x!), backward: globalMaxPoolBackward }), 1e-7);
  });
});

describe('pooling: known values', () => {
  test("CS231n's max_pool_forward_naive fixture (x [2,3,4,4], 2x2 stride 2)", () => {
    const x = reshape(linspace(-0.3, 0.4, 2 * 3 * 4 * 4), [2, 3, 4, 4]);
    const { out } = maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2, stride: 2 });
    const expected = [
      -0.26315789, -0.24842105, -0.20421053, -0.18947368, -0.14526316, -0.13052632, -0.08631579, -0.07157895,
      -0.02736842, -0.01263158, 0.03157895, 0.04631579, 0.09052632, 0.10526316, 0.14947368, 0.16421053,
      0.20842105, 0.22315789, 0.26736842, 0.28210526, 0.32631579, 0.34105263, 0.38526316, 0.4,
    ];
    assert.deepEqual(out.shape, [2, 3, 2, 2]);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(out.data[i]! - expected[i]!) < 1e-7, `out[${i}]`);
  });

  test('average pool divides by the whole window, or by the real cells without countIncludePad', () => {
    const x = tensor([[[[1, 2], [3, 4]]]]);
    const withPad = avgPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2, stride: 1, pad: 1 }).out;
    const withoutPad = avgPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2, stride: 1, pad: 1, countIncludePad: false }).out;
    assert.deepEqual(Array.from(withPad.data), [0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1]);
    assert.deepEqual(Array.from(withoutPad.data), [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
  });

  test('max pool: padding never wins, even over negative values', () => {
    const x = tensor([[[[-5, -6], [-7, -8]]]]);
    const { out } = maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2, stride: 1, pad: 1 });
    assert.deepEqual(Array.from(out.data), [-5, -5, -6, -5, -5, -6, -7, -7, -8]);
  });

  test('max pool: NaN propagates', () => {
    const x = tensor([[[[1, Number.NaN], [3, 4]]]]);
    const { out } = maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2 });
    assert.ok(Number.isNaN(out.data[0]));
  });

  test('global max pool equals a whole-plane max pool; global average equals the plane mean', () => {
    const x = randomTensor([2, 3, 3, 4], 62);
    assertTensorClose(globalMaxPoolForward(x).out, maxPoolForwardNaive(x, { poolHeight: 3, poolWidth: 4 }).out, 0);
    assertTensorClose(globalAvgPoolForward(x).out, avgPoolForwardNaive(x, { poolHeight: 3, poolWidth: 4 }).out, 1e-15);
  });

  test('ceil mode drops a last window that would start in the trailing padding (PyTorch)', () => {
    const x = zeros([1, 1, 2, 2]);
    const { out } = avgPoolForwardNaive(x, { poolHeight: 3, poolWidth: 3, stride: 3, pad: 1, ceilMode: true });
    assert.deepEqual(out.shape, [1, 1, 1, 1]);
  });
});

describe('pooling: traps from SEMANTICS.md', () => {
  test('trap: an all-tie window gives its gradient to the first element only: [1, 0, 0, 0]', () => {
    const x = tensor([[[[7, 7], [7, 7]]]]);
    const { out, cache } = maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2 });
    assert.deepEqual(Array.from(out.data), [7]);
    const dx = maxPoolBackwardNaive(tensor([[[[1]]]]), cache);
    assert.deepEqual(Array.from(dx.data), [1, 0, 0, 0]);
  });

  test('trap: a tie for the max later in the window is not counted twice', () => {
    const x = tensor([[[[1, 5], [5, 2]]]]);
    const dx = maxPoolBackwardNaive(tensor([[[[3]]]]), maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2 }).cache);
    assert.deepEqual(Array.from(dx.data), [0, 3, 0, 0]);
  });

  test('trap: overlapping max windows that pick the same cell accumulate', () => {
    // 1x3 row, window 1x2 stride 1: the middle 9 is the max of both windows.
    const x = tensor([[[[1, 9, 2]]]]);
    const { cache } = maxPoolForwardNaive(x, { poolHeight: 1, poolWidth: 2, stride: 1 });
    const dx = maxPoolBackwardNaive(tensor([[[[1, 2]]]]), cache);
    assert.deepEqual(Array.from(dx.data), [0, 3, 0]);
  });

  test('trap: overlapping average windows accumulate', () => {
    const x = tensor([[[[1, 9, 2]]]]);
    const { cache } = avgPoolForwardNaive(x, { poolHeight: 1, poolWidth: 2, stride: 1 });
    const dx = avgPoolBackwardNaive(tensor([[[[2, 4]]]]), cache);
    assert.deepEqual(Array.from(dx.data), [1, 3, 2]);
  });

  test('trap: output sizes per axis for a non-square input and window', () => {
    const { out } = maxPoolForwardNaive(zeros([1, 1, 5, 7]), { poolHeight: 3, poolWidth: 2, stride: [2, 1] });
    assert.deepEqual(out.shape, [1, 1, 2, 6]);
  });

  test("trap: the caller's input is not modified", () => {
    const x = randomTensor([1, 2, 5, 5], 63);
    const x0 = clone(x);
    const param: PoolParam = { poolHeight: 3, poolWidth: 3, stride: 2, pad: 1 };
    maxPoolBackwardNaive(randomTensor([1, 2, 3, 3], 64), maxPoolForwardNaive(x, param).cache);
    avgPoolBackwardNaive(randomTensor([1, 2, 3, 3], 65), avgPoolForwardNaive(x, param).cache);
    assertTensorClose(x, x0, 0);
  });
});

describe('pooling: a window far larger than the input, with padding to match (hangs before: O(kernel) work per window)', () => {
  const x = reshape(linspace(1, 16, 16), [1, 1, 4, 4]);

  test('x=[1,1,4,4] window 2^20 × 1, pad [2^20 − 1, 0], stride 1: each output row is the max over the input rows its window reaches', { timeout: 20000 }, () => {
    const k = 2 ** 20;
    const { out } = maxPoolForwardNaive(x, { poolHeight: k, poolWidth: 1, pad: [k - 1, 0], stride: 1 });
    assert.deepEqual(out.shape, [1, 1, k + 3, 4]);
    // Window i covers rows [i − (k − 1), i]: rows 0..min(i, 3), then (from i = k − 1 on) i − (k − 1)..3.
    const rowOf = (i: number): number[] => Array.from(out.data.subarray(i * 4, i * 4 + 4));
    assert.deepEqual(rowOf(0), [1, 2, 3, 4]);
    assert.deepEqual(rowOf(1), [5, 6, 7, 8]);
    assert.deepEqual(rowOf(3), [13, 14, 15, 16]);
    assert.deepEqual(rowOf(k - 1), [13, 14, 15, 16]);
    assert.deepEqual(rowOf(k + 2), [13, 14, 15, 16]);
  });

  test('x=[1,1,4,4] window 2^30 × 2^30, pad 2^30 − 1 (stride = window): 2×2 averages, with and without the padding in the divisor', { timeout: 20000 }, () => {
    const k = 2 ** 30;
    const param = { poolHeight: k, poolWidth: k, pad: k - 1 };
    const included = avgPoolForwardNaive(x, param).out;
    const excluded = avgPoolForwardNaive(x, { ...param, countIncludePad: false }).out;
    // Window (0, 0) reaches cell (0, 0) only; window (1, 1) starts at (1, 1) and reaches the rest.
    // Sums 1, 2 + 3 + 4, 5 + 9 + 13 and 99 over 1, 3, 3 and 9 cells, or over k² (exact: k is a power of 2).
    assert.deepEqual(excluded.data, new Float64Array([1, 3, 9, 11]));
    assert.deepEqual(included.data, new Float64Array([1 / k ** 2, 9 / k ** 2, 27 / k ** 2, 99 / k ** 2]));
    assert.deepEqual(maxPoolForwardNaive(x, param).out.data, new Float64Array([1, 4, 13, 16]));
  });
});

describe('pooling: bad input throws ConvnetError naming the function', () => {
  const x = zeros([1, 2, 4, 4]);
  const cases: Array<[string, () => unknown, RegExp[]]> = [
    ['throws when x is not rank 4', () => maxPoolForwardNaive(zeros([2, 4, 4]), { poolHeight: 2, poolWidth: 2 }), [/maxPoolForwardNaive/, /rank 4/]],
    ['throws when poolParam is missing', () => maxPoolForwardNaive(x, undefined as never), [/poolParam to be an object/]],
    ['throws when poolHeight is missing', () => maxPoolForwardNaive(x, { poolWidth: 2 } as never), [/poolParam.poolHeight/, /undefined/]],
    ['throws when poolWidth is zero', () => avgPoolForwardNaive(x, { poolHeight: 2, poolWidth: 0 }), [/avgPoolForwardNaive/, /poolParam.poolWidth/]],
    ['throws when the window is larger than the padded input', () => maxPoolForwardNaive(x, { poolHeight: 5, poolWidth: 2 }), [/larger than the padded input/, /height 4/]],
    ['throws on negative padding', () => maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2, pad: -1 }), [/poolParam.pad/]],
    ['throws on non-integer stride', () => maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2, stride: 0.5 }), [/poolParam.stride/, /0.5/]],
    ['throws on NaN pool size', () => maxPoolForwardNaive(x, { poolHeight: Number.NaN, poolWidth: 2 }), [/poolParam.poolHeight/, /NaN/]],
    ['throws when a window lies wholly in the padding', () => maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2, stride: 1, pad: 2 }), [/wholly in the padding/]],
    ['throws when ceilMode is not a boolean', () => maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2, ceilMode: 1 as never }), [/ceilMode/]],
    ['throws when countIncludePad is not a boolean', () => avgPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2, countIncludePad: 'yes' as never }), [/countIncludePad/]],
    ['throws when dout has the wrong shape', () => maxPoolBackwardNaive(zeros([1, 2, 3, 3]), maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2 }).cache), [/maxPoolBackwardNaive/, /dout of shape \[1, 2, 2, 2\]/]],
    ['throws when avg dout has the wrong dtype', () => avgPoolBackwardNaive(zeros([1, 2, 2, 2], 'float32'), avgPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2 }).cache), [/avgPoolBackwardNaive/, /dtype float64/]],
    ['throws when global pools get rank 3', () => globalAvgPoolForward(zeros([2, 3, 4])), [/globalAvgPoolForward/, /rank 4/]],
    ['throws when global max pool gets rank 2', () => globalMaxPoolForward(zeros([2, 3])), [/globalMaxPoolForward/, /rank 4/]],
    ['throws when global average backward gets a bad dout', () => globalAvgPoolBackward(zeros([1, 2, 2, 2]), globalAvgPoolForward(x).cache), [/globalAvgPoolBackward/, /\[1, 2, 1, 1\]/]],
    // The global max pool runs the max pool's code, but its errors name it (they named maxPool…Naive).
    ['throws naming globalMaxPoolForward on an empty x', () => globalMaxPoolForward(zeros([0, 3, 4, 2])), [/^globalMaxPoolForward: /, /non-empty x/]],
    ['throws naming globalMaxPoolBackward on a bad dout', () => globalMaxPoolBackward(zeros([1, 2, 2, 2]), globalMaxPoolForward(x).cache), [/^globalMaxPoolBackward: /, /dout of shape \[1, 2, 1, 1\]/]],
    ['throws naming globalMaxPoolBackward on a bogus cache', () => globalMaxPoolBackward(zeros([1, 2, 1, 1]), {} as never), [/^globalMaxPoolBackward: /, /cache/]],
    // A cache whose x (or inputShape) is not the input its geometry was computed for: dx of the wrong shape before.
    ['throws when a max pool cache holds another x', () => maxPoolBackwardNaive(zeros([1, 2, 2, 2]), { ...maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2 }).cache, x: zeros([1, 2, 5, 4]) }), [/^maxPoolBackwardNaive: /, /cache.x of the shape cache.geometry was computed for \(N, C, H, W\) = \[1, 2, 4, 4\], got \[1, 2, 5, 4\]/]],
    ['throws when an average pool cache holds another inputShape', () => avgPoolBackwardNaive(zeros([1, 2, 2, 2]), { ...avgPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2 }).cache, inputShape: [2, 2, 4, 4] }), [/^avgPoolBackwardNaive: /, /cache.inputShape of the shape/]],
  ];
  for (const [name, fn, patterns] of cases) test(name, () => assertThrowsConvnet(fn, ...patterns));
});
