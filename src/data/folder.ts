/**
 * A folder of the user's own pictures as a Dataset, the way torchvision's ImageFolder and Keras'
 * image_dataset_from_directory read one:
 *
 *   DIR/cat/001.jpg, DIR/cat/002.png, …      one sub-folder per class (class names: the folder
 *   DIR/dog/…                                names, sorted); files of any size, PNG or JPEG told
 *                                            apart by their bytes (names do not matter), in
 *                                            sub-folders of a class folder too
 * or, with the split given by folders:
 *   DIR/train/cat/…, DIR/train/dog/…         the classes are train/'s sub-folders;
 *   DIR/val/cat/…, DIR/test/cat/…            val/ and test/ are optional (a missing one is split
 *                                            off train/ as below)
 *
 * Without split folders, each class is split on its own (stratified) by a seeded permutation:
 * of a class's n images, round(n · testFraction) go to test and round(n · valFraction) to val
 * (each capped so that at least one stays in train), the rest to train.
 *
 * Every image becomes (C, H, W) pixels 0..255 by the steps `convnet predict` takes
 * (src/data/image.ts: RGBA → C channels, optional centre crop, bilinear resize), then
 * pixel · scale − mean like every other dataset (common.ts assemble), so that a model file made
 * from it (its scale and mean image) treats new pictures the way training did.
 *
 * Channels: with `channels` given, every image is converted (colour → grey: Rec. 601 luma;
 * grey → colour: the grey value in R, G and B). Without it the images must agree: all grey → 1,
 * all colour → 3; a folder mixing both is an error naming a file of each kind, since which way
 * to convert is the user's choice. Transparency is composited on black, as `convnet predict`
 * does, so training and prediction see the same pixels.
 *
 * Names starting with '.' are ignored (.DS_Store, the cache folder); files beside the class
 * folders that are not images (a README) are ignored, an image there is an error (it belongs to
 * no class). Every other file must be an image: a file that is not one, or is truncated, is an
 * error naming it — or, with skipBadImages, a warning naming it; an empty class folder and a
 * folder with fewer than two classes are errors. Nothing is dropped silently.
 *
 * Decoding runs on worker threads (all cores by default) and is cached: one binary file per set
 * of decoding options (size, channels, resize) holding every file's pixels under its name, size
 * and modification time, written atomically into cacheDir (default DIR/.convnet-cache). A second
 * run reads no image file; after pictures are added or changed, only those are decoded.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, type Dirent } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ConvnetError, fail, show } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { permutation, rng, type Rng } from '../rng.js';
import { assemble, checkBoolean, checkDtypeOption, checkOptions, checkScale, type Dataset } from './common.js';
import { decodeFile, type DecodeReply, type DecodeRequest, type DecodeResult } from './folderDecode.js';
import { sniffImage, type PixelOptions } from './image.js';

export interface ImageFolderOptions {
  /** Output size: H = W = size, or [H, W]. Default 32. */
  size?: number | [number, number];
  /** 1 (grey) or 3 (RGB): convert every image to it. Default: what the images are (all alike). */
  channels?: 1 | 3;
  /** 'bilinear': stretch the whole image to the size; 'crop': centre-crop to its aspect ratio first. Default 'bilinear'. */
  resize?: 'bilinear' | 'crop';
  /** Share of each class for validation, without a val/ folder. Default 0.1. */
  valFraction?: number;
  /** Share of each class for test, without a test/ folder. Default 0.1. */
  testFraction?: number;
  /** Seed of the split's permutations. Default 0. */
  seed?: number;
  /** Subtract the mean training image from every split. Default true. */
  subtractMean?: boolean;
  /** Multiplier of the 0..255 pixels before the mean is subtracted. Default 1/255. */
  scale?: number;
  /** Element type of the X tensors. Default 'float32'. */
  dtype?: 'float32' | 'float64';
  /** Skip files that are not readable PNG or JPEG images, with a warning each; default false: an error. */
  skipBadImages?: boolean;
  /** Read and write the decode cache. Default true. */
  cache?: boolean;
  /** The cache's folder (created if needed). Default DIR/.convnet-cache. */
  cacheDir?: string;
  /** Decode worker threads; 0 decodes on the calling thread. Default: the number of cores. */
  workers?: number;
  /** Called as files are decoded (or once, when they come from the cache). */
  onProgress?: (done: number, total: number) => void;
  /** Called with each warning (a skipped file, a cache that cannot be written). Default: console.warn. */
  onWarning?: (message: string) => void;
}

