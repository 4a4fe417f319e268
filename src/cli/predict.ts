/**
 * `convnet predict MODEL IMAGE|DIR …`: the model's most likely classes for each image.
 * Images become inputs as src/cli/image.ts describes (resized to the model's input, then the
 * model file's preprocessing); they go through model.forward in test mode in batches, and a
 * softmax turns each row of scores into probabilities.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConvnetError } from '../errors.js';
import { softmax } from '../layers/activations.js';
import type { Tensor } from '../tensor.js';
import { imageToInput, readImage, sniffImage } from './image.js';
import { openModelFile } from './modelFile.js';

export interface PredictOptions {
  /** Classes to report per image. */
  top: number;
  json: boolean;
  /** Centre-crop each image to the model's aspect ratio before resizing. */
  crop: boolean;
}

export interface Prediction {
  class: number;
  /** The model file's class name, else the class index as text. */
  name: string;
  probability: number;
}

export interface ImagePrediction {
  file: string;
  predictions: Prediction[];
}

/** Images per model.forward call: bounds memory for big folders. */
const BATCH = 64;

/**
 * Files as given, and each folder's PNG and JPEG files (recognised by their first bytes, sorted
 * by name; not recursive). A folder without images is an error.
 */
export function expandImagePaths(inputs: readonly string[]): string[] {
  const files: string[] = [];
  for (const input of inputs) {
    let isFolder = false;
    try {
      isFolder = statSync(input).isDirectory();
    } catch {
      // Not there: readImage reports it with the file's name.
    }
    if (!isFolder) {
      files.push(input);
      continue;
    }
    const names = readdirSync(input).sort();
    const images = names.map((name) => join(input, name)).filter(isImageFile);
    if (images.length === 0) throw new ConvnetError('predict', `${input}: expected a folder with PNG or JPEG files, found none among its ${names.length} entries`);
    files.push(...images);
  }
  return files;
}

function isImageFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    const head = new Uint8Array(16);
    const fd = openSync(path, 'r');
    try {
      return sniffImage(head.subarray(0, readSync(fd, head, 0, head.length, 0))) !== null;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Stacks (C, H, W) tensors into one (N, C, H, W) batch. */
function stack(inputs: readonly Tensor[]): Tensor {
  const first = inputs[0]!;
  const size = first.data.length;
  const data = first.dtype === 'float32' ? new Float32Array(inputs.length * size) : new Float64Array(inputs.length * size);
  inputs.forEach((t, i) => data.set(t.data, i * size));
  return { shape: [inputs.length, ...first.shape], data, dtype: first.dtype };
}

export async function runPredict(modelPath: string, inputs: readonly string[], options: PredictOptions, print: (line: string) => void = console.log): Promise<ImagePrediction[]> {
  const { model, info } = await openModelFile(modelPath);
  const files = expandImagePaths(inputs);
  const K = Math.min(options.top, model.numClasses);
  const nameOf = (k: number): string => info.classNames?.[k] ?? String(k);
  const results: ImagePrediction[] = [];
  for (let start = 0; start < files.length; start += BATCH) {
    const batchFiles = files.slice(start, start + BATCH);
    const X = stack(
      batchFiles.map((file) =>
        imageToInput(readImage(file), { inputShape: model.inputShape, dtype: model.dtype, crop: options.crop, ...(info.preprocessing ? { preprocessing: info.preprocessing } : {}) }),
      ),
    );
    const scores = model.forward(X, { mode: 'test' }); // (N, numClasses)
    const probabilities = softmax(scores);
    const C = model.numClasses;
    batchFiles.forEach((file, i) => {
      // Ranked by score (ties: the lower class first), so the top class is argmax(scores)
      // even where float32 probabilities round to equal values.
      const order = Array.from({ length: C }, (_, k) => k).sort((a, b) => scores.data[i * C + b]! - scores.data[i * C + a]! || a - b);
      results.push({
        file,
        predictions: order.slice(0, K).map((k) => ({ class: k, name: nameOf(k), probability: probabilities.data[i * C + k]! })),
      });
    });
  }
  if (options.json) {
    print(JSON.stringify(results, null, 2));
  } else {
    const width = Math.max(...results.map((r) => r.file.length));
    for (const r of results) print(`${`${r.file}:`.padEnd(width + 1)}  ${r.predictions.map((p) => `${p.name} (${p.probability.toFixed(4)})`).join(', ')}`);
  }
  return results;
}
