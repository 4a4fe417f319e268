// ONNX export: onnxruntime runs every exported model kind and every module, and agrees with
// convnet's own test-mode forward.
//
// "Agrees" is measured as max |ort − ours| / max |ours| over the whole (N, classes) output (the
// error against the output's scale, so that a score near zero does not blow it up), below 1e-4.
// Every net's parameters and running statistics are random (not the initial ones), so a wrong
// layout, axis or epsilon shows; each net's scores are checked not to be all zero or constant.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { ConvnetError } from '../../src/errors.js';
import { exportOnnx, onnxIrVersion, onnxModelOf, ONNX_MAX_OPSET, ONNX_MIN_OPSET } from '../../src/io/onnx/export.js';
import { decodeOnnx, OnnxDataType, tensorValues } from '../../src/io/onnx/proto.js';
import { softmax } from '../../src/layers/activations.js';
import { Network } from '../../src/models/network.js';
import { ELU, GELU, LeakyReLU, ReLU, Sigmoid, Tanh } from '../../src/nn/activation.js';
import { Residual, Sequential } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { ConvTranspose2d } from '../../src/nn/convTranspose.js';
import { Dropout } from '../../src/nn/dropout.js';
import { Flatten } from '../../src/nn/flatten.js';
import { Linear } from '../../src/nn/linear.js';
import { Module, type Mode, type ModuleConfig } from '../../src/nn/module.js';
import { BatchNorm, BatchNorm2d, GroupNorm, LayerNorm } from '../../src/nn/norm.js';
import { AvgPool2d, GlobalAvgPool, GlobalMaxPool, MaxPool2d } from '../../src/nn/pool.js';
import { Upsample } from '../../src/nn/upsample.js';
import { rng } from '../../src/rng.js';
import { sizeOf, type DType, type Tensor } from '../../src/tensor.js';
import { MODEL_KINDS } from '../models/kinds.js';
import { randomTensor } from '../helpers.js';

const TOLERANCE = 1e-4;

/** Random parameters and running statistics (variances in [0.5, 1.5)), so that every tensor matters. */
function randomise(model: Network, seed: number): Network {
  const g = rng(seed);
  for (const [name, t] of Object.entries(model.params)) {
    const data = t.data.slice();
    for (let i = 0; i < data.length; i++) data[i] = name.startsWith('gamma') ? 1 + 0.3 * g.normal() : name.startsWith('W') ? t.data[i]! : 0.2 * g.normal();
    model.params[name] = { shape: [...t.shape], data, dtype: t.dtype };
  }
  for (const [name, t] of Object.entries(model.buffers)) {
    for (let i = 0; i < t.data.length; i++) t.data[i] = name.startsWith('runningVar') ? 0.5 + g.uniform() : 0.3 * g.normal();
  }
  return model;
}

async function runOnnx(bytes: Uint8Array, X: Tensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const feeds = { input: new ort.Tensor('float32', Float32Array.from(X.data), X.shape) };
  const results = await session.run(feeds);
  const out = results[session.outputNames[0]!]!;
  return { data: out.data as Float32Array, dims: out.dims };
}

/** max |a − b| / max |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** Exports at `opset`, runs onnxruntime on random batches of 1 and 7, and compares with model.forward (test mode). */
async function assertAgrees(model: Network, opset: number, options: { softmax?: boolean; seed?: number } = {}): Promise<void> {
  const bytes = exportOnnx(model, { opset, softmax: options.softmax ?? false });
  for (const N of [1, 7]) {
    const X = randomTensor([N, ...model.inputShape], (options.seed ?? 0) + N, model.dtype);
    const scores = model.forward(X);
    const expected = options.softmax === true ? softmax(scores) : scores;
    const got = await runOnnx(bytes, X);
    assert.deepEqual(got.dims, [N, ...model.outputShape]);
    const values = Array.from(expected.data);
    assert.ok(values.some((v) => v !== values[0]), 'the scores vary (a net that outputs a constant would agree trivially)');
    const error = relativeError(got.data, expected.data);
    assert.ok(error < TOLERANCE, `opset ${opset}, batch ${N}: relative error ${error.toExponential(2)} >= ${TOLERANCE}`);
  }
}

