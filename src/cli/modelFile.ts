/**
 * Opening a model file for the CLI's predict, evaluate and info commands. Each format is a
 * loader that recognises its files by their first bytes (or, failing that, their extension) and
 * turns them into a Network with the file's info: the safetensors files of `convnet train` /
 * saveModel, and ONNX files (importOnnx: exported by convnet, PyTorch or another framework).
 */
import { open, readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { ConvnetError } from '../errors.js';
import { loadModel } from '../io/files.js';
import type { ModelInfo } from '../io/model.js';
import { importOnnx, type OnnxFacts } from '../io/onnx/import.js';
import type { Network } from '../models/network.js';
import { describeBytes, sniffImage } from './image.js';

export interface LoadedModel {
  model: Network;
  info: ModelInfo;
  /** The loader that read it, e.g. 'safetensors'. */
  format: string;
  /** The convnet version that wrote it ('unknown' when the format does not say). */
  convnetVersion: string;
  /** ONNX files: what the file says about itself (producer, opset, nodes, a softmax left out). */
  onnx?: OnnxFacts;
}

export interface ModelLoader {
  format: string;
  /** True when a file starting with `head` (up to 16 bytes) is this loader's. */
  recognises(head: Uint8Array): boolean;
  /** File extensions (lower case, with the dot) that are this format when no loader recognises the bytes. */
  extensions: readonly string[];
  load(path: string): Promise<LoadedModel>;
}

const safetensorsLoader: ModelLoader = {
  format: 'safetensors',
  // An 8-byte little-endian header length, then the JSON header's '{'.
  recognises: (head) => head.length >= 9 && head[8] === 0x7b,
  // Not by extension: a .safetensors file without the header is reported as what it is.
  extensions: [],
  load: async (path) => ({ ...(await loadModel(path)), format: 'safetensors' }),
};

/** Tags of the ModelProto fields that follow ir_version in files as exporters write them (producer_name … metadata_props). */
const ONNX_SECOND_FIELD = new Set([0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72]);

const onnxLoader: ModelLoader = {
  format: 'onnx',
  // A ModelProto starts with field 1 (ir_version, a varint: tag 0x08), a small version, then another field's tag.
  recognises: (head) => head.length >= 3 && head[0] === 0x08 && head[1]! >= 1 && head[1]! < 0x80 && ONNX_SECOND_FIELD.has(head[2]!),
  extensions: ['.onnx'],
  load: async (path) => {
    const { model, info, onnx } = importOnnx(new Uint8Array(await readFile(path)), { source: path });
    return { model, info, format: 'onnx', convnetVersion: onnx.metadata['convnet.version'] ?? 'unknown', onnx };
  },
};

const LOADERS: readonly ModelLoader[] = [safetensorsLoader, onnxLoader];

const FN = 'loadModel';

/** The first bytes of a file; a missing file, a folder or an unreadable one is a ConvnetError naming it. */
async function readHead(path: string): Promise<Uint8Array> {
  try {
    const handle = await open(path, 'r');
    try {
      if ((await handle.stat()).isDirectory()) throw new ConvnetError(FN, `${path}: expected a model file, got a folder`);
      const head = new Uint8Array(16);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      return head.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof ConvnetError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    // Opening a folder fails with EISDIR on some systems.
    if (code === 'EISDIR') throw new ConvnetError(FN, `${path}: expected a model file, got a folder`);
    throw new ConvnetError(FN, `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error)}`);
  }
}

/** Opens a model file of any known format. */
export async function openModelFile(path: string): Promise<LoadedModel> {
  const head = await readHead(path);
  const extension = extname(path).toLowerCase();
  const loader = LOADERS.find((l) => l.recognises(head)) ?? LOADERS.find((l) => l.extensions.includes(extension));
  if (loader === undefined) {
    const image = sniffImage(head);
    const what = image === null ? describeBytes(head) : `a ${image === 'png' ? 'PNG' : 'JPEG'} image`;
    // ONNX files are recognised by their bytes or, whatever those are, by the .onnx extension, so what comes here is not one.
    throw new ConvnetError(FN, `${path}: expected a model file (safetensors, as convnet train writes, or ONNX), got ${what}`);
  }
  return loader.load(path);
}
