// Reads the real Fashion-MNIST files from Debian's dataset-fashion-mnist package. Not part of
// `npm test` (a fresh machine need not have the package); `.ci/run` installs the package and
// runs this with `npm run test:datasets`, where a missing package is a failure, not a skip.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../src/data/mnist.js';

test('loadFashionMnist reads the Debian package (dataset-fashion-mnist)', () => {
  assert.ok(existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz')), `expected Fashion-MNIST in ${FASHION_MNIST_DIR}: apt-get install dataset-fashion-mnist`);
  const data = loadFashionMnist();
  assert.deepEqual(data.XTrain.shape, [55000, 1, 28, 28]);
  assert.deepEqual(data.XVal.shape, [5000, 1, 28, 28]);
  assert.deepEqual(data.XTest.shape, [10000, 1, 28, 28]);
  assert.equal(data.classNames[9], 'Ankle boot');
  const counts = new Array<number>(10).fill(0);
  for (const y of data.yTest) counts[y]!++;
  assert.deepEqual(counts, new Array<number>(10).fill(1000));
});
