/**
 * `convnet train`: load a dataset, build a model, train it with the Solver behind a progress
 * bar, then report accuracies and write the output folder:
 *   model.safetensors          the best-validation model, with its preprocessing and class names
 *                              (convnet predict / evaluate / info read it)
 *   checkpoint.safetensors     the whole training state, written atomically after every epoch
 *                              and on Ctrl-C: `convnet train --resume DIR` continues exactly
 *   metrics.json               final accuracies, loss and accuracy histories, images/s, resident memory per check, options
 *   training.png, .svg         loss per iteration (top) and train/val accuracy per epoch (bottom)
 *   filters.png                the first layer's filters (conv models)
 *   confusion.png, mistakes.png, activations.png   the test split: see ./pictures.ts
 * Files are replaced atomically, so a crash or a kill leaves the previous version or the new one.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Dataset, ImageFolderDataset } from '../data/index.js';
import { FOLDER_SPLIT_SEED, loadNamedDataset, type DatasetName, type FolderDatasetOptions } from './datasets.js';
import { ConvNet } from '../models/spec.js';
import { FullyConnectedNet } from '../models/fullyConnectedNet.js';
import { ThreeLayerConvNet } from '../models/threeLayerConvNet.js';
import type { Network } from '../models/network.js';
import { writeFileAtomic } from '../io/atomic.js';
import { saveModel } from '../io/files.js';
import type { ModelInfo } from '../io/model.js';
import { decodeCheckpoint } from '../train/checkpoint.js';
import { composeAugmentations, randomAffine, randomFlip, randomShift, Solver, type Augmentation, type LrSchedule, type UpdateRuleName } from '../train/index.js';
import type { Json } from '../nn/module.js';
import type { DType, Tensor } from '../tensor.js';
import { CONVNET_VERSION } from '../version.js';
import { writeFilters, writeTestPictures, writeTrainingChart } from './pictures.js';
import { provenance } from './provenance.js';

export interface TrainCommandOptions {
  dataset: DatasetName;
  data?: string;
  /** --dataset folder only (see FolderDatasetOptions): the picture size, channels and resizing. */
  size?: number;
  channels?: 1 | 3;
  resize?: 'bilinear' | 'crop';
  valFraction?: number;
  testFraction?: number;
  skipBadImages?: boolean;
  /** false: --no-cache. */
  cache?: boolean;
  cacheDir?: string;
  model: string;
  epochs: number;
  batchSize: number;
  update: 'sgd' | 'momentum' | 'rmsprop' | 'adam';
  lr: number;
  lrDecay: number;
  /** How the learning rate changes: see SolverOptions.lrSchedule. */
  schedule: LrSchedule;
  /** Epochs of linear learning-rate warm-up. */
  warmup: number;
  /** --schedule step: epochs between two --lr-decay factors. */
  stepEpochs: number;
  /** Decoupled (AdamW) weight decay λ. */
  weightDecay: number;
  labelSmoothing: number;
  reg: number;
  numTrain?: number;
  seed: number;
  shift: number;
  flip: boolean;
  /** Random rotation of training images by up to ± this many degrees (bilinear). */
  rotate: number;
  /** Random scaling of training images by a factor in [1 − scale, 1 + scale] (bilinear). */
  scale: number;
  dtype: DType;
  out: string;
  progress: boolean;
}

/** Where `convnet train` keeps its checkpoint in the output folder. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const MODEL_FILE = 'model.safetensors';

/** The options a checkpoint records: everything that defines the run (not where it prints). */
type RunOptions = Omit<TrainCommandOptions, 'progress' | 'out'>;

/** What runs from before an option existed did: a checkpoint without the option resumes with it. */
export const RUN_OPTION_DEFAULTS: Pick<RunOptions, 'schedule' | 'warmup' | 'stepEpochs' | 'weightDecay' | 'labelSmoothing' | 'rotate' | 'scale'> = {
  schedule: 'exp',
  warmup: 0,
  stepEpochs: 1,
  weightDecay: 0,
  labelSmoothing: 0,
  rotate: 0,
  scale: 0,
};

/**
 * The options of the run a checkpoint in `dir` belongs to, with `epochs` replaced when given:
 * `convnet train --resume DIR [--epochs N]`.
 */