function opTypes(model: Network, opset: number): string[] {
  return decodeOnnx(exportOnnx(model, { opset })).graph.node.map((n) => n.opType);
}

const init = (seed: number, dtype: DType = 'float32') => ({ dtype, generator: rng(seed) });

/** A Network of `layers`, then Flatten → Linear to `classes` scores (its inFeatures from the layers' output shape). */
function headed(inputShape: number[], layers: Module[], classes: number, seed: number): Network {
  const features = sizeOf(new Sequential(layers).outputShape(inputShape));
  return new Network({ inputShape, module: new Sequential([...layers, new Flatten(), new Linear({ inFeatures: features, outFeatures: classes }, init(seed))]) });
}

/** Networks that together use every module and option the exporter knows. */
const EXTRA: Array<{ label: string; make: () => Network }> = [
  {
    label: 'ConvTranspose2d: stride 2 + output padding on a non-square input; grouped, dilated, asymmetric pads',
    make: () => {
      const i = init(11);
      return headed([2, 5, 7], [
        new Conv2d({ inChannels: 2, outChannels: 4, kernelSize: 3, pad: 1 }, i),
        new ReLU(),
        new ConvTranspose2d({ inChannels: 4, outChannels: 4, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1 }, i), // (10, 14)
        new ReLU(),
        new ConvTranspose2d({ inChannels: 4, outChannels: 6, kernelSize: [3, 2], stride: [2, 1], pad: [1, 0, 2, 1], outputPadding: [1, 1], dilation: [1, 2], groups: 2 }, i),
        new ELU(),
        // Output padding 1 at stride 1 (below the dilation, as PyTorch allows) past an end pad of 0: Pad + Add in ONNX.
        new ConvTranspose2d({ inChannels: 6, outChannels: 2, kernelSize: 2, stride: [1, 2], pad: [0, 1, 0, 0], outputPadding: [1, 1], dilation: [2, 1] }, i),
      ], 4, 21);
    },
  },
  {
    label: 'Conv2d grouped, dilated, strided, asymmetric pads',
    make: () => {
      const i = init(12);
      return new Network({
        inputShape: [4, 9, 8],
        module: new Sequential([
          new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: 3, stride: [2, 1], pad: [1, 2, 0, 1], dilation: [2, 1], groups: 2 }, i),
          new BatchNorm2d({ features: 6 }, i),
          new ReLU(),
          new Conv2d({ inChannels: 6, outChannels: 6, kernelSize: [1, 3], groups: 6 }, i),
          new GlobalMaxPool(),
          new Linear({ inFeatures: 6, outFeatures: 3 }, i),
        ]),
      });
    },
  },
  {
    label: 'Upsample nearest and bilinear, by scale and by size, align corners',
    make: () => {
      const i = init(13);
      return new Network({
        inputShape: [2, 3, 4],
        module: new Sequential([
          new Upsample({ mode: 'nearest', scaleFactor: 2 }), // (6, 8)
          new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 3, pad: 1 }, i),
          new Upsample({ mode: 'bilinear', scaleFactor: 2 }), // (12, 16)
          new Upsample({ mode: 'nearest', size: [7, 9] }),
          new Upsample({ mode: 'bilinear', size: [5, 11] }),
          new Upsample({ mode: 'bilinear', scaleFactor: 1.5, alignCorners: true }), // (7, 16)
          new Upsample({ mode: 'bilinear', size: [4, 3], alignCorners: true }),
          new Upsample({ mode: 'nearest', scaleFactor: [3, 2] }), // (12, 6)
          new Upsample({ mode: 'bilinear', scaleFactor: [0.5, 1.5] }), // (6, 9)
          new Flatten(),
          new Linear({ inFeatures: 2 * 6 * 9, outFeatures: 3 }, i),
        ]),
      });
    },
  },
  {
    label: 'Upsample nearest by size where Resize would pick other rows (14 → 4: PyTorch floor(float32(d · 3.5)) vs Resize d / float32(4/14)): Gathers',
    make: () => headed([2, 14, 6], [new Upsample({ mode: 'nearest', size: [4, 9] }), new Conv2d({ inChannels: 2, outChannels: 2, kernelSize: 1 }, init(17))], 3, 23),
  },
  {
    label: 'activations: GELU (both forms), ELU, Tanh, Sigmoid, LeakyReLU; LayerNorm, BatchNorm after Linear, Dropout',
    make: () => {
      const i = init(14);
      return new Network({
        inputShape: [2, 4, 4],
        module: new Sequential([
          new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, pad: 1 }, i),
          new GELU(),
          new Conv2d({ inChannels: 3, outChannels: 3, kernelSize: 3, pad: 1 }, i),
          new GELU({ approximate: 'tanh' }),
          new ELU({ alpha: 0.7 }),
          new Tanh(),
          new Conv2d({ inChannels: 3, outChannels: 3, kernelSize: 1 }, i),
          new Sigmoid(),
          new LeakyReLU({ alpha: 0.2 }),
          new Linear({ inFeatures: 48, outFeatures: 8 }, i),
          new LayerNorm({ features: 8, eps: 1e-3 }, i),
          new GELU(),
          new Dropout({ keep: 0.5 }, i),
          new Linear({ inFeatures: 8, outFeatures: 6 }, i),
          new BatchNorm({ features: 6 }, i),
          new ELU(),
          new Linear({ inFeatures: 6, outFeatures: 4 }, i),
        ]),
      });
    },
  },
  {
    label: 'GroupNorm (groups of 2 channels and one channel), in a residual block',
    make: () => {
      const i = init(15);
      return new Network({
        inputShape: [3, 5, 6],
        module: new Sequential([
          new Conv2d({ inChannels: 3, outChannels: 6, kernelSize: 3, pad: 1 }, i),
          new GroupNorm({ channels: 6, groups: 3, eps: 1e-4 }, i),
          new ReLU(),
          new Residual({ body: new Sequential([new Conv2d({ inChannels: 6, outChannels: 6, kernelSize: 3, pad: 1 }, i), new GroupNorm({ channels: 6, groups: 6 }, i)]) }),
          new GlobalAvgPool(),
          new Linear({ inFeatures: 6, outFeatures: 3 }, i),
        ]),
      });
    },
  },
  {
    label: 'pools: max with ceil mode, padding, dilation; average with and without count_include_pad, ceil mode, dilation',
    make: () => {
      const i = init(16);
      return headed([2, 12, 11], [
        new MaxPool2d({ kernelSize: 3, stride: 2, pad: 1, ceilMode: true }),
        new AvgPool2d({ kernelSize: 3, stride: 2, pad: [1, 0, 1, 1], ceilMode: true, countIncludePad: true }),
        new Upsample({ mode: 'nearest', scaleFactor: 4 }),
        new AvgPool2d({ kernelSize: [3, 2], stride: 1, pad: 1, countIncludePad: false }),
        new MaxPool2d({ kernelSize: 2, stride: [1, 2], pad: [1, 0, 0, 1], dilation: 2 }),
        new AvgPool2d({ kernelSize: 2, stride: 2, pad: 1, dilation: [2, 1], ceilMode: true, countIncludePad: false }),
        new AvgPool2d({ kernelSize: 3, stride: 2, pad: 1, dilation: 2, countIncludePad: true }),
        new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 1 }, i),
      ], 4, 22);
    },
  },
];

