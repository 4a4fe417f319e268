/**
 * `npm run bench`: the fast layers on the shapes, one thread, this machine.
 *
 * Every figure is the median of BENCH_REPS timed runs (default 7) after two warm-up runs.
 * Conv flops: forward = 2·N·F·(C/groups)·HH·WW·Ho·Wo, forward+backward = 3× that.
 * The naive layers are far slower, so each is timed once on a batch of NAIVE_BATCH images and
 * scaled to the full batch (it is linear in N); the speedup column says so.
 */
import { reluBackward, reluForward } from '../src/layers/activations.js';
import { affineBackwardFast, affineForwardFast } from '../src/layers/affineFast.js';
import { convBackwardNaive, convForwardNaive, type ConvParam } from '../src/layers/conv.js';
import { convBackward, convForward } from '../src/layers/convFast.js';
import { softmaxLoss } from '../src/layers/loss.js';
import { maxPoolBackwardNaive, maxPoolForwardNaive } from '../src/layers/pool.js';
import { maxPoolBackward, maxPoolForward } from '../src/layers/poolFast.js';
import { rng } from '../src/rng.js';
import { randn, reshape, type DType, type Tensor } from '../src/tensor.js';

const REPS = Number(process.env.BENCH_REPS ?? 7);
const NAIVE_BATCH = 2;
const generator = rng(231);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median milliseconds of `run` over REPS runs after `warmup` untimed ones. */
function time(run: () => void, reps = REPS, warmup = 2): number {
  for (let i = 0; i < warmup; i++) run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return median(times);
}

function randomTensor(shape: number[], dtype: DType, scale = 1): Tensor {
  const t = randn(shape, generator, dtype);
  if (scale !== 1) for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
  return t;
}

const pad = (s: string, n: number): string => s.padStart(n);

interface ConvCase {
  label: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  param: ConvParam;
}

const CONV_CASES: ConvCase[] = [
  { label: 'x(50,3,32,32) w(32,3,7,7) s1 p3', x: [50, 3, 32, 32], w: [32, 3, 7, 7], param: { stride: 1, pad: 3 } },
  { label: 'x(50,64,16,16) w(64,64,3,3) s1 p1', x: [50, 64, 16, 16], w: [64, 64, 3, 3], param: { stride: 1, pad: 1 } },
  { label: 'x(50,32,32,32) w(64,32,3,3) s2 p1', x: [50, 32, 32, 32], w: [64, 32, 3, 3], param: { stride: 2, pad: 1 } },
];

/** The float32 figures the issue sets targets for, filled in as the benchmarks run. */
const targets = { convGflops: [] as number[], poolMs: Number.NaN, imagesPerSecond: Number.NaN };

function benchConv(dtype: DType, withNaive: boolean): string[] {
  const rows: string[] = [];
  for (const c of CONV_CASES) {
    const x = randomTensor(c.x, dtype);
    const w = randomTensor(c.w, dtype, 0.1);
    const b = randomTensor([c.w[0]], dtype);
    const { out, cache } = convForward(x, w, b, c.param);
    const dout = randomTensor(out.shape, dtype);
    const [N, F, Ho, Wo] = out.shape as [number, number, number, number];
    const flops = 2 * N * F * c.w[1] * c.w[2] * c.w[3] * Ho * Wo;
    const fwd = time(() => convForward(x, w, b, c.param));
    const fwdBwd = time(() => {
      const r = convForward(x, w, b, c.param);
      convBackward(dout, r.cache);
    });
    void cache;
    if (dtype === 'float32') targets.convGflops.push(flops / fwd / 1e6, (3 * flops) / fwdBwd / 1e6);
    let speedup = '';
    if (withNaive) {
      const xs: Tensor = { shape: [NAIVE_BATCH, ...c.x.slice(1)], data: x.data.slice(0, x.data.length / N * NAIVE_BATCH), dtype };
      const ds: Tensor = { shape: [NAIVE_BATCH, F, Ho, Wo], data: dout.data.slice(0, dout.data.length / N * NAIVE_BATCH), dtype };
      const start = performance.now();
      const r = convForwardNaive(xs, w, b, c.param);
      convBackwardNaive(ds, r.cache);
      const naive = ((performance.now() - start) * N) / NAIVE_BATCH;
      speedup = `${(naive / fwdBwd).toFixed(0)}× (naive ${(naive / 1000).toFixed(1)} s)`;
    }
    rows.push(
      `| ${c.label.padEnd(36)} | ${dtype} | ${pad(fwd.toFixed(1), 8)} | ${pad((flops / fwd / 1e6).toFixed(2), 7)} | ${pad(fwdBwd.toFixed(1), 10)} | ${pad(((3 * flops) / fwdBwd / 1e6).toFixed(2), 7)} | ${speedup} |`,
    );
  }
  return rows;
}

