/**
 * CIFAR-10 from the official binary version: `cifar-10-binary.tar.gz` read directly (gzip +
 * tar, files under cifar-10-batches-bin/), or the extracted .bin files. Each record is 3073
 * bytes: a label byte, then 1024 red, 1024 green and 1024 blue bytes of a 32×32 image in
 * row-major order, which is exactly one image of an NCHW tensor.
 */
import { basename, join } from 'node:path';
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
  type RawImages,
} from './common.js';
import { iterateTar } from './tar.js';

export interface Cifar10Options {
  /**
   * Training images: the first numTraining of the 50,000 in data_batch_1..5. Default 49,000
   * (on a smaller set of files: every image not used for validation).
   */
  numTraining?: number;
  /**
   * Validation images, taken from the END of the training files (images 49,000..49,999 by
   * default, CS231n's split), so changing numTraining never changes the validation set.
   * Default 1,000 (on a smaller set of files: 2% of the training images, at least 1).
   */
  numValidation?: number;
  /** Test images: the first numTest of test_batch.bin. Default: all (10,000). */
  numTest?: number;
  /** Subtract the mean training image from every split (CS231n does). Default true. */
  subtractMean?: boolean;
  /**
   * Multiplier applied to the raw bytes before mean subtraction. Default 1: CS231n keeps the
   * raw 0..255 pixel values (minus the mean image); use 1/255 for [0, 1] pixels.
   */
  scale?: number;
  /**
   * Element type of the X tensors. Default 'float32': half the memory of float64 (the full set
   * is 600 MB as float32) and faster training; use 'float64' for gradient checks.
   */
  dtype?: DType;
}

export const CIFAR10_CLASS_NAMES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

const RECORD = 3073;
const IMAGE = 3072;
const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
const TEST_FILE = 'test_batch.bin';
const FOLDER = 'cifar-10-batches-bin';
const ARCHIVE = 'cifar-10-binary.tar.gz';
const OPTION_KEYS = ['numTraining', 'numValidation', 'numTest', 'subtractMean', 'scale', 'dtype'];

export const CIFAR10_HINT =
  'Get the binary version of CIFAR-10 (cifar-10-binary.tar.gz, about 162 MB, from https://www.cs.toronto.edu/~kriz/cifar.html) ' +
  'and pass the archive itself or the folder it extracts to (cifar-10-batches-bin/) as the path (--data PATH on the command line).';

interface BatchFile {
  /** How errors name the file. */
  display: string;
  /** Added to record offsets in errors when the file lives inside an archive. */
  archiveNote: (offset: number) => string;
  data: Uint8Array;
}

function fromArchive(fn: string, archivePath: string): Map<string, BatchFile> {
  const buffer = readFileOrFail(fn, archivePath, CIFAR10_HINT);
  const found = new Map<string, BatchFile>();
  const wanted = new Set([...TRAIN_FILES, TEST_FILE]);
  for (const entry of iterateTar(buffer, archivePath)) {
    const base = entry.name.split('/').pop() ?? entry.name;
    if (!wanted.has(base)) continue;
    // Prefer the official folder when an archive holds the name twice.
    const previous = found.get(base);
    if (previous !== undefined && !entry.name.startsWith(`${FOLDER}/`)) continue;
    const dataOffset = entry.dataOffset;
    found.set(base, {
      display: `${archivePath} (member ${entry.name})`,
      archiveNote: (offset) => ` (byte offset ${dataOffset + offset} of the uncompressed tar)`,
      data: entry.data,
    });
  }
  const missing = [...wanted].filter((name) => !found.has(name));
  if (missing.length > 0) {
    throw new ConvnetError(
      fn,
      `${archivePath} does not hold ${missing.join(', ')} (expected ${FOLDER}/data_batch_1.bin … data_batch_5.bin and test_batch.bin, the CIFAR-10 binary version). ${CIFAR10_HINT}`,
    );
  }
  return found;
}

function fromDirectory(fn: string, dir: string): Map<string, BatchFile> {
  const candidates = [dir, join(dir, FOLDER)];
  const found = new Map<string, BatchFile>();
  const missing: string[] = [];
  const anyBin = candidates.some((d) => [...TRAIN_FILES, TEST_FILE].some((name) => isFile(join(d, name))));
  if (!anyBin) {
    // A folder holding the downloaded archive works too.
    if (isFile(join(dir, ARCHIVE))) return fromArchive(fn, join(dir, ARCHIVE));
    throw new ConvnetError(fn, `cannot find the CIFAR-10 batch files (data_batch_1.bin … data_batch_5.bin, test_batch.bin) or ${ARCHIVE} in ${dir} or ${join(dir, FOLDER)}. ${CIFAR10_HINT}`);
  }
  for (const name of [...TRAIN_FILES, TEST_FILE]) {
    const path = candidates.map((d) => join(d, name)).find(isFile);
    if (path === undefined) {
      missing.push(name);
      continue;
    }
    found.set(name, { display: path, archiveNote: () => '', data: readFileOrFail(fn, path, CIFAR10_HINT) });
  }
  if (missing.length > 0) {
    throw new ConvnetError(fn, `cannot find ${missing.map((m) => join(dir, m)).join(', ')} (looked in ${candidates.join(' and ')}). ${CIFAR10_HINT}`);
  }
  return found;
}

