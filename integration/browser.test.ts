/**
 * The library in a real browser (`npm run test:browser`): headless Chromium from Debian's
 * package (/usr/bin/chromium, or CHROMIUM_PATH), driven by playwright-core, loading the built
 * package (dist/) as ES modules from a local server.
 *
 * - A cross-origin-isolated page (COOP same-origin + COEP require-corp): loadWasm() compiles the
 *   module asynchronously (a main thread may not compile it synchronously), the memory is shared,
 *   module Workers start and take chunks of the calls, and the main thread, which may not
 *   Atomics.wait, spins instead.
 * - A page without isolation: no SharedArrayBuffer, so the kernels run on an unshared memory on
 *   the main thread alone.
 * Both must give the js backend's results (conv forward and backward, pooling, and a
 * three-layer convnet's loss and gradients) within float32 tolerance.
 * - Model files (/models/, isolated): a model of each kind, after a training step, through
 *   encodeModel → decodeModel in the page gives bit-identical test-mode scores; files encoded in
 *   Node, decoded in the page, give Node's scores bit for bit (both on the js backend).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildSync } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { encodeModel, encodeSafetensors, jsKernels, setKernels, sgd, type DType, type Network, type Tensor } from '../src/index.js';
import { MODEL_KINDS, residualNet } from '../test/models/kinds.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Threads the isolated page asks for (the page's own count may be lower on a 1-core machine). */
const THREADS = 2;

/** The page's script: runs everything, leaves a JSON report in window.__report. */
const PAGE_SCRIPT = `
import * as cn from '/dist/index.js';
import { wasmChunkCounts } from '/dist/kernels/wasm/index.js';

/** max |a − b| / (max |a| + max |b|), as test/kernels/suite.ts's scaledError. */
function scaledError(a, b) {
  let diff = 0, maxA = 0, maxB = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    maxA = Math.max(maxA, Math.abs(a[i]));
    maxB = Math.max(maxB, Math.abs(b[i]));
  }
  return a.length === b.length ? diff / Math.max(1e-30, maxA + maxB) : Infinity;
}

function compute() {
  const gen = cn.rng(7);
  // Big enough (19M multiply-adds) for the calls to be split over the threads.
  const x = cn.randn([8, 16, 33, 31], gen, 'float32');
  const w = cn.randn([16, 16, 3, 3], gen, 'float32');
  const b = cn.randn([16], gen, 'float32');
  const conv = cn.convForward(x, w, b, { stride: 2, pad: 1 });
  const dout = cn.randn(conv.out.shape, gen, 'float32');
  const grads = cn.convBackward(dout, conv.cache);
  const pooled = cn.maxPoolForward(cn.randn([6, 8, 16, 16], gen, 'float32'), { poolHeight: 2, poolWidth: 2, stride: 2 });
  const model = new cn.ThreeLayerConvNet({ inputDim: [3, 16, 16], numFilters: 8, filterSize: 5, hiddenDim: 20, dtype: 'float32', seed: 3, weightScale: 'he' });
  const images = cn.randn([10, 3, 16, 16], gen, 'float32');
  const labels = Array.from({ length: 10 }, (_, i) => i % 10);
  const step = model.loss(images, labels);
  return {
    'conv out': conv.out.data, 'conv dx': grads.dx.data, 'conv dw': grads.dw.data, 'conv db': grads.db.data,
    'max pool': pooled.out.data,
    'model loss': Float32Array.of(step.loss),
    ...Object.fromEntries(Object.entries(step.grads).map(([name, g]) => ['model d' + name, g.data])),
  };
}

const report = { isolated: self.crossOriginIsolated, sharedArrayBuffer: typeof SharedArrayBuffer === 'function' };
try {
  report.loaded = await cn.loadWasm();
  cn.setBackend('wasm');
  cn.setThreads(${THREADS});
  const start = performance.now();
  while (report.sharedArrayBuffer && cn.wasmWorkersReady() < ${THREADS - 1} && performance.now() - start < 10000) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  report.workers = cn.wasmWorkersReady();
  report.variant = cn.wasmVariant();
  const wasm = compute();
  report.chunks = wasmChunkCounts();
  cn.setBackend('js');
  const js = compute();
  report.errors = Object.fromEntries(Object.keys(js).map((name) => [name, scaledError(wasm[name], js[name])]));
  // The Solver's loop (it yields to the event loop between iterations: a MessageChannel here).
  cn.setBackend('wasm');
  const gen = cn.rng(11);
  const labels = (n) => Int32Array.from({ length: n }, (_, i) => i % 3);
  const data = { XTrain: cn.randn([30, 1, 8, 8], gen, 'float32'), yTrain: labels(30), XVal: cn.randn([10, 1, 8, 8], gen, 'float32'), yVal: labels(10) };
  const net = new cn.ThreeLayerConvNet({ inputDim: [1, 8, 8], numFilters: 4, filterSize: 3, hiddenDim: 10, numClasses: 3, dtype: 'float32', seed: 1 });
  const solver = new cn.Solver(net, data, { updateRule: 'adam', optimConfig: { learningRate: 1e-2 }, numEpochs: 3, batchSize: 10, verbose: false, seed: 2 });
  const result = await solver.train();
  report.solver = { iterations: result.iterations, losses: solver.lossHistory.length, finite: solver.lossHistory.every(Number.isFinite) };
} catch (error) {
  report.error = String(error && error.stack ? error.stack : error);
}
window.__report = report;
`;

