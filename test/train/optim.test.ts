// Update rules: two hand-computed steps each, CS231n's notebook fixtures, carried state, throws.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { adam, getUpdateRule, rmsprop, sgd, sgdMomentum, updateRules, type OptimConfig, type UpdateRule } from '../../src/train/optim.js';
import { clone, linspace, reshape, tensor, type Tensor } from '../../src/tensor.js';
import { assertTensorClose, assertThrowsConvnet } from '../helpers.js';

// The two steps every rule takes below: w0 = [1, -2], then dw1 = [0.5, 0.1], dw2 = [-0.2, 0.4].
const w0 = tensor([1, -2]);
const dw1 = tensor([0.5, 0.1]);
const dw2 = tensor([-0.2, 0.4]);

function twoSteps(rule: UpdateRule, config?: OptimConfig): { w1: Tensor; w2: Tensor; c1: OptimConfig; c2: OptimConfig } {
  const first = rule(w0, dw1, config);
  const second = rule(first.next, dw2, first.config);
  return { w1: first.next, w2: second.next, c1: first.config, c2: second.config };
}

function close(actual: Tensor, expected: number[], tol = 1e-12): void {
  assertTensorClose(actual, { shape: [expected.length], data: expected }, tol);
}

// CS231n's fixture: N, D = 4, 5; w = linspace(-0.4, 0.6), dw = linspace(-0.6, 0.4), reshaped (N, D).
const N = 4;
const D = 5;
const grid = (start: number, stop: number): Tensor => reshape(linspace(start, stop, N * D), [N, D]);

/** The notebook prints 8 decimals: every value must agree to within half a unit of the last. */
function closeToPrinted(actual: Tensor, expected: number[][]): void {
  assert.deepEqual(actual.shape, [N, D]);
  const flat = expected.flat();
  for (let i = 0; i < flat.length; i++) {
    assert.ok(Math.abs(actual.data[i]! - flat[i]!) <= 5.000001e-9, `[${i}]: got ${actual.data[i]}, notebook prints ${flat[i]}`);
  }
}

describe('sgd', () => {
  test('two steps by hand (lr 1e-2)', () => {
    const { w1, w2, c2 } = twoSteps(sgd);
    // w1 = w0 − 0.01·dw1 = [1 − 0.005, −2 − 0.001]
    close(w1, [0.995, -2.001]);
    // w2 = w1 − 0.01·dw2 = [0.995 + 0.002, −2.001 − 0.004]
    close(w2, [0.997, -2.005]);
    assert.deepEqual(c2, { learningRate: 1e-2 });
  });
  test('uses the given learning rate', () => {
    close(sgd(w0, dw1, { learningRate: 0.1 }).next, [0.95, -2.01]);
  });
});

