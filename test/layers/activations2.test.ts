// tanh, sigmoid, GELU (exact erf and tanh forms), ELU, and the erf / erfc they rest on.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradCheck } from '../../src/gradcheck.js';
import {
  eluBackward,
  eluForward,
  erf,
  erfc,
  geluBackward,
  geluForward,
  reluForward,
  sigmoidBackward,
  sigmoidForward,
  tanhBackward,
  tanhForward,
  type GeluCache,
} from '../../src/layers/activations.js';
import { tensor, zeros, type Tensor } from '../../src/tensor.js';
import { assertGradients, assertThrowsConvnet, randomTensor } from '../helpers.js';

/** [x, erf(x), erfc(x)] for the double nearest x, each rounded from mpmath at 50 digits. */
const ERF_TABLE: [number, number, number][] = [
  [-27, -1.0, 2.0],
  [-10, -1.0, 2.0],
  [-6, -1.0, 2.0],
  [-5, -0.9999999999984626, 1.9999999999984626],
  [-3, -0.9999779095030014, 1.9999779095030015],
  [-2.857, -0.9999466417399131, 1.9999466417399132],
  [-2, -0.9953222650189527, 1.9953222650189528],
  [-1.25, -0.9229001282564583, 1.9229001282564582],
  [-1, -0.8427007929497149, 1.8427007929497148],
  [-0.84375, -0.7672256612323416, 1.7672256612323416],
  [-0.5, -0.5204998778130465, 1.5204998778130465],
  [-0.1, -0.1124629160182849, 1.1124629160182848],
  [-1e-9, -1.1283791670955127e-9, 1.0000000011283792],
  [1e-300, 1.1283791670955126e-300, 1.0],
  [1e-20, 1.1283791670955125e-20, 1.0],
  [1e-9, 1.1283791670955127e-9, 0.9999999988716208],
  [0.1, 0.1124629160182849, 0.887537083981715],
  [0.25, 0.27632639016823696, 0.7236736098317631],
  [0.5, 0.5204998778130465, 0.4795001221869535],
  [0.84, 0.7651427114549945, 0.23485728854500548],
  [0.84375, 0.7672256612323416, 0.23277433876765838],
  [0.9, 0.7969082124228322, 0.20309178757716786],
  [1, 0.8427007929497149, 0.15729920705028513],
  [1.2, 0.9103139782296353, 0.08968602177036464],
  [1.25, 0.9229001282564583, 0.07709987174354177],
  [1.5, 0.9661051464753108, 0.033894853524689274],
  [2, 0.9953222650189527, 0.004677734981047266],
  [2.5, 0.999593047982555, 0.0004069520174449589],
  [2.857, 0.9999466417399131, 5.3358260086846374e-5],
  [2.8572, 0.9999467060575912, 5.329394240879625e-5],
  [3, 0.9999779095030014, 2.209049699858544e-5],
  [4, 0.9999999845827421, 1.541725790028002e-8],
  [5, 0.9999999999984626, 1.537459794428035e-12],
  [6, 1.0, 2.1519736712498913e-17],
  [8, 1.0, 1.1224297172982926e-29],
  [10, 1.0, 2.088487583762545e-45],
  [15, 1.0, 7.212994172451207e-100],
  [20, 1.0, 5.395865611607901e-176],
  [26.5, 1.0, 2.2109076642637343e-307],
];

const relativeTo = (got: number, want: number): number => (want === 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want));

