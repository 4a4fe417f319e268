import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradCheck } from '../../src/gradcheck.js';
import { convBackwardNaive, convForwardNaive } from '../../src/layers/conv.js';
import { convTransposeBackwardNaive, convTransposeForwardNaive, type ConvTransposeParam } from '../../src/layers/convTranspose.js';
import { clone, tensor, zeros, type Tensor } from '../../src/tensor.js';
import { assertGradients, assertTensorClose, assertThrowsConvnet, randomTensor } from '../helpers.js';

interface GradCase {
  name: string;
  /** x: (N, C, H, W) */
  x: number[];
  /** w: (C, F / groups, HH, WW) */
  w: number[];
  param: ConvTransposeParam;
}

const gradCases: GradCase[] = [
  { name: 'x=[2,3,4,4] w=[3,2,3,3] stride 1 pad 1', x: [2, 3, 4, 4], w: [3, 2, 3, 3], param: { stride: 1, pad: 1 } },
  { name: 'x=[2,2,3,3] w=[2,3,3,3] stride 2 no pad', x: [2, 2, 3, 3], w: [2, 3, 3, 3], param: { stride: 2 } },
  { name: 'non-square x=[2,2,3,5] w=[2,3,3,3] stride 2 pad 1 outputPadding 1', x: [2, 2, 3, 5], w: [2, 3, 3, 3], param: { stride: 2, pad: 1, outputPadding: 1 } },
  { name: 'non-square kernel x=[1,3,4,3] w=[3,2,2,3] stride [2,1] pad [1,0] outputPadding [1,0]', x: [1, 3, 4, 3], w: [3, 2, 2, 3], param: { stride: [2, 1], pad: [1, 0], outputPadding: [1, 0] } },
  { name: 'asymmetric pad [0,1,2,1] x=[1,2,4,5] w=[2,2,3,3] stride 2', x: [1, 2, 4, 5], w: [2, 2, 3, 3], param: { stride: 2, pad: [0, 1, 2, 1] } },
  { name: 'dilation 2 x=[1,2,4,3] w=[2,3,3,2] pad 1', x: [1, 2, 4, 3], w: [2, 3, 3, 2], param: { dilation: 2, pad: 1 } },
  { name: 'dilation 2 stride 1 outputPadding 1 (below the dilation) x=[1,2,3,4] w=[2,2,2,2]', x: [1, 2, 3, 4], w: [2, 2, 2, 2], param: { dilation: 2, outputPadding: 1 } },
  { name: 'groups 2 x=[2,4,3,3] w=[4,3,3,3] stride 2 pad 1', x: [2, 4, 3, 3], w: [4, 3, 3, 3], param: { groups: 2, stride: 2, pad: 1 } },
  { name: 'groups 3 depthwise x=[1,3,4,4] w=[3,1,2,2] stride 2', x: [1, 3, 4, 4], w: [3, 1, 2, 2], param: { groups: 3, stride: 2 } },
  {
    name: 'all at once x=[2,4,3,4] w=[4,2,3,2] stride [2,3] pad [1,2,0,1] outputPadding [1,2] dilation [2,1] groups 2',
    x: [2, 4, 3, 4],
    w: [4, 2, 3, 2],
    param: { stride: [2, 3], pad: [1, 2, 0, 1], outputPadding: [1, 2], dilation: [2, 1], groups: 2 },
  },
];

describe('transposed convolution (naive): numerical gradients in float64', () => {
  for (const [k, c] of gradCases.entries()) {
    test(c.name, () => {
      const x = randomTensor(c.x, 10 + k);
      const w = randomTensor(c.w, 100 + k);
      const groups = c.param.groups ?? 1;
      const b = randomTensor([c.w[1]! * groups], 1000 + k);
      const report = gradCheck({
        inputs: { x, w, b },
        forward: (i) => convTransposeForwardNaive(i.x!, i.w!, i.b!, c.param),
        backward: convTransposeBackwardNaive,
        seed: k,
      });
      assertGradients(report, 1e-7, c.name);
      assert.equal(report.entries.length, 3);
    });
  }
});

