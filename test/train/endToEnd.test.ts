// Training behaviour the issue asks to see: overfitting a small set, and determinism.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadShippedMnist } from '../../src/data/index.js';
import { ThreeLayerConvNet } from '../../src/models/threeLayerConvNet.js';
import { ConvNet } from '../../src/models/spec.js';
import { Solver } from '../../src/train/solver.js';
import type { Tensor } from '../../src/tensor.js';

const data = loadShippedMnist({ numTraining: 1000, numValidation: 200, numTest: 100 });

function first(X: Tensor, y: Int32Array, count: number): { X: Tensor; y: Int32Array } {
  const per = X.data.length / X.shape[0]!;
  return { X: { shape: [count, ...X.shape.slice(1)], data: X.data.slice(0, count * per), dtype: X.dtype }, y: y.slice(0, count) };
}

describe('training end to end', () => {
  // weightScale 0.1: digits scaled to [0, 1] are ~100× smaller than CIFAR's raw bytes, for which CS231n's 1e-2 was chosen.
  test('the three-layer net overfits 100 digits: 100% training accuracy within 20 epochs (Adam, lr 1e-3)', async () => {
    const small = first(data.XTrain, data.yTrain, 100);
    const model = new ThreeLayerConvNet({ inputDim: [1, 28, 28], weightScale: 1e-1, seed: 0 });
    const solver = new Solver(model, { XTrain: small.X, yTrain: small.y, XVal: data.XVal, yVal: data.yVal }, {
      updateRule: 'adam',
      optimConfig: { learningRate: 1e-3 },
      numEpochs: 20,
      batchSize: 50,
      verbose: false,
      seed: 0,
    });
    await solver.train();
    const trainAcc = Math.max(...solver.trainAccHistory);
    assert.equal(trainAcc, 1, `train accuracy history ${solver.trainAccHistory}`);
  });

  test('the same seed gives identical loss histories; another seed does not', async () => {
    const run = async (seed: number): Promise<number[]> => {
      const model = new ConvNet({ spec: 'conv(4,3)-bn-relu-pool-fc(10)', inputDim: [1, 28, 28], seed });
      const solver = new Solver(model, { XTrain: data.XTrain, yTrain: data.yTrain, XVal: data.XVal, yVal: data.yVal }, {
        updateRule: 'adam',
        numEpochs: 1,
        batchSize: 50,
        verbose: false,
        seed,
      });
      await solver.train();
      return solver.lossHistory;
    };
    const a = await run(3);
    const b = await run(3);
    const c = await run(4);
    assert.equal(a.length, 20);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});
