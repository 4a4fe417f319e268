/** The first 200 training and 100 validation images of the shipped digits (float32): small Solver runs. */
import { loadShippedMnist } from '../../src/data/index.js';
import type { TrainingData } from '../../src/train/solver.js';

export function smallMnist(numTrain = 200, numVal = 100): TrainingData {
  const mnist = loadShippedMnist({ dtype: 'float32', seed: 0 });
  return {
    XTrain: { shape: [numTrain, 1, 28, 28], data: mnist.XTrain.data.slice(0, numTrain * 784), dtype: 'float32' },
    yTrain: mnist.yTrain.slice(0, numTrain),
    XVal: { shape: [numVal, 1, 28, 28], data: mnist.XVal.data.slice(0, numVal * 784), dtype: 'float32' },
    yVal: mnist.yVal.slice(0, numVal),
  };
}