describe('transposed convolution (naive): known values', () => {
  test('stride 1: [1, 2] with kernel [1, 1] gives [1, 3, 2] (overlaps add)', () => {
    const { out } = convTransposeForwardNaive(tensor([[[[1, 2]]]]), tensor([[[[1, 1]]]]), zeros([1]));
    assert.deepEqual(out.shape, [1, 1, 1, 3]);
    assert.deepEqual(Array.from(out.data), [1, 3, 2]);
  });

  test('stride 2 with a 2×2 kernel tiles scaled copies of the kernel (no flip), plus the bias', () => {
    const x = tensor([[[[1, 2], [3, 4]]]]);
    const w = tensor([[[[1, 2], [3, 4]]]]);
    const { out } = convTransposeForwardNaive(x, w, tensor([10]), { stride: 2 });
    assert.deepEqual(out.shape, [1, 1, 4, 4]);
    // prettier-ignore
    assert.deepEqual(Array.from(out.data), [
      11, 12, 12, 14,
      13, 14, 16, 18,
      13, 16, 14, 18,
      19, 22, 22, 26,
    ]);
  });

  test('pad crops the full output; outputPadding adds a bottom row and right column', () => {
    const x = tensor([[[[1, 2], [3, 4]]]]);
    const w = tensor([[[[1, 1], [1, 1]]]]);
    const full = convTransposeForwardNaive(x, w, zeros([1]), { stride: 2 }).out; // 4×4
    const cropped = convTransposeForwardNaive(x, w, zeros([1]), { stride: 2, pad: [1, 1, 0, 0] }).out;
    assert.deepEqual(cropped.shape, [1, 1, 3, 3]);
    assert.deepEqual(Array.from(cropped.data), [1, 2, 2, 3, 4, 4, 3, 4, 4]);
    const padded = convTransposeForwardNaive(x, w, zeros([1]), { stride: 2, outputPadding: 1 }).out;
    assert.deepEqual(padded.shape, [1, 1, 5, 5]);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        const want = i < 4 && j < 4 ? full.data[i * 4 + j]! : 0;
        assert.equal(padded.data[i * 5 + j], want, `(${i}, ${j})`);
      }
    }
  });

  test('groups: each group of input channels writes only its own output channels', () => {
    // Two groups, one channel each in and out: channel 0 → output 0 (×1), channel 1 → output 1 (×2).
    const x = tensor([[[[1]], [[5]]]]);
    const w = tensor([[[[1]]], [[[2]]]]);
    const { out } = convTransposeForwardNaive(x, w, zeros([2]), { groups: 2 });
    assert.deepEqual(Array.from(out.data), [1, 10]);
  });

  test('float32 in, float32 out', () => {
    const x = randomTensor([1, 2, 3, 3], 1, 'float32');
    const w = randomTensor([2, 3, 3, 3], 2, 'float32');
    const b = randomTensor([3], 3, 'float32');
    const { out, cache } = convTransposeForwardNaive(x, w, b, { stride: 2, pad: 1, outputPadding: 1 });
    assert.equal(out.dtype, 'float32');
    assert.ok(out.data instanceof Float32Array);
    assert.deepEqual(out.shape, [1, 3, 6, 6]);
    const grads = convTransposeBackwardNaive(randomTensor(out.shape, 4, 'float32'), cache);
    for (const g of [grads.dx, grads.dw, grads.db]) assert.ok(g.data instanceof Float32Array);
  });
});

describe('transposed convolution is the adjoint of convolution (an independent oracle)', () => {
  // convTranspose(x; w) with zero bias is conv's dx for dout = x and a conv weight w read as
  // (F_conv = C, C_conv / groups = F / groups, HH, WW); and convTranspose's dx is conv's forward of dout.
  const cases: GradCase[] = [
    gradCases[2]!,
    gradCases[3]!,
    gradCases[4]!,
    gradCases[5]!,
    gradCases[7]!,
    gradCases[9]!,
  ];
  for (const [k, c] of cases.entries()) {
    test(c.name, () => {
      const groups = c.param.groups ?? 1;
      const F = c.w[1]! * groups;
      const x = randomTensor(c.x, 50 + k);
      const w = randomTensor(c.w, 60 + k);
      const { out, cache } = convTransposeForwardNaive(x, w, zeros([F]), c.param);
      const convParam = { stride: c.param.stride, pad: c.param.pad, dilation: c.param.dilation, groups };
      const y = randomTensor(out.shape, 70 + k);
      const conv = convForwardNaive(y, w, zeros([c.w[0]!]), convParam);
      assert.deepEqual(conv.out.shape, c.x, 'conv maps the transposed output size back to the input size');
      const viaConv = convBackwardNaive(x, conv.cache).dx;
      assertTensorClose(out, viaConv, 1e-12);
      assertTensorClose(convTransposeBackwardNaive(y, cache).dx, conv.out, 1e-12);
    });
  }
});

