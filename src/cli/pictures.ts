/**
 * The pictures `convnet train`, `convnet evaluate` and `convnet plot` write (Node): the charts of
 * src/viz rendered to PNG by ./render.ts.
 *   training.png / .svg   loss per iteration and accuracy per epoch (train, plot)
 *   filters.png           the first conv layer's filters (train)
 *   confusion.png         the test split's confusion matrix (train, evaluate)
 *   mistakes.png          the most confidently wrong test images (train, evaluate)
 *   activations.png       every layer's outputs for the first test image (train, evaluate)
 */
import type { Preprocessing } from '../io/model.js';
import type { Network } from '../models/network.js';
import type { Tensor } from '../tensor.js';
import { activations } from '../viz/activations.js';
import { confusionMatrixSvg, trainingChartSvg, type TrainingHistory } from '../viz/charts.js';
import { activationsSvg, filtersSvg, imageGridSvg, type Tile } from '../viz/pictures.js';
import type { Raster } from '../viz/png.js';
import { planesToRaster } from '../viz/raster.js';
import { writePicture } from './render.js';

/** training.png and training.svg in dir. */
export function writeTrainingChart(dir: string, history: TrainingHistory, title = 'Training'): string[] {
  return writePicture(dir, 'training', trainingChartSvg(history, { title }), { svg: true });
}

/** filters.png in dir, from the first conv weight w (F, C, kh, kw). */
export function writeFilters(dir: string, w: Tensor): string[] {
  return writePicture(dir, 'filters', filtersSvg(w));
}

/** Sample n of X (N, C, H, W) as displayed pixels: the preprocessing undone, (x + mean) / scale, shown as 0..255. */
export function inputRaster(X: Tensor, n: number, preprocessing: Preprocessing | undefined): Raster {
  const [, C, H, W] = X.shape as [number, number, number, number];
  const D = C * H * W;
  const mean = preprocessing?.mean?.data;
  const scale = preprocessing?.scale ?? 1;
  const pixels = new Float64Array(D);
  for (let i = 0; i < D; i++) {
    const m = mean === undefined ? 0 : mean.length === C ? mean[Math.floor(i / (H * W))]! : mean[i]!;
    pixels[i] = (X.data[n * D + i]! + m) / scale;
  }
  return planesToRaster(pixels, 0, C, H, W, preprocessing === undefined ? {} : { range: [0, 255] });
}

/** Softmax probabilities (N, K) of the test-mode scores, in batches of 100. */
function probabilities(model: Network, X: Tensor): Float64Array {
  const N = X.shape[0]!;
  const D = X.data.length / N;
  const K = model.numClasses;
  const out = new Float64Array(N * K);
  for (let start = 0; start < N; start += 100) {
    const n = Math.min(100, N - start);
    const scores = model.forward({ shape: [n, ...X.shape.slice(1)], data: X.data.slice(start * D, (start + n) * D), dtype: X.dtype });
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, scores.data[i * K + k]!);
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.exp(scores.data[i * K + k]! - max);
      for (let k = 0; k < K; k++) out[(start + i) * K + k] = Math.exp(scores.data[i * K + k]! - max) / sum;
    }
  }
  return out;
}

export interface TestPictureInput {
  model: Network;
  /** The test split as the model takes it: (N, C, H, W) and N labels. */
  X: Tensor;
  y: Int32Array;
  classNames: readonly string[];
  preprocessing?: Preprocessing;
  /** Names the run in the titles, e.g. "three-layer on mnist". */
  name: string;
}

/** confusion.png, mistakes.png and (for image models) activations.png in dir. */
export function writeTestPictures(dir: string, input: TestPictureInput): string[] {
  const { model, X, y, classNames, preprocessing, name } = input;
  const N = y.length;
  const K = model.numClasses;
  const p = probabilities(model, X);
  const predicted = new Int32Array(N);
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  for (let n = 0; n < N; n++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (p[n * K + k]! > p[n * K + best]!) best = k;
    predicted[n] = best;
    confusion[y[n]!]![best]!++;
  }
  const correct = confusion.reduce((sum, row, k) => sum + row[k]!, 0);
  const written = writePicture(dir, 'confusion', confusionMatrixSvg(confusion, classNames, { title: `Confusion matrix, ${name}: test accuracy ${(correct / Math.max(1, N)).toFixed(4)} (${correct}/${N})` }));
  if (X.shape.length !== 4) return written;

  // The most confident mistakes first: highest probability given to a wrong class.
  const wrong = [...Array(N).keys()].filter((n) => predicted[n] !== y[n]).sort((a, b) => p[b * K + predicted[b]!]! - p[a * K + predicted[a]!]! || a - b);
  const tiles: Tile[] = wrong.slice(0, 24).map((n) => ({
    image: inputRaster(X, n, preprocessing),
    caption: [`true ${classNames[y[n]!]}, predicted ${classNames[predicted[n]!]}`, `p ${p[n * K + predicted[n]!]!.toFixed(3)} (true ${p[n * K + y[n]!]!.toFixed(3)})`],
    color: '#b00020',
  }));
  if (tiles.length > 0) {
    written.push(...writePicture(dir, 'mistakes', imageGridSvg(tiles, { title: `Most confident mistakes, ${name}: ${wrong.length} of ${N} test images wrong`, subtitle: 'p: the probability the model gave its (wrong) prediction, and the true class', columns: 6 })));
  }

  const records = activations(model, { shape: [1, ...X.shape.slice(1)], data: X.data.slice(0, X.data.length / N), dtype: X.dtype });
  written.push(...writePicture(dir, 'activations', activationsSvg(inputRaster(X, 0, preprocessing), records, { title: `Activations, ${name}: test image 0 (true ${classNames[y[0]!]}, predicted ${classNames[predicted[0]!]})` })));
  return written;
}
