// A small digit classifier trained through the API in a few seconds and saved as `convnet train`
// saves its model (preprocessing, class names, training summary), plus helpers that turn
// test-split tensors back into image files.
import { join } from 'node:path';
import { loadShippedMnist, type Dataset } from '../../src/data/index.js';
import { saveModel } from '../../src/io/files.js';
import { ThreeLayerConvNet } from '../../src/models/threeLayerConvNet.js';
import type { Tensor } from '../../src/tensor.js';
import { Solver } from '../../src/train/index.js';

export interface TrainedFixture {
  modelPath: string;
  model: ThreeLayerConvNet;
  data: Dataset;
  testAcc: number;
}

/** Trains 1 epoch on 3,000 shipped digits (4 filters, 32 hidden units), saves dir/model.safetensors. */
export async function trainSmallModel(dir: string, options: { recordedTestAcc?: number } = {}): Promise<TrainedFixture> {
  const data = loadShippedMnist({ dtype: 'float32', seed: 0 });
  const model = new ThreeLayerConvNet({ inputDim: [1, 28, 28], numFilters: 4, filterSize: 5, hiddenDim: 32, weightScale: 'he', dtype: 'float32', seed: 0 });
  const numTrain = 3000;
  const XTrain: Tensor = { shape: [numTrain, 1, 28, 28], data: data.XTrain.data.slice(0, numTrain * 784), dtype: 'float32' };
  const solver = new Solver(model, { XTrain, yTrain: data.yTrain.slice(0, numTrain), XVal: data.XVal, yVal: data.yVal }, {
    updateRule: 'adam',
    optimConfig: { learningRate: 2e-3 },
    batchSize: 50,
    numEpochs: 1,
    numTrainSamples: 500,
    verbose: false,
    seed: 0,
  });
  await solver.train();
  const testAcc = solver.checkAccuracy(data.XTest, data.yTest);
  const modelPath = join(dir, 'model.safetensors');
  await saveModel(model, modelPath, {
    classNames: data.classNames,
    preprocessing: { scale: data.scale, ...(data.meanImage ? { mean: data.meanImage } : {}) },
    training: {
      dataset: 'mnist',
      data: null,
      dtype: 'float32',
      testAcc: options.recordedTestAcc ?? testAcc,
      valAcc: solver.checkAccuracy(data.XVal, data.yVal),
      trainAcc: solver.checkAccuracy(XTrain, data.yTrain.slice(0, numTrain)),
      bestValAcc: solver.bestValAcc,
      epochs: 1,
      iterations: solver.lossHistory.length,
      seed: 0,
      date: '2026-12-02T00:00:00.000Z',
      model: 'three-layer',
    },
  });
  return { modelPath, model, data, testAcc };
}

/** Test image i as 0..255 pixels (28×28): pixel = (x + mean) / scale, rounded. */
export function testDigitPixels(data: Dataset, i: number): Uint8Array {
  const out = new Uint8Array(784);
  for (let j = 0; j < 784; j++) {
    const x = data.XTest.data[i * 784 + j]! + (data.meanImage ? data.meanImage.data[j]! : 0);
    out[j] = Math.max(0, Math.min(255, Math.round(x / data.scale)));
  }
  return out;
}
