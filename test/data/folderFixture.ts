// Image folders for the tests: digits from the shipped MNIST written as PNG and JPEG files of
// mixed sizes, grey and colour, one sub-folder per class.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { loadShippedMnist } from '../../src/data/shipped.js';
import { resizeBilinear } from '../../src/data/image.js';

export const DIGIT_NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** A grey PNG (colour type 0) of 0..255 samples, row-major. */
export function greyPng(width: number, height: number, grey: ArrayLike<number>): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(Array.from(grey, (v) => Math.round(v)));
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

/** An RGB PNG (colour type 2) from interleaved RGB samples. */
export function rgbPng(width: number, height: number, rgb: ArrayLike<number>): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(Array.from(rgb, (v) => Math.round(v)));
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** An RGBA PNG (colour type 6) from interleaved RGBA samples. */
export function rgbaPng(width: number, height: number, rgba: ArrayLike<number>): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(Array.from(rgba, (v) => Math.round(v)));
  return PNG.sync.write(png, { colorType: 6, inputColorType: 6, inputHasAlpha: true });
}

/** A colour JPEG (jpeg-js writes three components) from interleaved RGB samples. */
export function rgbJpeg(width: number, height: number, rgb: ArrayLike<number>, quality = 92): Buffer {
  const data = Buffer.alloc(width * height * 4, 255);
  for (let p = 0; p < width * height; p++) for (let c = 0; c < 3; c++) data[4 * p + c] = Math.round(rgb[3 * p + c]!);
  return Buffer.from(jpeg.encode({ width, height, data }, quality).data);
}

/** A 28×28 digit (0..255) resized to height × width. */
function resized(digit: Float64Array, height: number, width: number): Float64Array {
  return resizeBilinear({ channels: 1, height: 28, width: 28, data: digit }, height, width).data;
}

/** Grey values as a tinted colour image: orange strokes (R = v, G = 0.8 v, B = 0.5 v), interleaved. */
function tinted(grey: Float64Array): Float64Array {
  const out = new Float64Array(grey.length * 3);
  grey.forEach((v, p) => {
    out[3 * p] = v;
    out[3 * p + 1] = 0.8 * v;
    out[3 * p + 2] = 0.5 * v;
  });
  return out;
}

/** The first `perClass` shipped training digits of each class, as 0..255 values (28×28). */
export function digits(perClass: number, classes = 10, offset = 0): Float64Array[][] {
  const data = loadShippedMnist({ subtractMean: false, dtype: 'float64' });
  const out: Float64Array[][] = Array.from({ length: classes }, () => []);
  const skip = new Array<number>(classes).fill(offset);
  for (let i = 0; i < data.yTrain.length; i++) {
    const label = data.yTrain[i]!;
    if (label >= classes || out[label]!.length >= perClass) continue;
    if (skip[label]! > 0) {
      skip[label]!--;
      continue;
    }
    out[label]!.push(Float64Array.from(data.XTrain.data.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)));
  }
  return out;
}

/**
 * One digit as a file of kind k % 8: 0, 4 a grey PNG 28×28; 1 a colour JPEG 36×36 (one in eight
 * only: jpeg-js builds its tables anew for every file, ~50 ms); 2, 6 a colour PNG 20 wide, 24
 * high; 3, 7 a grey PNG 42×42 saved with a .jpg name (formats go by bytes); 5 an RGBA PNG 30×30.
 */
export function digitFile(digit: Float64Array, k: number): { name: string; bytes: Buffer } {
  switch (k % 8) {
    case 0:
    case 4:
      return { name: `${k}.png`, bytes: greyPng(28, 28, digit) };
    case 1:
      return { name: `${k}.jpg`, bytes: rgbJpeg(36, 36, tinted(resized(digit, 36, 36))) };
    case 2:
    case 6:
      return { name: `${k}.png`, bytes: rgbPng(20, 24, tinted(resized(digit, 24, 20))) };
    case 5: {
      const rgb = tinted(resized(digit, 30, 30));
      const rgba = new Float64Array(30 * 30 * 4).fill(255);
      for (let p = 0; p < 900; p++) for (let c = 0; c < 3; c++) rgba[4 * p + c] = rgb[3 * p + c]!;
      return { name: `${k}.png`, bytes: rgbaPng(30, 30, rgba) };
    }
    default:
      return { name: `${k}.jpg`, bytes: greyPng(42, 42, resized(digit, 42, 42)) };
  }
}

/**
 * Writes DIR/<digit name>/<k>.png|jpg for `perClass` digits of each of the first `classes`
 * classes; returns the class folder names (sorted, as loadImageFolder names the classes).
 */
export function writeDigitFolder(dir: string, perClass: number, classes = 10): string[] {
  const names = DIGIT_NAMES.slice(0, classes);
  digits(perClass, classes).forEach((list, label) => {
    const folder = join(dir, names[label]!);
    mkdirSync(folder, { recursive: true });
    list.forEach((digit, k) => {
      const file = digitFile(digit, k);
      writeFileSync(join(folder, file.name), file.bytes);
    });
  });
  return [...names].sort();
}
