// Modules: float64 gradient checks of input and parameter gradients, shapes, configs, fusion, errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradCheck } from '../../src/gradcheck.js';
import { convForward } from '../../src/layers/convFast.js';
import { LeakyReLU, ReLU } from '../../src/nn/activation.js';
import { buildModule } from '../../src/nn/build.js';
import { Residual, Sequential } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { Dropout } from '../../src/nn/dropout.js';
import { Flatten } from '../../src/nn/flatten.js';
import { Linear } from '../../src/nn/linear.js';
import type { Mode, Module } from '../../src/nn/module.js';
import { BatchNorm, BatchNorm2d, GroupNorm, LayerNorm } from '../../src/nn/norm.js';
import { AvgPool2d, GlobalAvgPool, GlobalMaxPool, MaxPool2d } from '../../src/nn/pool.js';
import { rng } from '../../src/rng.js';
import type { Tensor } from '../../src/tensor.js';
import { assertGradients, assertThrowsConvnet, randomTensor } from '../helpers.js';
import { scaledError } from '../kernels/suite.js';

const f64 = (seed: number) => ({ dtype: 'float64' as const, generator: rng(seed) });

/**
 * Gradient-checks a module: dx and every parameter's gradient against centred differences of
 * Σ forward(x) ⊙ dout. The backward always follows a forward on the unperturbed inputs.
 */
function checkModule(module: Module, x: Tensor, mode: Mode, label: string, tolerance = 1e-7): void {
  const names = Object.keys(module.params);
  const run = (inputs: Record<string, Tensor>): Tensor => {
    for (const name of names) module.params[name] = inputs[name]!;
    return module.forward(inputs.x!, mode);
  };
  const report = gradCheck({
    inputs: { x, ...module.params },
    forward: (inputs) => ({ out: run(inputs), cache: inputs }),
    backward: (dout, inputs) => {
      run(inputs);
      const dx = module.backward(dout);
      return { dx, ...Object.fromEntries(names.map((n) => [`d${n}`, module.grads[n]])) };
    },
    seed: 1,
  });
  assertGradients(report, tolerance, label);
  assert.equal(report.entries.length, names.length + 1, `${label}: every input checked`);
}

interface Case {
  label: string;
  make: () => Module;
  input: number[];
  modes?: Mode[];
}

const CASES: Case[] = [
  { label: 'Conv2d 3→4, 3×3, stride 2, pad [1,0,2,1]', make: () => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, pad: [1, 0, 2, 1] }, f64(1)), input: [2, 3, 7, 6] },
  { label: 'Conv2d 4→6, 2×3, dilation 2, groups 2', make: () => new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: [2, 3], dilation: 2, groups: 2 }, f64(2)), input: [2, 4, 6, 7] },
  { label: 'Linear 24→5 on (N, 2, 3, 4)', make: () => new Linear({ inFeatures: 24, outFeatures: 5 }, f64(3)), input: [3, 2, 3, 4] },
  { label: 'ReLU', make: () => new ReLU(), input: [3, 2, 4] },
  { label: 'LeakyReLU 0.2', make: () => new LeakyReLU({ alpha: 0.2 }), input: [3, 7] },
  { label: 'MaxPool2d 3×3 stride 2 (overlapping), pad 1', make: () => new MaxPool2d({ kernelSize: 3, stride: 2, pad: 1 }), input: [2, 2, 7, 6] },
  { label: 'MaxPool2d 2×2 ceil mode', make: () => new MaxPool2d({ kernelSize: 2, ceilMode: true }), input: [2, 2, 5, 5] },
  { label: 'AvgPool2d 3×3 stride 2, pad 1, padding not counted', make: () => new AvgPool2d({ kernelSize: 3, stride: 2, pad: 1, countIncludePad: false }), input: [2, 3, 6, 5] },
  { label: 'GlobalAvgPool', make: () => new GlobalAvgPool(), input: [2, 3, 4, 5] },
  { label: 'GlobalMaxPool', make: () => new GlobalMaxPool(), input: [2, 3, 4, 5] },
  { label: 'BatchNorm 6', make: () => new BatchNorm({ features: 6 }, f64(4)), input: [5, 6], modes: ['train', 'test'] },
  { label: 'BatchNorm2d 3', make: () => new BatchNorm2d({ features: 3 }, f64(5)), input: [4, 3, 3, 2], modes: ['train', 'test'] },
  { label: 'LayerNorm 7', make: () => new LayerNorm({ features: 7 }, f64(6)), input: [4, 7] },
  { label: 'GroupNorm 6 channels in 3 groups', make: () => new GroupNorm({ channels: 6, groups: 3 }, f64(7)), input: [2, 6, 3, 3] },
  { label: 'Dropout keep 0.6', make: () => Object.assign(new Dropout({ keep: 0.6 }, f64(8)), { fixedSeed: 3 }), input: [4, 9], modes: ['train', 'test'] },
  { label: 'Flatten', make: () => new Flatten(), input: [2, 3, 2, 2] },
  {
    label: 'Sequential conv → relu → 2×2 max pool (fused) → conv → relu (fused) → flatten → linear',
    make: () =>
      new Sequential([
        new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, pad: 1 }, f64(9)),
        new ReLU(),
        new MaxPool2d({ kernelSize: 2 }),
        new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, pad: 1 }, f64(10)),
        new ReLU(),
        new Flatten(),
        new Linear({ inFeatures: 36, outFeatures: 3 }, f64(11)),
      ]),
    input: [2, 2, 6, 6],
  },
  {
    label: 'Residual with an identity skip',
    // (relu before bn: a bias right before batch norm has a gradient of exactly zero, which a numerical check cannot resolve)
    make: () => new Residual({ body: new Sequential([new Conv2d({ inChannels: 3, outChannels: 3, kernelSize: 3, pad: 1 }, f64(12)), new ReLU(), new BatchNorm2d({ features: 3 }, f64(12))]) }),
    input: [3, 3, 4, 4],
    modes: ['train', 'test'],
  },
  {
    label: 'Residual with a strided 1×1 projection',
    make: () =>
      new Residual({
        body: new Conv2d({ inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2, pad: 1 }, f64(13)),
        projection: new Conv2d({ inChannels: 2, outChannels: 4, kernelSize: 1, stride: 2 }, f64(14)),
      }),
    input: [2, 2, 5, 5],
  },
];

