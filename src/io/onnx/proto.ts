/**
 * ONNX files as plain objects: the protobuf wire format through protobufjs (light build, a
 * reflection schema, no code generation step), and the ONNX messages convnet reads and writes.
 *
 * The schema below lists the fields of ONNX's onnx.proto (IR version 8) that a convnet graph
 * uses, with their field numbers; protobufjs skips every field not listed, so files from newer
 * exporters still decode. Nothing here knows about layers: export.ts and import.ts do.
 */
import protobuf from 'protobufjs/light.js';
import { ConvnetError } from '../../errors.js';

/** ONNX's TensorProto.DataType values that convnet meets. */
export const OnnxDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

/** AttributeProto.AttributeType values. */
export const OnnxAttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
  doubleData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  /** Set when the data lives in another file (not supported by convnet, reported by name). */
  dataLocation?: number;
}

export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

export interface OnnxNode {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: OnnxAttribute[];
}

export interface OnnxDimension {
  dimValue?: number;
  dimParam?: string;
}

export interface OnnxValueInfo {
  name: string;
  type?: { tensorType?: { elemType: number; shape?: { dim: OnnxDimension[] } } };
}

export interface OnnxGraph {
  node: OnnxNode[];
  name: string;
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
  docString?: string;
}

export interface OnnxOpset {
  domain: string;
  version: number;
}

export interface OnnxModel {
  irVersion: number;
  opsetImport: OnnxOpset[];
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: OnnxGraph;
  metadataProps: { key: string; value: string }[];
}

// Field numbers from onnx.proto (proto2). protobufjs' reflection JSON: `rule: 'repeated'` with
// `options.packed` for the numeric lists ONNX declares [packed = true].
const packed = { packed: true };
const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            refAttrName: { type: 'string', id: 21 },
            docString: { type: 'string', id: 13 },
            type: { type: 'int32', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            g: { type: 'GraphProto', id: 6 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
            tensors: { rule: 'repeated', type: 'TensorProto', id: 10 },
            graphs: { rule: 'repeated', type: 'GraphProto', id: 11 },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
            docString: { type: 'string', id: 3 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            domain: { type: 'string', id: 7 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            docString: { type: 'string', id: 6 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 },
          },
        },
        StringStringEntryProto: {
          fields: {
            key: { type: 'string', id: 1 },
            value: { type: 'string', id: 2 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
            valueInfo: { rule: 'repeated', type: 'ValueInfoProto', id: 13 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1, options: packed },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4, options: packed },
            int32Data: { rule: 'repeated', type: 'int32', id: 5, options: packed },
            stringData: { rule: 'repeated', type: 'bytes', id: 6 },
            int64Data: { rule: 'repeated', type: 'int64', id: 7, options: packed },
            name: { type: 'string', id: 8 },
            docString: { type: 'string', id: 12 },
            rawData: { type: 'bytes', id: 9 },
            externalData: { rule: 'repeated', type: 'StringStringEntryProto', id: 13 },
            dataLocation: { type: 'int32', id: 14 },
            doubleData: { rule: 'repeated', type: 'double', id: 10, options: packed },
            uint64Data: { rule: 'repeated', type: 'uint64', id: 11, options: packed },
          },
        },
        TensorShapeProto: {
          fields: {
            dim: { rule: 'repeated', type: 'Dimension', id: 1 },
          },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: {
                dimValue: { type: 'int64', id: 1 },
                dimParam: { type: 'string', id: 2 },
                denotation: { type: 'string', id: 3 },
              },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType'] } },
          fields: {
            tensorType: { type: 'Tensor', id: 1 },
            denotation: { type: 'string', id: 6 },
          },
          nested: {
            Tensor: {
              fields: {
                elemType: { type: 'int32', id: 1 },
                shape: { type: 'TensorShapeProto', id: 2 },
              },
            },
          },
        },
        OperatorSetIdProto: {
          fields: {
            domain: { type: 'string', id: 1 },
            version: { type: 'int64', id: 2 },
          },
        },
      },
    },
  },
};

let modelType: protobuf.Type | undefined;
function modelProto(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(SCHEMA).lookupType('onnx.ModelProto');
  return modelType;
}

/**
 * Decodes an ONNX file. `source` names the file (or 'decodeOnnx') in errors: a file that is not
 * a protobuf ModelProto, is truncated, or has no graph gives a ConvnetError, never a RangeError.
 */
export function decodeOnnx(bytes: Uint8Array, source = 'decodeOnnx'): OnnxModel {
  if (!(bytes instanceof Uint8Array)) {
    throw new ConvnetError(source, `expected the bytes of an ONNX file (Uint8Array), got ${typeof bytes}`);
  }
  if (bytes.length === 0) throw new ConvnetError(source, 'expected an ONNX model file, got 0 bytes');
  const type = modelProto();
  let object: Record<string, unknown>;
  try {
    const message = type.decode(bytes);
    // int64 fields as JavaScript numbers (shapes and attributes are far below 2^53), bytes as
    // Uint8Array, every repeated field present even when empty.
    object = type.toObject(message, { longs: Number, arrays: true, defaults: false });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ConvnetError(
      source,
      `expected an ONNX model (a protobuf ModelProto), got ${bytes.length} bytes that do not decode (${why}; a truncated or different file?)`,
    );
  }
  const graph = object.graph as Partial<OnnxGraph> | undefined;
  if (graph === undefined) {
    throw new ConvnetError(source, `expected an ONNX model with a graph, got ${bytes.length} bytes with none (not an ONNX file?)`);
  }
  const model = object as unknown as OnnxModel;
  model.irVersion ??= 0;
  model.producerName ??= '';
  model.producerVersion ??= '';
  model.metadataProps ??= [];
  model.opsetImport = (model.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: o.version ?? 0 }));
  const g = graph as OnnxGraph;
  g.name ??= '';
  g.node ??= [];
  g.initializer ??= [];
  g.input ??= [];
  g.output ??= [];
  g.valueInfo ??= [];
  for (const node of g.node) {
    node.input ??= [];
    node.output ??= [];
    node.name ??= '';
    node.opType ??= '';
    node.domain ??= '';
    node.attribute ??= [];
    for (const attribute of node.attribute) attribute.type ??= 0;
  }
  for (const tensor of g.initializer) normaliseTensor(tensor);
  for (const node of g.node) for (const a of node.attribute) if (a.t !== undefined) normaliseTensor(a.t);
  return model;
}

