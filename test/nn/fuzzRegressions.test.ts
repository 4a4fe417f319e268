// Regression tests for module bugs the module fuzz (test/fuzz/modules.test.ts) found: each case
// failed with another error type, allocated gigabytes, hung, or silently returned a wrong result.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReLU } from '../../src/nn/activation.js';
import { buildModule } from '../../src/nn/build.js';
import { MAX_NESTING, Residual, Sequential } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { Dropout } from '../../src/nn/dropout.js';
import { Linear } from '../../src/nn/linear.js';
import type { Mode, Module, ModuleConfig } from '../../src/nn/module.js';
import { BatchNorm, GroupNorm } from '../../src/nn/norm.js';
import { MaxPool2d } from '../../src/nn/pool.js';
import { assertThrowsConvnet, randomTensor } from '../helpers.js';

/** Throws a ConvnetError matching the patterns within `ms` (a rejection must be cheap, not after allocating). */
function rejectsQuickly(fn: () => unknown, ms: number, ...patterns: RegExp[]): void {
  const start = Date.now();
  assertThrowsConvnet(fn, ...patterns);
  assert.ok(Date.now() - start < ms, `took ${Date.now() - start} ms`);
}

describe('module fuzz regressions: options', () => {
  test('parameter sizes over 2^27 values are rejected before allocating, naming the module', () => {
    // Was: BatchNorm with 2^29 features allocated four 2 GiB arrays (20 s); 2^40 was named 'allocate'.
    rejectsQuickly(() => new BatchNorm({ features: 2 ** 29 }), 1000, /^BatchNorm: .*gamma of at most 2\^27 values/);
    rejectsQuickly(() => new Linear({ inFeatures: 2 ** 40, outFeatures: 1 }), 1000, /^Linear: .*weight/);
    rejectsQuickly(() => new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: [2 ** 14, 2 ** 14] }), 1000, /^Conv2d: .*weight/);
    rejectsQuickly(() => new GroupNorm({ channels: 2 ** 31, groups: 1 }), 1000, /^GroupNorm: /);
    rejectsQuickly(() => buildModule({ type: 'Linear', inFeatures: 2 ** 20, outFeatures: 2 ** 20 }), 1000, /^Linear: /);
  });

  test('init options are checked in the name of the module being built', () => {
    // Was: a TypeError at the first draw (init.generator.normal is not a function), and 'rng: …' for a bad seed.
    assertThrowsConvnet(() => new Linear({ inFeatures: 2, outFeatures: 1 }, { generator: 5 as never }), /^Linear: expected generator/);
    assertThrowsConvnet(() => new Dropout({ keep: 0.5 }, { generator: {} as never }), /^Dropout: expected generator/);
    assertThrowsConvnet(() => new BatchNorm({ features: 2 }, { seed: Number.NaN }), /^BatchNorm: expected seed to be an integer/);
    assertThrowsConvnet(() => buildModule({ type: 'ReLU' }, { seed: 'x' as never }), /^buildModule: expected seed/);
    // Was: silently ignored, giving float32 parameters.
    assertThrowsConvnet(() => new Linear({ inFeatures: 2, outFeatures: 1 }, { dtyp: 'float64' } as never), /^Linear: expected init options among/);
  });

  test('options.type, if given, must name the module', () => {
    // Was: new Conv2d({ type: 'Linear', … }) built a Conv2d without a word.
    assertThrowsConvnet(() => new Conv2d({ type: 'Linear', inChannels: 1, outChannels: 1, kernelSize: 1 } as never), /^Conv2d: expected options.type to be "Conv2d"/);
    assertThrowsConvnet(() => new ReLU({ type: 'relu' } as never), /^ReLU: /);
    assert.equal(new ReLU({ type: 'ReLU' } as never).type, 'ReLU');
  });

  test('Sequential and Residual check their options', () => {
    // Was: TypeError (reading 'fuse' of null); unknown options were ignored.
    assertThrowsConvnet(() => new Sequential([], null as never), /^Sequential: expected options/);
    assertThrowsConvnet(() => new Sequential([], { fusion: true } as never), /^Sequential: expected options among fuse/);
    assertThrowsConvnet(() => new Sequential([], { fuse: 1 } as never), /^Sequential: expected fuse to be a boolean/);
    assertThrowsConvnet(() => new Residual({ body: new ReLU(), skip: null } as never), /^Residual: expected options among body, projection/);
  });
});

