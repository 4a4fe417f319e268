// importOnnx: PyTorch's exported convnets reproduce PyTorch's outputs, every supported pattern
// agrees with onnxruntime on small graphs built here, an imported model trains and saves, and
// every graph it cannot read exactly is a ConvnetError naming the node or the file.
//
// The measure throughout: max_i |a_i − b_i| / max_i |b_i| (the worst difference relative to the
// largest reference score), so that scores near zero do not turn float32 rounding into a failure.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { ConvnetError } from '../../src/errors.js';
import { decodeModel, encodeModel } from '../../src/io/model.js';
import { exportOnnx } from '../../src/io/onnx/export.js';
import { importOnnx } from '../../src/io/onnx/import.js';
import type { ModelInfo } from '../../src/io/model.js';
import { Network } from '../../src/models/network.js';
import { ELU, GELU, LeakyReLU, Sigmoid, Tanh } from '../../src/nn/activation.js';
import { Conv2d } from '../../src/nn/conv.js';
import { ConvTranspose2d } from '../../src/nn/convTranspose.js';
import { Dropout } from '../../src/nn/dropout.js';
import { Flatten } from '../../src/nn/flatten.js';
import { Linear } from '../../src/nn/linear.js';
import { Upsample } from '../../src/nn/upsample.js';
import { MODEL_KINDS } from '../models/kinds.js';
import { encodeOnnx, floatTensor, int64Tensor, OnnxAttributeType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from '../../src/io/onnx/proto.js';
import { Residual, Sequential } from '../../src/nn/containers.js';
import { BatchNorm, BatchNorm2d, GroupNorm, LayerNorm } from '../../src/nn/norm.js';
import { AvgPool2d, GlobalMaxPool, MaxPool2d } from '../../src/nn/pool.js';
import { walk } from '../../src/nn/module.js';
import { rng } from '../../src/rng.js';
import type { Tensor } from '../../src/tensor.js';
import { adam, type OptimConfig } from '../../src/train/optim.js';
import { PYTORCH_FIXTURES, readPytorchFixture } from './onnxFixtures.js';

// onnxruntime's warnings about the small graphs' unnamed output shapes are not the tests' output.
ort.env.logLevel = 'error';

/** max |a − b| / max |b|. */
function scoreError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

function input(shape: number[], seed: number): Tensor {
  const r = rng(seed);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = r.normal();
  return { shape, data, dtype: 'float32' };
}

async function runOrt(bytes: Uint8Array, x: Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(x.data), x.shape) };
  const out = await session.run(feeds);
  return out[session.outputNames[0]!]!.data as Float32Array;
}

// ---- small graphs ----

const ints = (name: string, values: number[]): OnnxAttribute => ({ name, type: OnnxAttributeType.INTS, ints: values });
const int = (name: string, i: number): OnnxAttribute => ({ name, type: OnnxAttributeType.INT, i });
const float = (name: string, f: number): OnnxAttribute => ({ name, type: OnnxAttributeType.FLOAT, f });
const string = (name: string, s: string): OnnxAttribute => ({ name, type: OnnxAttributeType.STRING, s: new TextEncoder().encode(s) });
const node = (opType: string, input: string[], output: string[], attribute: OnnxAttribute[] = [], name = ''): OnnxNode => ({ opType, input, output, attribute, name, domain: '' });

/** Seeded float32 weights of a shape, scaled. */
function weights(name: string, dims: number[], seed: number, scale = 0.5, offset = 0): OnnxTensor {
  const r = rng(seed);
  return floatTensor(name, dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => offset + scale * r.normal()));
}

/** A model of the nodes, from input 'x' (N, …sample) to output `output`. */
function graph(nodes: OnnxNode[], initializer: OnnxTensor[], sample: number[], output: string, opset = 17): OnnxModel {
  const vi = (name: string, dims: { dimParam?: string; dimValue?: number }[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims } } } });
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'test',
    producerVersion: '1',
    metadataProps: [],
    graph: { name: 'g', node: nodes, initializer, input: [vi('x', [{ dimParam: 'N' }, ...sample.map((d) => ({ dimValue: d }))])], output: [vi(output, [])], valueInfo: [] },
  };
}

/** Imports the graph, runs both convnet and onnxruntime on a batch of 3, and returns the model and the error. */
async function agree(model: OnnxModel, sample: number[], seed = 1): Promise<{ error: number; imported: ReturnType<typeof importOnnx> }> {
  const bytes = encodeOnnx(model);
  const imported = importOnnx(bytes, { source: 'graph.onnx' });
  const x = input([3, ...sample], seed);
  const ours = imported.model.forward(x);
  const theirs = await runOrt(bytes, x);
  return { error: scoreError(ours.data, theirs), imported };
}

