/**
 * `convnet visualize saliency|fooling|classes|activations MODEL …` (CS231n's network
 * visualisation on a model file) and `convnet plot metrics.json`: each writes one PNG to --out.
 * Images are read as `convnet predict` reads them (./image.ts), so a picture shows what the
 * model was given.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ConvnetError, show } from '../errors.js';
import type { Preprocessing } from '../io/model.js';
import type { Network } from '../models/network.js';
import type { Tensor } from '../tensor.js';
import { activations } from '../viz/activations.js';
import { classVisualization } from '../viz/classVisualization.js';
import type { InputBounds } from '../viz/common.js';
import { foolingImage } from '../viz/fooling.js';
import { activationsSvg, imageGridSvg, type Tile } from '../viz/pictures.js';
import { planesToRaster } from '../viz/raster.js';
import { saliencyMap } from '../viz/saliency.js';
import { imageToInput, readImage } from './image.js';
import { openModelFile } from './modelFile.js';
import { inputRaster, writeTrainingChart } from './pictures.js';
import { writePicture } from './render.js';

export interface VisualizeOptions {
  out: string;
}

function outDir(out: string): string {
  const dir = resolve(out);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Image files as the model's inputs: (N, C, H, W). */
function readInputs(model: Network, preprocessing: Preprocessing | undefined, paths: readonly string[]): Tensor {
  const inputs = paths.map((path) => imageToInput(readImage(path), { inputShape: model.inputShape, dtype: model.dtype, ...(preprocessing === undefined ? {} : { preprocessing }) }));
  const D = inputs[0]!.data.length;
  const data = model.dtype === 'float32' ? new Float32Array(D * inputs.length) : new Float64Array(D * inputs.length);
  inputs.forEach((t, n) => data.set(t.data, n * D));
  return { shape: [inputs.length, ...model.inputShape], data, dtype: model.dtype };
}

