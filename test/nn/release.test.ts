// releaseForward, for every module type: what a forward kept for its backward is gone after it
// (a backward then throws as before any forward), and the next forward works as before. The
// inference forward of a Network relies on it to keep nothing between calls.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildModule, MODULE_TYPES } from '../../src/nn/build.js';
import type { ModuleConfig } from '../../src/nn/module.js';
import { assertThrowsConvnet, randomTensor } from '../helpers.js';

const conv = (inChannels: number, outChannels: number): ModuleConfig => ({ type: 'Conv2d', inChannels, outChannels, kernelSize: 3, pad: 1 });

/** One config of each module type, and an input shape it takes. */
const CASES: Array<{ config: ModuleConfig; input: number[] }> = [
  { config: conv(2, 3), input: [2, 2, 5, 5] },
  { config: { type: 'ConvTranspose2d', inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1 }, input: [2, 2, 3, 4] },
  { config: { type: 'Linear', inFeatures: 6, outFeatures: 4 }, input: [3, 6] },
  { config: { type: 'ReLU' }, input: [3, 4] },
  { config: { type: 'LeakyReLU', alpha: 0.1 }, input: [3, 4] },
  { config: { type: 'Tanh' }, input: [3, 4] },
  { config: { type: 'Sigmoid' }, input: [3, 4] },
  { config: { type: 'GELU' }, input: [3, 4] },
  { config: { type: 'ELU' }, input: [3, 4] },
  { config: { type: 'MaxPool2d', kernelSize: 2 }, input: [2, 2, 4, 4] },
  { config: { type: 'AvgPool2d', kernelSize: 2 }, input: [2, 2, 4, 4] },
  { config: { type: 'GlobalAvgPool' }, input: [2, 2, 4, 4] },
  { config: { type: 'GlobalMaxPool' }, input: [2, 2, 4, 4] },
  { config: { type: 'BatchNorm', features: 4 }, input: [3, 4] },
  { config: { type: 'BatchNorm2d', features: 2 }, input: [3, 2, 3, 3] },
  { config: { type: 'LayerNorm', features: 4 }, input: [3, 4] },
  { config: { type: 'GroupNorm', channels: 4, groups: 2 }, input: [2, 4, 3, 3] },
  { config: { type: 'Dropout', keep: 0.5 }, input: [3, 4] },
  { config: { type: 'Flatten' }, input: [2, 2, 3, 3] },
  { config: { type: 'Upsample', mode: 'bilinear', scaleFactor: 2 }, input: [2, 2, 3, 3] },
  // conv → relu → 2×2 max pool: one fused step whose cache the Sequential itself keeps.
  { config: { type: 'Sequential', layers: [conv(2, 3), { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 }, { type: 'Flatten' }] }, input: [2, 2, 4, 4] },
  { config: { type: 'Residual', body: { type: 'Sequential', layers: [conv(2, 2), { type: 'ReLU' }] }, projection: null }, input: [2, 2, 4, 4] },
];

describe('releaseForward forgets the last forward, for every module type', () => {
  test('the cases cover every module type', () => {
    assert.deepEqual(new Set(CASES.map((c) => c.config.type)), new Set(MODULE_TYPES));
  });
  for (const { config, input } of CASES) {
    for (const dtype of ['float32', 'float64'] as const) {
      test(`${config.type}, ${dtype}`, () => {
        const module = buildModule(config, { dtype, seed: 1 });
        const x = randomTensor(input, 2, dtype);
        for (const mode of ['train', 'test'] as const) {
          const out = module.forward(x, mode);
          const dout = randomTensor(out.shape, 3, dtype);
          module.releaseForward();
          assertThrowsConvnet(() => module.backward(dout), /expected a forward before backward/);
          // The next forward and backward work as if nothing happened.
          module.forward(x, mode);
          assert.deepEqual(module.backward(dout).shape, x.shape);
        }
      });
    }
  }
});
