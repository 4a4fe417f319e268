// loadImageFolder: layouts, the seeded stratified split, channels and resizing as predict does
// them, the same tensors on any number of workers, the decode cache, and every kind of bad input.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadImageFolder, type ImageFolderOptions } from '../../src/data/index.js';
import { cropToAspect, decodeImage, imageToInput, jpegComponents, readImage, resizeBilinear, toPlanes } from '../../src/data/image.js';
import { ConvnetError } from '../../src/errors.js';
import { greyPng, rgbaPng, rgbJpeg, rgbPng } from './folderFixture.js';

const root = mkdtempSync(join(tmpdir(), 'convnet-folder-'));
let counter = 0;

/** A fresh folder holding `files` (relative path → bytes or text). */
function folder(files: Record<string, Buffer | string>): string {
  const dir = join(root, `f${counter++}`);
  for (const [rel, bytes] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), bytes);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A grey w×h picture whose values depend on (seed, x, y): every file differs. */
function pattern(w: number, h: number, seed: number): number[] {
  return Array.from({ length: w * h }, (_, p) => (seed * 37 + (p % w) * 11 + Math.floor(p / w) * 5 + ((p * seed) % 7) * 13) % 256);
}

function greyFile(seed: number, w = 6, h = 5): Buffer {
  return greyPng(w, h, pattern(w, h, seed));
}

function colourFile(seed: number, w = 6, h = 5): Buffer {
  return rgbPng(w, h, pattern(w, h, seed).flatMap((v, i) => [v, (v * 3 + i) % 256, 255 - v]));
}

/** `perClass` grey pictures in each class folder. */
function classesFolder(classes: string[], perClass: number, make: (seed: number) => Buffer = greyFile): string {
  const files: Record<string, Buffer> = {};
  classes.forEach((name, c) => {
    for (let k = 0; k < perClass; k++) files[`${name}/${String(k).padStart(3, '0')}.png`] = make(c * 1000 + k);
  });
  return folder(files);
}

const NO_CACHE: ImageFolderOptions = { cache: false, workers: 0, size: 4 };

