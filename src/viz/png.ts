/**
 * A small PNG encoder that runs anywhere (no zlib, no Node): 8-bit RGB, the image data in
 * zlib "stored" (uncompressed) blocks. The charts embed their pixel images with it as data URIs;
 * the renderer that rasterises the SVG compresses the final PNG.
 */

/** An 8-bit RGB image: rgb holds (height, width, 3) bytes, row-major. */
export interface Raster {
  width: number;
  height: number;
  rgb: Uint8Array;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** PNG bytes of the raster. */
export function encodePng(raster: Raster): Uint8Array {
  const { width, height, rgb } = raster;
  // Each row: filter byte 0 (none), then its pixels.
  const rowBytes = 1 + 3 * width;
  const raw = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * 3 * width, (y + 1) * 3 * width), y * rowBytes + 1);
  // zlib: header 78 01, stored blocks of at most 65,535 bytes, Adler-32.
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const zlib = new Uint8Array(2 + raw.length + 5 * blocks + 4);
  zlib[0] = 0x78;
  zlib[1] = 0x01;
  let at = 2;
  for (let b = 0; b < blocks; b++) {
    const chunk = raw.subarray(b * 65535, Math.min(raw.length, (b + 1) * 65535));
    zlib[at++] = b === blocks - 1 ? 1 : 0;
    zlib[at++] = chunk.length & 0xff;
    zlib[at++] = chunk.length >>> 8;
    zlib[at++] = ~chunk.length & 0xff;
    zlib[at++] = (~chunk.length >>> 8) & 0xff;
    zlib.set(chunk, at);
    at += chunk.length;
  }
  let a = 1;
  let s = 0;
  for (let i = 0; i < raw.length; i++) {
    a = (a + raw[i]!) % 65521;
    s = (s + a) % 65521;
  }
  const adler = ((s << 16) | a) >>> 0;
  zlib[at++] = adler >>> 24;
  zlib[at++] = (adler >>> 16) & 0xff;
  zlib[at++] = (adler >>> 8) & 0xff;
  zlib[at++] = adler & 0xff;

  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter choice, no interlace
  const chunks: [string, Uint8Array][] = [['IHDR', ihdr], ['IDAT', zlib], ['IEND', new Uint8Array(0)]];
  const total = 8 + chunks.reduce((sum, [, data]) => sum + 12 + data.length, 0);
  const out = new Uint8Array(total);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const outView = new DataView(out.buffer);
  let p = 8;
  for (const [type, data] of chunks) {
    outView.setUint32(p, data.length);
    for (let i = 0; i < 4; i++) out[p + 4 + i] = type.charCodeAt(i);
    out.set(data, p + 8);
    outView.setUint32(p + 8 + data.length, crc32(out, p + 4, p + 8 + data.length));
    p += 12 + data.length;
  }
  return out;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 with padding. */
export function base64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += BASE64[n >>> 18]! + BASE64[(n >>> 12) & 63]! + (i + 1 < bytes.length ? BASE64[(n >>> 6) & 63]! : '=') + (i + 2 < bytes.length ? BASE64[n & 63]! : '=');
  }
  return out;
}

/** The raster as a data: URI for an SVG <image>. */
export function pngDataUri(raster: Raster): string {
  return `data:image/png;base64,${base64(encodePng(raster))}`;
}