describe('sgdMomentum', () => {
  test('two steps by hand (lr 1e-2, μ 0.9, v from zeros)', () => {
    const { w1, w2, c1, c2 } = twoSteps(sgdMomentum);
    // v1 = 0.9·0 − 0.01·dw1 = [−0.005, −0.001];  w1 = w0 + v1
    close(c1.velocity!, [-0.005, -0.001]);
    close(w1, [0.995, -2.001]);
    // v2 = 0.9·v1 − 0.01·dw2 = [−0.0045 + 0.002, −0.0009 − 0.004] = [−0.0025, −0.0049]
    close(c2.velocity!, [-0.0025, -0.0049]);
    // w2 = w1 + v2 = [0.9925, −2.0059]
    close(w2, [0.9925, -2.0059]);
    assert.equal(c2.learningRate, 1e-2);
    assert.equal(c2.momentum, 0.9);
  });
  test("CS231n's sgd_momentum fixture (lr 1e-3, velocity linspace(0.6, 0.9))", () => {
    const { next, config } = sgdMomentum(grid(-0.4, 0.6), grid(-0.6, 0.4), { learningRate: 1e-3, velocity: grid(0.6, 0.9) });
    const expectedNextW = [
      [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
      [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
      [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
      [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096],
    ];
    const expectedVelocity = [
      [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
      [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
      [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
      [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096],
    ];
    closeToPrinted(next, expectedNextW);
    closeToPrinted(config.velocity!, expectedVelocity);
  });
});

describe('rmsprop', () => {
  test('two steps by hand (lr 1e-2, ρ 0.99, ε 1e-8, cache from zeros)', () => {
    const { w1, w2, c1, c2 } = twoSteps(rmsprop);
    // cache1 = 0.01·dw1² = [0.0025, 0.0001];  √cache1 = [0.05, 0.01]
    close(c1.cache!, [0.0025, 0.0001]);
    // w1 = w0 − 0.01·dw1 / (√cache1 + ε)  (≈ w0 − 0.1·sign(dw1))
    const w1Expected = [1 - (0.01 * 0.5) / (0.05 + 1e-8), -2 - (0.01 * 0.1) / (0.01 + 1e-8)];
    close(w1, w1Expected);
    assert.ok(Math.abs(w1.data[0]! - 0.9) < 1e-6 && Math.abs(w1.data[1]! + 2.1) < 1e-6);
    // cache2 = 0.99·cache1 + 0.01·dw2² = [0.002475 + 0.0004, 0.000099 + 0.0016] = [0.002875, 0.001699]
    close(c2.cache!, [0.002875, 0.001699]);
    // w2 = w1 − 0.01·dw2 / (√cache2 + ε)
    close(w2, [w1Expected[0]! + 0.002 / (Math.sqrt(0.002875) + 1e-8), w1Expected[1]! - 0.004 / (Math.sqrt(0.001699) + 1e-8)]);
    assert.deepEqual([c2.learningRate, c2.decayRate, c2.epsilon], [1e-2, 0.99, 1e-8]);
  });
  test("CS231n's rmsprop fixture (lr 1e-2, cache linspace(0.6, 0.9))", () => {
    const { next, config } = rmsprop(grid(-0.4, 0.6), grid(-0.6, 0.4), { learningRate: 1e-2, cache: grid(0.6, 0.9) });
    const expectedNextW = [
      [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
      [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
      [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
      [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619],
    ];
    const expectedCache = [
      [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
      [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
      [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
      [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926],
    ];
    closeToPrinted(next, expectedNextW);
    closeToPrinted(config.cache!, expectedCache);
  });
});

describe('adam', () => {
  test('two steps by hand (lr 1e-3, β1 0.9, β2 0.999, ε 1e-8, t from 0)', () => {
    const { w1, w2, c1, c2 } = twoSteps(adam);
    // t = 1: m1 = 0.1·dw1 = [0.05, 0.01];  v1 = 0.001·dw1² = [0.00025, 0.00001]
    assert.equal(c1.t, 1);
    close(c1.m!, [0.05, 0.01]);
    close(c1.v!, [0.00025, 0.00001]);
    // m̂ = m1/0.1 = dw1, v̂ = v1/0.001 = dw1², so w1 = w0 − 1e-3·dw1/(|dw1| + ε) ≈ w0 − 1e-3·sign(dw1)
    const w1Expected = [1 - (1e-3 * 0.5) / (0.5 + 1e-8), -2 - (1e-3 * 0.1) / (0.1 + 1e-8)];
    close(w1, w1Expected);
    // t = 2: m2 = 0.9·m1 + 0.1·dw2 = [0.045 − 0.02, 0.009 + 0.04] = [0.025, 0.049]
    //        v2 = 0.999·v1 + 0.001·dw2² = [0.00024975 + 0.00004, 0.00000999 + 0.00016] = [0.00028975, 0.00016999]
    assert.equal(c2.t, 2);
    close(c2.m!, [0.025, 0.049]);
    close(c2.v!, [0.00028975, 0.00016999]);
    // 1 − β1² = 0.19, 1 − β2² = 0.001999: m̂ = m2/0.19, v̂ = v2/0.001999, w2 = w1 − 1e-3·m̂/(√v̂ + ε)
    const mHat = [0.025 / 0.19, 0.049 / 0.19];
    const vHat = [0.00028975 / 0.001999, 0.00016999 / 0.001999];
    close(w2, [w1Expected[0]! - (1e-3 * mHat[0]!) / (Math.sqrt(vHat[0]!) + 1e-8), w1Expected[1]! - (1e-3 * mHat[1]!) / (Math.sqrt(vHat[1]!) + 1e-8)], 1e-11);
  });
  test("CS231n's adam fixture (lr 1e-2, m linspace(0.6, 0.9), v linspace(0.7, 0.5), t 5 → 6)", () => {
    const { next, config } = adam(grid(-0.4, 0.6), grid(-0.6, 0.4), { learningRate: 1e-2, m: grid(0.6, 0.9), v: grid(0.7, 0.5), t: 5 });
    const expectedNextW = [
      [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
      [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
      [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
      [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459],
    ];
    const expectedV = [
      [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
      [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
      [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
      [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966],
    ];
    const expectedM = [
      [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
      [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
      [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
      [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85],
    ];
    closeToPrinted(next, expectedNextW);
    closeToPrinted(config.v!, expectedV);
    closeToPrinted(config.m!, expectedM);
    assert.equal(config.t, 6);
  });
});

describe('every rule', () => {
  const rules: [string, UpdateRule][] = [['sgd', sgd], ['sgdMomentum', sgdMomentum], ['rmsprop', rmsprop], ['adam', adam]];

  for (const [name, rule] of rules) {
    test(`${name} carries its state across calls and writes none of its inputs`, () => {
      const w = clone(w0);
      const dw = clone(dw1);
      const first = rule(w, dw);
      const snapshot = structuredClone(first.config);
      const second = rule(first.next, dw2, first.config);
      assert.deepEqual(Array.from(w.data), [1, -2]);
      assert.deepEqual(Array.from(dw.data), [0.5, 0.1]);
      assert.deepEqual(first.config, snapshot, 'the config passed in is not modified');
      assert.notEqual(second.next.data, first.next.data);
      // Restarting from an empty config gives a different second step wherever state matters.
      const fresh = rule(first.next, dw2);
      if (name === 'sgd') assert.deepEqual(fresh.next, second.next);
      else assert.notDeepEqual(fresh.next, second.next);
    });

    test(`${name} keeps float32 in float32`, () => {
      const { next, config } = rule(tensor([1, -2], [2], 'float32'), tensor([0.5, 0.1], [2], 'float32'));
      assert.equal(next.dtype, 'float32');
      assert.ok(next.data instanceof Float32Array);
      for (const value of Object.values(config)) if (typeof value === 'object') assert.equal((value as Tensor).dtype, 'float32');
    });

    test(`${name} throws on NaN or Infinity in dw, naming the rule and the parameter`, () => {
      assertThrowsConvnet(() => rule(w0, tensor([0.5, NaN]), {}, 'W1'), new RegExp(`^${name}:`), /dW1/, /parameter W1/, /NaN at dW1\[1\]/);
      assertThrowsConvnet(() => rule(w0, tensor([Infinity, 0])), new RegExp(`^${name}:`), /Infinity at dw\[0\]/);
      assertThrowsConvnet(() => rule(tensor([NaN, 0]), dw1, {}, 'b2'), /expected b2 to be finite/);
    });

    test(`${name} throws when shapes or dtypes of w and dw differ`, () => {
      assertThrowsConvnet(() => rule(w0, tensor([0.5, 0.1, 0.2])), new RegExp(`^${name}:`), /dw of shape \[2\]/, /\[3\]/);
      assertThrowsConvnet(() => rule(w0, tensor([[0.5, 0.1]])), /dw of shape \[2\]/);
      assertThrowsConvnet(() => rule(w0, tensor([0.5, 0.1], [2], 'float32')), /dtype of w \(float64\)/);
      assertThrowsConvnet(() => rule(w0, { shape: [2], data: [0.5, 0.1] } as unknown as Tensor), /dw\.data/);
    });

    test(`${name} throws on a bad learning rate or an unknown config key`, () => {
      assertThrowsConvnet(() => rule(w0, dw1, { learningRate: -1e-3 }), /learningRate >= 0/);
      assertThrowsConvnet(() => rule(w0, dw1, { learningRate: NaN }), /learningRate to be a finite number/);
      assertThrowsConvnet(() => rule(w0, dw1, { learningRate: Infinity }), /finite/);
      assertThrowsConvnet(() => rule(w0, dw1, { learning_rate: 1 } as OptimConfig), /"learning_rate"/, /did you mean learningRate/);
      assertThrowsConvnet(() => rule(w0, dw1, 5 as unknown as OptimConfig), /config to be an object/);
    });
  }

  test('a learning rate of 0 leaves w unchanged', () => {
    for (const [, rule] of rules) assert.deepEqual(Array.from(rule(w0, dw1, { learningRate: 0 }).next.data), [1, -2]);
  });
});

describe('hyperparameter and state checks', () => {
  test('throws when a decay rate is outside [0, 1)', () => {
    assertThrowsConvnet(() => sgdMomentum(w0, dw1, { momentum: 1 }), /^sgdMomentum:/, /config\.momentum in \[0, 1\)/, /got 1/);
    assertThrowsConvnet(() => sgdMomentum(w0, dw1, { momentum: -0.1 }), /config\.momentum in \[0, 1\)/);
    assertThrowsConvnet(() => rmsprop(w0, dw1, { decayRate: 1 }), /^rmsprop:/, /config\.decayRate in \[0, 1\)/);
    assertThrowsConvnet(() => adam(w0, dw1, { beta1: 1 }), /^adam:/, /config\.beta1 in \[0, 1\)/);
    assertThrowsConvnet(() => adam(w0, dw1, { beta2: 1.5 }), /config\.beta2 in \[0, 1\)/);
    assertThrowsConvnet(() => adam(w0, dw1, { beta2: NaN }), /config\.beta2 to be a finite number/);
  });
  test('throws when epsilon is not positive', () => {
    assertThrowsConvnet(() => rmsprop(w0, dw1, { epsilon: 0 }), /config\.epsilon > 0/);
    assertThrowsConvnet(() => adam(w0, dw1, { epsilon: -1e-8 }), /config\.epsilon > 0/);
  });
  test("throws on a state tensor that does not match w, or a bad t", () => {
    assertThrowsConvnet(() => sgdMomentum(w0, dw1, { velocity: tensor([0, 0, 0]) }), /config\.velocity of shape \[2\]/);
    assertThrowsConvnet(() => rmsprop(w0, dw1, { cache: tensor([0, 0], [2], 'float32') }), /config\.cache of dtype float64/);
    assertThrowsConvnet(() => adam(w0, dw1, { m: tensor([[0, 0]]) }), /config\.m of shape \[2\]/);
    assertThrowsConvnet(() => adam(w0, dw1, { t: 1.5 }), /config\.t to be an integer >= 0/);
    assertThrowsConvnet(() => adam(w0, dw1, { t: -1 }), /config\.t to be an integer >= 0/);
  });
  test("a rule's own keys only: sgd rejects momentum, adam rejects decayRate", () => {
    assertThrowsConvnet(() => sgd(w0, dw1, { momentum: 0.9 }), /^sgd:/, /among learningRate/, /"momentum"/);
    assertThrowsConvnet(() => adam(w0, dw1, { decayRate: 0.9 }), /"decayRate"/);
  });
});

describe('updateRules', () => {
  test('maps names to rules', () => {
    assert.equal(updateRules.sgd, sgd);
    assert.equal(updateRules.sgd_momentum, sgdMomentum);
    assert.equal(updateRules.momentum, sgdMomentum);
    assert.equal(updateRules.rmsprop, rmsprop);
    assert.equal(updateRules.adam, adam);
    assert.equal(getUpdateRule('adam'), adam);
    const custom: UpdateRule = (w) => ({ next: w, config: {} });
    assert.equal(getUpdateRule(custom), custom);
  });
  test('throws on an unknown name', () => {
    assertThrowsConvnet(() => getUpdateRule('adamw' as 'adam'), /one of sgd, sgd_momentum, momentum, rmsprop, adam/, /"adamw"/);
    assertThrowsConvnet(() => getUpdateRule('toString' as 'adam'), /"toString"/);
  });
});
