/**
 * One kernel call split into chunks that any thread may run: the protocol between the calling
 * thread and the worker threads (pool.ts, worker.ts), over a control block of 32-bit words in
 * the shared WebAssembly memory.
 *
 * A call writes its kind and arguments, resets the done count, then publishes
 * CLAIM = generation << 16 (and bumps WAKE to wake sleeping workers). Every thread, the calling
 * one included, claims chunk indices by compare-and-swap on CLAIM (the generation tag keeps a
 * late worker from claiming a chunk of the next call), runs each, and adds to DONE; the caller
 * returns when DONE reaches the number of chunks. A worker that has not started yet simply
 * claims nothing, so the caller never waits on it.
 *
 * Results do not depend on the number of threads: a GEMM is split into blocks of rows or
 * columns of c (never along k, so every element is the same sum in the same order), im2col
 * into blocks of output positions (copies), col2im into blocks of channels (disjoint planes of
 * dx, each summed in the same order), max pooling into blocks of planes, a convolution
 * layer's forward into blocks of images, its backward into a fixed number of blocks of images
 * (set by the batch and layer sizes alone) whose partial dw and db are summed in block order,
 * the per-channel kernels into blocks of channels (each channel summed by one thread).
 */
import type { KernelExports } from './exports.js';

/** Word indices in the control block. */
export const CLAIM = 0;
export const DONE = 1;
export const WAKE = 2;
export const STOP = 3;
export const ERROR = 4;
export const READY = 5;
/** Workers with slot < ACTIVE take part (setThreads(n): n − 1 workers). */
export const ACTIVE = 6;
/** Chunks whose inputs the calling thread has staged (a pipelined call; else TOTAL). */
export const INPUT_READY = 7;
const KIND = 8;
const TOTAL = 9;
const STEP = 10;
const SPLIT = 11;
const ARGS = 16;
/**
 * Per-chunk done flags of a pipelined call, from this word on: chunk c's word is set to the
 * call's generation when the chunk is finished, so that the calling thread can copy its
 * outputs out while other chunks still run.
 */
export const FLAGS = 64;
/** The most chunks a pipelined call may have. */
export const MAX_FLAGGED = 4096;
/** Words in the control block. */
export const CONTROL_WORDS = FLAGS + MAX_FLAGGED;

export const GEMM = 1;
export const IM2COL = 2;
export const COL2IM = 3;
export const MAXPOOL = 4;
export const CONV_FORWARD = 5;
export const CONV_BACKWARD = 6;
export const SUM_BLOCKS = 7;
export const CHANNEL_MOMENTS = 8;
export const CHANNEL_SUMS = 9;
export const CHANNEL_AFFINE = 10;

/**
 * Writes a call into the control block (before it is published). A pipelined call starts with
 * no chunk's inputs ready and its done flags cleared.
 *
 * CLAIM is closed (0: no generation) first. A worker may have read the last call's CLAIM word
 * and then been descheduled before its compare-and-swap; had CLAIM kept that word while this
 * call's TOTAL and arguments were written, the swap would succeed and the worker would run a
 * chunk of this half-written call under the old generation, and count it in DONE after the
 * caller reset it (seen under heavy load as a wrong dw). Closed, the swap fails.
 */
export function writeJob(ctl: Int32Array, kind: number, total: number, step: number, split: number, args: readonly number[], pipelined: boolean): void {
  Atomics.store(ctl, CLAIM, 0);
  ctl[INPUT_READY] = pipelined ? 0 : total;
  if (pipelined) ctl.fill(0, FLAGS, FLAGS + total);
  ctl[KIND] = kind;
  ctl[TOTAL] = total;
  ctl[STEP] = step;
  ctl[SPLIT] = split;
  for (let i = 0; i < args.length; i++) ctl[ARGS + i] = args[i]!;
}

/**
 * Claims and runs chunks of the call of generation `generation` until none is left; `work` is
 * this thread's GEMM scratch, `slot` its index (0: the calling thread; worker w: w + 1).
 * A chunk whose inputs are not staged yet (INPUT_READY) is waited for; `afterChunk` runs after
 * each chunk this thread finishes. Returns the number of chunks this thread ran.
 */
export function runChunks(exports: KernelExports, ctl: Int32Array, generation: number, work: number, slot: number, afterChunk?: () => void): number {
  let ran = 0;
  // Generation 0 is a closed CLAIM (writeJob): a call being written, nothing to run.
  if (generation === 0) return ran;
  for (;;) {
    const word = Atomics.load(ctl, CLAIM);
    if (word >>> 16 !== generation) return ran;
    const chunk = word & 0xffff;
    if (chunk >= ctl[TOTAL]!) return ran;
    if (Atomics.compareExchange(ctl, CLAIM, word, word + 1) !== word) continue;
    // The swap saw this call still published, so TOTAL is its own now (the read above may be
    // older: after 2^15 calls the generation tag repeats).
    if (chunk >= ctl[TOTAL]!) return ran;
    // The calling thread stages inputs in chunk order, a copy of memory: a short spin.
    while (Atomics.load(ctl, INPUT_READY) <= chunk) void 0;
    try {
      runChunk(exports, ctl, chunk, work, slot);
    } catch (error) {
      Atomics.store(ctl, ERROR, 1);
      void error;
    }
    ran++;
    if (chunk < MAX_FLAGGED) {
      Atomics.store(ctl, FLAGS + chunk, generation);
      Atomics.notify(ctl, FLAGS + chunk);
    }
    if (Atomics.add(ctl, DONE, 1) + 1 === ctl[TOTAL]) Atomics.notify(ctl, DONE);
    afterChunk?.();
  }
}

