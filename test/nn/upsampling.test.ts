// ConvTranspose2d and Upsample modules: float64 gradient checks, shapes, configs, init, errors
// (the same checks as modules.test.ts, whose checkModule this file repeats).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradCheck } from '../../src/gradcheck.js';
import { convTransposeForward } from '../../src/layers/convTransposeFast.js';
import { ReLU } from '../../src/nn/activation.js';
import { buildModule, MODULE_TYPES } from '../../src/nn/build.js';
import { Sequential } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { ConvTranspose2d } from '../../src/nn/convTranspose.js';
import type { Mode, Module } from '../../src/nn/module.js';
import { Upsample } from '../../src/nn/upsample.js';
import { rng } from '../../src/rng.js';
import type { Tensor } from '../../src/tensor.js';
import { assertGradients, assertThrowsConvnet, randomTensor } from '../helpers.js';

const f64 = (seed: number) => ({ dtype: 'float64' as const, generator: rng(seed) });

/** dx and every parameter's gradient against centred differences of Σ forward(x) ⊙ dout. */
function checkModule(module: Module, x: Tensor, mode: Mode, label: string): void {
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
  assertGradients(report, 1e-7, label);
  assert.equal(report.entries.length, names.length + 1, `${label}: every input checked`);
}

const CASES: Array<{ label: string; make: () => Module; input: number[] }> = [
  { label: 'ConvTranspose2d 3→2, 3×3, stride 2, pad 1, output pad 1', make: () => new ConvTranspose2d({ inChannels: 3, outChannels: 2, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1 }, f64(1)), input: [2, 3, 3, 4] },
  { label: 'ConvTranspose2d 4→6, 2×3, dilation 2, groups 2, pad [0,1,1,0]', make: () => new ConvTranspose2d({ inChannels: 4, outChannels: 6, kernelSize: [2, 3], dilation: 2, groups: 2, pad: [0, 1, 1, 0] }, f64(2)), input: [2, 4, 3, 3] },
  { label: 'Upsample nearest ×2', make: () => new Upsample({ mode: 'nearest', scaleFactor: 2 }), input: [2, 2, 3, 4] },
  { label: 'Upsample nearest to 5×7', make: () => new Upsample({ size: [5, 7] }), input: [1, 2, 3, 4] },
  { label: 'Upsample bilinear ×[1.5, 2]', make: () => new Upsample({ mode: 'bilinear', scaleFactor: [1.5, 2] }), input: [2, 2, 4, 3] },
  { label: 'Upsample bilinear to 6×5, align corners', make: () => new Upsample({ mode: 'bilinear', size: [6, 5], alignCorners: true }), input: [1, 3, 3, 4] },
  {
    label: 'Sequential decoder: transposed conv → relu → bilinear upsample → conv',
    make: () =>
      new Sequential([
        new ConvTranspose2d({ inChannels: 3, outChannels: 4, kernelSize: 4, stride: 2, pad: 1 }, f64(3)),
        new ReLU(),
        new Upsample({ mode: 'bilinear', scaleFactor: 2 }),
        new Conv2d({ inChannels: 4, outChannels: 2, kernelSize: 3, pad: 1 }, f64(4)),
      ]),
    input: [2, 3, 2, 3],
  },
];

function leaves(module: Module): Module[] {
  return module.children().length === 0 ? [module] : module.children().flatMap(leaves);
}

describe('ConvTranspose2d and Upsample: float64 gradient checks of the input and every parameter', () => {
  for (const c of CASES) {
    test(c.label, () => {
      const module = c.make();
      const x = randomTensor(c.input, 20);
      checkModule(module, x, 'train', c.label);
      if (module.children().length === 0) return;
      // A container: each leaf's parameters through the whole container.
      for (const leaf of leaves(module)) {
        const names = Object.keys(leaf.params);
        if (names.length === 0) continue;
        const report = gradCheck({
          inputs: { ...leaf.params },
          forward: (inputs) => {
            for (const n of names) leaf.params[n] = inputs[n]!;
            return { out: module.forward(x, 'train'), cache: inputs };
          },
          backward: (dout, inputs) => {
            for (const n of names) leaf.params[n] = inputs[n]!;
            module.forward(x, 'train');
            module.backward(dout);
            return Object.fromEntries(names.map((n) => [`d${n}`, leaf.grads[n]]));
          },
          seed: 2,
        });
        assertGradients(report, 1e-7, `${c.label}: ${leaf.label}`);
      }
    });
  }
});

