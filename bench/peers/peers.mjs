/**
 * `npm run bench:peers`: the work of `npm run bench` on convnet and on its peers, side by side,
 * from one run, all float32: convnet's WebAssembly backend on two threads and on one, its pure
 * TypeScript backend (one thread), ConvNetJS (convnetjs), TensorFlow.js's cpu backend
 * (@tensorflow/tfjs) and its WebAssembly backend (@tensorflow/tfjs-backend-wasm, which runs one
 * thread in Node), all but the first on one thread.
 *
 * Fairness notes
 * - Layouts are converted outside the timed region: tfjs is NHWC with filters (HH, WW, C, F);
 *   ConvNetJS takes one image at a time as a Vol (x, y, depth), so its batch is a loop.
 * - tfjs gets explicit padding arrays ([[0, 0], [p, p], [p, p], [0, 0]]).
 * - Conv timings cover the convolution without the bias (tfjs's conv2d has none).
 * - tfjs-wasm has no Conv2DBackpropFilter kernel: its forward+backward computes dx with
 *   conv2dTranspose (Conv2DBackpropInput) and dw as a convolution of x with dy dilated by the
 *   stride ((C, H, W, N) ⋆ (Ho, Wo, N, F)); its training step uses that as the conv's gradient.
 * - Slow systems are timed on a smaller batch and scaled linearly to 50; the table says which.
 * - tfjs results are read back (dataSync) inside the timed region, as convnet's are plain arrays.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

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

/** convnet's configurations: [column, backend, threads]. */
const CONVNET = [
  ['convnet wasm×2', 'wasm', 2],
  ['convnet wasm', 'wasm', 1],
  ['convnet js', 'js', 1],
];

