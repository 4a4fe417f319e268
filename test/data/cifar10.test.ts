import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ConvnetError } from '../../src/errors.js';
import { loadCifar10 } from '../../src/data/cifar10.js';
import type { Dataset } from '../../src/data/common.js';
import { cifarRecords, makeTar, writeCifar10Archive, type Cifar10Fixture } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'convnet-cifar-'));
after(() => rmSync(root, { recursive: true, force: true }));

// 5 batches of 12 training images (60 in all) and 15 test images.
const fixture = writeCifar10Archive(join(root, 'official'), { perBatch: 12, testCount: 15, seed: 3 });

let counter = 0;
function freshDir(): string {
  const dir = join(root, `case-${counter++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Copies the extracted fixture's .bin files into a new folder, for tests that corrupt one. */
function copyBins(source: Cifar10Fixture): string {
  const dir = freshDir();
  for (const name of ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']) {
    copyFileSync(join(source.binDir, name), join(dir, name));
  }
  return dir;
}

function assertConvnetError(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConvnetError, `expected a ConvnetError, got ${String(error)}`);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" should mention "${part}"`);
    return true;
  });
}

/** Checks that X[k] is image `first + k` of `images` (R, G, B planes), value by value. */
function assertImages(X: Dataset['XTrain'], images: Uint8Array, first: number, count: number, mean?: ArrayLike<number>): void {
  assert.deepEqual(X.shape, [count, 3, 32, 32]);
  for (let k = 0; k < count; k++) {
    for (let c = 0; c < 3; c++) {
      for (let h = 0; h < 32; h++) {
        for (let w = 0; w < 32; w++) {
          const j = c * 1024 + h * 32 + w;
          const expected = images[(first + k) * 3072 + j]! - (mean === undefined ? 0 : mean[j]!);
          const actual = X.data[((k * 3 + c) * 32 + h) * 32 + w]!;
          if (Math.abs(actual - expected) > 1e-9) {
            assert.fail(`X[${k}, ${c}, ${h}, ${w}] = ${actual}, expected ${expected}`);
          }
        }
      }
    }
  }
}

test('a hand-made record lands in NCHW with channels R, G, B', () => {
  const dir = freshDir();
  const image = new Uint8Array(3072);
  // R plane: row-major pixel index mod 251; G: 100 at (h=1, w=2); B: 200 at (h=31, w=0).
  for (let i = 0; i < 1024; i++) image[i] = i % 251;
  image[1024 + 1 * 32 + 2] = 100;
  image[2048 + 31 * 32 + 0] = 200;
  const record = cifarRecords(image, [7]);
  for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), record);
  writeFileSync(join(dir, 'test_batch.bin'), record);
  const data = loadCifar10(dir, { subtractMean: false, dtype: 'float64', numValidation: 1 });
  const X = data.XTrain;
  assert.deepEqual(X.shape, [4, 3, 32, 32]);
  const at = (c: number, h: number, w: number): number => X.data[(c * 32 + h) * 32 + w]!;
  assert.equal(at(0, 0, 0), 0);
  assert.equal(at(0, 3, 5), (3 * 32 + 5) % 251);
  assert.equal(at(0, 31, 31), 1023 % 251);
  assert.equal(at(1, 1, 2), 100);
  assert.equal(at(1, 2, 1), 0);
  assert.equal(at(2, 31, 0), 200);
  assert.equal(at(2, 0, 31), 0);
  assert.deepEqual([...data.yTrain], [7, 7, 7, 7]);
  assert.deepEqual([...data.yTest], [7]);
});

test('loads cifar-10-binary.tar.gz directly: pixels, labels and the split', () => {
  const data = loadCifar10(fixture.archivePath, { numTraining: 50, numValidation: 10, subtractMean: false, dtype: 'float64' });
  assert.equal(data.XTrain.dtype, 'float64');
  assertImages(data.XTrain, fixture.trainImages, 0, 50);
  assert.deepEqual([...data.yTrain], [...fixture.trainLabels.subarray(0, 50)]);
  // validation: the last 10 of the 60 training images
  assertImages(data.XVal, fixture.trainImages, 50, 10);
  assert.deepEqual([...data.yVal], [...fixture.trainLabels.subarray(50, 60)]);
  assertImages(data.XTest, fixture.testImages, 0, 15);
  assert.deepEqual([...data.yTest], [...fixture.testLabels]);
  assert.equal(data.numClasses, 10);
  assert.deepEqual(data.inputDim, [3, 32, 32]);
  assert.equal(data.classNames[0], 'airplane');
  assert.equal(data.classNames[9], 'truck');
  assert.equal(data.meanImage, undefined);
});

