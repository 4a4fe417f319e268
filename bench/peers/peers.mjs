/**
 * `npm run bench:peers`: the work of `npm run bench` on convnet and on its peers, side by side,
 * from one run, all float32, batch 50: convnet's WebAssembly backend on two threads and on one,
 * its pure TypeScript backend (one thread), ConvNetJS (convnetjs), TensorFlow.js's cpu backend
 * (@tensorflow/tfjs) and its WebAssembly backend (@tensorflow/tfjs-backend-wasm, which runs one
 * thread in Node), onnxruntime-node on two threads and on one (forward rows only), and PyTorch on
 * two threads and on one (bench/peers/torch_bench.py, run by Debian's /usr/bin/python3 when
 * python3-torch is installed; otherwise the run says "PyTorch: skipped" and has no torch columns).
 *
 * Rows: the conv cases (forward, forward+backward), max pool forward+backward, the three-layer
 * net's forward only (inference: conv 32 7×7 p3 → relu → pool 2×2 → fc 100 → relu → fc 10, test
 * mode) and its training step (that forward, softmax loss, backward, SGD update). "—" means the
 * system has no such row: onnxruntime runs inference graphs only (no backward, no training).
 *
 * Same computation, checked: onnxruntime and PyTorch get convnet's own inputs and weights on every
 * forward row (conv and three-layer), tfjs and ConvNetJS on the three-layer forward, and before a
 * cell is timed its output is compared with convnet's (wasm, one thread): max |peer − convnet| /
 * max |convnet| must be below 1e-4, or the cell says "differs" and is not timed. (tfjs's and
 * ConvNetJS's conv and training rows, and PyTorch's backward and training rows, time the same
 * shapes on their own random values.)
 *
 * Fairness notes
 * - convnet's forward row is the library's inference path, ThreeLayerConvNet's
 *   model.forward(X, { mode: 'test' }); its training row is the layer functions (convFast,
 *   poolFast, affineFast) with a plain SGD loop, as `npm run bench` times them.
 * - Layouts are converted outside the timed region: tfjs is NHWC with filters (HH, WW, C, F);
 *   ConvNetJS takes one image at a time as a Vol (x, y, depth), so its batch is a loop.
 * - tfjs gets explicit padding arrays ([[0, 0], [p, p], [p, p], [0, 0]]).
 * - tfjs's conv rows time the convolution without the bias (its conv2d has none); convnet's,
 *   onnxruntime's and PyTorch's add it.
 * - tfjs-wasm has no Conv2DBackpropFilter kernel: its forward+backward computes dx with
 *   conv2dTranspose (Conv2DBackpropInput) and dw as a convolution of x with dy dilated by the
 *   stride ((C, H, W, N) ⋆ (Ho, Wo, N, F)); its training step uses that as the conv's gradient.
 * - onnxruntime runs the graph convnet's exporter writes (exportOnnx: a Network of one Conv2d for
 *   a conv row, ThreeLayerConvNet for the forward row) with graph optimisations 'all', so it fuses
 *   and re-lays-out as it likes (Conv+Relu, NCHWc blocked layouts), with native SIMD (AVX-512 on
 *   a CPU that has it) against WebAssembly's 128-bit SIMD. Sessions are made and checked outside
 *   the timed region; a timed run is session.run on an input tensor made once, output included.
 * - PyTorch is Debian's build (python3-torch 1.13; its kernels report "CPU capability usage:
 *   AVX2"): convolutions through MKL-DNN (oneDNN 2.6), matrix products (the fc layers) through
 *   the system's libblas.so.3 (BLAS_INFO=generic, no MKL), which is netlib's reference BLAS
 *   unless an optimised one (OpenBLAS, BLIS) is installed as that alternative. Forward rows run
 *   under torch.inference_mode(); times are taken in Python (time.perf_counter) around the calls.
 * - Slow systems are timed on a smaller batch and scaled linearly to 50; the table says which.
 * - tfjs results are read back (dataSync) inside the timed region, as convnet's are plain arrays.
 *
 * Environment: BENCH_REPS (timed runs per cell, median; default 5), PEERS_ROWS (a comma list of
 * conv7x7, conv3x3, conv3x3s2, pool, forward, train: run only those rows), PEERS_PYTHON (the
 * Python that runs torch_bench.py; default /usr/bin/python3).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const lib = new URL('../../dist/', import.meta.url);
if (!existsSync(new URL('layers/convFast.js', lib))) {
  console.error('bench:peers needs the built library: run `npm run build` in the repository first.');
  process.exit(1);
}
const { convForward, convBackward } = await import(new URL('layers/convFast.js', lib).href);
const { maxPoolForward, maxPoolBackward } = await import(new URL('layers/poolFast.js', lib).href);
const { affineForward, affineBackward } = await import(new URL('layers/affineFast.js', lib).href);
const { reluForward, reluBackward } = await import(new URL('layers/activations.js', lib).href);
const { softmaxLoss } = await import(new URL('layers/loss.js', lib).href);
const { reshape } = await import(new URL('tensor.js', lib).href);
const { setBackend, setThreads, wasmWorkersReady } = await import(new URL('kernels/index.js', lib).href);
const { Network, ThreeLayerConvNet } = await import(new URL('models/index.js', lib).href);
const { Conv2d } = await import(new URL('nn/conv.js', lib).href);
const { exportOnnx } = await import(new URL('io/onnx/export.js', lib).href);

/** The rows to run (PEERS_ROWS), all by default. */
const ROW_IDS = ['conv7x7', 'conv3x3', 'conv3x3s2', 'pool', 'forward', 'train'];
const only = process.env.PEERS_ROWS ? process.env.PEERS_ROWS.split(',').map((s) => s.trim()) : ROW_IDS;
for (const id of only) {
  if (!ROW_IDS.includes(id)) {
    console.error(`bench:peers: PEERS_ROWS: expected a comma list of ${ROW_IDS.join(', ')}, got '${id}'`);
    process.exit(1);
  }
}
const wanted = (id) => only.includes(id);