/** Runs `measure` with convnet on each configuration: { column: result }. */
async function onConvnet(measure) {
  const results = {};
  for (const [column, backend, threads] of CONVNET) {
    setBackend(backend);
    setThreads(threads);
    // Let the worker threads start, so that the warm-up is not their start-up.
    for (let waited = 0; backend === 'wasm' && wasmWorkersReady() < threads - 1 && waited < 5000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    results[column] = measure();
  }
  return results;
}

const tf = require('@tensorflow/tfjs');
const wasmBackend = require('@tensorflow/tfjs-backend-wasm');
const convnetjs = require('convnetjs');
wasmBackend.setThreadsCount?.(1);

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

// ------------------------------------------------------------------ workloads

const CONV_CASES = [
  { label: 'conv x(50,3,32,32) w(32,3,7,7) s1 p3', x: [50, 3, 32, 32], w: [32, 3, 7, 7], stride: 1, pad: 3 },
  { label: 'conv x(50,64,16,16) w(64,64,3,3) s1 p1', x: [50, 64, 16, 16], w: [64, 64, 3, 3], stride: 1, pad: 1 },
  { label: 'conv x(50,32,32,32) w(64,32,3,3) s2 p1', x: [50, 32, 32, 32], w: [64, 32, 3, 3], stride: 2, pad: 1 },
];

const outSize = (n, k, s, p) => Math.floor((n + 2 * p - k) / s) + 1;

/** Each system's { fwd, fwdBwd } ms for a batch of 50 (scaled from `batch` when smaller). */
const conv = {
  convnet(c) {
    const [N, C, H, W] = c.x;
    const x = { shape: c.x, data: randomArray(size(c.x)), dtype: 'float32' };
    const w = { shape: c.w, data: randomArray(size(c.w), 0.1), dtype: 'float32' };
    const b = { shape: [c.w[0]], data: randomArray(c.w[0]), dtype: 'float32' };
    const param = { stride: c.stride, pad: c.pad };
    const Ho = outSize(H, c.w[2], c.stride, c.pad);
    const Wo = outSize(W, c.w[3], c.stride, c.pad);
    const dout = { shape: [N, c.w[0], Ho, Wo], data: randomArray(N * c.w[0] * Ho * Wo), dtype: 'float32' };
    void C;
    return {
      batch: N,
      fwd: time(() => convForward(x, w, b, param)),
      fwdBwd: time(() => convBackward(dout, convForward(x, w, b, param).cache)),
    };
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
    const x = { shape: POOL.x, data: randomArray(size(POOL.x)), dtype: 'float32' };
    const dout = { shape: [50, 32, 16, 16], data: randomArray(50 * 32 * 16 * 16), dtype: 'float32' };
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

// ------------------------------------------------------------------ run and print

const SYSTEMS = [...CONVNET.map(([column]) => column), 'ConvNetJS', 'tfjs-cpu', 'tfjs-wasm'];
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

for (const c of CONV_CASES) {
  log(`timing ${c.label} …`);
  await onBackend('cpu');
  const results = { ...(await onConvnet(() => conv.convnet(c))), ConvNetJS: conv.convnetjs(c), 'tfjs-cpu': conv.tfjs(c, 'cpu') };
  await onBackend('wasm');
  results['tfjs-wasm'] = conv.tfjs(c, 'wasm');
  const flops = 2 * 50 * c.w[0] * c.w[1] * c.w[2] * c.w[3] * outSize(c.x[2], c.w[2], c.stride, c.pad) * outSize(c.x[3], c.w[3], c.stride, c.pad);
  rows.push({ label: `${c.label} fwd`, unit: 'ms', lowerIsBetter: true, values: Object.fromEntries(SYSTEMS.map((s) => [s, { value: results[s].fwd, note: note(results[s].batch), gflops: flops / results[s].fwd / 1e6 }])) });
  rows.push({ label: `${c.label} fwd+bwd`, unit: 'ms', lowerIsBetter: true, values: Object.fromEntries(SYSTEMS.map((s) => [s, { value: results[s].fwdBwd, note: note(results[s].batchBwd ?? results[s].batch), gflops: (3 * flops) / results[s].fwdBwd / 1e6 }])) });
}

log('timing max pool …');
await onBackend('cpu');
const poolResults = { ...(await onConvnet(() => pool.convnet())), ConvNetJS: pool.convnetjs(), 'tfjs-cpu': pool.tfjs() };
await onBackend('wasm');
poolResults['tfjs-wasm'] = pool.tfjs();
rows.push({ label: 'max pool 2×2 s2 (50,32,32,32) fwd+bwd', unit: 'ms', lowerIsBetter: true, values: Object.fromEntries(SYSTEMS.map((s) => [s, { value: poolResults[s].fwdBwd, note: note(poolResults[s].batch) }])) });

log('timing the training step …');
await onBackend('cpu');
const trainResults = { ...(await onConvnet(() => train.convnet())), ConvNetJS: train.convnetjs(), 'tfjs-cpu': train.tfjs('cpu') };
await onBackend('wasm');
trainResults['tfjs-wasm'] = train.tfjs('wasm');
rows.push({ label: 'three-layer convnet training step', unit: 'images/s', lowerIsBetter: false, values: Object.fromEntries(SYSTEMS.map((s) => [s, { value: trainResults[s].imagesPerSecond, note: note(trainResults[s].batch) }])) });

const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
console.log(`\nconvnet vs peers, float32, Node ${process.version}, tfjs ${tf.version.tfjs}, median of up to ${REPS} runs`);
console.log(`Each cell: time or rate (GFLOP/s for convs), then how many times faster ${BASE} (one thread) is than it (below 1×: slower).`);
console.log('*n: timed on a batch of n and scaled to 50.\n');
console.log(`| workload | ${SYSTEMS.join(' | ')} |`);
console.log(`|---|${SYSTEMS.map(() => '---').join('|')}|`);
for (const row of rows) {
  const base = row.values[BASE].value;
  const cells = SYSTEMS.map((s) => {
    const { value, note: n, gflops } = row.values[s];
    const rate = gflops === undefined ? '' : ` (${gflops.toFixed(2)} GFLOP/s)`;
    const ratio = s === BASE ? '' : ` ${(row.lowerIsBetter ? value / base : base / value).toFixed(1)}×`;
    return `${fmt(value)} ${row.unit}${rate}${n}${ratio}`;
  });
  console.log(`| ${row.label} | ${cells.join(' | ')} |`);
}

const trainRow = rows[rows.length - 1].values;
const vsTfjsWasm = (column) => (trainRow[column].value / trainRow['tfjs-wasm'].value).toFixed(1);
console.log(
  `\ntraining step: convnet wasm on 2 threads ${fmt(trainRow['convnet wasm×2'].value)} images/s = ${vsTfjsWasm('convnet wasm×2')}× tfjs-wasm's ${fmt(trainRow['tfjs-wasm'].value)}; ` +
    `on 1 thread ${vsTfjsWasm('convnet wasm')}×.`,
);
