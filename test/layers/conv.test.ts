import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradCheck } from '../../src/gradcheck.js';
import { convBackwardNaive, convForwardNaive, type ConvParam } from '../../src/layers/conv.js';
import { convBackward, convForward } from '../../src/layers/convFast.js';
import { clone, linspace, reshape, tensor, zeros, type Tensor } from '../../src/tensor.js';
import { assertGradients, assertTensorClose, assertThrowsConvnet, randomTensor } from '../helpers.js';

const gradCases: Array<{ name: string; x: number[]; w: number[]; param: ConvParam }> = [
  { name: 'x=[2,3,5,5] w=[3,3,3,3] stride 1 pad 1', x: [2, 3, 5, 5], w: [3, 3, 3, 3], param: { stride: 1, pad: 1 } },
  { name: 'x=[2,3,7,7] w=[4,3,3,3] stride 2 pad 0', x: [2, 3, 7, 7], w: [4, 3, 3, 3], param: { stride: 2, pad: 0 } },
  { name: 'x=[1,2,6,6] w=[2,2,3,3] stride 2 pad 2', x: [1, 2, 6, 6], w: [2, 2, 3, 3], param: { stride: 2, pad: 2 } },
  { name: 'non-square x=[2,2,5,7] w=[3,2,3,2] stride 1 pad 1', x: [2, 2, 5, 7], w: [3, 2, 3, 2], param: { pad: 1 } },
  { name: 'non-square x=[1,3,6,4] w=[2,3,2,3] stride [2,1] pad [1,0]', x: [1, 3, 6, 4], w: [2, 3, 2, 3], param: { stride: [2, 1], pad: [1, 0] } },
  { name: 'asymmetric pad [0,1,2,1] x=[1,2,5,6] w=[2,2,3,3]', x: [1, 2, 5, 6], w: [2, 2, 3, 3], param: { pad: [0, 1, 2, 1] } },
  { name: 'dilation 2 x=[1,2,7,6] w=[3,2,3,2] pad 1', x: [1, 2, 7, 6], w: [3, 2, 3, 2], param: { dilation: 2, pad: 1 } },
  { name: 'groups 2 x=[2,4,5,5] w=[6,2,3,3] pad 1', x: [2, 4, 5, 5], w: [6, 2, 3, 3], param: { groups: 2, pad: 1 } },
  { name: 'all at once x=[2,4,8,7] w=[4,2,3,2] stride [2,3] pad [1,2,0,1] dilation [2,1] groups 2', x: [2, 4, 8, 7], w: [4, 2, 3, 2], param: { stride: [2, 3], pad: [1, 2, 0, 1], dilation: [2, 1], groups: 2 } },
];

describe('convolution (naive): numerical gradients in float64', () => {
  for (const [k, c] of gradCases.entries()) {
    test(c.name, () => {
      const x = randomTensor(c.x, 10 + k);
      const w = randomTensor(c.w, 100 + k);
      const b = randomTensor([c.w[0]!], 1000 + k);
      const report = gradCheck({
        inputs: { x, w, b },
        forward: (i) => convForwardNaive(i.x!, i.w!, i.b!, c.param),
        backward: convBackwardNaive,
        seed: k,
      });
      assertGradients(report, 1e-7, c.name);
    });
  }
});

describe('convolution (naive): known values', () => {
  test("CS231n's conv_forward_naive fixture (x [2,3,4,4], w [3,3,4,4], stride 2, pad 1)", () => {
    const x = reshape(linspace(-0.1, 0.5, 2 * 3 * 4 * 4), [2, 3, 4, 4]);
    const w = reshape(linspace(-0.2, 0.3, 3 * 3 * 4 * 4), [3, 3, 4, 4]);
    const b = linspace(-0.1, 0.2, 3);
    const { out } = convForwardNaive(x, w, b, { stride: 2, pad: 1 });
    // The notebook's correct_out.
    const expected = [
      -0.08759809, -0.10987781, -0.18387192, -0.2109216, 0.21027089, 0.21661097, 0.22847626, 0.23004637,
      0.50813986, 0.54309974, 0.64082444, 0.67101435, -0.98053589, -1.03143541, -1.19128892, -1.24695841,
      0.69108355, 0.66880383, 0.59480972, 0.56776003, 2.36270298, 2.36904306, 2.38090835, 2.38247847,
    ];
    assert.deepEqual(out.shape, [2, 3, 2, 2]);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(out.data[i]! - expected[i]!) < 1e-7, `out[${i}] = ${out.data[i]}, want ${expected[i]}`);
  });

  test('cross-correlation, not convolution: the kernel is not flipped', () => {
    const x = tensor([[[[1, 2], [3, 4]]]]);
    const w = tensor([[[[1, 0], [0, 0]]]]);
    const { out } = convForwardNaive(x, w, zeros([1]));
    assert.deepEqual(Array.from(out.data), [1]);
  });

  test('float32 in, float32 out', () => {
    const x = randomTensor([1, 2, 5, 5], 1, 'float32');
    const w = randomTensor([3, 2, 3, 3], 2, 'float32');
    const b = randomTensor([3], 3, 'float32');
    const { out, cache } = convForwardNaive(x, w, b, { pad: 1 });
    assert.equal(out.dtype, 'float32');
    assert.ok(out.data instanceof Float32Array);
    const grads = convBackwardNaive(randomTensor(out.shape, 4, 'float32'), cache);
    for (const g of [grads.dx, grads.dw, grads.db]) assert.ok(g.data instanceof Float32Array);
  });
});