describe('importOnnx: the PyTorch fixtures', () => {
  for (const name of PYTORCH_FIXTURES) {
    test(`${name} reproduces PyTorch's stored scores (and onnxruntime's) to a relative 1e-4`, async () => {
      const fixture = readPytorchFixture(name);
      const { model, onnx } = importOnnx(fixture.bytes, { source: `${name}.onnx` });
      assert.equal(model.dtype, 'float32');
      assert.equal(onnx.producerName, 'pytorch');
      assert.equal(onnx.opset, 13);
      assert.equal(onnx.batch, 'N');
      const x: Tensor = { shape: fixture.input.shape, data: Float32Array.from(fixture.input.data), dtype: 'float32' };
      const scores = model.forward(x);
      assert.deepEqual(scores.shape, fixture.output.shape);
      const error = scoreError(scores.data, fixture.output.data);
      assert.ok(error < 1e-4, `${name}: relative error ${error} against PyTorch`);
      const ortError = scoreError(scores.data, await runOrt(fixture.bytes, x));
      assert.ok(ortError < 1e-4, `${name}: relative error ${ortError} against onnxruntime`);
    });
  }

  test('the imported layers are the ones PyTorch exported (BN after Gemm, GroupNorm from its pattern, Pad of zeros left out)', () => {
    const labels = (name: string): string[] => importOnnx(readPytorchFixture(name).bytes).model.summaryRows().map((r) => r.label);
    assert.deepEqual(labels('cs231n_three_layer'), ['Conv2d 3→32, 7×7, pad 3', 'ReLU', 'MaxPool2d 2×2', 'Flatten', 'Linear 8192→100', 'ReLU', 'Linear 100→10']);
    assert.deepEqual(labels('bn_net'), ['Conv2d 1→16, 3×3, pad 1', 'ReLU', 'MaxPool2d 2×2', 'Conv2d 16→32, 3×3, pad 1', 'ReLU', 'AvgPool2d 2×2', 'Flatten', 'Linear 1568→64', 'BatchNorm 64', 'ReLU', 'Linear 64→10']);
    const gn = importOnnx(readPytorchFixture('gn_gap_net').bytes).model;
    assert.deepEqual(gn.summaryRows().map((r) => r.label), ['Conv2d 3→8, 5×5, stride 2, pad 2', 'LeakyReLU 0.1', 'Conv2d 8→16, 3×3, pad 2, dilation 2×2, groups 2', 'GroupNorm 16 in 4 groups', 'ReLU', 'GlobalAvgPool', 'Flatten', 'Linear 16→5']);
    const norm = walk(gn.root).find((m): m is GroupNorm => m instanceof GroupNorm)!;
    assert.equal(norm.eps, 1e-5, 'float32 epsilon read as the decimal PyTorch was given');
  });

  test('float64 on request: the same scores from float64 parameters', () => {
    const fixture = readPytorchFixture('gn_gap_net');
    const { model } = importOnnx(fixture.bytes, { dtype: 'float64' });
    assert.equal(model.dtype, 'float64');
    const scores = model.forward({ shape: fixture.input.shape, data: Float64Array.from(fixture.input.data), dtype: 'float64' });
    assert.ok(scoreError(scores.data, fixture.output.data) < 1e-4);
  });

  test('an imported model fine-tunes (5 Adam steps lower its loss on a labelled batch), saves, and exports again: onnxruntime and a second import agree', async () => {
    const fixture = readPytorchFixture('bn_net');
    const { model } = importOnnx(fixture.bytes, { source: 'bn_net.onnx' });
    const bn = walk(model.root).find((m): m is BatchNorm => m instanceof BatchNorm)!;
    assert.ok(model.buffers.runningVar1 === bn.buffers.runningVar && Array.from(bn.buffers.runningVar!.data).some((v) => v !== 1), 'running statistics from the file');
    const x: Tensor = { shape: fixture.input.shape, data: Float32Array.from(fixture.input.data), dtype: 'float32' };
    // Labels the model does not predict yet: (argmax + 3) mod 10.
    const scores = model.forward(x);
    const y = Array.from({ length: 4 }, (_, n) => {
      const row = Array.from(scores.data.subarray(n * 10, n * 10 + 10));
      return (row.indexOf(Math.max(...row)) + 3) % 10;
    });
    const configs: Record<string, OptimConfig> = {};
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      const { loss, grads } = model.loss(x, y);
      losses.push(loss);
      assert.deepEqual(Object.keys(grads).sort(), Object.keys(model.params).sort(), 'a gradient for every parameter');
      for (const [name, w] of Object.entries(model.params)) {
        const { next, config } = adam(w, grads[name]!, configs[name] ?? { learningRate: 1e-3 }, name);
        model.params[name] = next;
        configs[name] = config;
      }
    }
    assert.ok(losses[4]! < losses[0]!, `loss ${losses.join(' → ')}`);
    // And it saves as a model file: the decoded model computes the same scores.
    const again = decodeModel(encodeModel(model), 'fine-tuned.safetensors').model;
    assert.ok(scoreError(again.forward(x).data, model.forward(x).data) === 0);
    // And it exports again: onnxruntime runs the fine-tuned graph, and importing it gives the same scores.
    const bytes = exportOnnx(model);
    const ours = model.forward(x).data;
    const ortError = scoreError(await runOrt(bytes, x), ours);
    assert.ok(ortError < 1e-4, `onnxruntime: relative error ${ortError}`);
    assert.ok(scoreError(importOnnx(bytes).model.forward(x).data, ours) <= 1e-6);
  });
});