/**
 * The model-file page: round trips in the page (default backend), then the files Node wrote
 * (/node-files/index.json lists them, inputs.safetensors holds each one's input) on the js backend.
 * Scores are reported as the hex of their bytes, so the comparison is bit for bit.
 */
const MODELS_SCRIPT = `
import * as cn from '/dist/index.js';

const hex = (t) => Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), (b) => b.toString(16).padStart(2, '0')).join('');
const fetchBytes = async (path) => new Uint8Array(await (await fetch(path)).arrayBuffer());

/** A stem, an identity block and a strided block with a projected skip, then gap → fc. */
function residualNet(dtype) {
  const init = { dtype, generator: cn.rng(7) };
  const conv = (inChannels, outChannels, kernelSize, stride = 1) => new cn.Conv2d({ inChannels, outChannels, kernelSize, stride, pad: kernelSize >> 1 }, init);
  const bn = (features) => new cn.BatchNorm2d({ features }, init);
  const layers = new cn.Sequential([
    conv(2, 3, 3), bn(3), new cn.ReLU(),
    new cn.Residual({ body: new cn.Sequential([conv(3, 3, 3), bn(3), new cn.ReLU(), conv(3, 3, 3), bn(3)]) }),
    new cn.ReLU(),
    new cn.Residual({ body: new cn.Sequential([conv(3, 4, 3, 2), bn(4), new cn.ReLU(), conv(4, 4, 3)]), projection: new cn.Sequential([conv(3, 4, 1, 2), bn(4)]) }),
    new cn.ReLU(), new cn.GlobalAvgPool(), new cn.Linear({ inFeatures: 4, outFeatures: 5 }, init),
  ]);
  return new cn.Network({ module: layers, inputShape: [2, 6, 5], reg: 0.01 });
}

const KINDS = [
  { label: 'ThreeLayerConvNet', input: [3, 8, 8], make: (dtype) => new cn.ThreeLayerConvNet({ inputDim: [3, 8, 8], numFilters: 4, filterSize: 3, hiddenDim: 10, numClasses: 5, weightScale: 'he', dtype, seed: 1 }) },
  { label: 'ConvNet with bn', input: [2, 8, 8], make: (dtype) => new cn.ConvNet({ spec: 'conv(4,3)-bn-relu-pool-conv(5,3)-bn-relu-fc(6)-bn-relu-fc(4)', inputDim: [2, 8, 8], numClasses: 4, dtype, seed: 4 }) },
  { label: 'Network with a Residual', input: [2, 6, 5], make: residualNet },
];

const report = { roundTrip: {}, fromNode: {} };
try {
  await cn.loadWasm();
  report.backend = cn.getBackend();
  for (const kind of KINDS) {
    for (const dtype of ['float32', 'float64']) {
      const model = kind.make(dtype);
      const X = cn.randn([6, ...kind.input], cn.rng(3), dtype);
      const y = Int32Array.from({ length: 6 }, (_, i) => i % model.numClasses);
      const { grads } = model.loss(X, y); // train mode: batch norm's running statistics move
      for (const [name, w] of Object.entries(model.params)) model.params[name] = cn.sgd(w, grads[name], { learningRate: 0.05 }).next;
      const moved = Object.entries(model.buffers).filter(([name, t]) => t.data.some((v) => v !== (name.startsWith('runningMean') ? 0 : 1))).length;
      const classNames = Array.from({ length: model.numClasses }, (_, i) => 'class ' + i);
      const bytes = cn.encodeModel(model, { classNames, preprocessing: { scale: 1 / 255 } });
      const decoded = cn.decodeModel(bytes, 'page.safetensors');
      const before = hex(model.forward(X));
      report.roundTrip[kind.label + ', ' + dtype] = {
        same: before === hex(decoded.model.forward(X)),
        buffers: Object.keys(model.buffers).length,
        moved,
        classNames: JSON.stringify(decoded.info.classNames) === JSON.stringify(classNames),
      };
    }
  }
  cn.setBackend('js');
  const names = await (await fetch('/node-files/index.json')).json();
  const inputs = cn.decodeSafetensors(await fetchBytes('/node-files/inputs.safetensors'), 'inputs.safetensors').tensors;
  for (const name of names) {
    const { model } = cn.decodeModel(await fetchBytes('/node-files/' + name), name);
    report.fromNode[name] = hex(model.forward(inputs[name]));
  }
} catch (error) {
  report.error = String(error && error.stack ? error.stack : error);
}
window.__report = report;
`;