function rejectsWith(pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof ConvnetError, `expected a ConvnetError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('layout and split', () => {
  test('class names are the folder names, sorted; each class is split by the seeded permutation (stratified)', async () => {
    const dir = classesFolder(['zebra', 'ant', 'Moth'], 20);
    const data = await loadImageFolder(dir, { ...NO_CACHE, valFraction: 0.1, testFraction: 0.25 });
    assert.deepEqual(data.classNames, ['Moth', 'ant', 'zebra']); // code-unit order
    assert.equal(data.numClasses, 3);
    assert.equal(data.layout, 'classes');
    const count = (y: Int32Array, c: number): number => y.filter((v) => v === c).length;
    for (let c = 0; c < 3; c++) {
      assert.equal(count(data.yTest, c), 5); // round(20 · 0.25)
      assert.equal(count(data.yVal, c), 2); // round(20 · 0.1)
      assert.equal(count(data.yTrain, c), 13);
    }
    const all = [...data.files.train, ...data.files.val, ...data.files.test];
    assert.equal(new Set(all).size, 60, 'every file in exactly one split');
    // Labels agree with the folder each file is in.
    data.files.test.forEach((file, i) => assert.ok(file.includes(`/${data.classNames[data.yTest[i]!]}/`)));
    const again = await loadImageFolder(dir, { ...NO_CACHE, valFraction: 0.1, testFraction: 0.25 });
    assert.deepEqual(again.files, data.files, 'the same seed gives the same split');
    const other = await loadImageFolder(dir, { ...NO_CACHE, valFraction: 0.1, testFraction: 0.25, seed: 7 });
    assert.notDeepEqual(other.files.test, data.files.test);
  });

  test('a small class keeps at least one training image', async () => {
    const dir = folder({ 'a/1.png': greyFile(1), 'b/1.png': greyFile(2), 'b/2.png': greyFile(3), 'b/3.png': greyFile(4) });
    const data = await loadImageFolder(dir, { ...NO_CACHE, valFraction: 0.3, testFraction: 0.3 });
    assert.deepEqual([...data.yTrain].sort(), [0, 1]);
    assert.equal(data.yTest.length + data.yVal.length, 2);
  });

  test('train/ val/ test/ folders give the split; class names from train/; files in nested folders count', async () => {
    const dir = folder({
      'train/cat/1.png': greyFile(1),
      'train/cat/more/2.png': greyFile(2),
      'train/dog/1.png': greyFile(3),
      'train/dog/2.png': greyFile(4),
      'val/dog/1.png': greyFile(5),
      'test/cat/1.png': greyFile(6),
      'test/dog/1.png': greyFile(7),
      'README.md': 'my pictures\n',
    });
    const data = await loadImageFolder(dir, NO_CACHE);
    assert.equal(data.layout, 'splits');
    assert.deepEqual(data.classNames, ['cat', 'dog']);
    assert.deepEqual(data.files.train.map((f) => f.slice(dir.length + 1)), ['train/cat/1.png', 'train/cat/more/2.png', 'train/dog/1.png', 'train/dog/2.png']);
    assert.deepEqual([...data.yVal], [1]);
    assert.deepEqual(data.files.test.map((f) => f.slice(dir.length + 1)), ['test/cat/1.png', 'test/dog/1.png']);
  });

  test('a linked class folder counts; a broken link is an error naming it', async () => {
    const elsewhere = classesFolder(['c'], 2);
    const dir = classesFolder(['a', 'b'], 2);
    symlinkSync(join(elsewhere, 'c'), join(dir, 'c'));
    const data = await loadImageFolder(dir, { ...NO_CACHE, valFraction: 0, testFraction: 0 });
    assert.deepEqual(data.classNames, ['a', 'b', 'c']);
    assert.equal(data.yTrain.filter((y) => y === 2).length, 2);
    symlinkSync(join(elsewhere, 'gone'), join(dir, 'd'));
    await assert.rejects(loadImageFolder(dir, NO_CACHE), rejectsWith(/cannot read \S+\/d \(ENOENT\): a broken link\?/));
  });

  test('without val/ and test/ folders, they are split off train/ per class', async () => {
    const files: Record<string, Buffer> = {};
    for (let k = 0; k < 10; k++) {
      files[`train/a/${k}.png`] = greyFile(k);
      files[`train/b/${k}.png`] = greyFile(100 + k);
    }
    files['val/a/x.png'] = greyFile(50);
    const data = await loadImageFolder(folder(files), { ...NO_CACHE, valFraction: 0.2, testFraction: 0.2 });
    assert.equal(data.yVal.length, 1, 'val/ is given: nothing is split off for it');
    assert.equal(data.yTest.length, 4, 'test/ is missing: 2 of each class');
    assert.equal(data.yTrain.length, 16);
  });
});

describe('pixels', () => {
  test('every image is what convnet predict makes of the file (decode, channels, resize, scale, mean)', async () => {
    const dir = folder({
      'a/grey.png': greyFile(1, 9, 7),
      'a/colour.jpg': rgbJpeg(12, 8, pattern(12, 8, 2).flatMap((v) => [v, 255 - v, v / 2])),
      'b/colour.png': colourFile(3, 5, 11),
      'b/alpha.png': rgbaPng(4, 4, pattern(4, 4, 4).flatMap((v, i) => [v, v, 255 - v, (i * 40) % 256])),
    });
    for (const resize of ['bilinear', 'crop'] as const) {
      const data = await loadImageFolder(dir, { cache: false, workers: 0, size: [6, 5], channels: 3, resize, valFraction: 0, testFraction: 0, dtype: 'float64' });
      assert.deepEqual(data.inputDim, [3, 6, 5]);
      const D = 3 * 6 * 5;
      data.files.train.forEach((file, i) => {
        const expected = imageToInput(readImage(file), { inputShape: [3, 6, 5], dtype: 'float64', crop: resize === 'crop', preprocessing: { scale: data.scale, mean: data.meanImage! } });
        const got = data.XTrain.data.subarray(i * D, (i + 1) * D);
        // The dataset keeps pixels as float32: equal to within that rounding (0..255 · 2⁻²⁴, times 1/255).
        expected.data.forEach((v, j) => assert.ok(Math.abs(v - got[j]!) < 1e-7, `${file}[${j}]: ${got[j]} vs ${v}`));
      });
    }
  });

  test('the mean training image is subtracted and the scale is 1/255 by default; both can be changed', async () => {
    const dir = classesFolder(['a', 'b'], 4);
    const data = await loadImageFolder(dir, { ...NO_CACHE, valFraction: 0, testFraction: 0 });
    assert.equal(data.scale, 1 / 255);
    const D = 16;
    for (let j = 0; j < D; j++) {
      let sum = 0;
      for (let i = 0; i < 8; i++) sum += data.XTrain.data[i * D + j]!;
      assert.ok(Math.abs(sum / 8) < 1e-6, 'the training split has zero mean');
    }
    const raw = await loadImageFolder(dir, { ...NO_CACHE, valFraction: 0, testFraction: 0, subtractMean: false, scale: 1 });
    assert.equal(raw.meanImage, undefined);
    const expected = resizeBilinear(toPlanes(readImage(raw.files.train[0]!), 1), 4, 4).data;
    expected.forEach((v, j) => assert.equal(raw.XTrain.data[j], Math.fround(v)));
  });

  test('channels: grey pictures give 1 channel, colour ones 3; given channels convert (luma, or grey repeated)', async () => {
    const grey = await loadImageFolder(classesFolder(['a', 'b'], 2), NO_CACHE);
    assert.equal(grey.inputDim[0], 1);
    const colour = await loadImageFolder(classesFolder(['a', 'b'], 2, colourFile), NO_CACHE);
    assert.equal(colour.inputDim[0], 3);
    const dir = classesFolder(['a', 'b'], 2);
    const as3 = await loadImageFolder(dir, { ...NO_CACHE, channels: 3, subtractMean: false, valFraction: 0, testFraction: 0 });
    const as1 = await loadImageFolder(dir, { ...NO_CACHE, channels: 1, subtractMean: false, valFraction: 0, testFraction: 0 });
    for (let j = 0; j < 16; j++) for (let c = 0; c < 3; c++) assert.equal(as3.XTrain.data[c * 16 + j], as1.XTrain.data[j]);
    const crop = cropToAspect(toPlanes(readImage(as1.files.train[0]!), 1), 4, 4);
    assert.equal(crop.height, 5, 'a 6×5 picture is cropped to 5×5');
  });

  test('grey or colour is what the file stores: PNG colour types, the JPEG frame header\'s component count', () => {
    assert.equal(decodeImage(greyFile(1), 'g').grey, true);
    assert.equal(decodeImage(colourFile(1), 'c').grey, false);
    assert.equal(decodeImage(rgbaPng(2, 1, [9, 9, 9, 255, 7, 7, 7, 100]), 'a').grey, false, 'RGBA stores colour, even of grey values');
    assert.equal(decodeImage(rgbJpeg(8, 8, new Array(192).fill(100)), 'j').grey, false, 'jpeg-js writes three components');
    // SOI, an APP0 segment (length 16), a fill byte, then SOF0: length 11, precision 8, 2×3, Nf.
    const sof = (nf: number, marker = 0xc0): Uint8Array =>
      Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, ...new Array(14).fill(0), 0xff, 0xff, marker, 0, 11, 8, 0, 2, 0, 3, nf, 1, 0x11, 0]);
    assert.equal(jpegComponents(sof(1)), 1);
    assert.equal(jpegComponents(sof(3, 0xc2)), 3, 'progressive');
    assert.equal(jpegComponents(sof(1, 0xc4)), 0, 'C4 is a Huffman table, not a frame');
  });

  test('the tensors are the same whatever the number of decode workers', async () => {
    const dir = classesFolder(['a', 'b', 'c'], 23, (seed) => (seed % 3 === 0 ? colourFile(seed, 7 + (seed % 5), 6) : greyFile(seed, 5, 8)));
    const runs = [];
    for (const workers of [0, 1, 3]) runs.push(await loadImageFolder(dir, { cache: false, workers, size: 5, channels: 3 }));
    assert.equal(runs[1]!.workers, 1);
    assert.equal(runs[2]!.workers, 3);
    for (const run of runs.slice(1)) {
      assert.deepEqual(run.files, runs[0]!.files);
      assert.deepEqual(run.XTrain, runs[0]!.XTrain);
      assert.deepEqual(run.XTest, runs[0]!.XTest);
      assert.deepEqual(run.meanImage, runs[0]!.meanImage);
    }
  });
});

describe('the decode cache', () => {
  /** Every image file under dir (not the cache). */
  function imageFiles(dir: string): string[] {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((rel) => !rel.startsWith('.') && statSync(join(dir, rel)).isFile())
      .map((rel) => join(dir, rel));
  }
  const T = 1_700_000_000; // a whole second, so that setting it again gives the same mtimeMs

  test('a second run reads no image file: same tensors with every image replaced by zeros of the same size and mtime', async () => {
    const dir = classesFolder(['a', 'b', 'c'], 20, (seed) => (seed % 2 ? colourFile(seed) : greyFile(seed)));
    for (const file of imageFiles(dir)) utimesSync(file, T, T);
    const options: ImageFolderOptions = { size: 6, channels: 3, workers: 2 };
    const first = await loadImageFolder(dir, options);
    assert.equal(first.cache.hit, false);
    assert.equal(first.decoded, 60);
    assert.ok(first.cache.path!.startsWith(join(dir, '.convnet-cache')));
    assert.ok(statSync(first.cache.path!).size > 60 * 3 * 36 * 4);
    // Destroy every image but keep its size and modification time: a run that read one would fail.
    for (const file of imageFiles(dir)) {
      writeFileSync(file, Buffer.alloc(statSync(file).size));
      utimesSync(file, T, T);
    }
    let progress: number[] = [];
    const second = await loadImageFolder(dir, { ...options, onProgress: (done, total) => (progress = [done, total]) });
    assert.equal(second.cache.hit, true);
    assert.equal(second.decoded, 0);
    assert.deepEqual(progress, [60, 60]);
    for (const key of ['XTrain', 'XVal', 'XTest', 'yTrain', 'yVal', 'yTest', 'meanImage', 'files', 'classNames', 'scale'] as const) {
      assert.deepEqual(second[key], first[key], key);
    }
    // A changed modification time is a changed file: that one alone is decoded again (and found to be no image).
    utimesSync(join(dir, 'b', '003.png'), T + 1, T + 1);
    await assert.rejects(loadImageFolder(dir, options), rejectsWith(/^loadImageFolder: [^ ]*\/b\/003\.png: expected a PNG or JPEG image, got unknown bytes 00 00 00 00; remove or replace it/));
  });

  test('other options are another cache; a new or changed file is decoded alone, a removed one leaves the cache', async () => {
    const dir = classesFolder(['a', 'b'], 3);
    assert.equal((await loadImageFolder(dir, { size: 4, workers: 0 })).decoded, 6);
    assert.equal((await loadImageFolder(dir, { size: 4, workers: 0 })).cache.hit, true);
    assert.equal((await loadImageFolder(dir, { size: 5, workers: 0 })).decoded, 6, 'another size');
    assert.equal((await loadImageFolder(dir, { size: 4, workers: 0, resize: 'crop' })).decoded, 6, 'another resize');
    assert.equal((await loadImageFolder(dir, { size: 4, workers: 0, channels: 3 })).decoded, 6, 'other channels');
    writeFileSync(join(dir, 'a', 'new.png'), greyFile(99));
    writeFileSync(join(dir, 'b', '001.png'), greyFile(98, 7, 7)); // another size in bytes
    const changed = await loadImageFolder(dir, { size: 4, workers: 0 });
    assert.equal(changed.decoded, 2, 'the new file and the changed one');
    assert.equal(changed.yTrain.length + changed.yVal.length + changed.yTest.length, 7);
    const fresh = await loadImageFolder(dir, { size: 4, workers: 0, cache: false });
    assert.deepEqual(changed.XTrain, fresh.XTrain, 'the same tensors as decoding everything');
    const size = statSync(changed.cache.path!).size;
    rmSync(join(dir, 'a', 'new.png'));
    assert.equal((await loadImageFolder(dir, { size: 4, workers: 0 })).cache.hit, true);
    assert.ok(statSync(changed.cache.path!).size < size - 16 * 4, 'rewritten without the removed file (its 4×4 float32 pixels and its record)');
  });

  test('a damaged cache file is reported and rebuilt; cacheDir puts it elsewhere; cache: false writes none', async () => {
    const dir = classesFolder(['a', 'b'], 3);
    const cacheDir = join(root, `cache${counter++}`);
    const first = await loadImageFolder(dir, { size: 4, workers: 0, cacheDir });
    assert.ok(first.cache.path!.startsWith(cacheDir));
    writeFileSync(first.cache.path!, 'CNVIMGC1 and then nonsense');
    const warnings: string[] = [];
    const again = await loadImageFolder(dir, { size: 4, workers: 0, cacheDir, onWarning: (m) => warnings.push(m) });
    assert.equal(again.cache.hit, false);
    assert.match(warnings.join('\n'), /the decode cache .*images-4x4-auto-bilinear\.bin is damaged .*decoding the images again/);
    assert.deepEqual(again.XTrain, first.XTrain);
    assert.equal((await loadImageFolder(dir, { size: 4, workers: 0, cacheDir })).cache.hit, true, 'rewritten');
    const none = await loadImageFolder(dir, { size: 4, workers: 0, cache: false });
    assert.equal(none.cache.path, null);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), [], 'nothing written beside the data');
  });

  test('a cache folder that cannot be written is a warning, not a failure', async () => {
    const dir = classesFolder(['a', 'b'], 2);
    const blocker = join(root, `file${counter++}`);
    writeFileSync(blocker, 'a file where the cache folder should be');
    const warnings: string[] = [];
    const data = await loadImageFolder(dir, { size: 4, workers: 0, cacheDir: join(blocker, 'cache'), onWarning: (m) => warnings.push(m) });
    assert.equal(data.yTrain.length + data.yVal.length + data.yTest.length, 4);
    assert.match(warnings.join('\n'), /cannot write the decode cache .*the next run decodes the images again/);
  });
});

describe('bad input: a ConvnetError naming the file, or with skipBadImages a warning naming it', () => {
  test('an empty class folder', async () => {
    const dir = classesFolder(['a', 'b'], 2);
    mkdirSync(join(dir, 'c'));
    await assert.rejects(loadImageFolder(dir, NO_CACHE), rejectsWith(/\/c: an empty class folder: put the images of class "c" in it, or remove it/));
    await assert.rejects(loadImageFolder(dir, { ...NO_CACHE, skipBadImages: true }), rejectsWith(/\/c: an empty class folder/));
  });

  test('a file that is not an image', async () => {
    const dir = classesFolder(['a', 'b'], 3);
    writeFileSync(join(dir, 'b', 'notes.txt'), 'taken on holiday\n');
    await assert.rejects(loadImageFolder(dir, NO_CACHE), rejectsWith(/^loadImageFolder: .*\/b\/notes\.txt: expected a PNG or JPEG image, got a text file; remove or replace it, or skip bad files with a warning \(skipBadImages, --skip-bad-images\)$/));
    const warnings: string[] = [];
    const data = await loadImageFolder(dir, { ...NO_CACHE, skipBadImages: true, onWarning: (m) => warnings.push(m) });
    assert.deepEqual(warnings, [`skipped ${join(dir, 'b', 'notes.txt')}: expected a PNG or JPEG image, got a text file`]);
    assert.deepEqual(data.skipped.map((s) => s.file), [join(dir, 'b', 'notes.txt')]);
    assert.equal(data.yTrain.length + data.yVal.length + data.yTest.length, 6);
  });

  test('a truncated image (and several bad files are counted)', async () => {
    const dir = classesFolder(['a', 'b'], 3);
    writeFileSync(join(dir, 'a', 'cut.png'), greyFile(5).subarray(0, 45));
    writeFileSync(join(dir, 'b', 'cut.jpg'), rgbJpeg(16, 16, pattern(16, 16, 3).flatMap((v) => [v, v, v])).subarray(0, 200));
    await assert.rejects(
      loadImageFolder(dir, NO_CACHE),
      rejectsWith(/\/a\/cut\.png: cannot decode this PNG \(the data ends early\): the file is truncated or corrupt \(and 1 more bad file: .*\/b\/cut\.jpg\)/),
    );
    const warnings: string[] = [];
    const data = await loadImageFolder(dir, { ...NO_CACHE, skipBadImages: true, onWarning: (m) => warnings.push(m) });
    assert.equal(warnings.length, 2);
    assert.match(warnings[1]!, /b\/cut\.jpg: cannot decode this JPEG .*truncated or corrupt/);
    assert.equal(data.skipped.length, 2);
  });

  test('a class whose every file is bad is empty once they are skipped', async () => {
    const dir = classesFolder(['a', 'b'], 2);
    mkdirSync(join(dir, 'c'));
    writeFileSync(join(dir, 'c', 'x.png'), 'not a png');
    await assert.rejects(loadImageFolder(dir, { ...NO_CACHE, skipBadImages: true, onWarning: () => undefined }), rejectsWith(/\/c: no readable images left in class folder "c" after skipping its bad files/));
  });

  test('a folder with one class, or none', async () => {
    await assert.rejects(loadImageFolder(classesFolder(['only'], 3), NO_CACHE), rejectsWith(/has one class folder \(only\/\): a classifier needs at least 2 classes/));
    await assert.rejects(loadImageFolder(folder({ 'README.md': 'x' }), NO_CACHE), rejectsWith(/has no class folders: a classifier needs at least 2 classes/));
    await assert.rejects(loadImageFolder(folder({ 'train/a/1.png': greyFile(1) }), NO_CACHE), rejectsWith(/train has one class folder \(a\/\)/));
  });

  test('mixed channel counts: grey and colour pictures without channels', async () => {
    const dir = folder({ 'a/1.png': greyFile(1), 'a/2.png': colourFile(2), 'b/1.png': greyFile(3) });
    await assert.rejects(
      loadImageFolder(dir, NO_CACHE),
      rejectsWith(/mixes grey and colour images \(.*\/a\/1\.png is grey, .*\/a\/2\.png is colour\): give channels 1 or 3 \(--channels 1\|3\) to convert them all/),
    );
    assert.equal((await loadImageFolder(dir, { ...NO_CACHE, channels: 1 })).inputDim[0], 1);
    assert.equal((await loadImageFolder(dir, { ...NO_CACHE, channels: 3 })).inputDim[0], 3);
  });

  test('an image beside the class folders belongs to no class', async () => {
    const dir = classesFolder(['a', 'b'], 2);
    writeFileSync(join(dir, 'stray.png'), greyFile(9));
    await assert.rejects(loadImageFolder(dir, NO_CACHE), rejectsWith(/stray\.png: an image beside the class folders of .* belongs to no class/));
  });

  test('split folders beside class folders, and a class that train/ does not have', async () => {
    const mixed = folder({ 'train/a/1.png': greyFile(1), 'train/b/1.png': greyFile(2), 'c/1.png': greyFile(3) });
    await assert.rejects(loadImageFolder(mixed, NO_CACHE), rejectsWith(/has a train\/ folder, so .* but it also has c\//));
    const unknown = folder({ 'train/a/1.png': greyFile(1), 'train/b/1.png': greyFile(2), 'test/z/1.png': greyFile(3) });
    await assert.rejects(loadImageFolder(unknown, NO_CACHE), rejectsWith(/test\/z: a class folder that .*train does not have \(its classes: a, b\)/));
  });

  test('a missing folder, a file instead of a folder, bad options', async () => {
    await assert.rejects(loadImageFolder(join(root, 'nowhere'), NO_CACHE), rejectsWith(/cannot find the folder .*nowhere/));
    const file = join(root, `plain${counter++}.txt`);
    writeFileSync(file, 'x');
    await assert.rejects(loadImageFolder(file, NO_CACHE), rejectsWith(/is a file: expected a folder with one sub-folder of images per class/));
    await assert.rejects(loadImageFolder(root, { ...NO_CACHE, size: 0 }), rejectsWith(/expected size to be a whole number from 1 to 4096/));
    await assert.rejects(loadImageFolder(root, { ...NO_CACHE, channels: 2 as 1 }), rejectsWith(/expected channels to be 1 or 3, got 2/));
    await assert.rejects(loadImageFolder(root, { ...NO_CACHE, valFraction: 0.5, testFraction: 0.5 }), rejectsWith(/valFraction \+ testFraction < 1/));
    await assert.rejects(loadImageFolder(root, { ...NO_CACHE, sise: 3 } as ImageFolderOptions), rejectsWith(/unknown option "sise"/));
  });
});

after(() => rmSync(root, { recursive: true, force: true }));
