/**
 * exportOnnx: a convnet model as an ONNX ModelProto that onnxruntime (and PyTorch's importers)
 * run with the same results as the model's test-mode forward.
 *
 *   const bytes = exportOnnx(model, { opset: 17, softmax: false, info });
 *   // graph input 'input': (N, …model.inputShape) float32, N dynamic
 *   // graph output 'scores': (N, ...model.outputShape): (N, numClasses) for a classifier, or 'probabilities' with { softmax: true }
 *
 * The graph is made by walking the module tree (model.root and its children, in execution
 * order, as their configs describe them), never Sequential's fused execution plan. Weights are
 * initializers under the model's own names (W1, b1, gamma1, runningMean1, …) in float32 (a
 * float64 model's values are rounded), laid out as the ONNX operator wants them:
 *   Conv2d           Conv (W1 (F, C/groups, kH, kW), pads [top, left, bottom, right])
 *   ConvTranspose2d  ConvTranspose (W (C, F/groups, kH, kW), as ours), output_padding; an
 *                    output padding not below the stride (PyTorch allows it below the dilation,
 *                    onnxruntime does not) becomes a smaller end pad, Pad and Add of the bias
 *   Linear           [Flatten →] Gemm with transB = 0 (our weight is (in, out), CS231n's x·W)
 *   BatchNorm(2d)    BatchNormalization with the running statistics (inference form)
 *   LayerNorm        LayerNormalization (opset >= 17), else ReduceMean → Sub → Mul → ReduceMean
 *                    → Add → Sqrt → Div → Mul → Add
 *   GroupNorm        GroupNormalization (opset >= 21, whose scale and bias are per channel as
 *                    ours; opset 18's are per group), else PyTorch's Reshape (N, G, −1) →
 *                    InstanceNormalization → Reshape (N, C, H, W) → Mul → Add
 *   MaxPool2d        MaxPool (pads, dilations, ceil_mode)
 *   AvgPool2d        AveragePool (pads, ceil_mode, count_include_pad; dilations from opset 19);
 *                    a dilated one below opset 19 is a depthwise Conv of ones (the window sums)
 *                    times a constant (1, 1, Ho, Wo) map of 1 / divisor, which is exact
 *   GELU             Gelu (opset >= 20), else 0.5·x·(1 + erf(x/√2)) or x·σ(2√(2/π)(x + 0.044715x³))
 *   Upsample         Resize: nearest as asymmetric + floor, bilinear as half_pixel (or
 *                    align_corners); a nearest resize whose source pixels Resize would pick
 *                    differently from ours (PyTorch's float32 index arithmetic) is two Gathers
 *   Residual         body and projection, then Add; Dropout is left out (inference)
 *
 * metadata_props records what convnet needs to rebuild the model and treat inputs as in
 * training: convnet.config (model.config as JSON), convnet.dtype, convnet.preprocessing,
 * convnet.classNames, convnet.training, convnet.softmax, convnet.version and convnet.format.
 * The same model exports to the same bytes every time (no dates, no random names).
 */