/**
 * dist/ is served as it is, ES modules; its one bare import, protobufjs (ONNX files), is what a
 * bundler resolves for an application. Here an import map points it at an ES-module build of
 * protobufjs' light build, made by esbuild when the server starts.
 */
const IMPORT_MAP = JSON.stringify({ imports: { 'protobufjs/light.js': '/vendor/protobufjs-light.js' } });
const page = (script: string): string =>
  `<!doctype html><meta charset="utf-8"><title>convnet in a browser</title><script type="importmap">${IMPORT_MAP}</script><script type="module">${script}</script>`;

let protobufModule: string | undefined;
/** protobufjs/light.js (CommonJS) as one ES module whose default export is the library. */
function protobufEsm(): string {
  protobufModule ??= buildSync({
    stdin: { contents: "import protobuf from 'protobufjs/light.js'; export default protobuf;", resolveDir: ROOT },
    bundle: true,
    format: 'esm',
    write: false,
    logLevel: 'silent',
  }).outputFiles[0]!.text;
  return protobufModule;
}
const PAGE = page(PAGE_SCRIPT);
const MODELS_PAGE = page(MODELS_SCRIPT);

/** Model files written in Node for the page to read, by name, and their inputs. */
const nodeFiles = new Map<string, Uint8Array>();

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json' };

