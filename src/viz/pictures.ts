/**
 * Pictures of images and of what a network holds, as SVG text (browser-safe): a captioned grid
 * of images (mistakes, saliency maps, fooling images, class visualisations), first-layer
 * filters, and every layer's activations for one image.
 */
import type { Tensor } from '../tensor.js';
import type { LayerActivation } from './activations.js';
import type { Raster } from './png.js';
import { planesToRaster } from './raster.js';
import { Svg, textWidth } from './svg.js';

export interface Tile {
  image: Raster;
  /** Lines under the image. */
  caption?: readonly string[];
  /** Caption colour, e.g. red for a mistake; default dark grey. */
  color?: string;
}

export interface GridOptions {
  title: string;
  /** A line under the title. */
  subtitle?: string;
  /** Tiles per row; default up to 8. */
  columns?: number;
  /** Screen pixels per image pixel; default so that an image is about 112 pixels wide. */
  zoom?: number;
}

/** Tiles in rows under a title, each image scaled by `zoom` without smoothing, captions below. */
export function imageGridSvg(tiles: readonly Tile[], options: GridOptions): string {
  const columns = Math.max(1, Math.min(options.columns ?? 8, tiles.length));
  const maxW = Math.max(1, ...tiles.map((t) => t.image.width));
  const maxH = Math.max(1, ...tiles.map((t) => t.image.height));
  const zoom = options.zoom ?? Math.max(1, Math.round(112 / maxW));
  const lines = Math.max(0, ...tiles.map((t) => t.caption?.length ?? 0));
  const cellW = Math.max(maxW * zoom, 150) + 14;
  const cellH = maxH * zoom + 10 + lines * 16 + 12;
  const header = options.subtitle ? 74 : 54;
  const rows = Math.ceil(tiles.length / columns);
  const width = Math.ceil(Math.max(columns * cellW + 20, 420, textWidth(options.title, 17, true) + 40, textWidth(options.subtitle ?? '', 12) + 40));
  const svg = new Svg(width, header + rows * cellH + 10);
  svg.text(width / 2, 30, options.title, { anchor: 'middle', size: 17, weight: 'bold' });
  if (options.subtitle) svg.text(width / 2, 52, options.subtitle, { anchor: 'middle', size: 12, fill: '#555' });
  const left0 = (width - columns * cellW) / 2;
  tiles.forEach((tile, i) => {
    const cx = left0 + (i % columns) * cellW + cellW / 2;
    const top = header + Math.floor(i / columns) * cellH;
    const w = tile.image.width * zoom;
    const h = tile.image.height * zoom;
    svg.image(cx - w / 2, top, w, h, tile.image);
    svg.rect(cx - w / 2, top, w, h, { stroke: '#888', strokeWidth: 0.5 });
    (tile.caption ?? []).forEach((line, k) => svg.text(cx, top + h + 16 + k * 16, line, { anchor: 'middle', size: 11.5, fill: tile.color ?? '#222' }));
  });
  return svg.toString();
}

/**
 * First-layer filters w: (F, C, kh, kw), each scaled to its own min..max (so a filter's pattern
 * shows whatever its size); C = 3 in colour (the channels as R, G, B), otherwise the channels'
 * mean in grey.
 */
export function filtersSvg(w: Tensor, options: { title?: string; caption?: string } = {}): string {
  const [F, C, kh, kw] = w.shape as [number, number, number, number];
  const zoom = Math.max(4, Math.round(56 / Math.max(kh, kw)));
  const columns = Math.min(F, 8);
  const gap = 10;
  const tileW = kw * zoom;
  const tileH = kh * zoom;
  const rows = Math.ceil(F / columns);
  const title = options.title ?? `First-layer filters: ${F} of ${C}×${kh}×${kw}`;
  const caption = options.caption ?? `each scaled to its own range (black: its lowest weight, white: its highest)${C === 3 ? '; channels shown as R, G, B' : C > 1 ? '; the mean of its channels' : ''}`;
  const width = Math.ceil(Math.max(columns * (tileW + gap) + 40, 460, textWidth(caption, 12) + 40));
  const top = 76;
  const svg = new Svg(width, top + rows * (tileH + gap + 16) + 30);
  svg.text(width / 2, 30, title, { anchor: 'middle', size: 17, weight: 'bold' });
  svg.text(width / 2, 52, caption, { anchor: 'middle', size: 12, fill: '#555' });
  const left0 = (width - columns * (tileW + gap) + gap) / 2;
  const per = C * kh * kw;
  for (let f = 0; f < F; f++) {
    const x = left0 + (f % columns) * (tileW + gap);
    const y = top + Math.floor(f / columns) * (tileH + gap + 16);
    svg.image(x, y, tileW, tileH, planesToRaster(w.data, f * per, C, kh, kw));
    svg.text(x + tileW / 2, y + tileH + 13, String(f + 1), { anchor: 'middle', size: 10, fill: '#666' });
  }
  return svg.toString();
}

