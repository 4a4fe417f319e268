/**
 * Image files → model inputs (Node): what `convnet predict` feeds a model, and what
 * loadImageFolder (./folder.ts) turns a folder of pictures into.
 *
 *   file bytes ──decodeImage──▶ RGBA bytes (H₀, W₀, 4)
 *              ──toPlanes─────▶ (C, H₀, W₀) float64, 0..255, C = the model's channels
 *              ──cropToAspect─▶ (optional) the centred window with the model's aspect ratio
 *              ──resize───────▶ (C, H, W) bilinear
 *              ──preprocess───▶ pixel · scale − mean, in the model's dtype
 *
 * Formats are told apart by their first bytes, never by the file name: PNG (8-byte signature;
 * every colour type pngjs reads: grey, grey + alpha, RGB, RGBA, palette, 1–16 bits, interlaced;
 * 16-bit samples are rescaled to 8 bits) and JPEG (FF D8 FF; baseline and progressive, grey,
 * YCbCr and CMYK, through jpeg-js).
 *
 * Choices, all made so that an image saved from a dataset gives back that dataset's input:
 *  - alpha is composited on black (value · alpha / 255): MNIST-like digits are light strokes on
 *    black, and a transparent background is then the background the model knows;
 *  - colour → one channel is Rec. 601 luma, (299·R + 587·G + 114·B) / 1000, computed on
 *    integers so that a grey pixel stored as RGB keeps its exact value;
 *  - one channel → three replicates the grey value;
 *  - bilinear resizing uses pixel centres (align_corners = false: the convention of PyTorch's
 *    interpolate, OpenCV's INTER_LINEAR and TensorFlow's half_pixel_centers): output pixel i
 *    samples the input at (i + ½)·(in / out) − ½, clamped to the edge pixels. Halving a size
 *    is then exactly a 2×2 average, and the same size is an exact copy. No low-pass filter is
 *    applied first, so shrinking by much more than 2× skips pixels (aliasing);
 *  - cropping (optional) keeps the largest centred window with the model's aspect ratio, so that
 *    a non-square photo is not squashed; without it the whole image is stretched to (H, W).
 */
