import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ConvnetError } from '../../src/errors.js';
import { readIdx, readIdxImages, readIdxLabels } from '../../src/data/idx.js';
import { FASHION_MNIST_DIR, loadFashionMnist, loadMnist } from '../../src/data/mnist.js';
import { idxBytes, writeMnistFiles } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'convnet-idx-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => {
  const dir = join(root, `case-${counter++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

function assertConvnetError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConvnetError, `expected a ConvnetError, got ${String(error)}`);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" should mention "${part}"`);
    return true;
  });
}

const sample = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);

test('readIdx round trip, raw and gzipped', () => {
  const data = sample(3 * 4 * 5);
  for (const gzip of [false, true]) {
    const idx = readIdx(idxBytes([3, 4, 5], data, gzip), 'x-idx3-ubyte');
    assert.deepEqual(idx.dims, [3, 4, 5]);
    assert.equal(idx.dataOffset, 16);
    assert.deepEqual([...idx.data], [...data]);
  }
  const labels = readIdxLabels(idxBytes([6], Uint8Array.from([0, 9, 3, 3, 1, 5])), 'labels');
  assert.ok(labels instanceof Int32Array);
  assert.deepEqual([...labels], [0, 9, 3, 3, 1, 5]);
  assert.deepEqual(readIdxImages(idxBytes([2, 2, 2], sample(8))).dims, [2, 2, 2]);
});

test('a truncated IDX file names the file, the data offset and the incomplete item', () => {
  const full = idxBytes([3, 4, 5], sample(60));
  assertConvnetError(() => readIdx(full.subarray(0, 16 + 45), 'cut-idx3-ubyte'), 'cut-idx3-ubyte', 'truncated', 'byte offset 16', 'ends at byte offset 61', 'item 2', 'byte offset 56');
  // and when gzipped (offsets count in the uncompressed data)
  assertConvnetError(() => readIdx(gzipSync(full.subarray(0, 30)), 'cut.gz'), 'cut.gz', 'truncated', 'ends at byte offset 30');
  // inside the header
  assertConvnetError(() => readIdx(full.subarray(0, 10), 'hdr'), 'hdr', 'inside its header', 'byte offset 10');
  assertConvnetError(() => readIdx(full.subarray(0, 2), 'tiny'), 'tiny', 'byte offset 2');
  // a cut gzip stream
  const gz = gzipSync(idxBytes([100, 28, 28], sample(78400)));
  assertConvnetError(() => readIdx(gz.subarray(0, gz.length - 10), 'cut-stream.gz'), 'cut-stream.gz', 'gzip');
});

test('bad magic numbers, data types and trailing bytes are errors', () => {
  const good = idxBytes([2, 3], sample(6));
  const bad = Buffer.from(good);
  bad[0] = 0x12;
  assertConvnetError(() => readIdx(bad, 'bad-magic'), 'bad-magic', 'bad magic number 0x12000802', 'byte offset 0');
  const float = Buffer.from(good);
  float[2] = 0x0d;
  assertConvnetError(() => readIdx(float, 'floats'), 'floats', 'type float', 'only unsigned byte');
  const unknown = Buffer.from(good);
  unknown[2] = 0x42;
  assertConvnetError(() => readIdx(unknown, 'odd'), 'odd', 'unknown IDX data type 0x42');
  const zeroRank = Buffer.from(good);
  zeroRank[3] = 0;
  assertConvnetError(() => readIdx(zeroRank, 'rank0'), '0 dimensions');
  assertConvnetError(() => readIdx(Buffer.concat([good, Buffer.from([1, 2])]), 'long'), 'long', '2 unexpected bytes', 'byte offset 18');
  assertConvnetError(() => readIdxImages(idxBytes([6], sample(6)), 'notimages'), 'notimages', 'dims [6]');
  assertConvnetError(() => readIdxLabels(idxBytes([2, 3], sample(6)), 'notlabels'), 'notlabels', 'dims [2, 3]');
});

test('a label above 9 names the file, the item and its byte offset', () => {
  assertConvnetError(() => readIdxLabels(idxBytes([5], Uint8Array.from([1, 2, 3, 10, 4])), 'train-labels'), 'train-labels', 'label 10', 'item 3', 'byte offset 11');
});