describe('transposed convolution: traps', () => {
  test("the caller's inputs are not modified, and the cache holds them as given", () => {
    const x = randomTensor([1, 2, 4, 5], 11);
    const w = randomTensor([2, 2, 3, 3], 12);
    const b = randomTensor([2], 13);
    const [x0, w0, b0] = [clone(x), clone(w), clone(b)];
    const { out, cache } = convTransposeForwardNaive(x, w, b, { pad: [1, 2, 0, 1], stride: 2, outputPadding: 1 });
    convTransposeBackwardNaive(randomTensor(out.shape, 14), cache);
    assertTensorClose(x, x0, 0);
    assertTensorClose(w, w0, 0);
    assertTensorClose(b, b0, 0);
    assert.equal(cache.x, x);
  });

  test('dw is dout·x, not w·x (w = 0 still has a gradient)', () => {
    const x = tensor([[[[1, 2], [3, 4]]]]);
    const { cache } = convTransposeForwardNaive(x, zeros([1, 1, 1, 1]), zeros([1]));
    const { dw, db } = convTransposeBackwardNaive(tensor([[[[1, 1], [1, 1]]]]), cache);
    assert.deepEqual(Array.from(dw.data), [10]);
    assert.deepEqual(Array.from(db.data), [4]);
  });

  test('outputs that receive several kernel taps accumulate (+=) in forward and backward', () => {
    const x = tensor([[[[1, 2, 3]]]]);
    const w = tensor([[[[1, 1, 1]]]]);
    const { out, cache } = convTransposeForwardNaive(x, w, zeros([1]));
    assert.deepEqual(Array.from(out.data), [1, 3, 6, 5, 3]);
    const { dx } = convTransposeBackwardNaive(tensor([[[[1, 1, 1, 1, 1]]]]), cache);
    assert.deepEqual(Array.from(dx.data), [3, 3, 3]);
  });

  test('output size per axis: x (1, 1, 3, 5), w 3×2, stride [2, 3], pad [1, 0], outputPadding [1, 2] → (1, 1, 6, 16)', () => {
    // Ho = 2·2 − 2 + 2 + 1 + 1 = 6;  Wo = 4·3 − 0 + 1 + 2 + 1 = 16
    const { out } = convTransposeForwardNaive(randomTensor([1, 1, 3, 5], 1), randomTensor([1, 1, 3, 2], 2), zeros([1]), { stride: [2, 3], pad: [1, 0], outputPadding: [1, 2] });
    assert.deepEqual(out.shape, [1, 1, 6, 16]);
  });
});

