import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rng } from '../../src/rng.js';
import { tensor, type Tensor } from '../../src/tensor.js';
import type { TrainableModel } from '../../src/models/model.js';
import { Solver } from '../../src/train/solver.js';
import { composeAugmentations, randomAffine, randomFlip, randomShift } from '../../src/train/augment.js';
import type { Rng } from '../../src/rng.js';
import { assertThrowsConvnet } from '../helpers.js';

describe('augmentation', () => {
  const X = tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);

  test('randomShift(0) is the identity and randomShift moves whole pixels, filling with zeros', () => {
    assert.deepEqual(Array.from(randomShift(0)(X, rng(1)).data), Array.from(X.data));
    const seen = new Set<string>();
    const generator = rng(2);
    for (let i = 0; i < 200; i++) {
      const out = Array.from(randomShift(1)(X, generator).data);
      seen.add(out.join(','));
      // Each output keeps the centre pixel somewhere, and every value is an input value or 0.
      assert.ok(out.includes(5));
      assert.ok(out.every((v) => v === 0 || X.data.includes(v)));
    }
    assert.equal(seen.size, 9, 'all nine (dy, dx) in [-1, 1]² occur');
    assert.ok(seen.has('0,0,0,0,1,2,0,4,5'), 'shifted down and right by one');
  });

  test('randomFlip mirrors rows left to right, or leaves the image', () => {
    const generator = rng(3);
    const outcomes = new Set<string>();
    for (let i = 0; i < 50; i++) outcomes.add(Array.from(randomFlip()(X, generator).data).join(','));
    assert.deepEqual([...outcomes].sort(), ['1,2,3,4,5,6,7,8,9', '3,2,1,6,5,4,9,8,7']);
  });

  test('the same generator seed gives the same augmented batch; the input is unchanged', () => {
    const augment = composeAugmentations(randomShift(1), randomFlip());
    assert.deepEqual(Array.from(augment(X, rng(9)).data), Array.from(augment(X, rng(9)).data));
    assert.deepEqual(Array.from(X.data), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  /** A generator whose uniform() returns the given values in turn (the angle's draw, then the scale's). */
  const fixed = (...values: number[]): Rng => ({ uniform: () => values.shift()! }) as unknown as Rng;
  // 4×4 image 0..15: (y, x) holds 4y + x.
  const square = tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);

  test('randomAffine(0, 0) and an angle of 0 at scale 1 are the identity, bit for bit', () => {
    assert.deepEqual(Array.from(randomAffine(0, 0)(square, rng(1)).data), Array.from(square.data));
    assert.deepEqual(Array.from(randomAffine(30, 0.2)(square, fixed(0.5, 0.5)).data), Array.from(square.data));
  });

  test('the largest angle (+maxDegrees) of 90° turns the image a quarter: out(y, x) = in(W − 1 − x, y)', () => {
    const out = randomAffine(90, 0)(square, fixed(1, 0.5)).data;
    const expected = Array.from({ length: 16 }, (_, i) => 4 * (3 - (i % 4)) + Math.floor(i / 4));
    Array.from(out).forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-9, `pixel ${i}: ${v} vs ${expected[i]}`));
  });

  test('scaling about the centre samples between pixels, bilinearly, with zeros outside', () => {
    // maxScale 0.5 and a draw of 1: scale 1.5. A constant image stays constant where every
    // neighbour is inside, and the centre (1.5, 1.5) maps to itself.
    const ones = tensor(new Array(16).fill(1), [1, 1, 4, 4]);
    const out = randomAffine(0, 0.5)(ones, fixed(0.5, 1)).data;
    for (const i of [5, 6, 9, 10]) assert.ok(Math.abs(out[i]! - 1) < 1e-12, `inner pixel ${i} = ${out[i]}`);
    // Shrinking (scale 0.5, draw 0) pulls in the zeros outside: the corner samples (−1.5, −1.5)·2 + 1.5 = −1.5.
    const shrunk = randomAffine(0, 0.5)(ones, fixed(0.5, 0)).data;
    assert.equal(shrunk[0], 0);
    // A horizontal ramp x → x scaled by 1.5: pixel x samples (x − 1.5) / 1.5 + 1.5, interpolated linearly.
    const ramp = tensor([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3], [1, 1, 4, 4]);
    const scaled = randomAffine(0, 0.5)(ramp, fixed(0.5, 1)).data;
    for (const x of [0, 1, 2, 3]) assert.ok(Math.abs(scaled[4 + x]! - ((x - 1.5) / 1.5 + 1.5)) < 1e-12, `ramp x = ${x}: ${scaled[4 + x]}`);
  });

  test('randomAffine draws two numbers per image and leaves X unchanged; every channel moves alike', () => {
    const two = tensor(Array.from({ length: 32 }, (_, i) => i % 16), [1, 2, 4, 4]);
    const generator = rng(4);
    const out = randomAffine(20, 0.1)(two, generator).data;
    assert.deepEqual(Array.from(out.slice(0, 16)), Array.from(out.slice(16)));
    const replay = rng(4);
    replay.uniform();
    replay.uniform();
    assert.equal(generator.uniform(), replay.uniform());
    assert.deepEqual(Array.from(two.data), Array.from({ length: 32 }, (_, i) => i % 16));
  });

  test('randomAffine rejects angles outside [0, 180] and scales outside [0, 1)', () => {
    assertThrowsConvnet(() => randomAffine(-1, 0), /randomAffine/, /maxDegrees to be a number from 0 to 180, got -1/);
    assertThrowsConvnet(() => randomAffine(10, 1), /randomAffine/, /maxScale to be a fraction in \[0, 1\), got 1/);
    assertThrowsConvnet(() => randomAffine(Number.NaN, 0), /randomAffine/, /maxDegrees/);
    assertThrowsConvnet(() => randomAffine(10, 0.1)(tensor([1, 2]), rng(1)), /randomAffine/, /rank 4/);
  });

  test('throws on a negative shift', () => assertThrowsConvnet(() => randomShift(-1), /randomShift/, /maxShift/));
  test('throws on a batch that is not 4-D', () => assertThrowsConvnet(() => randomShift(1)(tensor([1, 2]), rng(1)), /randomShift/, /rank 4/));
});

