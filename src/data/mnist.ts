/**
 * MNIST and Fashion-MNIST from their four IDX files (gzipped or not):
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConvnetError } from '../errors.js';
import type { DType } from '../tensor.js';
import {
  assemble,
  checkBoolean,
  checkDtypeOption,
  checkOptions,
  checkScale,
  isDirectory,
  isFile,
  range,
  readFileOrFail,
  resolveSplit,
  type Dataset,
} from './common.js';
import { readIdxImages, readIdxLabels } from './idx.js';

export interface MnistOptions {
  /**
   * Training images: the first numTraining of the training file. Default: every training image
   * not used for validation (55,000 of 60,000).
   */
  numTraining?: number;
  /**
   * Validation images, taken from the END of the training file. Default 5,000 for a
   * 60,000-image training file (1/12 of the images on other sizes, at most 5,000).
   */
  numValidation?: number;
  /** Test images: the first numTest of the t10k files. Default: all (10,000). */
  numTest?: number;
  /** Subtract the mean training image from every split. Default true. */
  subtractMean?: boolean;
  /** Multiplier applied to the raw bytes. Default 1/255: pixels in [0, 1] before mean subtraction. */
  scale?: number;
  /** Element type of the X tensors. Default 'float32'. */
  dtype?: DType;
}

/** Where Debian's `dataset-fashion-mnist` package puts the four official .gz files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
const OPTION_KEYS = ['numTraining', 'numValidation', 'numTest', 'subtractMean', 'scale', 'dtype'];

export const MNIST_HINT =
  'Put the four MNIST IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, ' +
  't10k-labels-idx1-ubyte.gz, gzipped or not) in one folder and pass it (--data PATH on the command line); ' +
  'the 10,000 MNIST digits shipped with convnet need no download (loadShippedMnist).';

export const FASHION_MNIST_HINT =
  `Install Fashion-MNIST with \`apt-get install dataset-fashion-mnist\` (Debian puts the four .gz files in ${FASHION_MNIST_DIR}), ` +
  'or put the four Fashion-MNIST IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, ' +
  't10k-labels-idx1-ubyte.gz) in one folder and pass it (--data PATH on the command line).';

/** The accepted spellings of a file name: with or without .gz, and the "train-images.idx3-ubyte" variant. */
function candidates(base: string): string[] {
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
  return [base, `${base}.gz`, dotted, `${dotted}.gz`];
}

function locate(fn: string, dir: string, hint: string): Record<keyof typeof FILES, string> {
  if (!isDirectory(dir)) {
    throw new ConvnetError(fn, `cannot find the dataset folder ${dir} (expected ${Object.values(FILES).map((b) => join(dir, `${b}.gz`)).join(', ')}). ${hint}`);
  }
  const out: Partial<Record<keyof typeof FILES, string>> = {};
  const missing: string[] = [];
  for (const [key, base] of Object.entries(FILES) as [keyof typeof FILES, string][]) {
    const path = candidates(base).map((name) => join(dir, name)).find(isFile);
    if (path === undefined) missing.push(`${join(dir, base)}[.gz]`);
    else out[key] = path;
  }
  if (missing.length > 0) {
    let present = '';
    try {
      // Name the IDX-looking files that are there, to show a misspelling.
      const names = readdirSync(dir).filter((name) => /idx|ubyte/i.test(name)).slice(0, 8);
      if (names.length > 0) present = ` (the folder holds ${names.join(', ')})`;
    } catch {
      // an unreadable folder: say nothing more
    }
    throw new ConvnetError(fn, `cannot find ${missing.join(', ')}${present}. ${hint}`);
  }
  return out as Record<keyof typeof FILES, string>;
}

function loadIdxDataset(fn: string, dir: string, options: unknown, classNames: readonly string[], hint: string): Dataset {
  if (typeof dir !== 'string' || dir === '') throw new ConvnetError(fn, `expected the folder of the IDX files, got ${String(dir)}. ${hint}`);
  const opts = checkOptions(fn, options, OPTION_KEYS);
  const dtype = checkDtypeOption(fn, opts.dtype);
  const scale = checkScale(fn, opts.scale, 1 / 255);
  const subtractMean = checkBoolean(fn, 'subtractMean', opts.subtractMean, true);
  const paths = locate(fn, dir, hint);

  const trainImages = readIdxImages(readFileOrFail(fn, paths.trainImages, hint), paths.trainImages);
  const trainLabels = readIdxLabels(readFileOrFail(fn, paths.trainLabels, hint), paths.trainLabels, classNames.length);
  const testImages = readIdxImages(readFileOrFail(fn, paths.testImages, hint), paths.testImages);
  const testLabels = readIdxLabels(readFileOrFail(fn, paths.testLabels, hint), paths.testLabels, classNames.length);
  if (trainImages.dims[0] !== trainLabels.length) {
    throw new ConvnetError(fn, `${paths.trainImages} holds ${trainImages.dims[0]} images but ${paths.trainLabels} holds ${trainLabels.length} labels`);
  }
  if (testImages.dims[0] !== testLabels.length) {
    throw new ConvnetError(fn, `${paths.testImages} holds ${testImages.dims[0]} images but ${paths.testLabels} holds ${testLabels.length} labels`);
  }
  const [, rows, cols] = trainImages.dims as [number, number, number];
  if (testImages.dims[1] !== rows || testImages.dims[2] !== cols) {
    throw new ConvnetError(fn, `${paths.trainImages} holds ${rows}×${cols} images but ${paths.testImages} holds ${testImages.dims[1]}×${testImages.dims[2]} images`);
  }
  if (rows === 0 || cols === 0) throw new ConvnetError(fn, `${paths.trainImages} holds images of size ${rows}×${cols}`);
  const available = trainLabels.length;
  const split = resolveSplit(fn, opts, available, testLabels.length, { available: 60000, validation: 5000 });
  const train = { pixels: trainImages.data, labels: trainLabels };
  const test = { pixels: testImages.data, labels: testLabels };
  return assemble({
    train: { source: train, indices: range(0, split.numTraining) },
    val: { source: train, indices: range(available - split.numValidation, split.numValidation) },
    test: { source: test, indices: range(0, split.numTest) },
    inputDim: [1, rows, cols],
    dtype,
    scale,
    subtractMean,
    classNames: [...classNames],
  });
}

/**
 * Loads MNIST from a folder holding its four IDX files (gzipped or not). X tensors are
 * (N, 1, 28, 28), pixels scaled to [0, 1] and minus the mean training image by default.
 */
export function loadMnist(dir: string, options: MnistOptions = {}): Dataset {
  return loadIdxDataset('loadMnist', dir, options, MNIST_CLASS_NAMES, MNIST_HINT);
}

/**
 * Loads Fashion-MNIST from a folder holding its four IDX files, by default where Debian's
 * dataset-fashion-mnist package installs them (/usr/share/datasets/fashion-mnist).
 */
export function loadFashionMnist(dir: string = FASHION_MNIST_DIR, options: MnistOptions = {}): Dataset {
  return loadIdxDataset('loadFashionMnist', dir, options, FASHION_MNIST_CLASS_NAMES, FASHION_MNIST_HINT);
}
