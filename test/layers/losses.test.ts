// mseLoss, l1Loss and softmaxCrossEntropyLoss: values, float64 gradient checks, every option, errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalNumericalGradient, relError } from '../../src/gradcheck.js';
import { logSoftmax } from '../../src/layers/activations.js';
import { l1Loss, mseLoss, softmaxCrossEntropyLoss, softmaxLoss, type SoftmaxCrossEntropyOptions } from '../../src/layers/loss.js';
import { rng } from '../../src/rng.js';
import { sizeOf, tensor, zeros, type Tensor } from '../../src/tensor.js';
import { assertThrowsConvnet, randomTensor } from '../helpers.js';

const values = (t: Tensor): number[] => Array.from(t.data);

/** Asserts dx against the centred-difference gradient of f at x (CS231n's relative error). */
function assertLossGradient(f: (x: Tensor) => number, x: Tensor, dx: Tensor, label: string, tolerance = 1e-7): void {
  const numeric = evalNumericalGradient(f, x);
  const err = relError(dx, numeric);
  assert.ok(err < tolerance, `${label}: relative error ${err.toExponential(2)} >= ${tolerance}`);
}

describe('mseLoss and l1Loss', () => {
  test('mse by hand: mean of squares over every element', () => {
    const { loss, dx } = mseLoss(tensor([[1, 2], [3, 4]]), tensor([[1, 0], [4, 4]]));
    assert.equal(loss, (0 + 4 + 1 + 0) / 4);
    assert.deepEqual(values(dx), [0, 1, -0.5, 0]);
  });
  test('l1 by hand: mean of absolute values; subgradient 0 where pred = target (PyTorch)', () => {
    const { loss, dx } = l1Loss(tensor([1, 2, 3, -1]), tensor([1, 0, 4, 1]));
    assert.equal(loss, (0 + 2 + 1 + 2) / 4);
    assert.deepEqual(values(dx), [0, 0.25, -0.25, -0.25]);
  });
  for (const shape of [[7], [3, 4], [2, 3, 2, 2]]) {
    test(`mse numerical gradient, pred [${shape.join(',')}]`, () => {
      const pred = randomTensor(shape, 41);
      const target = randomTensor(shape, 42);
      assertLossGradient((p) => mseLoss(p, target).loss, pred, mseLoss(pred, target).dx, 'mse');
    });
    test(`l1 numerical gradient, pred [${shape.join(',')}]`, () => {
      const pred = randomTensor(shape, 43);
      const target = randomTensor(shape, 44);
      assertLossGradient((p) => l1Loss(p, target).loss, pred, l1Loss(pred, target).dx, 'l1');
    });
  }
  test('float32 in, float32 dx out', () => {
    const { dx } = mseLoss(randomTensor([3], 45, 'float32'), randomTensor([3], 46, 'float32'));
    assert.equal(dx.dtype, 'float32');
    assert.equal(l1Loss(randomTensor([3], 45, 'float32'), randomTensor([3], 46, 'float32')).dx.dtype, 'float32');
  });
  for (const [name, f] of [
    ['mseLoss', mseLoss],
    ['l1Loss', l1Loss],
  ] as const) {
    test(`${name} throws when target's shape differs`, () => assertThrowsConvnet(() => f(zeros([2, 3]), zeros([3, 2])), new RegExp(name), /target of shape \[2, 3\]/, /\[3, 2\]/));
    test(`${name} throws on mixed dtypes`, () => assertThrowsConvnet(() => f(zeros([2]), zeros([2], 'float32')), new RegExp(name), /dtype/));
    test(`${name} throws on an empty pred`, () => assertThrowsConvnet(() => f(zeros([0, 3]), zeros([0, 3])), new RegExp(name), /at least one element/));
    test(`${name} throws when pred is not a tensor`, () => assertThrowsConvnet(() => f([1, 2] as unknown as Tensor, zeros([2])), new RegExp(name), /pred/));
    test(`${name} throws when target is not a tensor`, () => assertThrowsConvnet(() => f(zeros([2]), null as unknown as Tensor), new RegExp(name), /target/));
  }
});

// ---------------------------------------------------------------------------------------------
// softmax cross-entropy

/**
 * An independent oracle: per position, log-softmax by logSoftmax along axis 1, the smoothed
 * target q = (1 − ε)·onehot(y) + ε/C, ℓ = Σ_c w[c]·q[c]·(−log p[c]); mean divides by Σ w[y].
 */