describe('erf and erfc', () => {
  test('match mpmath (50 digits) within 1e-15 relative at 39 points across every branch', () => {
    for (const [x, e, c] of ERF_TABLE) {
      assert.ok(relativeTo(erf(x), e) <= 1e-15, `erf(${x}) = ${erf(x)}, want ${e}`);
      assert.ok(relativeTo(erfc(x), c) <= 1e-15, `erfc(${x}) = ${erfc(x)}, want ${c}`);
    }
  });
  test('special values: ±0, ±Infinity, NaN, beyond 28, subnormal x', () => {
    assert.ok(Object.is(erf(0), 0) && Object.is(erf(-0), -0));
    assert.equal(erfc(0), 1);
    assert.equal(erf(Infinity), 1);
    assert.equal(erf(-Infinity), -1);
    assert.equal(erfc(Infinity), 0);
    assert.equal(erfc(-Infinity), 2);
    assert.equal(erfc(30), 0);
    assert.equal(erfc(-30), 2);
    assert.ok(Number.isNaN(erf(Number.NaN)) && Number.isNaN(erfc(Number.NaN)));
    assert.equal(erf(1e-310), 1.1283791670955e-310);
  });
  test('odd symmetry and erf + erfc = 1 on a grid', () => {
    for (let x = -6; x <= 6; x += 0.0625) {
      assert.equal(erf(-x), -erf(x), `erf(${-x})`);
      assert.ok(Math.abs(erf(x) + erfc(x) - 1) <= 2.3e-16, `erf + erfc at ${x}`);
    }
  });
});

const shapes: number[][] = [[4, 5], [2, 3, 4, 5]];

describe('tanh, sigmoid, GELU, ELU: float64 gradient checks', () => {
  for (const shape of shapes) {
    const label = `x=[${shape.join(',')}]`;
    test(`tanh ${label}`, () => {
      const x = randomTensor(shape, 31, 'float64', 2);
      assertGradients(gradCheck({ inputs: { x }, forward: (i) => tanhForward(i.x!), backward: tanhBackward }), 1e-7);
    });
    test(`sigmoid ${label}`, () => {
      const x = randomTensor(shape, 32, 'float64', 3);
      assertGradients(gradCheck({ inputs: { x }, forward: (i) => sigmoidForward(i.x!), backward: sigmoidBackward }), 1e-7);
    });
    for (const approximate of ['none', 'tanh'] as const) {
      test(`GELU approximate '${approximate}' ${label}`, () => {
        const x = randomTensor(shape, 33, 'float64', 3);
        assertGradients(gradCheck({ inputs: { x }, forward: (i) => geluForward(i.x!, approximate), backward: geluBackward }), 1e-7);
      });
    }
    for (const alpha of [1, 0.3, 2.5]) {
      test(`ELU alpha ${alpha} ${label}`, () => {
        const x = randomTensor(shape, 34, 'float64', 2);
        assertGradients(gradCheck({ inputs: { x }, forward: (i) => eluForward(i.x!, alpha), backward: eluBackward }), 1e-7);
      });
    }
  }
  test('GELU gradient in the tails (|x| up to 9)', () => {
    const x = tensor([-9, -7.5, -6, -4.2, 4.2, 6, 7.5, 9]);
    for (const approximate of ['none', 'tanh'] as const) {
      assertGradients(gradCheck({ inputs: { x }, forward: (i) => geluForward(i.x!, approximate), backward: geluBackward }), 1e-7, approximate);
    }
  });
});