describe('transposed convolution: bad input throws ConvnetError naming the function', () => {
  const x = zeros([2, 4, 3, 3]);
  const w = zeros([4, 3, 3, 3]);
  const b = zeros([3]);
  const cache = () => convTransposeForwardNaive(x, w, b).cache; // out (2, 3, 5, 5)
  const cases: Array<[string, () => unknown, RegExp[]]> = [
    ['throws when x is not rank 4', () => convTransposeForwardNaive(zeros([4, 3, 3]), w, b), [/convTransposeForwardNaive/, /x of rank 4/, /\[4, 3, 3\]/]],
    ['throws when w is not rank 4', () => convTransposeForwardNaive(x, zeros([4, 3, 3]), b), [/w of rank 4/]],
    ['throws when b is not rank 1', () => convTransposeForwardNaive(x, w, zeros([1, 3])), [/b of rank 1/]],
    ['throws when w has a row count other than C', () => convTransposeForwardNaive(x, zeros([3, 4, 3, 3]), zeros([4])), [/convTransposeForwardNaive/, /w to have 4 rows/, /\[3, 4, 3, 3\]/]],
    ['throws when groups do not divide C', () => convTransposeForwardNaive(x, w, zeros([9]), { groups: 3 }), [/groups to divide C/, /groups 3/, /C 4/]],
    ['throws when b has the wrong length', () => convTransposeForwardNaive(x, w, zeros([4])), [/b of shape \[3\]/, /\[4\]/]],
    ['throws when b is not F = w.shape[1]·groups long', () => convTransposeForwardNaive(x, w, b, { groups: 2 }), [/b of shape \[6\]/, /3·2/]],
    ['throws when the padding crops the whole output', () => convTransposeForwardNaive(x, w, b, { pad: 3 }), [/output height of at least 1/, /got -1/]],
    ['throws when outputPadding is not below the stride or the dilation', () => convTransposeForwardNaive(x, w, b, { stride: 2, outputPadding: 2 }), [/outputPadding to be smaller than the stride or the dilation/, /output padding 2 along the height with stride 2 and dilation 1/]],
    ['throws when outputPadding is used with stride 1 and dilation 1', () => convTransposeForwardNaive(x, w, b, { outputPadding: [0, 1] }), [/along the width with stride 1 and dilation 1/]],
    ['throws on negative outputPadding', () => convTransposeForwardNaive(x, w, b, { outputPadding: -1 }), [/convTransposeParam.outputPadding/, /-1/]],
    ['throws on a 3-element outputPadding', () => convTransposeForwardNaive(x, w, b, { outputPadding: [1, 1, 1] as unknown as number }), [/convTransposeParam.outputPadding/]],
    ['throws on negative padding', () => convTransposeForwardNaive(x, w, b, { pad: -1 }), [/convTransposeParam.pad/, /-1/]],
    ['throws on non-integer stride', () => convTransposeForwardNaive(x, w, b, { stride: 1.5 }), [/convTransposeParam.stride/, /1.5/]],
    ['throws on zero stride', () => convTransposeForwardNaive(x, w, b, { stride: 0 }), [/convTransposeParam.stride/]],
    ['throws on NaN dilation', () => convTransposeForwardNaive(x, w, b, { dilation: Number.NaN }), [/convTransposeParam.dilation/, /NaN/]],
    ['throws on zero groups', () => convTransposeForwardNaive(x, w, b, { groups: 0 }), [/convTransposeParam.groups/]],
    ['throws when the param is not an object', () => convTransposeForwardNaive(x, w, b, 3 as never), [/convTransposeParam to be an object/]],
    ['throws on an output too large to allocate', () => convTransposeForwardNaive(x, w, b, { stride: 2 ** 20 }), [/convTransposeForwardNaive/, /at most 2\^31 − 1 elements/]],
    ['throws on empty x', () => convTransposeForwardNaive(zeros([0, 4, 3, 3]), w, b), [/non-empty x and w/]],
    ['throws on mixed dtypes', () => convTransposeForwardNaive(zeros([2, 4, 3, 3], 'float32'), w, b), [/dtype/, /float32/, /float64/]],
    ['throws when x is not a tensor', () => convTransposeForwardNaive([1, 2, 3] as unknown as Tensor, w, b), [/x to be a tensor/]],
    ['throws when dout has the wrong shape', () => convTransposeBackwardNaive(zeros([2, 3, 4, 5]), cache()), [/convTransposeBackwardNaive/, /dout of shape \[2, 3, 5, 5\]/]],
    ['throws when dout has the wrong dtype', () => convTransposeBackwardNaive(zeros([2, 3, 5, 5], 'float32'), cache()), [/dout of dtype float64/]],
    ['throws on a bogus cache', () => convTransposeBackwardNaive(zeros([1]), {} as never), [/convTransposeBackwardNaive/, /cache/]],
  ];
  for (const [name, fn, patterns] of cases) test(name, () => assertThrowsConvnet(fn, ...patterns));
});
