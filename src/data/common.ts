/**
 * Pieces shared by the dataset loaders: the Dataset shape, option checks, gunzip with clear
 * errors, and the split / scale / mean-subtraction step that turns raw pixels into NCHW tensors.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ConvnetError, fail, show } from '../errors.js';
import { allocate, type DType, type Tensor } from '../tensor.js';
import { integer } from '../validate.js';

/**
 * A dataset split the way CS231n's notebooks use it. X tensors are NCHW (N, C, H, W) in the
 * dataset's dtype; y are Int32Array class labels in [0, numClasses).
 */
export interface Dataset {
  XTrain: Tensor;
  yTrain: Int32Array;
  XVal: Tensor;
  yVal: Int32Array;
  XTest: Tensor;
  yTest: Int32Array;
  /** The number of classes (10 for every loader here). */
  numClasses: number;
  /** [C, H, W] of one image, e.g. [3, 32, 32] for CIFAR-10, [1, 28, 28] for MNIST. */
  inputDim: [number, number, number];
  /** One human-readable name per class label. */
  classNames: string[];
  /** Each stored pixel value (0..255) was multiplied by this before the mean was subtracted. */
  scale: number;
  /**
   * The mean training image (shape [C, H, W], in the dataset's dtype and scale) that was
   * subtracted from every split; absent when mean subtraction was switched off.
   */
  meanImage?: Tensor;
}

/** True when the buffer starts with the gzip magic bytes 1f 8b. */
export function isGzip(buffer: Uint8Array): boolean {
  return buffer.length >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
}

/** Gunzips when the buffer starts with 1f 8b; otherwise returns it unchanged. */
export function maybeGunzip(fn: string, buffer: Uint8Array, fileName: string): Buffer {
  const buf = Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (!isGzip(buf)) return buf;
  try {
    // The default output cap (buffer.kMaxLength) is far above any dataset here.
    return gunzipSync(buf);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConvnetError(
      fn,
      `${fileName} is not a valid gzip file (${reason}); it is probably truncated or corrupt (compressed size ${buf.length} bytes): download it again`,
    );
  }
}

/** Reads a file, turning a missing or unreadable file into a ConvnetError with `hint`. */
export function readFileOrFail(fn: string, path: string, hint: string): Buffer {
  if (!existsSync(path)) throw new ConvnetError(fn, `cannot find ${path}. ${hint}`);
  try {
    return readFileSync(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConvnetError(fn, `cannot read ${path} (${reason}). ${hint}`);
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Rejects option objects that are not objects or that carry unknown keys (typos). */
export function checkOptions(fn: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail(fn, 'options to be an object', show(options));
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new ConvnetError(fn, `unknown option ${show(key)}; the options are ${known.join(', ')}`);
    }
  }
  return options as Record<string, unknown>;
}

export function checkDtypeOption(fn: string, value: unknown): DType {
  if (value === undefined) return 'float32';
  if (value !== 'float32' && value !== 'float64') fail(fn, "dtype 'float32' or 'float64'", show(value));
  return value;
}

export function checkBoolean(fn: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(fn, `${name} to be true or false`, show(value));
  return value;
}

export function checkScale(fn: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(fn, 'scale to be a positive finite number', show(value));
  }
  return value;
}

export interface SplitSizes {
  numTraining: number;
  numValidation: number;
  numTest: number;
}

/**
 * Resolves numTraining / numValidation / numTest against what the files hold. Explicit values
 * are checked strictly; defaults keep the official proportions on smaller sets of files:
 * numValidation defaults to min(fullValidation, floor(available * fullValidation / fullAvailable))
 * (at least 1 when there are 2 or more images), numTraining to the rest, numTest to every test image.
 */
export function resolveSplit(
  fn: string,
  opts: Record<string, unknown>,
  available: number,
  availableTest: number,
  full: { available: number; validation: number },
): SplitSizes {
  let numValidation: number;
  if (opts.numValidation !== undefined) {
    numValidation = integer(fn, 'numValidation', opts.numValidation, 0);
  } else {
    numValidation = Math.min(full.validation, Math.floor((available * full.validation) / full.available));
    if (numValidation === 0 && available >= 2) numValidation = 1;
  }
  let numTraining: number;
  if (opts.numTraining !== undefined) {
    numTraining = integer(fn, 'numTraining', opts.numTraining, 1);
    if (opts.numValidation === undefined) numValidation = Math.min(numValidation, Math.max(0, available - numTraining));
  } else {
    numTraining = available - numValidation;
  }
  if (numTraining < 1 || numTraining + numValidation > available) {
    throw new ConvnetError(
      fn,
      `expected numTraining + numValidation <= ${available} (the training images in the files) with numTraining >= 1, got numTraining ${numTraining} + numValidation ${numValidation}`,
    );
  }
  const numTest = opts.numTest === undefined ? availableTest : integer(fn, 'numTest', opts.numTest, 0);
  if (numTest > availableTest) {
    throw new ConvnetError(fn, `expected numTest <= ${availableTest} (the test images in the files), got ${numTest}`);
  }
  return { numTraining, numValidation, numTest };
}