describe('module fuzz regressions: forward and backward', () => {
  const x = randomTensor([3, 4], 1);

  test('every module checks its mode, whether or not it reads it', () => {
    // Was: Conv2d, ReLU, pools … returned for 'eval'; batch norm failed naming batchnormForwardNaive.
    const image = randomTensor([1, 1, 4, 4], 2);
    for (const mode of ['eval', 'Train', undefined, null, 1]) {
      assertThrowsConvnet(() => new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: 1 }, { dtype: 'float64' }).forward(image, mode as Mode), /^Conv2d.forward: expected mode 'train' or 'test'/);
      assertThrowsConvnet(() => new ReLU().forward(x, mode as Mode), /^ReLU.forward: /);
      assertThrowsConvnet(() => new MaxPool2d({ kernelSize: 2 }).forward(image, mode as Mode), /^MaxPool2d.forward: /);
      assertThrowsConvnet(() => new Sequential([new Linear({ inFeatures: 4, outFeatures: 4 }, { dtype: 'float64' }), new BatchNorm({ features: 4 }, { dtype: 'float64' })]).forward(x, mode as Mode), /^Sequential.forward: /);
    }
  });

  test('a backward after a rejected forward throws, rather than differentiating the forward before it', () => {
    // Was: the cache of the earlier forward stayed, and backward returned its gradients.
    const modules: Module[] = [
      new Linear({ inFeatures: 4, outFeatures: 2 }, { dtype: 'float64' }),
      new ReLU(),
      new Sequential([new ReLU(), new Linear({ inFeatures: 4, outFeatures: 2 }, { dtype: 'float64' })]),
      new Residual({ body: new Sequential([new Linear({ inFeatures: 4, outFeatures: 4 }, { dtype: 'float64' }), new ReLU()]) }),
    ];
    for (const m of modules) {
      const out = m.forward(x, 'train');
      m.backward(out); // fine: follows its forward
      assertThrowsConvnet(() => m.forward({ shape: [3, 4], data: [1], dtype: 'float64' } as never, 'train'));
      assertThrowsConvnet(() => m.backward(out), new RegExp(`^${m.type}.backward: expected a forward before backward`));
    }
    // Part-way: the ReLU ran on the new x, the Linear rejected it (5 features, not 4).
    const seq = new Sequential([new ReLU(), new Linear({ inFeatures: 4, outFeatures: 2 }, { dtype: 'float64' })]);
    const out = seq.forward(x, 'train');
    assertThrowsConvnet(() => seq.forward(randomTensor([3, 5], 3), 'train'), /affineForward/);
    assertThrowsConvnet(() => seq.backward(out), /^Sequential.backward: expected a forward before backward/);
  });

  test('a module may appear once in a tree: its cache serves one place', () => {
    // Was: [linear, relu, linear] ran, and backward differentiated the second use twice (wrong gradients, no error).
    const linear = new Linear({ inFeatures: 4, outFeatures: 4 }, { dtype: 'float64' });
    assertThrowsConvnet(() => new Sequential([linear, new ReLU(), linear]), /^Sequential: expected each module once in the tree, got Linear 4→4 twice/);
    assertThrowsConvnet(() => new Sequential([linear, new Sequential([linear])]), /^Sequential: expected each module once/);
    assertThrowsConvnet(() => new Residual({ body: linear, projection: linear }), /^Residual: expected each module once/);
  });
});

describe('module fuzz regressions: nesting', () => {
  const nested = (depth: number): string => '{"type":"Sequential","layers":['.repeat(depth) + '{"type":"ReLU"}' + ']}'.repeat(depth);

  test('buildModule rejects configs nested deeper than MAX_NESTING, and cyclic config objects', () => {
    // Was: RangeError: Maximum call stack size exceeded (JSON.parse reads 20,000 levels; build recursed).
    rejectsQuickly(() => buildModule(JSON.parse(nested(20_000)) as ModuleConfig), 1000, /^buildModule: expected containers nested at most 100 deep/);
    const cyclic: { type: string; layers: unknown[] } = { type: 'Sequential', layers: [] };
    cyclic.layers.push(cyclic);
    assertThrowsConvnet(() => buildModule(cyclic as unknown as ModuleConfig), /^buildModule: expected containers nested/);
    const ok = buildModule(JSON.parse(nested(MAX_NESTING)) as ModuleConfig);
    assert.equal(ok.outputShape([3])[0], 3);
  });

  test('containers built in code are limited the same way', () => {
    let m: Module = new ReLU();
    for (let i = 0; i < MAX_NESTING; i++) m = new Sequential([m]);
    assertThrowsConvnet(() => new Sequential([m]), /^Sequential: expected containers nested at most 100 deep, got 101/);
    assertThrowsConvnet(() => new Residual({ body: m }), /^Residual: expected containers nested at most 100 deep/);
  });
});