test('the validation set comes from the end, whatever numTraining is', () => {
  const data = loadCifar10(fixture.archivePath, { numTraining: 20, numValidation: 5, numTest: 4, subtractMean: false });
  assertImages(data.XTrain, fixture.trainImages, 0, 20);
  assertImages(data.XVal, fixture.trainImages, 55, 5);
  assertImages(data.XTest, fixture.testImages, 0, 4);
  assert.deepEqual([...data.yTest], [...fixture.testLabels.subarray(0, 4)]);
});

test('the extracted folder (or its parent) gives the same data as the archive', () => {
  const options = { numTraining: 40, numValidation: 8, numTest: 15 };
  const fromTar = loadCifar10(fixture.archivePath, options);
  const fromBin = loadCifar10(fixture.binDir, options);
  const fromParent = loadCifar10(join(root, 'official'), options);
  for (const other of [fromBin, fromParent]) {
    for (const key of ['XTrain', 'XVal', 'XTest', 'meanImage'] as const) {
      assert.deepEqual(other[key]!.shape, fromTar[key]!.shape);
      assert.ok(Buffer.from(other[key]!.data.buffer).equals(Buffer.from(fromTar[key]!.data.buffer)), `${key} differs`);
    }
    assert.deepEqual([...other.yTrain], [...fromTar.yTrain]);
    assert.deepEqual([...other.yVal], [...fromTar.yVal]);
    assert.deepEqual([...other.yTest], [...fromTar.yTest]);
  }
});

test('a folder holding only the downloaded archive works', () => {
  const dir = freshDir();
  copyFileSync(fixture.archivePath, join(dir, 'cifar-10-binary.tar.gz'));
  const data = loadCifar10(dir, { numValidation: 10 });
  assert.equal(data.XTrain.shape[0], 50);
});

test('defaults: float32, mean subtracted, the same proportions as 49,000 / 1,000 on a small set', () => {
  const data = loadCifar10(fixture.archivePath);
  assert.equal(data.XTrain.dtype, 'float32');
  assert.ok(data.XTrain.data instanceof Float32Array);
  // 60 training images: 2% validation would be 1.2 -> 1
  assert.equal(data.XTrain.shape[0], 59);
  assert.equal(data.XVal.shape[0], 1);
  assert.equal(data.XTest.shape[0], 15);
  assert.ok(data.meanImage !== undefined);
  assert.deepEqual(data.meanImage.shape, [3, 32, 32]);
  assert.equal(data.meanImage.dtype, 'float32');
});

test('mean subtraction: the mean of the training split is subtracted from every split', () => {
  const numTraining = 45;
  const data = loadCifar10(fixture.archivePath, { numTraining, numValidation: 10, dtype: 'float64' });
  const mean = new Float64Array(3072);
  for (let i = 0; i < numTraining; i++) for (let j = 0; j < 3072; j++) mean[j] += fixture.trainImages[i * 3072 + j]!;
  for (let j = 0; j < 3072; j++) mean[j] /= numTraining;
  assert.ok(data.meanImage !== undefined);
  for (let j = 0; j < 3072; j++) assert.ok(Math.abs(data.meanImage.data[j]! - mean[j]!) < 1e-9);
  assertImages(data.XTrain, fixture.trainImages, 0, numTraining, mean);
  assertImages(data.XVal, fixture.trainImages, 50, 10, mean);
  assertImages(data.XTest, fixture.testImages, 0, 15, mean);
  // the training split is centred
  let total = 0;
  for (let i = 0; i < numTraining; i++) total += data.XTrain.data[i * 3072 + 5]!;
  assert.ok(Math.abs(total) < 1e-8);
});

