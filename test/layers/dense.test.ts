// Affine, activations, losses, dropout, flatten and gemm.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalNumericalGradient, gradCheck, relError } from '../../src/gradcheck.js';
import {
  leakyReluBackward,
  leakyReluForward,
  logSoftmaxBackward,
  logSoftmaxForward,
  reluBackward,
  reluForward,
  softmax,
  softmaxBackward,
  softmaxForward,
} from '../../src/layers/activations.js';
import { affineBackwardNaive, affineForwardNaive } from '../../src/layers/affine.js';
import { dropoutBackward, dropoutForward } from '../../src/layers/dropout.js';
import { gemm } from '../../src/layers/gemm.js';
import { softmaxLoss, svmLoss } from '../../src/layers/loss.js';
import { flatten, flattenBackward, flattenForward } from '../../src/layers/reshape.js';
import { rng } from '../../src/rng.js';
import { clone, linspace, reshape, tensor, zeros } from '../../src/tensor.js';
import { assertGradients, assertTensorClose, assertThrowsConvnet, randomTensor } from '../helpers.js';

describe('affine', () => {
  test("CS231n's affine_forward fixture (x [2,4,5,6] → 3 outputs)", () => {
    const x = reshape(linspace(-0.1, 0.5, 2 * 120), [2, 4, 5, 6]);
    const w = reshape(linspace(-0.2, 0.3, 120 * 3), [120, 3]);
    const b = linspace(-0.3, 0.1, 3);
    const { out } = affineForwardNaive(x, w, b);
    const expected = [1.49834967, 1.70660132, 1.91485297, 3.25553199, 3.5141327, 3.77273342];
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(out.data[i]! - expected[i]!) < 1e-7, `out[${i}] ${out.data[i]}`);
  });
  test('numerical gradients, x of shape [10,2,3] (dx in x shape)', () => {
    const x = randomTensor([10, 2, 3], 1);
    const w = randomTensor([6, 5], 2);
    const b = randomTensor([5], 3);
    const report = gradCheck({ inputs: { x, w, b }, forward: (i) => affineForwardNaive(i.x!, i.w!, i.b!), backward: affineBackwardNaive });
    assertGradients(report, 1e-7);
    const { dx } = affineBackwardNaive(randomTensor([10, 5], 4), affineForwardNaive(x, w, b).cache);
    assert.deepEqual(dx.shape, [10, 2, 3]);
  });
  test('throws when w rows do not match x features', () => assertThrowsConvnet(() => affineForwardNaive(zeros([2, 3, 4]), zeros([11, 5]), zeros([5])), /affineForwardNaive/, /w of shape \[12, M\]/, /\[11, 5\]/));
  test('throws when b does not match w columns', () => assertThrowsConvnet(() => affineForwardNaive(zeros([2, 4]), zeros([4, 5]), zeros([4])), /b of shape \[5\]/));
  test('throws when x is rank 1', () => assertThrowsConvnet(() => affineForwardNaive(zeros([4]), zeros([4, 5]), zeros([5])), /affineForwardNaive/, /\(N, d1, …, dk\)/));
  test('throws on mixed dtypes', () => assertThrowsConvnet(() => affineForwardNaive(zeros([2, 4]), zeros([4, 5], 'float32'), zeros([5])), /dtype/));
  test('throws when dout has the wrong shape', () => assertThrowsConvnet(() => affineBackwardNaive(zeros([2, 4]), affineForwardNaive(zeros([2, 4]), zeros([4, 5]), zeros([5])).cache), /affineBackwardNaive/, /\[2, 5\]/));
});

