import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradCheck } from '../../src/gradcheck.js';
import { upsampleBackward, upsampleForward, type UpsampleParam } from '../../src/layers/upsample.js';
import { clone, tensor, zeros, type Tensor } from '../../src/tensor.js';
import { assertClose, assertGradients, assertTensorClose, assertThrowsConvnet, randomTensor } from '../helpers.js';

const gradCases: Array<{ name: string; x: number[]; param: UpsampleParam }> = [
  { name: 'nearest scaleFactor 2 on (2, 3, 3, 4)', x: [2, 3, 3, 4], param: { mode: 'nearest', scaleFactor: 2 } },
  { name: 'nearest scaleFactor [3, 1] on (1, 2, 2, 3)', x: [1, 2, 2, 3], param: { mode: 'nearest', scaleFactor: [3, 1] } },
  { name: 'nearest size [5, 7] on (1, 2, 3, 4) (non-integer ratios)', x: [1, 2, 3, 4], param: { mode: 'nearest', size: [5, 7] } },
  { name: 'nearest size [2, 3] on (1, 1, 5, 7) (downsampling)', x: [1, 1, 5, 7], param: { size: [2, 3] } },
  { name: 'bilinear scaleFactor 2 on (2, 2, 3, 4)', x: [2, 2, 3, 4], param: { mode: 'bilinear', scaleFactor: 2 } },
  { name: 'bilinear scaleFactor 2 alignCorners on (2, 2, 3, 4)', x: [2, 2, 3, 4], param: { mode: 'bilinear', scaleFactor: 2, alignCorners: true } },
  { name: 'bilinear scaleFactor [1.5, 2.5] on (1, 2, 5, 3)', x: [1, 2, 5, 3], param: { mode: 'bilinear', scaleFactor: [1.5, 2.5] } },
  { name: 'bilinear size [7, 4] on (1, 2, 3, 5)', x: [1, 2, 3, 5], param: { mode: 'bilinear', size: [7, 4] } },
  { name: 'bilinear size [7, 4] alignCorners on (1, 2, 3, 5)', x: [1, 2, 3, 5], param: { mode: 'bilinear', size: [7, 4], alignCorners: true } },
  { name: 'bilinear size [1, 3] alignCorners on (1, 1, 4, 4) (one output row)', x: [1, 1, 4, 4], param: { mode: 'bilinear', size: [1, 3], alignCorners: true } },
];

describe('upsample: numerical gradients in float64', () => {
  for (const [k, c] of gradCases.entries()) {
    test(c.name, () => {
      const x = randomTensor(c.x, 30 + k);
      const report = gradCheck({
        inputs: { x },
        forward: (i) => upsampleForward(i.x!, c.param),
        backward: (dout, cache) => upsampleBackward(dout, cache),
        seed: k,
      });
      assertGradients(report, 1e-7, c.name);
    });
  }
});

/** (1, 1, H, W) from rows. */
const plane = (rows: number[][]): Tensor => tensor([[rows]]);

