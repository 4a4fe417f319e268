/**
 * `convnet evaluate MODEL`: the model's accuracy on a dataset's test split, per-class precision
 * and recall, and the confusion matrix. The dataset is the one the flags name, else the one the
 * model file says it was trained on, loaded in the model's dtype as `convnet train` loads it, so
 * the accuracy is the number train reported (Solver.checkAccuracy: batches of 100 through the
 * model in test mode, the first highest score wins).
 */
import { mkdirSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ConvnetError, show } from '../errors.js';
import type { Dataset } from '../data/index.js';
import type { Preprocessing } from '../io/model.js';
import type { Network } from '../models/network.js';
import type { Tensor } from '../tensor.js';
import { getBackend, getThreads, wasmThreadsReady, wasmVariant } from '../kernels/index.js';
import { describeDataset, isDatasetName, loadNamedDataset, type DatasetName, type FolderDatasetOptions } from './datasets.js';
import { openModelFile } from './modelFile.js';
import { writeTestPictures, type TestPictureInput } from './pictures.js';

function writeEvaluationPictures(out: string, input: TestPictureInput): string[] {
  mkdirSync(resolve(out), { recursive: true });
  return writeTestPictures(resolve(out), input);
}

export interface EvaluateOptions {
  dataset?: DatasetName;
  data?: string;
  json: boolean;
  /** A folder to write confusion.png, mistakes.png and activations.png to (created if needed). */
  out?: string;
}

export interface ClassMetrics {
  class: number;
  name: string;
  /** Of the images predicted as this class, the share that are; null when none were. */
  precision: number | null;
  /** Of the images of this class, the share predicted as it; null when there are none. */
  recall: number | null;
  /** Images of this class in the split. */
  support: number;
}

export interface EvaluateReport {
  model: string;
  dataset: DatasetName;
  /** The --data path, or null for the loader's default (the shipped digits for mnist). */
  data: string | null;
  split: 'test';
  dtype: string;
  count: number;
  correct: number;
  testAcc: number;
  classNames: string[];
  perClass: ClassMetrics[];
  /** confusion[true class][predicted class]: image counts. */
  confusion: number[][];
  /** The test accuracy the model file records, if any. */
  recordedTestAcc: number | null;
  /** Seconds the forward passes over the split took (batches of 100, test mode), and so images per second. */
  seconds: number;
  imagesPerSecond: number;
  /** Seconds spent before them starting the kernels (WebAssembly module, tile probe, worker threads); 0 on js. */
  kernelStartSeconds: number;
  /** The kernels they ran on, e.g. 'wasm (relaxed-simd), 2 threads'. */
  kernels: string;
  notes: string[];
}

/** Batch size of the accuracy pass: Solver.checkAccuracy's default. */
const BATCH = 100;

/** Which dataset and where: the flags first, then what the model file's training summary says. */
function resolveDataset(path: string, training: Record<string, unknown> | undefined, options: EvaluateOptions): { name: DatasetName; data: string | undefined; fromFile: boolean } {
  const recorded = training?.dataset;
  const recordedData = typeof training?.data === 'string' ? training.data : undefined;
  if (options.dataset === undefined && !isDatasetName(recorded)) {
    throw new ConvnetError('evaluate', `${path} does not say which dataset it was trained on${recorded === undefined ? '' : ` (it records ${show(recorded)})`}: give --dataset mnist|fashion-mnist|cifar10|folder (and --data PATH)`);
  }
  const name = options.dataset ?? (recorded as DatasetName);
  // The recorded location belongs to the recorded dataset only.
  const data = options.data ?? (name === recorded ? recordedData : undefined);
  return { name, data, fromFile: options.data === undefined && data !== undefined };
}

/**
 * A folder dataset as the model saw it: its input size and channels, and (when the model was
 * trained on a folder) the resizing, split fractions, bad-file handling and cache it recorded.
 */