describe('exportOnnx: onnxruntime agrees with convnet (max |ort − ours| / max |ours| < 1e-4, float32)', { concurrency: true }, () => {
  for (const kind of MODEL_KINDS) {
    test(`${kind.label}, opset 17, batches 1 and 7`, async () => {
      await assertAgrees(randomise(kind.make('float32'), 1), 17);
    });
  }
  for (const { label, make } of EXTRA) {
    test(`${label}, opset 17`, async () => {
      await assertAgrees(randomise(make(), 2), 17);
    });
  }
  for (const opset of [13, 18, 20, 21, ONNX_MAX_OPSET]) {
    test(`opset ${opset}: the extra networks and two model kinds`, async () => {
      for (const { make } of EXTRA) await assertAgrees(randomise(make(), 3), opset);
      for (const kind of [MODEL_KINDS[2]!, MODEL_KINDS[7]!]) await assertAgrees(randomise(kind.make('float32'), 3), opset);
    });
  }
  test('a float64 model exports float32 weights and agrees', async () => {
    for (const kind of [MODEL_KINDS[0]!, MODEL_KINDS[4]!, MODEL_KINDS[6]!]) {
      const model = randomise(kind.make('float64'), 4);
      const onnx = onnxModelOf(model);
      const stored = new Set([...Object.keys(model.params), ...Object.keys(model.buffers)]);
      const weights = onnx.graph.initializer.filter((t) => stored.has(t.name));
      assert.equal(weights.length, stored.size);
      assert.ok(weights.every((t) => t.dataType === OnnxDataType.FLOAT));
      await assertAgrees(model, 17);
    }
  });
  test('an autoencoder (MSE head): output (N, 1, 8, 8), as its outputShape says', async () => {
    const init = { dtype: 'float32' as const, generator: rng(11) };
    const model = new Network({
      module: new Sequential([
        new Conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, stride: 2, pad: 1 }, init),
        new ReLU(),
        new ConvTranspose2d({ inChannels: 4, outChannels: 1, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1 }, init),
        new Sigmoid(),
      ]),
      inputShape: [1, 8, 8],
      loss: 'mse',
    });
    assert.deepEqual(decodeOnnx(exportOnnx(model)).graph.output[0]!.type?.tensorType?.shape?.dim.slice(1).map((d) => d.dimValue), [1, 8, 8]);
    await assertAgrees(model, 17);
  });
  test('softmax: true ends in Softmax, output "probabilities", rows summing to 1', async () => {
    const model = randomise(MODEL_KINDS[3]!.make('float32'), 5);
    const onnx = onnxModelOf(model, { softmax: true });
    assert.equal(onnx.graph.node.at(-1)!.opType, 'Softmax');
    assert.equal(onnx.graph.output[0]!.name, 'probabilities');
    await assertAgrees(model, 17, { softmax: true });
  });
});