describe("upsample: PyTorch's documented values", () => {
  // The examples of torch.nn.Upsample's documentation (printed to 4 decimals there).
  const input = plane([[1, 2], [3, 4]]);
  const input3 = plane([[1, 2, 0], [3, 4, 0], [0, 0, 0]]);

  test("nearest, scale_factor=2 on [[1, 2], [3, 4]]", () => {
    const { out } = upsampleForward(input, { mode: 'nearest', scaleFactor: 2 });
    assert.deepEqual(out.shape, [1, 1, 4, 4]);
    assert.deepEqual(Array.from(out.data), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });

  test("bilinear, scale_factor=2, align_corners=False on [[1, 2], [3, 4]]", () => {
    const { out } = upsampleForward(input, { mode: 'bilinear', scaleFactor: 2 });
    // prettier-ignore
    assertClose(out.data, [
      1.0, 1.25, 1.75, 2.0,
      1.5, 1.75, 2.25, 2.5,
      2.5, 2.75, 3.25, 3.5,
      3.0, 3.25, 3.75, 4.0,
    ], 1e-12, 'out');
  });

  test("bilinear, scale_factor=2, align_corners=True on [[1, 2], [3, 4]]", () => {
    const { out } = upsampleForward(input, { mode: 'bilinear', scaleFactor: 2, alignCorners: true });
    // prettier-ignore
    assertClose(out.data, [
      1.0, 1.3333, 1.6667, 2.0,
      1.6667, 2.0, 2.3333, 2.6667,
      2.3333, 2.6667, 3.0, 3.3333,
      3.0, 3.3333, 3.6667, 4.0,
    ], 5e-5, 'out');
  });

  test("bilinear, scale_factor=2, align_corners=False on the 3×3 input with [[1, 2], [3, 4]] in its corner", () => {
    const { out } = upsampleForward(input3, { mode: 'bilinear', scaleFactor: 2 });
    // prettier-ignore
    assertClose(out.data, [
      1.0, 1.25, 1.75, 1.5, 0.5, 0.0,
      1.5, 1.75, 2.25, 1.875, 0.625, 0.0,
      2.5, 2.75, 3.25, 2.625, 0.875, 0.0,
      2.25, 2.4375, 2.8125, 2.25, 0.75, 0.0,
      0.75, 0.8125, 0.9375, 0.75, 0.25, 0.0,
      0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ], 1e-12, 'out');
  });

  test("bilinear, scale_factor=2, align_corners=True on the same 3×3 input", () => {
    const { out } = upsampleForward(input3, { mode: 'bilinear', scaleFactor: 2, alignCorners: true });
    // prettier-ignore
    assertClose(out.data, [
      1.0, 1.4, 1.8, 1.6, 0.8, 0.0,
      1.8, 2.2, 2.6, 2.24, 1.12, 0.0,
      2.6, 3.0, 3.4, 2.88, 1.44, 0.0,
      2.4, 2.72, 3.04, 2.56, 1.28, 0.0,
      1.2, 1.36, 1.52, 1.28, 0.64, 0.0,
      0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    ], 1e-12, 'out');
  });
});

describe('upsample: hand-checked cases of the formulas (PyTorch semantics)', () => {
  const ramp = (n: number): Tensor => plane([Array.from({ length: n }, (_, i) => i)]);

  test('nearest with size: floor(d · in / out), 3 → 5 reads [0, 0, 1, 1, 2]; 5 → 2 reads [0, 2]', () => {
    assert.deepEqual(Array.from(upsampleForward(ramp(3), { size: [1, 5] }).out.data), [0, 0, 1, 1, 2]);
    assert.deepEqual(Array.from(upsampleForward(ramp(5), { size: [1, 2] }).out.data), [0, 2]);
    // 'nearest' (not 'nearest-exact'): 4 → 3 reads floor([0, 1.33, 2.67]) = [0, 1, 2]
    assert.deepEqual(Array.from(upsampleForward(ramp(4), { size: [1, 3] }).out.data), [0, 1, 2]);
  });

  test('bilinear with a scale factor uses 1 / scaleFactor, not in / out: 5 × 1.5 → 7 samples at (d + 0.5)·2/3 − 0.5', () => {
    const { out } = upsampleForward(ramp(5), { mode: 'bilinear', scaleFactor: [1, 1.5] });
    assert.deepEqual(out.shape, [1, 1, 1, 7]);
    // On a ramp the output is the (clamped) source coordinate itself. With in/out = 5/7 the last
    // would be 4 (6.5·5/7 − 0.5 = 4.14, clamped); with 2/3 it is 3.8333.
    assertClose(out.data, [0, 0.5, 7 / 6, 11 / 6, 2.5, 19 / 6, 23 / 6], 1e-12, 'out');
  });

  test('bilinear with size uses in / out; the source coordinate is clamped at 0 (align_corners=False)', () => {
    // 2 → 5: scale 0.4; src = [−0.3 → 0, 0.1, 0.5, 0.9, 1.3 → index 1 with both taps at 1]
    const { out } = upsampleForward(plane([[10, 20]]), { mode: 'bilinear', size: [1, 5] });
    assertClose(out.data, [10, 11, 15, 19, 20], 1e-12, 'out');
  });

  test('bilinear with alignCorners maps corners to corners: 3 → 5 samples at d · 2/4', () => {
    const { out } = upsampleForward(plane([[0, 10, 40]]), { mode: 'bilinear', size: [1, 5], alignCorners: true });
    assertClose(out.data, [0, 5, 10, 25, 40], 1e-12, 'out');
  });

  test('backward spreads dout with the forward weights (nearest: each input gets its copies\' sum)', () => {
    const x = plane([[1, 2], [3, 4]]);
    const nearest = upsampleForward(x, { scaleFactor: 2 });
    assert.deepEqual(Array.from(upsampleBackward(tensor([[Array.from({ length: 4 }, () => [1, 1, 1, 1])]]), nearest.cache).data), [4, 4, 4, 4]);
    const bilinear = upsampleForward(x, { mode: 'bilinear', scaleFactor: 2 });
    // Weights along an axis of 2 → 4: output 0 = in 0; 1 = .75/.25; 2 = .25/.75; 3 = in 1. Sums per input: 2, 2.
    assert.deepEqual(Array.from(upsampleBackward(tensor([[Array.from({ length: 4 }, () => [1, 1, 1, 1])]]), bilinear.cache).data), [4, 4, 4, 4]);
  });

  test('float32 in, float32 out; infinities in nearest mode are copied, not turned into NaN', () => {
    const x = randomTensor([1, 2, 3, 3], 1, 'float32');
    for (const param of [{ scaleFactor: 2 }, { mode: 'bilinear', scaleFactor: 1.5 }] as UpsampleParam[]) {
      const { out, cache } = upsampleForward(x, param);
      assert.ok(out.data instanceof Float32Array);
      assert.ok(upsampleBackward(randomTensor(out.shape, 2, 'float32'), cache).data instanceof Float32Array);
    }
    const inf = plane([[Infinity, 1]]);
    assert.deepEqual(Array.from(upsampleForward(inf, { scaleFactor: 2 }).out.data), [Infinity, Infinity, 1, 1, Infinity, Infinity, 1, 1]);
  });

  test("the caller's input is not modified", () => {
    const x = randomTensor([2, 2, 3, 4], 5);
    const x0 = clone(x);
    const { out, cache } = upsampleForward(x, { mode: 'bilinear', size: [5, 9], alignCorners: true });
    upsampleBackward(randomTensor(out.shape, 6), cache);
    assertTensorClose(x, x0, 0);
  });
});

describe('upsample: bad input throws ConvnetError naming the function', () => {
  const x = zeros([2, 3, 4, 4]);
  const cases: Array<[string, () => unknown, RegExp[]]> = [
    ['throws when x is not rank 4', () => upsampleForward(zeros([3, 4, 4]), { scaleFactor: 2 }), [/upsampleForward/, /x of rank 4/]],
    ['throws when x is empty', () => upsampleForward(zeros([0, 3, 4, 4]), { scaleFactor: 2 }), [/non-empty x/]],
    ['throws when the param is not an object', () => upsampleForward(x, undefined as never), [/upsampleParam to be an object/]],
    ['throws on an unknown option', () => upsampleForward(x, { scale: 2 } as never), [/options among mode, scaleFactor, size, alignCorners/, /"scale"/]],
    ['throws on an unknown mode', () => upsampleForward(x, { mode: 'bicubic' as never, scaleFactor: 2 }), [/mode 'nearest' or 'bilinear'/, /"bicubic"/]],
    ['throws with neither scaleFactor nor size', () => upsampleForward(x, { mode: 'nearest' }), [/exactly one of upsampleParam.scaleFactor and upsampleParam.size/, /neither/]],
    ['throws with both scaleFactor and size', () => upsampleForward(x, { scaleFactor: 2, size: [8, 8] }), [/exactly one/, /both/]],
    ['throws on a non-integer nearest scale factor', () => upsampleForward(x, { scaleFactor: 1.5 }), [/scaleFactor to be an integer >= 1 \(mode 'nearest'\)/, /1.5/]],
    ['throws on a zero nearest scale factor', () => upsampleForward(x, { scaleFactor: [2, 0] }), [/scaleFactor/, /\[2, 0\]/]],
    ['throws on a negative bilinear scale factor', () => upsampleForward(x, { mode: 'bilinear', scaleFactor: -2 }), [/finite number > 0 \(mode 'bilinear'\)/, /-2/]],
    ['throws on an infinite bilinear scale factor', () => upsampleForward(x, { mode: 'bilinear', scaleFactor: Infinity }), [/finite number > 0/]],
    ['throws when the scale factor leaves no output', () => upsampleForward(x, { mode: 'bilinear', scaleFactor: 0.1 }), [/output of at least 1×1, got 0×0/]],
    ['throws on a size that is not [Ho, Wo]', () => upsampleForward(x, { size: [8] as never }), [/size to be \[Ho, Wo\]/, /\[8\]/]],
    ['throws on a zero size', () => upsampleForward(x, { size: [0, 8] }), [/size to be \[Ho, Wo\]/]],
    ['throws on alignCorners with nearest', () => upsampleForward(x, { scaleFactor: 2, alignCorners: false }), [/alignCorners only with mode 'bilinear'/]],
    ['throws on a non-boolean alignCorners', () => upsampleForward(x, { mode: 'bilinear', scaleFactor: 2, alignCorners: 1 as never }), [/alignCorners to be a boolean/]],
    ['throws on an output too large to allocate', () => upsampleForward(x, { size: [2 ** 20, 2 ** 20] }), [/upsampleForward/, /at most 2\^31 − 1 elements/]],
    ['throws when dout has the wrong shape', () => upsampleBackward(zeros([2, 3, 8, 7]), upsampleForward(x, { scaleFactor: 2 }).cache), [/upsampleBackward/, /dout of shape \[2, 3, 8, 8\]/]],
    ['throws when dout has the wrong dtype', () => upsampleBackward(zeros([2, 3, 8, 8], 'float32'), upsampleForward(x, { scaleFactor: 2 }).cache), [/dout of dtype float64/]],
    ['throws on a bogus cache', () => upsampleBackward(zeros([1]), {} as never), [/upsampleBackward/, /cache/]],
  ];
  for (const [name, fn, patterns] of cases) test(name, () => assertThrowsConvnet(fn, ...patterns));
});
