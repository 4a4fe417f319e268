/**
 * Whole convolution layers over a batch in one call each (the batch conv capability,
 * BatchConvKernels): the operands go into WebAssembly memory once, a descriptor (descriptor.ts)
 * tells the module the layer's sizes and addresses, and the threads split the work — the
 * forward by images (or, for a batch smaller than twice the threads, by blocks of each image's
 * output positions), the backward into at most MAX_CONV_BLOCKS blocks of images, fixed by the
 * batch and layer sizes alone, whose partial dw and db are summed in block order. While the
 * workers compute, the calling thread copies inputs in and outputs out, chunk by chunk.
 */
import type { ConvBatchGeometry } from '../types.js';
import { CONV_WORDS, D, writeConvDescriptor } from './descriptor.js';
import { CONV_BACKWARD, CONV_FORWARD } from './jobs.js';
import { align } from './memory.js';
import { CHUNKS_PER_THREAD, type Runtime } from './runtime.js';

/**
 * A conv layer's backward runs as this many blocks of images at most, each with its own partial
 * dw and db (summed in block order after), so up to this many threads share it. The count
 * depends on the batch and layer sizes only, never on the thread count.
 */
const MAX_CONV_BLOCKS = 16;
/** ... and the partial sums stay under this many values (16 MiB). */
const CONV_PARTIAL_VALUES = 1 << 22;
/** Images per chunk of a conv forward at most: the job protocol counts chunks in 16 bits. */
const MAX_CHUNKS = 4096;

/** A 2×2 stride-2 max pool fused after a conv → relu: its output and argmax, (N, F, height, width). */
export interface FusedPool {
  out: Float32Array;
  argmax: Int32Array;
  height: number;
  width: number;
}

/** The backward of a fused pool: the forward's output and argmax, and the gradient of its output. */
export interface FusedPoolGradient extends FusedPool {
  dout: Float32Array;
}

/** Writes a conv layer's descriptor (descriptor.ts) into staging; returns its byte address. */
function describe(
  rt: Runtime,
  g: ConvBatchGeometry,
  at: {
    x: number; w: number; b: number; out: number; dx: number; dw: number; db: number; cols: number; colsStride: number; blocks: number;
    reluOut?: number;
    pool?: { out: number; argmax: number; height: number; width: number; dout: number };
  },
): number {
  const desc = rt.mem.stage(CONV_WORDS);
  writeConvDescriptor(rt.mem.i32, desc, {
    N: g.batch, C: g.inChannels, H: g.height, W: g.width, F: g.filters, GROUPS: g.groups, KH: g.kernelH, KW: g.kernelW,
    SH: g.strideH, SW: g.strideW, PT: g.padTop, PL: g.padLeft, DH: g.dilationH, DW: g.dilationW, HO: g.outHeight, WO: g.outWidth,
    CHUNK: g.chunk, POINTWISE: g.pointwise ? 1 : 0,
    X: at.x, WEIGHT: at.w, BIAS: at.b, OUT: at.out, DX: at.dx, DWEIGHT: at.dw, DBIAS: at.db,
    COLS: at.cols, COLS_STRIDE: at.colsStride, BLOCKS: at.blocks,
    RELU: g.relu === true ? 1 : 0, RELU_OUT: at.reluOut ?? 0,
    POOL_OUT: at.pool?.out ?? 0, POOL_ARGMAX: at.pool?.argmax ?? 0, POOL_H: at.pool?.height ?? 0, POOL_W: at.pool?.width ?? 0, POOL_DOUT: at.pool?.dout ?? 0,
  });
  return desc;
}

/**
 * A conv layer's forward (relu too with g.relu). With `fused`, a 2×2 stride-2 max pool follows
 * inside WebAssembly memory and only its output and argmax are copied out (`out` is unused).
 */