/**
 * Every layer's output for one image (sample `index` of the batch): a row per layer, labelled,
 * with one small image per channel (each scaled to its own range, viridis) for feature maps
 * (C, H, W), or one strip of cells for vectors (D), scaled to the layer's range.
 */
export function activationsSvg(input: Raster, layers: readonly LayerActivation[], options: { title?: string; index?: number; maxMaps?: number } = {}): string {
  const index = options.index ?? 0;
  const maxMaps = options.maxMaps ?? 32;
  const width = 1000;
  const labelW = 230;
  type Row = { label: string; height: number; draw: (svg: Svg, top: number) => void };
  const rows: Row[] = [];
  rows.push({
    label: 'input',
    height: 100,
    draw: (svg, top) => svg.image(labelW, top, (input.width * 90) / input.height, 90, input),
  });
  for (const { label, output } of layers) {
    const [N, ...shape] = output.shape;
    const per = output.data.length / N!;
    const offset = index * per;
    const shapeText = `(${shape.join(', ')})`;
    if (shape.length === 3) {
      const [C, H, W] = shape as [number, number, number];
      const shown = Math.min(C, maxMaps);
      const size = Math.max(H, W);
      const zoom = Math.max(1, Math.min(4, Math.floor(60 / size)));
      const tw = W * zoom;
      const th = H * zoom;
      const perRow = Math.max(1, Math.floor((width - labelW - 10) / (tw + 4)));
      const lines = Math.ceil(shown / perRow);
      rows.push({
        label: `${label}\n${shapeText}${shown < C ? `, first ${shown} maps` : ''}`,
        height: lines * (th + 4) + 8,
        draw: (svg, top) => {
          for (let c = 0; c < shown; c++) {
            const x = labelW + (c % perRow) * (tw + 4);
            const y = top + Math.floor(c / perRow) * (th + 4);
            svg.image(x, y, tw, th, planesToRaster(output.data, offset + c * H * W, 1, H, W, { colormap: 'viridis' }));
          }
        },
      });
    } else {
      const D = per;
      const columns = Math.min(D, 50);
      const lines = Math.ceil(D / columns);
      let low = Infinity;
      let high = -Infinity;
      for (let i = 0; i < D; i++) {
        low = Math.min(low, output.data[offset + i]!);
        high = Math.max(high, output.data[offset + i]!);
      }
      const cellSize = Math.min(14, Math.floor((width - labelW - 10) / columns));
      rows.push({
        label: `${label}\n${shapeText}, range ${low.toPrecision(3)} to ${high.toPrecision(3)}`,
        height: Math.max(34, lines * cellSize + 8),
        draw: (svg, top) => {
          const values = new Float64Array(columns * lines).fill(low);
          for (let i = 0; i < D; i++) values[i] = output.data[offset + i]!;
          svg.image(labelW, top, columns * cellSize, lines * cellSize, planesToRaster(values, 0, 1, lines, columns, { colormap: 'viridis', range: [low, high] }));
          svg.rect(labelW, top, columns * cellSize, lines * cellSize, { stroke: '#888', strokeWidth: 0.5 });
        },
      });
    }
  }
  const top0 = 60;
  const height = top0 + rows.reduce((sum, r) => sum + r.height + 14, 0) + 30;
  const svg = new Svg(width, height);
  svg.text(width / 2, 30, options.title ?? 'Activations of every layer for one image', { anchor: 'middle', size: 17, weight: 'bold' });
  svg.text(width / 2, 48, 'each feature map scaled to its own range (viridis: dark low, yellow high); vectors to the layer\'s range', { anchor: 'middle', size: 11, fill: '#555' });
  let top = top0;
  for (const row of rows) {
    row.label.split('\n').forEach((line, k) => svg.text(12, top + 14 + k * 16, line, { size: k === 0 ? 12 : 11, fill: k === 0 ? '#222' : '#666', weight: k === 0 ? 'bold' : 'normal' }));
    row.draw(svg, top);
    top += row.height + 6;
    svg.line(10, top, width - 10, top, '#e0e0e0');
    top += 8;
  }
  return svg.toString();
}