describe('convolution: traps from SEMANTICS.md', () => {
  test('trap: pad-2 conv backward uses the forward padding (dx has x shape and matches numerics)', () => {
    const x = randomTensor([1, 1, 4, 4], 5);
    const w = randomTensor([1, 1, 3, 3], 6);
    const b = zeros([1]);
    const { cache } = convForwardNaive(x, w, b, { pad: 2 });
    const { dx } = convBackwardNaive(randomTensor([1, 1, 6, 6], 7), cache);
    assert.deepEqual(dx.shape, [1, 1, 4, 4]);
    const report = gradCheck({ inputs: { x }, forward: (i) => convForwardNaive(i.x!, w, b, { pad: 2 }), backward: (d, c) => convBackwardNaive(d, c).dx });
    assertGradients(report, 1e-7);
  });

  test('trap: a 5x7 input with a 3x2 kernel gives a 3x6 output (sizes per axis, not from the width alone)', () => {
    const x = randomTensor([1, 1, 5, 7], 8);
    const w = randomTensor([1, 1, 3, 2], 9);
    const { out } = convForwardNaive(x, w, zeros([1]));
    assert.deepEqual(out.shape, [1, 1, 3, 6]);
    const report = gradCheck({
      inputs: { x, w },
      forward: (i) => convForwardNaive(i.x!, i.w!, zeros([1])),
      backward: (d, c) => convBackwardNaive(d, c),
    });
    assertGradients(report, 1e-7);
  });

  test('trap: dw is dout·x, not w·x', () => {
    // With w = 0 a w·x formula gives dw = 0; the true dw is Σ dout·x.
    const x = tensor([[[[1, 2], [3, 4]]]]);
    const w = zeros([1, 1, 1, 1]);
    const { cache } = convForwardNaive(x, w, zeros([1]));
    const { dw } = convBackwardNaive(tensor([[[[1, 1], [1, 1]]]]), cache);
    assert.deepEqual(Array.from(dw.data), [10]);
  });

  test('trap: overlapping windows accumulate into dx (+=, not =)', () => {
    // 1x3 input, 1x2 kernel of ones, stride 1: the middle cell is in both windows.
    const x = tensor([[[[1, 2, 3]]]]);
    const w = tensor([[[[1, 1]]]]);
    const { cache } = convForwardNaive(x, w, zeros([1]));
    const { dx } = convBackwardNaive(tensor([[[[1, 1]]]]), cache);
    assert.deepEqual(Array.from(dx.data), [1, 2, 1]);
  });

  test("trap: the caller's input is neither padded nor modified", () => {
    const x = randomTensor([1, 2, 4, 5], 11);
    const w = randomTensor([2, 2, 3, 3], 12);
    const b = randomTensor([2], 13);
    const [x0, w0, b0] = [clone(x), clone(w), clone(b)];
    const { out, cache } = convForwardNaive(x, w, b, { pad: [1, 2, 0, 1], stride: 2 });
    convBackwardNaive(randomTensor(out.shape, 14), cache);
    gradCheck({ inputs: { x, w, b }, forward: (i) => convForwardNaive(i.x!, i.w!, i.b!, { pad: 1 }), backward: convBackwardNaive });
    assertTensorClose(x, x0, 0);
    assertTensorClose(w, w0, 0);
    assertTensorClose(b, b0, 0);
    assert.deepEqual(cache.x.shape, [1, 2, 4, 5]);
  });
});