describe('exportOnnx: operators by opset', () => {
  const extra = (label: string): Network => randomise(EXTRA.find((e) => e.label.startsWith(label))!.make(), 0);
  test('GroupNorm: InstanceNormalization below opset 21 (opset 18 GroupNormalization is per group), GroupNormalization from 21', () => {
    for (const opset of [13, 17, 18, 20]) {
      const ops = opTypes(extra('GroupNorm'), opset);
      assert.ok(ops.includes('InstanceNormalization') && !ops.includes('GroupNormalization'), `opset ${opset}: ${ops.join(' ')}`);
    }
    const ops = opTypes(extra('GroupNorm'), 21);
    assert.ok(ops.includes('GroupNormalization') && !ops.includes('InstanceNormalization'));
  });
  test('GELU: Erf / Sigmoid formulas below opset 20, Gelu from 20; LayerNorm: LayerNormalization from 17, the pattern below', () => {
    const low = opTypes(extra('activations'), 16);
    assert.ok(low.includes('Erf') && !low.includes('Gelu') && !low.includes('LayerNormalization') && low.includes('ReduceMean'));
    const mid = opTypes(extra('activations'), 17);
    assert.ok(mid.includes('LayerNormalization') && !mid.includes('Gelu'));
    const high = opTypes(extra('activations'), 20);
    assert.equal(high.filter((o) => o === 'Gelu').length, 3);
    assert.ok(!high.includes('Erf'));
  });
  test('a dilated AvgPool2d: a Conv of ones times the divisors below opset 19, AveragePool with dilations from 19', () => {
    const pools = extra('pools');
    assert.equal(opTypes(pools, 18).filter((o) => o === 'AveragePool').length, 2);
    assert.equal(opTypes(pools, 19).filter((o) => o === 'AveragePool').length, 4);
  });
  test('nearest Upsample: Resize where its pixels are ours, else Gathers of our rows and columns', () => {
    const gathered = opTypes(extra('Upsample nearest by size'), 17);
    assert.ok(gathered.includes('Gather') && !gathered.includes('Resize'), gathered.join(' '));
    const resized = opTypes(extra('Upsample nearest and bilinear'), 17);
    assert.equal(resized.filter((o) => o === 'Resize').length, 8);
    assert.ok(!resized.includes('Gather'));
  });
  test('Linear is Gemm with transB = 0 on our (in, out) weight, after a Flatten for image activations', () => {
    const onnx = onnxModelOf(randomise(MODEL_KINDS[0]!.make('float32'), 0));
    const gemm = onnx.graph.node.find((n) => n.opType === 'Gemm')!;
    assert.equal(gemm.attribute.find((a) => a.name === 'transB')!.i, 0);
    assert.equal(onnx.graph.node[onnx.graph.node.indexOf(gemm) - 1]!.opType, 'Flatten');
    assert.deepEqual(onnx.graph.initializer.find((t) => t.name === gemm.input[1])!.dims, [3 * 4 * 3, 6]);
  });
  test('every opset from 13 to 26 loads in onnxruntime with the IR version of its ONNX release', async () => {
    const model = randomise(MODEL_KINDS[7]!.make('float32'), 0);
    assert.deepEqual([13, 14, 15, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26].map(onnxIrVersion), [7, 7, 8, 8, 8, 9, 9, 10, 10, 11, 12, 13, 13]);
    for (let opset = ONNX_MIN_OPSET; opset <= ONNX_MAX_OPSET; opset++) {
      const onnx = decodeOnnx(exportOnnx(model, { opset }));
      assert.equal(onnx.irVersion, onnxIrVersion(opset));
      assert.deepEqual(onnx.opsetImport, [{ domain: '', version: opset }]);
      await ort.InferenceSession.create(exportOnnx(model, { opset }));
    }
  });
});