describe('relu and leaky relu', () => {
  test('relu passes gradient only where x > 0 (zero at exactly 0)', () => {
    const x = tensor([-1, 0, 2]);
    const { out, cache } = reluForward(x);
    assert.deepEqual(Array.from(out.data), [0, 0, 2]);
    assert.deepEqual(Array.from(reluBackward(tensor([5, 5, 5]), cache).data), [0, 0, 5]);
  });
  test('relu maps -Infinity and -0 to 0 and lets NaN through', () => {
    const { out } = reluForward(tensor([Number.NEGATIVE_INFINITY, -0, Number.NaN, Number.POSITIVE_INFINITY]));
    assert.ok(Object.is(out.data[0], 0) && Object.is(out.data[1], 0));
    assert.ok(Number.isNaN(out.data[2]));
    assert.equal(out.data[3], Number.POSITIVE_INFINITY);
  });
  test('relu numerical gradient', () => {
    const x = randomTensor([3, 4, 5], 5);
    assertGradients(gradCheck({ inputs: { x }, forward: (i) => reluForward(i.x!), backward: reluBackward }), 1e-7);
  });
  test('leaky relu numerical gradient (alpha 0.1)', () => {
    const x = randomTensor([3, 4, 5], 6);
    assertGradients(gradCheck({ inputs: { x }, forward: (i) => leakyReluForward(i.x!, 0.1), backward: leakyReluBackward }), 1e-7);
  });
  test('leaky relu default alpha is 0.01', () => assert.deepEqual(Array.from(leakyReluForward(tensor([-100, 3])).out.data), [-1, 3]));
  test('throws when alpha is NaN', () => assertThrowsConvnet(() => leakyReluForward(zeros([2]), Number.NaN), /leakyReluForward/, /alpha/, /NaN/));
  test('throws when relu dout has the wrong shape', () => assertThrowsConvnet(() => reluBackward(zeros([3]), reluForward(zeros([2])).cache), /reluBackward/));
});

describe('softmax and log-softmax', () => {
  for (const axis of [0, 1, 2, -1]) {
    test(`softmax numerical gradient x=[3,4,5] axis ${axis}`, () => {
      const x = randomTensor([3, 4, 5], 7 + axis);
      assertGradients(gradCheck({ inputs: { x }, forward: (i) => softmaxForward(i.x!, axis), backward: softmaxBackward }), 1e-7);
    });
    test(`log-softmax numerical gradient x=[3,4,5] axis ${axis}`, () => {
      const x = randomTensor([3, 4, 5], 17 + axis);
      assertGradients(gradCheck({ inputs: { x }, forward: (i) => logSoftmaxForward(i.x!, axis), backward: logSoftmaxBackward }), 1e-7);
    });
  }
  test('softmax subtracts the max: huge inputs do not overflow', () => {
    const p = softmax(tensor([[1000, 1001, 1002]]));
    assert.ok(p.data.every((v) => Number.isFinite(v)));
    assert.ok(Math.abs(p.data[2]! - 0.6652409557748219) < 1e-12);
  });
  test('throws when axis is out of range', () => assertThrowsConvnet(() => softmaxForward(zeros([2, 3]), 2), /softmaxForward/, /axis/, /\[-2, 1\]/, /got 2/));
  test('throws when axis is not an integer', () => assertThrowsConvnet(() => logSoftmaxForward(zeros([2, 3]), 0.5), /logSoftmaxForward/, /axis/));
});