describe('importOnnx: patterns, each checked against onnxruntime', () => {
  test('a residual block with an identity skip and one with a projection (fewer nodes) become Residual modules', async () => {
    const nodes = [
      node('Conv', ['x', 'w0', 'b0'], ['a'], [ints('pads', [1, 1, 1, 1])]),
      node('Relu', ['a'], ['r']),
      // identity skip: Add(body, r)
      node('Conv', ['r', 'w1', 'b1'], ['c1'], [ints('pads', [1, 1, 1, 1])]),
      node('BatchNormalization', ['c1', 'g1', 'be1', 'm1', 'v1'], ['n1'], [float('epsilon', 1e-5)]),
      node('Relu', ['n1'], ['h1']),
      node('Conv', ['h1', 'w2'], ['c2'], [ints('pads', [1, 1, 1, 1])]),
      node('Add', ['c2', 'r'], ['s1']),
      node('Relu', ['s1'], ['o1']),
      // projected skip: the skip (1 node) listed first
      node('Conv', ['o1', 'wp'], ['p'], [ints('strides', [2, 2])]),
      node('Conv', ['o1', 'w3', 'b3'], ['c3'], [ints('pads', [1, 1, 1, 1]), ints('strides', [2, 2])]),
      node('Relu', ['c3'], ['h3']),
      node('Add', ['p', 'h3'], ['s2']),
      node('GlobalAveragePool', ['s2'], ['gap']),
      node('Flatten', ['gap'], ['f']),
      node('Gemm', ['f', 'wf', 'bf'], ['scores'], [int('transB', 1)]),
    ];
    const init = [
      weights('w0', [4, 2, 3, 3], 1), weights('b0', [4], 2), weights('w1', [4, 4, 3, 3], 3), weights('b1', [4], 4),
      weights('g1', [4], 5, 0.2, 1), weights('be1', [4], 6), weights('m1', [4], 7), weights('v1', [4], 8, 0.1, 1), weights('w2', [4, 4, 3, 3], 9),
      weights('wp', [6, 4, 1, 1], 10), weights('w3', [6, 4, 3, 3], 11), weights('b3', [6], 12), weights('wf', [5, 6], 13), weights('bf', [5], 14),
    ];
    const { error, imported } = await agree(graph(nodes, init, [2, 7, 6], 'scores'), [2, 7, 6]);
    assert.ok(error < 1e-5, `error ${error}`);
    const blocks = walk(imported.model.root).filter((m): m is Residual => m instanceof Residual);
    assert.equal(blocks.length, 2);
    assert.equal(blocks[0]!.projection, null);
    assert.equal(blocks[1]!.projection?.label, 'Conv2d 4→6, 1×1, stride 2');
    assert.ok(walk(imported.model.root).some((m) => m instanceof BatchNorm2d));
  });

  test('Pad of zeros before AveragePool is an AvgPool2d counting the padding; pool pads with count_include_pad 0 are not counted', async () => {
    for (const [countIncludePad, viaPad] of [[0, false], [1, false], [0, true]] as const) {
      const pool = [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), int('count_include_pad', countIncludePad)];
      const nodes = viaPad
        ? [node('Pad', ['x', 'pads'], ['p'], [string('mode', 'constant')]), node('AveragePool', ['p'], ['a'], pool)]
        : [node('AveragePool', ['x'], ['a'], [...pool, ints('pads', [1, 1, 1, 1])])];
      nodes.push(node('Flatten', ['a'], ['f']), node('Gemm', ['f', 'w', 'b'], ['scores']));
      const init = [int64Tensor('pads', [8], [0, 0, 1, 1, 0, 0, 1, 1]), weights('w', [2 * 4 * 4, 3], 1), weights('b', [3], 2)];
      const { error, imported } = await agree(graph(nodes, init, [2, 7, 8], 'scores'), [2, 7, 8]);
      assert.ok(error < 1e-5, `count_include_pad ${countIncludePad}, Pad ${viaPad}: error ${error}`);
      const avg = walk(imported.model.root).find((m): m is AvgPool2d => m instanceof AvgPool2d)!;
      assert.deepEqual(avg.pad, [1, 1, 1, 1]);
      assert.equal(avg.countIncludePad, viaPad || countIncludePad === 1);
    }
  });

  test('auto_pad SAME_UPPER, SAME_LOWER and VALID are translated exactly (conv and pools, odd padding)', async () => {
    for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
      const nodes = [
        node('Conv', ['x', 'w'], ['c'], [string('auto_pad', autoPad), ints('strides', [2, 2])]),
        node('MaxPool', ['c'], ['m'], [string('auto_pad', autoPad), ints('kernel_shape', [2, 2])]),
        node('AveragePool', ['m'], ['a'], [string('auto_pad', autoPad), ints('kernel_shape', [2, 3]), ints('strides', [1, 2])]),
        node('GlobalMaxPool', ['a'], ['g']),
        node('Flatten', ['g'], ['scores']),
      ];
      const { error } = await agree(graph(nodes, [weights('w', [3, 2, 4, 4], 3)], [2, 11, 10], 'scores'), [2, 11, 10]);
      assert.ok(error < 1e-5, `${autoPad}: error ${error}`);
    }
  });

  test('MaxPool with pads, dilations and ceil_mode; a Pad of zeros after a Relu before MaxPool', async () => {
    const nodes = [
      node('MaxPool', ['x'], ['m'], [ints('kernel_shape', [3, 2]), ints('strides', [2, 2]), ints('pads', [1, 0, 1, 1]), ints('dilations', [1, 2]), int('ceil_mode', 1)]),
      node('Relu', ['m'], ['r']),
      node('Pad', ['r', 'pads'], ['p']),
      node('MaxPool', ['p'], ['m2'], [ints('kernel_shape', [2, 2])]),
      node('Flatten', ['m2'], ['f']),
      node('MatMul', ['f', 'w'], ['mm']),
      node('Add', ['mm', 'b'], ['scores']),
    ];
    const model = graph(nodes, [int64Tensor('pads', [8], [0, 0, 1, 0, 0, 0, 0, 1]), weights('w', [2 * 5 * 5, 4], 4), weights('b', [4], 5)], [2, 9, 9], 'scores');
    const { error, imported } = await agree(model, [2, 9, 9]);
    assert.ok(error < 1e-5, `error ${error}`);
    assert.deepEqual(walk(imported.model.root).filter((m): m is MaxPool2d => m instanceof MaxPool2d).map((m) => m.pad), [[1, 0, 1, 1], [1, 0, 0, 1]]);
  });

  test('activations, LayerNormalization, Dropout, Identity, Reshape to (0, −1), and a trailing Softmax left out', async () => {
    const nodes = [
      node('Reshape', ['x', 'flat'], ['f']),
      node('Gemm', ['f', 'w1', 'b1'], ['h1'], [int('transB', 1), float('alpha', 1), float('beta', 1)]),
      node('LayerNormalization', ['h1', 'ls', 'lb'], ['l1'], [int('axis', -1), float('epsilon', 1e-5)]),
      node('Tanh', ['l1'], ['t1']),
      node('Elu', ['t1'], ['e1'], [float('alpha', 0.7)]),
      node('Sigmoid', ['e1'], ['s1']),
      node('LeakyRelu', ['s1'], ['k1'], [float('alpha', 0.2)]),
      node('Dropout', ['k1', 'ratio'], ['d1']),
      node('Identity', ['d1'], ['i1']),
      node('BatchNormalization', ['i1', 'g', 'be', 'm', 'v'], ['n1'], [float('epsilon', 1e-3), float('momentum', 0.8)]),
      node('Gemm', ['n1', 'w2'], ['logits']),
      node('Softmax', ['logits'], ['probabilities'], [int('axis', -1)]),
    ];
    const init = [
      int64Tensor('flat', [2], [0, -1]), weights('w1', [6, 12], 1), weights('b1', [6], 2), weights('ls', [6], 3, 0.3, 1), weights('lb', [6], 4),
      floatTensor('ratio', [], [0.25]), weights('g', [6], 5, 0.1, 1), weights('be', [6], 6), weights('m', [6], 7), weights('v', [6], 8, 0.1, 1), weights('w2', [6, 4], 9),
    ];
    const model = graph(nodes, init, [3, 2, 2], 'probabilities');
    const bytes = encodeOnnx(model);
    const imported = importOnnx(bytes);
    assert.equal(imported.onnx.outputActivation, 'Softmax');
    assert.deepEqual(imported.model.summaryRows().map((r) => r.label), ['Flatten', 'Linear 12→6', 'LayerNorm 6', 'Tanh', 'ELU 0.7', 'Sigmoid', 'LeakyReLU 0.2', 'Dropout keep 0.75', 'BatchNorm 6', 'Linear 6→4']);
    const x = input([3, 3, 2, 2], 2);
    const scores = imported.model.forward(x);
    // Softmax of our scores is onnxruntime's output.
    const probabilities = new Float64Array(scores.data.length);
    for (let n = 0; n < 3; n++) {
      const row = Array.from(scores.data.subarray(n * 4, n * 4 + 4));
      const top = Math.max(...row);
      const sum = row.reduce((s, v) => s + Math.exp(v - top), 0);
      row.forEach((v, k) => (probabilities[n * 4 + k] = Math.exp(v - top) / sum));
    }
    const error = scoreError(probabilities, await runOrt(bytes, x));
    assert.ok(error < 1e-5, `error ${error}`);
  });

  test('GroupNormalization (opset 21, per channel), Gelu (opset 20), ConvTranspose and Resize (nearest and bilinear)', async () => {
    const nodes = [
      node('ConvTranspose', ['x', 'wt', 'bt'], ['u'], [ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1]), ints('output_padding', [1, 0])]),
      node('GroupNormalization', ['u', 'gs', 'gb'], ['g'], [int('num_groups', 2), float('epsilon', 1e-5)]),
      node('Gelu', ['g'], ['ge'], [string('approximate', 'tanh')]),
      node('Resize', ['ge', '', 'scales'], ['r1'], [string('mode', 'nearest'), string('coordinate_transformation_mode', 'asymmetric'), string('nearest_mode', 'floor')]),
      node('Resize', ['r1', '', '', 'sizes'], ['r2'], [string('mode', 'linear'), string('coordinate_transformation_mode', 'half_pixel')]),
      node('Resize', ['r2', '', 'scales2'], ['r3'], [string('mode', 'linear'), string('coordinate_transformation_mode', 'align_corners')]),
      node('GlobalAveragePool', ['r3'], ['p']),
      node('Flatten', ['p'], ['scores']),
    ];
    const init = [
      weights('wt', [2, 4, 3, 3], 1), weights('bt', [4], 2), weights('gs', [4], 3, 0.2, 1), weights('gb', [4], 4),
      floatTensor('scales', [4], [1, 1, 2, 3]), int64Tensor('sizes', [4], [3, 4, 11, 17]), floatTensor('scales2', [4], [1, 1, 1.5, 1.5]),
    ];
    const { error, imported } = await agree(graph(nodes, init, [2, 4, 3], 'scores', 21), [2, 4, 3]);
    assert.ok(error < 1e-5, `error ${error}`);
    assert.deepEqual(imported.model.summaryRows().map((r) => r.label).slice(0, 6), [
      'ConvTranspose2d 2→4, 3×3, stride 2, pad 1, output pad 1×0',
      'GroupNorm 4 in 2 groups',
      'GELU (tanh)',
      'Upsample nearest ×2×3',
      'Upsample bilinear to 11×17',
      'Upsample bilinear ×1.5, align corners',
    ]);
  });

  test("PyTorch's flatten x.view(x.size(0), −1): Shape → Gather → Unsqueeze → Concat → Reshape", async () => {
    const nodes = [
      node('Relu', ['x'], ['r']),
      node('Shape', ['r'], ['s']),
      node('Gather', ['s', 'zero'], ['n'], [int('axis', 0)]),
      node('Unsqueeze', ['n', 'axes'], ['n1']),
      node('Concat', ['n1', 'minus1'], ['target'], [int('axis', 0)]),
      node('Reshape', ['r', 'target'], ['f']),
      node('Gemm', ['f', 'w'], ['scores']),
    ];
    const init = [int64Tensor('zero', [], [0]), int64Tensor('axes', [1], [0]), int64Tensor('minus1', [1], [-1]), weights('w', [12, 3], 1)];
    const { error, imported } = await agree(graph(nodes, init, [3, 2, 2], 'scores', 13), [3, 2, 2]);
    assert.ok(error < 1e-6, `error ${error}`);
    assert.deepEqual(imported.model.summaryRows().map((r) => r.label), ['ReLU', 'Flatten', 'Linear 12→3']);
  });
});