import { ConvnetError, show } from '../../errors.js';
import { endTap, firstTap } from '../../layers/geometry.js';
import { avgPoolForward } from '../../layers/poolFast.js';
import { upsampleGeometry } from '../../layers/upsample.js';
import { Network } from '../../models/network.js';
import { ELU, GELU, LeakyReLU, ReLU, Sigmoid, Tanh } from '../../nn/activation.js';
import { Residual, Sequential } from '../../nn/containers.js';
import { Conv2d } from '../../nn/conv.js';
import { ConvTranspose2d } from '../../nn/convTranspose.js';
import { Dropout } from '../../nn/dropout.js';
import { Flatten } from '../../nn/flatten.js';
import { Linear } from '../../nn/linear.js';
import type { Json, Module } from '../../nn/module.js';
import { BatchNorm, BatchNorm2d, GroupNorm, LayerNorm } from '../../nn/norm.js';
import { AvgPool2d, GlobalAvgPool, GlobalMaxPool, MaxPool2d } from '../../nn/pool.js';
import { Upsample } from '../../nn/upsample.js';
import type { Tensor } from '../../tensor.js';
import { CONVNET_VERSION } from '../../version.js';
import type { ModelInfo } from '../model.js';
import {
  encodeOnnx,
  floatTensor,
  int64Tensor,
  OnnxAttributeType,
  OnnxDataType,
  type OnnxAttribute,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './proto.js';

/** The opsets exportOnnx writes: 13 (Resize, Softmax and Gemm as today's) to 26 (the newest onnxruntime 1.30 loads). */
export const ONNX_MIN_OPSET = 13;
export const ONNX_MAX_OPSET = 26;
export const ONNX_DEFAULT_OPSET = 17;
/** metadata_props' convnet.format value, and the version of the metadata layout. */
export const ONNX_FORMAT = 'convnet-onnx';
export const ONNX_FORMAT_VERSION = 1;
/** Graph input and output names. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'scores';
export const ONNX_OUTPUT_SOFTMAX = 'probabilities';

/**
 * The IR version of the ONNX release that introduced `opset` (onnx/helper.py's VERSION_TABLE):
 * a runtime that knows the opset reads that IR.
 */
export function onnxIrVersion(opset: number): number {
  if (opset <= 14) return 7; // ONNX 1.8–1.9
  if (opset <= 18) return 8; // 1.10–1.13
  if (opset <= 20) return 9; // 1.14–1.15
  if (opset <= 22) return 10; // 1.16–1.17
  if (opset === 23) return 11; // 1.18
  if (opset === 24) return 12; // 1.19
  return 13; // 1.20 (opset 25), 1.21 (opset 26)
}

export interface ExportOnnxOptions {
  /** The ai.onnx opset, ONNX_MIN_OPSET to ONNX_MAX_OPSET; default 17. */
  opset?: number;
  /** End in Softmax over the classes (output 'probabilities'); default false (output 'scores'). */
  softmax?: boolean;
  /** Class names, preprocessing and the training summary, recorded in metadata_props. */
  info?: ModelInfo;
}

const FN = 'exportOnnx';
const OPTIONS = ['opset', 'softmax', 'info'];

/** The model as ONNX bytes (a ModelProto). */
export function exportOnnx(model: Network, options: ExportOnnxOptions = {}): Uint8Array {
  return encodeOnnx(onnxModelOf(model, options));
}

/** The model as an ONNX model object (what exportOnnx encodes; decodeOnnx's shape). */
export function onnxModelOf(model: Network, options: ExportOnnxOptions = {}): OnnxModel {
  if (!(model instanceof Network)) throw new ConvnetError(FN, `expected a convnet Network (ThreeLayerConvNet, FullyConnectedNet, ConvNet or Network), got ${show(model)}`);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ConvnetError(FN, `expected options { opset?, softmax?, info? }, got ${show(options)}`);
  for (const key of Object.keys(options)) if (!OPTIONS.includes(key)) throw new ConvnetError(FN, `expected options among ${OPTIONS.join(', ')}, got ${show(key)}`);
  const opset = options.opset ?? ONNX_DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < ONNX_MIN_OPSET || opset > ONNX_MAX_OPSET) {
    throw new ConvnetError(FN, `expected opset to be an integer from ${ONNX_MIN_OPSET} to ${ONNX_MAX_OPSET}, got ${show(opset)}`);
  }
  const softmax = options.softmax ?? false;
  if (typeof softmax !== 'boolean') throw new ConvnetError(FN, `expected softmax to be a boolean, got ${show(softmax)}`);
  const info = options.info ?? {};
  const metadata = metadataOf(model, info, softmax);

  const graph = new GraphBuilder(opset, model);
  let value = graph.emit(model.root, ONNX_INPUT, [...model.inputShape], '');
  if (softmax) value = graph.node('Softmax', [value], [intAttr('axis', -1)], '', 'Softmax');
  const output = softmax ? ONNX_OUTPUT_SOFTMAX : ONNX_OUTPUT;
  // The last node writes the graph output directly (an Identity when the net is empty of nodes).
  if (graph.nodes.length === 0 || graph.nodes[graph.nodes.length - 1]!.output[0] !== value) graph.node('Identity', [value], [], '', 'Identity');
  graph.nodes[graph.nodes.length - 1]!.output[0] = output;

  return {
    irVersion: onnxIrVersion(opset),
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'convnet',
    producerVersion: CONVNET_VERSION,
    graph: {
      name: model.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [valueInfo(ONNX_INPUT, model.inputShape)],
      output: [valueInfo(output, [...model.outputShape])],
      valueInfo: [],
    },
    metadataProps: metadata,
  };
}

