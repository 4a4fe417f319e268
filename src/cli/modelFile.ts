/**
 * Opening a model file for the CLI's predict, evaluate and info commands. Each format is a
 * loader that recognises its files by their first bytes and turns them into a Network with the
 * file's info; the safetensors files of `convnet train` / saveModel are the one format so far,
 * and another (ONNX) is one more entry in LOADERS.
 */
import { open } from 'node:fs/promises';
import { ConvnetError } from '../errors.js';
import { loadModel } from '../io/files.js';
import type { ModelInfo } from '../io/model.js';
import type { Network } from '../models/network.js';
import { describeBytes, sniffImage } from './image.js';

export interface LoadedModel {
  model: Network;
  info: ModelInfo;
  /** The loader that read it, e.g. 'safetensors'. */
  format: string;
  /** The convnet version that wrote it ('unknown' when the format does not say). */
  convnetVersion: string;
}

export interface ModelLoader {
  format: string;
  /** True when a file starting with `head` (up to 16 bytes) is this loader's. */
  recognises(head: Uint8Array): boolean;
  load(path: string): Promise<LoadedModel>;
}

const safetensorsLoader: ModelLoader = {
  format: 'safetensors',
  // An 8-byte little-endian header length, then the JSON header's '{'.
  recognises: (head) => head.length >= 9 && head[8] === 0x7b,
  load: async (path) => ({ ...(await loadModel(path)), format: 'safetensors' }),
};

const LOADERS: readonly ModelLoader[] = [safetensorsLoader];

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
  const loader = LOADERS.find((l) => l.recognises(head));
  if (loader === undefined) {
    const image = sniffImage(head);
    const what = image === null ? describeBytes(head) : `a ${image === 'png' ? 'PNG' : 'JPEG'} image`;
    throw new ConvnetError(FN, `${path}: expected a model file (${LOADERS.map((l) => l.format).join(', ')}, as convnet train writes), got ${what}`);
  }
  return loader.load(path);
}
