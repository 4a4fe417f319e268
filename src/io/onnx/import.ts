/**
 * importOnnx: an ONNX file (a convnet graph, or one exported by PyTorch) as a convnet Network
 * made of src/nn modules, so that forward, loss, training and saving work as for any model.
 *
 *   const { model, info, onnx } = importOnnx(bytes, { source: 'net.onnx' });
 *   model.loss(x);                 // x: (N, …inputShape) → scores (N, numClasses)
 *
 * The graph must be a chain from its one input to its one output, in which a tensor may fork
 * into two branches that meet again in an Add: a residual block (the branch with fewer nodes, or
 * none, is the skip or its projection). Every node maps onto a module, or onto a pattern of
 * several nodes that is one module (PyTorch's GroupNorm as Reshape → InstanceNormalization →
 * Reshape → Mul → Add; Pad before a pool or a conv; MatMul + Add; GELU through Erf or Sigmoid
 * and layer norm through ReduceMean, as older opsets write them; exportOnnx's dilated average
 * pool and Gather upsampling), or onto nothing (Identity, Dropout of ratio 0, a Reshape that
 * changes no shape). Shape arithmetic (Shape → Gather / Slice → Unsqueeze → Concat) is folded
 * into constants. Anything else is a ConvnetError naming the node (its name, or #index), its op
 * type and its position — never a model that computes something else.
 *
 * The graph is the truth: convnet.config (which exportOnnx also writes) is not used to build
 * the model, so an imported convnet export is a plain Network of the same layers.
 *
 * A trailing Softmax or LogSoftmax is left out (and recorded in `onnx.outputActivation`): a
 * convnet model's scores are the values before the softmax, which its loss applies itself, and
 * the class ranking is the same.
 *
 * Parameters are float32 unless `dtype` (or a convnet export's recorded dtype) says otherwise;
 * batch norm's running statistics become buffers. metadata_props keys starting with "convnet." (written by exportOnnx) give the class
 * names, the preprocessing and the training summary.
 */
import { ConvnetError, show } from '../../errors.js';
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
import { outputLength } from '../../layers/geometry.js';
import { allocate, sizeOf, type DType, type Tensor } from '../../tensor.js';
import type { ModelInfo } from '../model.js';
import { decodeOnnx, defaultOpset, OnnxAttributeType, OnnxDataType, tensorValues, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor } from './proto.js';

export interface OnnxImportOptions {
  /** The file's name for errors; default 'importOnnx'. */
  source?: string;
  /** The parameters' dtype; default the convnet.dtype the file records (exportOnnx writes it), else 'float32'. */
  dtype?: DType;
}

/** What the ONNX file said about itself, besides the model. */
export interface OnnxFacts {
  producerName: string;
  producerVersion: string;
  irVersion: number;
  /** The default domain's opset version. */
  opset: number;
  graphName: string;
  /** Nodes in the graph, and how many of each op type. */
  nodes: number;
  opTypes: Record<string, number>;
  inputName: string;
  outputName: string;
  /** The graph input's batch axis: its symbolic name (dynamic) or its fixed size. */
  batch: string | number;
  /** A trailing Softmax / LogSoftmax left out (the model's scores are its input), or null. */
  outputActivation: 'Softmax' | 'LogSoftmax' | null;
  /** metadata_props as the file holds them (the convnet.* ones are read into info). */
  metadata: Record<string, string>;
}

export interface ImportedOnnx {
  model: Network;
  info: ModelInfo;
  onnx: OnnxFacts;
}

/** A constant tensor: an initializer or a Constant node's value. */
interface Constant {
  dims: number[];
  values: Float64Array;
}

/** What lowering one node (or a pattern of nodes starting at it) gives. */
interface Step {
  modules: Module[];
  /** The data tensor after the step, and its per-sample shape. */
  out: string;
  shape: number[];
  /** Node indices the step consumed. */
  nodes: number[];
}

/** The end of a walk along a chain: where it stopped, and the Add it stopped at (if any). */
interface Walked {
  modules: Module[];
  tensor: string;
  shape: number[];
  nodes: number;
  join: number | null;
}

const FLOAT_TYPES: ReadonlySet<number> = new Set([OnnxDataType.FLOAT, OnnxDataType.DOUBLE, OnnxDataType.FLOAT16]);

/** Imports an ONNX model (the bytes of a .onnx file) as a convnet Network. */
export function importOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): ImportedOnnx {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ConvnetError('importOnnx', `expected options { source?, dtype? }, got ${show(options)}`);
  for (const key of Object.keys(options)) if (key !== 'source' && key !== 'dtype') throw new ConvnetError('importOnnx', `expected options among source, dtype, got ${show(key)}`);
  const source = options.source ?? 'importOnnx';
  if (typeof source !== 'string' || source === '') throw new ConvnetError('importOnnx', `expected source to be a file name, got ${show(options.source)}`);
  if (options.dtype !== undefined && options.dtype !== 'float32' && options.dtype !== 'float64') throw new ConvnetError('importOnnx', `expected dtype 'float32' or 'float64', got ${show(options.dtype)}`);
  const decoded = decodeOnnx(bytes, source);
  // A convnet export records the model's dtype (its weights are float32 in the file either way).
  const recorded = decoded.metadataProps.find((p) => p.key === 'convnet.dtype')?.value;
  const dtype = options.dtype ?? (recorded === 'float64' ? 'float64' : 'float32');
  return new Importer(decoded, source, dtype).run();
}

class Importer {
  private readonly nodes: OnnxNode[];
  private readonly opset: number;
  private readonly consts = new Map<string, Constant>();
  /** Tensors computed from shapes and constants only (Shape → Gather → Concat, …), folded when read. */
  private readonly symbolic = new Set<string>();
  /** The per-sample shape of each data tensor the walk has reached. */
  private readonly shapes = new Map<string, number[]>();
  private readonly data = new Set<string>();
  /** Data tensor → indices of the nodes that read it (Shape nodes excepted). */
  private readonly consumers = new Map<string, number[]>();
  private readonly producer = new Map<string, number>();
  private readonly used = new Set<number>();
  private inputName = '';
  private endTensor = '';
  private batch: string | number = 'N';

  constructor(
    private readonly file: OnnxModel,
    private readonly source: string,
    private readonly dtype: DType,
  ) {
    this.nodes = file.graph.node;
    this.opset = defaultOpset(file);
  }

  private fail(what: string): never {
    throw new ConvnetError(this.source, what);
  }

  /** 'node "/0/Conv" (Conv, #0 of 7)', or 'node #3 (Relu, #3 of 7)' when it has no name. */
  private label(i: number): string {
    const node = this.nodes[i]!;
    return `node ${node.name !== '' ? JSON.stringify(node.name) : `#${i}`} (${node.opType}, #${i} of ${this.nodes.length})`;
  }

  private failAt(i: number, what: string): never {
    return this.fail(`${this.label(i)}: ${what}`);
  }

  run(): ImportedOnnx {
    const graph = this.file.graph;
    const initializerNames = new Set(graph.initializer.map((t) => t.name));
    // Before IR version 4, initializers were listed among the graph's inputs too.
    const inputs = graph.input.filter((v) => !initializerNames.has(v.name));
    if (inputs.length !== 1) this.fail(`expected a graph with one input (the images), got ${inputs.length}${inputs.length > 1 ? ` (${inputs.map((v) => JSON.stringify(v.name)).join(', ')})` : ''}`);
    if (graph.output.length !== 1) this.fail(`expected a graph with one output (the scores), got ${graph.output.length}${graph.output.length > 1 ? ` (${graph.output.map((v) => JSON.stringify(v.name)).join(', ')})` : ''}`);
    const input = inputs[0]!;
    const inputShape = this.inputShape(input);
    this.inputName = input.name;
    for (const tensor of graph.initializer) this.consts.set(tensor.name, this.constantOf(tensor, `initializer ${JSON.stringify(tensor.name)}`));
    this.data.add(input.name);
    this.index();

    // A trailing Softmax: the scores are its input (see the file comment).
    let outputActivation: OnnxFacts['outputActivation'] = null;
    this.endTensor = graph.output[0]!.name;
    const last = this.producer.get(this.endTensor);
    if (last !== undefined && (this.nodes[last]!.opType === 'Softmax' || this.nodes[last]!.opType === 'LogSoftmax')) {
      const node = this.nodes[last]!;
      this.attributes(last, ['axis']);
      const axis = this.int(last, 'axis', this.opset >= 13 ? -1 : 1);
      if (axis !== -1 && axis !== 1) this.failAt(last, `expected a softmax over the class axis (axis 1 or -1 of the (N, classes) scores), got axis ${axis}`);
      outputActivation = node.opType as 'Softmax' | 'LogSoftmax';
      this.used.add(last);
      this.endTensor = node.input[0]!;
      const readers = this.consumers.get(this.endTensor) ?? [];
      this.consumers.set(this.endTensor, readers.filter((c) => c !== last));
    }

    const walked = this.walk(input.name, inputShape);
    if (walked.join !== null) this.failAt(walked.join, 'expected an Add of two branches that fork from one tensor (a residual block), got an Add of tensors with no common fork');
    if (walked.tensor !== this.endTensor) this.fail(`expected the chain of nodes to reach the graph output ${JSON.stringify(this.endTensor)}, got it ending at ${JSON.stringify(walked.tensor)}`);
    for (let i = 0; i < this.nodes.length; i++) {
      const node = this.nodes[i]!;
      // Constants and shape arithmetic nobody reads are harmless; a layer off the path is not.
      const constant = node.opType === 'Constant' || node.output.every((o) => o === '' || this.symbolic.has(o));
      if (!this.used.has(i) && !constant) this.failAt(i, 'expected every node on the path from the input to the output, got a node off it (its result is never used)');
    }
    if (walked.shape.length !== 1) this.fail(`expected the graph to end in class scores (N, classes), got its output of shape (N, ${walked.shape.join(', ')})`);
    if (walked.modules.length === 0) this.fail('expected at least one layer between the input and the output, got none');

    const module = walked.modules.length === 1 && walked.modules[0] instanceof Sequential ? walked.modules[0] : new Sequential(walked.modules);
    const model = new Network({ module, inputShape });
    const metadata: Record<string, string> = {};
    for (const { key, value } of this.file.metadataProps) metadata[key] = value;
    const opTypes: Record<string, number> = {};
    for (const node of this.nodes) opTypes[node.opType] = (opTypes[node.opType] ?? 0) + 1;
    return {
      model,
      info: this.info(metadata, model),
      onnx: {
        producerName: this.file.producerName,
        producerVersion: this.file.producerVersion,
        irVersion: this.file.irVersion,
        opset: this.opset,
        graphName: graph.name,
        nodes: this.nodes.length,
        opTypes,
        inputName: input.name,
        outputName: graph.output[0]!.name,
        batch: this.batch,
        outputActivation,
        metadata,
      },
    };
  }