function oracle(scores: Tensor, labels: number[], o: SoftmaxCrossEntropyOptions): { perPosition: number[]; divisor: number } {
  const lp = logSoftmax(scores, 1).data;
  const [N, C] = scores.shape as [number, number];
  const inner = sizeOf(scores.shape.slice(2));
  const eps = o.labelSmoothing ?? 0;
  const w = (c: number): number => (o.weights ? o.weights.data[c]! : 1);
  const perPosition: number[] = [];
  let divisor = 0;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < inner; j++) {
      const y = labels[n * inner + j]!;
      if (y === o.ignoreIndex) {
        perPosition.push(0);
        continue;
      }
      let loss = 0;
      for (let c = 0; c < C; c++) loss -= w(c) * ((c === y ? 1 - eps : 0) + eps / C) * lp[(n * C + c) * inner + j]!;
      perPosition.push(loss);
      divisor += w(y);
    }
  }
  return { perPosition, divisor };
}

function randomLabels(count: number, C: number, seed: number, ignoreIndex?: number): number[] {
  const r = rng(seed);
  // Every fourth label (about) ignored, when there is an ignore index.
  return Array.from({ length: count }, () => (ignoreIndex !== undefined && r.int(4) === 0 ? ignoreIndex : r.int(C)));
}

interface SceCase {
  label: string;
  shape: number[];
  options: (C: number) => SoftmaxCrossEntropyOptions;
}

const positiveWeights = (C: number, seed: number): Tensor => tensor(Array.from({ length: C }, (_, i) => 0.2 + ((i * 7 + seed) % 5) * 0.35));

const SCE_CASES: SceCase[] = [
  { label: 'scores (N, C)', shape: [6, 5], options: () => ({}) },
  { label: 'class weights', shape: [6, 5], options: (C) => ({ weights: positiveWeights(C, 1) }) },
  { label: 'ignoreIndex 2 (a class)', shape: [8, 4], options: () => ({ ignoreIndex: 2 }) },
  { label: 'ignoreIndex -100 (PyTorch default value)', shape: [8, 4], options: () => ({ ignoreIndex: -100 }) },
  { label: 'label smoothing 0.1', shape: [6, 5], options: () => ({ labelSmoothing: 0.1 }) },
  { label: 'label smoothing 1', shape: [4, 3], options: () => ({ labelSmoothing: 1 }) },
  { label: 'weights + ignoreIndex + label smoothing 0.3', shape: [9, 5], options: (C) => ({ weights: positiveWeights(C, 2), ignoreIndex: -1, labelSmoothing: 0.3 }) },
  { label: 'per pixel (N, C, H, W)', shape: [2, 4, 3, 2], options: () => ({}) },
  { label: 'per pixel (N, C, d1) with weights + ignoreIndex + smoothing 0.2', shape: [3, 5, 4], options: (C) => ({ weights: positiveWeights(C, 3), ignoreIndex: 7, labelSmoothing: 0.2 }) },
  { label: 'per pixel (N, C, d1, d2, d3) with weights + ignoreIndex 0', shape: [2, 3, 2, 2, 3], options: (C) => ({ weights: positiveWeights(C, 4), ignoreIndex: 0 }) },
];

describe('softmaxCrossEntropyLoss: float64 gradient checks and an independent oracle', () => {
  SCE_CASES.forEach((c, index) => {
    const C = c.shape[1]!;
    const count = c.shape[0]! * sizeOf(c.shape.slice(2));
    const scores = randomTensor(c.shape, 50 + index, 'float64', 1);
    const base = c.options(C);
    const labels = randomLabels(count, C, 60 + index, base.ignoreIndex);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      test(`${c.label}, scores [${c.shape.join(',')}], reduction ${reduction}`, () => {
        const options = { ...base, reduction };
        const result = softmaxCrossEntropyLoss(scores, labels, options);
        const { perPosition, divisor } = oracle(scores, labels, options);
        const total = perPosition.reduce((a, b) => a + b, 0);
        // The loss, against the oracle.
        if (reduction === 'none') {
          const loss = result.loss as Tensor;
          assert.deepEqual(loss.shape, [c.shape[0]!, ...c.shape.slice(2)]);
          assert.ok(relError(loss.data, perPosition) < 1e-12, `per-position losses ${values(loss)} vs ${perPosition}`);
        } else {
          const want = reduction === 'mean' ? total / divisor : total;
          assert.ok(Math.abs((result.loss as number) - want) <= 1e-12 * Math.abs(want), `loss ${String(result.loss)}, want ${want}`);
        }
        // dx: the gradient of the loss ('none': of the sum of per-position losses).
        const scalar = (s: Tensor): number => {
          const r = softmaxCrossEntropyLoss(s, labels, options);
          return typeof r.loss === 'number' ? r.loss : Array.from(r.loss.data).reduce((a, b) => a + b, 0);
        };
        assertLossGradient(scalar, scores, result.dx, c.label);
        assert.deepEqual(result.dx.shape, c.shape);
        assert.ok(relError(result.logProb.data, logSoftmax(scores, 1).data) < 1e-14, 'logProb is log-softmax over axis 1');
      });
    }
  });
});

