/**
 * Window geometry shared by convolution and pooling: parameter parsing, output sizes and the
 * checks that make a bad configuration an error instead of a wrong shape; and, in one place,
 * the kernels' descriptors derived from a layer's validated geometry (conv.ts: ConvGeometry,
 * pool.ts: PoolGeometry), which every backend then reads.
 */
import { ConvnetError, show } from '../errors.js';
import type { ColumnGeometry, ConvBatchGeometry, PoolWindow, WindowGeometry } from '../kernels/types.js';
import { intPair, pads4 } from '../validate.js';
import type { ConvGeometry } from './conv.js';
import type { PoolGeometry } from './pool.js';

export interface WindowParams {
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  dilationH: number;
  dilationW: number;
}

/** Parses stride, pad and dilation (each a number or a pair; pad also a quadruple). */
export function parseWindowParams(
  fn: string,
  param: { stride?: unknown; pad?: unknown; dilation?: unknown },
  defaultStride: [number, number],
  paramName: string,
): WindowParams {
  const [strideH, strideW] =
    param.stride === undefined ? defaultStride : intPair(fn, `${paramName}.stride`, param.stride, 1, 1);
  const [padTop, padLeft, padBottom, padRight] = pads4(fn, `${paramName}.pad`, param.pad);
  const [dilationH, dilationW] = intPair(fn, `${paramName}.dilation`, param.dilation, 1, 1);
  return { strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW };
}

/**
 * Output length along one axis (PyTorch/ONNX):
 *   floor((size + padBefore + padAfter − dilation·(kernel − 1) − 1) / stride) + 1,
 * or with ceil mode the ceiling, dropping a last window that would start in the trailing padding.
 */
export function outputLength(
  fn: string,
  axis: 'height' | 'width',
  size: number,
  kernel: number,
  stride: number,
  padBefore: number,
  padAfter: number,
  dilation: number,
  ceilMode = false,
): number {
  const span = dilation * (kernel - 1) + 1;
  const padded = size + padBefore + padAfter;
  if (span > padded) {
    throw new ConvnetError(
      fn,
      `expected the window (${kernel} with dilation ${dilation}, spanning ${span}) to fit the padded input ${axis} ${padded} (${size} + pads ${padBefore}, ${padAfter}), got a window larger than the padded input`,
    );
  }
  let out = ceilMode ? Math.ceil((padded - span) / stride) + 1 : Math.floor((padded - span) / stride) + 1;
  // PyTorch: with ceil mode, the last window must start inside the input or the leading padding.
  if (ceilMode && (out - 1) * stride >= size + padBefore) out -= 1;
  if (out < 1) {
    throw new ConvnetError(fn, `expected an output ${axis} of at least 1, got ${out} (input ${size}, window ${span}, stride ${stride})`);
  }
  return out;
}

/**
 * The first tap k >= 0 of a window starting at `start` whose position start + k·dilation is at
 * least `low`. With endTap: a window's taps at positions in [low, high) are k in
 * [firstTap, endTap) (none when endTap <= firstTap). The positions are an arithmetic progression,
 * so a window is clipped to the input (or the padded input) in O(1), whatever the kernel size.
 */
export function firstTap(start: number, dilation: number, low: number): number {
  return Math.max(0, Math.ceil((low - start) / dilation));
}

/** One past the last tap k < kernel whose position start + k·dilation is below `high` (see firstTap). */
export function endTap(start: number, kernel: number, dilation: number, high: number): number {
  return Math.min(kernel, Math.floor((high - 1 - start) / dilation) + 1);
}

/**
 * Checks that every window along an axis covers at least one real (non-padding) cell, so that a
 * max over it is never -Infinity and an average never divides by zero. O(outLength): each window
 * is clipped to the input in closed form (firstTap, endTap), so a huge kernel costs nothing.
 */
export function assertWindowsTouchInput(
  fn: string,
  axis: 'height' | 'width',
  size: number,
  outLength: number,
  kernel: number,
  stride: number,
  padBefore: number,
  dilation: number,
): void {
  for (let o = 0; o < outLength; o++) {
    const start = o * stride - padBefore;
    if (endTap(start, kernel, dilation, size) <= firstTap(start, dilation, 0)) {
      throw new ConvnetError(
        fn,
        `expected every pooling window to cover at least one input cell, got window ${o} along the ${axis} (start ${start}) lying wholly in the padding (pad ${padBefore}, kernel ${kernel}, dilation ${dilation})`,
      );
    }
  }
}

export function describe(params: WindowParams): string {
  return show({
    stride: [params.strideH, params.strideW],
    pad: [params.padTop, params.padLeft, params.padBottom, params.padRight],
    dilation: [params.dilationH, params.dilationW],
  });
}

// ---------------------------------------------------------------- the kernels' descriptors

/** The kernels' window over planes (H, W) → (Ho, Wo) with a kernelH × kernelW window. */
function kernelWindow(g: WindowParams & { H: number; W: number; Ho: number; Wo: number }, kernelH: number, kernelW: number): WindowGeometry {
  return {
    height: g.H,
    width: g.W,
    outHeight: g.Ho,
    outWidth: g.Wo,
    kernelH,
    kernelW,
    strideH: g.strideH,
    strideW: g.strideW,
    padTop: g.padTop,
    padLeft: g.padLeft,
    dilationH: g.dilationH,
    dilationW: g.dilationW,
  };
}

/** One conv group over one image, for im2col and col2im: channels = C / groups. */
export function columnGeometry(g: ConvGeometry): ColumnGeometry {
  return { channels: g.Cg, ...kernelWindow(g, g.HH, g.WW) };
}

/** A 1×1 window at stride 1 without padding: the columns are x itself, (C/groups, H·W). */
export function isPointwise(g: ConvGeometry): boolean {
  return (
    g.HH === 1 && g.WW === 1 && g.strideH === 1 && g.strideW === 1 &&
    g.padTop === 0 && g.padLeft === 0 && g.padBottom === 0 && g.padRight === 0
  );
}

/**
 * The whole layer, for the batch conv kernels (BatchConvKernels), with im2col chunks of `chunk`
 * output positions and, with `relu`, relu applied to the forward's output.
 */
export function convBatchGeometry(g: ConvGeometry, chunk: number, relu?: boolean): ConvBatchGeometry {
  return {
    ...columnGeometry(g),
    batch: g.N,
    inChannels: g.C,
    filters: g.F,
    groups: g.groups,
    pointwise: isPointwise(g),
    chunk,
    relu,
  };
}

/** A pooling layer's window, for the pooling kernels. */
export function poolWindow(g: PoolGeometry): PoolWindow {
  return { ...kernelWindow(g, g.poolHeight, g.poolWidth), padBottom: g.padBottom, padRight: g.padRight };
}