/** Checks the records of one batch file and returns how many it holds. */
function checkBatch(fn: string, file: BatchFile): number {
  const { data } = file;
  if (data.length === 0) throw new ConvnetError(fn, `${file.display} is empty (expected records of ${RECORD} bytes)`);
  if (data.length % RECORD !== 0) {
    const start = data.length - (data.length % RECORD);
    throw new ConvnetError(
      fn,
      `${file.display} is truncated or corrupt: ${data.length} bytes is not a multiple of the ${RECORD}-byte record size; record ${start / RECORD} starting at byte offset ${start}${file.archiveNote(start)} has only ${data.length - start} bytes`,
    );
  }
  const count = data.length / RECORD;
  for (let r = 0; r < count; r++) {
    const label = data[r * RECORD]!;
    if (label > 9) {
      throw new ConvnetError(
        fn,
        `${file.display} has label ${label} in record ${r} at byte offset ${r * RECORD}${file.archiveNote(r * RECORD)}; CIFAR-10 labels are 0..9 (is this the CIFAR-100 or a corrupt file?)`,
      );
    }
  }
  return count;
}

/** Concatenates the images and labels of batch files. */
function gather(files: BatchFile[], counts: number[]): RawImages {
  const total = counts.reduce((a, b) => a + b, 0);
  const pixels = new Uint8Array(total * IMAGE);
  const labels = new Int32Array(total);
  let n = 0;
  files.forEach((file, f) => {
    for (let r = 0; r < counts[f]!; r++, n++) {
      const at = r * RECORD;
      labels[n] = file.data[at]!;
      pixels.set(file.data.subarray(at + 1, at + RECORD), n * IMAGE);
    }
  });
  return { pixels, labels };
}

/**
 * Loads CIFAR-10. `path` is `cifar-10-binary.tar.gz` (read directly), a folder holding the
 * extracted .bin files (directly or in cifar-10-batches-bin/), or a folder holding the archive.
 * X tensors are (N, 3, 32, 32) with channels R, G, B.
 */
export function loadCifar10(path: string, options: Cifar10Options = {}): Dataset {
  const fn = 'loadCifar10';
  if (typeof path !== 'string' || path === '') {
    throw new ConvnetError(fn, `expected the path of ${ARCHIVE} or of the folder of its .bin files, got ${String(path)}. ${CIFAR10_HINT}`);
  }
  const opts = checkOptions(fn, options, OPTION_KEYS);
  const dtype = checkDtypeOption(fn, opts.dtype);
  const scale = checkScale(fn, opts.scale, 1);
  const subtractMean = checkBoolean(fn, 'subtractMean', opts.subtractMean, true);

  let files: Map<string, BatchFile>;
  if (isDirectory(path)) {
    files = fromDirectory(fn, path);
  } else if (isFile(path)) {
    const name = basename(path);
    if (/\.bin$/.test(name)) {
      throw new ConvnetError(fn, `${path} is a single batch file; pass the folder holding data_batch_1.bin … data_batch_5.bin and test_batch.bin, or ${ARCHIVE}`);
    }
    files = fromArchive(fn, path);
  } else {
    throw new ConvnetError(fn, `cannot find ${path}. ${CIFAR10_HINT}`);
  }

  const trainFiles = TRAIN_FILES.map((name) => files.get(name)!);
  const testFile = files.get(TEST_FILE)!;
  const trainCounts = trainFiles.map((file) => checkBatch(fn, file));
  const testCount = checkBatch(fn, testFile);
  const available = trainCounts.reduce((a, b) => a + b, 0);
  const split = resolveSplit(fn, opts, available, testCount, { available: 50000, validation: 1000 });

  const train = gather(trainFiles, trainCounts);
  const test = gather([testFile], [testCount]);
  return assemble({
    train: { source: train, indices: range(0, split.numTraining) },
    val: { source: train, indices: range(available - split.numValidation, split.numValidation) },
    test: { source: test, indices: range(0, split.numTest) },
    inputDim: [3, 32, 32],
    dtype,
    scale,
    subtractMean,
    classNames: [...CIFAR10_CLASS_NAMES],
  });
}