function softmax(scores: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(scores));
  const e = Array.from(scores, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function argmax(values: readonly number[]): number {
  return values.reduce((best, v, i) => (v > values[best]! ? i : best), 0);
}

/** Valid inputs for 0..255 pixels: low = −mean, high = 255·scale − mean (per element). */
function inputBounds(model: Network, preprocessing: Preprocessing | undefined): InputBounds | undefined {
  if (preprocessing === undefined) return undefined;
  const [C, H, W] = model.inputShape as [number, number, number];
  const D = C * H * W;
  const mean = preprocessing.mean?.data;
  const low = new Float64Array(D);
  const high = new Float64Array(D);
  for (let i = 0; i < D; i++) {
    const m = mean === undefined ? 0 : mean.length === C ? mean[Math.floor(i / (H * W))]! : mean[i]!;
    low[i] = -m;
    high[i] = 255 * preprocessing.scale - m;
  }
  return { low, high };
}

async function open(modelPath: string): Promise<{ model: Network; preprocessing: Preprocessing | undefined; names: string[] }> {
  const { model, info } = await openModelFile(modelPath);
  if (model.inputShape.length !== 3) throw new ConvnetError('visualize', `${modelPath} takes inputs of shape ${show(model.inputShape)}: the visualisations need an image model (C, H, W)`);
  const names = info.classNames ?? Array.from({ length: model.numClasses }, (_, k) => String(k));
  return { model, preprocessing: info.preprocessing, names };
}

/** saliency.png: each image beside its saliency map for the class the model predicts. */
export async function runSaliency(modelPath: string, images: readonly string[], options: VisualizeOptions): Promise<string> {
  const { model, preprocessing, names } = await open(modelPath);
  const X = readInputs(model, preprocessing, images);
  const scores = model.forward(X);
  const K = model.numClasses;
  const predicted = images.map((_, n) => argmax(Array.from(scores.data.subarray(n * K, (n + 1) * K))));
  const saliency = saliencyMap(model, X, predicted); // (N, H, W)
  const [, , H, W] = X.shape as [number, number, number, number];
  const P = H * W;
  const tiles: Tile[] = [];
  images.forEach((path, n) => {
    const p = softmax(scores.data.subarray(n * K, (n + 1) * K));
    tiles.push({ image: inputRaster(X, n, preprocessing), caption: [basename(path), `predicted ${names[predicted[n]!]} (${p[predicted[n]!]!.toFixed(3)})`] });
    let max = 0;
    for (let p = 0; p < P; p++) max = Math.max(max, saliency.data[n * P + p]!);
    tiles.push({ image: planesToRaster(saliency.data, n * P, 1, H, W, { colormap: 'hot', range: [0, max || 1] }), caption: ['saliency', `|∂score_${names[predicted[n]!]}/∂x|`] });
  });
  const dir = outDir(options.out);
  writePicture(dir, 'saliency', imageGridSvg(tiles, { title: `Saliency maps: ${basename(modelPath)}`, subtitle: 'max over channels of |∂ score of the predicted class / ∂ pixel|, each map scaled to its own maximum (black 0, white max)', columns: 2 * Math.min(4, images.length) }));
  return resolve(dir, 'saliency.png');
}

export interface FoolingCommandOptions extends VisualizeOptions {
  target: number;
  maxIterations: number;
  objective: 'score' | 'logProbability';
}

/** fooling.png: the image, the fooling image and their difference. */
export async function runFooling(modelPath: string, image: string, options: FoolingCommandOptions): Promise<{ path: string; success: boolean; iterations: number }> {
  const { model, preprocessing, names } = await open(modelPath);
  if (!(options.target >= 0 && options.target < model.numClasses)) throw new ConvnetError('visualize fooling', `--target must be a class index in [0, ${model.numClasses}), got ${options.target}`);
  const X = readInputs(model, preprocessing, [image]);
  const before = softmax(model.forward(X).data);
  const result = foolingImage(model, X, options.target, { maxIterations: options.maxIterations, objective: options.objective, ...(preprocessing === undefined ? {} : { clip: inputBounds(model, preprocessing)! }) });
  const after = softmax(model.forward(result.image).data);
  const [, C, H, W] = X.shape as [number, number, number, number];
  const delta = new Float64Array(C * H * W);
  let change = 0;
  let size = 0;
  let largest = 0;
  for (let i = 0; i < delta.length; i++) {
    delta[i] = result.image.data[i]! - X.data[i]!;
    change += delta[i]! ** 2;
    size += X.data[i]! ** 2;
    largest = Math.max(largest, Math.abs(delta[i]!));
  }
  const from = argmax(before);
  const to = argmax(after);
  const tiles: Tile[] = [
    { image: inputRaster(X, 0, preprocessing), caption: ['original', `predicted ${names[from]} (${before[from]!.toFixed(3)})`] },
    { image: inputRaster(result.image, 0, preprocessing), caption: ['fooling image', `predicted ${names[to]} (${after[to]!.toFixed(3)})`], color: result.success ? '#b00020' : '#222' },
    { image: planesToRaster(delta, 0, C, H, W, { range: [-largest || -1, largest || 1] }), caption: ['difference', `‖Δx‖/‖x‖ = ${Math.sqrt(change / (size || 1)).toFixed(3)}`] },
  ];
  const subtitle = `${result.success ? 'fooled' : 'not fooled'} after ${result.iterations} gradient steps towards '${names[options.target]}' (${options.objective === 'score' ? 'its score' : 'its log-probability'}); difference: grey 0, white/black ±${largest.toPrecision(2)}`;
  const dir = outDir(options.out);
  writePicture(dir, 'fooling', imageGridSvg(tiles, { title: `Fooling image: ${basename(image)} → ${names[options.target]}`, subtitle, zoom: Math.max(1, Math.round(168 / W)) }));
  return { path: resolve(dir, 'fooling.png'), success: result.success, iterations: result.iterations };
}

export interface ClassesCommandOptions extends VisualizeOptions {
  iterations: number;
  seed: number;
}

/** classes.png: one class visualisation per class. */
export async function runClasses(modelPath: string, options: ClassesCommandOptions): Promise<string> {
  const { model, preprocessing, names } = await open(modelPath);
  const bounds = inputBounds(model, preprocessing);
  const [C, H, W] = model.inputShape as [number, number, number];
  const tiles: Tile[] = names.map((name, k) => {
    const { image, scores } = classVisualization(model, k, { iterations: options.iterations, seed: options.seed, ...(bounds === undefined ? {} : { clip: bounds }) });
    const p = softmax(scores);
    return { image: planesToRaster(image.data, 0, C, H, W), caption: [name, `p(${name}) = ${p[k]!.toFixed(3)}`] };
  });
  const dir = outDir(options.out);
  writePicture(dir, 'classes', imageGridSvg(tiles, { title: `Class visualisations: ${basename(modelPath)}`, subtitle: `gradient ascent from noise on each class's score − 0.001·‖x‖², with jitter and blur (${options.iterations} steps, seed ${options.seed}); each scaled to its own range`, columns: Math.min(5, names.length) }));
  return resolve(dir, 'classes.png');
}

/** activations.png: every layer's outputs for one image. */
export async function runActivations(modelPath: string, image: string, options: VisualizeOptions): Promise<string> {
  const { model, preprocessing, names } = await open(modelPath);
  const X = readInputs(model, preprocessing, [image]);
  const records = activations(model, X);
  const p = softmax(records.at(-1)!.output.data);
  const dir = outDir(options.out);
  writePicture(dir, 'activations', activationsSvg(inputRaster(X, 0, preprocessing), records, { title: `Activations: ${basename(image)} (predicted ${names[argmax(p)]}, ${p[argmax(p)]!.toFixed(3)})` }));
  return resolve(dir, 'activations.png');
}

/** training.png and training.svg from a metrics.json that `convnet train` wrote. */
export function runPlot(metricsPath: string, options: { out?: string }): string[] {
  let metrics: Record<string, unknown>;
  try {
    metrics = JSON.parse(readFileSync(metricsPath, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConvnetError('plot', `cannot read ${metricsPath}: ${code === 'ENOENT' ? 'no such file' : error instanceof Error ? error.message : String(error)}`);
  }
  const numbers = (key: string): number[] => {
    const v = metrics?.[key];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' || x === null)) throw new ConvnetError('plot', `${metricsPath}: expected ${key} to be an array of numbers (convnet train's metrics.json), got ${show(v)}`);
    // JSON writes NaN and Infinity as null: a diverged loss.
    return v.map((x) => (x === null ? NaN : x));
  };
  const history = { lossHistory: numbers('lossHistory'), trainAccHistory: numbers('trainAccHistory'), valAccHistory: numbers('valAccHistory'), checkIterations: numbers('checkIterations') };
  const model = typeof metrics.model === 'string' ? metrics.model : 'model';
  const options_ = metrics.options as { dataset?: unknown } | undefined;
  const dataset = typeof options_?.dataset === 'string' ? ` on ${options_.dataset}` : '';
  const dir = outDir(options.out ?? dirname(resolve(metricsPath)));
  return writeTrainingChart(dir, history, `Training ${model}${dataset}`).map((f) => resolve(dir, f));
}