/** What loadImageFolder returns: a Dataset and where its images came from. */
export interface ImageFolderDataset extends Dataset {
  /** 'classes': DIR/<class>/…, split by the seed; 'splits': DIR/train/<class>/… (val/, test/). */
  layout: 'classes' | 'splits';
  /** The image files of each split in tensor order, as errors name them (DIR joined with the file). */
  files: { train: string[]; val: string[]; test: string[] };
  /** Files skipped with skipBadImages, and why. */
  skipped: Array<{ file: string; reason: string }>;
  /** The cache file (null without a cache) and whether this call read every image from it. */
  cache: { path: string | null; hit: boolean };
  /** Image files decoded by this call (0 when all came from the cache) and the worker threads that did it. */
  decoded: number;
  workers: number;
}

const FN = 'loadImageFolder';
const OPTION_KEYS = ['size', 'channels', 'resize', 'valFraction', 'testFraction', 'seed', 'subtractMean', 'scale', 'dtype', 'skipBadImages', 'cache', 'cacheDir', 'workers', 'onProgress', 'onWarning'];
const SPLITS = ['train', 'val', 'test'] as const;
type Split = (typeof SPLITS)[number];
/** Files per message to a worker: large enough to amortise a message, small enough to balance. */
const CHUNK = 16;
export const CACHE_FOLDER = '.convnet-cache';
const CACHE_MAGIC = 'CNVIMGC1';
const CACHE_VERSION = 1;

/** One image file of the folder. */
interface Entry {
  /** Path relative to DIR, '/'-separated: the cache key's name for it. */
  rel: string;
  /** DIR joined with rel: how messages name it, and what is read. */
  path: string;
  label: number;
  /** The split folder it is in; null without split folders. */
  split: Split | null;
  size: number;
  mtimeMs: number;
}

interface Scan {
  layout: 'classes' | 'splits';
  classNames: string[];
  /** Each class folder's path per split that has it, for messages. */
  classFolders: Map<string, string>;
  entries: Entry[];
  splitsPresent: Set<Split>;
}