test('scale multiplies the raw bytes before the mean is taken', () => {
  const data = loadCifar10(fixture.archivePath, { scale: 1 / 255, subtractMean: false, dtype: 'float64', numValidation: 1 });
  for (let j = 0; j < 3072 * 3; j += 97) {
    assert.ok(Math.abs(data.XTrain.data[j]! - fixture.trainImages[j]! / 255) < 1e-12);
  }
});

test('a batch whose size is not a multiple of 3073 names the file and the truncated record', () => {
  const dir = copyBins(fixture);
  const path = join(dir, 'data_batch_3.bin');
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, 5 * 3073 + 1000));
  assertConvnetError(() => loadCifar10(dir), path, 'not a multiple of the 3073-byte record size', 'record 5', `byte offset ${5 * 3073}`);
});

test('a label byte above 9 names the file, the record and its byte offset', () => {
  const dir = copyBins(fixture);
  const path = join(dir, 'test_batch.bin');
  const bytes = readFileSync(path);
  bytes[4 * 3073] = 12;
  writeFileSync(path, bytes);
  assertConvnetError(() => loadCifar10(dir), path, 'label 12', 'record 4', `byte offset ${4 * 3073}`);
});

test('errors inside the archive name the archive, the member and the offsets', () => {
  const dir = freshDir();
  const good = readFileSync(join(fixture.binDir, 'data_batch_1.bin'));
  const bad = Buffer.from(good);
  bad[2 * 3073] = 10;
  const entries = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'].map((name) => ({
    name: `cifar-10-batches-bin/${name}`,
    data: name === 'data_batch_2.bin' ? bad : readFileSync(join(fixture.binDir, name)),
  }));
  const archive = join(dir, 'cifar-10-binary.tar.gz');
  writeFileSync(archive, gzipSync(makeTar(entries)));
  // header of batch 1 at 0, its data at 512 (36,864 + 512 bytes with padding), header of batch 2 after
  const batch2Data = 512 + Math.ceil((12 * 3073) / 512) * 512 + 512;
  assertConvnetError(
    () => loadCifar10(archive),
    archive,
    'cifar-10-batches-bin/data_batch_2.bin',
    'record 2',
    `byte offset ${2 * 3073}`,
    `byte offset ${batch2Data + 2 * 3073} of the uncompressed tar`,
  );
});

test('a truncated archive is an error naming it', () => {
  const dir = freshDir();
  const archive = join(dir, 'cifar-10-binary.tar.gz');
  const bytes = readFileSync(fixture.archivePath);
  writeFileSync(archive, bytes.subarray(0, Math.floor(bytes.length / 2)));
  assertConvnetError(() => loadCifar10(archive), archive, 'gzip');
});

test('missing files say which and how to get the dataset', () => {
  const dir = copyBins(fixture);
  rmSync(join(dir, 'data_batch_4.bin'));
  assertConvnetError(() => loadCifar10(dir), join(dir, 'data_batch_4.bin'), 'cifar-10-binary.tar.gz', '--data PATH');
  const empty = freshDir();
  assertConvnetError(() => loadCifar10(empty), empty, 'data_batch_1.bin', 'cifar-10-binary.tar.gz');
  assertConvnetError(() => loadCifar10(join(root, 'nowhere')), join(root, 'nowhere'), 'cifar-10-binary.tar.gz');
  const partial = join(freshDir(), 'cifar-10-binary.tar.gz');
  writeFileSync(partial, gzipSync(makeTar([{ name: 'cifar-10-batches-bin/data_batch_1.bin', data: readFileSync(join(fixture.binDir, 'data_batch_1.bin')) }])));
  assertConvnetError(() => loadCifar10(partial), partial, 'data_batch_2.bin', 'test_batch.bin');
});

test('bad options are errors', () => {
  assertConvnetError(() => loadCifar10(fixture.archivePath, { numTraining: 60, numValidation: 1 }), 'numTraining + numValidation <= 60');
  assertConvnetError(() => loadCifar10(fixture.archivePath, { numTest: 16 }), 'numTest <= 15');
  assertConvnetError(() => loadCifar10(fixture.archivePath, { dtype: 'int8' as never }), 'dtype');
  assertConvnetError(() => loadCifar10(fixture.archivePath, { numTrain: 5 } as never), 'unknown option "numTrain"');
  assertConvnetError(() => loadCifar10(join(fixture.binDir, 'data_batch_1.bin')), 'single batch file');
});
