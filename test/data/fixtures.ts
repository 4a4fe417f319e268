/**
 * Builders for small datasets in the official file formats, used by the data tests and the
 * CLI end-to-end test: ustar archives, CIFAR-10 binary batches (and cifar-10-binary.tar.gz),
 * IDX files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { rng } from '../../src/rng.js';

export interface TarInput {
  name: string;
  data?: Uint8Array | string;
  /** Type flag: '0' file (default), '5' directory, 'L' GNU long name, 'x' pax header, '2' symlink. */
  type?: string;
  /** The ustar prefix field (the name is then prefix/name). */
  prefix?: string;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar fixture: ${JSON.stringify(value)} does not fit in ${length} bytes`);
  bytes.copy(block, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  // length - 1 octal digits, then NUL
  writeString(block, offset, length, value.toString(8).padStart(length - 1, '0'));
  block[offset + length - 1] = 0;
}

/** One 512-byte ustar header with a correct checksum. */
export function tarHeader(name: string, size: number, type = '0', prefix = ''): Buffer {
  const block = Buffer.alloc(512);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, type === '5' ? 0o755 : 0o644);
  writeOctal(block, 108, 8, 1000);
  writeOctal(block, 116, 8, 1000);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, 1_262_304_000);
  block.fill(0x20, 148, 156);
  writeString(block, 156, 1, type);
  writeString(block, 257, 6, 'ustar\u0000');
  writeString(block, 263, 2, '00');
  writeString(block, 265, 32, 'convnet');
  writeString(block, 297, 32, 'convnet');
  writeString(block, 345, 155, prefix);
  let sum = 0;
  for (const b of block) sum += b;
  // six octal digits, NUL, space (the classic layout)
  writeString(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\u0000 `);
  return block;
}