describe('exportOnnx: the file', () => {
  test('the same model exports to the same bytes twice, and a model built again from its config and state too', () => {
    for (const kind of MODEL_KINDS) {
      const model = randomise(kind.make('float32'), 6);
      const a = exportOnnx(model, { info: { classNames: Array.from({ length: model.numClasses }, (_, c) => `c${c}`) } });
      const b = exportOnnx(model, { info: { classNames: Array.from({ length: model.numClasses }, (_, c) => `c${c}`) } });
      assert.deepEqual(b, a, kind.label);
      const again = kind.make('float32');
      again.loadState(model.params, model.buffers);
      assert.deepEqual(exportOnnx(again, { info: { classNames: Array.from({ length: model.numClasses }, (_, c) => `c${c}`) } }), a, kind.label);
    }
  });
  test('input (N, …inputShape) with N dynamic, output (N, classes); initializers under the model names', () => {
    const model = randomise(MODEL_KINDS[3]!.make('float32'), 0);
    const onnx = onnxModelOf(model);
    assert.equal(onnx.graph.input[0]!.name, 'input');
    assert.deepEqual(onnx.graph.input[0]!.type!.tensorType!.shape!.dim, [{ dimParam: 'N' }, { dimValue: 2 }, { dimValue: 8 }, { dimValue: 8 }]);
    assert.equal(onnx.graph.output[0]!.name, 'scores');
    assert.deepEqual(onnx.graph.output[0]!.type!.tensorType!.shape!.dim, [{ dimParam: 'N' }, { dimValue: 4 }]);
    const names = onnx.graph.initializer.map((t) => t.name).sort();
    assert.deepEqual(names, [...Object.keys(model.params), ...Object.keys(model.buffers)].sort());
    const W1 = onnx.graph.initializer.find((t) => t.name === 'W1')!;
    assert.deepEqual(W1.dims, model.params.W1!.shape);
    assert.deepEqual(Array.from(tensorValues(W1, 'W1')), Array.from(model.params.W1!.data));
    assert.ok(!onnx.graph.node.some((n) => n.opType === 'Dropout'), 'dropout is left out');
  });
  test('metadata_props: config, dtype, preprocessing, class names and training under convnet.*', () => {
    const model = randomise(MODEL_KINDS[4]!.make('float64'), 0);
    const mean: Tensor = { shape: [1, 1, 1], data: new Float64Array([0.1307]), dtype: 'float64' };
    const info = { classNames: ['a', 'b', 'c'], preprocessing: { scale: 1 / 255, mean }, training: { dataset: 'mnist', testAcc: 0.98 } };
    const onnx = decodeOnnx(exportOnnx(model, { info }));
    const props = Object.fromEntries(onnx.metadataProps.map((p) => [p.key, p.value]));
    assert.ok(Object.keys(props).every((k) => k.startsWith('convnet.')));
    assert.deepEqual(JSON.parse(props['convnet.config']!), model.config);
    assert.equal(props['convnet.dtype'], 'float64');
    assert.equal(props['convnet.format'], 'convnet-onnx');
    assert.equal(props['convnet.softmax'], 'false');
    assert.deepEqual(JSON.parse(props['convnet.classNames']!), ['a', 'b', 'c']);
    assert.deepEqual(JSON.parse(props['convnet.preprocessing']!), { scale: 1 / 255, mean: { shape: [1, 1, 1], data: [0.1307] } });
    assert.deepEqual(JSON.parse(props['convnet.training']!), info.training);
    assert.equal(onnx.producerName, 'convnet');
  });
});