/** Serves the page at /isolated/ (with COOP + COEP) and /plain/ (without), and dist/ under /dist/. */
function serve(): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const isolation = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    };
    // The scripts always carry the headers (a worker's own response sets its isolation); they
    // do not isolate the plain page that loads them.
    const headers = path === '/plain/' ? {} : isolation;
    if (path === '/isolated/' || path === '/plain/' || path === '/models/') {
      response.writeHead(200, { 'Content-Type': 'text/html', ...headers }).end(path === '/models/' ? MODELS_PAGE : PAGE);
      return;
    }
    const nodeFile = path.startsWith('/node-files/') ? nodeFiles.get(path.slice('/node-files/'.length)) : undefined;
    if (nodeFile !== undefined) {
      response.writeHead(200, { 'Content-Type': 'application/octet-stream', ...headers }).end(nodeFile);
      return;
    }
    if (path === '/vendor/protobufjs-light.js') {
      response.writeHead(200, { 'Content-Type': 'text/javascript', ...headers }).end(protobufEsm());
      return;
    }
    const file = normalize(join(ROOT, path));
    if (!path.startsWith('/dist/') || !file.startsWith(DIST) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', ...headers }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface Report {
  isolated: boolean;
  sharedArrayBuffer: boolean;
  loaded?: boolean;
  workers?: number;
  chunks?: { caller: number; workers: number };
  solver?: { iterations: number; losses: number; finite: boolean };
  variant?: string;
  errors?: Record<string, number>;
  error?: string;
}

interface ModelsReport {
  backend?: string;
  /** Per model and dtype: scores the same after encodeModel → decodeModel, buffer count, buffers moved by training. */
  roundTrip: Record<string, { same: boolean; buffers: number; moved: number; classNames: boolean }>;
  /** Per file written in Node: the hex of the page's scores. */
  fromNode: Record<string, string>;
  error?: string;
}

/** The models Node writes for the page: a trained step of each kind, and the js backend's scores. */
function nodeModels(): { label: string; expected: Map<string, string> } {
  const previous = setKernels(jsKernels);
  try {
    const kinds: { label: string; inputShape: number[]; make: (dtype: DType) => Network }[] = [
      MODEL_KINDS[0]!,
      MODEL_KINDS[3]!,
      { label: 'Network with Residual blocks', inputShape: [2, 6, 5], make: (dtype) => residualNet(dtype) },
    ];
    const inputs: Record<string, Tensor> = {};
    const expected = new Map<string, string>();
    let seed = 40;
    for (const kind of kinds) {
      for (const dtype of ['float32', 'float64'] as const) {
        const model = kind.make(dtype);
        const X = randnOf([5, ...kind.inputShape], seed++, dtype);
        const { grads } = model.loss(X, Int32Array.from({ length: 5 }, (_, i) => i % model.numClasses));
        for (const [name, w] of Object.entries(model.params)) model.params[name] = sgd(w, grads[name]!, { learningRate: 0.05 }).next;
        const name = `${kind.label.replace(/\W+/g, '-')}-${dtype}.safetensors`;
        nodeFiles.set(name, encodeModel(model, { preprocessing: { scale: 1 / 255 } }));
        inputs[name] = X;
        expected.set(name, hexOf(model.forward(X)));
      }
    }
    nodeFiles.set('inputs.safetensors', encodeSafetensors(inputs));
    nodeFiles.set('index.json', new TextEncoder().encode(JSON.stringify([...expected.keys()])));
    return { label: kinds.map((k) => k.label).join(', '), expected };
  } finally {
    setKernels(previous);
  }
}

const hexOf = (t: Tensor): string => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');

/** Values in [-1, 1) from a small LCG: the inputs travel to the page as bytes, so any values do. */
function randnOf(shape: number[], seed: number, dtype: DType): Tensor {
  const size = shape.reduce((a, d) => a * d, 1);
  let state = seed >>> 0;
  const values = Array.from({ length: size }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
  return { shape, data: dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values), dtype };
}

