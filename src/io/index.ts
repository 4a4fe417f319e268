/**
 * Model files, browser-safe part: safetensors encoding and decoding of named tensors with
 * string metadata. The Node-only atomic writer is imported by path: './atomic.js'.
 */
export {
  encodeSafetensors,
  decodeSafetensors,
  MAX_HEADER_BYTES,
  type StoredTensor,
  type Int32Tensor,
  type Uint8Tensor,
  type SafetensorsDType,
  type SafetensorsContents,
} from './safetensors.js';
export {
  encodeModel,
  decodeModel,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type Preprocessing,
  type ModelInfo,
  type DecodedModel,
} from './model.js';
export {
  exportOnnx,
  onnxModelOf,
  onnxIrVersion,
  ONNX_MIN_OPSET,
  ONNX_MAX_OPSET,
  ONNX_DEFAULT_OPSET,
  ONNX_INPUT,
  ONNX_OUTPUT,
  ONNX_OUTPUT_SOFTMAX,
  type ExportOnnxOptions,
} from './onnx/export.js';
export { importOnnx, type OnnxImportOptions, type OnnxFacts, type ImportedOnnx } from './onnx/import.js';
export { decodeOnnx, encodeOnnx, type OnnxModel, type OnnxGraph, type OnnxNode, type OnnxTensor } from './onnx/proto.js';
