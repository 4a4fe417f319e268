/**
 * `convnet export MODEL -o model.onnx [--opset N] [--softmax]`: a model file as an ONNX model
 * (src/io/onnx/export.ts) that onnxruntime, PyTorch's importers and convnet itself can read,
 * with the file's class names, preprocessing and training summary in its metadata_props.
 * The file is written atomically; one line reports the path, opset, node count and size.
 */
import { stat } from 'node:fs/promises';
import { ConvnetError, show } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { encodeOnnx } from '../io/onnx/proto.js';
import { onnxModelOf, ONNX_DEFAULT_OPSET } from '../io/onnx/export.js';
import { openModelFile } from './modelFile.js';

export interface ExportCommandOptions {
  /** Where the .onnx file goes. */
  out: string;
  opset?: number;
  /** End the graph in Softmax (output 'probabilities'). */
  softmax?: boolean;
}

export interface ExportReport {
  file: string;
  opset: number;
  nodes: number;
  bytes: number;
}

export async function runExport(modelPath: string, options: ExportCommandOptions, print: (line: string) => void = console.log): Promise<ExportReport> {
  const fn = 'convnet export';
  if (typeof options.out !== 'string' || options.out === '') throw new ConvnetError(fn, `expected an output path (-o model.onnx), got ${show(options.out)}`);
  // Writing over the model being read would lose it: a slip such as `-o model.safetensors`.
  const [source, target] = await Promise.all([stat(modelPath).catch(() => null), stat(options.out).catch(() => null)]);
  if (source !== null && target !== null && source.ino === target.ino && source.dev === target.dev) {
    throw new ConvnetError(fn, `expected an output path other than the model file, got ${show(options.out)} for both`);
  }
  const { model, info } = await openModelFile(modelPath);
  const opset = options.opset ?? ONNX_DEFAULT_OPSET;
  const onnx = onnxModelOf(model, { opset, softmax: options.softmax ?? false, info });
  const bytes = encodeOnnx(onnx);
  await writeFileAtomic(options.out, bytes);
  const report: ExportReport = { file: options.out, opset, nodes: onnx.graph.node.length, bytes: bytes.length };
  print(`wrote ${report.file}: ONNX opset ${opset}, ${report.nodes} nodes, ${report.bytes.toLocaleString('en-US')} bytes`);
  return report;
}
