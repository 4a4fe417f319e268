/**
 * `npm run build:lab` (and `npm run build`): the lab as static files in dist/lab/, which
 * `convnet lab` serves and any static host can serve (without COOP/COEP the page runs on one
 * thread and says so). Bundled by esbuild from lab/*.ts and the library's TypeScript:
 *
 *   index.html, main.js, main.css   the page (main thread: UI only)
 *   lab-worker.js                   the training Web Worker
 *   worker.js                       the WebAssembly backend's thread (src/kernels/wasm/worker.ts),
 *                                   where pool.ts looks for it: new URL('./worker.js', import.meta.url)
 *   data/mnist-images.idx           the 10,000 shipped digits as IDX bytes (7.8 MB, not the 40 MB JSON)
 *   data/mnist-labels.idx           their labels
 *   data/mnist-values.json          byte → the package's value (its 3-decimal byte / 255), so that the
 *                                   page's inputs equal loadShippedMnist's bit for bit
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'lab');

/**
 * The library's data loaders import node:fs, node:zlib and node:path for their file readers;
 * the page uses only their browser-safe parts (assemble, the class names), so these imports
 * become functions that throw if ever called. Solver's dynamic import('node:fs/promises') (for
 * checkpoint files, unused here) resolves to the same stub.
 */
const NODE_NAMES = [
  'existsSync', 'readFileSync', 'writeFileSync', 'statSync', 'readdirSync', 'mkdirSync', 'rmSync', 'openSync', 'readSync', 'closeSync', 'realpathSync', 'createReadStream',
  'open', 'readFile', 'writeFile', 'stat', 'mkdir', 'rename', 'rm', 'gunzipSync', 'randomBytes', 'createRequire', 'fileURLToPath',
  'join', 'resolve', 'basename', 'dirname', 'extname', 'sep',
];
const nodeStubs = {
  name: 'node-stubs',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
      loader: 'js',
      contents: `const missing = () => { throw new Error(${JSON.stringify(`${args.path} is not available in a browser`)}); };\n` + `export const ${NODE_NAMES.map((n) => `${n} = missing`).join(', ')};\nexport default {};\n`,
    }));
  },
};

/** Writes atomically (a reader never sees half a file). */
function write(path, bytes) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}

/** An IDX file: magic 0x0000 08 rank, big-endian dims, then the unsigned bytes. */
function idx(dims, bytes) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x0800 + dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, bytes]);
}

/**
 * The `mnist` package's digits (digit files 0…9, each image's 784 values in [0, 1] with 3
 * decimals) as bytes. Each value is round(v · 255); the table maps each byte back to the exact
 * value the JSON holds, and the build fails if two values would share a byte.
 */
function shippedMnist() {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const parts = [];
  const labels = [];
  const table = new Array(256).fill(null);
  for (let digit = 0; digit < 10; digit++) {
    const { data } = JSON.parse(readFileSync(join(dir, `${digit}.json`), 'utf8'));
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      const b = Math.round(v * 255);
      if (!(b >= 0 && b <= 255)) throw new Error(`${digit}.json: value ${v} at ${i} is not in [0, 1]`);
      if (table[b] !== null && table[b] !== v) throw new Error(`${digit}.json: values ${table[b]} and ${v} both round to byte ${b}`);
      table[b] = v;
      bytes[i] = b;
    }
    parts.push(bytes);
    for (let k = 0; k < data.length / 784; k++) labels.push(digit);
  }
  const images = Buffer.concat(parts);
  return {
    images: idx([labels.length, 28, 28], images),
    labels: idx([labels.length], Uint8Array.from(labels)),
    // Bytes that never occur map to b / 255 (never looked up for the shipped digits).
    values: JSON.stringify(table.map((v, b) => v ?? b / 255)),
  };
}

export async function buildLab() {
  const started = performance.now();
  mkdirSync(OUT, { recursive: true });
  await build({
    entryPoints: { main: join(ROOT, 'lab', 'main.ts'), 'lab-worker': join(ROOT, 'lab', 'worker.ts'), worker: join(ROOT, 'src', 'kernels', 'wasm', 'worker.ts') },
    outdir: OUT,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    keepNames: true,
    sourcemap: true,
    plugins: [nodeStubs],
    logLevel: 'warning',
  });
  copyFileSync(join(ROOT, 'lab', 'index.html'), join(OUT, 'index.html'));
  // What a static host offers; `convnet lab` answers this path itself (Fashion-MNIST when it has it).
  write(join(OUT, 'datasets.json'), JSON.stringify({ 'fashion-mnist': false }));
  const mnist = shippedMnist();
  write(join(OUT, 'data', 'mnist-images.idx'), mnist.images);
  write(join(OUT, 'data', 'mnist-labels.idx'), mnist.labels);
  write(join(OUT, 'data', 'mnist-values.json'), mnist.values);
  return { out: OUT, ms: performance.now() - started };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { out, ms } = await buildLab();
  console.log(`build:lab: wrote ${out} in ${(ms / 1000).toFixed(1)} s`);
}