/** A forward row's output must match convnet's to this (max |peer − convnet| / max |convnet|). */
const TOLERANCE = 1e-4;

/** convnet's configurations: [column, backend, threads]. */
const CONVNET = [
  ['convnet wasm×2', 'wasm', 2],
  ['convnet wasm', 'wasm', 1],
  ['convnet js', 'js', 1],
];

/** Switches convnet to a backend and thread count, and lets the worker threads start (so a warm-up is not their start-up). */
async function useConvnet(backend, threads) {
  setBackend(backend);
  setThreads(threads);
  for (let waited = 0; backend === 'wasm' && wasmWorkersReady() < threads - 1 && waited < 5000; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs `measure` with convnet on each configuration: { column: result }. */
async function onConvnet(measure) {
  const results = {};
  for (const [column, backend, threads] of CONVNET) {
    await useConvnet(backend, threads);
    results[column] = measure();
  }
  return results;
}

/** convnet's output on the BASE configuration (wasm, one thread): what every peer's forward is checked against. */
async function reference(run) {
  await useConvnet('wasm', 1);
  return run();
}

const tf = require('@tensorflow/tfjs');
const wasmBackend = require('@tensorflow/tfjs-backend-wasm');
const convnetjs = require('convnetjs');
wasmBackend.setThreadsCount?.(1);

// onnxruntime-node is a devDependency of the library itself (the ONNX export tests run it), so
// it is resolved from the repository's node_modules, not installed again here.
const ORT = [
  ['ort×2', 2],
  ['ort', 1],
];
let ort = null;
/** Lines printed under the table: systems skipped or failed. */
const skipped = [];
try {
  ort = createRequire(new URL('../../package.json', import.meta.url))('onnxruntime-node');
} catch (error) {
  skipped.push(`onnxruntime-node: skipped (${String(error.message).split('\n')[0]})`);
}

// PyTorch: Debian's python3-torch, when /usr/bin/python3 can import it (not a pyenv Python on PATH).
const PYTHON = process.env.PEERS_PYTHON ?? '/usr/bin/python3';
const TORCH = [
  ['torch×2', 2],
  ['torch', 1],
];
const torchCheck = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
const hasTorch = !torchCheck.error && torchCheck.status === 0;
if (!hasTorch) {
  skipped.push('PyTorch: skipped (python3-torch not installed)');
  const why = torchCheck.error ? torchCheck.error.code : torchCheck.stderr.trim().split('\n').pop();
  process.stderr.write(`(${PYTHON} -c 'import torch, numpy': ${why})\n`);
}

// ------------------------------------------------------------------ helpers

let seed = 12345;
function random() {
  // xorshift32: reproducible inputs without depending on the library under test.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296 - 0.5;
}
const randomArray = (length, scale = 1) => Float32Array.from({ length }, () => random() * scale);
const size = (shape) => shape.reduce((a, b) => a * b, 1);
const tensor = (shape, scale = 1) => ({ shape, data: randomArray(size(shape), scale), dtype: 'float32' });

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median ms of run() over `reps` timed runs after `warmup` untimed ones. */
function time(run, reps = REPS, warmup = 1) {
  for (let i = 0; i < warmup; i++) run();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** time() for a run that returns a promise (onnxruntime's session.run). */
async function timeAsync(run, reps = REPS, warmup = 1) {
  for (let i = 0; i < warmup; i++) await run();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** max |ours − ref| / max |ref| over the first ours.length values of ref (a peer may run fewer images). */
function relDiff(ours, ref) {
  if (ours.length > ref.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ours.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return Number.isNaN(diff) ? Infinity : diff / (scale || 1);
}

/** Whether a peer's output matched convnet's (logged either way). */
function agrees(system, label, diff) {
  const ok = diff < TOLERANCE;
  log(`  ${system}, ${label}: max relative difference from convnet ${diff.toExponential(1)}${ok ? '' : ' — differs, not timed'}`);
  return ok;
}

/** NCHW → NHWC (and filters (F, C, HH, WW) → (HH, WW, C, F)). */
function nchwToNhwc(data, [N, C, H, W]) {
  const out = new Float32Array(data.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    out[((n * H + h) * W + w) * C + c] = data[((n * C + c) * H + h) * W + w];
  }
  return out;
}
function fchwToHwcf(data, [F, C, HH, WW]) {
  const out = new Float32Array(data.length);
  for (let f = 0; f < F; f++) for (let c = 0; c < C; c++) for (let h = 0; h < HH; h++) for (let w = 0; w < WW; w++) {
    out[((h * WW + w) * C + c) * F + f] = data[((f * C + c) * HH + h) * WW + w];
  }
  return out;
}
/** One NCHW image as a ConvNetJS Vol (x across, y down, depth innermost). */
function toVol(data, offset, C, H, W) {
  const v = new convnetjs.Vol(W, H, C, 0);
  for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    v.w[(h * W + w) * C + c] = data[offset + (c * H + h) * W + w];
  }
  return v;
}

/**
 * Runs an ONNX model on onnxruntime with 2 and 1 intra-op threads: { column: { ms } | { differs } }.
 * The first run (untimed) is checked against convnet's output.
 */
async function onOrt(bytes, x, expected, label) {
  const results = {};
  if (!ort) return results;
  for (const [column, threads] of ORT) {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) };
    const output = session.outputNames[0];
    const diff = relDiff((await session.run(feeds))[output].data, expected);
    results[column] = agrees(column, label, diff) ? { ms: await timeAsync(() => session.run(feeds)) } : { differs: diff };
    // Its thread pool is not left spinning while the next system is timed.
    await session.release();
  }
  return results;
}

// ------------------------------------------------------------------ workloads

const CONV_CASES = [
  { id: 'conv7x7', label: 'conv x(50,3,32,32) w(32,3,7,7) s1 p3', x: [50, 3, 32, 32], w: [32, 3, 7, 7], stride: 1, pad: 3 },
  { id: 'conv3x3', label: 'conv x(50,64,16,16) w(64,64,3,3) s1 p1', x: [50, 64, 16, 16], w: [64, 64, 3, 3], stride: 1, pad: 1 },
  { id: 'conv3x3s2', label: 'conv x(50,32,32,32) w(64,32,3,3) s2 p1', x: [50, 32, 32, 32], w: [64, 32, 3, 3], stride: 2, pad: 1 },
];

const outSize = (n, k, s, p) => Math.floor((n + 2 * p - k) / s) + 1;

/** A conv case's tensors, shared by convnet, onnxruntime and PyTorch: x, w, b, dout and convnet's forward output. */
async function convData(c) {
  const [N, , H, W] = c.x;
  const x = tensor(c.x);
  const w = tensor(c.w, 0.1);
  const b = tensor([c.w[0]]);
  const dout = tensor([N, c.w[0], outSize(H, c.w[2], c.stride, c.pad), outSize(W, c.w[3], c.stride, c.pad)]);
  const out = await reference(() => convForward(x, w, b, { stride: c.stride, pad: c.pad }).out);
  return { x, w, b, dout, out };
}

/** Each system's { fwd, fwdBwd } ms for a batch of 50 (scaled from `batch` when smaller). */
const conv = {
  convnet(c, { x, w, b, dout }) {
    const param = { stride: c.stride, pad: c.pad };
    return {
      batch: x.shape[0],
      fwd: time(() => convForward(x, w, b, param)),
      fwdBwd: time(() => convBackward(dout, convForward(x, w, b, param).cache)),
    };
  },
  /** onnxruntime: convnet's exporter on a Network of one Conv2d holding the case's w and b. */
  async ort(c, { x, w, b, out }) {
    const [, C, H, W] = c.x;
    const model = new Network({ module: new Conv2d({ inChannels: C, outChannels: c.w[0], kernelSize: [c.w[2], c.w[3]], stride: c.stride, pad: c.pad }), inputShape: [C, H, W], loss: 'mse' });
    model.loadState({ W1: w, b1: b });
    const results = await onOrt(exportOnnx(model), x, out.data, c.label);
    return Object.fromEntries(Object.entries(results).map(([column, r]) => [column, r.differs !== undefined ? { fwd: r } : { batch: x.shape[0], fwd: r.ms }]));
  },
  convnetjs(c) {
    const batch = 5;
    const [, C, H, W] = c.x;
    const layer = new convnetjs.ConvLayer({ in_sx: W, in_sy: H, in_depth: C, sx: c.w[3], sy: c.w[2], filters: c.w[0], stride: c.stride, pad: c.pad });
    const data = randomArray(batch * C * H * W);
    const vols = Array.from({ length: batch }, (_, n) => toVol(data, n * C * H * W, C, H, W));
    const dy = randomArray(layer.out_sx * layer.out_sy * layer.out_depth);
    const fwd = time(() => { for (const v of vols) layer.forward(v, true); }, 3);
    const fwdBwd = time(() => {
      for (const v of vols) {
        layer.forward(v, true);
        layer.out_act.dw.set(dy);
        layer.backward();
      }
    }, 3);
    return { batch, fwd: (fwd * 50) / batch, fwdBwd: (fwdBwd * 50) / batch };
  },
  tfjs(c, backend) {
    const batchFwd = backend === 'cpu' ? 10 : 50;
    const batchBwd = backend === 'cpu' ? 2 : 50;
    const [, C, H, W] = c.x;
    const [F, , HH, WW] = c.w;
    const pad = [[0, 0], [c.pad, c.pad], [c.pad, c.pad], [0, 0]];
    const strides = [c.stride, c.stride];
    const w = tf.tensor4d(fchwToHwcf(randomArray(size(c.w), 0.1), c.w), [HH, WW, C, F]);
    const make = (n) => tf.tensor4d(nchwToNhwc(randomArray(n * C * H * W), [n, C, H, W]), [n, H, W, C]);
    const xf = make(batchFwd);
    const xb = make(batchBwd);
    const Ho = outSize(H, HH, c.stride, c.pad);
    const Wo = outSize(W, WW, c.stride, c.pad);
    const dy = tf.tensor4d(randomArray(batchBwd * Ho * Wo * F), [batchBwd, Ho, Wo, F]);
    // The braces matter: a tidy callback's return value is searched for tensors, element by
    // element for a typed array, which would cost more than the convolution.
    const fwd = time(() => tf.tidy(() => {
      tf.conv2d(xf, w, strides, pad).dataSync();
    }), backend === 'cpu' ? 3 : REPS);
    const backward =
      backend === 'wasm'
        ? () => tf.tidy(() => {
            tf.conv2d(xb, w, strides, pad).dataSync();
            tf.conv2dTranspose(dy, w, xb.shape, strides, pad).dataSync();
            filterGradient(xb, dy, [HH, WW, C, F], c.stride, c.pad).dataSync();
          })
        : () => tf.tidy(() => {
            const [dx, dw] = tf.grads((x, f) => tf.conv2d(x, f, strides, pad))([xb, w], dy);
            dx.dataSync();
            dw.dataSync();
          });
    const fwdBwd = time(backward, backend === 'cpu' ? 1 : REPS);
    tf.dispose([w, xf, xb, dy]);
    return { batch: batchFwd, batchBwd, fwd: (fwd * 50) / batchFwd, fwdBwd: (fwdBwd * 50) / batchBwd };
  },
};

/**
 * dw for a conv (NHWC x, filter (HH, WW, C, F)) without Conv2DBackpropFilter:
 *   dw[kh, kw, c, f] = Σ_{n,i,j} xpad[n, i·s + kh, j·s + kw, c] · dy[n, i, j, f]
 * is a stride-1 convolution of x as (C, H, W, N) with dy as a (Ho, Wo, N, F) filter dilated by s.
 */
function filterGradient(x, dy, [HH, WW, C, F], stride, pad) {
  const xt = tf.transpose(x, [3, 1, 2, 0]);
  const dyt = tf.transpose(dy, [1, 2, 0, 3]);
  const full = tf.conv2d(xt, dyt, 1, [[0, 0], [pad, pad], [pad, pad], [0, 0]], 'NHWC', [stride, stride]);
  return tf.transpose(tf.slice(full, [0, 0, 0, 0], [C, HH, WW, F]), [1, 2, 0, 3]);
}

const POOL = { x: [50, 32, 32, 32] };

const pool = {
  convnet() {
    const x = tensor(POOL.x);
    const dout = tensor([50, 32, 16, 16]);
    const param = { poolHeight: 2, poolWidth: 2, stride: 2 };
    return { batch: 50, fwdBwd: time(() => maxPoolBackward(dout, maxPoolForward(x, param).cache), 3 * REPS) };
  },
  convnetjs() {
    const batch = 10;
    const layer = new convnetjs.PoolLayer({ in_sx: 32, in_sy: 32, in_depth: 32, sx: 2, stride: 2 });
    const data = randomArray(batch * 32 * 32 * 32);
    const vols = Array.from({ length: batch }, (_, n) => toVol(data, n * 32 * 32 * 32, 32, 32, 32));
    const dy = randomArray(16 * 16 * 32);
    const ms = time(() => {
      for (const v of vols) {
        layer.forward(v, true);
        layer.out_act.dw.set(dy);
        layer.backward();
      }
    });
    return { batch, fwdBwd: (ms * 50) / batch };
  },
  tfjs() {
    const x = tf.tensor4d(randomArray(size(POOL.x)), [50, 32, 32, 32]);
    const dy = tf.tensor4d(randomArray(50 * 16 * 16 * 32), [50, 16, 16, 32]);
    const ms = time(() => tf.tidy(() => {
      const [dx] = tf.grads((v) => tf.maxPool(v, 2, 2, 'valid'))([x], dy);
      dx.dataSync();
    }), 3 * REPS);
    tf.dispose([x, dy]);
    return { batch: 50, fwdBwd: ms };
  },
};

/** The three-layer convnet's config (CS231n's defaults on CIFAR-10's shape), shared by the forward and training rows. */
const THREE = { N: 50, C: 3, H: 32, W: 32, F: 32, K: 7, hidden: 100, classes: 10 };

/**
 * The forward-only row's model, input and convnet's test-mode scores. He-scaled weights and
 * random biases keep the scores O(1) and every ReLU busy, so the check against peers means
 * something (CS231n's 1e-3 weights would give scores near 1e-6).
 */
async function forwardData() {
  const model = new ThreeLayerConvNet({ inputDim: [THREE.C, THREE.H, THREE.W], numFilters: THREE.F, filterSize: THREE.K, hiddenDim: THREE.hidden, numClasses: THREE.classes, weightScale: 'he', seed: 0 });
  const params = { ...model.params, b1: tensor([THREE.F], 0.2), b2: tensor([THREE.hidden], 0.2), b3: tensor([THREE.classes], 0.2) };
  model.loadState(params);
  const X = tensor([THREE.N, THREE.C, THREE.H, THREE.W]);
  const scores = await reference(() => model.forward(X, { mode: 'test' }));
  return { model, params: model.params, X, scores };
}

/** The three-layer net's forward only, test mode (inference), batch 50: images/s. */
const forward = {
  convnet({ model, X }) {
    const ms = time(() => model.forward(X, { mode: 'test' }));
    return { batch: X.shape[0], imagesPerSecond: (X.shape[0] * 1000) / ms };
  },
  async ort({ model, X, scores }) {
    const results = await onOrt(exportOnnx(model), X, scores.data, 'the three-layer forward');
    return Object.fromEntries(Object.entries(results).map(([column, r]) => [column, r.differs !== undefined ? r : { batch: X.shape[0], imagesPerSecond: (X.shape[0] * 1000) / r.ms }]));
  },
  /** ConvNetJS with convnet's weights copied into its layers (Vols are (x, y, depth), fc inputs in that order). */
  convnetjs({ params, X, scores }) {
    const batch = 10;
    const { C, H, W, F, K, hidden, classes } = THREE;
    const net = new convnetjs.Net();
    net.makeLayers([
      { type: 'input', out_sx: W, out_sy: H, out_depth: C },
      { type: 'conv', sx: K, filters: F, stride: 1, pad: (K - 1) / 2, activation: 'relu' },
      { type: 'pool', sx: 2, stride: 2 },
      { type: 'fc', num_neurons: hidden, activation: 'relu' },
      { type: 'softmax', num_classes: classes },
    ]);
    // layers: input, conv, relu, pool, fc, relu, fc, softmax.
    const [, convL, , , fc1, , fc2] = net.layers;
    const { W1, b1, W2, b2, W3, b3 } = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.data]));
    for (let f = 0; f < F; f++) {
      for (let c = 0; c < C; c++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
        convL.filters[f].w[(ky * K + kx) * C + c] = W1[((f * C + c) * K + ky) * K + kx];
      }
      convL.biases.w[f] = b1[f];
    }
    const Hp = H / 2;
    const Wp = W / 2;
    for (let j = 0; j < hidden; j++) {
      // W2: (F·Hp·Wp, hidden), rows in (c, h, w) order; ConvNetJS's fc input is (h, w, c).
      for (let c = 0; c < F; c++) for (let h = 0; h < Hp; h++) for (let w = 0; w < Wp; w++) {
        fc1.filters[j].w[(h * Wp + w) * F + c] = W2[((c * Hp + h) * Wp + w) * hidden + j];
      }
      fc1.biases.w[j] = b2[j];
    }
    for (let k = 0; k < classes; k++) {
      for (let j = 0; j < hidden; j++) fc2.filters[k].w[j] = W3[j * classes + k];
      fc2.biases.w[k] = b3[k];
    }
    const vols = Array.from({ length: batch }, (_, n) => toVol(X.data, n * C * H * W, C, H, W));
    const out = new Float32Array(batch * classes);
    vols.forEach((v, n) => {
      net.forward(v, false);
      out.set(fc2.out_act.w, n * classes);
    });
    const diff = relDiff(out, scores.data);
    if (!agrees('ConvNetJS', 'the three-layer forward', diff)) return { differs: diff };
    const ms = time(() => { for (const v of vols) net.forward(v, false); }, 3);
    return { batch, imagesPerSecond: (batch * 1000) / ms };
  },
  /** tfjs (NHWC) with convnet's weights: W1 as (HH, WW, C, F), W2's rows reordered from (c, h, w) to (h, w, c). */
  tfjs(backend, { params, X, scores }) {
    const N = backend === 'cpu' ? 10 : THREE.N;
    const { C, H, W, F, K, hidden, classes } = THREE;
    const Hp = H / 2;
    const Wp = W / 2;
    const W2 = params.W2.data;
    const W2hwc = new Float32Array(W2.length);
    for (let c = 0; c < F; c++) for (let h = 0; h < Hp; h++) for (let w = 0; w < Wp; w++) {
      W2hwc.set(W2.subarray(((c * Hp + h) * Wp + w) * hidden, ((c * Hp + h) * Wp + w + 1) * hidden), ((h * Wp + w) * F + c) * hidden);
    }
    const pad = [[0, 0], [(K - 1) / 2, (K - 1) / 2], [(K - 1) / 2, (K - 1) / 2], [0, 0]];
    const w1 = tf.tensor4d(fchwToHwcf(params.W1.data, params.W1.shape), [K, K, C, F]);
    const b1 = tf.tensor1d(params.b1.data);
    const w2 = tf.tensor2d(W2hwc, [F * Hp * Wp, hidden]);
    const b2 = tf.tensor1d(params.b2.data);
    const w3 = tf.tensor2d(params.W3.data, [hidden, classes]);
    const b3 = tf.tensor1d(params.b3.data);
    const x = tf.tensor4d(nchwToNhwc(X.data.subarray(0, N * C * H * W), [N, C, H, W]), [N, H, W, C]);
    let out;
    // Braces, not a returned typed array (see conv.tfjs).
    const run = () => tf.tidy(() => {
      const c = tf.relu(tf.add(tf.conv2d(x, w1, 1, pad), b1));
      const p = tf.reshape(tf.maxPool(c, 2, 2, 'valid'), [N, F * Hp * Wp]);
      const h = tf.relu(tf.add(tf.matMul(p, w2), b2));
      out = tf.add(tf.matMul(h, w3), b3).dataSync();
    });
    run();
    const diff = relDiff(out, scores.data);
    const result = agrees(`tfjs-${backend}`, 'the three-layer forward', diff)
      ? { batch: N, imagesPerSecond: (N * 1000) / time(run, backend === 'cpu' ? 3 : REPS) }
      : { differs: diff };
    tf.dispose([w1, b1, w2, b2, w3, b3, x]);
    return result;
  },
};

