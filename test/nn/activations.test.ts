// Tanh, Sigmoid, GELU and ELU modules: float64 gradient checks, config round trips through
// buildModule, labels and shapes in a Sequential, and their errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradCheck } from '../../src/gradcheck.js';
import { eluForward, geluForward, sigmoidForward, tanhForward } from '../../src/layers/activations.js';
import { ELU, GELU, Sigmoid, Tanh } from '../../src/nn/activation.js';
import { buildModule, MODULE_TYPES } from '../../src/nn/build.js';
import { Sequential } from '../../src/nn/containers.js';
import { Linear } from '../../src/nn/linear.js';
import type { Module } from '../../src/nn/module.js';
import { rng } from '../../src/rng.js';
import type { Tensor } from '../../src/tensor.js';
import { assertGradients, assertThrowsConvnet, randomTensor } from '../helpers.js';

interface Case {
  label: string;
  make: () => Module;
  /** The layer function the module must match, bit for bit. */
  reference: (x: Tensor) => Tensor;
  config: Record<string, unknown>;
}

const CASES: Case[] = [
  { label: 'Tanh', make: () => new Tanh(), reference: (x) => tanhForward(x).out, config: { type: 'Tanh' } },
  { label: 'Sigmoid', make: () => new Sigmoid(), reference: (x) => sigmoidForward(x).out, config: { type: 'Sigmoid' } },
  { label: 'GELU', make: () => new GELU(), reference: (x) => geluForward(x).out, config: { type: 'GELU', approximate: 'none' } },
  { label: 'GELU (tanh)', make: () => new GELU({ approximate: 'tanh' }), reference: (x) => geluForward(x, 'tanh').out, config: { type: 'GELU', approximate: 'tanh' } },
  { label: 'ELU 1', make: () => new ELU(), reference: (x) => eluForward(x).out, config: { type: 'ELU', alpha: 1 } },
  { label: 'ELU 0.4', make: () => new ELU({ alpha: 0.4 }), reference: (x) => eluForward(x, 0.4).out, config: { type: 'ELU', alpha: 0.4 } },
];

describe('activation modules', () => {
  for (const c of CASES) {
    test(`${c.label}: float64 gradient check of dx, x of shape [3, 2, 4]`, () => {
      const module = c.make();
      const report = gradCheck({
        inputs: { x: randomTensor([3, 2, 4], 80, 'float64', 2) },
        forward: (inputs) => ({ out: module.forward(inputs.x!, 'train'), cache: inputs }),
        backward: (dout, inputs) => {
          module.forward(inputs.x!, 'train');
          return module.backward(dout);
        },
        seed: 1,
      });
      assertGradients(report, 1e-7, c.label);
    });
    test(`${c.label}: config round trip, label, shapes, no parameters, the layer function's bits`, () => {
      const module = c.make();
      assert.deepEqual(module.config, c.config);
      assert.equal(module.label, c.label);
      const rebuilt = buildModule(JSON.parse(JSON.stringify(module.config)));
      assert.deepEqual(rebuilt.config, module.config);
      assert.equal(rebuilt.type, module.type);
      assert.deepEqual(Object.keys(module.params), []);
      for (const dtype of ['float64', 'float32'] as const) {
        const x = randomTensor([2, 3, 4, 5], 81, dtype, 3);
        const out = module.forward(x, 'test');
        assert.deepEqual(out.shape, [2, ...module.outputShape([3, 4, 5])]);
        assert.deepEqual(Array.from(rebuilt.forward(x, 'test').data), Array.from(out.data));
        assert.deepEqual(Array.from(out.data), Array.from(c.reference(x).data));
      }
    });
    test(`${c.label}: backward before forward names the module`, () =>
      assertThrowsConvnet(() => c.make().backward(randomTensor([2], 1)), new RegExp(`${c.make().type}\\.backward`), /forward before backward/));
  }

  test('MODULE_TYPES lists the new types', () => {
    for (const type of ['Tanh', 'Sigmoid', 'GELU', 'ELU']) assert.ok((MODULE_TYPES as readonly string[]).includes(type), type);
  });

  test('in a Sequential: Linear → GELU → Linear → Tanh, rebuilt from its config, gives the same outputs', () => {
    const init = { dtype: 'float64' as const, generator: rng(3) };
    const net = new Sequential([new Linear({ inFeatures: 6, outFeatures: 5 }, init), new GELU(), new Linear({ inFeatures: 5, outFeatures: 4 }, init), new Tanh(), new ELU({ alpha: 0.5 }), new Sigmoid()]);
    const copy = buildModule(JSON.parse(JSON.stringify(net.config)), { dtype: 'float64' }) as Sequential;
    assert.deepEqual(copy.config, net.config);
    const [a, b] = [net.children(), copy.children()];
    a.forEach((m, i) => {
      for (const [name, p] of Object.entries(m.params)) b[i]!.params[name] = p;
    });
    const x = randomTensor([3, 6], 82);
    assert.deepEqual(Array.from(copy.forward(x, 'test').data), Array.from(net.forward(x, 'test').data));
    assert.deepEqual(net.outputShape([6]), [4]);
  });

  test('bad options are ConvnetErrors naming the module', () => {
    assertThrowsConvnet(() => new GELU({ approximate: 'erf' as never }), /GELU/, /'none' or 'tanh'/, /"erf"/);
    assertThrowsConvnet(() => new GELU({ approximation: 'tanh' } as never), /GELU/, /options among approximate/, /approximation/);
    assertThrowsConvnet(() => new ELU({ alpha: Number.NaN }), /ELU/, /alpha/);
    assertThrowsConvnet(() => new ELU({ slope: 1 } as never), /ELU/, /options among alpha/);
    assertThrowsConvnet(() => new Tanh({ alpha: 1 } as never), /Tanh/, /options among/);
    assertThrowsConvnet(() => new Sigmoid(null as never), /Sigmoid/, /options object/);
    assertThrowsConvnet(() => buildModule({ type: 'GELU', approximate: 3 }), /GELU/, /approximate/);
    assertThrowsConvnet(() => buildModule({ type: 'GELU', approximate: null }), /GELU/, /approximate/, /null/);
    assertThrowsConvnet(() => buildModule({ type: 'ELU', alpha: 'big' }), /ELU/, /alpha/);
  });

  test('a forward with a bad input is the layer function\'s error', () => {
    assertThrowsConvnet(() => new Tanh().forward(null as never, 'train'), /tanhForward/);
    assertThrowsConvnet(() => new GELU().forward({ shape: [1], data: [0] } as never, 'train'), /geluForward/);
  });
});
