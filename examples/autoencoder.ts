/**
 * A convolutional autoencoder on the shipped MNIST digits: two strided convolutions down to
 * (8, 7, 7) (392 numbers for 784 pixels), two transposed convolutions back up to (1, 28, 28),
 * a sigmoid (pixels are in [0, 1]) and the MSE loss against the input itself. The Solver trains
 * it with `targets: 'inputs'` and checks the validation MSE instead of accuracy; the test split's
 * MSE and a picture of test digits and their reconstructions come out.
 *
 *   npm run build && npx tsc -p tsconfig.test.json
 *   node build/examples/autoencoder.js [--out DIR] [--epochs N] [--num-train N]
 *
 * writes DIR/autoencoder.png (default DIR: autoencoder-out). test/train/autoencoder.test.ts
 * trains the same model on a smaller budget and asserts a test MSE below 0.01.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { svgToPng } from '../src/cli/render.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import { loadShippedMnist } from '../src/data/shipped.js';
import { Network } from '../src/models/network.js';
import { ReLU, Sigmoid } from '../src/nn/activation.js';
import { Sequential } from '../src/nn/containers.js';
import { Conv2d } from '../src/nn/conv.js';
import { ConvTranspose2d } from '../src/nn/convTranspose.js';
import { rng } from '../src/rng.js';
import type { DType, Tensor } from '../src/tensor.js';
import { Solver } from '../src/train/solver.js';
import { imageGridSvg, type Tile } from '../src/viz/pictures.js';
import { planesToRaster } from '../src/viz/raster.js';

/** The autoencoder: (1, 28, 28) → (16, 14, 14) → (8, 7, 7) → (16, 14, 14) → (1, 28, 28). */
export function convAutoencoder(seed = 0, dtype: DType = 'float32'): Network {
  const init = { dtype, generator: rng(seed) };
  const module = new Sequential([
    // Down: 3×3 convolutions of stride 2 halve H and W (pad 1).
    new Conv2d({ inChannels: 1, outChannels: 16, kernelSize: 3, stride: 2, pad: 1 }, init),
    new ReLU(),
    new Conv2d({ inChannels: 16, outChannels: 8, kernelSize: 3, stride: 2, pad: 1 }, init),
    new ReLU(),
    // Up: 4×4 transposed convolutions of stride 2 (pad 1) double H and W: (H − 1)·2 − 2 + 4 = 2H.
    new ConvTranspose2d({ inChannels: 8, outChannels: 16, kernelSize: 4, stride: 2, pad: 1 }, init),
    new ReLU(),
    new ConvTranspose2d({ inChannels: 16, outChannels: 1, kernelSize: 4, stride: 2, pad: 1 }, init),
    new Sigmoid(),
  ]);
  return new Network({ module, inputShape: [1, 28, 28], loss: 'mse', name: 'ConvAutoencoder' });
}

export interface AutoencoderRun {
  model: Network;
  solver: Solver<{ XTrain: Tensor; XVal: Tensor; targets: 'inputs' }>;
  /** The shipped digits' test split (1,000 images), pixels in [0, 1]. */
  XTest: Tensor;
  yTest: Int32Array;
  /** Mean squared error of the reconstructions of the whole test split. */
  testMse: number;
}

/**
 * Trains the autoencoder on the first numTrain shipped training digits (pixels in [0, 1], no
 * mean subtracted) with Adam, checking the MSE on 500 validation digits after every epoch.
 */
export async function trainAutoencoder(options: { numTrain?: number; epochs?: number; seed?: number; log?: (line: string) => void } = {}): Promise<AutoencoderRun> {
  const { numTrain = 8000, epochs = 5, seed = 0, log } = options;
  const data = loadShippedMnist({ dtype: 'float32', subtractMean: false, numTraining: numTrain, numValidation: 500, seed });
  const model = convAutoencoder(seed);
  const solver = new Solver(model, { XTrain: data.XTrain, XVal: data.XVal, targets: 'inputs' as const }, {
    updateRule: 'adam',
    optimConfig: { learningRate: 5e-3 },
    lrDecay: 0.8,
    batchSize: 50,
    numEpochs: epochs,
    numTrainSamples: 500,
    seed,
    verbose: false,
    ...(log === undefined ? {} : { onEpoch: (r) => log(`epoch ${r.epoch}/${r.numEpochs}: train mse ${r.trainMse.toFixed(5)}, val mse ${r.valMse.toFixed(5)}${r.improved ? ' (best)' : ''}`) }),
  });
  await solver.train();
  return { model, solver, XTest: data.XTest, yTest: data.yTest, testMse: solver.checkMse(data.XTest) };
}

/** The first test image of each digit (top row) and its reconstruction (bottom row), as SVG. */
export function reconstructionsSvg(model: Network, XTest: Tensor, yTest: Int32Array, testMse: number): string {
  const picks: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const at = yTest.indexOf(digit);
    if (at >= 0) picks.push(at);
  }
  const per = 28 * 28;
  const X: Tensor = { shape: [picks.length, 1, 28, 28], data: new Float32Array(picks.length * per), dtype: 'float32' };
  picks.forEach((at, i) => X.data.set(XTest.data.subarray(at * per, (at + 1) * per), i * per));
  const out = model.forward(X);
  const tile = (values: Tensor, i: number, caption: string): Tile => ({ image: planesToRaster(values.data, i * per, 1, 28, 28, { range: [0, 1] }), caption: [caption] });
  const tiles = [...picks.map((_, i) => tile(X, i, 'input')), ...picks.map((_, i) => tile(out, i, 'output'))];
  return imageGridSvg(tiles, {
    title: 'Convolutional autoencoder: test digits (top) and reconstructions (bottom)',
    subtitle: `784 pixels → (8, 7, 7) = 392 numbers → 784 pixels; test MSE ${testMse.toFixed(4)} over 1,000 digits`,
    columns: picks.length,
    zoom: 3,
  });
}

async function main(argv: string[]): Promise<void> {
  const flag = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const out = resolve(flag('--out') ?? 'autoencoder-out');
  const epochs = Number(flag('--epochs') ?? 5);
  const numTrain = Number(flag('--num-train') ?? 8000);
  for (const [name, value, max] of [['--epochs', epochs, Infinity], ['--num-train', numTrain, 8000]] as const) {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      console.error(`autoencoder: ${name} must be a whole number in [1, ${max}], got ${flag(name)}`);
      process.exit(1);
    }
  }
  const started = performance.now();
  const model = convAutoencoder();
  console.log(model.summary());
  const run = await trainAutoencoder({ numTrain, epochs, log: (line) => console.log(line) });
  const seconds = (performance.now() - started) / 1000;
  console.log(`test mse ${run.testMse.toFixed(5)} (1,000 test digits), ${numTrain} training digits × ${epochs} epochs, ${seconds.toFixed(1)} s`);
  mkdirSync(out, { recursive: true });
  const path = resolve(out, 'autoencoder.png');
  await writeFileAtomic(path, svgToPng(reconstructionsSvg(run.model, run.XTest, run.yTest, run.testMse)));
  console.log(`wrote ${path}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