describe('Solver augment option', () => {
  // A model that remembers the batches it was trained on; its gradients are zero.
  const makeModel = () => {
    const seen: number[][] = [];
    const params = { w: tensor([0]) };
    const model = {
      params,
      loss(Xb: Tensor, y?: Int32Array) {
        if (y === undefined) return tensor(new Array(Xb.shape[0]! * 2).fill(0), [Xb.shape[0]!, 2]);
        seen.push(Array.from(Xb.data));
        return { loss: 1, grads: { w: tensor([0]) } };
      },
    } as unknown as TrainableModel;
    return { model, seen };
  };
  const data = { XTrain: tensor([[[[1, 2], [3, 4]]]]), yTrain: new Int32Array([0]), XVal: tensor([[[[1, 2], [3, 4]]]]), yVal: new Int32Array([0]) };

  test('each minibatch passes through augment before the model sees it', async () => {
    const { model, seen } = makeModel();
    const solver = new Solver(model, data, { batchSize: 1, numEpochs: 3, verbose: false, augment: () => tensor([[[[9, 9], [9, 9]]]]) });
    await solver.train();
    assert.equal(seen.length, 3);
    assert.ok(seen.every((batch) => batch.every((v) => v === 9)));
  });

  test('throws when augment changes the batch shape', async () => {
    const { model } = makeModel();
    const solver = new Solver(model, data, { batchSize: 1, numEpochs: 1, verbose: false, augment: () => tensor([1, 2]) });
    await assert.rejects(solver.train(), /augment to return a float64 batch of shape \[1, 1, 2, 2\]/);
  });

  test('throws when augment is not a function', () =>
    assertThrowsConvnet(() => new Solver(makeModel().model, data, { augment: 3 as never }), /Solver/, /augment to be a function/));
});

describe('Solver keeps buffers with the best parameters', () => {
  test('batchnorm-style buffers are restored in place along with the best-validation params', async () => {
    // Validation accuracy is perfect only while w <= 0.015 (the first check, after one sgd step
    // of 0.01); the buffer counts steps.
    const counter = tensor([0]);
    const model = {
      params: { w: tensor([0]) },
      buffers: { steps: counter },
      loss(Xb: Tensor, y?: Int32Array) {
        const wrong = this.params.w.data[0]! > 0.015;
        if (y === undefined) return tensor(Array.from({ length: Xb.shape[0]! }, () => (wrong ? [0, 1] : [1, 0])).flat(), [Xb.shape[0]!, 2]);
        counter.data[0] += 1;
        return { loss: 1, grads: { w: tensor([-1]) } };
      },
    };
    const data = { XTrain: tensor([[[[1]]]]), yTrain: new Int32Array([0]), XVal: tensor([[[[1]]]]), yVal: new Int32Array([0]) };
    const solver = new Solver(model as unknown as TrainableModel, data, { batchSize: 1, numEpochs: 4, verbose: false, updateRule: 'sgd' });
    await solver.train();
    assert.equal(solver.bestValAcc, 1);
    assert.equal(model.params.w.data[0], 0.01, 'params from the first check (after one sgd step)');
    assert.equal(model.buffers.steps, counter, 'the same tensor object');
    assert.equal(counter.data[0], 1, 'restored to its value at the first check');
  });
});