export function resumeOptions(dir: string, epochs: number | undefined, progress: boolean): { options: TrainCommandOptions; checkpoint: Uint8Array } {
  const path = join(resolve(dir), CHECKPOINT_FILE);
  if (!existsSync(path)) throw new UsageError(`--resume ${dir}: no ${CHECKPOINT_FILE} there (convnet train writes one to --out after every epoch)`);
  const bytes = readFileSync(path);
  const { extra } = decodeCheckpoint(bytes, path);
  const saved = (extra as { cli?: RunOptions } | null)?.cli;
  if (saved === undefined || saved === null || typeof saved !== 'object') throw new UsageError(`--resume ${dir}: ${path} was not written by convnet train (no command-line options in it)`);
  return { options: { ...RUN_OPTION_DEFAULTS, ...saved, ...(epochs === undefined ? {} : { epochs }), out: dir, progress }, checkpoint: bytes };
}

/** Makes sure --out is a folder convnet can write, before any training time is spent. */
function prepareOutDir(out: string): string {
  const dir = resolve(out);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--out ${out} is a file, not a folder: choose a folder for the results`);
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.convnet-write-test-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    throw new UsageError(`--out ${out} cannot be written (${code}): choose a folder you can write to`);
  }
  return dir;
}

/** An error the CLI prints as one line (no stack) before exiting non-zero. */
export class UsageError extends Error {}

/** The first `count` training images. */
function firstImages(X: Tensor, y: Int32Array, count: number): { X: Tensor; y: Int32Array } {
  const per = X.data.length / X.shape[0]!;
  return { X: { shape: [count, ...X.shape.slice(1)], data: X.data.slice(0, count * per), dtype: X.dtype }, y: y.slice(0, count) };
}

function modelFor(options: TrainCommandOptions, data: Dataset): Network {
  const common = { numClasses: data.numClasses, reg: options.reg, dtype: options.dtype, seed: options.seed };
  if (options.model === 'three-layer') {
    // CS231n's fixed weightScale (1e-3) suits raw 0..255 CIFAR bytes; He initialisation
    // (√(2 / fan-in) per layer) learns at once on any input scale (96% after one MNIST epoch).
    return new ThreeLayerConvNet({ ...common, inputDim: data.inputDim, weightScale: 'he' });
  }
  if (options.model === 'fc') return new FullyConnectedNet({ ...common, hiddenDims: [256, 128], inputDim: data.inputDim, weightScale: 'he' });
  return new ConvNet({ ...common, spec: options.model, inputDim: data.inputDim });
}

const UPDATE_RULES: Record<TrainCommandOptions['update'], UpdateRuleName> = {
  sgd: 'sgd',
  momentum: 'sgd_momentum',
  rmsprop: 'rmsprop',
  adam: 'adam',
};


const FOLDER_FLAGS: Array<[keyof TrainCommandOptions, string]> = [
  ['size', '--size'],
  ['channels', '--channels'],
  ['resize', '--resize'],
  ['valFraction', '--val-fraction'],
  ['testFraction', '--test-fraction'],
  ['skipBadImages', '--skip-bad-images'],
  ['cacheDir', '--cache-dir'],
];

/** The dataset, and for a folder of pictures a progress bar while it decodes and a line on what it read. */
async function loadTrainingData(options: TrainCommandOptions, print: (line: string) => void): Promise<Dataset> {
  if (options.dataset !== 'folder') {
    const given = FOLDER_FLAGS.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag);
    if (options.cache === false) given.push('--no-cache');
    if (given.length > 0) throw new UsageError(`${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to --dataset folder only, not to ${options.dataset}`);
    return loadNamedDataset(options.dataset, options.data, options.dtype);
  }
  const started = performance.now();
  const bar = options.progress
    ? new cliProgress.SingleBar({ format: 'decoding images |{bar}| {value}/{total} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
    : null;
  const folderOptions: FolderDatasetOptions = {
    ...Object.fromEntries(FOLDER_FLAGS.filter(([key]) => options[key] !== undefined).map(([key]) => [key, options[key]])),
    ...(options.cache === false ? { cache: false } : {}),
    onProgress: (done, total) => {
      if (bar === null) return;
      if (done === 0 || !bar.isActive) bar.start(total, done);
      else bar.update(done);
    },
    onWarning: (message) => {
      bar?.stop();
      console.warn(`convnet: warning: ${message}`);
    },
  };
  let data: ImageFolderDataset;
  try {
    data = (await loadNamedDataset('folder', options.data, options.dtype, folderOptions)) as ImageFolderDataset;
  } finally {
    bar?.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const count = data.files.train.length + data.files.val.length + data.files.test.length;
  const split = data.layout === 'splits' ? 'split by its train/ val/ test/ folders' : `split per class by seed ${FOLDER_SPLIT_SEED}`;
  const skipped = data.skipped.length > 0 ? `, ${data.skipped.length} bad file${data.skipped.length === 1 ? '' : 's'} skipped` : '';
  const how = data.cache.hit
    ? `read from the cache ${data.cache.path} in ${seconds.toFixed(2)} s`
    : `decoded in ${seconds.toFixed(1)} s (${Math.round(data.decoded / seconds)} images/s, ${data.workers} worker${data.workers === 1 ? '' : 's'})${data.cache.path === null ? '' : `, cached in ${data.cache.path}`}`;
  print(`images: ${count} of ${data.classNames.length} classes (${data.classNames.join(', ')}) from ${options.data}, ${split}${skipped}; ${data.inputDim.join('×')} (${options.resize ?? 'bilinear'}); ${how}`);
  return data;
}

/** What a model file records of a folder dataset, so that evaluate loads it the same way. */
function folderRecord(options: TrainCommandOptions, data: ImageFolderDataset): Json {
  return {
    size: [data.inputDim[1], data.inputDim[2]],
    channels: data.inputDim[0],
    resize: options.resize ?? 'bilinear',
    layout: data.layout,
    splitSeed: FOLDER_SPLIT_SEED,
    valFraction: options.valFraction ?? null,
    testFraction: options.testFraction ?? null,
    skipBadImages: options.skipBadImages === true,
    skipped: data.skipped.map((s) => s.file),
    cache: options.cache !== false,
    cacheDir: options.cacheDir === undefined ? null : resolve(options.cacheDir),
  };
}

/** The augmentation and schedule of a run, as the first line shows them ('' for none). */
function recipe(options: TrainCommandOptions): string {
  const parts: string[] = [];
  if (options.schedule !== 'exp') parts.push(`${options.schedule} schedule${options.schedule === 'step' ? ` (×${options.lrDecay} every ${options.stepEpochs} epochs)` : ''}`);
  else if (options.lrDecay !== 1) parts.push(`lr ×${options.lrDecay} per epoch`);
  if (options.warmup > 0) parts.push(`${options.warmup} warm-up epoch${options.warmup === 1 ? '' : 's'}`);
  if (options.weightDecay > 0) parts.push(`weight decay ${options.weightDecay} (decoupled)`);
  if (options.labelSmoothing > 0) parts.push(`label smoothing ${options.labelSmoothing}`);
  if (options.rotate > 0) parts.push(`rotate ±${options.rotate}°`);
  if (options.scale > 0) parts.push(`scale ±${options.scale}`);
  if (options.shift > 0) parts.push(`shift ±${options.shift}`);
  if (options.flip) parts.push('flips');
  return parts.map((p) => `, ${p}`).join('');
}

/**
 * The accuracy check whose parameters the Solver kept: the first with the highest validation
 * accuracy (a later tie does not replace it), as an epoch count and an iteration.
 */
export function bestCheck(valAccHistory: readonly number[], checkIterations: readonly number[], iterationsPerEpoch: number): { epoch: number; iteration: number } {
  let index = 0;
  for (let i = 1; i < valAccHistory.length; i++) if (valAccHistory[i]! > valAccHistory[index]!) index = i;
  const iteration = checkIterations[index] ?? 0;
  return { epoch: Math.floor(iteration / iterationsPerEpoch), iteration };
}

export interface TrainSummary {
  trainAcc: number;
  valAcc: number;
  testAcc: number;
  imagesPerSecond: number;
  wallTimeSeconds: number;
  outDir: string;
  /** True when Ctrl-C stopped training before the end (a checkpoint was written). */
  stopped: boolean;
  iterations: number;
}

export async function runTrain(options: TrainCommandOptions, print: (line: string) => void = console.log, resume?: Uint8Array): Promise<TrainSummary> {
  const started = performance.now();
  if (options.shift < 0) throw new UsageError(`--shift must be a whole number >= 0, got ${options.shift}`);
  if (!(options.rotate >= 0 && options.rotate <= 180)) throw new UsageError(`--rotate must be a number of degrees from 0 to 180, got ${options.rotate}`);
  if (!(options.scale >= 0 && options.scale < 1)) throw new UsageError(`--scale must be a fraction in [0, 1), got ${options.scale}`);
  if (!(options.labelSmoothing >= 0 && options.labelSmoothing < 1)) throw new UsageError(`--label-smoothing must be a number in [0, 1), got ${options.labelSmoothing}`);
  if (options.warmup > options.epochs) throw new UsageError(`--warmup ${options.warmup} is more than the ${options.epochs} epochs`);
  const outDir = prepareOutDir(options.out);
  const data = await loadTrainingData(options, print);
  const folder = 'layout' in data ? (data as ImageFolderDataset) : undefined;
  let train = { X: data.XTrain, y: data.yTrain };
  if (options.numTrain !== undefined) {
    if (options.numTrain > data.yTrain.length) {
      throw new UsageError(`--num-train ${options.numTrain} is more than the ${data.yTrain.length} training images of ${options.dataset}`);
    }
    train = firstImages(data.XTrain, data.yTrain, options.numTrain);
  }
  const model = modelFor(options, data);
  const describe = model instanceof ConvNet ? model.describe() : options.model;
  print(`convnet train: ${options.dataset} (${train.y.length} train, ${data.yVal.length} val, ${data.yTest.length} test, ${data.inputDim.join('×')}), model ${describe}, ${options.update} lr ${options.lr}, ${options.epochs} epochs of batch ${options.batchSize}, ${options.dtype}, seed ${options.seed}${recipe(options)}`);
  print(model.summary());

  const bar = options.progress
    ? new cliProgress.SingleBar(
        {
          format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} iterations | loss {loss} | {ips} img/s | ETA {eta_formatted}',
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const augmentations: Augmentation[] = [];
  // Rotation and scaling before the shift, so a shift never moves pixels out of the rotated frame first.
  if (options.rotate > 0 || options.scale > 0) augmentations.push(randomAffine(options.rotate, options.scale));
  if (options.shift > 0) augmentations.push(randomShift(options.shift));
  if (options.flip) augmentations.push(randomFlip());
  let imagesPerSecondSum = 0;
  let iterationsSeen = 0;
  const { out: _out, progress: _progress, ...runOptions } = options;
  const checkpointPath = join(outDir, CHECKPOINT_FILE);
  const rssMiBHistory: number[] = [];
  const solver = new Solver(model, { XTrain: train.X, yTrain: train.y, XVal: data.XVal, yVal: data.yVal }, {
    ...(resume === undefined ? {} : { resume }),
    checkpointExtra: { cli: runOptions as unknown as Json },
    onCheckpoint: (bytes) => writeFileAtomic(checkpointPath, bytes),
    updateRule: UPDATE_RULES[options.update],
    optimConfig: { learningRate: options.lr },
    lrDecay: options.lrDecay,
    lrSchedule: options.schedule,
    warmupEpochs: options.warmup,
    stepEpochs: options.stepEpochs,
    weightDecay: options.weightDecay,
    labelSmoothing: options.labelSmoothing,
    batchSize: options.batchSize,
    numEpochs: options.epochs,
    numTrainSamples: 1000,
    verbose: false,
    seed: options.seed,
    ...(augmentations.length > 0 ? { augment: composeAugmentations(...augmentations) } : {}),
    onIteration: (r) => {
      imagesPerSecondSum += r.imagesPerSecond;
      iterationsSeen++;
      if (bar) {
        if (r.iteration === 1) bar.start(r.numIterations, 0, { epoch: r.epoch, epochs: r.numEpochs, loss: '-', ips: '-' });
        bar.update(r.iteration, { epoch: r.epoch, epochs: r.numEpochs, loss: r.loss.toFixed(4), ips: Math.round(r.imagesPerSecond) });
      }
    },
    onEpoch: (r) => {
      // Resident memory at each check, so that growth over a run is visible (npm run bench's memory row reads it).
      rssMiBHistory.push(Math.round((process.memoryUsage().rss / 2 ** 20) * 10) / 10);
      const line = `epoch ${r.epoch}/${r.numEpochs} (iteration ${r.iteration}/${r.numIterations}): train acc ${r.trainAcc.toFixed(4)}, val acc ${r.valAcc.toFixed(4)}${r.improved ? ' (best)' : ''}, ${(r.elapsedMs / 1000).toFixed(1)} s`;
      if (bar) bar.stop();
      print(line);
      if (bar && r.iteration < r.numIterations) bar.start(r.numIterations, r.iteration, { epoch: Math.min(r.epoch + 1, r.numEpochs), epochs: r.numEpochs, loss: '-', ips: '-' });
    },
  });
  if (resume !== undefined) print(`resuming at iteration ${solver.lossHistory.length + 1} of ${solver.numIterations} (epoch ${solver.epoch + 1})`);
  // Ctrl-C: finish the current iteration, write a checkpoint, then stop (a second Ctrl-C kills).
  const abort = (): void => solver.stop();
  process.once('SIGINT', abort);
  let stopped: boolean;
  try {
    ({ stopped } = await solver.train());
  } finally {
    process.removeListener('SIGINT', abort);
    bar?.stop();
  }

  // The Solver has put the best-validation parameters back into the model: every accuracy
  // below, the test accuracy included, and model.safetensors are those of the best check.
  const best = bestCheck(solver.valAccHistory, solver.checkIterations, solver.iterationsPerEpoch);
  const trainAcc = solver.checkAccuracy(train.X, train.y);
  const valAcc = solver.checkAccuracy(data.XVal, data.yVal);
  const testAcc = solver.checkAccuracy(data.XTest, data.yTest);
  const wallTimeSeconds = (performance.now() - started) / 1000;
  const imagesPerSecond = iterationsSeen > 0 ? imagesPerSecondSum / iterationsSeen : 0;

  const info: ModelInfo = {
    classNames: data.classNames,
    preprocessing: { scale: data.scale, ...(data.meanImage === undefined ? {} : { mean: data.meanImage }) },
    training: {
      dataset: options.dataset,
      // A folder is recorded by its absolute path, so that evaluate finds it from anywhere.
      data: options.data === undefined ? null : folder ? resolve(options.data) : options.data,
      ...(folder === undefined ? {} : { folder: folderRecord(options, folder) }),
      model: options.model,
      dtype: options.dtype,
      seed: options.seed,
      epochs: solver.epoch,
      iterations: solver.lossHistory.length,
      trainAcc,
      valAcc,
      testAcc,
      bestValAcc: solver.bestValAcc,
      date: new Date().toISOString(),
      convnetVersion: CONVNET_VERSION,
    },
  };
  await saveModel(model, join(outDir, MODEL_FILE), info);
  const metrics = {
    trainAcc,
    valAcc,
    testAcc,
    bestValAcc: solver.bestValAcc,
    imagesPerSecond,
    wallTimeSeconds,
    iterations: solver.lossHistory.length,
    lossHistory: solver.lossHistory,
    trainAccHistory: solver.trainAccHistory,
    valAccHistory: solver.valAccHistory,
    checkIterations: solver.checkIterations,
    /** Resident set size (MiB) at each check of this process (a resumed run: from its resumption). */
    rssMiBHistory,
    options: { ...options, progress: undefined },
    model: describe,
    seed: options.seed,
    /** Which parameters the final accuracies (test included) were measured with. */
    evaluated: { parameters: 'best-validation', epoch: best.epoch, iteration: best.iteration, valAcc: solver.bestValAcc },
    ...provenance(),
    date: new Date().toISOString(),
    convnetVersion: CONVNET_VERSION,
  };
  await writeFileAtomic(join(outDir, 'metrics.json'), new TextEncoder().encode(JSON.stringify(metrics, null, 2)));
  const pictures = writeTrainingChart(outDir, { lossHistory: solver.lossHistory, trainAccHistory: solver.trainAccHistory, valAccHistory: solver.valAccHistory, checkIterations: solver.checkIterations, iterationsPerEpoch: solver.iterationsPerEpoch }, `Training ${describe} on ${options.dataset}`);
  const firstConv = Object.values(model.params).find((t) => t.shape.length === 4 && t.shape[0]! > 1);
  if (firstConv) pictures.push(...writeFilters(outDir, firstConv));
  pictures.push(...writeTestPictures(outDir, { model, X: data.XTest, y: data.yTest, classNames: data.classNames, preprocessing: info.preprocessing, name: `${describe} on ${options.dataset}` }));

  print(`best-validation parameters (epoch ${best.epoch}, iteration ${best.iteration} of ${solver.numIterations}): train acc ${trainAcc.toFixed(4)}, val acc ${valAcc.toFixed(4)}, test acc ${testAcc.toFixed(4)}; ${Math.round(imagesPerSecond)} images/s, ${wallTimeSeconds.toFixed(1)} s`);
  print(`wrote ${outDir}/{${[MODEL_FILE, CHECKPOINT_FILE, 'metrics.json', ...pictures].join(',')}}`);
  if (stopped) {
    print(`stopped after iteration ${solver.lossHistory.length} of ${solver.numIterations}; ${MODEL_FILE} holds the best model so far. Resume with: convnet train --resume ${options.out}`);
  }
  return { trainAcc, valAcc, testAcc, imagesPerSecond, wallTimeSeconds, outDir, stopped, iterations: solver.lossHistory.length };
}