function folderOptions(inputShape: readonly number[], training: Record<string, unknown> | undefined, recorded: boolean): FolderDatasetOptions {
  const [C, H, W] = inputShape as [number, number, number];
  if (inputShape.length !== 3 || (C !== 1 && C !== 3)) {
    throw new ConvnetError('evaluate', `a folder of pictures is evaluated with image models (input (C, H, W), C = 1 or 3), got input shape ${show(inputShape)}`);
  }
  const options: FolderDatasetOptions = { size: [H, W], channels: C };
  const record = recorded ? (training?.folder as Record<string, unknown> | undefined) : undefined;
  if (record === undefined || record === null || typeof record !== 'object') return options;
  if (record.resize === 'crop' || record.resize === 'bilinear') options.resize = record.resize;
  if (typeof record.valFraction === 'number') options.valFraction = record.valFraction;
  if (typeof record.testFraction === 'number') options.testFraction = record.testFraction;
  if (record.skipBadImages === true) options.skipBadImages = true;
  if (record.cache === false) options.cache = false;
  if (typeof record.cacheDir === 'string') options.cacheDir = record.cacheDir;
  return options;
}

function sameValues(a: Tensor | undefined, b: Tensor | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return show(a.shape) === show(b.shape) && a.data.every((v, i) => v === b.data[i]);
}

/**
 * The test images as the model file's preprocessing makes them. The dataset's tensors are used
 * as they are when its preprocessing is the file's (the usual case, and bit for bit what train
 * measured); otherwise its pixels are recovered, (x + mean) / scale, and preprocessed again.
 */
function testInputs(dataset: Dataset, preprocessing: Preprocessing | undefined, notes: string[]): Tensor {
  const X = dataset.XTest; // (N, C, H, W)
  if (preprocessing === undefined) {
    notes.push('the model file records no preprocessing: the dataset\'s test images are used as loaded');
    return X;
  }
  if (preprocessing.scale === dataset.scale && sameValues(preprocessing.mean, dataset.meanImage)) return X;
  notes.push(`the dataset's preprocessing (scale ${dataset.scale}, ${dataset.meanImage ? 'its own mean image' : 'no mean'}) differs from the model file's: its test images were preprocessed again as the model file says`);
  const D = X.data.length / X.shape[0]!;
  const C = X.shape[1]!;
  const P = D / C;
  const dsMean = dataset.meanImage?.data;
  const mean = preprocessing.mean?.data;
  const perChannel = mean !== undefined && mean.length === C;
  const out = X.dtype === 'float32' ? new Float32Array(X.data.length) : new Float64Array(X.data.length);
  for (let i = 0; i < X.data.length; i++) {
    const j = i % D;
    const pixel = (X.data[i]! + (dsMean ? dsMean[j]! : 0)) / dataset.scale;
    out[i] = pixel * preprocessing.scale - (mean === undefined ? 0 : perChannel ? mean[Math.floor(j / P)]! : mean[j]!);
  }
  return { shape: [...X.shape], data: out, dtype: X.dtype };
}

/** confusion[true][predicted] over the split, in batches through model.forward (test mode). */
function confusionMatrix(model: Network, X: Tensor, y: Int32Array): number[][] {
  const C = model.numClasses;
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  const N = X.shape[0]!;
  const D = X.data.length / N;
  for (let start = 0; start < N; start += BATCH) {
    const n = Math.min(BATCH, N - start);
    const batch: Tensor = { shape: [n, ...X.shape.slice(1)], data: X.data.subarray(start * D, (start + n) * D), dtype: X.dtype };
    const scores = model.forward(batch, { mode: 'test' }); // (n, C)
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (scores.data[i * C + c]! > scores.data[i * C + best]!) best = c;
      confusion[y[start + i]!]![best]!++;
    }
  }
  return confusion;
}

