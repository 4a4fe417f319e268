/**
 * Model files on disk (Node): saveModel writes atomically (a temporary file, fsync, rename), so a
 * crash or Ctrl-C leaves the previous file or the new one, never a part; loadModel reads and
 * checks one (decodeModel), naming the file in every error.
 */
import { readFile, stat } from 'node:fs/promises';
import { ConvnetError } from '../errors.js';
import type { Model } from '../models/model.js';
import { writeFileAtomic } from './atomic.js';
import { decodeModel, encodeModel, type DecodedModel, type ModelInfo } from './model.js';

export async function saveModel(model: Model, path: string, info: ModelInfo = {}): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new ConvnetError('saveModel', `expected a file path, got ${String(path)}`);
  await writeFileAtomic(path, encodeModel(model, info));
}

export async function loadModel(path: string): Promise<DecodedModel> {
  const fn = 'loadModel';
  if (typeof path !== 'string' || path === '') throw new ConvnetError(fn, `expected a file path, got ${String(path)}`);
  let bytes: Uint8Array;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new ConvnetError(fn, `${path}: expected a model file, got a folder`);
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof ConvnetError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConvnetError(fn, `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error)}`);
  }
  return decodeModel(bytes, path);
}