test('loadMnist: [0, 1] pixels in (N, 1, 28, 28), validation from the end, test in order', () => {
  for (const gzip of [true, false]) {
    const dir = freshDir();
    const f = writeMnistFiles(dir, { trainCount: 24, testCount: 6, seed: 1, gzip });
    const data = loadMnist(dir, { numValidation: 4, numTraining: 18, subtractMean: false, dtype: 'float64' });
    assert.deepEqual(data.XTrain.shape, [18, 1, 28, 28]);
    assert.deepEqual(data.XVal.shape, [4, 1, 28, 28]);
    assert.deepEqual(data.XTest.shape, [6, 1, 28, 28]);
    assert.deepEqual(data.inputDim, [1, 28, 28]);
    assert.equal(data.numClasses, 10);
    for (let i = 0; i < 18 * 784; i++) assert.ok(Math.abs(data.XTrain.data[i]! - f.trainImages[i]! / 255) < 1e-12);
    for (let i = 0; i < 4 * 784; i++) assert.ok(Math.abs(data.XVal.data[i]! - f.trainImages[20 * 784 + i]! / 255) < 1e-12);
    for (let i = 0; i < 6 * 784; i++) assert.ok(Math.abs(data.XTest.data[i]! - f.testImages[i]! / 255) < 1e-12);
    assert.deepEqual([...data.yTrain], [...f.trainLabels.subarray(0, 18)]);
    assert.deepEqual([...data.yVal], [...f.trainLabels.subarray(20, 24)]);
    assert.deepEqual([...data.yTest], [...f.testLabels]);
  }
});

test('loadMnist defaults: float32, mean of the training split subtracted, 1/12 for validation', () => {
  const dir = freshDir();
  const f = writeMnistFiles(dir, { trainCount: 36, testCount: 5, seed: 2 });
  const data = loadMnist(dir);
  assert.equal(data.XTrain.dtype, 'float32');
  assert.equal(data.XVal.shape[0], 3);
  assert.equal(data.XTrain.shape[0], 33);
  assert.ok(data.meanImage !== undefined);
  assert.deepEqual(data.meanImage.shape, [1, 28, 28]);
  const j = 400;
  let mean = 0;
  for (let i = 0; i < 33; i++) mean += f.trainImages[i * 784 + j]! / 255;
  mean /= 33;
  assert.ok(Math.abs(data.meanImage.data[j]! - mean) < 1e-6);
  assert.ok(Math.abs(data.XTest.data[2 * 784 + j]! - (f.testImages[2 * 784 + j]! / 255 - mean)) < 1e-6);
});

test('loadMnist accepts the dotted file names (train-images.idx3-ubyte)', () => {
  const dir = freshDir();
  writeMnistFiles(dir, { gzip: false });
  renameSync(join(dir, 'train-images-idx3-ubyte'), join(dir, 'train-images.idx3-ubyte'));
  assert.equal(loadMnist(dir, { numValidation: 2 }).XTrain.shape[0], 22);
});

test('image / label count mismatches are errors naming both files', () => {
  const dir = freshDir();
  writeMnistFiles(dir, { trainCount: 10, testCount: 4 });
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), idxBytes([9], sample(9).map((v) => v % 10), true));
  assertConvnetError(() => loadMnist(dir), 'train-images-idx3-ubyte.gz holds 10 images', 'train-labels-idx1-ubyte.gz holds 9 labels');
});

test('a bad label in a label file names the file and offset', () => {
  const dir = freshDir();
  writeMnistFiles(dir, { trainCount: 10, testCount: 4 });
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), idxBytes([4], Uint8Array.from([1, 2, 255, 3]), true));
  assertConvnetError(() => loadMnist(dir), join(dir, 't10k-labels-idx1-ubyte.gz'), 'label 255', 'item 2', 'byte offset 10');
});

test('missing files name the expected paths and say how to get them', () => {
  const dir = freshDir();
  writeMnistFiles(dir);
  rmSync(join(dir, 't10k-images-idx3-ubyte.gz'));
  assertConvnetError(() => loadMnist(dir), join(dir, 't10k-images-idx3-ubyte'), '--data PATH');
  assertConvnetError(() => loadFashionMnist(dir), join(dir, 't10k-images-idx3-ubyte'), 'apt-get install dataset-fashion-mnist', '--data PATH');
  const nowhere = join(root, 'nowhere');
  assertConvnetError(() => loadFashionMnist(nowhere), nowhere, 'apt-get install dataset-fashion-mnist', FASHION_MNIST_DIR);
});