describe('convolution: padding taps are zero terms, as in PyTorch (0 · ±∞ = NaN)', () => {
  // x [1,1,1,1] = [1], w [1,1,1,1] = [∞], pad 1: the centre window is ∞ · 1; the eight others
  // see only padding, ∞ · 0 = NaN (the naive layer skipped those terms and gave 0; the fast layer's
  // im2col + GEMM and PyTorch give NaN).
  const x = tensor([1], [1, 1, 1, 1]);
  const w = tensor([Infinity], [1, 1, 1, 1]);
  const b = tensor([0], [1]);
  const want = [NaN, NaN, NaN, NaN, Infinity, NaN, NaN, NaN, NaN];

  test('forward, naive and fast alike', () => {
    for (const forward of [convForwardNaive, convForward]) {
      const { out } = forward(x, w, b, { pad: 1 });
      assert.deepEqual(out.shape, [1, 1, 3, 3]);
      assert.deepEqual(Array.from(out.data), want, forward.name);
    }
  });

  test('backward: dw gets dout · 0 from the padding (NaN for an infinite dout), naive and fast alike', () => {
    const dout = tensor([Infinity, 0, 0, 0, 1, 0, 0, 0, 0], [1, 1, 3, 3]);
    const { cache } = convForwardNaive(tensor([1], [1, 1, 1, 1]), tensor([2], [1, 1, 1, 1]), b, { pad: 1 });
    for (const backward of [convBackwardNaive, convBackward]) {
      const { dx, dw, db } = backward(dout, cache);
      assert.deepEqual([Array.from(dx.data), Array.from(dw.data), Array.from(db.data)], [[2], [NaN], [Infinity]], backward.name);
    }
    const finite = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    assert.deepEqual(Array.from(convBackwardNaive(finite, cache).dw.data), [5], 'finite dout: the padding adds nothing');
  });
});

describe('convolution: bad input throws ConvnetError naming the function', () => {
  const x = zeros([2, 4, 5, 5]);
  const w = zeros([6, 2, 3, 3]);
  const b = zeros([6]);
  const cases: Array<[string, () => unknown, RegExp[]]> = [
    ['throws when x is not rank 4', () => convForwardNaive(zeros([4, 5, 5]), w, b), [/convForwardNaive/, /x of rank 4/, /\[4, 5, 5\]/]],
    ['throws when w is not rank 4', () => convForwardNaive(x, zeros([6, 4, 3]), b), [/w of rank 4/]],
    ['throws when channels mismatch', () => convForwardNaive(x, zeros([6, 3, 3, 3]), b), [/convForwardNaive/, /4 input channels/, /\[6, 3, 3, 3\]/]],
    ['throws when groups do not divide C', () => convForwardNaive(x, zeros([6, 1, 3, 3]), b, { groups: 3 }), [/groups to divide both C and F/, /groups 3/]],
    ['throws when groups do not divide F', () => convForwardNaive(x, zeros([5, 2, 3, 3]), zeros([5]), { groups: 2 }), [/groups to divide both C and F/, /F 5/]],
    ['throws when b has the wrong length', () => convForwardNaive(x, zeros([6, 4, 3, 3]), zeros([5])), [/b of shape \[6\]/, /\[5\]/]],
    ['throws when the kernel is larger than the padded input', () => convForwardNaive(x, zeros([6, 4, 7, 3]), b), [/larger than the padded input/, /height/]],
    ['throws on negative padding', () => convForwardNaive(x, zeros([6, 4, 3, 3]), b, { pad: -1 }), [/convParam.pad/, /-1/]],
    ['throws on non-integer stride', () => convForwardNaive(x, zeros([6, 4, 3, 3]), b, { stride: 1.5 }), [/convParam.stride/, /1.5/]],
    ['throws on zero stride', () => convForwardNaive(x, zeros([6, 4, 3, 3]), b, { stride: 0 }), [/convParam.stride/]],
    ['throws on NaN dilation', () => convForwardNaive(x, zeros([6, 4, 3, 3]), b, { dilation: Number.NaN }), [/convParam.dilation/, /NaN/]],
    ['throws on a 3-element pad', () => convForwardNaive(x, zeros([6, 4, 3, 3]), b, { pad: [1, 1, 1] as unknown as number }), [/top, left, bottom, right/]],
    ['throws on mixed dtypes', () => convForwardNaive(zeros([2, 4, 5, 5], 'float32'), zeros([6, 4, 3, 3]), b), [/dtype/, /float32/, /float64/]],
    ['throws when dout has the wrong shape', () => convBackwardNaive(zeros([2, 6, 4, 4]), convForwardNaive(x, zeros([6, 4, 3, 3]), b).cache), [/convBackwardNaive/, /dout of shape \[2, 6, 3, 3\]/]],
    ['throws when dout has the wrong dtype', () => convBackwardNaive(zeros([2, 6, 3, 3], 'float32'), convForwardNaive(x, zeros([6, 4, 3, 3]), b).cache), [/dout of dtype float64/]],
    ['throws on a bogus cache', () => convBackwardNaive(zeros([1]), {} as never), [/convBackwardNaive/, /cache/]],
    ['throws when x is not a tensor', () => convForwardNaive([1, 2, 3] as unknown as Tensor, w, b), [/x to be a tensor/]],
    ['throws when the shape does not match the data', () => convForwardNaive({ shape: [2, 4, 5, 6], data: new Float64Array(200), dtype: 'float64' }, w, b), [/x.shape to describe its 200 values/]],
  ];
  for (const [name, fn, patterns] of cases) test(name, () => assertThrowsConvnet(fn, ...patterns));
});