describe('ConvTranspose2d and Upsample: outputShape is the shape forward gives; config rebuilds the same module', () => {
  for (const c of CASES) {
    test(c.label, () => {
      const module = c.make();
      const x = randomTensor(c.input, 30);
      const out = module.forward(x, 'test');
      assert.deepEqual(out.shape, [c.input[0]!, ...module.outputShape(c.input.slice(1))]);
      const rebuilt = buildModule(JSON.parse(JSON.stringify(module.config)), { dtype: 'float64' });
      assert.deepEqual(rebuilt.config, module.config);
      const source = [module, ...module.children()];
      const target = [rebuilt, ...rebuilt.children()];
      source.forEach((m, i) => {
        for (const [name, p] of Object.entries(m.params)) target[i]!.params[name] = p;
      });
      assert.deepEqual(Array.from(rebuilt.forward(x, 'test').data), Array.from(out.data));
    });
  }

  test('both types are registered with buildModule', () => {
    assert.ok(MODULE_TYPES.includes('ConvTranspose2d'));
    assert.ok(MODULE_TYPES.includes('Upsample'));
  });

  test('configs and labels', () => {
    const convT = new ConvTranspose2d({ inChannels: 32, outChannels: 16, kernelSize: 4, stride: 2, pad: 1 });
    assert.deepEqual(convT.config, {
      type: 'ConvTranspose2d', inChannels: 32, outChannels: 16, kernelSize: [4, 4], stride: [2, 2], pad: [1, 1, 1, 1], outputPadding: [0, 0], dilation: [1, 1], groups: 1,
    });
    assert.equal(convT.label, 'ConvTranspose2d 32→16, 4×4, stride 2, pad 1');
    assert.deepEqual(convT.outputShape([32, 7, 7]), [16, 14, 14]);
    assert.equal(new ConvTranspose2d({ inChannels: 2, outChannels: 2, kernelSize: 3, stride: 2, outputPadding: 1 }).label, 'ConvTranspose2d 2→2, 3×3, stride 2, output pad 1');
    assert.deepEqual(new Upsample({ scaleFactor: 2 }).config, { type: 'Upsample', mode: 'nearest', scaleFactor: [2, 2] });
    assert.deepEqual(new Upsample({ mode: 'bilinear', size: [9, 8] }).config, { type: 'Upsample', mode: 'bilinear', size: [9, 8], alignCorners: false });
    assert.equal(new Upsample({ scaleFactor: 2 }).label, 'Upsample nearest ×2');
    assert.equal(new Upsample({ mode: 'bilinear', size: [9, 8], alignCorners: true }).label, 'Upsample bilinear to 9×8, align corners');
    assert.deepEqual(new Upsample({ mode: 'bilinear', scaleFactor: 1.5 }).outputShape([3, 5, 4]), [3, 7, 6]);
  });
});