/** The three-layer convnet's SGD step (conv 32 7×7 p3 → relu → pool 2×2 → fc 100 → relu → fc 10 → softmax): images/s. */
const train = {
  convnet() {
    const N = 50;
    const t = (shape, scale) => ({ shape, data: randomArray(size(shape), scale), dtype: 'float32' });
    const p = { W1: t([32, 3, 7, 7], 1e-3), b1: t([32], 0), W2: t([8192, 100], 1e-3), b2: t([100], 0), W3: t([100, 10], 1e-3), b3: t([10], 0) };
    const x = t([N, 3, 32, 32], 1);
    const y = Array.from({ length: N }, (_, i) => i % 10);
    const ms = time(() => {
      const c = convForward(x, p.W1, p.b1, { stride: 1, pad: 3 });
      const r1 = reluForward(c.out);
      const pl = maxPoolForward(r1.out, { poolHeight: 2, poolWidth: 2, stride: 2 });
      const h = affineForward(pl.out, p.W2, p.b2);
      const r2 = reluForward(h.out);
      const s = affineForward(r2.out, p.W3, p.b3);
      const { dx } = softmaxLoss(s.out, y);
      const g3 = affineBackward(dx, s.cache);
      const g2 = affineBackward(reluBackward(g3.dx, r2.cache), h.cache);
      const g1 = convBackward(reluBackward(maxPoolBackward(reshape(g2.dx, pl.out.shape), pl.cache), r1.cache), c.cache);
      const g = { W1: g1.dw, b1: g1.db, W2: g2.dw, b2: g2.db, W3: g3.dw, b3: g3.db };
      for (const k of Object.keys(p)) {
        // Local arrays: indexing p[k].data per element costs more than the whole step's layers.
        const values = p[k].data;
        const grad = g[k].data;
        for (let i = 0; i < values.length; i++) values[i] -= 1e-3 * grad[i];
      }
    });
    return { batch: N, imagesPerSecond: (N * 1000) / ms };
  },
  convnetjs() {
    const batch = 10;
    const net = new convnetjs.Net();
    net.makeLayers([
      { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
      { type: 'conv', sx: 7, filters: 32, stride: 1, pad: 3, activation: 'relu' },
      { type: 'pool', sx: 2, stride: 2 },
      { type: 'fc', num_neurons: 100, activation: 'relu' },
      { type: 'softmax', num_classes: 10 },
    ]);
    const trainer = new convnetjs.Trainer(net, { method: 'sgd', learning_rate: 1e-3, batch_size: 50, l2_decay: 0, momentum: 0 });
    const data = randomArray(batch * 3 * 32 * 32);
    const vols = Array.from({ length: batch }, (_, n) => toVol(data, n * 3072, 3, 32, 32));
    const ms = time(() => vols.forEach((v, i) => trainer.train(v, i % 10)), 3);
    return { batch, imagesPerSecond: (batch * 1000) / ms };
  },
  tfjs(backend) {
    const N = backend === 'cpu' ? 5 : 50;
    const pad = [[0, 0], [3, 3], [3, 3], [0, 0]];
    const v = (shape, scale) => tf.variable(tf.tensor(randomArray(size(shape), scale), shape));
    const W1 = v([7, 7, 3, 32], 1e-3), b1 = v([32], 0), W2 = v([8192, 100], 1e-3), b2 = v([100], 0), W3 = v([100, 10], 1e-3), b3 = v([10], 0);
    const x = tf.tensor4d(randomArray(N * 32 * 32 * 3), [N, 32, 32, 3]);
    const labels = tf.oneHot(tf.tensor1d(Array.from({ length: N }, (_, i) => i % 10), 'int32'), 10);
    // wasm: the conv's gradient without Conv2DBackpropFilter (see filterGradient).
    const convLayer = backend === 'wasm'
      ? tf.customGrad((input, filter, save) => {
          save([input, filter]);
          return {
            value: tf.conv2d(input, filter, 1, pad),
            gradFunc: (dy, [xs, f]) => [tf.conv2dTranspose(dy, f, xs.shape, 1, pad), filterGradient(xs, dy, [7, 7, 3, 32], 1, 3)],
          };
        })
      : (input, filter) => tf.conv2d(input, filter, 1, pad);
    const optimizer = tf.train.sgd(1e-3);
    const ms = time(() => {
      const cost = optimizer.minimize(() => {
        const c = tf.relu(tf.add(convLayer(x, W1), b1));
        const p = tf.reshape(tf.maxPool(c, 2, 2, 'valid'), [N, 8192]);
        const h = tf.relu(tf.add(tf.matMul(p, W2), b2));
        return tf.losses.softmaxCrossEntropy(labels, tf.add(tf.matMul(h, W3), b3));
      }, true, [W1, b1, W2, b2, W3, b3]);
      cost.dataSync();
      cost.dispose();
    }, backend === 'cpu' ? 1 : 3);
    tf.dispose([W1, b1, W2, b2, W3, b3, x, labels]);
    return { batch: N, imagesPerSecond: (N * 1000) / ms };
  },
};

/**
 * PyTorch's rows from torch_bench.py, run after everything else (never alongside a timing): the
 * conv cases' tensors and the three-layer net's input, weights and convnet's outputs go to it as
 * one raw float32 file and a JSON manifest. Returns its parsed JSON, or { error }.
 */
function runTorch({ convCases, forwardCase }) {
  const dir = mkdtempSync(join(tmpdir(), 'convnet-peers-'));
  try {
    const arrays = [];
    let offset = 0;
    const put = (t) => {
      arrays.push(t.data);
      const entry = { shape: t.shape, offset };
      offset += t.data.length;
      return entry;
    };
    const manifest = {
      data: join(dir, 'data.bin'),
      reps: REPS,
      tolerance: TOLERANCE,
      threads: TORCH.map(([, threads]) => threads),
      conv: convCases.map(({ c, data }) => ({ label: c.label, stride: c.stride, pad: c.pad, tensors: { x: put(data.x), w: put(data.w), b: put(data.b), out: put(data.out) } })),
      pool: wanted('pool') ? { x: POOL.x } : null,
      threeLayer: forwardCase && {
        forward: wanted('forward'),
        train: wanted('train'),
        tensors: Object.fromEntries([['x', put(forwardCase.X)], ['scores', put(forwardCase.scores)], ...Object.entries(forwardCase.params).map(([k, t]) => [k, put(t)])]),
      },
    };
    const bytes = new Uint8Array(offset * 4);
    let at = 0;
    for (const a of arrays) {
      bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      at += a.byteLength;
    }
    writeFileSync(manifest.data, bytes);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const script = fileURLToPath(new URL('torch_bench.py', import.meta.url));
    const run = spawnSync(PYTHON, [script, join(dir, 'manifest.json')], { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
    if (run.error || run.status !== 0) return { error: run.error ? run.error.message : `exit status ${run.status}` };
    return JSON.parse(run.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ run and print

let SYSTEMS = [
  ...CONVNET.map(([column]) => column),
  'ConvNetJS',
  'tfjs-cpu',
  'tfjs-wasm',
  ...(ort ? ORT.map(([column]) => column) : []),
  ...(hasTorch ? TORCH.map(([column]) => column) : []),
];
/** The column the ratios are taken against: convnet on one thread, like the peers. */
const BASE = 'convnet wasm';
const rows = [];
const note = (batch) => (batch < 50 ? `*${batch}` : '');

async function onBackend(name) {
  await tf.setBackend(name);
  await tf.ready();
}

function log(message) {
  process.stderr.write(`${message}\n`);
}

/** A row's cells: { system: { value, note, gflops } | { differs } }, from each system's result (absent: "—"). */
function cells(results, value, batch, gflops) {
  const out = {};
  for (const [system, r] of Object.entries(results)) {
    if (r === undefined) continue;
    const v = value(r);
    if (v?.differs !== undefined) out[system] = v;
    else if (v !== undefined) out[system] = { value: v, note: note(batch(r)), gflops: gflops?.(v) };
  }
  return out;
}

const convCases = [];
for (const c of CONV_CASES) {
  if (!wanted(c.id)) continue;
  log(`timing ${c.label} …`);
  const data = await convData(c);
  convCases.push({ c, data });
  await onBackend('cpu');
  const results = { ...(await onConvnet(() => conv.convnet(c, data))), ConvNetJS: conv.convnetjs(c), 'tfjs-cpu': conv.tfjs(c, 'cpu') };
  await onBackend('wasm');
  results['tfjs-wasm'] = conv.tfjs(c, 'wasm');
  Object.assign(results, await conv.ort(c, data));
  const flops = 2 * 50 * c.w[0] * c.w[1] * c.w[2] * c.w[3] * outSize(c.x[2], c.w[2], c.stride, c.pad) * outSize(c.x[3], c.w[3], c.stride, c.pad);
  rows.push({ id: `${c.id}-fwd`, label: `${c.label} fwd`, unit: 'ms', lowerIsBetter: true, flops, values: cells(results, (r) => r.fwd, (r) => r.batch, (ms) => flops / ms / 1e6) });
  rows.push({ id: `${c.id}-fwdBwd`, label: `${c.label} fwd+bwd`, unit: 'ms', lowerIsBetter: true, flops: 3 * flops, values: cells(results, (r) => r.fwdBwd, (r) => r.batchBwd ?? r.batch, (ms) => (3 * flops) / ms / 1e6) });
}

if (wanted('pool')) {
  log('timing max pool …');
  await onBackend('cpu');
  const poolResults = { ...(await onConvnet(() => pool.convnet())), ConvNetJS: pool.convnetjs(), 'tfjs-cpu': pool.tfjs() };
  await onBackend('wasm');
  poolResults['tfjs-wasm'] = pool.tfjs();
  rows.push({ id: 'pool', label: 'max pool 2×2 s2 (50,32,32,32) fwd+bwd', unit: 'ms', lowerIsBetter: true, values: cells(poolResults, (r) => r.fwdBwd, (r) => r.batch) });
}

// The three-layer net's weights and convnet's scores also go to PyTorch for its training row.
const forwardCase = wanted('forward') || wanted('train') ? await forwardData() : null;
if (wanted('forward')) {
  log('timing the three-layer forward (inference) …');
  await onBackend('cpu');
  const results = { ...(await onConvnet(() => forward.convnet(forwardCase))), ConvNetJS: forward.convnetjs(forwardCase), 'tfjs-cpu': forward.tfjs('cpu', forwardCase) };
  await onBackend('wasm');
  results['tfjs-wasm'] = forward.tfjs('wasm', forwardCase);
  Object.assign(results, await forward.ort(forwardCase));
  rows.push({ id: 'forward', label: 'three-layer forward only (inference), batch 50, 3×32×32', unit: 'images/s', lowerIsBetter: false, values: cells(results, (r) => r.differs !== undefined ? r : r.imagesPerSecond, (r) => r.batch) });
}

if (wanted('train')) {
  log('timing the training step …');
  await onBackend('cpu');
  const trainResults = { ...(await onConvnet(() => train.convnet())), ConvNetJS: train.convnetjs(), 'tfjs-cpu': train.tfjs('cpu') };
  await onBackend('wasm');
  trainResults['tfjs-wasm'] = train.tfjs('wasm');
  rows.push({ id: 'train', label: 'three-layer convnet training step, batch 50', unit: 'images/s', lowerIsBetter: false, values: cells(trainResults, (r) => r.imagesPerSecond, (r) => r.batch) });
}

let torchInfo = '';
if (hasTorch) {
  log('timing PyTorch (torch_bench.py) …');
  const torch = runTorch({ convCases, forwardCase });
  if (torch.error) {
    skipped.push(`PyTorch: failed (${torch.error}); no torch columns`);
    SYSTEMS = SYSTEMS.filter((s) => !TORCH.some(([column]) => column === s));
  } else {
    torchInfo = `, PyTorch ${torch.torch}${torch.mkldnn ? ' (MKL-DNN)' : ''}`;
    const rowById = Object.fromEntries(rows.map((r) => [r.id, r]));
    const put = (id, column, cell) => {
      if (rowById[id]) rowById[id].values[column] = cell;
    };
    for (const [column, threads] of TORCH) {
      const r = torch.results[String(threads)];
      if (r.threads !== threads) log(`  torch_bench.py ran on ${r.threads} threads, not ${threads}`);
      const rate = (images, ms) => (images * 1000) / ms;
      // torch_bench.py times a forward only when it agrees (else its time is null).
      const checked = (what, diff, cell) => (agrees(column, what, diff) ? cell : { differs: diff });
      r.conv.forEach((cr, i) => {
        const { c } = convCases[i];
        const fwdRow = rowById[`${c.id}-fwd`];
        put(`${c.id}-fwd`, column, checked(c.label, cr.maxRelDiff, { value: cr.fwd, note: '', gflops: fwdRow.flops / cr.fwd / 1e6 }));
        put(`${c.id}-fwdBwd`, column, { value: cr.fwdBwd, note: '', gflops: rowById[`${c.id}-fwdBwd`].flops / cr.fwdBwd / 1e6 });
      });
      if (r.pool) put('pool', column, { value: r.pool.fwdBwd, note: '' });
      if (r.threeLayerForward) {
        const f = r.threeLayerForward;
        put('forward', column, checked('the three-layer forward', f.maxRelDiff, { value: rate(f.batch, f.ms), note: note(f.batch) }));
      }
      if (r.train) put('train', column, { value: rate(r.train.batch, r.train.ms), note: note(r.train.batch) });
    }
  }
}

const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const ortInfo = ort ? `, onnxruntime-node ${ort.env.versions.node}` : '';
console.log(`\nconvnet vs peers, float32, Node ${process.version}, tfjs ${tf.version.tfjs}${ortInfo}${torchInfo}, median of up to ${REPS} runs`);
console.log(`Each cell: time or rate (GFLOP/s for convs), then how many times faster ${BASE} (one thread) is than it (below 1×: slower).`);
console.log(`×2: two threads. *n: timed on a batch of n and scaled to 50. —: no such row for this system (onnxruntime: inference only). differs: output not within ${TOLERANCE} of convnet's, not timed.\n`);
console.log(`| workload | ${SYSTEMS.join(' | ')} |`);
console.log(`|---|${SYSTEMS.map(() => '---').join('|')}|`);
for (const row of rows) {
  const base = row.values[BASE]?.value;
  const line = SYSTEMS.map((s) => {
    const cell = row.values[s];
    if (cell === undefined) return '—';
    if (cell.differs !== undefined) return `differs (${cell.differs.toExponential(1)})`;
    const { value, note: n, gflops } = cell;
    const rate = gflops === undefined ? '' : ` (${gflops.toFixed(2)} GFLOP/s)`;
    const ratio = s === BASE || base === undefined ? '' : ` ${(row.lowerIsBetter ? value / base : base / value).toFixed(1)}×`;
    return `${fmt(value)} ${row.unit}${rate}${n}${ratio}`;
  });
  console.log(`| ${row.label} | ${line.join(' | ')} |`);
}

const summary = (id, what, columns) => {
  const row = rows.find((r) => r.id === id);
  if (!row) return;
  const parts = columns.filter((c) => row.values[c]?.value !== undefined).map((c) => `${c} ${fmt(row.values[c].value)}`);
  console.log(`${what} (images/s): ${parts.join(', ')}`);
};
console.log('');
for (const line of skipped) console.log(line);
summary('forward', 'three-layer forward', ['convnet wasm×2', 'convnet wasm', 'ort×2', 'ort', 'torch×2', 'torch', 'tfjs-wasm']);
summary('train', 'three-layer training step', ['convnet wasm×2', 'convnet wasm', 'torch×2', 'torch', 'tfjs-wasm']);