describe('softmaxCrossEntropyLoss: semantics', () => {
  test('without options it is softmaxLoss (mean of −log p[y], same dx)', () => {
    const scores = randomTensor([7, 4], 70);
    const y = [0, 3, 1, 2, 2, 0, 1];
    const a = softmaxCrossEntropyLoss(scores, y);
    const b = softmaxLoss(scores, y);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-15);
    assert.ok(relError(a.dx, b.dx) < 1e-14);
  });
  test('weighted mean divides by the weights of the labels not ignored (ONNX), by hand', () => {
    // Uniform scores: −log p = log 3 everywhere.
    const w = tensor([1, 2, 4]);
    const { loss } = softmaxCrossEntropyLoss(zeros([3, 3]), [0, 1, 2], { weights: w, ignoreIndex: 2 });
    // (1·log3 + 2·log3 + 0) / (1 + 2)
    assert.ok(Math.abs(loss - Math.log(3)) < 1e-15, `loss ${loss}`);
    const sum = softmaxCrossEntropyLoss(zeros([3, 3]), [0, 1, 2], { weights: w, ignoreIndex: 2, reduction: 'sum' });
    assert.ok(Math.abs(sum.loss - 3 * Math.log(3)) < 1e-14);
  });
  test("label smoothing by hand (PyTorch's cross_entropy definition)", () => {
    // scores [0, ln 3]: p = [1/4, 3/4]; y = 1, ε = 0.2, C = 2: q = [0.1, 0.9].
    const { loss } = softmaxCrossEntropyLoss(tensor([[0, Math.log(3)]]), [1], { labelSmoothing: 0.2 });
    const want = -(0.1 * Math.log(0.25) + 0.9 * Math.log(0.75));
    assert.ok(Math.abs(loss - want) < 1e-15, `loss ${loss}, want ${want}`);
  });
  test('ignored positions have zero loss and zero gradient; an ignore index may be any integer', () => {
    const scores = randomTensor([4, 3], 71);
    for (const ignoreIndex of [-1, 1, 10, -(2 ** 40)]) {
      const labels = [0, ignoreIndex, 2, ignoreIndex];
      const r = softmaxCrossEntropyLoss(scores, labels, { ignoreIndex, reduction: 'none' });
      assert.equal(r.loss.data[1], 0);
      assert.equal(r.loss.data[3], 0);
      assert.deepEqual(values(r.dx).slice(3, 6), [0, 0, 0]);
      assert.deepEqual(values(r.dx).slice(9, 12), [0, 0, 0]);
    }
  });
  test('a mean over no position is NaN (as ONNX and PyTorch), with a zero gradient; sum is 0', () => {
    const scores = randomTensor([2, 3], 72);
    const mean = softmaxCrossEntropyLoss(scores, [1, 1], { ignoreIndex: 1 });
    assert.ok(Number.isNaN(mean.loss));
    assert.deepEqual(values(mean.dx), [0, 0, 0, 0, 0, 0]);
    assert.equal(softmaxCrossEntropyLoss(scores, [1, 1], { ignoreIndex: 1, reduction: 'sum' }).loss, 0);
  });
  test('large scores do not overflow (max subtracted)', () => {
    const { loss, logProb } = softmaxCrossEntropyLoss(tensor([[1000, 0], [0, 1000]]), [0, 0]);
    assert.ok(Math.abs(loss - 500) < 1e-9);
    assert.ok(values(logProb).every(Number.isFinite));
  });
  test('float32 scores give float32 dx, logProb and per-position losses', () => {
    const r = softmaxCrossEntropyLoss(randomTensor([2, 3, 2], 73, 'float32'), [0, 1, 2, 0], { reduction: 'none', weights: tensor([1, 2, 3], [3], 'float32') });
    assert.equal(r.dx.dtype, 'float32');
    assert.equal(r.logProb.dtype, 'float32');
    assert.equal(r.loss.dtype, 'float32');
    assert.deepEqual(r.loss.shape, [2, 2]);
  });
  test('empty batch: mean NaN, sum 0, none an empty tensor', () => {
    assert.ok(Number.isNaN(softmaxCrossEntropyLoss(zeros([0, 3]), []).loss));
    assert.equal(softmaxCrossEntropyLoss(zeros([0, 3]), [], { reduction: 'sum' }).loss, 0);
    assert.deepEqual(softmaxCrossEntropyLoss(zeros([2, 3, 0]), [], { reduction: 'none' }).loss.shape, [2, 0]);
  });
  test('labels may be an Int32Array', () => {
    const scores = randomTensor([3, 4], 74);
    assert.equal(softmaxCrossEntropyLoss(scores, Int32Array.from([0, 3, 2])).loss, softmaxCrossEntropyLoss(scores, [0, 3, 2]).loss);
  });
  test('does not change its inputs', () => {
    const scores = randomTensor([3, 4], 75);
    const weights = tensor([1, 2, 3, 4]);
    const before = [...values(scores), ...values(weights)];
    softmaxCrossEntropyLoss(scores, [0, 1, 2], { weights, labelSmoothing: 0.1 });
    assert.deepEqual([...values(scores), ...values(weights)], before);
  });
});

