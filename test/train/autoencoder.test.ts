// Must-show: a convolutional autoencoder (conv down, transposed conv up, MSE loss) trained on the
// shipped MNIST digits reconstructs the whole test split (1,000 digits) with a mean squared
// error below 0.01. The model and the training are examples/autoencoder.ts's, on a small
// budget: the first 2,000 training digits for 3 epochs (about 7 s of CPU).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainAutoencoder } from '../../examples/autoencoder.js';

test('the convolutional autoencoder reconstructs the shipped test digits with MSE < 0.01', async () => {
  const run = await trainAutoencoder({ numTrain: 2000, epochs: 3 });
  assert.equal(run.XTest.shape[0], 1000);
  assert.equal(run.solver.metric, 'mse');
  assert.equal(run.solver.trainAccHistory.length, 0);
  // The checks improved on the untrained model's MSE (about 0.23: sigmoid outputs near 0.5).
  assert.ok(run.solver.valMseHistory[0]! > 0.1, `first validation MSE ${run.solver.valMseHistory[0]}`);
  assert.equal(run.solver.bestValMse, Math.min(...run.solver.valMseHistory));
  assert.ok(run.testMse < 0.01, `test MSE ${run.testMse}`);
  // The test MSE is over pixels in [0, 1]: the inputs were not mean-subtracted.
  let low = Infinity;
  let high = -Infinity;
  for (const v of run.XTest.data) [low, high] = [Math.min(low, v), Math.max(high, v)];
  assert.ok(low >= 0 && high <= 1 && high > 0.9, `pixels in [${low}, ${high}]`);
});