function runChunk(x: KernelExports, ctl: Int32Array, chunk: number, work: number, slot: number): void {
  const step = ctl[STEP]!;
  const a = (i: number): number => ctl[ARGS + i]!;
  switch (ctl[KIND]) {
    case GEMM: {
      const transA = a(0), transB = a(1), m = a(2), n = a(3), k = a(4);
      const A = a(5) >>> 0, lda = a(6), B = a(7) >>> 0, ldb = a(8), C = a(9) >>> 0, ldc = a(10), accumulate = a(11);
      const start = chunk * step;
      if (ctl[SPLIT] === 0) {
        // A block of rows of c: rows of op(a).
        const rows = Math.min(step, m - start);
        const aAt = transA ? A + start * 4 : A + start * lda * 4;
        x.sgemm(transA, transB, rows, n, k, aAt, lda, B, ldb, C + start * ldc * 4, ldc, accumulate, work);
      } else {
        // A block of columns of c: columns of op(b).
        const cols = Math.min(step, n - start);
        const bAt = transB ? B + start * ldb * 4 : B + start * 4;
        x.sgemm(transA, transB, m, cols, k, A, lda, bAt, ldb, C + start * 4, ldc, accumulate, work);
      }
      return;
    }
    case IM2COL: {
      // Output positions [first + start, first + start + n) into columns [start, start + n) of cols.
      const first = a(13), count = a(14), cols = a(15) >>> 0;
      const start = chunk * step;
      const n = Math.min(step, count - start);
      x.im2col(a(0) >>> 0, a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), a(9), a(10), a(11), a(12), first + start, n, cols + start * 4, count);
      return;
    }
    case COL2IM: {
      // Channels [start, start + n): their rows of cols, their planes of dx.
      const channels = a(1), height = a(2), width = a(3), kernelH = a(4), kernelW = a(5);
      const count = a(14), dx = a(15) >>> 0;
      const start = chunk * step;
      const n = Math.min(step, channels - start);
      const cols = (a(0) >>> 0) + start * kernelH * kernelW * count * 4;
      x.col2im(cols, n, height, width, kernelH, kernelW, a(6), a(7), a(8), a(9), a(10), a(11), a(12), a(13), count, dx + start * height * width * 4, count);
      return;
    }
    case MAXPOOL: {
      // Planes [start, start + n).
      const planes = a(1), height = a(2), width = a(3), outHeight = a(4), outWidth = a(5);
      const start = chunk * step;
      const n = Math.min(step, planes - start);
      const outAt = start * outHeight * outWidth * 4;
      x.maxPool2x2((a(0) >>> 0) + start * height * width * 4, n, height, width, outHeight, outWidth, (a(6) >>> 0) + outAt, (a(7) >>> 0) + outAt);
      return;
    }
    case CONV_FORWARD: {
      // A convolution layer's forward (args: descriptor, batch, positions, position blocks per
      // image): images [start, start + n), or one image's block of positions.
      const images = a(1), positions = a(2), perImage = a(3);
      if (perImage === 1) {
        const start = chunk * step;
        x.convForward(a(0) >>> 0, start, Math.min(step, images - start), 0, positions, slot, work);
      } else {
        const image = Math.floor(chunk / perImage);
        const start = (chunk % perImage) * step;
        x.convForward(a(0) >>> 0, image, 1, start, Math.min(step, positions - start), slot, work);
      }
      return;
    }
    case CONV_BACKWARD:
      // Block `chunk` of a convolution layer's images (args: descriptor).
      x.convBackward(a(0) >>> 0, chunk, slot, work);
      return;
    case SUM_BLOCKS: {
      // Elements [start, start + n) of the block sums (args: src, blocks, n, dst).
      const start = chunk * step;
      x.sumBlocks(a(0) >>> 0, a(1), a(2), start, Math.min(step, a(2) - start), a(3) >>> 0);
      return;
    }
    case CHANNEL_MOMENTS:
    case CHANNEL_SUMS:
    case CHANNEL_AFFINE: {
      // Channels [first + chunk·step, …) of [first, end) (args: N, C, S, first, end, then the
      // kernel's addresses in its own order).
      const n = a(0), channels = a(1), s = a(2);
      const c0 = a(3) + chunk * step;
      const c1 = Math.min(a(4), c0 + step);
      const kind = ctl[KIND];
      if (kind === CHANNEL_MOMENTS) x.channelMoments(a(5) >>> 0, n, channels, s, c0, c1, a(6) >>> 0, a(7) >>> 0);
      else if (kind === CHANNEL_SUMS) x.channelSums(a(5) >>> 0, a(6) >>> 0, n, channels, s, c0, c1, a(7) >>> 0, a(8) >>> 0, a(9) >>> 0);
      else x.channelAffine(a(5) >>> 0, a(6) >>> 0, n, channels, s, c0, c1, a(7) >>> 0, a(8) >>> 0, a(9) >>> 0, a(10) >>> 0, a(11) >>> 0);
      return;
    }
    default:
      throw new Error(`unknown job kind ${ctl[KIND]}`);
  }
}