export function convForward(rt: Runtime, x: Float32Array, w: Float32Array, b: Float32Array, g: ConvBatchGeometry, out: Float32Array | null, fused?: FusedPool): void {
  const positions = g.outHeight * g.outWidth;
  const outSize = g.batch * g.filters * positions;
  if (outSize <= 0) return;
  const k = g.channels * g.kernelH * g.kernelW;
  const imageSize = g.inChannels * g.height * g.width;
  const outImage = g.filters * positions;
  const pooledImage = fused === undefined ? 0 : g.filters * fused.height * fused.width;
  rt.mem.reset();
  const pool = outSize * k >= rt.parallelMacs ? rt.parallel() : undefined;
  // Split by images: x copied in and out copied out image by image while the workers compute.
  const byImages = pool !== undefined && g.batch >= CHUNKS_PER_THREAD * rt.threads;
  const xIn = rt.mem.imagesIn(x, imageSize, g.batch);
  if (!byImages) xIn.copy(0, g.batch);
  const wAt = rt.mem.vectorIn(w, 0, g.filters * k);
  const bAt = rt.mem.vectorIn(b, 0, g.filters);
  const direct = out !== null && fused === undefined && rt.mem.owns(out);
  const outAt = direct ? out.byteOffset : rt.mem.stage(outSize);
  // A fused pool writes its output and argmax in place where they live in this memory (an arena's).
  const pooledDirect = fused !== undefined && rt.mem.owns(fused.out);
  const argmaxDirect = fused !== undefined && rt.mem.owns(fused.argmax);
  const pooledAt = fused === undefined ? 0 : pooledDirect ? fused.out.byteOffset : rt.mem.stage(g.batch * pooledImage);
  const argmaxAt = fused === undefined ? 0 : argmaxDirect ? fused.argmax.byteOffset : rt.mem.stage(g.batch * pooledImage);
  const desc = describe(rt, g, {
    x: xIn.at, w: wAt, b: bAt, out: outAt, dx: 0, dw: 0, db: 0, cols: 0, colsStride: 0, blocks: 0,
    pool: fused === undefined ? undefined : { out: pooledAt, argmax: argmaxAt, height: fused.height, width: fused.width, dout: 0 },
  });
  // Each thread's zero-padded copy of an image (unused by a 1×1 window).
  const paddedStride = g.pointwise ? 0 : align(rt.exports.paddedSize(desc, g.channels) * 4);
  const padded = rt.mem.stage((rt.threads * paddedStride) / 4);
  rt.mem.i32[(desc >> 2) + D.COLS] = padded | 0;
  rt.mem.i32[(desc >> 2) + D.COLS_STRIDE] = paddedStride;
  /** Copies images [first, first + count) of the results out. */
  const copyImagesOut = (first: number, count: number): void => {
    if (fused !== undefined) {
      if (!pooledDirect) rt.mem.copyOut(pooledAt + first * pooledImage * 4, count * pooledImage, fused.out, first * pooledImage);
      if (!argmaxDirect) fused.argmax.set(rt.mem.i32.subarray((argmaxAt >> 2) + first * pooledImage, (argmaxAt >> 2) + (first + count) * pooledImage), first * pooledImage);
    } else if (!direct) {
      rt.mem.copyOut(outAt + first * outImage * 4, count * outImage, out!, first * outImage);
    }
  };
  if (pool === undefined) {
    rt.exports.convForward(desc, 0, g.batch, 0, positions, 0, rt.work);
  } else if (byImages) {
    // Blocks of images.
    const step = Math.ceil(g.batch / Math.min(g.batch, MAX_CHUNKS));
    const images = (chunk: number): [number, number] => [chunk * step, Math.min(step, g.batch - chunk * step)];
    pool.run(rt.work, CONV_FORWARD, Math.ceil(g.batch / step), step, 0, [desc, g.batch, positions, 1], {
      input: (chunk) => xIn.copy(...images(chunk)),
      output: (chunk) => copyImagesOut(...images(chunk)),
    });
    return;
  } else {
    // Few images: blocks of each image's output positions too (and the pool after: it needs whole planes).
    const nr = rt.exports.NR.value;
    const perImage = Math.min(Math.ceil(positions / nr), Math.ceil((CHUNKS_PER_THREAD * rt.threads) / g.batch));
    const step = Math.ceil(positions / perImage / nr) * nr;
    const blocks = Math.ceil(positions / step);
    pool.run(rt.work, CONV_FORWARD, g.batch * blocks, step, 0, [desc, g.batch, positions, blocks]);
    if (fused !== undefined && blocks > 1) {
      rt.exports.maxPool2x2(outAt, g.batch * g.filters, g.outHeight, g.outWidth, fused.height, fused.width, pooledAt, argmaxAt);
    }
  }
  copyImagesOut(0, g.batch);
}

/**
 * A conv layer's backward; with `reluOut`, relu's backward first; with `fused`, dout is built
 * in WebAssembly memory from a fused forward's pooled output, argmax and gradient (`dout` is
 * unused).
 */
