/**
 * Window geometry shared by convolution and pooling: parameter parsing, output sizes and the
 * checks that make a bad configuration an error instead of a wrong shape.
 */
import { ConvnetError, show } from '../errors.js';
import { intPair, pads4 } from '../validate.js';

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
 * Checks that every window along an axis covers at least one real (non-padding) cell, so that a
 * max over it is never -Infinity and an average never divides by zero.
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
    let touches = false;
    for (let k = 0; k < kernel && !touches; k++) {
      const at = start + k * dilation;
      touches = at >= 0 && at < size;
    }
    if (!touches) {
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