function normaliseTensor(tensor: OnnxTensor): void {
  tensor.name ??= '';
  tensor.dims ??= [];
  tensor.dataType ??= 0;
}

/** Encodes an ONNX model object (the shape decodeOnnx returns) as protobuf bytes. */
export function encodeOnnx(model: OnnxModel): Uint8Array {
  const type = modelProto();
  const message = type.fromObject(model as unknown as Record<string, unknown>);
  return type.encode(message).finish();
}

/** The opset version of the default ('' or 'ai.onnx') domain, or 0 when the file names none. */
export function defaultOpset(model: OnnxModel): number {
  for (const o of model.opsetImport) if (o.domain === '' || o.domain === 'ai.onnx') return o.version;
  return 0;
}

/** A float32 tensor (raw little-endian data) under `name`, as export writes initializers. */
export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTensor {
  const data = Float32Array.from(values as ArrayLike<number>);
  return {
    name,
    dims: [...dims],
    dataType: OnnxDataType.FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/** An int64 tensor (Reshape shapes, Pad amounts). */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): OnnxTensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]!);
  return {
    name,
    dims: [...dims],
    dataType: OnnxDataType.INT64,
    rawData: new Uint8Array(data.buffer),
  };
}

/**
 * A tensor's values as a Float64Array (float, double, float16, integer and bool types; raw data
 * or the typed fields). `where` names the node or initializer for errors.
 */
export function tensorValues(tensor: OnnxTensor, where: string): Float64Array {
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  if (tensor.dataLocation === 1) {
    throw new ConvnetError(where, `expected tensor "${tensor.name}" stored in the file, got external data (save the model with its weights inside)`);
  }
  const raw = tensor.rawData;
  const out = new Float64Array(count);
  const need = (bytesPer: number): DataView => {
    if (raw === undefined || raw.length !== count * bytesPer) {
      throw new ConvnetError(
        where,
        `expected tensor "${tensor.name}" of shape [${tensor.dims.join(', ')}] to hold ${count * bytesPer} bytes, got ${raw?.length ?? 0}`,
      );
    }
    return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  };
  const fromList = (list: number[] | undefined, field: string): Float64Array => {
    if (list === undefined || list.length !== count) {
      throw new ConvnetError(
        where,
        `expected tensor "${tensor.name}" of shape [${tensor.dims.join(', ')}] to hold ${count} values, got ${list?.length ?? 0} in ${field}`,
      );
    }
    for (let i = 0; i < count; i++) out[i] = list[i]!;
    return out;
  };
  const hasRaw = raw !== undefined && raw.length > 0;
  switch (tensor.dataType) {
    case OnnxDataType.FLOAT:
      if (!hasRaw) return fromList(tensor.floatData, 'float_data');
      { const v = need(4); for (let i = 0; i < count; i++) out[i] = v.getFloat32(4 * i, true); }
      return out;
    case OnnxDataType.DOUBLE:
      if (!hasRaw) return fromList(tensor.doubleData, 'double_data');
      { const v = need(8); for (let i = 0; i < count; i++) out[i] = v.getFloat64(8 * i, true); }
      return out;
    case OnnxDataType.INT64:
      if (!hasRaw) return fromList(tensor.int64Data, 'int64_data');
      { const v = need(8); for (let i = 0; i < count; i++) out[i] = Number(v.getBigInt64(8 * i, true)); }
      return out;
    case OnnxDataType.INT32:
      if (!hasRaw) return fromList(tensor.int32Data, 'int32_data');
      { const v = need(4); for (let i = 0; i < count; i++) out[i] = v.getInt32(4 * i, true); }
      return out;
    case OnnxDataType.UINT8:
    case OnnxDataType.BOOL:
      if (!hasRaw) return fromList(tensor.int32Data, 'int32_data');
      { const v = need(1); for (let i = 0; i < count; i++) out[i] = v.getUint8(i); }
      return out;
    case OnnxDataType.INT8:
      if (!hasRaw) return fromList(tensor.int32Data, 'int32_data');
      { const v = need(1); for (let i = 0; i < count; i++) out[i] = v.getInt8(i); }
      return out;
    case OnnxDataType.FLOAT16: {
      // float16 bits, in int32_data or 2-byte raw data.
      const bits = new Uint16Array(count);
      if (hasRaw) { const v = need(2); for (let i = 0; i < count; i++) bits[i] = v.getUint16(2 * i, true); }
      else { const list = fromList(tensor.int32Data, 'int32_data'); for (let i = 0; i < count; i++) bits[i] = list[i]!; }
      for (let i = 0; i < count; i++) out[i] = halfToFloat(bits[i]!);
      return out;
    }
    default:
      throw new ConvnetError(where, `expected tensor "${tensor.name}" of a numeric type (float, double, float16, int32, int64), got data type ${tensor.dataType}`);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The attribute `name` of a node, or undefined. */
export function attribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute.find((a) => a.name === name);
}
