// Image files → model inputs: every PNG colour type and JPEG decoded to the same pixels, the
// channel rules, bilinear resizing on pixel centres, centre cropping, preprocessing, bad files.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { temporaryDirectory } from '../helpers.js';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG, type ColorType } from 'pngjs';
import { cropToAspect, decodeImage, imageToInput, readImage, resizeBilinear, sniffImage, toPlanes, type Planes } from '../../src/cli/image.js';
import { ConvnetError } from '../../src/errors.js';

/** A PNG of `width`×`height` from raw samples in the layout of colorType (0 grey, 2 RGB, 4 grey+alpha, 6 RGBA). */
function pngBytes(width: number, height: number, samples: number[], colorType: ColorType): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(samples);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: colorType === 4 || colorType === 6 });
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A palette PNG by hand (pngjs writes no palettes): 8-bit indices into `palette` ([r, g, b] each). */
function palettePng(width: number, height: number, indices: number[], palette: Array<[number, number, number]>): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // colour type: palette
  const raw: number[] = [];
  for (let y = 0; y < height; y++) raw.push(0, ...indices.slice(y * width, (y + 1) * width)); // filter 0 per row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('PLTE', Buffer.from(palette.flat())),
    chunk('IDAT', deflateSync(Buffer.from(raw))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const grey = [0, 64, 128, 255, 10, 200]; // a 3×2 image

function rgbaOf(bytes: Uint8Array): number[] {
  return [...decodeImage(bytes, 'test').data];
}

describe('decodeImage: every PNG colour type gives the same RGBA pixels', () => {
  const expected = grey.flatMap((g) => [g, g, g, 255]);
  test('grey', () => assert.deepEqual(rgbaOf(pngBytes(3, 2, grey, 0)), expected));
  test('RGB', () => assert.deepEqual(rgbaOf(pngBytes(3, 2, grey.flatMap((g) => [g, g, g]), 2)), expected));
  test('RGBA', () => assert.deepEqual(rgbaOf(pngBytes(3, 2, grey.flatMap((g) => [g, g, g, 255]), 6)), expected));
  test('grey + alpha keeps the alpha', () => assert.deepEqual(rgbaOf(pngBytes(3, 2, grey.flatMap((g) => [g, 100]), 4)), grey.flatMap((g) => [g, g, g, 100])));
  test('palette', () => {
    const palette: Array<[number, number, number]> = grey.map((g) => [g, g, g]);
    assert.deepEqual(rgbaOf(palettePng(3, 2, [0, 1, 2, 3, 4, 5], palette)), expected);
  });
  test('formats are told by their bytes, not their names', () => {
    assert.equal(sniffImage(pngBytes(3, 2, grey, 0)), 'png');
    assert.equal(sniffImage(jpeg.encode({ width: 3, height: 2, data: Buffer.from(expected) }, 100).data), 'jpeg');
    assert.equal(sniffImage(Buffer.from('hello world')), null);
    const dir = temporaryDirectory('convnet-image-');
    writeFileSync(join(dir, 'really-a-png.jpg'), pngBytes(3, 2, grey, 0));
    assert.equal(readImage(join(dir, 'really-a-png.jpg')).format, 'png');
  });
});

test('decodeImage: a JPEG at quality 100 comes back within a few levels', () => {
  const width = 16;
  const height = 8;
  const rgba = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) rgba.set([(p * 13) % 256, (p * 13) % 256, (p * 13) % 256, 255], 4 * p);
  const image = decodeImage(jpeg.encode({ width, height, data: rgba }, 100).data, 'test.jpg');
  assert.equal(image.format, 'jpeg');
  assert.deepEqual([image.width, image.height], [width, height]);
  let worst = 0;
  for (let i = 0; i < rgba.length; i++) worst = Math.max(worst, Math.abs(image.data[i]! - rgba[i]!));
  assert.ok(worst <= 16, `largest difference ${worst}`);
});

describe('toPlanes', () => {
  const image = (samples: number[]): ReturnType<typeof decodeImage> => ({ format: 'png', width: samples.length / 4, height: 1, data: Uint8Array.from(samples) });
  test('one channel: Rec. 601 luma, exact for grey', () => {
    assert.deepEqual([...toPlanes(image([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 77, 77, 77, 255]), 1).data], [76.245, 149.685, 29.07, 77]);
  });
  test('alpha is composited on black', () => {
    assert.deepEqual([...toPlanes(image([200, 200, 200, 0, 200, 200, 200, 51, 200, 200, 200, 255]), 1).data], [0, 40, 200]);
    assert.deepEqual([...toPlanes(image([255, 100, 0, 51]), 3).data], [51, 20, 0]);
  });
  test('three channels keep RGB, in planes (C, H, W)', () => {
    assert.deepEqual([...toPlanes(image([1, 2, 3, 255, 4, 5, 6, 255]), 3).data], [1, 4, 2, 5, 3, 6]);
  });
});