describe('losses', () => {
  test('softmax loss of small random scores is about log(10), and its gradient is right', () => {
    const x = randomTensor([50, 10], 8, 'float64', 0.001);
    const y = Array.from({ length: 50 }, (_, i) => i % 10);
    const { loss, dx } = softmaxLoss(x, y);
    assert.ok(Math.abs(loss - Math.log(10)) < 0.01, `loss ${loss}`);
    const numeric = evalNumericalGradient((s) => softmaxLoss(s, y).loss, x);
    assert.ok(relError(dx, numeric) < 1e-7, `rel error ${relError(dx, numeric)}`);
  });
  test('svm loss of small random scores is about 9, and its gradient is right', () => {
    const x = randomTensor([50, 10], 9, 'float64', 0.001);
    const y = new Int32Array(50).map((_, i) => (i * 7) % 10);
    const { loss, dx } = svmLoss(x, y);
    assert.ok(Math.abs(loss - 9) < 0.02, `loss ${loss}`);
    const numeric = evalNumericalGradient((s) => svmLoss(s, y).loss, x);
    assert.ok(relError(dx, numeric) < 1e-7, `rel error ${relError(dx, numeric)}`);
  });
  test('softmax loss is the mean over N of -log p[y], stable for large scores', () => {
    const { loss } = softmaxLoss(tensor([[1000, 0], [0, 1000]]), [0, 0]);
    assert.ok(Math.abs(loss - 500) < 1e-9, `loss ${loss}`);
  });
  test('svm loss by hand: margins 1 over the wrong classes, mean over N', () => {
    const { loss, dx } = svmLoss(tensor([[1, 2, 3], [3, 2, 1]]), [2, 0]);
    // row 0: margins max(0, 1-3+1) + max(0, 2-3+1) = 0; row 1: 0 + 0. Then a violated case:
    assert.equal(loss, 0);
    assert.deepEqual(Array.from(dx.data), [0, 0, 0, 0, 0, 0]);
    const violated = svmLoss(tensor([[3, 2, 1]]), [1]);
    assert.equal(violated.loss, 2 + 0); // class 0: 3-2+1 = 2; class 2: 1-2+1 = 0
    assert.deepEqual(Array.from(violated.dx.data), [1, -1, 0]);
  });
  test('throws when a label is out of range', () => assertThrowsConvnet(() => softmaxLoss(zeros([2, 3]), [0, 3]), /softmaxLoss/, /labels in \[0, 3\)/, /y\[1\] = 3/));
  test('throws when a label is negative', () => assertThrowsConvnet(() => svmLoss(zeros([2, 3]), [-1, 0]), /svmLoss/, /y\[0\] = -1/));
  test('throws when a label is not an integer', () => assertThrowsConvnet(() => svmLoss(zeros([2, 3]), [0.5, 0]), /svmLoss/, /0.5/));
  test('throws when there are too few labels', () => assertThrowsConvnet(() => softmaxLoss(zeros([2, 3]), [0]), /one label per sample \(2\)/));
  test('throws when scores are not 2-D', () => assertThrowsConvnet(() => softmaxLoss(zeros([2, 3, 1]), [0, 0]), /scores of rank 2/));
});

const mean = (values: ArrayLike<number>): number => {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
};

describe('dropout', () => {
  test('inverted dropout keeps the mean: p is the keep probability', () => {
    const x = randomTensor([500, 500], 10, 'float64', 1).data.map((v) => v + 10);
    const input = tensor(x, [500, 500]);
    for (const p of [0.25, 0.4, 0.7]) {
      const { out } = dropoutForward(input, { p, mode: 'train', seed: 123 });
      const meanIn = mean(input.data);
      const meanOut = mean(out.data);
      const zeroFraction = out.data.filter((v) => v === 0).length / out.data.length;
      assert.ok(Math.abs(meanOut / meanIn - 1) < 0.01, `p ${p}: mean ${meanOut} vs ${meanIn}`);
      assert.ok(Math.abs(zeroFraction - (1 - p)) < 0.01, `p ${p}: zero fraction ${zeroFraction}`);
    }
  });
  test('test mode is the identity', () => {
    const x = randomTensor([4, 5], 11);
    assertTensorClose(dropoutForward(x, { p: 0.3, mode: 'test' }).out, x, 0);
  });
  test('numerical gradient with a fixed seed', () => {
    const x = randomTensor([10, 10], 12);
    const param = { p: 0.2, mode: 'train' as const, seed: 123 };
    assertGradients(gradCheck({ inputs: { x }, forward: (i) => dropoutForward(i.x!, param), backward: dropoutBackward }), 1e-7);
  });
  test('the same seed gives the same mask; an rng advances between calls', () => {
    const x = randomTensor([10, 10], 13);
    assertTensorClose(dropoutForward(x, { p: 0.5, mode: 'train', seed: 1 }).out, dropoutForward(x, { p: 0.5, mode: 'train', seed: 1 }).out, 0);
    const generator = rng(5);
    const first = dropoutForward(x, { p: 0.5, mode: 'train', rng: generator }).out;
    const second = dropoutForward(x, { p: 0.5, mode: 'train', rng: generator }).out;
    assert.notDeepEqual(Array.from(first.data), Array.from(second.data));
  });
  test('throws when p is 0 or above 1', () => {
    assertThrowsConvnet(() => dropoutForward(zeros([2]), { p: 0, mode: 'train', seed: 1 }), /dropoutForward/, /keep probability/, /\(0, 1\]/);
    assertThrowsConvnet(() => dropoutForward(zeros([2]), { p: 1.5, mode: 'train', seed: 1 }), /1.5/);
  });
  test('throws on an unknown mode', () => assertThrowsConvnet(() => dropoutForward(zeros([2]), { p: 0.5, mode: 'eval' as never }), /mode 'train' or 'test'/, /"eval"/));
  test('throws in train mode without a seed or rng', () => assertThrowsConvnet(() => dropoutForward(zeros([2]), { p: 0.5, mode: 'train' }), /seed or dropoutParam.rng/));
});