/** A module's parameters, including its children's (so container checks cover every layer). */
function allParams(module: Module): Tensor[] {
  return [...Object.values(module.params), ...module.children().flatMap(allParams)];
}

describe('modules: float64 gradient checks of the input and every parameter', () => {
  for (const c of CASES) {
    for (const mode of c.modes ?? ['train']) {
      test(`${c.label}, ${mode} mode`, () => {
        const module = c.make();
        const x = randomTensor(c.input, 20);
        if (module.children().length === 0) {
          checkModule(module, x, mode, c.label);
          return;
        }
        // A container: check dx through it, and each leaf's parameters through the whole container.
        checkModule(module, x, mode, c.label);
        const leaves = allParams(module);
        assert.ok(leaves.length > 0);
        for (const leaf of walkLeaves(module)) {
          const names = Object.keys(leaf.params);
          if (names.length === 0) continue;
          const report = gradCheck({
            inputs: { ...leaf.params },
            forward: (inputs) => {
              for (const n of names) leaf.params[n] = inputs[n]!;
              return { out: module.forward(x, mode), cache: inputs };
            },
            backward: (dout, inputs) => {
              for (const n of names) leaf.params[n] = inputs[n]!;
              module.forward(x, mode);
              module.backward(dout);
              return Object.fromEntries(names.map((n) => [`d${n}`, leaf.grads[n]]));
            },
            seed: 2,
          });
          assertGradients(report, 1e-7, `${c.label}: ${leaf.label}`);
        }
      });
    }
  }
});

function walkLeaves(module: Module): Module[] {
  return module.children().length === 0 ? [module] : module.children().flatMap(walkLeaves);
}

describe('modules: outputShape is the shape forward gives; config rebuilds the same module', () => {
  for (const c of CASES) {
    test(c.label, () => {
      const module = c.make();
      const x = randomTensor(c.input, 30);
      const out = module.forward(x, 'test');
      assert.deepEqual(out.shape, [c.input[0]!, ...module.outputShape(c.input.slice(1))]);
      const config = JSON.parse(JSON.stringify(module.config));
      const rebuilt = buildModule(config, { dtype: 'float64' });
      assert.deepEqual(rebuilt.config, module.config);
      const source = [module, ...module.children().flatMap(function all(m: Module): Module[] { return [m, ...m.children().flatMap(all)]; })];
      const target = [rebuilt, ...rebuilt.children().flatMap(function all(m: Module): Module[] { return [m, ...m.children().flatMap(all)]; })];
      assert.equal(target.length, source.length);
      source.forEach((m, i) => {
        for (const [name, p] of Object.entries(m.params)) target[i]!.params[name] = p;
        for (const [name, b] of Object.entries(m.buffers)) target[i]!.buffers[name]!.data.set(b.data);
        if (m instanceof Dropout) (target[i] as Dropout).fixedSeed = m.fixedSeed;
      });
      assert.deepEqual(Array.from(rebuilt.forward(x, 'test').data), Array.from(module.forward(x, 'test').data));
    });
  }
});

