// Tensors, the seeded generator and the gradient-checking helpers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evalNumericalGradient, evalNumericalGradientArray, gradCheck, relError } from '../src/gradcheck.js';
import { reluBackward, reluForward } from '../src/layers/activations.js';
import { permutation, rng } from '../src/rng.js';
import { allocate, allocateUninitialized, cast, clone, fromData, linspace, randn, reshape, tensor, toNested, zeros, type Tensor } from '../src/tensor.js';
import { assertThrowsConvnet } from './helpers.js';

describe('tensors', () => {
  test('tensor() infers shape from nesting and copies values', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, 'float64');
    assert.ok(t.data instanceof Float64Array);
    assert.deepEqual(toNested(t), [[1, 2, 3], [4, 5, 6]]);
    const f = tensor(new Float64Array([1, 2, 3, 4]), [2, 2], 'float32');
    assert.ok(f.data instanceof Float32Array);
  });
  test("linspace is numpy's: both ends included", () => {
    assert.deepEqual(Array.from(linspace(0, 1, 5).data), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(Array.from(linspace(-0.1, 0.5, 2).data), [-0.1, 0.5]);
    assert.deepEqual(Array.from(linspace(3, 7, 1).data), [3]);
    assert.equal(linspace(-0.1, 0.5, 7).data[6], 0.5);
  });
  test('reshape shares data and infers -1', () => {
    const t = linspace(0, 11, 12);
    const r = reshape(t, [3, -1]);
    assert.deepEqual(r.shape, [3, 4]);
    assert.equal(r.data, t.data);
  });
  test('zeros, cast and clone', () => {
    const z = zeros([2, 3], 'float32');
    assert.equal(z.data.length, 6);
    const c = cast(tensor([1.5, 2.5]), 'float32');
    assert.ok(c.data instanceof Float32Array);
    const k = clone(c);
    k.data[0] = 9;
    assert.equal(c.data[0], 1.5);
  });
  test('throws when values do not fill the shape', () => assertThrowsConvnet(() => tensor([1, 2, 3], [2, 2]), /tensor/, /4 values for shape \[2, 2\]/, /3 values/));
  test('throws on an unknown dtype', () => assertThrowsConvnet(() => zeros([2], 'int8' as never), /zeros/, /dtype/));
  test('throws when reshape changes the size', () => assertThrowsConvnet(() => reshape(zeros([2, 3]), [4, 2]), /reshape/, /6 elements/, /\[4, 2\]/));
  test('throws on two -1 in reshape', () => assertThrowsConvnet(() => reshape(zeros([2, 3]), [-1, -1]), /at most one -1/));
  test('throws when fromData gets a plain array', () => assertThrowsConvnet(() => fromData([1, 2] as never, [2]), /fromData/, /Float32Array or Float64Array/));
  test('throws on a negative linspace count', () => assertThrowsConvnet(() => linspace(0, 1, -1), /linspace/, /num/));
  test('throws on a NaN linspace bound', () => assertThrowsConvnet(() => linspace(Number.NaN, 1, 3), /linspace/, /finite/));
});

describe('allocateUninitialized', () => {
  test('gives an array of the dtype and length, its own buffer, small ones zero-filled', () => {
    for (const length of [0, 5, 1 << 16, (1 << 17) + 3]) {
      const f32 = allocateUninitialized('float32', length);
      const f64 = allocateUninitialized('float64', length);
      assert.ok(f32 instanceof Float32Array && f32.length === length);
      assert.ok(f64 instanceof Float64Array && f64.length === length);
      // Writable across its whole length, and not sharing memory with another array.
      f32.fill(1.5);
      f64.fill(-2.5);
      const other = allocateUninitialized('float32', length);
      other.fill(7);
      assert.ok(f32.every((v) => v === 1.5) && f64.every((v) => v === -2.5));
    }
    assert.deepEqual(allocateUninitialized('float64', 5), allocate('float64', 5));
  });
});

describe('seeded randomness', () => {
  test('the same seed gives the same stream; different seeds differ', () => {
    const a = rng(42);
    const b = rng(42);
    const c = rng(43);
    const sa = Array.from({ length: 10 }, () => a.uniform());
    assert.deepEqual(sa, Array.from({ length: 10 }, () => b.uniform()));
    assert.notDeepEqual(sa, Array.from({ length: 10 }, () => c.uniform()));
  });
  test('normal samples have mean 0 and variance 1', () => {
    const t = randn([100000], rng(7));
    let mean = 0;
    for (const v of t.data) mean += v;
    mean /= t.data.length;
    let variance = 0;
    for (const v of t.data) variance += (v - mean) ** 2;
    variance /= t.data.length;
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
  });
  test('uniform is in [0, 1) and int(n) in [0, n)', () => {
    const g = rng(3);
    for (let i = 0; i < 10000; i++) {
      const u = g.uniform();
      assert.ok(u >= 0 && u < 1);
      const k = g.int(7);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    }
  });
  test('permutation is a permutation', () => {
    const p = permutation(100, rng(1));
    assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  });
  test('throws on a non-integer seed', () => assertThrowsConvnet(() => rng(1.5), /rng/, /integer seed/, /1.5/));
});

describe('gradient checking', () => {
  test('evalNumericalGradient of Σx² is 2x, and the caller x is not perturbed', () => {
    const x = tensor([1, -2, 3]);
    const grad = evalNumericalGradient((p) => Array.from(p.data).reduce((s, v) => s + v * v, 0), x);
    assert.ok(relError(grad, [2, -4, 6]) < 1e-9);
    assert.deepEqual(Array.from(x.data), [1, -2, 3]);
  });
  test('evalNumericalGradientArray matches relu backward', () => {
    const x = tensor([-1, 0.5, 2]);
    const dout = tensor([1, 2, 3]);
    const grad = evalNumericalGradientArray((p) => reluForward(p).out, x, dout);
    assert.ok(relError(grad, reluBackward(dout, reluForward(x).cache)) < 1e-9);
  });
  test("relError is CS231n's: max |a-b| / max(1e-8, |a|+|b|)", () => {
    assert.equal(relError([1, 2], [1, 2]), 0);
    assert.equal(relError([1], [3]), 0.5);
    assert.equal(relError([0], [1e-9]), 0.1);
    assert.ok(Number.isNaN(relError([Number.NaN], [1])));
  });
  test('gradCheck reports a wrong backward, with the worst index', () => {
    const x = tensor([[1, 2], [3, 4]]);
    const report = gradCheck({
      inputs: { x },
      forward: (i) => reluForward(i.x!),
      // Wrong on purpose: doubles the gradient at [1, 0].
      backward: (dout: Tensor, cache) => {
        const dx = reluBackward(dout, cache);
        dx.data[2] *= 2;
        return dx;
      },
    });
    assert.ok(report.maxRelError > 0.1);
    assert.deepEqual(report.entries[0]!.worstIndex, [1, 0]);
  });
  test('gradCheck throws when backward lacks a gradient', () =>
    assertThrowsConvnet(
      () => gradCheck({ inputs: { x: tensor([1]), w: tensor([2]) }, forward: (i) => reluForward(i.x!), backward: () => ({ dx: tensor([1]) }) }),
      /gradCheck/,
      /dw/,
    ));
  test('throws when h is not positive', () => assertThrowsConvnet(() => evalNumericalGradient(() => 0, tensor([1]), 0), /evalNumericalGradient/, /h to be a positive/));
});