export function convBackward(
  rt: Runtime,
  x: Float32Array, w: Float32Array, dout: Float32Array | null, g: ConvBatchGeometry, dx: Float32Array, dw: Float32Array, db: Float32Array,
  reluOut?: Float32Array, fused?: FusedPoolGradient,
): void {
  const positions = g.outHeight * g.outWidth;
  const k = g.channels * g.kernelH * g.kernelW;
  const xSize = g.batch * g.inChannels * g.height * g.width;
  const wSize = g.filters * k;
  if (g.batch <= 0 || positions <= 0 || wSize <= 0) {
    dx.fill(0);
    dw.fill(0);
    db.fill(0);
    return;
  }
  // Fixed by the sizes alone, so the sums do not depend on the thread count.
  const blocks = Math.max(1, Math.min(g.batch, MAX_CONV_BLOCKS, Math.floor(CONV_PARTIAL_VALUES / (wSize + g.filters))));
  const pool = blocks >= 2 && g.batch * g.filters * positions * k >= rt.parallelMacs ? rt.parallel() : undefined;
  const imageSize = g.inChannels * g.height * g.width;
  const doutImage = g.filters * positions;
  rt.mem.reset();
  // With threads, x and dout are copied in and dx out block by block while the workers compute.
  const xIn = rt.mem.imagesIn(x, imageSize, g.batch);
  // The fused relu backward zeroes entries of dout in place: always on a copy. A fused pool's
  // dout is built in place from the pool's gradient (dout is null then).
  const doutIn = rt.mem.imagesIn(fused === undefined ? dout : null, doutImage, g.batch, reluOut !== undefined);
  const reluIn = reluOut === undefined ? undefined : rt.mem.imagesIn(reluOut, doutImage, g.batch);
  // A fused pool's gradient, output and argmax (a quarter of dout's size each): read in place
  // where they live in this memory, else copied in. The kernel only reads them.
  const pooledImage = fused === undefined ? 0 : g.filters * fused.height * fused.width;
  const inPlace = (array: Float32Array | Int32Array): number | undefined => (fused !== undefined && rt.mem.owns(array) ? array.byteOffset : undefined);
  const [poolDoutDirect, poolOutDirect, argmaxDirect] = fused === undefined ? [undefined, undefined, undefined] : [inPlace(fused.dout), inPlace(fused.out), inPlace(fused.argmax)];
  const [poolDoutAt, poolOutAt, argmaxAt] =
    fused === undefined ? [0, 0, 0] : [poolDoutDirect ?? rt.mem.stage(g.batch * pooledImage), poolOutDirect ?? rt.mem.stage(g.batch * pooledImage), argmaxDirect ?? rt.mem.stage(g.batch * pooledImage)];
  const pooledIn = (first: number, count: number): void => {
    if (fused === undefined) return;
    const [from, n] = [first * pooledImage, count * pooledImage];
    if (poolDoutDirect === undefined) rt.mem.copyIn(fused.dout, from, n, poolDoutAt + from * 4);
    if (poolOutDirect === undefined) rt.mem.copyIn(fused.out, from, n, poolOutAt + from * 4);
    if (argmaxDirect === undefined) rt.mem.i32.set(fused.argmax.subarray(from, from + n), (argmaxAt >> 2) + from);
  };
  const imagesIn = (first: number, count: number): void => {
    xIn.copy(first, count);
    doutIn.copy(first, count);
    reluIn?.copy(first, count);
    pooledIn(first, count);
  };
  if (pool === undefined) imagesIn(0, g.batch);
  const wAt = rt.mem.vectorIn(w, 0, wSize);
  const dxDirect = rt.mem.owns(dx);
  const dxAt = dxDirect ? dx.byteOffset : rt.mem.stage(xSize);
  const dwPartials = rt.mem.stage(blocks * wSize);
  const dbPartials = rt.mem.stage(blocks * g.filters);
  const colsStride = g.pointwise ? 0 : align(k * g.chunk * 4);
  const cols = g.pointwise ? 0 : rt.mem.stage((rt.threads * colsStride) / 4);
  const desc = describe(rt, g, {
    x: xIn.at, w: wAt, b: 0, out: doutIn.at, dx: dxAt, dw: dwPartials, db: dbPartials, cols, colsStride, blocks, reluOut: reluIn?.at ?? 0,
    pool: fused === undefined ? undefined : { out: poolOutAt, argmax: argmaxAt, height: fused.height, width: fused.width, dout: poolDoutAt },
  });
  if (pool === undefined) {
    for (let block = 0; block < blocks; block++) rt.exports.convBackward(desc, block, 0, rt.work);
  } else {
    // The images of block b, as the module computes them.
    const images = (block: number): [number, number] => {
      const first = Math.floor((block * g.batch) / blocks);
      return [first, Math.floor(((block + 1) * g.batch) / blocks) - first];
    };
    pool.run(rt.work, CONV_BACKWARD, blocks, 1, 0, [desc], {
      input: (block) => imagesIn(...images(block)),
      output: (block) => {
        const [first, count] = images(block);
        if (!dxDirect) rt.mem.copyOut(dxAt + first * imageSize * 4, count * imageSize, dx, first * imageSize);
      },
    });
  }
  const dwAt = rt.mem.owns(dw) ? dw.byteOffset : rt.mem.stage(wSize);
  const dbAt = rt.mem.owns(db) ? db.byteOffset : rt.mem.stage(g.filters);
  rt.sumBlocks(dwPartials, blocks, wSize, dwAt);
  rt.sumBlocks(dbPartials, blocks, g.filters, dbAt);
  if (!dxDirect && pool === undefined) rt.mem.copyOut(dxAt, xSize, dx, 0);
  if (!rt.mem.owns(dw)) rt.mem.copyOut(dwAt, wSize, dw, 0);
  if (!rt.mem.owns(db)) rt.mem.copyOut(dbAt, g.filters, db, 0);
}