function visible(dir: string): Array<{ name: string; path: string; folder: boolean }> {
  let dirents: Dirent[];
  try {
    dirents = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConvnetError(FN, `cannot find the folder ${dir}: expected a folder with one sub-folder of images per class`);
    if (code === 'ENOTDIR') throw new ConvnetError(FN, `${dir} is a file: expected a folder with one sub-folder of images per class`);
    throw new ConvnetError(FN, `cannot read the folder ${dir} (${code ?? String(error)})`);
  }
  // Code-unit order: the same on every machine and locale.
  return dirents
    .filter((d) => !d.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((d) => {
      const path = join(dir, d.name);
      let folder = d.isDirectory();
      // A symbolic link is what it points to (one stat for it; plain entries need none).
      if (d.isSymbolicLink()) {
        try {
          folder = statSync(path).isDirectory();
        } catch (error) {
          throw new ConvnetError(FN, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): a broken link?`);
        }
      }
      return { name: d.name, path, folder };
    });
}

/** An image beside the class folders belongs to no class: refuse it rather than drop it. */
function refuseStrayImages(items: ReturnType<typeof visible>, where: string): void {
  for (const item of items) {
    if (item.folder) continue;
    const head = new Uint8Array(16);
    let n = 0;
    try {
      const fd = openSync(item.path, 'r');
      try {
        n = readSync(fd, head, 0, 16, 0);
      } finally {
        closeSync(fd);
      }
    } catch {
      continue; // unreadable: not an image we could have used; class folders are what is read
    }
    if (sniffImage(head.subarray(0, n)) !== null) {
      throw new ConvnetError(FN, `${item.path}: an image beside the class folders of ${where} belongs to no class: move it into the folder of its class`);
    }
  }
}

/** Files under a class folder, recursively, sorted, as paths relative to it. */
function filesUnder(folder: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const item of visible(folder)) {
    if (item.folder) out.push(...filesUnder(item.path, `${prefix}${item.name}/`));
    else out.push(`${prefix}${item.name}`);
  }
  return out;
}

function scanFolder(dir: string): Scan {
  const top = visible(dir);
  const topFolders = top.filter((item) => item.folder).map((item) => item.name);
  const layout = topFolders.includes('train') ? 'splits' : 'classes';
  if (layout === 'splits') {
    const others = topFolders.filter((name) => !(SPLITS as readonly string[]).includes(name));
    if (others.length > 0) {
      throw new ConvnetError(FN, `${dir} has a train/ folder, so its folders are read as the splits train/, val/ and test/ (each with one folder per class), but it also has ${others.map((n) => `${n}/`).join(', ')}: move class folders into train/, or rename train/ if it is a class`);
    }
  }
  refuseStrayImages(top, dir);
  const splitsPresent = new Set<Split>(layout === 'splits' ? SPLITS.filter((s) => topFolders.includes(s)) : []);
  const roots: Array<{ split: Split | null; path: string; relPrefix: string }> =
    layout === 'splits' ? [...splitsPresent].map((split) => ({ split, path: join(dir, split), relPrefix: `${split}/` })) : [{ split: null, path: dir, relPrefix: '' }];

  const first = roots[0]!;
  const firstItems = layout === 'splits' ? visible(first.path) : top;
  if (layout === 'splits') refuseStrayImages(firstItems, first.path);
  const classNames = firstItems.filter((item) => item.folder).map((item) => item.name);
  if (classNames.length < 2) {
    const what = classNames.length === 0 ? 'no class folders' : `one class folder (${classNames[0]}/)`;
    throw new ConvnetError(FN, `${first.path} has ${what}: a classifier needs at least 2 classes, one sub-folder of images per class`);
  }
  const classFolders = new Map<string, string>();
  const entries: Entry[] = [];
  for (const root of roots) {
    const items = root === first ? firstItems : visible(root.path);
    if (root !== first) refuseStrayImages(items, root.path);
    for (const item of items.filter((i) => i.folder)) {
      const label = classNames.indexOf(item.name);
      if (label < 0) {
        throw new ConvnetError(FN, `${item.path}: a class folder that ${first.path} does not have (its classes: ${classNames.join(', ')}); every split has the classes of train/`);
      }
      const files = filesUnder(item.path);
      if (files.length === 0) throw new ConvnetError(FN, `${item.path}: an empty class folder: put the images of class ${show(item.name)} in it, or remove it`);
      classFolders.set(`${root.split ?? ''}/${label}`, item.path);
      for (const file of files) {
        const path = join(item.path, file);
        let stat;
        try {
          stat = statSync(path);
        } catch (error) {
          throw new ConvnetError(FN, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
        }
        entries.push({ rel: `${root.relPrefix}${item.name}/${file}`, path, label, split: root.split, size: stat.size, mtimeMs: stat.mtimeMs });
      }
    }
  }
  return { layout, classNames, classFolders, entries, splitsPresent };
}

/** Decodes every path, on `workers` threads (0: here), results in path order. */
async function decodeAll(paths: string[], options: PixelOptions, workers: number, onProgress: (done: number) => void): Promise<DecodeResult[]> {
  const results: DecodeResult[] = new Array(paths.length);
  if (workers === 0 || paths.length === 0) {
    for (let i = 0; i < paths.length; i++) {
      results[i] = decodeFile(paths[i]!, options);
      if ((i + 1) % CHUNK === 0 || i + 1 === paths.length) onProgress(i + 1);
    }
    return results;
  }
  const chunks: number[] = [];
  for (let start = 0; start < paths.length; start += CHUNK) chunks.push(start);
  const pool: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let done = 0;
      let finished = false;
      const stop = (error?: Error): void => {
        if (finished) return;
        finished = true;
        if (error) reject(error);
        else resolve();
      };
      const send = (worker: Worker): void => {
        if (next >= chunks.length) return;
        const id = next++;
        const start = chunks[id]!;
        const request: DecodeRequest = { id, paths: paths.slice(start, start + CHUNK) };
        worker.postMessage(request);
      };
      for (let w = 0; w < Math.min(workers, chunks.length); w++) {
        const worker = new Worker(new URL('./folderWorker.js', import.meta.url), { workerData: options });
        pool.push(worker);
        worker.on('message', (reply: DecodeReply) => {
          const start = chunks[reply.id]!;
          reply.results.forEach((result, k) => (results[start + k] = result));
          done += reply.results.length;
          onProgress(done);
          if (done === paths.length) stop();
          else send(worker);
        });
        worker.on('error', (error) => stop(new ConvnetError(FN, `a decode worker failed: ${error instanceof Error ? error.message : String(error)}`)));
        worker.on('exit', (code) => stop(new ConvnetError(FN, `a decode worker stopped (exit code ${code}) before the images were decoded`)));
        send(worker);
      }
    });
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
  return results;
}

/** The cache key: the decoding options (each file is keyed by its name, size and modification time). */
function cacheKey(options: PixelOptions): string {
  const material = JSON.stringify({ version: CACHE_VERSION, height: options.height, width: options.width, channels: options.channels ?? null, crop: options.crop });
  return createHash('sha256').update(material).digest('hex');
}

/** A file as the cache knows it: name, size and modification time. */
function fileKey(entry: Entry): string {
  return JSON.stringify([entry.rel, entry.size, entry.mtimeMs]);
}

type CacheRecord = { f: string; c: 1 | 3; g: boolean } | { f: string; e: string };

/**
 * Cache file: "CNVIMGC1", a u32 (little-endian) header length, the header JSON { version, key
 * (of the options), height, width, records (one per file: f, its [name, size, mtime], and
 * { c: channels, g: grey } or { e: error }) }, zero padding to a multiple of 4 bytes, then the
 * decoded files' (C, H, W) float32 pixels one after the other (little-endian, as every platform
 * Node runs on stores them).
 */
function encodeCache(key: string, options: PixelOptions, entries: Entry[], results: DecodeResult[]): Uint8Array {
  const records: CacheRecord[] = results.map((r, i) => (r.ok ? { f: fileKey(entries[i]!), c: r.channels, g: r.grey } : { f: fileKey(entries[i]!), e: r.error }));
  const header = new TextEncoder().encode(JSON.stringify({ version: CACHE_VERSION, key, height: options.height, width: options.width, records }));
  const dataStart = Math.ceil((12 + header.length) / 4) * 4;
  const floats = results.reduce((n, r) => n + (r.ok ? r.pixels.length : 0), 0);
  const bytes = new Uint8Array(dataStart + floats * 4);
  bytes.set(new TextEncoder().encode(CACHE_MAGIC), 0);
  new DataView(bytes.buffer).setUint32(8, header.length, true);
  bytes.set(header, 12);
  const data = new Float32Array(bytes.buffer, dataStart, floats);
  let offset = 0;
  for (const r of results) {
    if (!r.ok) continue;
    data.set(r.pixels, offset);
    offset += r.pixels.length;
  }
  return bytes;
}

/**
 * The cached results by file key, when the cache file is there and was made with these options;
 * else null (a damaged file is also reported). Files whose name, size or modification time
 * changed are simply not found, and decoded again.
 */
function readCache(path: string, key: string, options: PixelOptions, warn: (message: string) => void): Map<string, DecodeResult> | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null; // no cache yet
  }
  try {
    if (bytes.length < 12 || bytes.subarray(0, 8).toString('latin1') !== CACHE_MAGIC) throw new Error('it does not start with the cache signature');
    const headerLength = bytes.readUInt32LE(8);
    if (12 + headerLength > bytes.length) throw new Error('its header runs past the end of the file');
    const header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8')) as { version: number; key: string; height: number; width: number; records: CacheRecord[] };
    if (header.version !== CACHE_VERSION || header.key !== key) return null; // other options: decode again
    if (header.height !== options.height || header.width !== options.width || !Array.isArray(header.records)) throw new Error('its header does not match its key');
    const dataStart = Math.ceil((12 + headerLength) / 4) * 4;
    const P = options.height * options.width;
    const floats = header.records.reduce((n, r) => n + ('c' in r ? r.c * P : 0), 0);
    if (bytes.length !== dataStart + floats * 4) throw new Error(`expected ${dataStart + floats * 4} bytes, got ${bytes.length}`);
    // A copy: Buffer's bytes need not be 4-byte aligned for a Float32Array view.
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + bytes.length));
    const out = new Map<string, DecodeResult>();
    let offset = 0;
    for (const r of header.records) {
      if ('e' in r) {
        out.set(r.f, { ok: false, error: r.e });
      } else {
        out.set(r.f, { ok: true, channels: r.c, grey: r.g, pixels: data.subarray(offset, offset + r.c * P) });
        offset += r.c * P;
      }
    }
    return out;
  } catch (error) {
    warn(`the decode cache ${path} is damaged (${error instanceof Error ? error.message : String(error)}): decoding the images again`);
    return null;
  }
}

/**
 * Per class, a seeded permutation of its images: the first round(n · testFraction) to test, the
 * next round(n · valFraction) to val, the rest to train (at least one stays in train).
 * `byClass` lists each class's indices in file order; the splits come back in index order.
 */
function stratify(byClass: number[][], valFraction: number, testFraction: number, generator: Rng): Record<Split, number[]> {
  const out: Record<Split, number[]> = { train: [], val: [], test: [] };
  for (const indices of byClass) {
    const n = indices.length;
    const order = permutation(n, generator);
    const nTest = Math.max(0, Math.min(Math.round(n * testFraction), n - 1));
    const nVal = Math.max(0, Math.min(Math.round(n * valFraction), n - 1 - nTest));
    order.forEach((k, position) => (position < nTest ? out.test : position < nTest + nVal ? out.val : out.train).push(indices[k]!));
  }
  for (const split of SPLITS) out[split].sort((a, b) => a - b);
  return out;
}

function checkFraction(name: string, value: unknown): number {
  if (value === undefined) return 0.1;
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) fail(FN, `${name} to be a number in [0, 1)`, show(value));
  return value as number;
}

function checkSize(value: unknown): [number, number] {
  if (value === undefined) return [32, 32];
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 4096;
  if (ok(value)) return [value, value];
  if (Array.isArray(value) && value.length === 2 && ok(value[0]) && ok(value[1])) return [value[0], value[1]];
  return fail(FN, 'size to be a whole number from 1 to 4096 or [height, width] of them', show(value));
}

/**
 * Loads a folder of pictures, one sub-folder per class (see the top of this file), as a Dataset
 * of (N, C, H, W) tensors: pixel · scale − mean training image, like the other loaders.
 */
export async function loadImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<ImageFolderDataset> {
  if (typeof dir !== 'string' || dir === '') fail(FN, 'dir to be a folder path', show(dir));
  const opts = checkOptions(FN, options, OPTION_KEYS);
  const [height, width] = checkSize(opts.size);
  if (opts.channels !== undefined && opts.channels !== 1 && opts.channels !== 3) fail(FN, 'channels to be 1 or 3', show(opts.channels));
  const channels = opts.channels as 1 | 3 | undefined;
  if (opts.resize !== undefined && opts.resize !== 'bilinear' && opts.resize !== 'crop') fail(FN, "resize to be 'bilinear' or 'crop'", show(opts.resize));
  const resize = (opts.resize as 'bilinear' | 'crop' | undefined) ?? 'bilinear';
  const valFraction = checkFraction('valFraction', opts.valFraction);
  const testFraction = checkFraction('testFraction', opts.testFraction);
  if (valFraction + testFraction >= 1) fail(FN, 'valFraction + testFraction < 1', `${valFraction} + ${testFraction}`);
  if (opts.seed !== undefined && (typeof opts.seed !== 'number' || !Number.isSafeInteger(opts.seed))) fail(FN, 'seed to be an integer', show(opts.seed));
  const seed = (opts.seed as number | undefined) ?? 0;
  const subtractMean = checkBoolean(FN, 'subtractMean', opts.subtractMean, true);
  const scale = checkScale(FN, opts.scale, 1 / 255);
  const dtype = checkDtypeOption(FN, opts.dtype);
  const skipBadImages = checkBoolean(FN, 'skipBadImages', opts.skipBadImages, false);
  const useCache = checkBoolean(FN, 'cache', opts.cache, true);
  if (opts.cacheDir !== undefined && (typeof opts.cacheDir !== 'string' || opts.cacheDir === '')) fail(FN, 'cacheDir to be a folder path', show(opts.cacheDir));
  if (opts.workers !== undefined && (typeof opts.workers !== 'number' || !Number.isInteger(opts.workers) || opts.workers < 0 || opts.workers > 64)) fail(FN, 'workers to be a whole number from 0 to 64', show(opts.workers));
  for (const name of ['onProgress', 'onWarning']) if (opts[name] !== undefined && typeof opts[name] !== 'function') fail(FN, `${name} to be a function`, show(opts[name]));
  const onProgress = (opts.onProgress as ImageFolderOptions['onProgress']) ?? (() => undefined);
  const warn = (opts.onWarning as ImageFolderOptions['onWarning']) ?? ((message: string) => console.warn(`convnet: ${message}`));

  const scan = scanFolder(dir);
  const { entries, classNames } = scan;
  const pixelOptions: PixelOptions = { height, width, crop: resize === 'crop', ...(channels === undefined ? {} : { channels }) };
  const cacheDir = (opts.cacheDir as string | undefined) ?? join(dir, CACHE_FOLDER);
  const cachePath = useCache ? join(cacheDir, `images-${height}x${width}-${channels ?? 'auto'}-${resize}.bin`) : null;
  const key = cacheKey(pixelOptions);

  // What the cache has (files unchanged since it was written), then the rest decoded.
  const cached = cachePath === null ? null : readCache(cachePath, key, pixelOptions, warn);
  const results: DecodeResult[] = new Array(entries.length);
  const missing: number[] = [];
  entries.forEach((entry, i) => {
    const found = cached?.get(fileKey(entry));
    if (found === undefined) missing.push(i);
    else results[i] = found;
  });
  const hit = missing.length === 0;
  const workers = hit ? 0 : ((opts.workers as number | undefined) ?? Math.min(availableParallelism(), Math.ceil(missing.length / CHUNK)));
  const reused = entries.length - missing.length;
  onProgress(reused, entries.length);
  if (!hit) {
    const decoded = await decodeAll(missing.map((i) => entries[i]!.path), pixelOptions, workers, (done) => onProgress(reused + done, entries.length));
    missing.forEach((i, k) => (results[i] = decoded[k]!));
  }
  // Rewritten when anything was decoded or a file has gone (the cache then holds this folder only).
  if (cachePath !== null && (!hit || cached!.size !== entries.length)) {
    try {
      mkdirSync(cacheDir, { recursive: true });
      await writeFileAtomic(cachePath, encodeCache(key, pixelOptions, entries, results));
    } catch (error) {
      const reason = error instanceof Error ? error.message.replace(/^writeFileAtomic: /, '') : String(error);
      warn(`cannot write the decode cache (${reason}): the next run decodes the images again; choose another cache folder (cacheDir, --cache-dir)`);
    }
  }

  // Bad files: an error naming them, or with skipBadImages a warning for each.
  const bad = entries.flatMap((entry, i) => (results![i]!.ok ? [] : [{ file: entry.path, reason: (results![i] as { error: string }).error }]));
  if (bad.length > 0 && !skipBadImages) {
    const more = bad.length > 1 ? ` (and ${bad.length - 1} more bad file${bad.length > 2 ? 's' : ''}: ${bad.slice(1, 6).map((b) => b.file).join(', ')}${bad.length > 6 ? ', …' : ''})` : '';
    throw new ConvnetError(FN, `${bad[0]!.reason}${more}; remove or replace it, or skip bad files with a warning (skipBadImages, --skip-bad-images)`);
  }
  for (const b of bad) warn(`skipped ${b.reason}`);

  // Channels: given, or what every image is.
  let C: 1 | 3 = channels ?? 3;
  if (channels === undefined) {
    const greyAt = results.findIndex((r) => r.ok && r.grey);
    const colourAt = results.findIndex((r) => r.ok && !r.grey);
    if (greyAt >= 0 && colourAt >= 0) {
      throw new ConvnetError(FN, `${dir} mixes grey and colour images (${entries[greyAt]!.path} is grey, ${entries[colourAt]!.path} is colour): give channels 1 or 3 (--channels 1|3) to convert them all (1: the luma of colour images; 3: grey values repeated in R, G and B)`);
    }
    C = greyAt >= 0 ? 1 : 3;
  }

  const good = entries.map((_, i) => i).filter((i) => results![i]!.ok);
  const D = C * height * width;
  const pixels = new Float32Array(good.length * D);
  const labels = new Int32Array(good.length);
  good.forEach((i, k) => {
    pixels.set((results![i] as { pixels: Float32Array }).pixels, k * D);
    labels[k] = entries[i]!.label;
  });

  // Positions in `good` per split folder and class.
  const byClass = (split: Split | null): number[][] => {
    const lists: number[][] = classNames.map(() => []);
    good.forEach((i, k) => {
      if (entries[i]!.split === split) lists[entries[i]!.label]!.push(k);
    });
    return lists;
  };
  const generator = rng(seed);
  let splits: Record<Split, number[]>;
  if (scan.layout === 'classes') {
    splits = stratify(byClass(null), valFraction, testFraction, generator);
  } else {
    // train/ and what is missing of val/ and test/, split off it.
    splits = stratify(byClass('train'), scan.splitsPresent.has('val') ? 0 : valFraction, scan.splitsPresent.has('test') ? 0 : testFraction, generator);
    for (const split of ['val', 'test'] as const) {
      if (scan.splitsPresent.has(split)) splits[split] = byClass(split).flat().sort((a, b) => a - b);
    }
  }
  // A class needs training images, and a class folder whose every file was skipped is as empty as an empty one.
  const trainCounts = classNames.map(() => 0);
  for (const k of splits.train) trainCounts[labels[k]!]!++;
  const emptyClass = trainCounts.findIndex((n) => n === 0);
  if (emptyClass >= 0) {
    const folder = scan.classFolders.get(`${scan.layout === 'splits' ? 'train' : ''}/${emptyClass}`) ?? join(dir, scan.layout === 'splits' ? 'train' : '', classNames[emptyClass]!);
    throw new ConvnetError(FN, `${folder}: no readable images left in class folder ${show(classNames[emptyClass])} after skipping its bad files; add images or remove the folder`);
  }

  const source = { pixels, labels };
  const dataset = assemble({
    train: { source, indices: splits.train },
    val: { source, indices: splits.val },
    test: { source, indices: splits.test },
    inputDim: [C, height, width],
    dtype,
    scale,
    subtractMean,
    classNames,
  });
  const named = (split: Split): string[] => splits[split].map((k) => entries[good[k]!]!.path);
  return {
    ...dataset,
    layout: scan.layout,
    files: { train: named('train'), val: named('val'), test: named('test') },
    skipped: bad,
    cache: { path: cachePath, hit },
    decoded: missing.length,
    workers,
  };
}