describe('importOnnx: formulas of older opsets, each checked against onnxruntime (opset 13)', () => {
  test("GELU as Div → Erf → Add → Mul → Mul and layer norm as ReduceMean → Sub → Pow → … → Add (PyTorch's forms)", async () => {
    const nodes = [
      node('Gemm', ['x', 'w1', 'b1'], ['h']),
      node('ReduceMean', ['h'], ['mean'], [ints('axes', [-1])]),
      node('Sub', ['h', 'mean'], ['centred']),
      node('Pow', ['centred', 'two'], ['squares']),
      node('ReduceMean', ['squares'], ['variance'], [ints('axes', [-1])]),
      node('Add', ['variance', 'eps'], ['shifted']),
      node('Sqrt', ['shifted'], ['std']),
      node('Div', ['centred', 'std'], ['normalised']),
      node('Mul', ['normalised', 'gamma'], ['scaled']),
      node('Add', ['scaled', 'beta'], ['ln']),
      node('Div', ['ln', 'sqrt2'], ['a']),
      node('Erf', ['a'], ['e']),
      node('Add', ['e', 'one'], ['onePlus']),
      node('Mul', ['ln', 'onePlus'], ['times']),
      node('Mul', ['times', 'half'], ['gelu']),
      node('Gemm', ['gelu', 'w2'], ['scores']),
    ];
    const init = [
      weights('w1', [5, 6], 1), weights('b1', [6], 2), floatTensor('two', [], [2]), floatTensor('eps', [], [1e-5]), weights('gamma', [6], 3, 0.2, 1), weights('beta', [6], 4),
      floatTensor('sqrt2', [], [Math.SQRT2]), floatTensor('one', [], [1]), floatTensor('half', [], [0.5]), weights('w2', [6, 3], 5),
    ];
    const { error, imported } = await agree(graph(nodes, init, [5], 'scores', 13), [5]);
    assert.ok(error < 1e-5, `error ${error}`);
    assert.deepEqual(imported.model.summaryRows().map((r) => r.label), ['Linear 5→6', 'LayerNorm 6', 'GELU', 'Linear 6→3']);
  });

  test("GELU's tanh form x · σ(2√(2/π)(x + 0.044715 x³)) (exportOnnx's below opset 20)", async () => {
    const nodes = [
      node('Gemm', ['x', 'w1'], ['h']),
      node('Mul', ['h', 'h'], ['square']),
      node('Mul', ['square', 'h'], ['cube']),
      node('Mul', ['cube', 'c'], ['term']),
      node('Add', ['h', 'term'], ['inner']),
      node('Mul', ['inner', 'k'], ['u2']),
      node('Sigmoid', ['u2'], ['s']),
      node('Mul', ['h', 's'], ['gelu']),
      node('Gemm', ['gelu', 'w2'], ['scores']),
    ];
    const init = [weights('w1', [4, 6], 1), floatTensor('c', [], [0.044715]), floatTensor('k', [], [2 * Math.sqrt(2 / Math.PI)]), weights('w2', [6, 3], 2)];
    const { error, imported } = await agree(graph(nodes, init, [4], 'scores', 13), [4]);
    assert.ok(error < 1e-5, `error ${error}`);
    assert.deepEqual(imported.model.summaryRows().map((r) => r.label), ['Linear 4→6', 'GELU (tanh)', 'Linear 6→3']);
  });

  test('a nearest upsample as two Gathers, and Resize by sizes from Shape → Slice → Concat', async () => {
    const rows = [0, 0, 0, 1, 1, 2, 2]; // 3 → 7 rows, as Upsample nearest to size 7 picks (floor(d · 3/7))
    const cols = [0, 0, 1, 1, 2, 2, 3, 3];
    const nodes = [
      node('Gather', ['x', 'rows'], ['r'], [int('axis', 2)]),
      node('Gather', ['r', 'cols'], ['u'], [int('axis', 3)]),
      node('Shape', ['u'], ['s']),
      node('Slice', ['s', 'start', 'end'], ['n']),
      node('Concat', ['n', 'chw'], ['sizes'], [int('axis', 0)]),
      node('Resize', ['u', '', '', 'sizes'], ['z'], [string('mode', 'linear'), string('coordinate_transformation_mode', 'pytorch_half_pixel')]),
      node('GlobalMaxPool', ['z'], ['g']),
      node('Flatten', ['g'], ['scores']),
    ];
    const init = [int64Tensor('rows', [7], rows), int64Tensor('cols', [8], cols), int64Tensor('start', [1], [0]), int64Tensor('end', [1], [1]), int64Tensor('chw', [3], [2, 5, 11])];
    const { error, imported } = await agree(graph(nodes, init, [2, 3, 4], 'scores', 13), [2, 3, 4]);
    assert.ok(error < 1e-6, `error ${error}`);
    assert.deepEqual(imported.model.summaryRows().map((r) => r.label), ['Upsample nearest to 7×8', 'Upsample bilinear to 5×11', 'GlobalMaxPool', 'Flatten']);
    const wrong = graph(nodes, [int64Tensor('rows', [7], [0, 1, 0, 1, 1, 2, 2]), ...init.slice(1)], [2, 3, 4], 'scores', 13);
    assert.throws(() => importOnnx(encodeOnnx(wrong)), (e: unknown) => e instanceof ConvnetError && /node #0 \(Gather, #0 of 8\): expected the row and column indices of a nearest upsample from 3×4 to 7×8/.test(e.message));
  });
});

describe('importOnnx: what it cannot read exactly is a ConvnetError naming the node or the file', () => {
  const named = (...patterns: RegExp[]) => (e: unknown) => {
    assert.ok(e instanceof ConvnetError, `expected a ConvnetError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  };
  const small = (nodes: OnnxNode[], init: OnnxTensor[] = [weights('w', [2, 3], 1)], opset = 17): Uint8Array => encodeOnnx(graph(nodes, init, [2], 'scores', opset));

  test('an unsupported operator', () => {
    const bytes = small([node('Gemm', ['x', 'w'], ['h'], [], 'fc'), node('Cos', ['h'], ['scores'], [], 'weird')]);
    assert.throws(() => importOnnx(bytes, { source: 'net.onnx' }), named(/^net\.onnx: node "weird" \(Cos, #1 of 2\): /, /"Cos" \(unsupported operator\)/));
  });

  test('a missing initializer', () => {
    const bytes = small([node('Gemm', ['x', 'w'], ['h']), node('Gemm', ['h', 'w_missing'], ['scores'])]);
    assert.throws(() => importOnnx(bytes, { source: 'net.onnx' }), named(/^net\.onnx: node #1 \(Gemm, #1 of 2\): expected input "w_missing" to be an initializer.*got none of these \(a missing initializer\?\)/));
  });

  test('a wrong attribute: Gemm with transA 1, auto_pad of another kind, alpha 2', () => {
    assert.throws(() => importOnnx(small([node('Gemm', ['x', 'w'], ['scores'], [int('transA', 1)], 'fc')])), named(/node "fc" \(Gemm, #0 of 1\): expected attribute transA 0 .*got 1/));
    assert.throws(() => importOnnx(small([node('Gemm', ['x', 'w'], ['scores'], [float('alpha', 2)], 'fc')])), named(/node "fc" \(Gemm, #0 of 1\): expected attribute alpha 1 .*got 2/));
    const conv = encodeOnnx(graph([node('Conv', ['x', 'k'], ['c'], [string('auto_pad', 'SAME_MIDDLE')], 'conv'), node('Flatten', ['c'], ['scores'])], [weights('k', [1, 1, 1, 1], 1)], [1, 2, 2], 'scores'));
    assert.throws(() => importOnnx(conv), named(/node "conv" \(Conv, #0 of 2\): expected auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER, got "SAME_MIDDLE"/));
  });

  test('a truncated file names the file', () => {
    const bytes = readPytorchFixture('bn_net').bytes;
    assert.throws(() => importOnnx(bytes.subarray(0, 1000), { source: 'bn_net.onnx' }), named(/^bn_net\.onnx: expected an ONNX model .*do not decode/));
  });

  test('non-constant pads, several inputs, external data, a branch that never rejoins, an Add of a constant elsewhere', () => {
    const pads = encodeOnnx(graph([node('Shape', ['x'], ['s']), node('Cast', ['s'], ['p'], [int('to', 7)]), node('Pad', ['x', 'p'], ['y'], [], 'pad'), node('Flatten', ['y'], ['scores'])], [], [1, 2, 2], 'scores'));
    assert.throws(() => importOnnx(pads), named(/node "pad" \(Pad, #2 of 4\): expected pads for an \(N, C, H, W\) input \(8 values\), got 4/));
    const two = graph([node('Gemm', ['x', 'w'], ['scores'])], [weights('w', [2, 3], 1)], [2], 'scores');
    two.graph.input.push({ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 2 }] } } } });
    assert.throws(() => importOnnx(encodeOnnx(two), { source: 'two.onnx' }), named(/^two\.onnx: expected a graph with one input \(the images\), got 2 \("x", "y"\)/));
    const external = graph([node('Gemm', ['x', 'w'], ['scores'])], [{ name: 'w', dims: [2, 3], dataType: 1, dataLocation: 1 }], [2], 'scores');
    assert.throws(() => importOnnx(encodeOnnx(external), { source: 'ext.onnx' }), named(/^ext\.onnx: initializer "w".*external data/));
    const fork = small([node('Relu', ['x'], ['a']), node('Tanh', ['x'], ['b']), node('Gemm', ['a', 'w'], ['scores'])]);
    assert.throws(() => importOnnx(fork), named(/node #1 \(Tanh, #1 of 3\): expected its output "b" to be read by a node or be the graph output, got neither/));
    const bias = small([node('Relu', ['x'], ['a']), node('Add', ['a', 'c'], ['b'], [], 'shift'), node('Gemm', ['b', 'w'], ['scores'])], [weights('c', [2], 1), weights('w', [2, 3], 2)]);
    assert.throws(() => importOnnx(bias), named(/node "shift" \(Add, #1 of 3\): expected an Add of two branches/));
  });
});

describe('exportOnnx → importOnnx', () => {
  /** A few training-mode passes so that batch norm's running statistics are not their zeros. */
  const trained = (model: Network, seed: number): Network => {
    for (let k = 0; k < 3; k++) model.loss(input([5, ...model.inputShape], seed + k), [0, 1, 2, 0, 1]);
    return model;
  };

  for (const kind of MODEL_KINDS) {
    test(`${kind.label}: the imported model's scores are the exported one's (relative 1e-6), batches of 1 and 7`, () => {
      const model = trained(kind.make('float32'), 10);
      const { model: back, onnx } = importOnnx(exportOnnx(model), { source: `${kind.label}.onnx` });
      assert.equal(onnx.producerName, 'convnet');
      for (const n of [1, 7]) {
        const x = input([n, ...kind.inputShape], 20 + n);
        const error = scoreError(back.forward(x).data, model.forward(x).data);
        assert.ok(error <= 1e-6, `${kind.label}, batch ${n}: relative error ${error}`);
      }
    });
  }

  test('every module through the older forms (opsets 13, 17 and 19: GELU, layer norm, group norm, a dilated average pool, Upsample) and the newer operators (21, 26)', () => {
    const init = { seed: 3 };
    const make = (): Network =>
      new Network({
        inputShape: [2, 9, 8],
        module: new Sequential([
          new Conv2d({ inChannels: 2, outChannels: 4, kernelSize: [3, 2], stride: [2, 1], pad: [1, 0, 2, 1], dilation: [1, 2], groups: 2 }, init),
          new GELU(),
          new ConvTranspose2d({ inChannels: 4, outChannels: 4, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1 }, init),
          new ELU({ alpha: 0.5 }),
          new Upsample({ mode: 'nearest', scaleFactor: 2 }),
          new Tanh(),
          new AvgPool2d({ kernelSize: 3, stride: 2, pad: 1, dilation: [2, 1], countIncludePad: false, ceilMode: true }),
          new Upsample({ mode: 'bilinear', size: [7, 9] }),
          new Sigmoid(),
          new Upsample({ mode: 'nearest', size: [11, 13] }),
          new GroupNorm({ channels: 4, groups: 2 }, init),
          new Residual({ body: new Sequential([new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, pad: 1 }, init), new BatchNorm2d({ features: 4 }, init), new LeakyReLU({ alpha: 0.2 })]) }),
          new MaxPool2d({ kernelSize: 3, stride: 2, dilation: 2, pad: 1 }),
          new GlobalMaxPool(),
          new Flatten(),
          new Linear({ inFeatures: 4, outFeatures: 6 }, init),
          new LayerNorm({ features: 6 }, init),
          new GELU({ approximate: 'tanh' }),
          new Dropout({ keep: 0.8 }, init),
          new Linear({ inFeatures: 6, outFeatures: 3 }, init),
        ]),
      });
    const model = trained(make(), 30);
    const x = input([7, 2, 9, 8], 40);
    for (const opset of [13, 17, 19, 21, 26]) {
      const { model: back } = importOnnx(exportOnnx(model, { opset }), { source: `opset${opset}.onnx` });
      const error = scoreError(back.forward(x).data, model.forward(x).data);
      assert.ok(error <= 1e-6, `opset ${opset}: relative error ${error}`);
    }
  });

  test('class names, preprocessing, the training summary and a float64 dtype come back; a final softmax is left out', () => {
    const kind = MODEL_KINDS[0]!;
    const model = kind.make('float64');
    const mean: Tensor = { shape: [2, 1, 1], data: Float64Array.of(0.25, -0.5), dtype: 'float64' };
    const info: ModelInfo = { classNames: ['a', 'b', 'c', 'd'], preprocessing: { scale: 1 / 255, mean }, training: { dataset: 'cifar10', testAcc: 0.5 } };
    const { model: back, info: again, onnx } = importOnnx(exportOnnx(model, { softmax: true, info }));
    assert.equal(back.dtype, 'float64');
    assert.equal(onnx.outputActivation, 'Softmax');
    assert.deepEqual(again.classNames, info.classNames);
    assert.deepEqual(again.training, info.training);
    assert.equal(again.preprocessing!.scale, 1 / 255);
    assert.deepEqual(again.preprocessing!.mean, mean);
    const x: Tensor = { shape: [3, ...kind.inputShape], data: Float64Array.from(input([3, ...kind.inputShape], 5).data), dtype: 'float64' };
    // float64 weights went through float32 in the file.
    assert.ok(scoreError(back.forward(x).data, model.forward(x).data) < 1e-6);
  });
});