const values = (t: Tensor): number[] => Array.from(t.data);
const closeTo = (got: number, want: number, tol: number, what: string): void => assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: ${got}, want ${want}`);

describe('values', () => {
  test('tanh and its gradient 1 − tanh²', () => {
    const { out, cache } = tanhForward(tensor([-1, 0, 0.5]));
    assert.deepEqual(values(out), [Math.tanh(-1), 0, Math.tanh(0.5)]);
    const dx = tanhBackward(tensor([2, 2, 2]), cache);
    closeTo(dx.data[0]!, 2 * (1 - Math.tanh(1) ** 2), 1e-15, 'dx[0]');
    assert.equal(dx.data[1], 2);
  });
  test('sigmoid is stable for large |x|: no overflow, no NaN, exact limits', () => {
    const x = tensor([-1000, -745, -700, -40, 0, 40, 700, 1000, -Infinity, Infinity]);
    const { out, cache } = sigmoidForward(x);
    assert.ok(out.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), `${values(out)}`);
    assert.equal(out.data[0], 0);
    closeTo(out.data[2]!, Math.exp(-700), 1e-13, 'σ(−700) keeps its relative accuracy');
    closeTo(out.data[3]!, 4.248354255291589e-18, 1e-13, 'σ(−40)');
    assert.equal(out.data[4], 0.5);
    assert.equal(out.data[7], 1);
    assert.equal(out.data[8], 0);
    assert.equal(out.data[9], 1);
    const dx = sigmoidBackward(tensor(new Array(10).fill(1)), cache);
    assert.ok(dx.data.every((v) => Number.isFinite(v) && v >= 0 && v <= 0.25), `${values(dx)}`);
    assert.equal(dx.data[4], 0.25);
  });
  test("GELU matches PyTorch's values (exact erf form, mpmath at 50 digits)", () => {
    // x, gelu(x), gelu'(x)
    const table: [number, number, number][] = [
      [-3, -0.0040496940948902835, -0.011945647204183927],
      [-1, -0.15865525393145705, -0.0833154705876863],
      [-0.5, -0.15426876936299344, 0.13250487534383715],
      [0.5, 0.34573123063700656, 0.8674951246561629],
      [1, 0.8413447460685429, 1.0833154705876864],
      [3, 2.99595030590511, 1.011945647204184],
      [-10, -7.619853024160526e-23, -7.618400096464814e-22],
    ];
    const { out, cache } = geluForward(tensor(table.map((r) => r[0])));
    const dx = geluBackward(tensor(table.map(() => 1)), cache);
    table.forEach(([x, g, d], i) => {
      assert.ok(relativeTo(out.data[i]!, g) <= 1e-14, `gelu(${x}) = ${out.data[i]}, want ${g}`);
      assert.ok(relativeTo(dx.data[i]!, d) <= 1e-14, `gelu'(${x}) = ${dx.data[i]}, want ${d}`);
    });
  });
  test("GELU approximate 'tanh' matches PyTorch's formula", () => {
    const table: [number, number][] = [
      [-3, -0.003637392081773019],
      [-1, -0.1588080093917233],
      [-0.5, -0.15428599017485609],
      [0.5, 0.34571400982514394],
      [1, 0.8411919906082767],
      [3, 2.996362607918227],
    ];
    const { out } = geluForward(tensor(table.map((r) => r[0])), 'tanh');
    table.forEach(([x, g], i) => assert.ok(relativeTo(out.data[i]!, g) <= 1e-14, `gelu_tanh(${x}) = ${out.data[i]}, want ${g}`));
  });
  test('GELU limits: −∞ → 0, +∞ → +∞, far tails finite, NaN passes', () => {
    for (const approximate of ['none', 'tanh'] as const) {
      const { out, cache } = geluForward(tensor([-Infinity, -1e300, -40, 40, 1e300, Infinity, Number.NaN]), approximate);
      assert.deepEqual(values(out).slice(0, 6).map((v) => (v === 0 ? 0 : v)), [0, 0, 0, 40, 1e300, Infinity], approximate);
      assert.ok(Number.isNaN(out.data[6]));
      const dx = geluBackward(tensor([1, 1, 1, 1, 1, 1, 1]), cache);
      assert.deepEqual(values(dx).slice(0, 6), [0, 0, 0, 1, 1, 1], approximate);
    }
  });
  test('ELU: alpha·(e^x − 1) below 0 (expm1: accurate near 0), gradient alpha at exactly 0 (PyTorch)', () => {
    const { out, cache } = eluForward(tensor([-1e-10, -2, 0, 3, -Infinity]), 0.5);
    closeTo(out.data[0]!, 0.5 * -9.9999999995e-11, 1e-15, 'elu(−1e-10)');
    closeTo(out.data[1]!, 0.5 * Math.expm1(-2), 1e-15, 'elu(−2)');
    assert.deepEqual(values(out).slice(2), [0, 3, -0.5]);
    const dx = eluBackward(tensor([1, 1, 1, 1, 1]), cache);
    assert.deepEqual(values(dx).slice(1), [0.5 * Math.exp(-2), 0.5, 1, 0]);
  });
  test('ELU default alpha is 1', () => assert.deepEqual(values(eluForward(tensor([-Infinity, 2])).out), [-1, 2]));
  test('float32 in, float32 out (forward and backward)', () => {
    const x = randomTensor([3, 4], 35, 'float32');
    for (const [forward, backward] of [
      [tanhForward, tanhBackward],
      [sigmoidForward, sigmoidBackward],
      [geluForward, geluBackward],
      [eluForward, eluBackward],
    ] as const) {
      const { out, cache } = forward(x);
      assert.equal(out.dtype, 'float32');
      assert.ok(out.data instanceof Float32Array);
      const dx = (backward as (d: Tensor, c: unknown) => Tensor)(randomTensor([3, 4], 36, 'float32'), cache);
      assert.equal(dx.dtype, 'float32');
    }
  });
  test('no function changes its input', () => {
    const x = randomTensor([2, 3], 37);
    const copy = Array.from(x.data);
    for (const f of [tanhForward, sigmoidForward, geluForward, eluForward]) f(x);
    assert.deepEqual(Array.from(x.data), copy);
  });
});