describe('modules: forward is the layer function', () => {
  test('Conv2d.forward gives convForward\'s bits', () => {
    const conv = new Conv2d({ inChannels: 3, outChannels: 5, kernelSize: 3, stride: [1, 2], pad: 1 }, { dtype: 'float32', seed: 3 });
    const x = randomTensor([4, 3, 9, 8], 4, 'float32');
    const expected = convForward(x, conv.params.weight!, conv.params.bias!, { stride: [1, 2], pad: 1 }).out;
    assert.deepEqual(Array.from(conv.forward(x, 'train').data), Array.from(expected.data));
  });
});

describe('Sequential: fusing conv → relu (→ max pool) changes nothing but speed', () => {
  const layers = (dtype: 'float32' | 'float64'): Module[] => {
    const init = { dtype, generator: rng(40) };
    return [
      new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, pad: 1 }, init),
      new ReLU(),
      new MaxPool2d({ kernelSize: 2 }),
      new Conv2d({ inChannels: 8, outChannels: 6, kernelSize: 3, pad: 1 }, init),
      new ReLU(),
      new MaxPool2d({ kernelSize: 3, stride: 1 }),
      new Conv2d({ inChannels: 6, outChannels: 4, kernelSize: 1 }, init),
      new ReLU(),
      new Flatten(),
      new Linear({ inFeatures: 4 * 3 * 3, outFeatures: 3 }, init),
    ];
  };
  for (const dtype of ['float64', 'float32'] as const) {
    test(dtype, () => {
      const shared = layers(dtype);
      const fused = new Sequential(shared);
      const plain = new Sequential(shared, { fuse: false });
      const x = randomTensor([6, 3, 10, 10], 41, dtype);
      const dout = randomTensor([6, 3], 42, dtype);
      const a = fused.forward(x, 'train');
      const dxa = fused.backward(dout);
      const grads = shared.map((m) => ({ ...m.grads }));
      const b = plain.forward(x, 'train');
      const dxb = plain.backward(dout);
      const tolerance = dtype === 'float64' ? 1e-12 : 1e-5;
      assert.ok(scaledError(a.data, b.data) <= tolerance, 'scores');
      assert.ok(scaledError(dxa.data, dxb.data) <= tolerance, 'dx');
      shared.forEach((m, i) => {
        for (const name of Object.keys(m.params)) assert.ok(scaledError(grads[i]![name]!.data, m.grads[name]!.data) <= tolerance, `${m.label} ${name}`);
      });
      assert.deepEqual(fused.config, plain.config, 'fusion is not in the config');
    });
  }
});

describe('modules: bad options and misuse are ConvnetErrors', () => {
  test('Conv2d: groups that do not divide, a missing kernel size, an unknown option', () => {
    assertThrowsConvnet(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2 }), /Conv2d/, /groups to divide inChannels \(3\)/);
    assertThrowsConvnet(() => new Conv2d({ inChannels: 3, outChannels: 4 } as never), /kernelSize/);
    assertThrowsConvnet(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1 } as never), /options among/, /padding/);
    assertThrowsConvnet(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 1.5 }), /kernelSize/);
  });
  test('outputShape rejects an input the layer cannot take', () => {
    assertThrowsConvnet(() => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3 }).outputShape([2, 5, 5]), /expected input of shape \(3, H, W\), got \(2, 5, 5\)/);
    assertThrowsConvnet(() => new Linear({ inFeatures: 10, outFeatures: 2 }).outputShape([3, 3]), /10 features/);
    assertThrowsConvnet(() => new MaxPool2d({ kernelSize: 4 }).outputShape([1, 3, 3]), /window/);
    assertThrowsConvnet(() => new Residual({ body: new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 1 }) }).outputShape([2, 4, 4]), /Residual/, /add a projection/);
  });
  test('backward before forward names the module', () => {
    assertThrowsConvnet(() => new ReLU().backward(randomTensor([2], 1)), /ReLU\.backward/, /forward before backward/);
    assertThrowsConvnet(() => new Sequential([new ReLU()]).backward(randomTensor([2], 1)), /Sequential\.backward/);
  });
  test('buildModule: an unknown type, a config that is not an object', () => {
    assertThrowsConvnet(() => buildModule({ type: 'Conv3d' }), /buildModule/, /config\.type to be one of/, /Conv3d/);
    assertThrowsConvnet(() => buildModule({ type: 'Sequential', layers: [{ type: 'ReLU' }, 3] } as never), /config\.layers\[1\]/);
    assertThrowsConvnet(() => buildModule(null as never), /buildModule/);
  });
  test('a forward with the wrong input is the layer function\'s error', () => {
    assertThrowsConvnet(() => new Linear({ inFeatures: 4, outFeatures: 2 }, { dtype: 'float64' }).forward(randomTensor([2, 5], 1), 'train'), /affineForward/);
    assertThrowsConvnet(() => new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 1 }).forward(randomTensor([2, 2, 3, 3], 1), 'train'), /dtype/);
  });
});
