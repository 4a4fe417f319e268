/**
 * The lab's datasets, in the worker: the shipped MNIST digits (dist/lab/data/, written by
 * build.mjs), Fashion-MNIST from the server, and IDX files or a CIFAR-10 archive the user picks.
 * Files are parsed here (the library's file readers are Node's); the splits are built by the
 * library's assemble(), so values are what its loaders give.
 */
import { assemble, type Dataset, type RawImages } from '../src/data/common.js';
import { CIFAR10_CLASS_NAMES } from '../src/data/cifar10.js';
import { FASHION_MNIST_CLASS_NAMES, MNIST_CLASS_NAMES } from '../src/data/mnist.js';
import { ConvnetError } from '../src/errors.js';
import { permutation, rng } from '../src/rng.js';
import type { DatasetInfo, PickedFile } from './protocol.js';

/** A dataset with what the pictures need: the raw test pixels and their value range. */
export interface LabDataset {
  data: Dataset;
  info: DatasetInfo;
  /** The test images' raw pixels, (N, C, H, W) in the order of data.XTest. */
  testPixels: Uint8Array | Float64Array;
  /** The raw pixels' range (for drawing them). */
  pixelRange: [number, number];
  /** Recorded in model files the page writes, so that `convnet evaluate` finds the dataset. */
  trainingName: string | null;
}

/** Training images at most, for a picked or served dataset (memory: 4 bytes a value). */
const MAX_TRAIN = 20000;
/** Validation images taken from the end of the training file. */
const VALIDATION = 1000;

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** An IDX file of unsigned bytes (type 0x08): its dims and data. */
export function parseIdx(bytes: Uint8Array, name: string): { dims: number[]; data: Uint8Array } {
  const fn = 'lab: IDX file';
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    throw new ConvnetError(fn, `${name} is not an IDX file of unsigned bytes (expected magic 00 00 08 rank, got ${Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`);
  }
  const rank = bytes[3]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * rank) throw new ConvnetError(fn, `${name} ends inside its header (${bytes.length} bytes)`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, d) => a * d, 1);
  const start = 4 + 4 * rank;
  if (bytes.length - start !== size) throw new ConvnetError(fn, `${name} should hold ${size} values for dims ${dims.join('×')}, got ${bytes.length - start}`);
  return { dims, data: bytes.subarray(start) };
}

