// A saved model file read by a reader written in this test from the safetensors format
// description alone (an 8-byte little-endian header length, a JSON header, the data buffer):
// every parameter, buffer and the preprocessing mean is found with the model's bytes, and the
// file has the layout src/io/model.ts documents.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { saveModel } from '../../src/io/files.js';
import { ReLU } from '../../src/nn/activation.js';
import { Sequential } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { Linear } from '../../src/nn/linear.js';
import { BatchNorm2d } from '../../src/nn/norm.js';
import { GlobalAvgPool } from '../../src/nn/pool.js';
import { Network } from '../../src/models/network.js';
import { rng } from '../../src/rng.js';
import type { DType, Tensor } from '../../src/tensor.js';
import { sgd } from '../../src/train/optim.js';
import { CONVNET_VERSION } from '../../src/version.js';
import { randomTensor } from '../helpers.js';
import { MODEL_KINDS, residualNet } from '../models/kinds.js';

/** What the reader finds for one tensor. */
interface Found {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
  bytes: Uint8Array;
}

/** The format, as its README describes it, and nothing of the project's reader. */
function readSafetensors(file: Uint8Array): { headerLength: number; metadata: Record<string, string>; tensors: Map<string, Found>; dataLength: number } {
  const headerLength = Number(new DataView(file.buffer, file.byteOffset, file.byteLength).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  const data = file.subarray(8 + headerLength);
  const tensors = new Map<string, Found>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    tensors.set(name, { dtype, shape, begin, end, bytes: data.slice(begin, end) });
  }
  return { headerLength, metadata: header['__metadata__'] as Record<string, string>, tensors, dataLength: data.length };
}

const bytesOf = (t: Tensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const CODE: Record<DType, string> = { float32: 'F32', float64: 'F64' };

/** A small net with a grouped convolution, so that (F, C / groups, kH, kW) differs from (F, C, kH, kW). */
function groupedNet(dtype: DType): Network {
  const init = { dtype, generator: rng(11) };
  const layers = new Sequential([
    new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: [3, 1], pad: [1, 0], groups: 2 }, init),
    new BatchNorm2d({ features: 6 }, init),
    new ReLU(),
    new GlobalAvgPool(),
    new Linear({ inFeatures: 6, outFeatures: 3 }, init),
  ]);
  return new Network({ module: layers, inputShape: [4, 5, 5] });
}

interface Case {
  label: string;
  make: (dtype: DType) => Network;
  inputShape: number[];
  /** Per channel (C, 1, 1) rather than per pixel. */
  perChannelMean: boolean;
}

const CASES: Case[] = [
  { label: 'ThreeLayerConvNet', make: MODEL_KINDS[0]!.make, inputShape: MODEL_KINDS[0]!.inputShape, perChannelMean: false },
  { label: 'ConvNet with bn (buffers)', make: MODEL_KINDS[3]!.make, inputShape: MODEL_KINDS[3]!.inputShape, perChannelMean: true },
  { label: 'Network with Residual blocks', make: (dtype) => residualNet(dtype), inputShape: [2, 6, 5], perChannelMean: false },
  { label: 'Network with a grouped conv', make: groupedNet, inputShape: [4, 5, 5], perChannelMean: true },
];

/** A few SGD steps, so parameters and batch-norm statistics are no longer their initial values. */
function train(model: Network, inputShape: number[], dtype: DType): void {
  const r = rng(5);
  for (let step = 0; step < 3; step++) {
    const X = randomTensor([6, ...inputShape], 20 + step, dtype);
    const { grads } = model.loss(X, Int32Array.from({ length: 6 }, () => r.int(model.numClasses)));
    for (const [name, w] of Object.entries(model.params)) model.params[name] = sgd(w, grads[name]!, { learningRate: 0.05 }).next;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'convnet-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a saved model file, read by a reader written from the safetensors format description', () => {
  for (const c of CASES) {
    for (const dtype of ['float32', 'float64'] as const) {
      test(`${c.label}, ${dtype}: every tensor with the model's bytes, and the documented layout`, async () => {
        const model = c.make(dtype);
        train(model, c.inputShape, dtype);
        const [C, H, W] = c.inputShape as [number, number, number];
        const mean = randomTensor(c.perChannelMean ? [C, 1, 1] : [C, H, W], 8, dtype);
        const classNames = Array.from({ length: model.numClasses }, (_, i) => `class ${i}`);
        const training = { dataset: 'synthetic', epochs: 3, valAccuracy: 0.25 };
        const path = join(dir, `${c.label.replace(/\W+/g, '-')}-${dtype}.safetensors`);
        await saveModel(model, path, { classNames, preprocessing: { scale: 1 / 255, mean }, training });

        const file = new Uint8Array(readFileSync(path));
        const { headerLength, metadata, tensors, dataLength } = readSafetensors(file);

        // Every parameter, buffer and the mean, byte for byte; nothing else.
        const expected = new Map<string, Tensor>([...Object.entries(model.params), ...Object.entries(model.buffers), ['preprocessing.mean', mean]]);
        assert.ok(Object.keys(model.buffers).length > 0 || c.label === 'ThreeLayerConvNet', 'bn models have buffers');
        assert.deepEqual([...tensors.keys()].sort(), [...expected.keys()].sort());
        for (const [name, t] of expected) {
          const found = tensors.get(name)!;
          assert.equal(found.dtype, CODE[dtype], `${name} dtype`);
          assert.deepEqual(found.shape, t.shape, `${name} shape`);
          assert.deepEqual(found.bytes, bytesOf(t), `${name} bytes`);
        }
        // Batch-norm statistics were trained (not the initial zeros and ones).
        for (const [name, t] of Object.entries(model.buffers)) {
          const initial = name.startsWith('runningMean') ? 0 : 1;
          assert.ok(Array.from(t.data).some((v) => v !== initial), `${name} moved during training`);
        }

        // Conv weights are (F, C / groups, kH, kW), under the model's names.
        for (const { name, module, local } of model.namedParams) {
          if (!(module instanceof Conv2d) || local !== 'weight') continue;
          assert.deepEqual(tensors.get(name)!.shape, [module.outChannels, module.inChannels / module.groups, ...module.kernelSize], `${name} layout`);
        }

        // The data buffer is covered exactly, each tensor aligned to its item size in the file.
        const spans = [...tensors.values()].sort((a, b) => a.begin - b.begin);
        let at = 0;
        for (const s of spans) {
          assert.equal(s.begin, at);
          assert.equal((8 + headerLength + s.begin) % (dtype === 'float64' ? 8 : 4), 0);
          at = s.end;
        }
        assert.equal(at, dataLength);

        // The metadata: format, and the convnet JSON's fields.
        assert.deepEqual(Object.keys(metadata).sort(), ['convnet', 'format']);
        assert.equal(metadata['format'], 'convnet-model');
        const convnet = JSON.parse(metadata['convnet']!) as Record<string, unknown>;
        assert.deepEqual(Object.keys(convnet).sort(), ['classNames', 'config', 'convnetVersion', 'dtype', 'preprocessing', 'training', 'version']);
        assert.equal(convnet['version'], 1);
        assert.equal(convnet['convnetVersion'], CONVNET_VERSION);
        assert.deepEqual(convnet['config'], JSON.parse(JSON.stringify(model.config)));
        assert.equal(convnet['dtype'], dtype);
        assert.deepEqual(convnet['preprocessing'], { scale: 1 / 255, mean: 'preprocessing.mean' });
        assert.deepEqual(convnet['classNames'], classNames);
        assert.deepEqual(convnet['training'], training);
      });
    }
  }
});