describe('validation', () => {
  for (const [name, forward] of [
    ['tanhForward', tanhForward],
    ['sigmoidForward', sigmoidForward],
    ['geluForward', geluForward],
    ['eluForward', eluForward],
  ] as const) {
    test(`${name} throws when x is not a tensor`, () => assertThrowsConvnet(() => forward([1, 2] as unknown as Tensor), new RegExp(name), /tensor/));
    test(`${name} throws when x.dtype disagrees with its data`, () => assertThrowsConvnet(() => forward({ shape: [2], data: new Float64Array(2), dtype: 'float32' }), new RegExp(name), /dtype/));
  }
  for (const [name, forward, backward] of [
    ['tanhBackward', tanhForward, tanhBackward],
    ['sigmoidBackward', sigmoidForward, sigmoidBackward],
    ['geluBackward', geluForward, geluBackward],
    ['eluBackward', eluForward, eluBackward],
  ] as const) {
    const b = backward as (d: unknown, c: unknown) => Tensor;
    test(`${name} throws when dout has the wrong shape`, () => assertThrowsConvnet(() => b(zeros([3]), forward(zeros([2])).cache), new RegExp(name), /dout of shape \[2\]/, /\[3\]/));
    test(`${name} throws when dout has the other dtype`, () => assertThrowsConvnet(() => b(zeros([2], 'float32'), forward(zeros([2])).cache), new RegExp(name), /dtype float64/));
    test(`${name} throws on a cache that is not its forward's`, () => assertThrowsConvnet(() => b(zeros([2]), { y: zeros([2]) }), new RegExp(name), /cache/));
    test(`${name} throws on a null cache`, () => assertThrowsConvnet(() => b(zeros([2]), null), new RegExp(name), /cache/));
  }
  test('tanhBackward takes only a tanh-like cache { out }: a relu cache { x } is refused', () => assertThrowsConvnet(() => tanhBackward(zeros([2]), reluForward(zeros([2])).cache as never), /tanhBackward/, /with out/));
  test("geluForward throws when approximate is not 'none' or 'tanh'", () => assertThrowsConvnet(() => geluForward(zeros([2]), 'erf' as never), /geluForward/, /'none' or 'tanh'/, /"erf"/));
  test('geluBackward throws when cache.approximate is broken', () => {
    const { cache } = geluForward(zeros([2]));
    assertThrowsConvnet(() => geluBackward(zeros([2]), { ...cache, approximate: 'fast' } as unknown as GeluCache), /geluBackward/, /cache\.approximate/);
  });
  test('eluForward throws when alpha is not a finite number', () => {
    assertThrowsConvnet(() => eluForward(zeros([2]), Number.NaN), /eluForward/, /alpha/, /NaN/);
    assertThrowsConvnet(() => eluForward(zeros([2]), Infinity), /eluForward/, /alpha/);
    assertThrowsConvnet(() => eluForward(zeros([2]), '1' as never), /eluForward/, /alpha/);
  });
  test('eluBackward throws when cache.alpha is not a finite number', () => {
    const { cache } = eluForward(zeros([2]));
    assertThrowsConvnet(() => eluBackward(zeros([2]), { ...cache, alpha: Number.NaN }), /eluBackward/, /cache\.alpha/);
  });
});