/** The files of a tar archive (ustar headers of 512 bytes, data padded to 512). */
function parseTar(bytes: Uint8Array, name: string): PickedFile[] {
  const files: PickedFile[] = [];
  const text = (from: number, length: number): string => new TextDecoder().decode(bytes.subarray(from, from + length)).replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= bytes.length; ) {
    const entry = text(at, 100);
    if (entry === '') break;
    const size = parseInt(text(at + 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || at + 512 + size > bytes.length) throw new ConvnetError('lab: tar archive', `${name} is truncated inside ${entry}`);
    const kind = String.fromCharCode(bytes[at + 156]!);
    if (kind === '0' || kind === '\0') files.push({ name: entry, bytes: bytes.subarray(at + 512, at + 512 + size) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function describe(counts: DatasetInfo['counts']): string {
  return `${counts.train.toLocaleString('en-US')} training, ${counts.val.toLocaleString('en-US')} validation, ${counts.test.toLocaleString('en-US')} test images`;
}

function finish(name: string, description: string, data: Dataset, testPixels: Uint8Array | Float64Array, pixelRange: [number, number], trainingName: string | null): LabDataset {
  const counts = { train: data.yTrain.length, val: data.yVal.length, test: data.yTest.length };
  return {
    data,
    info: { name, description: `${description}: ${describe(counts)}`, inputDim: [...data.inputDim] as [number, number, number], classNames: [...data.classNames], counts },
    testPixels,
    pixelRange,
    trainingName,
  };
}

/** The pixels of images `indices` of source, one after the other. */
function gather<T extends Uint8Array | Float64Array>(pixels: T, indices: ArrayLike<number>, D: number): T {
  const out = new (pixels.constructor as new (n: number) => T)(indices.length * D);
  for (let k = 0; k < indices.length; k++) out.set(pixels.subarray(indices[k]! * D, (indices[k]! + 1) * D), k * D);
  return out;
}

/**
 * The shipped digits, split as loadShippedMnist({ seed: 0 }) splits them (what `convnet train`
 * and `convnet evaluate` use without --data): a seeded permutation; test, validation, training.
 */
export async function shippedMnist(base: string): Promise<LabDataset> {
  const get = async (path: string): Promise<Uint8Array> => {
    const response = await fetch(new URL(path, base));
    if (!response.ok) throw new ConvnetError('lab', `cannot fetch ${path} (HTTP ${response.status})`);
    return new Uint8Array(await response.arrayBuffer());
  };
  const [imageBytes, labelBytes, valuesText] = await Promise.all([get('data/mnist-images.idx'), get('data/mnist-labels.idx'), get('data/mnist-values.json')]);
  const images = parseIdx(imageBytes, 'mnist-images.idx');
  const labels = parseIdx(labelBytes, 'mnist-labels.idx');
  const values = JSON.parse(new TextDecoder().decode(valuesText)) as number[];
  // The package's own values (byte → its 3-decimal number), as loadShippedMnist reads them.
  const pixels = new Float64Array(images.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = values[images.data[i]!]!;
  const source: RawImages = { pixels, labels: Int32Array.from(labels.data) };
  const total = source.labels.length;
  const order = permutation(total, rng(0));
  const [numTest, numValidation, numTraining] = [1000, 1000, 8000];
  const test = order.subarray(0, numTest);
  const data = assemble({
    test: { source, indices: test },
    val: { source, indices: order.subarray(numTest, numTest + numValidation) },
    train: { source, indices: order.subarray(numTest + numValidation, numTest + numValidation + numTraining) },
    inputDim: [1, 28, 28],
    dtype: 'float32',
    scale: 1,
    subtractMean: true,
    classNames: [...MNIST_CLASS_NAMES],
  });
  data.scale = 1 / 255; // as loadShippedMnist: what multiplies a 0..255 pixel
  return finish('mnist', 'the 10,000 MNIST digits that ship with convnet, split as convnet train splits them (seed 0)', data, gather(pixels, test, 784), [0, 1], 'mnist');
}

/**
 * Images and labels from a training file and a test file: validation is the last 1,000 of
 * the training file, training the first (at most 20,000) of the rest, test all of the test file.
 */
function split(name: string, description: string, train: RawImages & { pixels: Uint8Array }, test: RawImages & { pixels: Uint8Array }, inputDim: [number, number, number], classNames: readonly string[], trainingName: string | null): LabDataset {
  const available = train.labels.length;
  const numValidation = Math.min(VALIDATION, Math.floor(available / 12));
  const numTraining = Math.min(MAX_TRAIN, available - numValidation);
  const range = (start: number, n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => start + i);
  const data = assemble({
    train: { source: train, indices: range(0, numTraining) },
    val: { source: train, indices: range(available - numValidation, numValidation) },
    test: { source: test, indices: range(0, test.labels.length) },
    inputDim,
    dtype: 'float32',
    scale: 1 / 255,
    subtractMean: true,
    classNames: [...classNames],
  });
  return finish(name, description, data, test.pixels, [0, 255], trainingName);
}

/** Four IDX files (train/t10k images and labels, gzipped or not), told apart by name. */
async function idxDataset(name: string, description: string, files: PickedFile[], classNames: readonly string[], trainingName: string | null): Promise<LabDataset> {
  const find = (pattern: RegExp, what: string): PickedFile => {
    const file = files.find((f) => pattern.test(f.name));
    if (file === undefined) throw new ConvnetError('lab', `expected ${what} among the files (${files.map((f) => f.name).join(', ')})`);
    return file;
  };
  const read = async (file: PickedFile) => parseIdx(await gunzip(file.bytes), file.name);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    read(find(/train-images/, 'train-images-idx3-ubyte[.gz]')),
    read(find(/train-labels/, 'train-labels-idx1-ubyte[.gz]')),
    read(find(/t10k-images/, 't10k-images-idx3-ubyte[.gz]')),
    read(find(/t10k-labels/, 't10k-labels-idx1-ubyte[.gz]')),
  ]);
  const [, H, W] = trainImages.dims as [number, number, number];
  if (trainImages.dims[0] !== trainLabels.dims[0] || testImages.dims[0] !== testLabels.dims[0]) throw new ConvnetError('lab', 'expected as many labels as images in each pair of IDX files');
  if (testImages.dims[1] !== H || testImages.dims[2] !== W) throw new ConvnetError('lab', `expected test images of ${H}×${W} like the training images, got ${testImages.dims[1]}×${testImages.dims[2]}`);
  const labels = (data: Uint8Array): Int32Array => {
    const out = Int32Array.from(data);
    const bad = out.findIndex((v) => v >= classNames.length);
    if (bad >= 0) throw new ConvnetError('lab', `expected labels 0 to ${classNames.length - 1}, got ${out[bad]} at ${bad}`);
    return out;
  };
  return split(name, description, { pixels: trainImages.data, labels: labels(trainLabels.data) }, { pixels: testImages.data, labels: labels(testLabels.data) }, [1, H, W], classNames, trainingName);
}

/** Fashion-MNIST from the server's /datasets/fashion-mnist/ (Debian's files). */
export async function fashionMnist(base: string): Promise<LabDataset> {
  const names = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
  const files = await Promise.all(
    names.map(async (name) => {
      const response = await fetch(new URL(`datasets/fashion-mnist/${name}`, base));
      if (!response.ok) throw new ConvnetError('lab', `the server has no Fashion-MNIST file ${name} (HTTP ${response.status})`);
      return { name, bytes: new Uint8Array(await response.arrayBuffer()) };
    }),
  );
  return idxDataset('fashion-mnist', 'Fashion-MNIST from the server', files, FASHION_MNIST_CLASS_NAMES, null);
}

/** CIFAR-10 binary batches (records of 1 label byte + 3,072 pixel bytes, R, G, B planes). */
function cifarBatches(files: PickedFile[]): LabDataset {
  const train = files.filter((f) => /data_batch_\d\.bin$/.test(f.name)).sort((a, b) => a.name.localeCompare(b.name));
  const test = files.filter((f) => /test_batch\.bin$/.test(f.name));
  if (train.length === 0 || test.length === 0) throw new ConvnetError('lab', `expected CIFAR-10's data_batch_N.bin and test_batch.bin, got ${files.map((f) => f.name).join(', ')}`);
  const records = (batches: PickedFile[]): RawImages & { pixels: Uint8Array } => {
    const total = batches.reduce((n, f) => n + f.bytes.length, 0);
    if (batches.some((f) => f.bytes.length % 3073 !== 0)) throw new ConvnetError('lab', 'expected CIFAR-10 batches of 3,073-byte records');
    const n = total / 3073;
    const pixels = new Uint8Array(n * 3072);
    const labels = new Int32Array(n);
    let k = 0;
    for (const f of batches) {
      for (let at = 0; at < f.bytes.length; at += 3073, k++) {
        labels[k] = f.bytes[at]!;
        pixels.set(f.bytes.subarray(at + 1, at + 3073), k * 3072);
      }
    }
    return { pixels, labels };
  };
  return split('cifar10', 'CIFAR-10 from the picked files', records(train), records(test), [3, 32, 32], CIFAR10_CLASS_NAMES, null);
}

/** Picked files: a CIFAR-10 archive (.tar.gz), its .bin batches, or four IDX files. */
export async function pickedDataset(files: PickedFile[]): Promise<LabDataset> {
  if (files.length === 0) throw new ConvnetError('lab', 'expected files: a CIFAR-10 archive, its .bin files, or four IDX files');
  const archive = files.find((f) => /\.(tar\.gz|tgz|tar)$/.test(f.name));
  if (archive !== undefined) return cifarBatches(parseTar(await gunzip(archive.bytes), archive.name));
  if (files.some((f) => f.name.endsWith('.bin'))) return cifarBatches(files);
  // Fashion-MNIST's files bear MNIST's names, so picked IDX files get the class names 0 … 9.
  return idxDataset('idx', 'IDX files from disk', files, MNIST_CLASS_NAMES, null);
}
