/**
 * SVG building blocks for the charts: a document builder, number formatting that gives the same
 * text on every machine, axis ticks and colour maps. Text is set in DejaVu Sans, the font the
 * Node renderer loads from the dejavu-fonts-ttf package.
 */
import { pngDataUri, type Raster } from './png.js';

export const FONT = 'DejaVu Sans';
export type Rgb = readonly [number, number, number];

/** A coordinate or length as short, deterministic text (two decimals at most). */
export function num(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function rgb(color: Rgb): string {
  return `rgb(${color[0]},${color[1]},${color[2]})`;
}

export interface TextOptions {
  size?: number;
  anchor?: 'start' | 'middle' | 'end';
  weight?: 'normal' | 'bold';
  fill?: string;
  /** Degrees, about (x, y). */
  rotate?: number;
}

/** An SVG document built element by element. */
export class Svg {
  private readonly parts: string[] = [];
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rect(0, 0, width, height, { fill: 'white' });
  }

  rect(x: number, y: number, w: number, h: number, style: { fill?: string; stroke?: string; strokeWidth?: number } = {}): void {
    this.parts.push(`<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" fill="${style.fill ?? 'none'}"${style.stroke ? ` stroke="${style.stroke}" stroke-width="${num(style.strokeWidth ?? 1)}"` : ''}/>`);
  }

  line(x1: number, y1: number, x2: number, y2: number, stroke: string, width = 1, dash?: string): void {
    this.parts.push(`<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" stroke="${stroke}" stroke-width="${num(width)}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
  }

  polyline(points: readonly (readonly [number, number])[], stroke: string, width = 1.5, opacity = 1): void {
    if (points.length === 0) return;
    const d = points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');
    this.parts.push(`<polyline points="${d}" fill="none" stroke="${stroke}" stroke-width="${num(width)}" stroke-linejoin="round"${opacity < 1 ? ` stroke-opacity="${num(opacity)}"` : ''}/>`);
  }

  circle(x: number, y: number, r: number, fill: string, stroke?: string): void {
    this.parts.push(`<circle cx="${num(x)}" cy="${num(y)}" r="${num(r)}" fill="${fill}"${stroke ? ` stroke="${stroke}" stroke-width="1.5"` : ''}/>`);
  }

  text(x: number, y: number, content: string, options: TextOptions = {}): void {
    const rotate = options.rotate ? ` transform="rotate(${num(options.rotate)} ${num(x)} ${num(y)})"` : '';
    this.parts.push(
      `<text x="${num(x)}" y="${num(y)}" font-family="${FONT}" font-size="${num(options.size ?? 12)}"${options.anchor && options.anchor !== 'start' ? ` text-anchor="${options.anchor}"` : ''}${options.weight === 'bold' ? ' font-weight="bold"' : ''} fill="${options.fill ?? '#222'}"${rotate}>${escapeXml(content)}</text>`,
    );
  }

  /**
   * A pixel image drawn w×h, its pixels as sharp squares: renderers smooth a scaled <image>
   * whatever image-rendering says (resvg does), so it is enlarged here by whole factors first.
   */
  image(x: number, y: number, w: number, h: number, raster: Raster): void {
    const big = enlarge(raster, Math.max(1, Math.round(w / raster.width)), Math.max(1, Math.round(h / raster.height)));
    this.parts.push(`<image x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" preserveAspectRatio="none" style="image-rendering:pixelated" href="${pngDataUri(big)}"/>`);
  }

  toString(): string {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}">\n${this.parts.join('\n')}\n</svg>\n`;
  }
}

/** A generous width estimate of a line of DejaVu Sans (about 0.62 em a character, bold wider). */
export function textWidth(text: string, size: number, bold = false): number {
  return text.length * size * (bold ? 0.68 : 0.62);
}

/** Each pixel repeated fx times across and fy times down. */
function enlarge(raster: Raster, fx: number, fy: number): Raster {
  if (fx === 1 && fy === 1) return raster;
  const width = raster.width * fx;
  const height = raster.height * fy;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = Math.floor(y / fy) * raster.width;
    for (let x = 0; x < width; x++) rgb.set(raster.rgb.subarray((from + Math.floor(x / fx)) * 3, (from + Math.floor(x / fx)) * 3 + 3), (y * width + x) * 3);
  }
  return { width, height, rgb };
}

/** About `count` round tick values covering [min, max] (steps of 1, 2 or 5 × 10^k). */
export function linearTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) ticks.push(Number((Math.round(v / step) * step).toPrecision(12)));
  return ticks;
}

/** A tick label: as few digits as the step needs. */
export function tickLabel(v: number, step: number): string {
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

/** Colour of t in [0, 1] along a few colour stops (linear between them). */
function ramp(stops: readonly Rgb[], t: number): Rgb {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

export type Colormap = 'grey' | 'hot' | 'viridis' | 'blues';

const STOPS: Record<Exclude<Colormap, 'grey'>, readonly Rgb[]> = {
  // matplotlib's hot (CS231n draws saliency with it): black → red → yellow → white.
  hot: [[0, 0, 0], [230, 0, 0], [255, 210, 0], [255, 255, 255]],
  viridis: [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]],
  blues: [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]],
};

export function colormap(map: Colormap, t: number): Rgb {
  if (map === 'grey') {
    const v = Math.round(255 * Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)));
    return [v, v, v];
  }
  return ramp(STOPS[map], t);
}