  /** One sample's shape from the graph input: (N, …) with N symbolic or fixed, the rest fixed. */
  private inputShape(input: OnnxModel['graph']['input'][number]): number[] {
    const type = input.type?.tensorType;
    const name = JSON.stringify(input.name);
    if (type === undefined) this.fail(`expected graph input ${name} to be a tensor, got no tensor type`);
    if (!FLOAT_TYPES.has(type.elemType)) this.fail(`expected graph input ${name} of a float type, got data type ${type.elemType}`);
    const dims = type.shape?.dim ?? [];
    if (dims.length < 2) this.fail(`expected graph input ${name} of shape (N, …) with a batch axis, got ${dims.length} axes`);
    const first = dims[0]!;
    this.batch = first.dimValue !== undefined && first.dimValue > 0 ? first.dimValue : first.dimParam ?? 'N';
    return dims.slice(1).map((d, axis) => {
      if (d.dimValue === undefined || !(d.dimValue >= 1)) this.fail(`expected graph input ${name} to fix every axis but the batch, got axis ${axis + 1} ${d.dimParam !== undefined ? `named ${JSON.stringify(d.dimParam)}` : 'unknown'}`);
      return d.dimValue;
    });
  }

  private constantOf(tensor: OnnxTensor, where: string): Constant {
    return { dims: [...tensor.dims], values: tensorValues(tensor, `${this.source}: ${where}`) };
  }

  /** Classifies every tensor as data (from the input), constant or a shape, in node order. */
  private index(): void {
    const defined = new Set<string>([...this.consts.keys(), this.inputName]);
    this.nodes.forEach((node, i) => {
      if (node.domain !== '' && node.domain !== 'ai.onnx') this.failAt(i, `expected an operator of the ONNX domain, got domain ${JSON.stringify(node.domain)} (unsupported operator)`);
      for (const name of node.input) {
        if (name === '') continue; // an optional input left out
        if (!defined.has(name)) this.failAt(i, `expected input ${JSON.stringify(name)} to be an initializer, the graph input or an earlier node's output, got none of these (a missing initializer?)`);
      }
      for (const name of node.output) {
        if (name !== '') {
          this.producer.set(name, i);
          defined.add(name);
        }
      }
      const dataInputs = node.input.filter((name) => this.data.has(name));
      if (node.opType === 'Constant') {
        this.consts.set(node.output[0]!, this.constantNode(i));
      } else if (node.opType === 'Shape' || (dataInputs.length === 0 && FOLDED.has(node.opType))) {
        // Shape arithmetic (the batch axis is unknown: NaN), folded when a node reads it.
        for (const name of node.output) if (name !== '') this.symbolic.add(name);
      } else if (dataInputs.length === 0) {
        this.failAt(i, `expected an operator on the data flowing from the input, got one on constants only${SUPPORTED.has(node.opType) ? '' : ' (unsupported operator)'}`);
      } else {
        for (const name of new Set(dataInputs)) this.consumers.set(name, [...(this.consumers.get(name) ?? []), i]);
        for (const name of node.output) if (name !== '') this.data.add(name);
      }
    });
  }

  private constantNode(i: number): Constant {
    const node = this.nodes[i]!;
    if (node.attribute.length !== 1) this.failAt(i, `expected one value attribute, got ${node.attribute.length}`);
    const a = node.attribute[0]!;
    switch (a.name) {
      case 'value':
        if (a.type !== OnnxAttributeType.TENSOR || a.t === undefined) this.failAt(i, `expected attribute value to be a tensor, got attribute type ${a.type}`);
        return this.constantOf(a.t, this.label(i));
      case 'value_float':
        return { dims: [], values: Float64Array.of(a.f ?? 0) };
      case 'value_floats':
        return { dims: [a.floats?.length ?? 0], values: Float64Array.from(a.floats ?? []) };
      case 'value_int':
        return { dims: [], values: Float64Array.of(a.i ?? 0) };
      case 'value_ints':
        return { dims: [a.ints?.length ?? 0], values: Float64Array.from(a.ints ?? []) };
      default:
        return this.failAt(i, `expected a Constant given by value, value_float(s) or value_int(s), got attribute ${JSON.stringify(a.name)} (unsupported)`);
    }
  }

  // ---- attributes ----

  /** Rejects attributes the importer does not know for this op: they could change what it computes. */
  private attributes(i: number, known: readonly string[]): void {
    for (const a of this.nodes[i]!.attribute) {
      if (!known.includes(a.name)) this.failAt(i, `expected attributes among ${known.length > 0 ? known.join(', ') : '(none)'}, got unsupported attribute ${JSON.stringify(a.name)}`);
    }
  }

  private attr(i: number, name: string, type: number, typeName: string): OnnxAttribute | undefined {
    const a = this.nodes[i]!.attribute.find((x) => x.name === name);
    if (a !== undefined && a.type !== type && a.type !== 0) this.failAt(i, `expected attribute ${name} to be ${typeName}, got attribute type ${a.type}`);
    return a;
  }

  private int(i: number, name: string, fallback: number): number {
    const a = this.attr(i, name, OnnxAttributeType.INT, 'an int');
    return a === undefined ? fallback : a.i ?? 0;
  }

  private float(i: number, name: string, fallback: number): number {
    const a = this.attr(i, name, OnnxAttributeType.FLOAT, 'a float');
    return a === undefined ? fallback : float32Decimal(a.f ?? 0);
  }

  private ints(i: number, name: string): number[] | undefined {
    const a = this.attr(i, name, OnnxAttributeType.INTS, 'a list of ints');
    return a === undefined ? undefined : [...(a.ints ?? [])];
  }

  private floats(i: number, name: string): number[] | undefined {
    const a = this.attr(i, name, OnnxAttributeType.FLOATS, 'a list of floats');
    return a === undefined ? undefined : (a.floats ?? []).map(float32Decimal);
  }

  private string(i: number, name: string, fallback: string): string {
    const a = this.attr(i, name, OnnxAttributeType.STRING, 'a string');
    return a === undefined ? fallback : new TextDecoder().decode(a.s ?? new Uint8Array(0));
  }

  /** An attribute that must have one value (e.g. transA 0): anything else is an error naming it. */
  private require(i: number, name: string, value: number | string, allowed: readonly (number | string)[], why: string): void {
    if (!allowed.includes(value)) this.failAt(i, `expected attribute ${name} ${allowed.map((v) => show(v)).join(' or ')}${why === '' ? '' : ` (${why})`}, got ${show(value)}`);
  }

  // ---- inputs ----

  /** The constant at input `k` of node i (an initializer or a Constant), or undefined when the input is left out. */
  private constInput(i: number, k: number, what: string, required: boolean): Constant | undefined {
    const name = this.nodes[i]!.input[k] ?? '';
    if (name === '') {
      if (required) this.failAt(i, `expected input ${k} (${what}), got none`);
      return undefined;
    }
    const c = this.value(name);
    if (c === undefined) this.failAt(i, `expected input ${k} (${what}) to be a constant (an initializer), got ${this.data.has(name) ? 'a tensor computed from the input' : `${JSON.stringify(name)}, which is not one`}`);
    return c;
  }

  /** A constant's value, folding shape arithmetic on first use; undefined for data tensors. */
  private value(name: string): Constant | undefined {
    const known = this.consts.get(name);
    if (known !== undefined || !this.symbolic.has(name)) return known;
    const folded = this.fold(this.producer.get(name)!);
    this.consts.set(name, folded);
    return folded;
  }

