/**
 * The lab's training worker: all the computing happens here (the page's main thread only draws).
 * It loads the WebAssembly kernels with their threads (when the page is cross-origin isolated),
 * holds the dataset and the model, trains through the Solver one iteration at a time between
 * messages (start, pause, step, a new learning rate), and answers the page's questions:
 * filters, activations, confusion matrix and mistakes, predictions with saliency maps, model
 * files out and in.
 */
import {
  activations,
  activationsSvg,
  ConvNet,
  ConvnetError,
  confusionMatrixSvg,
  decodeModel,
  encodeModel,
  filtersSvg,
  getBackend,
  imageGridSvg,
  loadWasm,
  parseSpec,
  planesToRaster,
  saliencyMap,
  setBackend,
  setThreads,
  Solver,
  ThreeLayerConvNet,
  wasmVariant,
  wasmWorkersReady,
  type Network,
  type Preprocessing,
  type SolverRecord,
  type Tensor,
} from '../src/index.js';
import { fashionMnist, pickedDataset, shippedMnist, type LabDataset } from './data.js';
import type { FromWorker, ToWorker } from './protocol.js';

const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  navigator: { hardwareConcurrency?: number };
  crossOriginIsolated?: boolean;
  location: { href: string };
};
const post = (message: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(message, transfer);
/** The page's folder (the worker script sits in it). */
const BASE = new URL('./', scope.location.href).href;

/** Own accuracy checks between the Solver's epoch checks, every this many iterations. */
const CHECK_EVERY = 50;
/** Test images the inspection (confusion matrix, mistakes) runs on. */
const INSPECT_IMAGES = 1000;

interface Run {
  model: Network;
  preprocessing: Preprocessing | undefined;
  classNames: string[];
  solver: Solver | undefined;
  steps: AsyncGenerator<SolverRecord, void, undefined> | undefined;
  iteration: number;
  /** Where a model file came from, when one was loaded. */
  loadedFrom?: string;
}

let dataset: LabDataset | undefined;
let run: Run | undefined;
let running = false;
let lr = 1e-3;

const tensorOf = (shape: number[], data: Float32Array | Float64Array): Tensor => ({ shape, data, dtype: data instanceof Float32Array ? 'float32' : 'float64' });

/** Images [start, start + n) of X (N, …). */
function slice(X: Tensor, start: number, n: number): Tensor {
  const D = X.data.length / X.shape[0]!;
  return tensorOf([n, ...X.shape.slice(1)], X.data.slice(start * D, (start + n) * D) as Float32Array | Float64Array);
}

/** Softmax of each row of scores (N, C). */
function softmax(scores: Tensor): Float64Array {
  const [N, C] = scores.shape as [number, number];
  const out = new Float64Array(N * C);
  for (let i = 0; i < N; i++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, scores.data[i * C + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += out[i * C + c] = Math.exp(scores.data[i * C + c]! - max);
    for (let c = 0; c < C; c++) out[i * C + c]! /= sum;
  }
  return out;
}

/** The first highest score of row i (Solver.checkAccuracy's and `convnet evaluate`'s rule). */
function argmax(values: ArrayLike<number>, i: number, C: number): number {
  let best = 0;
  for (let c = 1; c < C; c++) if (values[i * C + c]! > values[i * C + best]!) best = c;
  return best;
}

function requireDataset(): LabDataset {
  if (dataset === undefined) throw new ConvnetError('lab', 'the dataset is still loading');
  return dataset;
}

function requireRun(): Run {
  if (run === undefined) throw new ConvnetError('lab', 'no model yet: choose a preset or write a spec');
  return run;
}

/** 'three-layer' (as `convnet train --model`), else a spec. */
function buildModel(spec: string, seed: number): Network {
  const { data } = requireDataset();
  const common = { inputDim: data.inputDim as [number, number, number], numClasses: data.numClasses, dtype: 'float32' as const, seed };
  if (spec.trim() === 'three-layer') return new ThreeLayerConvNet({ ...common, weightScale: 'he' });
  return new ConvNet({ ...common, spec });
}

function newSolver(model: Network, batchSize: number): Solver {
  const { data } = requireDataset();
  return new Solver(model, data, {
    updateRule: 'adam',
    optimConfig: { learningRate: lr },
    // The learning rate is the user's to change: no decay behind their back.
    lrDecay: 1,
    batchSize,
    numEpochs: 20,
    numTrainSamples: 1000,
    verbose: false,
    seed: 0,
  });
}

function setRun(model: Network, preprocessing: Preprocessing | undefined, classNames: string[], batchSize: number, loadedFrom?: string): void {
  running = false;
  void run?.steps?.return(undefined);
  const solver = newSolver(model, batchSize);
  run = { model, preprocessing, classNames, solver, steps: solver.iterations(), iteration: 0, ...(loadedFrom === undefined ? {} : { loadedFrom }) };
}

/** The dataset's own preprocessing: what a model trained here expects. */
function datasetPreprocessing(): Preprocessing {
  const { data } = requireDataset();
  return { scale: data.scale, ...(data.meanImage === undefined ? {} : { mean: data.meanImage }) };
}

/** Runs the Solver to its next iteration record, posting the records on the way. */
async function step(): Promise<boolean> {
  const r = requireRun();
  if (r.solver === undefined || r.steps === undefined) return false;
  for (;;) {
    const next = await r.steps.next();
    if (next.done === true) {
      running = false;
      post({ type: 'state', running: false, iteration: r.iteration, reason: 'the run reached its last epoch' });
      return false;
    }
    const record = next.value;
    if (record.kind === 'epoch') {
      post({ type: 'accuracy', iteration: record.iteration, trainAcc: record.trainAcc, valAcc: record.valAcc });
      continue;
    }
    r.iteration = record.iteration;
    post({ type: 'iteration', iteration: record.iteration, loss: record.loss, lr: record.lr, msPerBatch: record.msPerBatch });
    if (record.iteration % CHECK_EVERY === 0 && record.iteration % r.solver.iterationsPerEpoch !== 0) {
      const { data } = requireDataset();
      const trainAcc = r.solver.checkAccuracy(data.XTrain, data.yTrain, 1000);
      const valAcc = r.solver.checkAccuracy(data.XVal, data.yVal);
      post({ type: 'accuracy', iteration: record.iteration, trainAcc, valAcc });
    }
    return true;
  }
}

async function trainLoop(): Promise<void> {
  while (running) {
    try {
      if (!(await step())) break;
    } catch (error) {
      running = false;
      report('training', error);
    }
  }
  post({ type: 'state', running: false, iteration: run?.iteration ?? 0 });
}

/**
 * First-layer filters; with `full`, also the activations of test image `index`, the confusion
 * matrix and the most confidently wrong test images.
 */
function inspect(index: number, full: boolean): FromWorker {
  const ds = requireDataset();
  const r = requireRun();
  const { model } = r;
  const [C, H, W] = ds.info.inputDim;
  const first = Object.values(model.params).find((w) => w.shape.length === 4 && w.shape[1] === C);
  const filters = first === undefined ? '' : filtersSvg(first);
  if (!full) return { type: 'inspect', index, filters };
  const X = testInputs(ds, r.preprocessing);
  const D = C * H * W;
  const n = Math.min(INSPECT_IMAGES, X.shape[0]!);
  const K = model.numClasses;
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  const wrong: { i: number; truth: number; said: number; p: number }[] = [];
  for (let start = 0; start < n; start += 100) {
    const m = Math.min(100, n - start);
    const probs = softmax(model.forward(slice(X, start, m), { mode: 'test' }));
    for (let i = 0; i < m; i++) {
      const said = argmax(probs, i, K);
      const truth = ds.data.yTest[start + i]!;
      confusion[truth]![said]!++;
      if (said !== truth) wrong.push({ i: start + i, truth, said, p: probs[i * K + said]! });
    }
  }
  const correct = confusion.reduce((sum, row, k) => sum + row[k]!, 0);
  const raster = (i: number) => planesToRaster(ds.testPixels, i * D, C, H, W, { range: ds.pixelRange });
  const at = Math.max(0, Math.min(index, X.shape[0]! - 1));
  const layers = activations(model, slice(X, at, 1));
  const scores = layers.at(-1)!.output;
  const names = r.classNames;
  const activationSvg = activationsSvg(raster(at), layers, { title: `Activations of test image ${at}: a ${names[ds.data.yTest[at]!]}, predicted ${names[argmax(scores.data, 0, K)]}` });
  wrong.sort((a, b) => b.p - a.p);
  const tiles = wrong.slice(0, 16).map((w) => ({ image: raster(w.i), caption: [`true ${names[w.truth]}`, `said ${names[w.said]} (${(100 * w.p).toFixed(0)}%)`], color: '#b00' }));
  const wrongSvg = tiles.length === 0 ? '' : imageGridSvg(tiles, { title: 'Most confidently wrong test images', subtitle: `${wrong.length} of the first ${n} test images are wrong; these ${tiles.length} the most confidently` });
  return {
    type: 'inspect',
    index: at,
    filters,
    full: {
      activations: activationSvg,
      confusion: confusionMatrixSvg(confusion, names, { title: `Confusion matrix: first ${n} test images, accuracy ${(correct / n).toFixed(4)}` }),
      wrong: wrongSvg,
      accuracy: correct / n,
      count: n,
    },
  };
}

function sameValues(a: Tensor | undefined, b: Tensor | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.shape.join() === b.shape.join() && a.data.every((v, i) => v === b.data[i]);
}

/**
 * The test images as a model's preprocessing makes them (as `convnet evaluate` does): the
 * dataset's own tensors when the preprocessing is the dataset's, otherwise the raw pixels
 * (x + mean) / scale, preprocessed again.
 */
function testInputs(ds: LabDataset, preprocessing: Preprocessing | undefined): Tensor {
  const { data } = ds;
  const X = data.XTest;
  if (preprocessing === undefined || (preprocessing.scale === data.scale && sameValues(preprocessing.mean, data.meanImage))) return X;
  const D = X.data.length / X.shape[0]!;
  const C = X.shape[1]!;
  const P = D / C;
  const dsMean = data.meanImage?.data;
  const mean = preprocessing.mean?.data;
  const perChannel = mean !== undefined && mean.length === C;
  const out = new Float32Array(X.data.length);
  for (let i = 0; i < X.data.length; i++) {
    const j = i % D;
    const pixel = (X.data[i]! + (dsMean ? dsMean[j]! : 0)) / data.scale;
    out[i] = pixel * preprocessing.scale - (mean === undefined ? 0 : perChannel ? mean[Math.floor(j / P)]! : mean[j]!);
  }
  return tensorOf([...X.shape], out);
}

/** A drawn or uploaded image (bytes (C, H, W)) → class probabilities and a saliency map. */
function predict(pixels: Uint8Array, source: 'pad' | 'upload'): FromWorker {
  const r = requireRun();
  const [C, H, W] = r.model.inputShape as [number, number, number];
  if (pixels.length !== C * H * W) throw new ConvnetError('lab', `expected ${C * H * W} pixel values for the model's input (${C}, ${H}, ${W}), got ${pixels.length}`);
  const pre = r.preprocessing ?? { scale: 1 / 255 };
  const mean = pre.mean?.data;
  const perChannel = mean !== undefined && mean.length === C;
  const data = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) data[i] = pixels[i]! * pre.scale - (mean === undefined ? 0 : perChannel ? mean[Math.floor(i / (H * W))]! : mean[i]!);
  const X = r.model.dtype === 'float32' ? tensorOf([1, C, H, W], data) : tensorOf([1, C, H, W], Float64Array.from(data));
  const probabilities = Array.from(softmax(r.model.forward(X, { mode: 'test' })));
  const best = argmax(probabilities, 0, probabilities.length);
  const saliency = saliencyMap(r.model, X, [best]); // (1, H, W)
  const svg = imageGridSvg(
    [
      { image: planesToRaster(pixels, 0, C, H, W, { range: [0, 255] }), caption: ['the input'] },
      { image: planesToRaster(saliency.data, 0, 1, H, W, { colormap: 'hot' }), caption: [`saliency for ${r.classNames[best]}`] },
    ],
    { title: 'What the network sees', zoom: Math.max(1, Math.round(112 / W)) },
  );
  return { type: 'predict', source, probabilities, classNames: r.classNames, saliency: svg };
}

/** The model as a model file (what `convnet train` writes), with the dataset's preprocessing. */
function download(): FromWorker & { type: 'download' } {
  const r = requireRun();
  const ds = requireDataset();
  const training: Record<string, string | number> = { source: 'convnet lab', iterations: r.iteration, date: new Date().toISOString() };
  if (ds.trainingName !== null && r.loadedFrom === undefined) training.dataset = ds.trainingName;
  const valAcc = r.solver?.valAccHistory.at(-1);
  if (valAcc !== undefined) training.valAcc = valAcc;
  const bytes = encodeModel(r.model, { classNames: r.classNames, ...(r.preprocessing === undefined ? {} : { preprocessing: r.preprocessing }), training });
  return { type: 'download', bytes, name: `convnet-lab-${ds.info.name}-${r.iteration}.safetensors` };
}

/** A model file: decoded, checked against the dataset, measured on its test split. */
function load(name: string, bytes: Uint8Array, batchSize: number): FromWorker {
  const ds = requireDataset();
  const { model, info } = decodeModel(bytes, name);
  const [C, H, W] = ds.info.inputDim;
  if (model.inputShape.join() !== [C, H, W].join()) {
    throw new ConvnetError('lab', `${name} takes inputs of shape (${model.inputShape.join(', ')}), but ${ds.info.name} images are (${C}, ${H}, ${W}): choose the dataset it was trained on`);
  }
  if (model.numClasses !== ds.data.numClasses) throw new ConvnetError('lab', `${name} has ${model.numClasses} classes, but ${ds.info.name} has ${ds.data.numClasses}`);
  const X = testInputs(ds, info.preprocessing);
  const N = X.shape[0]!;
  const K = model.numClasses;
  let correct = 0;
  for (let start = 0; start < N; start += 100) {
    const m = Math.min(100, N - start);
    const scores = model.forward(slice(X, start, m), { mode: 'test' });
    for (let i = 0; i < m; i++) if (argmax(scores.data, i, K) === ds.data.yTest[start + i]) correct++;
  }
  setRun(model, info.preprocessing, info.classNames ?? ds.info.classNames, batchSize, name);
  return { type: 'loaded', name, summary: model.summary(), testAcc: correct / N, correct, count: N, dataset: ds.info.name, training: JSON.stringify(info.training ?? {}, null, 1) };
}

function report(context: string, error: unknown): void {
  post({ type: 'error', context, message: error instanceof Error ? error.message : String(error) });
}

/** The spec's parse error and the position it names (in the text without whitespace). */
function checkSpec(spec: string): FromWorker {
  if (spec.trim() === 'three-layer') return { type: 'spec', spec, error: null };
  try {
    parseSpec(spec);
    return { type: 'spec', spec, error: null };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const at = /at position (\d+) of "([^"]*)"/.exec(message);
    return { type: 'spec', spec, error: message, ...(at ? { position: Number(at[1]), text: at[2]! } : {}) };
  }
}