import { readFileSync, statSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { ConvnetError } from '../errors.js';
import type { Preprocessing } from '../io/model.js';
import { allocate, type DType, type Tensor } from '../tensor.js';

const FN = 'readImage';

/** Decoded pixels: data is (height, width, 4) RGBA bytes, row-major. */
export interface RgbaImage {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
  data: Uint8Array;
  /**
   * True when the file stores grey only (PNG colour types 0 and 4, a palette of greys, a
   * one-component JPEG), false for colour; absent when not known. Image folders use it to tell
   * a folder of grey pictures from one of colour pictures (and from a mix of both).
   */
  grey?: boolean;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** 'png' or 'jpeg' from the first bytes of a file (at least 8 of them), else null. */
export function sniffImage(head: Uint8Array): 'png' | 'jpeg' | null {
  if (head.length >= 8 && PNG_SIGNATURE.every((b, i) => head[i] === b)) return 'png';
  // SOI (FF D8) followed by the first marker's FF.
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  return null;
}

/** A few words on what a non-image file looks like, for error messages. */
export function describeBytes(head: Uint8Array): string {
  if (head.length === 0) return 'an empty file';
  if (head.length >= 9 && head[8] === 0x7b) return 'a safetensors file'; // u64 header length, then '{'
  if (head[0] === 0x47 && head[1] === 0x49 && head[2] === 0x46) return 'a GIF image';
  if (head[0] === 0x42 && head[1] === 0x4d) return 'a BMP image';
  if (head[0] === 0x52 && head[1] === 0x49 && head[2] === 0x46 && head[3] === 0x46) return 'a RIFF (WebP?) file';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'a gzip file';
  // Printable ASCII, tabs and line breaks only: text.
  if (head.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f))) return 'a text file';
  return `unknown bytes ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
}

/** Decodes PNG or JPEG bytes; `source` (the file name) is named in every error. */
export function decodeImage(bytes: Uint8Array, source: string): RgbaImage {
  const format = sniffImage(bytes);
  if (format === null) throw new ConvnetError(FN, `${source}: expected a PNG or JPEG image, got ${describeBytes(bytes.subarray(0, 16))}`);
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let image: { width: number; height: number; data: Uint8Array; colorType?: number; palette?: unknown };
  try {
    image = format === 'png' ? PNG.sync.read(buffer) : jpeg.decode(buffer, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 100, maxMemoryUsageInMB: 1024 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // pngjs reports a short file as pending reads on a finished stream; say it plainly.
    const plain = /read requests|marker was not found|unknown JPEG marker 0\b/.test(reason) ? 'the data ends early' : reason;
    throw new ConvnetError(FN, `${source}: cannot decode this ${format === 'png' ? 'PNG' : 'JPEG'} (${plain}): the file is truncated or corrupt`);
  }
  const { width, height, data } = image;
  if (!(width >= 1 && height >= 1) || data.length !== width * height * 4) {
    throw new ConvnetError(FN, `${source}: expected ${width}×${height} RGBA pixels from the ${format.toUpperCase()} decoder, got ${data.length} bytes; the file is probably truncated or corrupt`);
  }
  const grey = format === 'png' ? pngIsGrey(image.colorType, image.palette) : jpegComponents(bytes) === 1;
  return { format, width, height, data, grey };
}

/** PNG colour types 0 (grey) and 4 (grey + alpha) are grey; a palette is when every entry is. */
function pngIsGrey(colorType: number | undefined, palette: unknown): boolean {
  if (colorType === 0 || colorType === 4) return true;
  // pngjs puts the PLTE entries ([r, g, b, a] each) in palette once it has read them.
  if (colorType === 3 && Array.isArray(palette)) return palette.every((entry: number[]) => entry[0] === entry[1] && entry[1] === entry[2]);
  return false;
}

/**
 * The number of components in a JPEG's frame header (1 grey, 3 YCbCr, 4 CMYK), or 0 when no
 * frame header is found: the markers are walked from SOI to the first SOFn (C0–CF except C4
 * DHT, C8 JPG and CC DAC), whose byte 7 after the marker is Nf.
 */
export function jpegComponents(bytes: Uint8Array): number {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return 0;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    const length = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return bytes[i + 9]!;
    i += 2 + length;
  }
  return 0;
}

/** Reads and decodes an image file; a missing or unreadable file is a ConvnetError naming it. */
export function readImage(path: string): RgbaImage {
  let bytes: Buffer;
  try {
    if (statSync(path).isDirectory()) throw new ConvnetError(FN, `${path}: expected an image file, got a folder`);
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof ConvnetError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConvnetError(FN, `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error)}`);
  }
  return decodeImage(bytes, path);
}

/** Channel planes (C, H, W), values 0..255 as float64. */
export interface Planes {
  channels: number;
  height: number;
  width: number;
  data: Float64Array;
}

/** RGBA → C planes (1: luma, 3: RGB), alpha composited on black. */
export function toPlanes(image: RgbaImage, channels: 1 | 3): Planes {
  const { width, height, data } = image;
  const P = width * height;
  const out = new Float64Array(channels * P);
  for (let p = 0; p < P; p++) {
    const r = data[4 * p]!;
    const g = data[4 * p + 1]!;
    const b = data[4 * p + 2]!;
    const a = data[4 * p + 3]!;
    if (channels === 1) {
      const luma = (299 * r + 587 * g + 114 * b) / 1000;
      out[p] = a === 255 ? luma : (luma * a) / 255;
    } else {
      out[p] = a === 255 ? r : (r * a) / 255;
      out[P + p] = a === 255 ? g : (g * a) / 255;
      out[2 * P + p] = a === 255 ? b : (b * a) / 255;
    }
  }
  return { channels, height, width, data: out };
}

/** The largest centred window of `planes` whose aspect ratio is height : width. */
export function cropToAspect(planes: Planes, height: number, width: number): Planes {
  const { channels, height: H, width: W, data } = planes;
  // Keep the full extent along the side that is relatively shorter.
  let cropH = H;
  let cropW = Math.round((H * width) / height);
  if (cropW > W) {
    cropW = W;
    cropH = Math.round((W * height) / width);
  }
  cropH = Math.max(1, Math.min(H, cropH));
  cropW = Math.max(1, Math.min(W, cropW));
  if (cropH === H && cropW === W) return planes;
  const top = Math.floor((H - cropH) / 2);
  const left = Math.floor((W - cropW) / 2);
  const out = new Float64Array(channels * cropH * cropW);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < cropH; y++) {
      const from = (c * H + top + y) * W + left;
      out.set(data.subarray(from, from + cropW), (c * cropH + y) * cropW);
    }
  }
  return { channels, height: cropH, width: cropW, data: out };
}

/** Where output index i samples the input along one axis: two neighbours and the weight of the second. */
function samplePositions(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; t: Float64Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const t = new Float64Array(outSize);
  const ratio = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    // Pixel centres: output centre i + ½ lies at input coordinate (i + ½)·ratio, i.e. index − ½.
    const src = Math.min(Math.max((i + 0.5) * ratio - 0.5, 0), inSize - 1);
    const l = Math.floor(src);
    lo[i] = l;
    hi[i] = Math.min(l + 1, inSize - 1);
    t[i] = src - l;
  }
  return { lo, hi, t };
}

/** Bilinear resize of (C, H₀, W₀) planes to (C, height, width), pixel-centre convention (see above). */
export function resizeBilinear(planes: Planes, height: number, width: number): Planes {
  const { channels, height: H, width: W, data } = planes;
  if (H === height && W === width) return planes;
  const ys = samplePositions(H, height);
  const xs = samplePositions(W, width);
  const out = new Float64Array(channels * height * width);
  for (let c = 0; c < channels; c++) {
    const plane = c * H * W;
    for (let y = 0; y < height; y++) {
      const row0 = plane + ys.lo[y]! * W;
      const row1 = plane + ys.hi[y]! * W;
      const ty = ys.t[y]!;
      for (let x = 0; x < width; x++) {
        const x0 = xs.lo[x]!;
        const x1 = xs.hi[x]!;
        const tx = xs.t[x]!;
        const top = data[row0 + x0]! + (data[row0 + x1]! - data[row0 + x0]!) * tx;
        const bottom = data[row1 + x0]! + (data[row1 + x1]! - data[row1 + x0]!) * tx;
        out[(c * height + y) * width + x] = top + (bottom - top) * ty;
      }
    }
  }
  return { channels, height, width, data: out };
}

export interface ImageInputOptions {
  /** The model's input (C, H, W); C must be 1 or 3. */
  inputShape: readonly number[];
  dtype: DType;
  /** From the model file; absent: the raw 0..255 values are the input. */
  preprocessing?: Preprocessing;
  /** Centre-crop to the model's aspect ratio before resizing (default: stretch the whole image). */
  crop?: boolean;
}

/** One image as the model's input, (C, H, W) values in `dtype`: resized pixel · scale − mean. */
export function imageToInput(image: RgbaImage, options: ImageInputOptions): Tensor {
  const [C, H, W] = options.inputShape as [number, number, number];
  if (options.inputShape.length !== 3 || (C !== 1 && C !== 3)) {
    throw new ConvnetError('imageToInput', `expected an image model with input (C, H, W) and C = 1 or 3, got input shape [${options.inputShape.join(', ')}]`);
  }
  let planes = toPlanes(image, C);
  if (options.crop === true) planes = cropToAspect(planes, H, W);
  planes = resizeBilinear(planes, H, W);
  const scale = options.preprocessing?.scale ?? 1;
  const mean = options.preprocessing?.mean;
  // The mean is (C, H, W) per pixel or (C, 1, 1) per channel (decodeModel checked which).
  const perChannel = mean !== undefined && mean.data.length === C;
  const data = allocate(options.dtype, C * H * W);
  const P = H * W;
  for (let i = 0; i < C * P; i++) {
    const m = mean === undefined ? 0 : perChannel ? mean.data[Math.floor(i / P)]! : mean.data[i]!;
    // float64 arithmetic, rounded once into the dtype: what the dataset loaders do.
    data[i] = planes.data[i]! * scale - m;
  }
  return { shape: [C, H, W], data, dtype: options.dtype };
}

/** How one picture of an image folder becomes a dataset image. */
export interface PixelOptions {
  height: number;
  width: number;
  /** 1 or 3; absent: 1 for grey files, 3 for colour ones (the caller checks they agree). */
  channels?: 1 | 3;
  /** Centre-crop to the aspect ratio height : width before resizing (else stretch). */
  crop: boolean;
}

/** A decoded dataset image: (C, height, width) pixel values 0..255, resized. */
export interface DecodedPixels {
  channels: 1 | 3;
  /** What the file stores (see RgbaImage.grey). */
  grey: boolean;
  /** (C, height, width) as float32: half the memory (and cache) of float64. */
  pixels: Float32Array;
}

/**
 * Image bytes → (C, H, W) pixels in 0..255: the steps imageToInput takes before preprocessing
 * (toPlanes, optional cropToAspect, resizeBilinear), so that a model trained on these pixels sees
 * the same input from `convnet predict` (within float32 rounding of the pixel values).
 */
export function imageToPixels(bytes: Uint8Array, source: string, options: PixelOptions): DecodedPixels {
  const image = decodeImage(bytes, source);
  const grey = image.grey === true;
  const channels = options.channels ?? (grey ? 1 : 3);
  let planes = toPlanes(image, channels);
  if (options.crop) planes = cropToAspect(planes, options.height, options.width);
  planes = resizeBilinear(planes, options.height, options.width);
  return { channels, grey, pixels: Float32Array.from(planes.data) };
}