/** A ustar archive of the given entries, ending with two zero blocks. */
export function makeTar(entries: TarInput[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : Buffer.from(entry.data ?? new Uint8Array(0));
    parts.push(tarHeader(entry.name, data.length, entry.type ?? '0', entry.prefix ?? ''));
    parts.push(data);
    const pad = (512 - (data.length % 512)) % 512;
    parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A pax extended-header body: "LEN key=value\n" records. */
export function paxRecords(records: Record<string, string>): string {
  let out = '';
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    let length = body.length + 1;
    while (String(length).length + body.length !== length) length = String(length).length + body.length;
    out += `${length}${body}`;
  }
  return out;
}

/** CIFAR-10 binary records: for each image, its label byte then its 3072 bytes (R, G, B planes). */
export function cifarRecords(images: Uint8Array, labels: ArrayLike<number>): Buffer {
  const n = labels.length;
  const out = Buffer.alloc(n * 3073);
  for (let i = 0; i < n; i++) {
    out[i * 3073] = labels[i]!;
    out.set(images.subarray(i * 3072, (i + 1) * 3072), i * 3073 + 1);
  }
  return out;
}

export interface Cifar10Fixture {
  /** `<dir>/cifar-10-binary.tar.gz`. */
  archivePath: string;
  /** `<dir>/cifar-10-batches-bin`, the extracted .bin files. */
  binDir: string;
  /** All training images in file order (data_batch_1 … 5), 3072 bytes each in R, G, B planes. */
  trainImages: Uint8Array;
  trainLabels: Int32Array;
  testImages: Uint8Array;
  testLabels: Int32Array;
}

/**
 * Writes a small CIFAR-10 in the official binary format: `<dir>/cifar-10-binary.tar.gz` (gzip of
 * a ustar archive with cifar-10-batches-bin/ holding batches.meta.txt, data_batch_1..5.bin,
 * test_batch.bin and readme.html) and the same files extracted in `<dir>/cifar-10-batches-bin/`.
 *
 * Images are learnable: class c brightens colour channel c % 3 in quadrant floor(c / 3) of the
 * 32×32 image (rows/cols 0..15 or 16..31) over seeded noise, so a small net can fit them.
 */
export function writeCifar10Archive(
  dir: string,
  options: { perBatch?: number; testCount?: number; seed?: number } = {},
): Cifar10Fixture {
  const perBatch = options.perBatch ?? 20;
  const testCount = options.testCount ?? 20;
  const gen = rng(options.seed ?? 0);
  const makeImages = (n: number): { images: Uint8Array; labels: Int32Array } => {
    const images = new Uint8Array(n * 3072);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const label = (i + gen.int(10)) % 10;
      labels[i] = label;
      const channel = label % 3;
      const quadrant = Math.floor(label / 3);
      const rowStart = quadrant < 2 ? 0 : 16;
      const colStart = quadrant % 2 === 0 ? 0 : 16;
      for (let c = 0; c < 3; c++) {
        for (let h = 0; h < 32; h++) {
          for (let w = 0; w < 32; w++) {
            let v = gen.int(96);
            if (c === channel && h >= rowStart && h < rowStart + 16 && w >= colStart && w < colStart + 16) v += 140;
            images[i * 3072 + c * 1024 + h * 32 + w] = v;
          }
        }
      }
    }
    return { images, labels };
  };
  const train = makeImages(5 * perBatch);
  const test = makeImages(testCount);
  const files: [string, Uint8Array | string][] = [
    ['batches.meta.txt', 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n'],
  ];
  for (let b = 0; b < 5; b++) {
    const from = b * perBatch;
    files.push([
      `data_batch_${b + 1}.bin`,
      cifarRecords(train.images.subarray(from * 3072, (from + perBatch) * 3072), train.labels.subarray(from, from + perBatch)),
    ]);
  }
  files.push(['test_batch.bin', cifarRecords(test.images, test.labels)]);
  files.push(['readme.html', '<meta HTTP-EQUIV="REFRESH" content="0; url=http://www.cs.toronto.edu/~kriz/cifar.html">\n']);

  mkdirSync(dir, { recursive: true });
  const binDir = join(dir, 'cifar-10-batches-bin');
  mkdirSync(binDir, { recursive: true });
  for (const [name, data] of files) writeFileSync(join(binDir, name), data);
  const tar = makeTar([
    { name: 'cifar-10-batches-bin/', type: '5' },
    ...files.map(([name, data]) => ({ name: `cifar-10-batches-bin/${name}`, data })),
  ]);
  const archivePath = join(dir, 'cifar-10-binary.tar.gz');
  writeFileSync(archivePath, gzipSync(tar));
  return {
    archivePath,
    binDir,
    trainImages: train.images,
    trainLabels: train.labels,
    testImages: test.images,
    testLabels: test.labels,
  };
}

/** An IDX file of unsigned bytes (magic 00 00 08 rank, big-endian dims, data), gzipped if asked. */
export function idxBytes(dims: number[], data: Uint8Array, gzip = false): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const raw = Buffer.concat([header, Buffer.from(data)]);
  return gzip ? gzipSync(raw) : raw;
}

export interface MnistFixture {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

/**
 * Writes the four MNIST IDX files (28×28 images) into `dir`, gzipped unless `gzip` is false.
 */
export function writeMnistFiles(
  dir: string,
  options: { trainCount?: number; testCount?: number; seed?: number; gzip?: boolean } = {},
): MnistFixture {
  const trainCount = options.trainCount ?? 24;
  const testCount = options.testCount ?? 6;
  const gzip = options.gzip ?? true;
  const gen = rng(options.seed ?? 0);
  const bytes = (n: number, max: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = gen.int(max);
    return out;
  };
  const fixture: MnistFixture = {
    trainImages: bytes(trainCount * 784, 256),
    trainLabels: bytes(trainCount, 10),
    testImages: bytes(testCount * 784, 256),
    testLabels: bytes(testCount, 10),
  };
  const suffix = gzip ? '.gz' : '';
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `train-images-idx3-ubyte${suffix}`), idxBytes([trainCount, 28, 28], fixture.trainImages, gzip));
  writeFileSync(join(dir, `train-labels-idx1-ubyte${suffix}`), idxBytes([trainCount], fixture.trainLabels, gzip));
  writeFileSync(join(dir, `t10k-images-idx3-ubyte${suffix}`), idxBytes([testCount, 28, 28], fixture.testImages, gzip));
  writeFileSync(join(dir, `t10k-labels-idx1-ubyte${suffix}`), idxBytes([testCount], fixture.testLabels, gzip));
  return fixture;
}