describe('ConvTranspose2d: parameters', () => {
  test("weight (C, F / groups, kH, kW) drawn with He's std √(2 / fan-in), fan-in = weight.size(1)·kH·kW as PyTorch; bias zeros", () => {
    const m = new ConvTranspose2d({ inChannels: 64, outChannels: 32, kernelSize: 4, groups: 2 }, { dtype: 'float64', seed: 5 });
    const w = m.params.weight!;
    assert.deepEqual(w.shape, [64, 16, 4, 4]);
    let sq = 0;
    for (const v of w.data) sq += v * v;
    const std = Math.sqrt(sq / w.data.length);
    const want = Math.sqrt(2 / (16 * 4 * 4)); // not √(2 / (64·16)) (the input channels)
    assert.ok(Math.abs(std / want - 1) < 0.03, `std ${std}, want ${want}`);
    assert.deepEqual(m.params.bias!.shape, [32]);
    assert.ok(m.params.bias!.data.every((v) => v === 0));
    assert.deepEqual(m.decayed, ['weight']);
  });

  test("forward is convTransposeForward's bits", () => {
    const m = new ConvTranspose2d({ inChannels: 3, outChannels: 5, kernelSize: 3, stride: [2, 1], pad: 1, outputPadding: [1, 0] }, { dtype: 'float32', seed: 3 });
    const x = randomTensor([4, 3, 5, 6], 4, 'float32');
    const want = convTransposeForward(x, m.params.weight!, m.params.bias!, { stride: [2, 1], pad: 1, outputPadding: [1, 0] }).out;
    assert.deepEqual(Array.from(m.forward(x, 'train').data), Array.from(want.data));
  });
});

describe('ConvTranspose2d and Upsample: bad options and misuse are ConvnetErrors', () => {
  test('ConvTranspose2d options', () => {
    assertThrowsConvnet(() => new ConvTranspose2d({ inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2 }), /ConvTranspose2d/, /groups to divide inChannels \(3\)/);
    assertThrowsConvnet(() => new ConvTranspose2d({ inChannels: 3, outChannels: 4 } as never), /ConvTranspose2d/, /kernelSize/);
    assertThrowsConvnet(() => new ConvTranspose2d({ inChannels: 3, outChannels: 4, kernelSize: 3, output_padding: 1 } as never), /options among/, /output_padding/);
    assertThrowsConvnet(() => new ConvTranspose2d({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, outputPadding: 2 }), /ConvTranspose2d/, /outputPadding to be smaller than the stride or the dilation/);
    assertThrowsConvnet(() => new ConvTranspose2d({ inChannels: 3, outChannels: 4, kernelSize: 3, outputPadding: -1 }), /outputPadding/);
  });
  test('ConvTranspose2d outputShape and forward with the wrong input', () => {
    const m = new ConvTranspose2d({ inChannels: 3, outChannels: 4, kernelSize: 3, pad: 2 });
    assertThrowsConvnet(() => m.outputShape([2, 5, 5]), /expected input of shape \(3, H, W\), got \(2, 5, 5\)/);
    assertThrowsConvnet(() => m.outputShape([3, 1, 5]), /ConvTranspose2d/, /output height of at least 1/);
    assertThrowsConvnet(() => m.forward(randomTensor([2, 3, 4, 4], 1), 'train'), /convTransposeForward/, /dtype/);
    assertThrowsConvnet(() => m.backward(randomTensor([2, 4, 4, 4], 1, 'float32')), /ConvTranspose2d\.backward/, /forward before backward/);
  });
  test('Upsample options', () => {
    assertThrowsConvnet(() => new Upsample({ scaleFactor: 1.5 }), /Upsample/, /options.scaleFactor to be an integer >= 1/);
    assertThrowsConvnet(() => new Upsample({ mode: 'nearest' }), /Upsample/, /exactly one of options.scaleFactor and options.size/);
    assertThrowsConvnet(() => new Upsample({ scaleFactor: 2, alignCorners: true }), /alignCorners only with mode 'bilinear'/);
    assertThrowsConvnet(() => new Upsample({ scale: 2 } as never), /Upsample/, /options among/);
    assertThrowsConvnet(() => new Upsample({ mode: 'bilinear', scaleFactor: 0.2 }).outputShape([1, 3, 3]), /Upsample/, /at least 1×1/);
    assertThrowsConvnet(() => new Upsample({ scaleFactor: 2 }).outputShape([3, 3]), /expected input of shape \(C, H, W\)/);
    assertThrowsConvnet(() => new Upsample({ scaleFactor: 2 }).backward(randomTensor([1], 1)), /Upsample\.backward/);
    assertThrowsConvnet(() => buildModule({ type: 'Upsample', mode: 'bilinear' }), /Upsample/, /exactly one/);
  });
});