/** Raw images, one after the other: `count` images of `imageSize` values each. */
export interface RawImages {
  pixels: Uint8Array | Float32Array | Float64Array;
  labels: Int32Array;
}

export interface SplitSpec {
  source: RawImages;
  /** Image indices into source, in output order. */
  indices: ArrayLike<number>;
}

/** [start, start + 1, …, start + count - 1]. */
export function range(start: number, count: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = start + i;
  return out;
}

/**
 * Builds the three splits as NCHW tensors: value = pixel * scale - mean (mean of the training
 * split, in float64, when subtractMean), rounded once into the dtype.
 */
export function assemble(args: {
  train: SplitSpec;
  val: SplitSpec;
  test: SplitSpec;
  inputDim: [number, number, number];
  dtype: DType;
  scale: number;
  subtractMean: boolean;
  classNames: string[];
}): Dataset {
  const { inputDim, dtype, scale, subtractMean, classNames } = args;
  const D = inputDim[0] * inputDim[1] * inputDim[2];
  // Each image is first copied into a Float64Array row (TypedArray.set converts), so the hot
  // loops below always see the same array types and stay fast whatever the source type.
  const row = new Float64Array(D);
  let mean: Float64Array | undefined;
  if (subtractMean) {
    mean = new Float64Array(D);
    const { pixels } = args.train.source;
    const idx = args.train.indices;
    for (let k = 0; k < idx.length; k++) {
      const base = idx[k]! * D;
      row.set(pixels.subarray(base, base + D));
      accumulate(mean, row, D);
    }
    const factor = idx.length > 0 ? scale / idx.length : 0;
    for (let j = 0; j < D; j++) mean[j] *= factor;
  }
  const build = (spec: SplitSpec): { X: Tensor; y: Int32Array } => {
    const { pixels, labels } = spec.source;
    const idx = spec.indices;
    const n = idx.length;
    const data = allocate(dtype, n * D);
    const y = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = idx[k]!;
      y[k] = labels[i]!;
      const src = i * D;
      const dst = k * D;
      row.set(pixels.subarray(src, src + D));
      if (data instanceof Float32Array) fill32(data, dst, row, mean, scale, D);
      else fill64(data, dst, row, mean, scale, D);
    }
    return { X: { shape: [n, ...inputDim], data, dtype }, y };
  };
  const train = build(args.train);
  const val = build(args.val);
  const test = build(args.test);
  const dataset: Dataset = {
    XTrain: train.X,
    yTrain: train.y,
    XVal: val.X,
    yVal: val.y,
    XTest: test.X,
    yTest: test.y,
    numClasses: classNames.length,
    inputDim: [...inputDim],
    classNames: [...classNames],
    scale,
  };
  if (mean !== undefined) {
    const meanData = allocate(dtype, D);
    meanData.set(mean);
    dataset.meanImage = { shape: [...inputDim], data: meanData, dtype };
  }
  return dataset;
}

function accumulate(sum: Float64Array, row: Float64Array, D: number): void {
  for (let j = 0; j < D; j++) sum[j] += row[j]!;
}

// Two copies of the same loop, one per output type, so that each stays monomorphic.
function fill32(out: Float32Array, dst: number, row: Float64Array, mean: Float64Array | undefined, scale: number, D: number): void {
  if (mean === undefined) for (let j = 0; j < D; j++) out[dst + j] = row[j]! * scale;
  else for (let j = 0; j < D; j++) out[dst + j] = row[j]! * scale - mean[j]!;
}

function fill64(out: Float64Array, dst: number, row: Float64Array, mean: Float64Array | undefined, scale: number, D: number): void {
  if (mean === undefined) for (let j = 0; j < D; j++) out[dst + j] = row[j]! * scale;
  else for (let j = 0; j < D; j++) out[dst + j] = row[j]! * scale - mean[j]!;
}