describe('flatten and gemm', () => {
  test('flatten to 2-D around an axis', () => {
    const x = zeros([2, 3, 4, 5]);
    assert.deepEqual(flatten(x, 0).shape, [1, 120]);
    assert.deepEqual(flatten(x).shape, [2, 60]);
    assert.deepEqual(flatten(x, -1).shape, [24, 5]);
    assert.deepEqual(flatten(x, 4).shape, [120, 1]);
    const { out, cache } = flattenForward(x, 2);
    assert.deepEqual(flattenBackward(zeros(out.shape), cache).shape, [2, 3, 4, 5]);
  });
  test('throws when the flatten axis is out of range', () => assertThrowsConvnet(() => flatten(zeros([2, 3]), 5), /flatten/, /axis/));
  test('gemm: alpha·op(a)·op(b) + beta·c with broadcasting', () => {
    const a = tensor([[1, 2], [3, 4]]);
    const b = tensor([[5, 6], [7, 8]]);
    assert.deepEqual(Array.from(gemm(a, b).data), [19, 22, 43, 50]);
    assert.deepEqual(Array.from(gemm(a, b, tensor([1, 2]), { alpha: 2, beta: 3 }).data), [41, 50, 89, 106]);
    assert.deepEqual(Array.from(gemm(a, b, null, { transA: true, transB: true }).data), [23, 31, 34, 46]);
    assert.deepEqual(Array.from(gemm(a, b, tensor([[10], [20]])).data), [29, 32, 63, 70]);
  });
  test('throws when inner sizes differ', () => assertThrowsConvnet(() => gemm(zeros([2, 3]), zeros([4, 2])), /gemm/, /3 rows/, /\[4, 2\]/));
  test('throws when c does not broadcast', () => assertThrowsConvnet(() => gemm(zeros([2, 3]), zeros([3, 4]), zeros([3])), /gemm/, /broadcastable to \[2, 4\]/));
});

describe('no function mutates its inputs', () => {
  test('affine, relu, softmax, losses and dropout leave their inputs alone', () => {
    const x = randomTensor([4, 6], 14);
    const w = randomTensor([6, 3], 15);
    const b = randomTensor([3], 16);
    const copies = [clone(x), clone(w), clone(b)];
    const { out, cache } = affineForwardNaive(x, w, b);
    affineBackwardNaive(out, cache);
    reluBackward(x, reluForward(x).cache);
    softmaxBackward(x, softmaxForward(x).cache);
    softmaxLoss(x, [0, 1, 2, 3]);
    svmLoss(x, [0, 1, 2, 3]);
    dropoutBackward(x, dropoutForward(x, { p: 0.5, mode: 'train', seed: 1 }).cache);
    [x, w, b].forEach((t, i) => assertTensorClose(t, copies[i]!, 0));
  });
});
