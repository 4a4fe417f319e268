/**
 * The WebAssembly backend on worker threads: the shared kernel suite with every call split
 * over three threads, results bit-identical whatever the thread count, and the thread-count
 * setting (setThreads, CONVNET_THREADS).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { getThreads, setKernels, setThreads, type Kernels } from '../../src/kernels/index.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { balancedStep, CHUNKS_PER_THREAD } from '../../src/kernels/wasm/runtime.js';
import { convBackward, convForward, setConvColumnLimit } from '../../src/layers/convFast.js';
import { affineBackward, affineForward } from '../../src/layers/affineFast.js';
import type { ConvParam } from '../../src/layers/conv.js';
import { randn, type Tensor } from '../../src/tensor.js';
import { rng } from '../../src/rng.js';
import { runKernelSuite } from './suite.js';
import { ThreeLayerConvNet } from '../../src/models/threeLayerConvNet.js';
import { Solver, type SolverOptions } from '../../src/train/solver.js';
import { composeAugmentations, randomAffine, randomShift } from '../../src/train/augment.js';
import { workersStarted } from '../helpers.js';


const split = createWasmKernels({ threads: 3, splitAll: true });
before(() => workersStarted(split, 2));
after(() => split.terminate());
runKernelSuite(split, 'wasm, 3 threads, every call split');

describe('threads', () => {
  it('the workers ran chunks of the split calls', () => {
    const counts = split.chunkCounts();
    assert.ok(counts.workers > 0 && counts.caller > 0, JSON.stringify(counts));
  });

  it('conv and affine results are bit-identical on 1, 2 and 3 threads', async () => {
    const instances = [1, 2, 3].map((threads) => createWasmKernels({ threads, splitAll: true }));
    try {
      await workersStarted(instances[1]!, 1);
      await workersStarted(instances[2]!, 2);
      const cases: { x: number[]; w: number[]; param: ConvParam; chunk?: number }[] = [
        { x: [3, 6, 11, 9], w: [8, 3, 3, 2], param: { stride: [2, 1], pad: [1, 0, 2, 1], dilation: [1, 2], groups: 2 } },
        { x: [2, 5, 12, 12], w: [9, 5, 3, 3], param: { stride: 1, pad: 1 }, chunk: 37 },
        { x: [2, 4, 7, 7], w: [6, 4, 1, 1], param: {} },
        { x: [4, 3, 16, 16], w: [16, 3, 5, 5], param: { stride: 2, pad: 2 } },
        // Enough images for the forward to split by image, and more than one backward block.
        { x: [9, 4, 10, 13], w: [6, 2, 3, 3], param: { stride: 1, pad: 1, groups: 2 } },
        { x: [20, 3, 8, 8], w: [5, 3, 3, 3], param: { stride: 2, pad: [1, 0, 2, 1] } },
      ];
      const gen = rng(31);
      for (const c of cases) {
        const x = randn(c.x, gen, 'float32');
        const w = randn(c.w, gen, 'float32');
        const b = randn([c.w[0]!], gen, 'float32');
        const results = instances.map((kernels) => {
          const previous = setKernels(kernels);
          const limit = c.chunk === undefined ? undefined : setConvColumnLimit(c.w[1]! * c.w[2]! * c.w[3]! * c.chunk);
          try {
            const { out, cache } = convForward(x, w, b, c.param);
            const dout: Tensor = { ...out, data: out.data.map((v, i) => Math.sin(v + i)) };
            const grads = convBackward(dout, cache);
            return [out.data, grads.dx.data, grads.dw.data, grads.db.data];
          } finally {
            if (limit !== undefined) setConvColumnLimit(limit);
            setKernels(previous);
          }
        });
        for (let t = 1; t < results.length; t++) {
          results[0]!.forEach((array, i) => assert.deepEqual(results[t]![i], array, `x ${c.x} w ${c.w}: ${t + 1} threads, output ${i}`));
        }
      }
      const x = randn([37, 300], gen, 'float32');
      const w = randn([300, 45], gen, 'float32');
      const b = randn([45], gen, 'float32');
      const affine = instances.map((kernels: Kernels) => {
        const previous = setKernels(kernels);
        try {
          const { out, cache } = affineForward(x, w, b);
          const grads = affineBackward(out, cache);
          return [out.data, grads.dx.data, grads.dw.data];
        } finally {
          setKernels(previous);
        }
      });
      for (let t = 1; t < affine.length; t++) affine[0]!.forEach((array, i) => assert.deepEqual(affine[t]![i], array, `affine, ${t + 1} threads, output ${i}`));
    } finally {
      for (const instance of instances) instance.terminate();
    }
  });

  it('the same seed trains the same network on 1 and 3 threads (every call split), plain and with every recipe option', async () => {
    const gen = rng(5);
    const labels = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i % 4);
    const data = {
      XTrain: randn([24, 2, 12, 12], gen, 'float32'),
      yTrain: labels(24),
      XVal: randn([8, 2, 12, 12], gen, 'float32'),
      yVal: labels(8),
    };
    // The recipe: rotation, scaling and shifts, a cosine schedule after a warm-up epoch, decoupled
    // weight decay and label smoothing (all in TypeScript around the kernels, so thread-free too).
    const recipe: SolverOptions = { augment: composeAugmentations(randomAffine(15, 0.15), randomShift(1)), lrSchedule: 'cosine', warmupEpochs: 1, weightDecay: 0.05, labelSmoothing: 0.1 };
    const train = async (threads: number, extra: SolverOptions = {}): Promise<{ losses: number[]; params: Float32Array[] }> => {
      const kernels = createWasmKernels({ threads, splitAll: true });
      const previous = setKernels(kernels);
      try {
        await workersStarted(kernels, threads - 1);
        const model = new ThreeLayerConvNet({ inputDim: [2, 12, 12], numFilters: 6, filterSize: 3, hiddenDim: 12, numClasses: 4, dtype: 'float32', seed: 9 });
        const solver = new Solver(model, data, { updateRule: 'adam', optimConfig: { learningRate: 5e-3 }, numEpochs: 2, batchSize: 6, verbose: false, seed: 4, ...extra });
        await solver.train();
        return { losses: solver.lossHistory, params: Object.values(model.params).map((p) => p.data as Float32Array) };
      } finally {
        setKernels(previous);
        kernels.terminate();
      }
    };
    const one = await train(1);
    const three = await train(3);
    assert.equal(one.losses.length, 8);
    assert.deepEqual(three.losses, one.losses);
    assert.deepEqual(three.params, one.params);
    const oneRecipe = await train(1, recipe);
    const threeRecipe = await train(3, recipe);
    assert.equal(oneRecipe.losses.length, 8);
    assert.notDeepEqual(oneRecipe.losses, one.losses, 'the recipe changes the run');
    assert.deepEqual(threeRecipe.losses, oneRecipe.losses);
    assert.deepEqual(threeRecipe.params, oneRecipe.params);
  });

  it('a GEMM split gives each thread as even a share of panels as chunks claimed in turn allow', () => {
    /** Units on the busiest thread when chunks of `step` units go, in order, to the thread free first. */
    const span = (units: number, threads: number, step: number): number => {
      const loads = new Array<number>(threads).fill(0);
      for (let first = 0; first < units; first += step) {
        const idle = loads.indexOf(Math.min(...loads));
        loads[idle]! += Math.min(step, units - first);
      }
      return Math.max(...loads);
    };
    // The affine layer of the three-layer net: 100 columns are 13 panels of 8.
    assert.equal(balancedStep(13, 2), 7);
    assert.equal(span(13, 2, 7), 7);
    assert.equal(span(13, 2, Math.ceil(13 / 4)), 8); // the former rule: 4 + 4 + 4 + 1
    assert.equal(balancedStep(128, 2), 32); // evenly divisible: four chunks, as before
    for (let threads = 2; threads <= 4; threads++) {
      for (let units = 1; units <= 200; units++) {
        const step = balancedStep(units, threads);
        const chunks = Math.ceil(units / step);
        assert.ok(chunks >= Math.min(units, threads) && chunks <= CHUNKS_PER_THREAD * threads, `${units} units, ${threads} threads: ${chunks} chunks`);
        const formerStep = Math.ceil(units / Math.min(units, CHUNKS_PER_THREAD * threads));
        assert.ok(span(units, threads, step) <= span(units, threads, formerStep), `${units} units, ${threads} threads`);
        assert.ok(span(units, threads, step) <= Math.ceil(units / threads) + Math.ceil(units / (CHUNKS_PER_THREAD * threads)), `${units} units, ${threads} threads`);
      }
    }
  });

  it('setThreads takes 1 to 64 and getThreads reports it', () => {
    const previous = getThreads();
    try {
      setThreads(1);
      assert.equal(getThreads(), 1);
      setThreads(2);
      assert.equal(getThreads(), 2);
    } finally {
      setThreads(previous);
    }
    assert.throws(() => setThreads(0), /setThreads: expected threads to be an integer from 1 to 64, got 0/);
    assert.throws(() => setThreads(1.5), /setThreads: expected threads to be an integer from 1 to 64, got 1\.5/);
    assert.throws(() => setThreads('2' as unknown as number), /setThreads: expected threads to be an integer from 1 to 64, got "2"/);
  });

  it('wasmThreadsReady loads the default instance and resolves once the workers setThreads asked for have started', () => {
    // A fresh process: no instance, no workers yet; right after setThreads none has started.
    const script =
      "const k = await import(process.argv[1]); k.setBackend('wasm'); k.setThreads(3); const before = k.wasmWorkersReady(); const n = await k.wasmThreadsReady(); console.log(before, n, k.wasmWorkersReady()); process.exit(0);";
    const url = new URL('../../src/kernels/index.js', import.meta.url).href;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script, url], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), '0 2 2');
  });

  it('the default is CONVNET_THREADS, else the number of cores', () => {
    const script = "const k = await import(process.argv[1]); let out; try { out = String(k.getThreads()); } catch (e) { out = 'error: ' + e.message; } console.log(out);";
    const url = new URL('../../src/kernels/index.js', import.meta.url).href;
    const run = (value: string | undefined): string => {
      const env = { ...process.env };
      delete env.CONVNET_THREADS;
      if (value !== undefined) env.CONVNET_THREADS = value;
      return spawnSync(process.execPath, ['--input-type=module', '-e', script, url], { env, encoding: 'utf8' }).stdout.trim();
    };
    assert.equal(run(undefined), String(Math.min(64, availableParallelism())));
    assert.equal(run('3'), '3');
    assert.match(run('many'), /^error: getThreads: expected CONVNET_THREADS to be an integer from 1 to 64, got "many"/);
  });
});