/** A module exportOnnx does not know. */
class Square extends Module {
  readonly type = 'Square';
  get config(): ModuleConfig {
    return { type: this.type };
  }
  get label(): string {
    return 'Square (custom)';
  }
  forward(x: Tensor, _mode: Mode): Tensor {
    return { shape: [...x.shape], data: x.data.map((v) => v * v), dtype: x.dtype };
  }
  backward(dout: Tensor): Tensor {
    return dout;
  }
  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
}

describe('exportOnnx: what it rejects, as a ConvnetError', () => {
  const model = MODEL_KINDS[2]!.make('float32');
  const rejects = (fn: () => unknown, pattern: RegExp): void => {
    assert.throws(fn, (e: unknown) => e instanceof ConvnetError && pattern.test(e.message));
  };
  test('a module it does not know, named with its place in the tree', () => {
    const custom = new Network({
      inputShape: [4],
      module: new Sequential([new Linear({ inFeatures: 4, outFeatures: 3 }), new Residual({ body: new Sequential([new ReLU(), new Square()]) })]),
    });
    rejects(() => exportOnnx(custom), /^exportOnnx: cannot export Square \(custom\) \(type "Square"\) at layers\[1\]\.body\.layers\[1\]/);
  });
  test('an opset outside 13..26 or not an integer', () => {
    for (const opset of [12, 27, 17.5, '17']) rejects(() => exportOnnx(model, { opset: opset as number }), /expected opset to be an integer from 13 to 26, got/);
  });
  test('bad options, a bad model, info that does not fit the model', () => {
    rejects(() => exportOnnx(model, { opst: 17 } as never), /expected options among opset, softmax, info, got "opst"/);
    rejects(() => exportOnnx(model, { softmax: 'yes' as never }), /expected softmax to be a boolean/);
    rejects(() => exportOnnx({ params: {} } as never), /expected a convnet Network/);
    rejects(() => exportOnnx(model, { info: { classNames: ['a'] } }), /expected info.classNames to be 3 strings/);
    rejects(() => exportOnnx(model, { info: { preprocessing: { scale: 0 } } }), /expected info.preprocessing.scale to be a finite number > 0/);
    rejects(() => exportOnnx(model, { info: { preprocessing: { scale: 1, mean: { shape: [3], data: new Float32Array(3), dtype: 'float32' } } } }), /expected info.preprocessing.mean of shape \[9\]/);
  });
  test('a bilinear scale factor whose float32 product Resize would floor to another size', () => {
    // 30 · float32(2.1) = 62.999997 in float32: onnxruntime makes 62 pixels (checked); ours, floor(30 · 2.1) = 63.
    const net = new Network({ inputShape: [1, 30, 30], module: new Sequential([new Upsample({ mode: 'bilinear', scaleFactor: 2.1 }), new Flatten(), new Linear({ inFeatures: 63 * 63, outFeatures: 2 })]) });
    assert.equal(net.numClasses, 2);
    rejects(() => exportOnnx(net), /cannot export Upsample bilinear ×2\.1 at layers\[0\]: Resize would make/);
  });
});
