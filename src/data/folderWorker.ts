/**
 * A decode worker of loadImageFolder (worker_threads): decodes the files each request names
 * (./folderDecode.ts) and sends the pixels back, their buffers transferred, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeFile, type DecodeReply, type DecodeRequest } from './folderDecode.js';
import type { PixelOptions } from './image.js';

const options = workerData as PixelOptions;
parentPort!.on('message', (request: DecodeRequest) => {
  const results = request.paths.map((path) => decodeFile(path, options));
  const transfer = results.flatMap((r) => (r.ok ? [r.pixels.buffer as ArrayBuffer] : []));
  const reply: DecodeReply = { id: request.id, results };
  parentPort!.postMessage(reply, transfer);
});