export async function runEvaluate(modelPath: string, options: EvaluateOptions, print: (line: string) => void = console.log): Promise<EvaluateReport> {
  const { model, info } = await openModelFile(modelPath);
  const { name, data, fromFile } = resolveDataset(modelPath, info.training, options);
  let dataset: Dataset;
  try {
    dataset = await loadNamedDataset(name, data, model.dtype, name === 'folder' ? folderOptions(model.inputShape, info.training, options.dataset === undefined || options.dataset === info.training?.dataset) : {});
  } catch (error) {
    if (error instanceof ConvnetError && fromFile) throw new ConvnetError('evaluate', `${error.message} (the location ${modelPath} records; give --data PATH for another)`);
    throw error;
  }
  const inputShape = [...model.inputShape];
  if (show(inputShape) !== show(dataset.inputDim)) {
    throw new ConvnetError('evaluate', `${modelPath} takes inputs of shape ${show(inputShape)}, but ${name} images are ${show(dataset.inputDim)}: evaluate it on the dataset it was trained for`);
  }
  if (dataset.numClasses !== model.numClasses) {
    throw new ConvnetError('evaluate', `${modelPath} has ${model.numClasses} classes, but ${name} has ${dataset.numClasses}`);
  }
  if (name === 'folder' && info.classNames !== undefined && show(info.classNames) !== show(dataset.classNames)) {
    throw new ConvnetError('evaluate', `${modelPath} knows the classes ${info.classNames.join(', ')}, but the class folders of ${data} are ${dataset.classNames.join(', ')}: evaluate it on a folder with the same class folders`);
  }
  const notes: string[] = [];
  const X = testInputs(dataset, info.preprocessing, notes);
  // The kernels' start-up (module, tile probe, worker threads) is not the model's speed: before the clock.
  const starting = performance.now();
  if (getBackend() === 'wasm') await wasmThreadsReady();
  const kernelStartSeconds = (performance.now() - starting) / 1000;
  const started = performance.now();
  const confusion = confusionMatrix(model, X, dataset.yTest);
  const seconds = (performance.now() - started) / 1000;
  const count = dataset.yTest.length;
  const imagesPerSecond = seconds > 0 ? count / seconds : Infinity;
  const kernels = `${getBackend()}${getBackend() === 'wasm' ? ` (${wasmVariant()})` : ''}, ${getThreads()} thread${getThreads() === 1 ? '' : 's'}`;
  const correct = confusion.reduce((sum, row, k) => sum + row[k]!, 0);
  const classNames = info.classNames ?? dataset.classNames;
  const perClass: ClassMetrics[] = classNames.map((className, k) => {
    const support = confusion[k]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((sum, row) => sum + row[k]!, 0);
    return { class: k, name: className, precision: predicted > 0 ? confusion[k]![k]! / predicted : null, recall: support > 0 ? confusion[k]![k]! / support : null, support };
  });
  const testAcc = correct / count;
  const recorded = info.training?.testAcc;
  const recordedTestAcc = typeof recorded === 'number' ? recorded : null;
  if (recordedTestAcc !== null && recordedTestAcc !== testAcc) {
    notes.push(`${modelPath} records test acc ${recordedTestAcc.toFixed(4)}, measured ${testAcc.toFixed(4)}`);
  }
  const report: EvaluateReport = { model: modelPath, dataset: name, data: data ?? null, split: 'test', dtype: model.dtype, count, correct, testAcc, classNames, perClass, confusion, recordedTestAcc, seconds, imagesPerSecond, kernelStartSeconds, kernels, notes };

  const pictures = options.out === undefined ? [] : writeEvaluationPictures(options.out, { model, X, y: dataset.yTest, classNames, ...(info.preprocessing === undefined ? {} : { preprocessing: info.preprocessing }), name: `${basename(modelPath)} on ${name}` });
  if (options.json) {
    print(JSON.stringify(report, null, 2));
    return report;
  }
  print(`convnet evaluate: ${modelPath} on ${describeDataset(name, data)}, test split (${count} images), ${model.dtype}`);
  print(`test acc ${testAcc.toFixed(4)} (${correct}/${count}); ${count.toLocaleString('en')} images in ${seconds.toFixed(2)} s: ${Math.round(imagesPerSecond).toLocaleString('en')} images/s (${kernels}, batches of ${BATCH}; kernels started in ${kernelStartSeconds.toFixed(2)} s before, not counted)`);
  print('');
  const fixed = (v: number | null): string => (v === null ? '-' : v.toFixed(4));
  print(table([['class', 'precision', 'recall', 'support'], ...perClass.map((m) => [m.name, fixed(m.precision), fixed(m.recall), String(m.support)])]));
  print('');
  print('confusion matrix (rows: true class, columns: predicted class)');
  print(table([['', ...classNames], ...confusion.map((row, k) => [classNames[k]!, ...row.map(String)])]));
  for (const note of notes) print(`note: ${note}`);
  if (pictures.length > 0) print(`wrote ${resolve(options.out!)}/{${pictures.join(',')}}`);
  return report;
}

/** Rows of cells as aligned text: the first column left-aligned, the others right-aligned. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}
