/**
 * One image folder file → dataset pixels, as the decode workers (./folderWorker.ts) and the
 * calling thread (workers: 0) both do it, and the messages between them. Each file's result
 * depends on its bytes and the options only, so the tensors are the same whatever the number of
 * workers and whichever worker takes which file.
 */
import { readFileSync } from 'node:fs';
import { ConvnetError } from '../errors.js';
import { imageToPixels, type PixelOptions } from './image.js';

/** A decoded file, or why it is not an image convnet can read (the message names the file). */
export type DecodeResult = { ok: true; channels: 1 | 3; grey: boolean; pixels: Float32Array } | { ok: false; error: string };

/** Main thread → worker: decode these files (paths as error messages should name them). */
export interface DecodeRequest {
  id: number;
  paths: string[];
}

/** Worker → main thread: one result per requested path, in order. */
export interface DecodeReply {
  id: number;
  results: DecodeResult[];
}

export function decodeFile(path: string, options: PixelOptions): DecodeResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, error: `cannot read ${path}: ${code ?? (error instanceof Error ? error.message : String(error))}` };
  }
  try {
    return { ok: true, ...imageToPixels(bytes, path, options) };
  } catch (error) {
    // A decoder may throw something other than a ConvnetError on a damaged file (a RangeError
    // from an absurd size, say): it is still this file's fault, and named with it.
    if (error instanceof ConvnetError) return { ok: false, error: error.message.replace(/^readImage: /, '') };
    return { ok: false, error: `${path}: cannot decode it (${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}): the file is truncated or corrupt` };
  }
}