/** A float32 graph input or output: (N, …shape) with N dynamic. */
function valueInfo(name: string, shape: readonly number[]): OnnxValueInfo {
  return { name, type: { tensorType: { elemType: OnnxDataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, ...shape.map((d) => ({ dimValue: d }))] } } } };
}

/** metadata_props: the model's config and dtype, and the info (checked against the model). */
function metadataOf(model: Network, info: ModelInfo, softmax: boolean): { key: string; value: string }[] {
  if (info === null || typeof info !== 'object' || Array.isArray(info)) throw new ConvnetError(FN, `expected info { classNames?, preprocessing?, training? }, got ${show(info)}`);
  const props: Record<string, string> = {
    'convnet.format': ONNX_FORMAT,
    'convnet.formatVersion': String(ONNX_FORMAT_VERSION),
    'convnet.version': CONVNET_VERSION,
    'convnet.config': JSON.stringify(model.config),
    'convnet.dtype': model.dtype,
    'convnet.softmax': String(softmax),
  };
  const { classNames, preprocessing, training } = info;
  if (classNames !== undefined) {
    if (!Array.isArray(classNames) || classNames.length !== model.numClasses || !classNames.every((n) => typeof n === 'string')) {
      throw new ConvnetError(FN, `expected info.classNames to be ${model.numClasses} strings (one per class), got ${show(classNames)}`);
    }
    props['convnet.classNames'] = JSON.stringify(classNames);
  }
  if (preprocessing !== undefined) {
    const scale = preprocessing?.scale;
    if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) throw new ConvnetError(FN, `expected info.preprocessing.scale to be a finite number > 0, got ${show(scale)}`);
    const mean = preprocessing.mean;
    let meanJson: Json = null;
    if (mean !== undefined) {
      const input = model.inputShape;
      const ok = (t: Tensor): boolean => {
        if (t === null || typeof t !== 'object' || !Array.isArray(t.shape) || !ArrayBuffer.isView(t.data)) return false;
        const perPixel = t.shape.length === input.length && t.shape.every((d, i) => d === input[i]);
        const perChannel = input.length === 3 && t.shape.length === 3 && t.shape[0] === input[0] && t.shape[1] === 1 && t.shape[2] === 1;
        return (perPixel || perChannel) && t.data.length === t.shape.reduce((a, b) => a * b, 1);
      };
      if (!ok(mean)) throw new ConvnetError(FN, `expected info.preprocessing.mean of shape ${show(input)} (per pixel)${input.length === 3 ? ` or [${input[0]}, 1, 1] (per channel)` : ''}, got ${show(mean?.shape)}`);
      meanJson = { shape: [...mean.shape], data: Array.from(mean.data) };
    }
    props['convnet.preprocessing'] = JSON.stringify({ scale, mean: meanJson });
  }
  if (training !== undefined) {
    if (training === null || typeof training !== 'object' || Array.isArray(training)) throw new ConvnetError(FN, `expected info.training to be a JSON object, got ${show(training)}`);
    props['convnet.training'] = JSON.stringify(training);
  }
  return Object.entries(props).map(([key, value]) => ({ key, value }));
}

function intAttr(name: string, i: number): OnnxAttribute {
  return { name, type: OnnxAttributeType.INT, i };
}
function intsAttr(name: string, ints: readonly number[]): OnnxAttribute {
  return { name, type: OnnxAttributeType.INTS, ints: [...ints] };
}
function floatAttr(name: string, f: number): OnnxAttribute {
  return { name, type: OnnxAttributeType.FLOAT, f };
}
function stringAttr(name: string, s: string): OnnxAttribute {
  return { name, type: OnnxAttributeType.STRING, s: new TextEncoder().encode(s) };
}