function benchMaxPool(dtype: DType): string {
  const x = randomTensor([50, 32, 32, 32], dtype);
  const param = { poolHeight: 2, poolWidth: 2, stride: 2 };
  const dout = randomTensor([50, 32, 16, 16], dtype);
  const fwd = time(() => maxPoolForward(x, param), 3 * REPS);
  const fwdBwd = time(() => maxPoolBackward(dout, maxPoolForward(x, param).cache), 3 * REPS);
  const naive = time(() => maxPoolBackwardNaive(dout, maxPoolForwardNaive(x, param).cache), 3, 1);
  if (dtype === 'float32') targets.poolMs = fwdBwd;
  return `| max pool 2×2 s2 on (50,32,32,32) | ${dtype} | ${pad(fwd.toFixed(2), 8)} | ${pad(fwdBwd.toFixed(2), 10)} | ${(naive / fwdBwd).toFixed(1)}× (naive ${naive.toFixed(1)} ms) |`;
}

/**
 * One SGD step of the three-layer convnet (conv 32 7×7 pad 3 → relu → 2×2 max pool → affine 100
 * → relu → affine 10 → softmax loss) on a batch of 50 CIFAR-sized images, from the fast layers.
 */
function benchTrainingStep(dtype: DType): { ms: number; imagesPerSecond: number } {
  const N = 50;
  const scale = 1e-3;
  const params = {
    W1: randomTensor([32, 3, 7, 7], dtype, scale),
    b1: randomTensor([32], dtype, 0),
    W2: randomTensor([32 * 16 * 16, 100], dtype, scale),
    b2: randomTensor([100], dtype, 0),
    W3: randomTensor([100, 10], dtype, scale),
    b3: randomTensor([10], dtype, 0),
  };
  const x = randomTensor([N, 3, 32, 32], dtype);
  const y = Array.from({ length: N }, () => generator.int(10));
  const lr = 1e-3;
  const step = (): number => {
    const conv = convForward(x, params.W1, params.b1, { stride: 1, pad: 3 });
    const relu1 = reluForward(conv.out);
    const pool = maxPoolForward(relu1.out, { poolHeight: 2, poolWidth: 2, stride: 2 });
    const hidden = affineForwardFast(pool.out, params.W2, params.b2);
    const relu2 = reluForward(hidden.out);
    const scores = affineForwardFast(relu2.out, params.W3, params.b3);
    const { loss, dx: dscores } = softmaxLoss(scores.out, y);
    const g3 = affineBackwardFast(dscores, scores.cache);
    const g2 = affineBackwardFast(reluBackward(g3.dx, relu2.cache), hidden.cache);
    const dpool = maxPoolBackward(reshape(g2.dx, pool.out.shape), pool.cache);
    const g1 = convBackward(reluBackward(dpool, relu1.cache), conv.cache);
    const grads: Record<keyof typeof params, Tensor> = { W1: g1.dw, b1: g1.db, W2: g2.dw, b2: g2.db, W3: g3.dw, b3: g3.db };
    for (const name of Object.keys(params) as (keyof typeof params)[]) {
      const p = params[name].data;
      const d = grads[name].data;
      for (let i = 0; i < p.length; i++) p[i] -= lr * d[i]!;
    }
    return loss;
  };
  const ms = time(step);
  return { ms, imagesPerSecond: (N * 1000) / ms };
}

function main(): void {
  console.log(`convnet fast layers, Node ${process.version}, one thread, median of ${REPS} runs\n`);
  console.log('| conv                                 | dtype   |   fwd ms | GFLOP/s | fwd+bwd ms | GFLOP/s | naive→fast (fwd+bwd) |');
  console.log('|--------------------------------------|---------|---------:|--------:|-----------:|--------:|----------------------|');
  for (const row of benchConv('float32', true)) console.log(row);
  for (const row of benchConv('float64', false)) console.log(row);
  console.log(`\n(naive conv timed once on a batch of ${NAIVE_BATCH} and scaled to 50)\n`);
  console.log('| pool                             | dtype   |   fwd ms | fwd+bwd ms | naive→fast (fwd+bwd) |');
  console.log('|----------------------------------|---------|---------:|-----------:|----------------------|');
  console.log(benchMaxPool('float32'));
  console.log(benchMaxPool('float64'));
  console.log('\n| three-layer convnet training step (batch 50, 3×32×32)                    | dtype   | ms/step | images/s |');
  console.log('|--------------------------------------------------------------------------|---------|--------:|---------:|');
  for (const dtype of ['float32', 'float64'] as const) {
    const { ms, imagesPerSecond } = benchTrainingStep(dtype);
    if (dtype === 'float32') targets.imagesPerSecond = imagesPerSecond;
    console.log(`| conv 32 7×7 → relu → pool 2×2 → affine 100 → relu → affine 10 → softmax   | ${dtype} | ${pad(ms.toFixed(0), 7)} | ${pad(imagesPerSecond.toFixed(0), 8)} |`);
  }
  const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const lowest = Math.min(...targets.convGflops);
  console.log('\nTargets (float32, one thread):');
  console.log(`- conv forward and forward+backward >= 3 GFLOP/s on each shape: ${mark(lowest >= 3)} (lowest ${lowest.toFixed(2)})`);
  console.log(`- max pool forward+backward < 10 ms: ${mark(targets.poolMs < 10)} (${targets.poolMs.toFixed(2)} ms)`);
  console.log(`- training step >= 80 images/s: ${mark(targets.imagesPerSecond >= 80)} (${targets.imagesPerSecond.toFixed(0)})`);
}

main();
