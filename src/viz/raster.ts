/** Tensors as pixel images for the charts: planes (C, H, W) → RGB, scaled and coloured. */
import type { Raster } from './png.js';
import { colormap, type Colormap } from './svg.js';

export interface ToRasterOptions {
  /** The values shown as black and white (or the colour map's ends); default the planes' min and max. */
  range?: readonly [number, number];
  /** For one channel; default 'grey'. Three channels are shown as RGB. */
  colormap?: Colormap;
}

/**
 * values[offset …] holds planes (C, H, W); C = 3 gives colour, any other C the channels' mean
 * through the colour map. Each value v becomes (v − low) / (high − low), clipped to [0, 1].
 */
export function planesToRaster(values: ArrayLike<number>, offset: number, C: number, H: number, W: number, options: ToRasterOptions = {}): Raster {
  const P = H * W;
  let [low, high] = options.range ?? [Infinity, -Infinity];
  if (options.range === undefined) {
    for (let i = 0; i < C * P; i++) {
      const v = values[offset + i]!;
      if (v < low) low = v;
      if (v > high) high = v;
    }
  }
  const span = high - low || 1;
  const rgb = new Uint8Array(P * 3);
  for (let p = 0; p < P; p++) {
    if (C === 3) {
      for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, (values[offset + c * P + p]! - low) / span)));
    } else {
      let sum = 0;
      for (let c = 0; c < C; c++) sum += values[offset + c * P + p]!;
      const color = colormap(options.colormap ?? 'grey', (sum / C - low) / span);
      rgb.set(color, p * 3);
    }
  }
  return { width: W, height: H, rgb };
}