describe('softmaxCrossEntropyLoss: validation', () => {
  const fn = /softmaxCrossEntropyLoss/;
  const s = zeros([2, 3]);
  test('throws when scores are rank 1', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(zeros([3]), [0]), fn, /\(N, C\) or \(N, C, d1, …, dk\)/, /\[3\]/));
  test('throws when C is 0', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(zeros([2, 0]), [0, 0]), fn, /C >= 1/));
  test('throws when scores are not a tensor', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss({ shape: [2, 3] } as unknown as Tensor, [0, 0]), fn, /scores/));
  test('throws when there are too few labels', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [0]), fn, /one label per position \(N·d1·…·dk = 2\)/, /1 labels/));
  test('throws when per-pixel labels do not cover every position', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(zeros([2, 3, 2, 2]), [0, 1]), fn, /= 8\)/));
  test('throws when a label is out of range', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [0, 3]), fn, /labels in \[0, 3\)/, /labels\[1\] = 3/));
  test('throws when a label is out of range and not the ignore index, naming it', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [-1, 0], { ignoreIndex: -100 }), fn, /or equal to ignoreIndex \(-100\)/, /labels\[0\] = -1/));
  test('throws when a label is not an integer', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [0.5, 0]), fn, /labels\[0\] = 0.5/));
  test('throws when labels are not an array', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, 'ab' as unknown as number[]), fn, /Int32Array or number\[\]/));
  test('throws when a label is a string', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, ['0', 1] as unknown as number[]), fn, /labels\[0\] = "0"/));
  test('throws when ignoreIndex is not an integer', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [0, 0], { ignoreIndex: 1.5 }), fn, /ignoreIndex to be an integer/, /1.5/));
  for (const bad of [-0.1, 1.5, Number.NaN]) {
    test(`throws when labelSmoothing is ${bad}`, () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [0, 0], { labelSmoothing: bad }), fn, /labelSmoothing/));
  }
  test('throws on an unknown reduction', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [0, 0], { reduction: 'avg' as never }), fn, /'mean', 'sum' or 'none'/, /"avg"/));
  test('throws on an unknown option', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [0, 0], { weight: zeros([3]) } as never), fn, /options among/, /"weight"/));
  test('throws when options is not an object', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [0, 0], 'mean' as never), fn, /options/));
  test('throws when weights do not have C elements', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [0, 0], { weights: zeros([2]) }), fn, /weights of shape \[3\]/, /\[2\]/));
  test('throws when weights have the other dtype', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [0, 0], { weights: zeros([3], 'float32') }), fn, /weights/, /dtype/));
  test('throws when weights are not a tensor', () => assertThrowsConvnet(() => softmaxCrossEntropyLoss(s, [0, 0], { weights: [1, 2, 3] as unknown as Tensor }), fn, /weights/));
});