  /** Evaluates a node of shape arithmetic (1-D int tensors; the batch size is NaN). */
  private fold(i: number): Constant {
    const node = this.nodes[i]!;
    const arg = (k: number, what: string): Constant => this.constInput(i, k, what, true)!;
    const vector = (c: Constant, what: string): number[] => {
      if (c.dims.length > 1) this.failAt(i, `expected ${what} of at most one axis (shape arithmetic), got shape [${c.dims.join(', ')}]`);
      return Array.from(c.values);
    };
    const list = (values: number[]): Constant => ({ dims: [values.length], values: Float64Array.from(values) });
    switch (node.opType) {
      case 'Shape': {
        this.attributes(i, ['start', 'end']);
        const shape = this.shapes.get(node.input[0]!);
        if (shape === undefined) this.failAt(i, `expected the Shape of a tensor on the path before it, got ${JSON.stringify(node.input[0])}`);
        const full = [Number.NaN, ...shape];
        const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + full.length : v, 0), full.length);
        return list(full.slice(clamp(this.int(i, 'start', 0)), clamp(this.int(i, 'end', full.length))));
      }
      case 'Identity':
        this.attributes(i, []);
        return arg(0, 'input');
      case 'Cast': {
        this.attributes(i, ['to', 'saturate']);
        const c = arg(0, 'input');
        const to = this.int(i, 'to', OnnxDataType.FLOAT);
        return FLOAT_TYPES.has(to) ? c : { dims: c.dims, values: c.values.map(Math.trunc) };
      }
      case 'Gather': {
        this.attributes(i, ['axis']);
        this.require(i, 'axis', this.int(i, 'axis', 0), [0], 'shape arithmetic');
        const data = vector(arg(0, 'data'), 'data');
        const indices = arg(1, 'indices');
        const picked = Array.from(indices.values, (k) => data[k < 0 ? k + data.length : k] ?? this.failAt(i, `expected indices within the ${data.length} values, got ${k}`));
        return { dims: [...indices.dims], values: Float64Array.from(picked) };
      }
      case 'Unsqueeze':
      case 'Squeeze': {
        this.attributes(i, this.opset >= 13 ? [] : ['axes']);
        const c = arg(0, 'data');
        const axes = this.opset >= 13 ? (node.input[1] ? Array.from(arg(1, 'axes').values) : []) : this.ints(i, 'axes') ?? [];
        if (node.opType === 'Unsqueeze') {
          if (c.dims.length + axes.length > 1) this.failAt(i, `expected a scalar made one axis long (shape arithmetic), got shape [${c.dims.join(', ')}] and axes [${axes.join(', ')}]`);
          return list(Array.from(c.values));
        }
        return { dims: c.dims.filter((d) => d !== 1), values: c.values };
      }
      case 'Concat': {
        this.attributes(i, ['axis']);
        this.require(i, 'axis', this.int(i, 'axis', 0), [0, -1], 'shape arithmetic');
        return list(node.input.flatMap((_, k) => vector(arg(k, `input ${k}`), `input ${k}`)));
      }
      case 'Slice': {
        this.attributes(i, this.opset >= 10 ? [] : ['starts', 'ends', 'axes']);
        const data = vector(arg(0, 'data'), 'data');
        const starts = this.opset >= 10 ? Array.from(arg(1, 'starts').values) : this.ints(i, 'starts') ?? [];
        const ends = this.opset >= 10 ? Array.from(arg(2, 'ends').values) : this.ints(i, 'ends') ?? [];
        const axes = this.opset >= 10 ? (node.input[3] ? Array.from(arg(3, 'axes').values) : [0]) : this.ints(i, 'axes') ?? [0];
        const steps = this.opset >= 10 && node.input[4] ? Array.from(arg(4, 'steps').values) : [1];
        if (starts.length !== 1 || ends.length !== 1 || (axes[0] !== 0 && axes[0] !== -1) || steps[0] !== 1) this.failAt(i, 'expected a slice of one axis with step 1 (shape arithmetic), got another');
        const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + data.length : v, 0), data.length);
        return list(data.slice(clamp(starts[0]!), clamp(ends[0]!)));
      }
      default:
        return this.failAt(i, 'expected shape arithmetic (Shape, Gather, Unsqueeze, Squeeze, Concat, Slice, Cast, Identity), got another operator (unsupported)');
    }
  }

  private tensor(c: Constant, shape: number[]): Tensor {
    const data = allocate(this.dtype, c.values.length);
    data.set(c.values);
    return { shape, data, dtype: this.dtype };
  }

  /** Replaces a new module's parameter (drawn at random) with the file's values. */
  private setParam(module: Module, local: string, values: ArrayLike<number>): void {
    const current = module.params[local]!;
    const data = allocate(this.dtype, current.data.length);
    data.set(values);
    module.params[local] = { shape: [...current.shape], data, dtype: this.dtype };
  }

  private setBuffer(module: Module, local: string, values: ArrayLike<number>): void {
    module.buffers[local]!.data.set(values);
  }

  /** The only node that reads tensor t, or undefined when none or several do. */
  private only(t: string): number | undefined {
    const readers = this.consumers.get(t) ?? [];
    return readers.length === 1 && t !== this.endTensor ? readers[0] : undefined;
  }

  // ---- the walk ----

  /** Follows the chain from data tensor t (of per-sample shape) until the graph output, or an Add that joins two branches. */
  private walk(t: string, shape: number[]): Walked {
    const modules: Module[] = [];
    let nodes = 0;
    for (;;) {
      this.shapes.set(t, shape);
      if (t === this.endTensor) return { modules, tensor: t, shape, nodes, join: null };
      const readers = this.consumers.get(t) ?? [];
      if (readers.length === 0) {
        const at = this.producer.get(t);
        return at === undefined ? this.fail(`expected the graph input to be read by a node, got none`) : this.failAt(at, `expected its output ${JSON.stringify(t)} to be read by a node or be the graph output, got neither`);
      }
      if (readers.length === 1) {
        const n = readers[0]!;
        if (this.isJoin(n)) return { modules, tensor: t, shape, nodes, join: n };
        const step = this.lower(n, t, shape);
        modules.push(...step.modules);
        nodes += step.nodes.length;
        t = step.out;
        shape = step.shape;
        continue;
      }
      // Elementwise formulas that read their input twice: GELU through Erf, layer norm through ReduceMean.
      const formula = this.geluPattern(t, shape, readers) ?? this.geluTanhPattern(t, shape, readers) ?? this.layerNormPattern(t, shape, readers);
      if (formula !== undefined) {
        modules.push(...formula.modules);
        nodes += formula.nodes.length;
        t = formula.out;
        shape = formula.shape;
        continue;
      }
      if (readers.length > 2) this.failAt(readers[2]!, `expected a tensor to feed one node, or two branches of a residual block, got ${JSON.stringify(t)} read by ${readers.length} nodes`);
      const branches = readers.map((n): Walked => {
        if (this.isJoin(n)) return { modules: [], tensor: t, shape, nodes: 0, join: n };
        const step = this.lower(n, t, shape);
        const rest = this.walk(step.out, step.shape);
        return { ...rest, modules: [...step.modules, ...rest.modules], nodes: rest.nodes + step.nodes.length };
      });
      const [a, b] = branches as [Walked, Walked];
      const join = a.join;
      if (join === null || join !== b.join) {
        return this.failAt(readers[0]!, `expected the two branches from ${JSON.stringify(t)} to meet in one Add (a residual block), got ${join === null && b.join === null ? 'branches that never meet' : 'branches that end apart'}`);
      }
      const add = this.nodes[join]!;
      if (a.tensor === b.tensor) this.failAt(join, 'expected an Add of two different branches, got one tensor added to itself');
      this.attributes(join, []);
      // The body is the branch with more nodes; on a tie, the Add's first input (PyTorch's body(x) + skip(x)).
      const aFirst = add.input[0] === a.tensor;
      const [body, skip] = a.nodes > b.nodes || (a.nodes === b.nodes && aFirst) ? [a, b] : [b, a];
      if (body.modules.length === 0) this.failAt(join, 'expected a residual block with layers in at least one branch, got none in either');
      const block = new Residual({ body: seq(body.modules), projection: skip.modules.length === 0 ? null : seq(skip.modules) });
      if (body.shape.length !== skip.shape.length || body.shape.some((d, k) => d !== skip.shape[k])) {
        this.failAt(join, `expected the Add's branches to have one shape, got (N, ${body.shape.join(', ')}) and (N, ${skip.shape.join(', ')}) (broadcasting Add is not a residual block)`);
      }
      this.used.add(join);
      modules.push(block);
      nodes += a.nodes + b.nodes + 1;
      t = add.output[0]!;
      shape = body.shape;
    }
  }

  /** The other input of a two-input node, given one of them. */
  private otherInput(k: number, one: string): string | undefined {
    const input = this.nodes[k]!.input;
    if (input.length !== 2) return undefined;
    return input[0] === one ? input[1] : input[1] === one ? input[0] : undefined;
  }

  /** The one value of a scalar (or one-element) constant, or undefined. */
  private scalar(name: string | undefined): number | undefined {
    if (name === undefined || this.data.has(name)) return undefined;
    const c = this.value(name);
    return c !== undefined && c.values.length === 1 ? c.values[0] : undefined;
  }

  /** The node of op type `op` that is the only reader of tensor t, or undefined. */
  private next(t: string, op: string): number | undefined {
    const k = this.only(t);
    return k !== undefined && this.nodes[k]!.opType === op && this.nodes[k]!.output.length === 1 && !this.used.has(k) ? k : undefined;
  }

  /**
   * GELU as PyTorch (opsets before 20) and exportOnnx write it: x · 0.5 · (1 + erf(x / √2)), i.e.
   * Div(x, √2) or Mul(x, 1/√2) → Erf → Add 1 → Mul with x → Mul 0.5.
   */
  private geluPattern(t: string, shape: number[], readers: number[]): Step | undefined {
    if (readers.length !== 2) return undefined;
    const near = (v: number | undefined, want: number): boolean => v !== undefined && Math.abs(v - want) <= 1e-6 * Math.abs(want);
    for (const [first, second] of [readers, [...readers].reverse()] as [number, number][]) {
      const a = this.nodes[first]!;
      const scale = this.scalar(this.otherInput(first, t));
      if (!((a.opType === 'Div' && a.input[0] === t && near(scale, Math.SQRT2)) || (a.opType === 'Mul' && near(scale, Math.SQRT1_2)))) continue;
      const erf = this.next(a.output[0]!, 'Erf');
      const plus = erf === undefined ? undefined : this.next(this.nodes[erf]!.output[0]!, 'Add');
      if (plus === undefined || !near(this.scalar(this.otherInput(plus, this.nodes[erf!]!.output[0]!)), 1)) continue;
      const times = this.nodes[second]!;
      if (times.opType !== 'Mul' || this.otherInput(second, t) !== this.nodes[plus]!.output[0]) continue;
      const half = this.next(times.output[0]!, 'Mul');
      if (half === undefined || !near(this.scalar(this.otherInput(half, times.output[0]!)), 0.5)) continue;
      const nodes = [first, erf!, plus, second, half];
      for (const k of nodes) this.used.add(k);
      return { modules: [new GELU({ approximate: 'none' })], out: this.nodes[half]!.output[0]!, shape: [...shape], nodes };
    }
    return undefined;
  }

  /**
   * GELU's tanh form as exportOnnx writes it below opset 20: x · σ(2√(2/π) · (x + 0.044715 x³)),
   * i.e. Mul(x, x) → Mul x → Mul 0.044715 → Add x → Mul 2√(2/π) → Sigmoid → Mul x.
   */
  private geluTanhPattern(t: string, shape: number[], readers: number[]): Step | undefined {
    if (readers.length !== 4) return undefined;
    const near = (v: number | undefined, want: number): boolean => v !== undefined && Math.abs(v - want) <= 1e-6 * Math.abs(want);
    const square = readers.find((k) => this.nodes[k]!.opType === 'Mul' && this.nodes[k]!.input[0] === t && this.nodes[k]!.input[1] === t);
    if (square === undefined) return undefined;
    const sq = this.nodes[square]!.output[0]!;
    const cube = this.next(sq, 'Mul');
    if (cube === undefined || this.otherInput(cube, sq) !== t || !readers.includes(cube)) return undefined;
    const term = this.next(this.nodes[cube]!.output[0]!, 'Mul');
    if (term === undefined || !near(this.scalar(this.otherInput(term, this.nodes[cube]!.output[0]!)), 0.044715)) return undefined;
    const inner = this.next(this.nodes[term]!.output[0]!, 'Add');
    if (inner === undefined || this.otherInput(inner, this.nodes[term]!.output[0]!) !== t || !readers.includes(inner)) return undefined;
    const scaled = this.next(this.nodes[inner]!.output[0]!, 'Mul');
    if (scaled === undefined || !near(this.scalar(this.otherInput(scaled, this.nodes[inner]!.output[0]!)), 2 * Math.sqrt(2 / Math.PI))) return undefined;
    const sigmoid = this.next(this.nodes[scaled]!.output[0]!, 'Sigmoid');
    const out = sigmoid === undefined ? undefined : this.next(this.nodes[sigmoid]!.output[0]!, 'Mul');
    if (out === undefined || this.otherInput(out, this.nodes[sigmoid!]!.output[0]!) !== t || !readers.includes(out)) return undefined;
    const nodes = [square, cube, term, inner, scaled, sigmoid!, out];
    for (const k of nodes) this.used.add(k);
    return { modules: [new GELU({ approximate: 'tanh' })], out: this.nodes[out]!.output[0]!, shape: [...shape], nodes };
  }

  /**
   * Layer norm as PyTorch (opsets before 17) and exportOnnx write it over the features of (N, D):
   * ReduceMean → Sub → Pow 2 (or Mul by itself) → ReduceMean → Add ε → Sqrt → Div → Mul γ → Add β.
   */
  private layerNormPattern(t: string, shape: number[], readers: number[]): Step | undefined {
    if (readers.length !== 2 || shape.length !== 1) return undefined;
    const reduce = readers.find((k) => this.nodes[k]!.opType === 'ReduceMean');
    const sub = readers.find((k) => this.nodes[k]!.opType === 'Sub');
    if (reduce === undefined || sub === undefined) return undefined;
    const overFeatures = (k: number): boolean => {
      const node = this.nodes[k]!;
      const axes = node.input[1] ? Array.from(this.value(node.input[1])?.values ?? []) : this.ints(k, 'axes');
      return this.int(k, 'keepdims', 1) === 1 && axes !== undefined && axes.length === 1 && (axes[0] === -1 || axes[0] === 1);
    };
    const mean = this.nodes[reduce]!.output[0]!;
    if (!overFeatures(reduce) || this.nodes[sub]!.input[0] !== t || this.nodes[sub]!.input[1] !== mean) return undefined;
    const centred = this.nodes[sub]!.output[0]!;
    const cReaders = this.consumers.get(centred) ?? [];
    const square = cReaders.find((k) => {
      const node = this.nodes[k]!;
      return (node.opType === 'Pow' && node.input[0] === centred && this.scalar(node.input[1]) === 2) || (node.opType === 'Mul' && node.input[0] === centred && node.input[1] === centred);
    });
    const div = cReaders.find((k) => this.nodes[k]!.opType === 'Div' && this.nodes[k]!.input[0] === centred);
    if (cReaders.length !== 2 || square === undefined || div === undefined) return undefined;
    const variance = this.next(this.nodes[square]!.output[0]!, 'ReduceMean');
    if (variance === undefined || !overFeatures(variance)) return undefined;
    const addEps = this.next(this.nodes[variance]!.output[0]!, 'Add');
    const eps = addEps === undefined ? undefined : this.scalar(this.otherInput(addEps, this.nodes[variance]!.output[0]!));
    const sqrt = addEps === undefined ? undefined : this.next(this.nodes[addEps]!.output[0]!, 'Sqrt');
    if (eps === undefined || !(eps > 0) || sqrt === undefined || this.nodes[div]!.input[1] !== this.nodes[sqrt]!.output[0]) return undefined;
    const D = shape[0]!;
    const nodes = [reduce, sub, square, variance, addEps!, sqrt, div];
    const ln = new LayerNorm({ features: D, eps: float32Decimal(eps) }, { dtype: this.dtype });
    let out = this.nodes[div]!.output[0]!;
    for (const [op, local] of [['Mul', 'gamma'], ['Add', 'beta']] as const) {
      const k = this.next(out, op);
      const c = k === undefined ? undefined : this.value(this.otherInput(k, out) ?? '');
      if (k === undefined || c === undefined || this.data.has(this.otherInput(k, out)!)) continue;
      this.setParam(ln, local, this.broadcastBias(k, local === 'gamma' ? 'the scale' : 'the shift', c, D));
      nodes.push(k);
      out = this.nodes[k]!.output[0]!;
    }
    for (const k of nodes) this.used.add(k);
    return { modules: [ln], out, shape: [...shape], nodes };
  }

  /** An Add of two data tensors: where two branches meet. */
  private isJoin(n: number): boolean {
    const node = this.nodes[n]!;
    return (node.opType === 'Add' || node.opType === 'Sum') && node.input.length === 2 && node.input.every((name) => this.data.has(name));
  }

  /** The module(s) for node n, which reads data tensor t of per-sample shape `shape`. */
  private lower(n: number, t: string, shape: number[]): Step {
    const node = this.nodes[n]!;
    if (node.input[0] !== t) this.failAt(n, `expected the data tensor ${JSON.stringify(t)} as its first input, got it at another position (a constant operand first is not supported)`);
    const others = node.input.slice(1).filter((name) => this.data.has(name));
    if (others.length > 0) this.failAt(n, `expected one input computed from the graph input (the rest constants), got ${others.length + 1}`);
    const outputs = node.output.filter((o) => o !== '');
    if (outputs.length !== 1 && node.opType !== 'Dropout') this.failAt(n, `expected one output, got ${outputs.length}`);
    this.used.add(n);
    const one = (module: Module | null): Step => {
      let out: number[];
      try {
        out = module === null ? [...shape] : module.outputShape(shape);
      } catch (error) {
        if (error instanceof ConvnetError) this.failAt(n, `does not fit its input (N, ${shape.join(', ')}): ${error.message}`);
        throw error;
      }
      return { modules: module === null ? [] : [module], out: node.output[0]!, shape: out, nodes: [n] };
    };
    switch (node.opType) {
      case 'Relu':
        this.attributes(n, []);
        return one(new ReLU());
      case 'LeakyRelu':
        this.attributes(n, ['alpha']);
        return one(new LeakyReLU({ alpha: this.float(n, 'alpha', 0.01) }));
      case 'Tanh':
        this.attributes(n, []);
        return one(new Tanh());
      case 'Sigmoid':
        this.attributes(n, []);
        return one(new Sigmoid());
      case 'Elu':
        this.attributes(n, ['alpha']);
        return one(new ELU({ alpha: this.float(n, 'alpha', 1) }));
      case 'Gelu': {
        this.attributes(n, ['approximate']);
        const approximate = this.string(n, 'approximate', 'none');
        this.require(n, 'approximate', approximate, ['none', 'tanh'], '');
        return one(new GELU({ approximate: approximate as 'none' | 'tanh' }));
      }
      case 'Identity':
        this.attributes(n, []);
        return one(null);
      case 'Dropout':
        return one(this.dropout(n));
      case 'Flatten': {
        this.attributes(n, ['axis']);
        this.require(n, 'axis', this.int(n, 'axis', 1), [1], 'flatten each sample');
        return one(shape.length === 1 ? null : new Flatten());
      }
      case 'Reshape':
        return this.reshape(n, shape);
      case 'Conv':
        return this.windowSums(n, shape) ?? one(this.conv(n, shape, [0, 0, 0, 0]));
      case 'ConvTranspose':
        return one(this.convTranspose(n, shape));
      case 'Gemm':
        return one(this.gemm(n, shape));
      case 'MatMul':
        return this.matMul(n, shape);
      case 'BatchNormalization':
        return one(this.batchNorm(n, shape));
      case 'InstanceNormalization': {
        // On (N, C, H, W) itself: a group norm with one channel per group.
        this.attributes(n, ['epsilon']);
        if (shape.length !== 3) this.failAt(n, `expected input (N, C, H, W), got (N, ${shape.join(', ')}) (InstanceNormalization on a reshaped tensor is only read as PyTorch's GroupNorm pattern)`);
        const C = shape[0]!;
        const scale = this.constInput(n, 1, 'scale', true)!;
        const bias = this.constInput(n, 2, 'B', true)!;
        this.count(n, 'scale', scale, C);
        this.count(n, 'B', bias, C);
        const gn = new GroupNorm({ channels: C, groups: C, eps: this.float(n, 'epsilon', 1e-5) }, { dtype: this.dtype });
        this.setParam(gn, 'gamma', scale.values);
        this.setParam(gn, 'beta', bias.values);
        return one(gn);
      }
      case 'GroupNormalization':
        return one(this.groupNormalization(n, shape));
      case 'LayerNormalization':
        return one(this.layerNorm(n, shape));
      case 'MaxPool':
      case 'AveragePool':
        return one(this.pool(n, shape, [0, 0, 0, 0], null));
      case 'GlobalAveragePool':
      case 'GlobalMaxPool':
        this.attributes(n, []);
        if (shape.length !== 3) this.failAt(n, `expected input (N, C, H, W), got (N, ${shape.join(', ')})`);
        return one(node.opType === 'GlobalAveragePool' ? new GlobalAvgPool() : new GlobalMaxPool());
      case 'Pad':
        return this.pad(n, t, shape);
      case 'Resize':
      case 'Upsample':
        return one(this.resize(n, shape));
      case 'Add':
        return this.failAt(n, 'expected an Add of two branches (a residual block) or of a bias right after a MatMul, got an Add of a constant elsewhere (unsupported)');
      case 'Gather':
        return this.gatherUpsample(n, shape);
      case 'Div':
      case 'Erf':
      case 'Mul':
      case 'ReduceMean':
      case 'Sub':
      case 'Pow':
      case 'Sqrt':
        return this.failAt(n, `expected ${node.opType} only inside the patterns of GELU (x · 0.5 · (1 + erf(x / √2))), layer norm or PyTorch's group norm, got it elsewhere (unsupported)`);
      case 'Softmax':
      case 'LogSoftmax':
        return this.failAt(n, 'expected a softmax only as the last node (left out: the scores are its input), got one inside the graph (unsupported)');
      default:
        return this.failAt(n, `expected an operator convnet imports (${[...SUPPORTED].sort().join(', ')}), got ${JSON.stringify(node.opType)} (unsupported operator)`);
    }
  }

  private count(n: number, what: string, c: Constant, expected: number): void {
    if (c.values.length !== expected) this.failAt(n, `expected ${what} of ${expected} values (one per channel or feature), got shape [${c.dims.join(', ')}]`);
  }

  private dropout(n: number): Module | null {
    const node = this.nodes[n]!;
    this.attributes(n, this.opset >= 12 ? ['seed'] : ['ratio', 'is_test', 'seed']);
    if (node.output.length > 1 && node.output[1] !== '' && (this.consumers.has(node.output[1]!) || node.output[1] === this.endTensor)) {
      this.failAt(n, 'expected the mask output unused (inference), got it read');
    }
    let ratio = 0.5;
    if (this.opset >= 12) {
      const r = this.constInput(n, 1, 'ratio', false);
      if (r !== undefined) ratio = float32Decimal(r.values[0] ?? 0.5);
      const training = this.constInput(n, 2, 'training_mode', false);
      if (training !== undefined && training.values[0] !== 0) this.failAt(n, 'expected training_mode false (an inference graph), got true');
    } else {
      ratio = this.float(n, 'ratio', 0.5);
    }
    if (!(ratio >= 0 && ratio < 1)) this.failAt(n, `expected ratio in [0, 1), got ${ratio}`);
    // Kept as a module (identity at test time) so that fine-tuning regularises as the original did.
    return ratio === 0 ? null : new Dropout({ keep: 1 - ratio }, { seed: 0, dtype: this.dtype });
  }

  /** Reshape: to (N, −1) is a Flatten, to the same shape nothing; [0, G, −1] before InstanceNormalization is PyTorch's GroupNorm. */
  private reshape(n: number, shape: number[]): Step {
    this.attributes(n, ['allowzero']);
    this.require(n, 'allowzero', this.int(n, 'allowzero', 0), [0], '0 copies the input axis');
    const node = this.nodes[n]!;
    const target = this.constInput(n, 1, 'shape', true)!;
    const next = this.only(node.output[0]!);
    if (next !== undefined && this.nodes[next]!.opType === 'InstanceNormalization') return this.groupNormPattern(n, shape, target, next);
    const out = this.reshaped(n, shape, Array.from(target.values));
    const size = sizeOf(shape);
    const step = (module: Module | null): Step => ({ modules: module === null ? [] : [module], out: node.output[0]!, shape: out, nodes: [n] });
    if (out.length === shape.length && out.every((d, k) => d === shape[k])) return step(null);
    if (out.length === 1 && out[0] === size) return step(new Flatten());
    return this.failAt(n, `expected a Reshape to (N, −1) (a flatten) or to the same shape, got one from (N, ${shape.join(', ')}) to (N, ${out.join(', ')}) (unsupported)`);
  }

  /** The per-sample shape a Reshape target gives for input (N, …shape); the batch axis must stay. */
  private reshaped(n: number, shape: number[], target: number[]): number[] {
    const full = [-2, ...shape]; // -2: the batch, whatever its size
    const size = sizeOf(shape);
    if (target.length < 1) this.failAt(n, 'expected a target shape with a batch axis, got []');
    const head = target[0]!;
    const rest = target.slice(1).map((d, k) => (d === 0 ? (full[k + 1] ?? this.failAt(n, `expected a 0 only where the input has that axis, got one at axis ${k + 1}`)) : d));
    if (rest.some((d) => !Number.isInteger(d))) this.failAt(n, `expected a target shape whose axes after the batch are known, got [${target.join(', ')}]`);
    if (head === 0 || Number.isNaN(head) || (typeof this.batch === 'number' && head === this.batch)) {
      const inferred = rest.filter((d) => d === -1).length;
      if (inferred > 1) this.failAt(n, `expected at most one −1 in the target shape, got [${target.join(', ')}]`);
      const known = rest.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      if (rest.some((d) => d !== -1 && d < 1) || (inferred === 1 ? size % known !== 0 : known !== size)) this.failAt(n, `expected a target shape that keeps each sample's ${size} values, got [${target.join(', ')}] for input (N, ${shape.join(', ')})`);
      return rest.map((d) => (d === -1 ? size / known : d));
    }
    if (head === -1 && rest.every((d) => d >= 1) && sizeOf(rest) === size) return rest;
    return this.failAt(n, `expected a target shape that keeps the batch axis (0${typeof this.batch === 'number' ? ` or ${this.batch}` : ''} first, or −1 first with every other axis given), got [${target.join(', ')}]`);
  }

  /**
   * PyTorch's GroupNorm (opsets before 18): Reshape(x, [0, G, −1]) → InstanceNormalization(scale,
   * bias per group) → Reshape(Shape(x) or x's shape) → Mul(γ per channel) → Add(β per channel).
   * The group affine and the channel affine fold into one: γ_c = s_g·m_c, β_c = b_g·m_c + a_c.
   */
  private groupNormPattern(n: number, shape: number[], target: Constant, inorm: number): Step {
    if (shape.length !== 3) this.failAt(n, `expected PyTorch's GroupNorm pattern on (N, C, H, W), got input (N, ${shape.join(', ')})`);
    const [C] = shape as [number, number, number];
    const grouped = this.reshaped(n, shape, Array.from(target.values));
    const G = grouped[0]!;
    if (grouped.length !== 2 || C % G !== 0) this.failAt(n, `expected a Reshape to (N, groups, −1) with groups dividing the ${C} channels, got (N, ${grouped.join(', ')})`);
    this.used.add(n);
    this.used.add(inorm);
    this.attributes(inorm, ['epsilon']);
    const eps = this.float(inorm, 'epsilon', 1e-5);
    const s = this.constInput(inorm, 1, 'scale', true)!;
    const b = this.constInput(inorm, 2, 'B', true)!;
    this.count(inorm, 'scale', s, G);
    this.count(inorm, 'B', b, G);
    const normed = this.nodes[inorm]!.output[0]!;
    const back = this.only(normed);
    if (back === undefined || this.nodes[back]!.opType !== 'Reshape') {
      return this.failAt(inorm, "expected PyTorch's GroupNorm pattern: a Reshape back to (N, C, H, W) after InstanceNormalization, got " + (back === undefined ? 'no single reader' : `a ${this.nodes[back]!.opType}`));
    }
    this.attributes(back, ['allowzero']);
    const backTarget = this.constInput(back, 1, 'shape', true)!;
    const backOut = this.reshaped(back, grouped, Array.from(backTarget.values));
    if (backOut.length !== 3 || backOut.some((d, k) => d !== shape[k])) this.failAt(back, `expected a Reshape back to (N, ${shape.join(', ')}) (Shape of the GroupNorm's input or that shape), got (N, ${backOut.join(', ')})`);
    this.used.add(back);
    const nodes = [n, inorm, back];
    const gamma = new Float64Array(C);
    const beta = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      const g = Math.floor(c / (C / G));
      gamma[c] = s.values[g]!;
      beta[c] = b.values[g]!;
    }
    let out = this.nodes[back]!.output[0]!;
    // Mul by γ and Add of β, each per channel (C, 1, 1), when the GroupNorm is affine.
    for (const op of ['Mul', 'Add'] as const) {
      const k = this.only(out);
      if (k === undefined || this.nodes[k]!.opType !== op || this.isJoin(k)) continue;
      const c = this.perChannel(k, out, C);
      if (c === undefined) continue;
      this.attributes(k, []);
      this.used.add(k);
      nodes.push(k);
      for (let ch = 0; ch < C; ch++) {
        if (op === 'Mul') {
          gamma[ch]! *= c[ch]!;
          beta[ch]! *= c[ch]!;
        } else {
          beta[ch]! += c[ch]!;
        }
      }
      out = this.nodes[k]!.output[0]!;
    }
    const gn = new GroupNorm({ channels: C, groups: G, eps }, { dtype: this.dtype });
    this.setParam(gn, 'gamma', gamma);
    this.setParam(gn, 'beta', beta);
    return { modules: [gn], out, shape: [...shape], nodes };
  }

  /** Node k's constant operand as C per-channel values when it has shape (C, 1, 1), (1, C, 1, 1) or a scalar; else undefined. */
  private perChannel(k: number, data: string, C: number): Float64Array | undefined {
    const node = this.nodes[k]!;
    if (node.input.length !== 2) return undefined;
    const other = node.input[0] === data ? node.input[1]! : node.input[0]!;
    const c = this.value(other);
    if (c === undefined) return undefined;
    if (c.values.length === 1) return new Float64Array(C).fill(c.values[0]!);
    const dims = c.dims.join(',');
    if (c.values.length === C && (dims === `${C},1,1` || dims === `1,${C},1,1`)) return c.values;
    return undefined;
  }

  /** [top, left, bottom, right] from ONNX pads [x1_begin, x2_begin, x1_end, x2_end] and auto_pad. */
  private windowPads(n: number, shape: number[], kernel: [number, number], stride: [number, number], dilation: [number, number]): [number, number, number, number] {
    const autoPad = this.string(n, 'auto_pad', 'NOTSET');
    const pads = this.ints(n, 'pads');
    if (autoPad === 'NOTSET') {
      if (pads === undefined) return [0, 0, 0, 0];
      if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0)) this.failAt(n, `expected pads of 4 non-negative integers [top, left, bottom, right], got [${pads.join(', ')}]`);
      return pads as [number, number, number, number];
    }
    if (pads !== undefined && pads.some((p) => p !== 0)) this.failAt(n, `expected pads or auto_pad, got both (auto_pad ${autoPad})`);
    if (autoPad === 'VALID') return [0, 0, 0, 0];
    if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') this.failAt(n, `expected auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER, got ${JSON.stringify(autoPad)}`);
    // SAME: output ceil(in / stride); the padding's odd cell goes at the end (UPPER) or the start (LOWER).
    const out: number[] = [];
    for (const axis of [0, 1] as const) {
      const size = shape[axis + 1]!;
      const total = Math.max(0, (Math.ceil(size / stride[axis]) - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1) + 1 - size);
      const small = Math.floor(total / 2);
      out.push(autoPad === 'SAME_UPPER' ? small : total - small, autoPad === 'SAME_UPPER' ? total - small : small);
    }
    return [out[0]!, out[2]!, out[1]!, out[3]!];
  }

  private pair(n: number, name: string, fallback: [number, number]): [number, number] {
    const v = this.ints(n, name);
    if (v === undefined) return fallback;
    if (v.length !== 2 || v.some((d) => !Number.isInteger(d) || d < 1)) this.failAt(n, `expected ${name} of 2 positive integers (a 2-D window), got [${v.join(', ')}]`);
    return v as [number, number];
  }

  private conv(n: number, shape: number[], extraPads: [number, number, number, number]): Conv2d {
    this.attributes(n, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
    if (shape.length !== 3) this.failAt(n, `expected a 2-D convolution of input (N, C, H, W), got (N, ${shape.join(', ')})`);
    const w = this.constInput(n, 1, 'W', true)!;
    if (w.dims.length !== 4) this.failAt(n, `expected weights W of shape (F, C / groups, kH, kW), got [${w.dims.join(', ')}]`);
    const [F, perGroup, kH, kW] = w.dims as [number, number, number, number];
    const kernel = this.pair(n, 'kernel_shape', [kH, kW]);
    if (kernel[0] !== kH || kernel[1] !== kW) this.failAt(n, `expected kernel_shape to match W's [${kH}, ${kW}], got [${kernel.join(', ')}]`);
    const groups = this.int(n, 'group', 1);
    const C = shape[0]!;
    if (!(groups >= 1) || C !== perGroup * groups) this.failAt(n, `expected W's ${perGroup} channels × group ${groups} to be the input's ${C} channels, got ${perGroup * groups}`);
    const stride = this.pair(n, 'strides', [1, 1]);
    const dilation = this.pair(n, 'dilations', [1, 1]);
    const own = this.windowPads(n, shape, kernel, stride, dilation);
    const pad = own.map((p, k) => p + extraPads[k]!) as [number, number, number, number];
    const conv = new Conv2d({ inChannels: C, outChannels: F, kernelSize: kernel, stride, pad, dilation, groups }, { dtype: this.dtype });
    this.setParam(conv, 'weight', w.values);
    const b = this.constInput(n, 2, 'B', false);
    if (b !== undefined) {
      this.count(n, 'B', b, F);
      this.setParam(conv, 'bias', b.values);
    }
    return conv;
  }

  private convTranspose(n: number, shape: number[]): ConvTranspose2d {
    this.attributes(n, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'output_padding', 'pads', 'strides']);
    if (shape.length !== 3) this.failAt(n, `expected a 2-D transposed convolution of input (N, C, H, W), got (N, ${shape.join(', ')})`);
    const w = this.constInput(n, 1, 'W', true)!;
    if (w.dims.length !== 4) this.failAt(n, `expected weights W of shape (C, F / groups, kH, kW), got [${w.dims.join(', ')}]`);
    const [C, perGroup, kH, kW] = w.dims as [number, number, number, number];
    const kernel = this.pair(n, 'kernel_shape', [kH, kW]);
    if (kernel[0] !== kH || kernel[1] !== kW) this.failAt(n, `expected kernel_shape to match W's [${kH}, ${kW}], got [${kernel.join(', ')}]`);
    if (C !== shape[0]) this.failAt(n, `expected W's ${C} input channels to be the input's ${shape[0]}, got ${C}`);
    const groups = this.int(n, 'group', 1);
    const autoPad = this.string(n, 'auto_pad', 'NOTSET');
    this.require(n, 'auto_pad', autoPad, ['NOTSET', 'VALID'], 'give pads; SAME is not translated for ConvTranspose');
    const pads = this.ints(n, 'pads') ?? [0, 0, 0, 0];
    if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0)) this.failAt(n, `expected pads of 4 non-negative integers, got [${pads.join(', ')}]`);
    const outputPadding = this.ints(n, 'output_padding') ?? [0, 0];
    if (outputPadding.length !== 2) this.failAt(n, `expected output_padding of 2 integers, got [${outputPadding.join(', ')}]`);
    const ct = new ConvTranspose2d(
      {
        inChannels: C,
        outChannels: perGroup * groups,
        kernelSize: kernel,
        stride: this.pair(n, 'strides', [1, 1]),
        pad: (autoPad === 'VALID' ? [0, 0, 0, 0] : pads) as [number, number, number, number],
        outputPadding: outputPadding as [number, number],
        dilation: this.pair(n, 'dilations', [1, 1]),
        groups,
      },
      { dtype: this.dtype },
    );
    this.setParam(ct, 'weight', w.values);
    const b = this.constInput(n, 2, 'B', false);
    if (b !== undefined) {
      this.count(n, 'B', b, perGroup * groups);
      this.setParam(ct, 'bias', b.values);
    }
    return ct;
  }

  private gemm(n: number, shape: number[]): Linear {
    this.attributes(n, ['alpha', 'beta', 'transA', 'transB']);
    this.require(n, 'transA', this.int(n, 'transA', 0), [0], 'the data is A, one sample a row');
    this.require(n, 'alpha', this.float(n, 'alpha', 1), [1], 'fold it into the weights');
    const c = this.constInput(n, 2, 'C', false);
    if (c !== undefined) this.require(n, 'beta', this.float(n, 'beta', 1), [1], 'fold it into the bias');
    if (shape.length !== 1) this.failAt(n, `expected input (N, features) (Flatten first), got (N, ${shape.join(', ')})`);
    const b = this.constInput(n, 1, 'B', true)!;
    if (b.dims.length !== 2) this.failAt(n, `expected B of 2 axes, got shape [${b.dims.join(', ')}]`);
    const transB = this.int(n, 'transB', 0);
    this.require(n, 'transB', transB, [0, 1], '');
    const [D, M] = (transB === 1 ? [b.dims[1], b.dims[0]] : b.dims) as [number, number];
    if (D !== shape[0]) this.failAt(n, `expected B for ${shape[0]} input features, got shape [${b.dims.join(', ')}]${transB === 1 ? ' (transB 1)' : ''}`);
    const linear = new Linear({ inFeatures: D, outFeatures: M }, { dtype: this.dtype });
    // CS231n's x·W: weight (D, M); ONNX's B is (D, M), or (M, D) with transB (PyTorch's layout).
    this.setParam(linear, 'weight', transB === 1 ? transpose(b.values, M, D) : b.values);
    if (c !== undefined) this.setParam(linear, 'bias', this.broadcastBias(n, 'C', c, M));
    return linear;
  }

  /** A bias for M outputs: M values ((M) or (1, M)), or one value for all. */
  private broadcastBias(n: number, what: string, c: Constant, M: number): Float64Array {
    if (c.values.length === 1) return new Float64Array(M).fill(c.values[0]!);
    if (c.values.length === M && c.dims[c.dims.length - 1] === M) return c.values;
    return this.failAt(n, `expected ${what} of ${M} values (one per output) or one value, got shape [${c.dims.join(', ')}]`);
  }

  /** MatMul by a constant (D, M), with an Add of a constant right after it as the bias. */
  private matMul(n: number, shape: number[]): Step {
    this.attributes(n, []);
    if (shape.length !== 1) this.failAt(n, `expected input (N, features) (Flatten first), got (N, ${shape.join(', ')})`);
    const b = this.constInput(n, 1, 'B', true)!;
    if (b.dims.length !== 2 || b.dims[0] !== shape[0]) this.failAt(n, `expected B of shape (${shape[0]}, outputs), got [${b.dims.join(', ')}]`);
    const M = b.dims[1]!;
    const linear = new Linear({ inFeatures: shape[0]!, outFeatures: M }, { dtype: this.dtype });
    this.setParam(linear, 'weight', b.values);
    const nodes = [n];
    let out = this.nodes[n]!.output[0]!;
    const add = this.only(out);
    if (add !== undefined && this.nodes[add]!.opType === 'Add' && !this.isJoin(add)) {
      const node = this.nodes[add]!;
      const other = node.input[0] === out ? node.input[1]! : node.input[0]!;
      const c = this.value(other);
      if (c !== undefined) {
        this.attributes(add, []);
        this.setParam(linear, 'bias', this.broadcastBias(add, 'the added bias', c, M));
        this.used.add(add);
        nodes.push(add);
        out = node.output[0]!;
      }
    }
    return { modules: [linear], out, shape: [M], nodes };
  }

  private batchNorm(n: number, shape: number[]): Module {
    const node = this.nodes[n]!;
    this.attributes(n, ['epsilon', 'momentum', 'training_mode', 'spatial', 'is_test', 'consumed_inputs']);
    this.require(n, 'training_mode', this.int(n, 'training_mode', 0), [0], 'an inference graph');
    this.require(n, 'spatial', this.int(n, 'spatial', 1), [1], 'statistics per channel');
    if (node.output.filter((o) => o !== '').length !== 1) this.failAt(n, `expected one output (inference form), got ${node.output.length}`);
    const C = shape[0]!;
    const options = { features: C, eps: this.float(n, 'epsilon', 1e-5), momentum: this.float(n, 'momentum', 0.9) };
    let bn: Module;
    if (shape.length === 1) bn = new BatchNorm(options, { dtype: this.dtype });
    else if (shape.length === 3) bn = new BatchNorm2d(options, { dtype: this.dtype });
    else return this.failAt(n, `expected input (N, features) or (N, C, H, W), got (N, ${shape.join(', ')})`);
    const [scale, bias, mean, variance] = (['scale', 'B', 'input_mean', 'input_var'] as const).map((what, k) => {
      const c = this.constInput(n, k + 1, what, true)!;
      this.count(n, what, c, C);
      return c.values;
    }) as [Float64Array, Float64Array, Float64Array, Float64Array];
    this.setParam(bn, 'gamma', scale);
    this.setParam(bn, 'beta', bias);
    this.setBuffer(bn, 'runningMean', mean);
    this.setBuffer(bn, 'runningVar', variance);
    return bn;
  }

  /** GroupNormalization: opset 21's scale and bias per channel, or opset 18's per group (repeated over each group's channels). */
  private groupNormalization(n: number, shape: number[]): GroupNorm {
    this.attributes(n, ['epsilon', 'num_groups', 'stash_type']);
    if (shape.length !== 3) this.failAt(n, `expected input (N, C, H, W), got (N, ${shape.join(', ')})`);
    const C = shape[0]!;
    const attr = this.nodes[n]!.attribute.find((a) => a.name === 'num_groups');
    if (attr === undefined) this.failAt(n, 'expected attribute num_groups, got none');
    const G = this.int(n, 'num_groups', 1);
    if (!(G >= 1) || C % G !== 0) this.failAt(n, `expected num_groups dividing the ${C} channels, got ${G}`);
    this.require(n, 'stash_type', this.int(n, 'stash_type', 1), [1], 'float32 statistics');
    const gn = new GroupNorm({ channels: C, groups: G, eps: this.float(n, 'epsilon', 1e-5) }, { dtype: this.dtype });
    for (const [k, what, local] of [[1, 'scale', 'gamma'], [2, 'bias', 'beta']] as const) {
      const c = this.constInput(n, k, what, true)!;
      if (c.values.length === C) this.setParam(gn, local, c.values);
      else if (c.values.length === G && this.opset < 21) this.setParam(gn, local, Float64Array.from({ length: C }, (_, ch) => c.values[Math.floor(ch / (C / G))]!));
      else this.failAt(n, `expected ${what} of ${C} values (one per channel)${this.opset < 21 ? ` or ${G} (one per group, opset ${this.opset})` : ''}, got shape [${c.dims.join(', ')}]`);
    }
    return gn;
  }

  private layerNorm(n: number, shape: number[]): LayerNorm {
    this.attributes(n, ['axis', 'epsilon', 'stash_type']);
    const node = this.nodes[n]!;
    if (node.output.filter((o) => o !== '').length !== 1) this.failAt(n, `expected one output (Y), got ${node.output.length}`);
    if (shape.length !== 1) this.failAt(n, `expected input (N, features), got (N, ${shape.join(', ')}) (convnet's LayerNorm normalises features)`);
    this.require(n, 'axis', this.int(n, 'axis', -1), [-1, 1], 'over the features');
    this.require(n, 'stash_type', this.int(n, 'stash_type', 1), [1], 'float32 statistics');
    const D = shape[0]!;
    const ln = new LayerNorm({ features: D, eps: this.float(n, 'epsilon', 1e-5) }, { dtype: this.dtype });
    const scale = this.constInput(n, 1, 'Scale', true)!;
    this.count(n, 'Scale', scale, D);
    this.setParam(ln, 'gamma', scale.values);
    const b = this.constInput(n, 2, 'B', false);
    if (b !== undefined) {
      this.count(n, 'B', b, D);
      this.setParam(ln, 'beta', b.values);
    }
    return ln;
  }

  /**
   * MaxPool / AveragePool. `extra` is a Pad node's padding folded in (`padded`: what its cells
   * hold: 'zeros' counted in averages, 'max-neutral' for a max pool where they cannot win).
   */
  private pool(n: number, shape: number[], extra: [number, number, number, number], padded: 'zeros' | 'max-neutral' | null): Module {
    const node = this.nodes[n]!;
    const isMax = node.opType === 'MaxPool';
    this.attributes(n, isMax ? ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides'] : ['auto_pad', 'ceil_mode', 'count_include_pad', 'dilations', 'kernel_shape', 'pads', 'strides']);
    if (shape.length !== 3) this.failAt(n, `expected a 2-D pool of input (N, C, H, W), got (N, ${shape.join(', ')})`);
    if (isMax) {
      this.require(n, 'storage_order', this.int(n, 'storage_order', 0), [0], 'row major');
      if (node.output.length > 1 && node.output[1] !== '' && this.consumers.has(node.output[1]!)) this.failAt(n, 'expected the Indices output unused, got it read');
    }
    const kernel = this.pair(n, 'kernel_shape', [0, 0]);
    if (kernel[0] === 0) this.failAt(n, 'expected attribute kernel_shape, got none');
    const stride = this.pair(n, 'strides', [1, 1]);
    const dilation = this.pair(n, 'dilations', [1, 1]);
    const ceilMode = this.int(n, 'ceil_mode', 0);
    this.require(n, 'ceil_mode', ceilMode, [0, 1], '');
    const own = this.windowPads(n, shape, kernel, stride, dilation);
    const countIncludePad = !isMax && this.int(n, 'count_include_pad', 0) === 1;
    let pad = own;
    if (padded !== null && extra.some((p) => p !== 0)) {
      // A Pad's cells are part of the input: averages count them (so must the pool's own padding),
      // and with ceil mode a window may start in them, which the folded pad must not change.
      if (!isMax && own.some((p) => p !== 0) && !countIncludePad) this.failAt(n, 'expected count_include_pad 1 when a Pad comes before an AveragePool with its own pads (the Pad\'s zeros are counted), got 0');
      pad = own.map((p, k) => p + extra[k]!) as [number, number, number, number];
      if (ceilMode === 1) {
        for (const axis of [0, 1] as const) {
          const size = shape[axis + 1]!;
          const asInput = outputLength(this.source, axis === 0 ? 'height' : 'width', size + extra[axis]! + extra[axis + 2]!, kernel[axis], stride[axis], own[axis]!, own[axis + 2]!, dilation[axis], true);
          const folded = outputLength(this.source, axis === 0 ? 'height' : 'width', size, kernel[axis], stride[axis], pad[axis]!, pad[axis + 2]!, dilation[axis], true);
          if (asInput !== folded) this.failAt(n, `expected ceil_mode windows the same with the Pad folded in, got ${asInput} and ${folded} along the ${axis === 0 ? 'height' : 'width'}`);
        }
      }
    }
    const options = { kernelSize: kernel, stride, pad, dilation, ceilMode: ceilMode === 1 };
    if (isMax) return new MaxPool2d(options);
    const countPad = padded === 'zeros' && extra.some((p) => p !== 0) ? true : countIncludePad;
    return new AvgPool2d({ ...options, countIncludePad: countPad });
  }

  /** Pad (spatial only) before a pool or a conv, folded into its padding. */
  private pad(n: number, t: string, shape: number[]): Step {
    const node = this.nodes[n]!;
    this.attributes(n, this.opset >= 11 ? ['mode'] : ['mode', 'pads', 'value']);
    const mode = this.string(n, 'mode', 'constant');
    let pads: number[];
    let value = 0;
    if (this.opset >= 11) {
      const p = this.constInput(n, 1, 'pads', true)!;
      pads = Array.from(p.values);
      const v = this.constInput(n, 2, 'constant_value', false);
      if (v !== undefined) value = v.values[0] ?? 0;
      const axes = this.constInput(n, 3, 'axes', false);
      if (axes !== undefined) {
        // Opset 18: pads for the listed axes only.
        const full = new Array<number>(8).fill(0);
        Array.from(axes.values).forEach((axis, k) => {
          const a = axis < 0 ? axis + 4 : axis;
          full[a] = pads[k]!;
          full[a + 4] = pads[k + axes.values.length]!;
        });
        pads = full;
      }
    } else {
      pads = this.ints(n, 'pads') ?? [];
      value = this.float(n, 'value', 0);
    }
    if (shape.length !== 3 || pads.length !== 8) this.failAt(n, `expected pads for an (N, C, H, W) input (8 values), got ${pads.length} for (N, ${shape.join(', ')})`);
    if (pads[0] !== 0 || pads[1] !== 0 || pads[4] !== 0 || pads[5] !== 0) this.failAt(n, `expected padding of the spatial axes only, got pads [${pads.join(', ')}]`);
    if (pads.some((p) => !Number.isInteger(p))) this.failAt(n, `expected constant integer pads, got [${pads.join(', ')}]`);
    if (pads.some((p) => p < 0)) this.failAt(n, `expected non-negative pads (cropping is not supported), got [${pads.join(', ')}]`);
    const extra: [number, number, number, number] = [pads[2]!, pads[3]!, pads[6]!, pads[7]!];
    const next = this.only(node.output[0]!);
    const nextOp = next === undefined ? '' : this.nodes[next]!.opType;
    const zeros = mode === 'constant' && value === 0;
    const noPad = extra.every((p) => p === 0);
    const step = (module: Module | null, nodes: number[], out: string): Step => {
      const outShape = module === null ? shape : this.shapeAt(nodes[nodes.length - 1]!, module, shape);
      return { modules: module === null ? [] : [module], out, shape: outShape, nodes };
    };
    this.used.add(n);
    if (noPad) return step(null, [n], node.output[0]!);
    if (next !== undefined && nextOp === 'AveragePool' && zeros) {
      this.used.add(next);
      return step(this.pool(next, shape, extra, 'zeros'), [n, next], this.nodes[next]!.output[0]!);
    }
    if (next !== undefined && nextOp === 'Conv' && zeros) {
      this.used.add(next);
      return step(this.conv(next, shape, extra), [n, next], this.nodes[next]!.output[0]!);
    }
    if (next !== undefined && nextOp === 'MaxPool') {
      // Padded cells must never win a max: −∞; zeros after a ReLU or Sigmoid (the data is ≥ 0 and
      // every window holds a real cell); or the edge value with dilation 1 (a window over the edge holds the edge cell).
      const from = this.producer.get(t);
      const nonNegative = from !== undefined && ['Relu', 'Sigmoid'].includes(this.nodes[from]!.opType);
      const dilation = this.pair(next, 'dilations', [1, 1]);
      const neutral = (mode === 'constant' && value === -Infinity) || (zeros && nonNegative) || (mode === 'edge' && dilation[0] === 1 && dilation[1] === 1);
      if (!neutral) this.failAt(n, `expected a Pad before MaxPool whose cells cannot change a max (constant −∞, zeros after a Relu, or edge), got mode ${JSON.stringify(mode)} with value ${value}`);
      this.used.add(next);
      return step(this.pool(next, shape, extra, 'max-neutral'), [n, next], this.nodes[next]!.output[0]!);
    }
    return this.failAt(n, `expected a Pad of zeros before an AveragePool or a Conv, or before a MaxPool with cells that cannot win, got mode ${JSON.stringify(mode)} value ${value} before ${next === undefined ? 'several nodes' : `a ${nextOp}`} (unsupported)`);
  }

  private shapeAt(n: number, module: Module, shape: number[]): number[] {
    try {
      return module.outputShape(shape);
    } catch (error) {
      if (error instanceof ConvnetError) this.failAt(n, `does not fit its input (N, ${shape.join(', ')}): ${error.message}`);
      throw error;
    }
  }

  /** Resize (opset 10+ Upsample): nearest (asymmetric, floor) or bilinear (half-pixel or align-corners), by scales or sizes. */
  private resize(n: number, shape: number[]): Upsample {
    const node = this.nodes[n]!;
    if (shape.length !== 3) this.failAt(n, `expected input (N, C, H, W), got (N, ${shape.join(', ')})`);
    const [, H, W] = shape as [number, number, number];
    const isUpsample = node.opType === 'Upsample';
    this.attributes(n, isUpsample ? ['mode', 'scales'] : ['mode', 'coordinate_transformation_mode', 'nearest_mode', 'cubic_coeff_a', 'exclude_outside', 'extrapolation_value', 'antialias', 'axes', 'keep_aspect_ratio_policy']);
    const mode = this.string(n, 'mode', 'nearest');
    let scales: number[] | undefined;
    let sizes: number[] | undefined;
    if (isUpsample) {
      this.require(n, 'mode', mode, ['nearest'], "Upsample's linear mode is not PyTorch's bilinear");
      scales = this.opset >= 9 ? Array.from(this.constInput(n, 1, 'scales', true)!.values) : this.floats(n, 'scales');
    } else {
      this.require(n, 'antialias', this.int(n, 'antialias', 0), [0], '');
      this.require(n, 'keep_aspect_ratio_policy', this.string(n, 'keep_aspect_ratio_policy', 'stretch'), ['stretch'], '');
      const s = this.constInput(n, this.opset >= 11 ? 2 : 1, 'scales', false);
      const z = this.opset >= 11 ? this.constInput(n, 3, 'sizes', false) : undefined;
      if (s !== undefined && s.values.length > 0) scales = Array.from(s.values);
      if (z !== undefined && z.values.length > 0) sizes = Array.from(z.values);
      // Opset 18's axes: scales or sizes of the listed axes only, which must be the spatial ones.
      const axes = this.ints(n, 'axes');
      if (axes !== undefined) {
        const spatial = axes.length === 2 && axes.map((a) => (a < 0 ? a + 4 : a)).join() === '2,3';
        if (!spatial) this.failAt(n, `expected axes [2, 3] (the spatial axes), got [${axes.join(', ')}]`);
        if (scales !== undefined) scales = scales.length === 2 ? [1, 1, ...scales] : this.failAt(n, `expected 2 scales for axes [2, 3], got ${scales.length}`);
        if (sizes !== undefined) sizes = sizes.length === 2 ? [Number.NaN, shape[0]!, ...sizes] : this.failAt(n, `expected 2 sizes for axes [2, 3], got ${sizes.length}`);
      }
    }
    if (scales !== undefined && (scales.length !== 4 || scales[0] !== 1 || scales[1] !== 1)) this.failAt(n, `expected scales for (N, C, H, W) that keep N and C (1, 1, …), got [${scales.join(', ')}]`);
    if (sizes !== undefined && (sizes.length !== 4 || sizes[1] !== shape[0] || !(sizes[2]! >= 1 && sizes[3]! >= 1))) this.failAt(n, `expected sizes (N, ${shape[0]}, Ho, Wo), got [${sizes.join(', ')}]`);
    const factors = scales === undefined ? undefined : ([scales[2]!, scales[3]!] as [number, number]);
    const size = sizes === undefined ? undefined : ([sizes[2]!, sizes[3]!] as [number, number]);
    if ((factors === undefined) === (size === undefined)) this.failAt(n, `expected scales or sizes, got ${factors === undefined ? 'neither' : 'both'}`);
    if (mode === 'nearest') {
      if (!isUpsample) {
        this.require(n, 'coordinate_transformation_mode', this.string(n, 'coordinate_transformation_mode', 'half_pixel'), ['asymmetric'], "PyTorch's nearest");
        this.require(n, 'nearest_mode', this.string(n, 'nearest_mode', 'round_prefer_floor'), ['floor'], "PyTorch's nearest");
      }
      if (factors !== undefined) {
        if (!factors.every((f) => Number.isInteger(f) && f >= 1)) this.failAt(n, `expected integer scales for nearest, got [${factors.join(', ')}]`);
        return new Upsample({ mode: 'nearest', scaleFactor: factors });
      }
      return new Upsample({ mode: 'nearest', size: size! });
    }
    if (mode !== 'linear') this.failAt(n, `expected mode nearest or linear (bilinear), got ${JSON.stringify(mode)}`);
    const ctm = this.string(n, 'coordinate_transformation_mode', 'half_pixel');
    this.require(n, 'coordinate_transformation_mode', ctm, ['half_pixel', 'pytorch_half_pixel', 'align_corners'], "PyTorch's bilinear");
    const outSize = size ?? [Math.floor(H * factors![0]), Math.floor(W * factors![1])];
    // half_pixel differs from PyTorch's (pytorch_half_pixel) only where an output axis has length 1.
    if (ctm === 'half_pixel' && outSize.some((d) => d === 1)) this.failAt(n, 'expected coordinate_transformation_mode pytorch_half_pixel for an output axis of length 1, got half_pixel');
    const alignCorners = ctm === 'align_corners';
    return new Upsample(factors !== undefined ? { mode: 'bilinear', scaleFactor: factors, alignCorners } : { mode: 'bilinear', size: size!, alignCorners });
  }

  /**
   * A nearest Upsample as two Gathers (rows along axis 2, then columns along axis 3), as
   * exportOnnx writes one whose pixels Resize would pick otherwise: the indices must be those of
   * an Upsample to that size (or by that integer factor).
   */
  private gatherUpsample(n: number, shape: number[]): Step {
    this.attributes(n, ['axis']);
    if (shape.length !== 3) this.failAt(n, `expected a Gather of rows of (N, C, H, W) (a nearest upsample), got input (N, ${shape.join(', ')})`);
    const [C, H, W] = shape as [number, number, number];
    const rows = this.constInput(n, 1, 'indices', true)!;
    this.require(n, 'axis', this.int(n, 'axis', 0), [2], 'rows of a nearest upsample, then columns');
    const second = this.next(this.nodes[n]!.output[0]!, 'Gather');
    if (second === undefined) this.failAt(n, 'expected a Gather of rows followed by one of columns (a nearest upsample), got no second Gather');
    this.attributes(second, ['axis']);
    this.require(second, 'axis', this.int(second, 'axis', 0), [3], 'the columns of a nearest upsample');
    const cols = this.constInput(second, 1, 'indices', true)!;
    if (rows.dims.length !== 1 || cols.dims.length !== 1) this.failAt(n, 'expected 1-D row and column indices, got others');
    const Ho = rows.values.length;
    const Wo = cols.values.length;
    const picks = (module: Upsample): boolean => {
      const probe: Tensor = { shape: [1, 1, H, W], data: Float64Array.from({ length: H * W }, (_, k) => k), dtype: 'float64' };
      const out = module.forward(probe, 'test');
      for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) if (out.data[i * Wo + j] !== rows.values[i]! * W + cols.values[j]!) return false;
      return true;
    };
    const candidates = [new Upsample({ mode: 'nearest', size: [Ho, Wo] })];
    if (Ho % H === 0 && Wo % W === 0) candidates.unshift(new Upsample({ mode: 'nearest', scaleFactor: [Ho / H, Wo / W] }));
    const found = candidates.find(picks);
    if (found === undefined) this.failAt(n, `expected the row and column indices of a nearest upsample from ${H}×${W} to ${Ho}×${Wo}, got others (a general Gather is not supported)`);
    this.used.add(n);
    this.used.add(second);
    return { modules: [found], out: this.nodes[second]!.output[0]!, shape: [C, Ho, Wo], nodes: [n, second] };
  }

  /**
   * A dilated average pool as exportOnnx writes it below opset 19 (AveragePool has no dilations
   * there): a depthwise Conv of ones (the window sums), then Mul by a constant (1, 1, Ho, Wo) map
   * of 1 / divisor. Read as the AvgPool2d (end padding, ceil mode, count_include_pad tried) whose
   * output equals the pair's on a random probe (to the map's float32 rounding): both are linear
   * maps, so they are the same map.
   */
  private windowSums(n: number, shape: number[]): Step | undefined {
    const node = this.nodes[n]!;
    const w = this.value(node.input[1] ?? '');
    const mul = this.next(node.output[0]!, 'Mul');
    if (shape.length !== 3 || w === undefined || mul === undefined || (node.input[2] ?? '') !== '' || w.dims.length !== 4) return undefined;
    const [C, H, W] = shape as [number, number, number];
    const [F, one, kH, kW] = w.dims as [number, number, number, number];
    if (F !== C || one !== 1 || this.int(n, 'group', 1) !== C || w.values.some((v) => v !== 1)) return undefined;
    const map = this.value(this.otherInput(mul, node.output[0]!) ?? '');
    if (map === undefined || map.dims.length !== 4 || map.dims[0] !== 1 || map.dims[1] !== 1) return undefined;
    const [Ho, Wo] = [map.dims[2]!, map.dims[3]!];
    const sums = this.conv(n, shape, [0, 0, 0, 0]);
    const [top, left, bottom, right] = sums.pad;
    const probe: Tensor = { shape: [1, C, H, W], data: Float64Array.from({ length: C * H * W }, (_, k) => Math.sin(k * 12.9898 + 1) * 43758.5453 % 1), dtype: 'float64' };
    const f64 = new Conv2d({ inChannels: C, outChannels: C, kernelSize: [kH, kW], stride: sums.stride, pad: sums.pad, dilation: sums.dilation, groups: C }, { dtype: 'float64' });
    f64.params.weight!.data.fill(1);
    const summed = f64.forward(probe, 'test');
    if (summed.shape[2] !== Ho || summed.shape[3] !== Wo) return undefined;
    const expected = summed.data.map((v, k) => v * map.values[k % (Ho * Wo)]!);
    for (const ceilMode of [false, true]) {
      for (const countIncludePad of [true, false]) {
        for (let b = 0; b <= bottom; b++) {
          for (let r = 0; r <= right; r++) {
            let pool: AvgPool2d;
            try {
              pool = new AvgPool2d({ kernelSize: [kH, kW], stride: sums.stride, pad: [top, left, b, r], dilation: sums.dilation, ceilMode, countIncludePad });
              const out = pool.outputShape(shape);
              if (out[1] !== Ho || out[2] !== Wo) continue;
            } catch {
              continue;
            }
            const got = pool.forward(probe, 'test').data;
            // The map holds float32 values (1/9 rounded): a wrong candidate's divisor differs by a whole cell, far above 1e-6.
            if (got.every((v, k) => Math.abs(v - expected[k]!) <= 1e-6 * (1 + Math.abs(expected[k]!)))) {
              this.used.add(mul);
              return { modules: [pool], out: this.nodes[mul]!.output[0]!, shape: [C, Ho, Wo], nodes: [n, mul] };
            }
          }
        }
      }
    }
    return undefined;
  }

  // ---- metadata ----

  /** convnet.classNames, convnet.preprocessing and convnet.training from metadata_props, checked. */
  private info(metadata: Record<string, string>, model: Network): ModelInfo {
    const info: ModelInfo = {};
    const parse = (key: string): unknown => {
      const text = metadata[key];
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        return this.fail(`expected metadata ${key} to be JSON, got ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    const names = parse('convnet.classNames');
    if (names !== undefined && names !== null) {
      if (!Array.isArray(names) || names.length !== model.numClasses || !names.every((x) => typeof x === 'string')) this.fail(`expected metadata convnet.classNames to be ${model.numClasses} strings, got ${show(names)}`);
      info.classNames = names as string[];
    }
    const pre = parse('convnet.preprocessing') as { scale?: unknown; mean?: unknown } | null | undefined;
    if (pre !== undefined && pre !== null) {
      if (typeof pre !== 'object' || typeof pre.scale !== 'number' || !(pre.scale > 0) || !Number.isFinite(pre.scale)) this.fail(`expected metadata convnet.preprocessing { scale > 0, mean }, got ${show(pre)}`);
      info.preprocessing = { scale: pre.scale as number };
      const mean = pre.mean as { shape?: unknown; data?: unknown } | null | undefined;
      if (mean !== undefined && mean !== null) {
        const input = model.inputShape;
        const shape = mean.shape as number[];
        const ok = Array.isArray(shape) && shape.every((d) => Number.isInteger(d)) && Array.isArray(mean.data) && mean.data.length === sizeOf(shape) && mean.data.every((v) => typeof v === 'number');
        const perPixel = ok && shape.length === input.length && shape.every((d, k) => d === input[k]);
        const perChannel = ok && input.length === 3 && shape.length === 3 && shape[0] === input[0] && shape[1] === 1 && shape[2] === 1;
        if (!perPixel && !perChannel) this.fail(`expected metadata convnet.preprocessing.mean { shape: [${input.join(', ')}] or per channel, data }, got ${show(Array.isArray(shape) ? shape : mean)}`);
        info.preprocessing.mean = this.tensor({ dims: shape, values: Float64Array.from(mean.data as number[]) }, [...shape]);
      }
    }
    const training = parse('convnet.training');
    if (training !== undefined && training !== null) {
      if (typeof training !== 'object' || Array.isArray(training)) this.fail(`expected metadata convnet.training to be a JSON object, got ${show(training)}`);
      info.training = training as { [key: string]: Json };
    }
    return info;
  }
}

/** Shape arithmetic folded into constants. */
const FOLDED: ReadonlySet<string> = new Set(['Identity', 'Cast', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Slice']);

/** The op types lower() reads (besides Constant and Shape). */
const SUPPORTED: ReadonlySet<string> = new Set([
  'Relu', 'LeakyRelu', 'Tanh', 'Sigmoid', 'Elu', 'Gelu', 'Identity', 'Dropout', 'Flatten', 'Reshape', 'Conv', 'ConvTranspose', 'Gemm', 'MatMul',
  'BatchNormalization', 'InstanceNormalization', 'GroupNormalization', 'LayerNormalization', 'MaxPool', 'AveragePool', 'GlobalAveragePool',
  'GlobalMaxPool', 'Pad', 'Resize', 'Upsample', 'Add', 'Softmax', 'LogSoftmax', 'Constant', 'Shape',
  // In the patterns of GELU, layer norm and nearest upsampling only:
  'Gather', 'Div', 'Erf', 'Mul', 'ReduceMean', 'Sub', 'Pow', 'Sqrt',
]);

function seq(modules: Module[]): Module {
  return modules.length === 1 ? modules[0]! : new Sequential(modules);
}

/** (rows, cols) row-major → (cols, rows). */
function transpose(values: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/**
 * The shortest decimal that is the same float32 (ONNX stores float attributes as float32):
 * PyTorch's eps 1e-5 arrives as 9.99999974e-6 and leaky relu's 0.1 as 0.100000001.
 */
function float32Decimal(f: number): number {
  if (!Number.isFinite(f)) return f;
  const single = Math.fround(f);
  for (let p = 1; p <= 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === single) return d;
  }
  return f;
}
