/**
 * Pictures the CLI writes: a grid of first-layer filters and a loss / accuracy plot, as PNG
 * (encoded by pngjs). Pixels are drawn by hand into an RGBA buffer.
 */
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import type { Tensor } from '../tensor.js';

type Rgb = [number, number, number];

class Canvas {
  readonly png: PNG;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.png = new PNG({ width, height });
    for (let i = 0; i < width * height; i++) {
      this.png.data[i * 4] = background[0];
      this.png.data[i * 4 + 1] = background[1];
      this.png.data[i * 4 + 2] = background[2];
      this.png.data[i * 4 + 3] = 255;
    }
  }

  set(x: number, y: number, color: Rgb): void {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    const at = (py * this.width + px) * 4;
    this.png.data[at] = color[0];
    this.png.data[at + 1] = color[1];
    this.png.data[at + 2] = color[2];
  }

  /** A line by simple interpolation, `thickness` pixels wide. */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dx = 0; dx < thickness; dx++) for (let dy = 0; dy < thickness; dy++) this.set(x + dx, y + dy, color);
    }
  }

  rect(x: number, y: number, w: number, h: number, color: Rgb): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, color);
  }

  save(path: string): void {
    writeFileSync(path, PNG.sync.write(this.png));
  }
}

/**
 * First-layer filters w: (F, C, k, k) as a grid of tiles, each filter scaled to its own
 * min..max (C = 3 shows colour, any other C shows the channel mean in grey).
 */
export function writeFilterGrid(path: string, w: Tensor, zoom = 8): void {
  const [F, C, kh, kw] = w.shape as [number, number, number, number];
  const columns = Math.ceil(Math.sqrt(F));
  const rows = Math.ceil(F / columns);
  const gap = 2;
  const tileW = kw * zoom;
  const tileH = kh * zoom;
  const canvas = new Canvas(columns * (tileW + gap) + gap, rows * (tileH + gap) + gap, [40, 40, 40]);
  for (let f = 0; f < F; f++) {
    const offset = f * C * kh * kw;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < C * kh * kw; i++) {
      min = Math.min(min, w.data[offset + i]!);
      max = Math.max(max, w.data[offset + i]!);
    }
    const span = max - min || 1;
    const level = (c: number, y: number, x: number): number => Math.round((255 * (w.data[offset + (c * kh + y) * kw + x]! - min)) / span);
    const left = gap + (f % columns) * (tileW + gap);
    const top = gap + Math.floor(f / columns) * (tileH + gap);
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        let color: Rgb;
        if (C === 3) color = [level(0, y, x), level(1, y, x), level(2, y, x)];
        else {
          let sum = 0;
          for (let c = 0; c < C; c++) sum += level(c, y, x);
          const grey = Math.round(sum / C);
          color = [grey, grey, grey];
        }
        canvas.rect(left + x * zoom, top + y * zoom, zoom, zoom, color);
      }
    }
  }
  canvas.save(path);
}

/**
 * Two panels over the same iteration axis: the training loss per iteration (top, light blue
 * dots, with a moving average in dark blue; 0 at the bottom) and train (orange) / validation
 * (green) accuracy at each check (bottom, 0 to 1, grid every 0.1). `checkIterations` gives the
 * iteration of each accuracy check.
 */
export function writeTrainingPlot(path: string, lossHistory: number[], trainAcc: number[], valAcc: number[], checkIterations: number[]): void {
  const width = 800;
  const panelH = 260;
  const margin = 30;
  const canvas = new Canvas(width, panelH * 2 + margin * 3);
  const axes = (top: number): void => {
    canvas.line(margin, top, margin, top + panelH, [0, 0, 0]);
    canvas.line(margin, top + panelH, width - margin, top + panelH, [0, 0, 0]);
  };
  const plotW = width - 2 * margin;

  // Loss panel.
  const lossTop = margin;
  axes(lossTop);
  // Scale to the largest moving average, so that a few noisy early losses do not flatten the curve.
  const window = Math.max(1, Math.floor(lossHistory.length / 50));
  let maxLoss = 1e-9;
  for (let i = 0; i + window <= lossHistory.length; i += window) {
    let sum = 0;
    for (let k = i; k < i + window; k++) sum += lossHistory[k]!;
    maxLoss = Math.max(maxLoss, (1.1 * sum) / window);
  }
  const lossY = (v: number): number => lossTop + panelH - (Math.min(v, maxLoss) / maxLoss) * panelH;
  const lossX = (i: number): number => margin + (lossHistory.length > 1 ? (i / (lossHistory.length - 1)) * plotW : 0);
  for (let i = 0; i < lossHistory.length; i++) canvas.set(lossX(i), lossY(lossHistory[i]!), [120, 160, 230]);
  let previous: [number, number] | null = null;
  for (let i = 0; i + window <= lossHistory.length; i += window) {
    let sum = 0;
    for (let k = i; k < i + window; k++) sum += lossHistory[k]!;
    const point: [number, number] = [lossX(i + (window - 1) / 2), lossY(sum / window)];
    if (previous) canvas.line(previous[0], previous[1], point[0], point[1], [20, 40, 140], 2);
    previous = point;
  }

  // Accuracy panel with a grid every 0.1.
  const accTop = panelH + 2 * margin;
  for (let g = 1; g <= 10; g++) canvas.line(margin, accTop + panelH - (g / 10) * panelH, width - margin, accTop + panelH - (g / 10) * panelH, [225, 225, 225]);
  axes(accTop);
  const lastIteration = Math.max(1, lossHistory.length, ...checkIterations);
  const series = (values: number[], color: Rgb): void => {
    // Checks sit at their iteration, on the same axis as the loss above.
    const x = (i: number): number => margin + ((checkIterations[i] ?? i + 1) - 1) / Math.max(1, lastIteration - 1) * plotW;
    const y = (v: number): number => accTop + panelH - v * panelH;
    for (let i = 1; i < values.length; i++) canvas.line(x(i - 1), y(values[i - 1]!), x(i), y(values[i]!), color, 2);
    for (let i = 0; i < values.length; i++) canvas.rect(x(i) - 2, y(values[i]!) - 2, 5, 5, color);
  };
  series(trainAcc, [230, 120, 20]);
  series(valAcc, [30, 150, 60]);
  canvas.save(path);
}