/** A module's place in the tree for names and errors: config-style (layers[3].body) and ONNX-style (/layers.3/body). */
interface Place {
  path: string;
  onnx: string;
}

/** Builds the node list and initializers while walking the module tree. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly used = new Set<string>([ONNX_INPUT]);
  /** The model's name of each module's tensors: module → local name → W1, gamma2, runningMean2, … */
  private readonly names = new Map<Module, Map<string, string>>();

  constructor(
    readonly opset: number,
    model: Network,
  ) {
    for (const { name, module, local } of [...model.namedParams, ...model.namedBuffers]) {
      if (!this.names.has(module)) this.names.set(module, new Map());
      this.names.get(module)!.set(local, name);
    }
  }

  /** A name not used yet: base, else base_1, base_2, … */
  private fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Appends a node; returns its (one) output's name. */
  node(opType: string, inputs: string[], attribute: OnnxAttribute[], prefix: string, what: string): string {
    const name = this.fresh(`${prefix}/${what}`);
    const output = this.fresh(`${name}_output`);
    this.nodes.push({ input: inputs, output: [output], name, opType, domain: '', attribute });
    return output;
  }

  /** A float32 initializer from a module's tensor, under the model's name for it, with `dims` (default its shape). */
  param(module: Module, local: string, dims?: readonly number[]): string {
    const tensor = module.params[local] ?? module.buffers[local];
    const name = this.names.get(module)?.get(local);
    if (tensor === undefined || name === undefined) throw new ConvnetError(FN, `expected ${module.label} to have a tensor ${local} named by the model, got none`);
    if (this.used.has(name)) throw new ConvnetError(FN, `expected each tensor once, got ${name} twice`);
    this.used.add(name);
    this.initializers.push(floatTensor(name, dims ?? tensor.shape, tensor.data));
    return name;
  }

  /** A float32 constant initializer (a scalar when dims is []). */
  floats(prefix: string, what: string, dims: readonly number[], values: ArrayLike<number>): string {
    const name = this.fresh(`${prefix}/${what}`);
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }

  /** An int64 constant initializer (shapes, sizes, indices). */
  ints(prefix: string, what: string, values: readonly number[]): string {
    const name = this.fresh(`${prefix}/${what}`);
    this.initializers.push(int64Tensor(name, [values.length], values));
    return name;
  }

  /** Emits module m applied to value x of one sample's shape `shape` (batch axis left out); returns the output value. */
  emit(m: Module, x: string, shape: number[], path: string): string {
    const place: Place = { path: path === '' ? '(the root)' : path, onnx: path === '' ? '' : `/${path.replace(/\[(\d+)\]/g, '.$1')}` };
    const p = place.onnx;
    if (m instanceof Sequential) {
      let value = x;
      let current = shape;
      m.layers.forEach((child, i) => {
        value = this.emit(child, value, current, `${path === '' ? '' : `${path}.`}layers[${i}]`);
        current = child.outputShape(current);
      });
      return value;
    }
    if (m instanceof Residual) {
      const prefix = path === '' ? '' : `${path}.`;
      const main = this.emit(m.body, x, shape, `${prefix}body`);
      const skip = m.projection === null ? x : this.emit(m.projection, x, shape, `${prefix}projection`);
      return this.node('Add', [main, skip], [], p, 'Add');
    }
    if (m instanceof Conv2d) {
      return this.node('Conv', [x, this.param(m, 'weight'), this.param(m, 'bias')], [
        intsAttr('kernel_shape', m.kernelSize),
        intsAttr('strides', m.stride),
        intsAttr('pads', m.pad),
        intsAttr('dilations', m.dilation),
        intAttr('group', m.groups),
      ], p, 'Conv');
    }
    if (m instanceof ConvTranspose2d) {
      if (m.outputPadding.some((op, axis) => op >= m.stride[axis as 0 | 1])) return this.convTransposeWidePadding(m, x, p);
      return this.node('ConvTranspose', [x, this.param(m, 'weight'), this.param(m, 'bias')], [
        intsAttr('kernel_shape', m.kernelSize),
        intsAttr('strides', m.stride),
        intsAttr('pads', m.pad),
        intsAttr('output_padding', m.outputPadding),
        intsAttr('dilations', m.dilation),
        intAttr('group', m.groups),
      ], p, 'ConvTranspose');
    }
    if (m instanceof Linear) {
      // Our affine flattens (N, d1, …, dk) itself; Gemm takes (N, K) only.
      const flat = shape.length === 1 ? x : this.node('Flatten', [x], [intAttr('axis', 1)], p, 'Flatten');
      return this.node('Gemm', [flat, this.param(m, 'weight'), this.param(m, 'bias')], [floatAttr('alpha', 1), floatAttr('beta', 1), intAttr('transA', 0), intAttr('transB', 0)], p, 'Gemm');
    }
    if (m instanceof ReLU) return this.node('Relu', [x], [], p, 'Relu');
    if (m instanceof LeakyReLU) return this.node('LeakyRelu', [x], [floatAttr('alpha', m.alpha)], p, 'LeakyRelu');
    if (m instanceof Tanh) return this.node('Tanh', [x], [], p, 'Tanh');
    if (m instanceof Sigmoid) return this.node('Sigmoid', [x], [], p, 'Sigmoid');
    if (m instanceof ELU) return this.node('Elu', [x], [floatAttr('alpha', m.alpha)], p, 'Elu');
    if (m instanceof GELU) return this.gelu(m, x, p);
    if (m instanceof Dropout) return x;
    if (m instanceof Flatten) return shape.length === 1 ? x : this.node('Flatten', [x], [intAttr('axis', 1)], p, 'Flatten');
    if (m instanceof MaxPool2d) {
      return this.node('MaxPool', [x], [
        intsAttr('kernel_shape', m.kernelSize),
        intsAttr('strides', m.stride),
        intsAttr('pads', m.pad),
        intsAttr('dilations', m.dilation),
        intAttr('ceil_mode', m.ceilMode ? 1 : 0),
      ], p, 'MaxPool');
    }
    if (m instanceof AvgPool2d) return this.avgPool(m, x, shape, p);
    if (m instanceof GlobalAvgPool) return this.node('GlobalAveragePool', [x], [], p, 'GlobalAveragePool');
    if (m instanceof GlobalMaxPool) return this.node('GlobalMaxPool', [x], [], p, 'GlobalMaxPool');
    if (m instanceof BatchNorm || m instanceof BatchNorm2d) {
      // Inference form: (x − runningMean) / √(runningVar + eps) · gamma + beta, over axis 1 of (N, D) or (N, C, H, W).
      return this.node('BatchNormalization', [x, this.param(m, 'gamma'), this.param(m, 'beta'), this.param(m, 'runningMean'), this.param(m, 'runningVar')], [floatAttr('epsilon', m.eps)], p, 'BatchNormalization');
    }
    if (m instanceof LayerNorm) return this.layerNorm(m, x, p);
    if (m instanceof GroupNorm) return this.groupNorm(m, x, shape, p);
    if (m instanceof Upsample) return this.upsample(m, x, shape, place);
    throw new ConvnetError(FN, `cannot export ${m.label} (type ${show(m.type)}) at ${place.path}: ONNX export knows the modules of convnet's nn (${EXPORTABLE.join(', ')}), not this one`);
  }

  /**
   * A ConvTranspose2d whose output padding is not below its stride (PyTorch allows it below the
   * dilation instead; onnxruntime rejects it). The full transposed convolution has
   * L = stride·(in − 1) + dilation·(k − 1) + 1 positions, of which [padBegin, L − padEnd + outputPadding)
   * are kept: the output padding first uncovers the cropped end (a smaller end pad), and what is
   * left lies past L, where only the bias reaches (Pad with zeros, then Add the bias).
   */
  private convTransposeWidePadding(m: ConvTranspose2d, x: string, p: string): string {
    const [top, left, bottom, right] = m.pad;
    const [opH, opW] = m.outputPadding;
    const uncoveredH = Math.min(bottom, opH);
    const uncoveredW = Math.min(right, opW);
    const [restH, restW] = [opH - uncoveredH, opW - uncoveredW];
    const conv = this.node('ConvTranspose', [x, this.param(m, 'weight')], [
      intsAttr('kernel_shape', m.kernelSize),
      intsAttr('strides', m.stride),
      intsAttr('pads', [top, left, bottom - uncoveredH, right - uncoveredW]),
      intsAttr('dilations', m.dilation),
      intAttr('group', m.groups),
    ], p, 'ConvTranspose');
    const padded = restH === 0 && restW === 0 ? conv : this.node('Pad', [conv, this.ints(p, 'pads', [0, 0, 0, 0, 0, 0, restH, restW])], [stringAttr('mode', 'constant')], p, 'Pad');
    return this.node('Add', [padded, this.param(m, 'bias', [m.outChannels, 1, 1])], [], p, 'Add');
  }

  private gelu(m: GELU, x: string, p: string): string {
    if (this.opset >= 20) return this.node('Gelu', [x], [stringAttr('approximate', m.approximate)], p, 'Gelu');
    if (m.approximate === 'none') {
      // 0.5 · x · (1 + erf(x / √2))
      const scaled = this.node('Mul', [x, this.floats(p, 'inv_sqrt2', [], [Math.SQRT1_2])], [], p, 'Mul');
      const erf = this.node('Erf', [scaled], [], p, 'Erf');
      const onePlus = this.node('Add', [erf, this.floats(p, 'one', [], [1])], [], p, 'Add');
      const times = this.node('Mul', [x, onePlus], [], p, 'Mul');
      return this.node('Mul', [times, this.floats(p, 'half', [], [0.5])], [], p, 'Mul');
    }
    // x · σ(2u), u = √(2/π)·(x + 0.044715·x³): PyTorch's tanh form, as our layer evaluates it.
    const square = this.node('Mul', [x, x], [], p, 'Mul');
    const cube = this.node('Mul', [square, x], [], p, 'Mul');
    const term = this.node('Mul', [cube, this.floats(p, 'c', [], [0.044715])], [], p, 'Mul');
    const inner = this.node('Add', [x, term], [], p, 'Add');
    const u2 = this.node('Mul', [inner, this.floats(p, 'two_sqrt_2_over_pi', [], [2 * Math.sqrt(2 / Math.PI)])], [], p, 'Mul');
    const s = this.node('Sigmoid', [u2], [], p, 'Sigmoid');
    return this.node('Mul', [x, s], [], p, 'Mul');
  }

  private avgPool(m: AvgPool2d, x: string, shape: number[], p: string): string {
    const dilated = m.dilation.some((d) => d !== 1);
    if (!dilated || this.opset >= 19) {
      return this.node('AveragePool', [x], [
        intsAttr('kernel_shape', m.kernelSize),
        intsAttr('strides', m.stride),
        intsAttr('pads', m.pad),
        ...(dilated ? [intsAttr('dilations', m.dilation)] : []),
        intAttr('ceil_mode', m.ceilMode ? 1 : 0),
        intAttr('count_include_pad', m.countIncludePad ? 1 : 0),
      ], p, 'AveragePool');
    }
    // AveragePool has no dilations before opset 19: the window sums as a depthwise Conv of ones
    // over the zero-padded input, times 1 / each window's divisor (a constant: H and W are fixed).
    const [C, H, W] = shape as [number, number, number];
    const [, Ho, Wo] = m.outputShape(shape) as [number, number, number];
    const [kH, kW] = m.kernelSize;
    const [sH, sW] = m.stride;
    const [dH, dW] = m.dilation;
    const [top, left] = m.pad;
    // The end padding that gives exactly Ho (Wo) windows (ceil mode may add one), never negative.
    const endPad = (out: number, stride: number, span: number, size: number, before: number): number => Math.max(0, (out - 1) * stride + span - size - before);
    const bottom = endPad(Ho, sH, dH * (kH - 1) + 1, H, top);
    const right = endPad(Wo, sW, dW * (kW - 1) + 1, W, left);
    const ones = this.floats(p, 'window', [C, 1, kH, kW], new Float32Array(C * kH * kW).fill(1));
    const sums = this.node('Conv', [x, ones], [
      intsAttr('kernel_shape', [kH, kW]),
      intsAttr('strides', [sH, sW]),
      intsAttr('pads', [top, left, bottom, right]),
      intsAttr('dilations', [dH, dW]),
      intAttr('group', C),
    ], p, 'Conv');
    // 1 / divisor per window: our layer's mean of ones is (cells inside the input) / divisor.
    const plane: Tensor = { shape: [1, 1, H, W], data: new Float64Array(H * W).fill(1), dtype: 'float64' };
    const { out } = avgPoolForward(plane, { ...m.poolParam, countIncludePad: m.countIncludePad });
    const inverse = new Float64Array(Ho * Wo);
    for (let i = 0; i < Ho; i++) {
      const rowStart = i * sH - top;
      const rows = endTap(rowStart, kH, dH, H) - firstTap(rowStart, dH, 0);
      for (let j = 0; j < Wo; j++) {
        const colStart = j * sW - left;
        const cols = endTap(colStart, kW, dW, W) - firstTap(colStart, dW, 0);
        inverse[i * Wo + j] = rows > 0 && cols > 0 ? out.data[i * Wo + j]! / (rows * cols) : 0;
      }
    }
    return this.node('Mul', [sums, this.floats(p, 'inverse_divisor', [1, 1, Ho, Wo], inverse)], [], p, 'Mul');
  }

  private layerNorm(m: LayerNorm, x: string, p: string): string {
    if (this.opset >= 17) {
      return this.node('LayerNormalization', [x, this.param(m, 'gamma'), this.param(m, 'beta')], [intAttr('axis', -1), floatAttr('epsilon', m.eps)], p, 'LayerNormalization');
    }
    // (x − mean) / √(mean((x − mean)²) + eps) · gamma + beta over the features (ReduceMean's axes is an attribute below opset 18).
    const axes = [intsAttr('axes', [-1]), intAttr('keepdims', 1)];
    const mean = this.node('ReduceMean', [x], axes, p, 'ReduceMean');
    const centred = this.node('Sub', [x, mean], [], p, 'Sub');
    const squares = this.node('Mul', [centred, centred], [], p, 'Mul');
    const variance = this.node('ReduceMean', [squares], axes, p, 'ReduceMean');
    const shifted = this.node('Add', [variance, this.floats(p, 'epsilon', [], [m.eps])], [], p, 'Add');
    const std = this.node('Sqrt', [shifted], [], p, 'Sqrt');
    const normalised = this.node('Div', [centred, std], [], p, 'Div');
    const scaled = this.node('Mul', [normalised, this.param(m, 'gamma')], [], p, 'Mul');
    return this.node('Add', [scaled, this.param(m, 'beta')], [], p, 'Add');
  }

  private groupNorm(m: GroupNorm, x: string, shape: number[], p: string): string {
    const C = m.channels;
    if (this.opset >= 21) {
      return this.node('GroupNormalization', [x, this.param(m, 'gamma', [C]), this.param(m, 'beta', [C])], [floatAttr('epsilon', m.eps), intAttr('num_groups', m.groups)], p, 'GroupNormalization');
    }
    // PyTorch's form: (N, C, H, W) → (N, G, C/G·H·W), instance norm per (n, g) with unit scale
    // and zero bias, back to (N, C, H, W), then the per-channel gamma (1, C, 1, 1) and beta.
    const G = m.groups;
    const grouped = this.node('Reshape', [x, this.ints(p, 'grouped_shape', [0, G, -1])], [], p, 'Reshape');
    const normalised = this.node('InstanceNormalization', [grouped, this.floats(p, 'unit_scale', [G], new Float32Array(G).fill(1)), this.floats(p, 'zero_bias', [G], new Float32Array(G))], [floatAttr('epsilon', m.eps)], p, 'InstanceNormalization');
    const back = this.node('Reshape', [normalised, this.ints(p, 'shape', [0, ...shape])], [], p, 'Reshape');
    const scaled = this.node('Mul', [back, this.param(m, 'gamma')], [], p, 'Mul');
    return this.node('Add', [scaled, this.param(m, 'beta')], [], p, 'Add');
  }

  private upsample(m: Upsample, x: string, shape: number[], place: Place): string {
    const p = place.onnx;
    const [C, H, W] = shape as [number, number, number];
    const [, Ho, Wo] = m.outputShape(shape) as [number, number, number];
    const factors = m.scaleFactor;
    // Resize with scales makes floor(size · scale) pixels, the product in float32: it must be ours.
    if (factors !== undefined && (Math.floor(Math.fround(H * Math.fround(factors[0]))) !== Ho || Math.floor(Math.fround(W * Math.fround(factors[1]))) !== Wo)) {
      throw new ConvnetError(FN, `cannot export ${m.label} at ${place.path}: Resize would make floor(size · float32(scale)) pixels, not our ${Ho}×${Wo} from ${H}×${W} (give the Upsample a size instead)`);
    }
    if (m.mode === 'nearest') {
      // Our (PyTorch's) source pixels, from the layer's own geometry.
      const g = upsampleGeometry(FN, { shape: [1, 1, H, W], data: new Float32Array(H * W), dtype: 'float32' }, m.upsampleParam);
      const rows = Array.from(g.rows.i0);
      const cols = Array.from(g.cols.i0);
      // What Resize (asymmetric, floor) picks: floor(d / scale), scale the factor or, with sizes, out / in in float32.
      const resizePicks = (out: number, size: number, factor: number | undefined): number[] =>
        Array.from({ length: out }, (_, d) => Math.min(size - 1, factor !== undefined ? Math.floor(d / factor) : Math.floor(Math.fround(d / Math.fround(out / size)))));
      const same = (a: number[], b: number[]): boolean => a.every((v, i) => v === b[i]);
      if (same(rows, resizePicks(Ho, H, factors?.[0])) && same(cols, resizePicks(Wo, W, factors?.[1]))) {
        return this.resize(x, C, Ho, Wo, factors, p, [stringAttr('mode', 'nearest'), stringAttr('coordinate_transformation_mode', 'asymmetric'), stringAttr('nearest_mode', 'floor')]);
      }
      // Resize would pick other pixels somewhere: gather ours, rows then columns.
      const byRows = this.node('Gather', [x, this.ints(p, 'rows', rows)], [intAttr('axis', 2)], p, 'Gather');
      return this.node('Gather', [byRows, this.ints(p, 'cols', cols)], [intAttr('axis', 3)], p, 'Gather');
    }
    const transform = m.alignCorners ? 'align_corners' : 'half_pixel';
    return this.resize(x, C, Ho, Wo, m.scaleFactor, p, [stringAttr('mode', 'linear'), stringAttr('coordinate_transformation_mode', transform)]);
  }

  /** Resize to (Ho, Wo) by scale factors (when given) or sizes; below opset 18 sizes need the batch size, taken from Shape(x). */
  private resize(x: string, C: number, Ho: number, Wo: number, factors: [number, number] | undefined, p: string, attributes: OnnxAttribute[]): string {
    if (factors !== undefined) return this.node('Resize', [x, '', this.floats(p, 'scales', [4], [1, 1, factors[0], factors[1]])], attributes, p, 'Resize');
    if (this.opset >= 18) return this.node('Resize', [x, '', '', this.ints(p, 'sizes', [Ho, Wo])], [...attributes, intsAttr('axes', [2, 3])], p, 'Resize');
    const batch = this.node('Shape', [x], [], p, 'Shape');
    const n = this.node('Slice', [batch, this.ints(p, 'start', [0]), this.ints(p, 'end', [1])], [], p, 'Slice');
    const sizes = this.node('Concat', [n, this.ints(p, 'sizes', [C, Ho, Wo])], [intAttr('axis', 0)], p, 'Concat');
    return this.node('Resize', [x, '', '', sizes], attributes, p, 'Resize');
  }
}

/** The module types exportOnnx writes (every one of convnet's nn). */
export const EXPORTABLE = [
  'Sequential', 'Residual', 'Conv2d', 'ConvTranspose2d', 'Linear', 'ReLU', 'LeakyReLU', 'Tanh', 'Sigmoid', 'GELU', 'ELU',
  'Dropout', 'Flatten', 'MaxPool2d', 'AvgPool2d', 'GlobalAvgPool', 'GlobalMaxPool', 'BatchNorm', 'BatchNorm2d', 'LayerNorm',
  'GroupNorm', 'Upsample',
] as const;