let batchSize = 50;

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init': {
      // The WebAssembly kernels where the browser has SIMD (else the TypeScript ones, on one thread).
      if (await loadWasm()) setBackend('wasm');
      const isolated = scope.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
      let threads = 1;
      if (getBackend() === 'wasm') {
        if (isolated) {
          const want = Math.max(1, Math.min(8, scope.navigator.hardwareConcurrency ?? 1));
          setThreads(want);
          const start = performance.now();
          while (wasmWorkersReady() < want - 1 && performance.now() - start < 10000) await new Promise((resolve) => setTimeout(resolve, 20));
          threads = 1 + wasmWorkersReady();
        } else {
          setThreads(1);
        }
      }
      post({ type: 'ready', backend: getBackend(), variant: wasmVariant() ?? 'none', threads, isolated });
      return;
    }
    case 'dataset': {
      running = false;
      run = undefined;
      dataset = undefined;
      dataset = message.source === 'mnist' ? await shippedMnist(BASE) : message.source === 'fashion-mnist' ? await fashionMnist(BASE) : await pickedDataset(message.files ?? []);
      post({ type: 'dataset', info: dataset.info });
      return;
    }
    case 'spec':
      post(checkSpec(message.spec));
      return;
    case 'model': {
      const checked = checkSpec(message.spec);
      if (checked.type === 'spec' && checked.error !== null) {
        post(checked);
        return;
      }
      lr = message.lr;
      batchSize = message.batchSize;
      const model = buildModel(message.spec, message.seed);
      setRun(model, datasetPreprocessing(), [...requireDataset().data.classNames], batchSize);
      post({ type: 'model', summary: model.summary(), parameters: Object.values(model.params).reduce((n, p) => n + p.data.length, 0) });
      post({ type: 'state', running: false, iteration: 0 });
      return;
    }
    case 'train':
      requireRun();
      if (running) return;
      running = true;
      post({ type: 'state', running: true, iteration: run!.iteration });
      void trainLoop();
      return;
    case 'pause':
      running = false;
      return;
    case 'step':
      if (!running && (await step())) post({ type: 'state', running: false, iteration: run!.iteration });
      return;
    case 'lr': {
      lr = message.lr;
      const solver = run?.solver;
      // Each parameter has its own config (and Adam state): the new rate goes into every one.
      if (solver !== undefined) for (const config of Object.values(solver.optimConfigs)) config.learningRate = lr;
      const first = solver === undefined ? undefined : Object.values(solver.optimConfigs)[0]?.learningRate;
      post({ type: 'lr', lr: typeof first === 'number' ? first : lr });
      return;
    }
    case 'inspect':
      post(inspect(message.index, message.full));
      return;
    case 'predict':
      post(predict(message.pixels, message.source));
      return;
    case 'download': {
      const out = download();
      post(out, [out.bytes.buffer]);
      return;
    }
    case 'load':
      post(load(message.file.name, message.file.bytes, batchSize));
      return;
  }
}

/** Messages are handled one at a time, in order (training iterations run between them). */
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  const message = event.data;
  queue = queue.then(() => handle(message).catch((error: unknown) => report(message.type, error)));
};
