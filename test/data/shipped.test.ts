import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConvnetError } from '../../src/errors.js';
import { loadShippedMnist, SHIPPED_MNIST_SIZE } from '../../src/data/shipped.js';

// The first test of this file is the first load in its process (node --test runs each file in
// its own process), so it measures reading and parsing the package's JSON files.
// Speed is the benchmark's business, not a test's (the machine is shared): this one reports the time only.
test('loads the 10,000 shipped digits, split 8,000 / 1,000 / 1,000', () => {
  const start = performance.now();
  const data = loadShippedMnist();
  console.log(`# loadShippedMnist (first load): ${(performance.now() - start).toFixed(0)} ms`);
  assert.equal(SHIPPED_MNIST_SIZE, 10000);
  assert.deepEqual(data.XTrain.shape, [8000, 1, 28, 28]);
  assert.deepEqual(data.XVal.shape, [1000, 1, 28, 28]);
  assert.deepEqual(data.XTest.shape, [1000, 1, 28, 28]);
  assert.equal(data.XTrain.dtype, 'float32');
  assert.deepEqual(data.inputDim, [1, 28, 28]);
  assert.equal(data.numClasses, 10);
  assert.deepEqual(data.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.ok(data.meanImage !== undefined);
  assert.deepEqual(data.meanImage.shape, [1, 28, 28]);
  // every digit appears in every split
  for (const y of [data.yTrain, data.yVal, data.yTest]) {
    assert.ok(y instanceof Int32Array);
    const seen = new Set(y);
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
});

test('all 10,000 digits with labels 0-9 in the package counts, pixels in [0, 1]', () => {
  const data = loadShippedMnist({ numTraining: 8000, numValidation: 1000, numTest: 1000, subtractMean: false, dtype: 'float64' });
  const counts = new Array<number>(10).fill(0);
  for (const y of [data.yTrain, data.yVal, data.yTest]) for (const label of y) counts[label]!++;
  // the package's digit files hold these many images each
  assert.deepEqual(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  assert.equal(data.meanImage, undefined);
  let min = Infinity;
  let max = -Infinity;
  for (const X of [data.XTrain, data.XVal, data.XTest]) {
    for (const v of X.data) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  // Values are byte / 255 (the package rounds to 3 decimals): a 0..255 pixel times scale.
  assert.equal(data.scale, 1 / 255);
  for (let i = 0; i < 784 * 50; i++) assert.ok(Math.abs(data.XTrain.data[i]! / data.scale - Math.round(data.XTrain.data[i]! / data.scale)) < 0.13);
  // the centre of a digit image is ink more often than the corner
  let centre = 0;
  let corner = 0;
  for (let i = 0; i < 8000; i++) {
    centre += data.XTrain.data[i * 784 + 14 * 28 + 14]!;
    corner += data.XTrain.data[i * 784]!;
  }
  assert.ok(centre > 1000 && corner < centre / 10, `centre ${centre}, corner ${corner}`);
});

test('mean subtraction centres the training split', () => {
  const data = loadShippedMnist({ dtype: 'float64' });
  for (const j of [0, 300, 406, 783]) {
    let total = 0;
    for (let i = 0; i < 8000; i++) total += data.XTrain.data[i * 784 + j]!;
    assert.ok(Math.abs(total) < 1e-9, `column ${j} sums to ${total}`);
  }
  const raw = loadShippedMnist({ dtype: 'float64', subtractMean: false });
  assert.ok(data.meanImage !== undefined);
  for (let i = 0; i < 1000 * 784; i += 37) {
    assert.ok(Math.abs(data.XTest.data[i]! - (raw.XTest.data[i]! - data.meanImage.data[i % 784]!)) < 1e-12);
  }
});

test('the same seed gives the same split; another seed another', () => {
  const a = loadShippedMnist({ seed: 5 });
  const b = loadShippedMnist({ seed: 5 });
  const c = loadShippedMnist({ seed: 6 });
  assert.deepEqual([...a.yTrain], [...b.yTrain]);
  assert.deepEqual([...a.yTest], [...b.yTest]);
  assert.ok(Buffer.from(a.XTrain.data.buffer).equals(Buffer.from(b.XTrain.data.buffer)));
  assert.notDeepEqual([...a.yTrain], [...c.yTrain]);
  // seed 0 is the default
  assert.deepEqual([...loadShippedMnist().yVal], [...loadShippedMnist({ seed: 0 }).yVal]);
});

test('numTraining changes the training set only', () => {
  const full = loadShippedMnist({ subtractMean: false });
  const small = loadShippedMnist({ subtractMean: false, numTraining: 100 });
  assert.deepEqual(small.XTrain.shape, [100, 1, 28, 28]);
  assert.deepEqual([...small.yVal], [...full.yVal]);
  assert.deepEqual([...small.yTest], [...full.yTest]);
  assert.deepEqual([...small.yTrain], [...full.yTrain.subarray(0, 100)]);
  assert.ok(Buffer.from(small.XTest.data.buffer).equals(Buffer.from(full.XTest.data.buffer)));
});

test('bad options are errors', () => {
  const check = (options: unknown, part: string): void => {
    assert.throws(() => loadShippedMnist(options as never), (e: unknown) => e instanceof ConvnetError && e.message.includes(part));
  };
  check({ numTraining: 9000, numValidation: 1000, numTest: 1000 }, 'numTraining + numValidation + numTest <= 10000');
  check({ numTraining: 0 }, 'numTraining to be an integer >= 1');
  check({ seed: 1.5 }, 'seed to be an integer');
  check({ dtype: 'float16' }, 'dtype');
  check({ shuffle: true }, 'unknown option "shuffle"');
});