describe('the library in headless Chromium', () => {
  let server: Server;
  let browser: Browser;
  let origin: string;

  before(async () => {
    assert.ok(existsSync(join(DIST, 'index.js')), 'dist/ is missing: run `npm run build` first');
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set CHROMIUM_PATH`);
    server = await serve();
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As root in a sandbox with no network: no setuid sandbox, no background connections.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });

  async function run<R extends { error?: string } = Report>(path: string): Promise<R> {
    const page = await browser.newPage();
    const messages: string[] = [];
    page.on('console', (message) => messages.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => messages.push(`pageerror: ${error.message}`));
    try {
      await page.goto(`${origin}${path}`);
      // Run in the page (the project's lib has no DOM types: globalThis stands for window).
      await page
        .waitForFunction(() => (globalThis as { __report?: unknown }).__report !== undefined, undefined, { timeout: 20_000 })
        .catch((error: unknown) => {
          throw new Error(`no report from ${path}: ${String(error)}\n${messages.join('\n')}`);
        });
      const report = (await page.evaluate(() => (globalThis as { __report?: unknown }).__report)) as R;
      assert.equal(report.error, undefined, `the page failed: ${report.error}\n${messages.join('\n')}`);
      return report;
    } finally {
      await page.close();
    }
  }

  function assertAgrees(report: Report): void {
    assert.deepEqual(report.solver, { iterations: 9, losses: 9, finite: true }, 'the Solver trained 3 epochs of 3 batches');
    const errors = report.errors ?? {};
    assert.ok(Object.keys(errors).length >= 10, `results compared: ${Object.keys(errors).join(', ')}`);
    for (const [name, error] of Object.entries(errors)) {
      assert.ok(error < 1e-5, `${name}: wasm vs js scaled error ${error}`);
    }
  }

  it('cross-origin isolated: shared memory, worker threads, same results as the js backend', async (t) => {
    const report = await run('/isolated/');
    t.diagnostic(`isolated page: ${report.workers} worker(s) ran ${report.chunks?.workers} of ${(report.chunks?.workers ?? 0) + (report.chunks?.caller ?? 0)} chunks, ${report.variant}, worst error ${Math.max(...Object.values(report.errors ?? {})).toExponential(2)}`);
    assert.equal(report.isolated, true, 'the page is cross-origin isolated');
    assert.equal(report.sharedArrayBuffer, true);
    assert.equal(report.loaded, true, 'loadWasm() resolved to true');
    assert.ok(report.variant === 'simd' || report.variant === 'relaxed-simd', `variant ${report.variant}`);
    assert.ok((report.workers ?? 0) >= 1, `worker threads started: ${report.workers}`);
    assert.ok((report.chunks?.workers ?? 0) > 0, `chunks run by the workers: ${JSON.stringify(report.chunks)}`);
    assertAgrees(report);
  });

  it('not isolated: no SharedArrayBuffer, one thread on an unshared memory, same results', async (t) => {
    const report = await run('/plain/');
    t.diagnostic(`plain page: ${report.variant}, worst error ${Math.max(...Object.values(report.errors ?? {})).toExponential(2)}`);
    assert.equal(report.isolated, false);
    assert.equal(report.sharedArrayBuffer, false);
    assert.equal(report.loaded, true, 'loadWasm() resolved to true');
    assert.equal(report.workers, 0);
    assert.deepEqual(report.chunks, { caller: 0, workers: 0 }, 'nothing was split');
    assertAgrees(report);
  });

  it('model files: encodeModel → decodeModel in the page keeps scores bit for bit, and files from Node give Node\'s scores', async (t) => {
    const { label, expected } = nodeModels();
    const report = await run<ModelsReport>('/models/');
    t.diagnostic(`models page: round trips on ${report.backend}; ${expected.size} files from Node (${label}) on js`);
    const trips = Object.entries(report.roundTrip);
    assert.equal(trips.length, 6, `round trips: ${trips.map(([k]) => k).join('; ')}`);
    for (const [kind, r] of trips) {
      assert.equal(r.same, true, `${kind}: scores after encodeModel → decodeModel differ`);
      assert.equal(r.classNames, true, `${kind}: class names`);
      if (!kind.startsWith('ThreeLayerConvNet')) assert.ok(r.buffers > 0 && r.moved > 0, `${kind}: batch-norm buffers trained (${r.moved} of ${r.buffers} moved)`);
    }
    assert.deepEqual(Object.keys(report.fromNode).sort(), [...expected.keys()].sort());
    for (const [name, scores] of expected) assert.equal(report.fromNode[name], scores, `${name}: the page's scores differ from Node's`);
  });
});