describe('resizeBilinear (pixel centres, align_corners = false)', () => {
  const planes = (height: number, width: number, values: number[], channels = 1): Planes => ({ channels, height, width, data: Float64Array.from(values) });
  test('the same size is a copy', () => {
    const p = planes(2, 2, [1, 2, 3, 4]);
    assert.deepEqual([...resizeBilinear(p, 2, 2).data], [1, 2, 3, 4]);
  });
  test('2 → 4 samples at -¼, ¼, ¾, 1¼ (edges clamped)', () => {
    assert.deepEqual([...resizeBilinear(planes(1, 2, [0, 10]), 1, 4).data], [0, 2.5, 7.5, 10]);
  });
  test('halving is a 2×2 average; a nearest 2× enlargement halves back exactly', () => {
    assert.deepEqual([...resizeBilinear(planes(2, 2, [1, 2, 3, 6]), 1, 1).data], [3]);
    const small = [5, 9, 200, 0, 17, 33];
    const big: number[] = [];
    for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) big.push(small[Math.floor(y / 2) * 3 + Math.floor(x / 2)]!);
    assert.deepEqual([...resizeBilinear(planes(4, 6, big), 2, 3).data], small);
  });
  test('channels are resized separately', () => {
    assert.deepEqual([...resizeBilinear(planes(1, 2, [0, 10, 100, 100], 2), 1, 4).data], [0, 2.5, 7.5, 10, 100, 100, 100, 100]);
  });
  test('centre crop keeps the middle window of the target aspect ratio', () => {
    const wide = planes(2, 4, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(cropToAspect(wide, 28, 28), planes(2, 2, [2, 3, 6, 7]));
    const tall = planes(3, 1, [1, 2, 3]);
    assert.deepEqual(cropToAspect(tall, 1, 1), planes(1, 1, [2]));
  });
});

describe('imageToInput', () => {
  const image = { format: 'png' as const, width: 2, height: 1, data: Uint8Array.from([0, 0, 0, 255, 255, 255, 255, 255]) };
  test('pixel · scale − per-pixel mean, (C, H, W) in the dtype', () => {
    const mean = { shape: [1, 1, 2], data: Float64Array.from([0.25, 0.5]), dtype: 'float64' as const };
    const x = imageToInput(image, { inputShape: [1, 1, 2], dtype: 'float64', preprocessing: { scale: 1 / 255, mean } });
    assert.deepEqual(x.shape, [1, 1, 2]);
    assert.deepEqual([...x.data], [-0.25, 0.5]);
  });
  test('per-channel mean, replicated grey, resized, float32', () => {
    const mean = { shape: [3, 1, 1], data: Float32Array.from([1, 2, 3]), dtype: 'float32' as const };
    const x = imageToInput(image, { inputShape: [3, 1, 4], dtype: 'float32', preprocessing: { scale: 1, mean } });
    assert.ok(x.data instanceof Float32Array);
    assert.deepEqual([...x.data], [-1, 62.75, 190.25, 254, -2, 61.75, 189.25, 253, -3, 60.75, 188.25, 252]);
  });
  test('no preprocessing: raw 0..255 values', () => {
    assert.deepEqual([...imageToInput(image, { inputShape: [1, 1, 2], dtype: 'float64' }).data], [0, 255]);
  });
  test('models that do not take images are refused', () => {
    assert.throws(() => imageToInput(image, { inputShape: [2, 1, 2], dtype: 'float64' }), /C = 1 or 3, got input shape \[2, 1, 2\]/);
    assert.throws(() => imageToInput(image, { inputShape: [10], dtype: 'float64' }), /input \(C, H, W\)/);
  });
});

describe('bad image files are ConvnetErrors that name the file', () => {
  const dir = temporaryDirectory('convnet-image-');
  const cases: Array<[string, Buffer | null, RegExp]> = [
    ['a text file', Buffer.from('not an image\n'), /notes\.txt: expected a PNG or JPEG image, got a text file/],
    ['an empty file', Buffer.alloc(0), /empty\.png: expected a PNG or JPEG image, got an empty file/],
    ['a truncated PNG', pngBytes(3, 2, grey, 0).subarray(0, 40), /cut\.png: cannot decode this PNG \(the data ends early\): the file is truncated or corrupt/],
    ['a truncated JPEG', jpeg.encode({ width: 16, height: 16, data: Buffer.alloc(16 * 16 * 4, 128) }, 100).data.subarray(0, 300), /cut\.jpg: cannot decode this JPEG .*truncated or corrupt/],
    ['a missing file', null, /cannot read .*missing\.png: no such file/],
  ];
  const names = ['notes.txt', 'empty.png', 'cut.png', 'cut.jpg', 'missing.png'];
  cases.forEach(([label, bytes, pattern], i) => {
    test(label, () => {
      const path = join(dir, names[i]!);
      if (bytes !== null) writeFileSync(path, bytes);
      assert.throws(() => readImage(path), (error: unknown) => error instanceof ConvnetError && pattern.test(error.message));
    });
  });
  test('a folder', () => assert.throws(() => readImage(dir), /expected an image file, got a folder/));
});
