/**
 * im2col and its adjoint col2im over one image and one group of channels.
 *
 *   cols[(c·kH + kh)·kW + kw, p] = x[c, i·sh − padTop + kh·dh, j·sw − padLeft + kw·dw]   (0 in the padding)
 *   for p = i·outWidth + j in [first, first + count); cols has leading dimension count.
 *
 * For each row of cols (one (c, kh, kw)) the range of j whose input column is inside the image
 * is computed once, so the inner loops are plain copies (contiguous when the stride is 1) with
 * zero runs on either side: no per-element bounds test.
 */
import type { ColumnGeometry, FloatArray } from '../types.js';

/** The j in [0, outWidth) whose column j·stride + shift lies in [0, width): [low, high). */
function validRange(shift: number, stride: number, width: number, outWidth: number): [number, number] {
  const low = shift >= 0 ? 0 : Math.ceil(-shift / stride);
  const high = width - 1 - shift < 0 ? 0 : Math.floor((width - 1 - shift) / stride) + 1;
  return [Math.min(low, outWidth), Math.max(Math.min(low, outWidth), Math.min(high, outWidth))];
}

export function im2col(
  x: FloatArray,
  xOffset: number,
  g: ColumnGeometry,
  first: number,
  count: number,
  cols: FloatArray,
  colsOffset: number,
): void {
  const { channels, height: H, width: W, kernelH, kernelW, strideH: sh, strideW: sw, padTop, padLeft, dilationH, dilationW, outWidth } = g;
  if (count <= 0) return;
  const end = first + count;
  const iFirst = Math.floor(first / outWidth);
  const iLast = Math.floor((end - 1) / outWidth);
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const plane = xOffset + c * H * W;
    for (let kh = 0; kh < kernelH; kh++) {
      for (let kw = 0; kw < kernelW; kw++, row++) {
        let d = colsOffset + row * count;
        const shift = kw * dilationW - padLeft;
        const [jLow, jHigh] = validRange(shift, sw, W, outWidth);
        for (let i = iFirst; i <= iLast; i++) {
          const js = i === iFirst ? first - i * outWidth : 0;
          const je = i === iLast ? end - i * outWidth : outWidth;
          const ih = i * sh - padTop + kh * dilationH;
          if (ih < 0 || ih >= H) {
            for (let j = js; j < je; j++) cols[d++] = 0;
            continue;
          }
          const lo = Math.min(Math.max(js, jLow), je);
          const hi = Math.max(lo, Math.min(jHigh, je));
          for (let j = js; j < lo; j++) cols[d++] = 0;
          const base = plane + ih * W + shift;
          if (sw === 1) {
            for (let j = lo; j < hi; j++) cols[d++] = x[base + j]!;
          } else {
            for (let j = lo; j < hi; j++) cols[d++] = x[base + j * sw]!;
          }
          for (let j = hi; j < je; j++) cols[d++] = 0;
        }
      }
    }
  }
}

export function col2im(
  cols: FloatArray,
  colsOffset: number,
  g: ColumnGeometry,
  first: number,
  count: number,
  dx: FloatArray,
  dxOffset: number,
): void {
  const { channels, height: H, width: W, kernelH, kernelW, strideH: sh, strideW: sw, padTop, padLeft, dilationH, dilationW, outWidth } = g;
  if (count <= 0) return;
  const end = first + count;
  const iFirst = Math.floor(first / outWidth);
  const iLast = Math.floor((end - 1) / outWidth);
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const plane = dxOffset + c * H * W;
    for (let kh = 0; kh < kernelH; kh++) {
      for (let kw = 0; kw < kernelW; kw++, row++) {
        let d = colsOffset + row * count;
        const shift = kw * dilationW - padLeft;
        const [jLow, jHigh] = validRange(shift, sw, W, outWidth);
        for (let i = iFirst; i <= iLast; i++) {
          const js = i === iFirst ? first - i * outWidth : 0;
          const je = i === iLast ? end - i * outWidth : outWidth;
          const ih = i * sh - padTop + kh * dilationH;
          if (ih < 0 || ih >= H) {
            d += je - js;
            continue;
          }
          const lo = Math.min(Math.max(js, jLow), je);
          const hi = Math.max(lo, Math.min(jHigh, je));
          d += lo - js;
          const base = plane + ih * W + shift;
          if (sw === 1) {
            for (let j = lo; j < hi; j++) dx[base + j] += cols[d++]!;
          } else {
            for (let j = lo; j < hi; j++) dx[base + j * sw] += cols[d++]!;
          }
          d += je - hi;
        }
      }
    }
  }
}
