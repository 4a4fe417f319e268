/**
 * The fast layers against the naive ones (the definition) on seeded random configurations:
 * odd and non-square sizes, stride 1–3, padding 0–3 (symmetric, [h, w] and [t, l, b, r]),
 * dilation 1–2, groups 1–3, 1×1 convolutions, chunked im2col, overlapping and ceil-mode pools,
 * both average-pool divisors, and integer-valued inputs so that max-pool ties are common.
 *
 * Metrics, for the output and every gradient:
 * - float64: relError (CS231n's element-wise max |a − b| / max(1e-8, |a| + |b|)) below 1e-10.
 * - float32: scaledError (max |a − b| / (max |a| + max |b|), test/kernels/suite.ts) below 1e-4.
 *   The element-wise metric is too strict for float32: a gradient entry that cancels to near
 *   zero carries the rounding error of its terms (~1e-7 of their size), which can be a large
 *   fraction of itself in any summation order, the naive layer's included.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConvnetError } from '../../src/errors.js';
import { relError } from '../../src/gradcheck.js';
import { affineBackward, affineForward } from '../../src/layers/affineFast.js';
import { affineBackwardNaive, affineForwardNaive } from '../../src/layers/affine.js';
import { convBackwardNaive, convForwardNaive, type ConvParam } from '../../src/layers/conv.js';
import { convBackward, convForward, convReluBackwardFast, convReluForwardFast, convReluPoolBackwardFast, convReluPoolForwardFast, setConvColumnLimit } from '../../src/layers/convFast.js';
import { setBackend, getBackend, type Backend } from '../../src/kernels/index.js';
import { reluBackward, reluForward } from '../../src/layers/activations.js';
import {
  avgPoolBackwardNaive,
  avgPoolForwardNaive,
  maxPoolBackwardNaive,
  maxPoolForwardNaive,
  type AvgPoolParam,
} from '../../src/layers/pool.js';
import { avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward } from '../../src/layers/poolFast.js';
import { rng, type Rng } from '../../src/rng.js';
import { clone, type DType, type Tensor } from '../../src/tensor.js';
import { scaledError } from '../kernels/suite.js';

const DTYPES: DType[] = ['float64', 'float32'];

function randomTensor(gen: Rng, shape: number[], dtype: DType, integers = false): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = integers ? gen.int(5) - 2 : gen.normal();
  return { shape, data, dtype };
}

/** Asserts fast ≈ naive with the metric of the dtype (see the file comment). */
function assertClose(name: string, fast: Tensor, naive: Tensor, label: string): void {
  assert.deepEqual(fast.shape, naive.shape, `${label} ${name}: shape`);
  assert.equal(fast.dtype, naive.dtype, `${label} ${name}: dtype`);
  if (fast.dtype === 'float64') {
    const err = relError(fast.data, naive.data);
    assert.ok(err < 1e-10, `${label} ${name}: relError ${err} >= 1e-10`);
  } else {
    const err = scaledError(fast.data, naive.data);
    assert.ok(err < 1e-4, `${label} ${name}: scaledError ${err} >= 1e-4`);
  }
}

const pick = <T>(gen: Rng, values: readonly T[]): T => values[gen.int(values.length)]!;

// ---------------------------------------------------------------- convolution

interface ConvConfig {
  x: number[];
  w: number[];
  param: ConvParam;
  integers: boolean;
  /** Cap the im2col chunk at this many output positions (exercises the chunked path). */
  chunk?: number;
}

function randomPad(gen: Rng): ConvParam['pad'] {
  switch (gen.int(4)) {
    case 0:
      return gen.int(4);
    case 1:
      return [gen.int(4), gen.int(4)];
    default:
      return [gen.int(4), gen.int(4), gen.int(4), gen.int(4)];
  }
}

function pads(pad: ConvParam['pad']): [number, number, number, number] {
  if (pad === undefined) return [0, 0, 0, 0];
  if (typeof pad === 'number') return [pad, pad, pad, pad];
  if (pad.length === 2) return [pad[0], pad[1], pad[0], pad[1]];
  return pad;
}

function randomConvConfig(gen: Rng, index: number): ConvConfig {
  for (;;) {
    const groups = 1 + gen.int(3);
    const C = groups * (1 + gen.int(3));
    const F = groups * (1 + gen.int(3));
    const N = 1 + gen.int(3);
    const pointwise = index % 8 === 7; // 1×1, stride 1, no padding: the GEMM reads x directly
    const HH = pointwise ? 1 : 1 + gen.int(4);
    const WW = pointwise ? 1 : 1 + gen.int(4);
    const H = 1 + gen.int(11);
    const W = 1 + gen.int(11);
    const param: ConvParam = pointwise
      ? { groups }
      : { stride: [1 + gen.int(3), 1 + gen.int(3)], pad: randomPad(gen), dilation: [1 + gen.int(2), 1 + gen.int(2)], groups };
    const [t, l, b, r] = pads(param.pad);
    const dil = (param.dilation as [number, number] | undefined) ?? [1, 1];
    if (dil[0] * (HH - 1) + 1 > H + t + b || dil[1] * (WW - 1) + 1 > W + l + r) continue;
    return { x: [N, C, H, W], w: [F, C / groups, HH, WW], param, integers: index % 5 === 0, chunk: index % 6 === 5 ? 1 + gen.int(4) : undefined };
  }
}

function checkConv(config: ConvConfig, dtype: DType, seed: number): void {
  const gen = rng(seed);
  const x = randomTensor(gen, config.x, dtype, config.integers);
  const w = randomTensor(gen, config.w, dtype, config.integers);
  const b = randomTensor(gen, [config.w[0]!], dtype, config.integers);
  const xCopy = clone(x);
  const label = `x ${config.x} w ${config.w} ${JSON.stringify(config.param)}`;
  const K = config.w[1]! * config.w[2]! * config.w[3]!;
  const previous = config.chunk === undefined ? undefined : setConvColumnLimit(K * config.chunk);
  try {
    const fast = convForward(x, w, b, config.param);
    const naive = convForwardNaive(x, w, b, config.param);
    assertClose('out', fast.out, naive.out, label);
    const dout = randomTensor(gen, naive.out.shape, dtype, config.integers);
    const fastGrads = convBackward(dout, fast.cache);
    const naiveGrads = convBackwardNaive(dout, naive.cache);
    assertClose('dx', fastGrads.dx, naiveGrads.dx, label);
    assertClose('dw', fastGrads.dw, naiveGrads.dw, label);
    assertClose('db', fastGrads.db, naiveGrads.db, label);
    assert.deepEqual(x.data, xCopy.data, `${label}: x was modified`);
  } finally {
    if (previous !== undefined) setConvColumnLimit(previous);
  }
}

const CONV_CASES = 130;

describe('fast conv equals naive conv', () => {
  const gen = rng(2024);
  for (let i = 0; i < CONV_CASES; i++) {
    const config = randomConvConfig(gen, i);
    const name = `x ${config.x.join('×')} w ${config.w.join('×')} ${JSON.stringify(config.param)}${config.integers ? ' integers' : ''}${config.chunk ? ` chunks of ${config.chunk}` : ''}`;
    for (const dtype of DTYPES) {
      it(`${dtype} ${name}`, () => checkConv(config, dtype, 1000 + i));
    }
  }
});

describe('fused conv → relu equals convForward → reluForward (and the backwards)', () => {
  const gen = rng(2025);
  for (let i = 0; i < 12; i++) {
    const config = randomConvConfig(gen, i);
    for (const dtype of DTYPES) {
      it(`${dtype} x ${config.x.join('×')} w ${config.w.join('×')} ${JSON.stringify(config.param)}`, () => {
        const g = rng(3000 + i);
        const x = randomTensor(g, config.x, dtype);
        const w = randomTensor(g, config.w, dtype);
        const b = randomTensor(g, [config.w[0]!], dtype);
        const label = `x ${config.x} w ${config.w}`;
        const conv = convForward(x, w, b, config.param);
        const relu = reluForward(conv.out);
        const fused = convReluForwardFast(x, w, b, config.param);
        assertClose('out', fused.out, relu.out, label);
        const dout = randomTensor(g, relu.out.shape, dtype);
        const want = convBackward(reluBackward(dout, relu.cache), conv.cache);
        const got = convReluBackwardFast(dout, fused.cache);
        assertClose('dx', got.dx, want.dx, label);
        assertClose('dw', got.dw, want.dw, label);
        assertClose('db', got.db, want.db, label);
        // Its relu cache (the relu's output as x) gives reluBackward the same mask.
        assertClose('relu dx', reluBackward(dout, fused.cache.relu), reluBackward(dout, relu.cache), label);
      });
    }
  }

  for (let i = 0; i < 10; i++) {
    const config = randomConvConfig(rng(4000 + i), i);
    for (const dtype of DTYPES) {
      it(`conv → relu → 2×2 pool, ${dtype} x ${config.x.join('×')} w ${config.w.join('×')} ${JSON.stringify(config.param)}: fused equals composed`, () => {
        const g = rng(5000 + i);
        const x = randomTensor(g, config.x, dtype);
        const w = randomTensor(g, config.w, dtype);
        const b = randomTensor(g, [config.w[0]!], dtype);
        const label = `x ${config.x} w ${config.w}`;
        const poolParam = { poolHeight: 2, poolWidth: 2, stride: 2 };
        const conv = convForward(x, w, b, config.param);
        const [, , Ho, Wo] = conv.out.shape as [number, number, number, number];
        if (Ho < 2 || Wo < 2) {
          // No 2×2 window fits: both paths give maxPoolForward's error.
          assert.throws(() => convReluPoolForwardFast(x, w, b, config.param, poolParam), ConvnetError);
          return;
        }
        const relu = reluForward(conv.out);
        const pool = maxPoolForward(relu.out, poolParam);
        const fused = convReluPoolForwardFast(x, w, b, config.param, poolParam);
        assertClose('out', fused.out, pool.out, label);
        const dout = randomTensor(g, pool.out.shape, dtype);
        const want = convBackward(reluBackward(maxPoolBackward(dout, pool.cache), relu.cache), conv.cache);
        const got = convReluPoolBackwardFast(dout, fused.cache);
        assertClose('dx', got.dx, want.dx, label);
        assertClose('dw', got.dw, want.dw, label);
        assertClose('db', got.db, want.db, label);
        // A backend switch between forward and backward (the other backend's backward path).
        const previous: Backend = getBackend() === 'wasm' ? 'wasm' : 'js';
        setBackend(previous === 'wasm' ? 'js' : 'wasm');
        try {
          const other = convReluPoolBackwardFast(dout, fused.cache);
          assertClose('dx (other backend)', other.dx, want.dx, label);
          assertClose('dw (other backend)', other.dw, want.dw, label);
        } finally {
          setBackend(previous);
        }
      });
    }
  }

  it('checks dout like reluBackward', () => {
    const g = rng(5);
    const fused = convReluForwardFast(randomTensor(g, [2, 3, 5, 5], 'float32'), randomTensor(g, [4, 3, 3, 3], 'float32'), randomTensor(g, [4], 'float32'), { pad: 1 });
    assert.throws(() => convReluBackwardFast(randomTensor(g, [2, 4, 5, 4], 'float32'), fused.cache), (error: unknown) => error instanceof ConvnetError && /^reluBackward: expected dout/.test(error.message));
  });
});

// ---------------------------------------------------------------- pooling

interface PoolConfig {
  x: number[];
  param: AvgPoolParam;
  integers: boolean;
}

function outLength(size: number, kernel: number, stride: number, before: number, after: number, dilation: number, ceil: boolean): number {
  const span = dilation * (kernel - 1) + 1;
  let out = ceil ? Math.ceil((size + before + after - span) / stride) + 1 : Math.floor((size + before + after - span) / stride) + 1;
  if (ceil && (out - 1) * stride >= size + before) out -= 1;
  return out;
}

function touches(size: number, out: number, kernel: number, stride: number, before: number, dilation: number): boolean {
  for (let o = 0; o < out; o++) {
    let any = false;
    for (let k = 0; k < kernel; k++) {
      const at = o * stride - before + k * dilation;
      any ||= at >= 0 && at < size;
    }
    if (!any) return false;
  }
  return true;
}

function randomPoolConfig(gen: Rng, index: number): PoolConfig {
  for (;;) {
    const plain = index % 4 === 0; // 2×2 stride 2, the dedicated kernel loop
    const ph = plain ? 2 : 1 + gen.int(4);
    const pw = plain ? 2 : 1 + gen.int(4);
    const stride: [number, number] = plain ? [2, 2] : [1 + gen.int(3), 1 + gen.int(3)];
    const pad = plain ? 0 : randomPad(gen);
    const dilation: [number, number] = plain ? [1, 1] : [1 + gen.int(2), 1 + gen.int(2)];
    const ceilMode = !plain && gen.int(3) === 0;
    const [N, C, H, W] = [1 + gen.int(3), 1 + gen.int(3), 1 + gen.int(11), 1 + gen.int(11)];
    const [t, l, b, r] = pads(pad);
    const spanH = dilation[0] * (ph - 1) + 1;
    const spanW = dilation[1] * (pw - 1) + 1;
    // PyTorch also wants pad <= half the kernel; the naive layer only needs windows to touch.
    if (spanH > H + t + b || spanW > W + l + r) continue;
    const Ho = outLength(H, ph, stride[0], t, b, dilation[0], ceilMode);
    const Wo = outLength(W, pw, stride[1], l, r, dilation[1], ceilMode);
    if (Ho < 1 || Wo < 1) continue;
    if (!touches(H, Ho, ph, stride[0], t, dilation[0]) || !touches(W, Wo, pw, stride[1], l, dilation[1])) continue;
    return {
      x: [N, C, H, W],
      param: { poolHeight: ph, poolWidth: pw, stride, pad, dilation, ceilMode, countIncludePad: gen.int(2) === 0 },
      integers: index % 2 === 0,
    };
  }
}

const MAX_POOL_CASES = 70;
const AVG_POOL_CASES = 50;

describe('fast max pool equals naive max pool (ties to the first maximum)', () => {
  const gen = rng(77);
  for (let i = 0; i < MAX_POOL_CASES; i++) {
    const config = randomPoolConfig(gen, i);
    const { countIncludePad: _unused, ...param } = config.param;
    for (const dtype of DTYPES) {
      it(`${dtype} x ${config.x.join('×')} ${JSON.stringify(param)}${config.integers ? ' integers (ties)' : ''}`, () => {
        const g = rng(3000 + i);
        const x = randomTensor(g, config.x, dtype, config.integers);
        const fast = maxPoolForward(x, param);
        const naive = maxPoolForwardNaive(x, param);
        assertClose('out', fast.out, naive.out, JSON.stringify(param));
        const dout = randomTensor(g, naive.out.shape, dtype);
        assertClose('dx', maxPoolBackward(dout, fast.cache), maxPoolBackwardNaive(dout, naive.cache), JSON.stringify(param));
      });
    }
  }
});

describe('fast average pool equals naive average pool', () => {
  const gen = rng(78);
  for (let i = 0; i < AVG_POOL_CASES; i++) {
    const config = randomPoolConfig(gen, i + 1);
    for (const dtype of DTYPES) {
      it(`${dtype} x ${config.x.join('×')} ${JSON.stringify(config.param)}`, () => {
        const g = rng(4000 + i);
        const x = randomTensor(g, config.x, dtype, config.integers);
        const fast = avgPoolForward(x, config.param);
        const naive = avgPoolForwardNaive(x, config.param);
        assertClose('out', fast.out, naive.out, JSON.stringify(config.param));
        const dout = randomTensor(g, naive.out.shape, dtype);
        assertClose('dx', avgPoolBackward(dout, fast.cache), avgPoolBackwardNaive(dout, naive.cache), JSON.stringify(config.param));
      });
    }
  }
});

// ---------------------------------------------------------------- affine

const AFFINE_CASES = 20;

describe('fast affine equals naive affine', () => {
  const gen = rng(79);
  for (let i = 0; i < AFFINE_CASES; i++) {
    const N = 1 + gen.int(9);
    const rest = i % 3 === 0 ? [1 + gen.int(4), 1 + gen.int(5), 1 + gen.int(6)] : [1 + gen.int(300)];
    const D = rest.reduce((a, b) => a * b, 1);
    const M = 1 + gen.int(40);
    for (const dtype of DTYPES) {
      it(`${dtype} x ${[N, ...rest].join('×')} w ${D}×${M}`, () => {
        const g = rng(5000 + i);
        const x = randomTensor(g, [N, ...rest], dtype);
        const w = randomTensor(g, [D, M], dtype);
        const b = randomTensor(g, [M], dtype);
        const fast = affineForward(x, w, b);
        const naive = affineForwardNaive(x, w, b);
        assertClose('out', fast.out, naive.out, `x ${x.shape}`);
        const dout = randomTensor(g, [N, M], dtype);
        const fg = affineBackward(dout, fast.cache);
        const ng = affineBackwardNaive(dout, naive.cache);
        assertClose('dx', fg.dx, ng.dx, `x ${x.shape}`);
        assertClose('dw', fg.dw, ng.dw, `x ${x.shape}`);
        assertClose('db', fg.db, ng.db, `x ${x.shape}`);
      });
    }
  }
});

// ---------------------------------------------------------------- caches, scratch reuse, errors

describe('fast layers: caches and scratch memory', () => {
  it('a later forward does not clobber an earlier cache (the scratch columns are not cached)', () => {
    const gen = rng(6);
    const param = { stride: 1, pad: 1 };
    const x1 = randomTensor(gen, [2, 3, 8, 7], 'float64');
    const w1 = randomTensor(gen, [4, 3, 3, 3], 'float64');
    const b1 = randomTensor(gen, [4], 'float64');
    const first = convForward(x1, w1, b1, param);
    // A larger second layer grows and overwrites the shared scratch.
    convForward(randomTensor(gen, [3, 5, 12, 12], 'float64'), randomTensor(gen, [6, 5, 5, 5], 'float64'), randomTensor(gen, [6], 'float64'), { pad: 2 });
    const dout = randomTensor(gen, first.out.shape, 'float64');
    const fast = convBackward(dout, first.cache);
    const naive = convBackwardNaive(dout, convForwardNaive(x1, w1, b1, param).cache);
    assertClose('dx', fast.dx, naive.dx, 'clobber');
    assertClose('dw', fast.dw, naive.dw, 'clobber');
  });

  it('naive and fast caches are interchangeable', () => {
    const gen = rng(8);
    const x = randomTensor(gen, [2, 4, 6, 5], 'float64');
    const w = randomTensor(gen, [4, 2, 2, 3], 'float64');
    const b = randomTensor(gen, [4], 'float64');
    const param = { stride: [2, 1] as [number, number], pad: [1, 0, 2, 1] as [number, number, number, number], groups: 2 };
    const fast = convForward(x, w, b, param);
    const naive = convForwardNaive(x, w, b, param);
    const dout = randomTensor(gen, fast.out.shape, 'float64');
    assertClose('dx', convBackwardNaive(dout, fast.cache).dx, convBackward(dout, naive.cache).dx, 'conv caches');
    const poolParam = { poolHeight: 3, poolWidth: 2, stride: 1 };
    const xi = randomTensor(gen, [2, 3, 5, 5], 'float64', true);
    const fastPool = maxPoolForward(xi, poolParam);
    const naivePool = maxPoolForwardNaive(xi, poolParam);
    const dp = randomTensor(gen, fastPool.out.shape, 'float64');
    assertClose('dx', maxPoolBackward(dp, naivePool.cache), maxPoolBackwardNaive(dp, fastPool.cache), 'pool caches');
  });

  it('max pool backward gives a tied window its gradient once, at the first maximum', () => {
    const x: Tensor = { shape: [1, 1, 2, 4], data: Float64Array.of(1, 3, 3, 3, 3, 3, 3, 3), dtype: 'float64' };
    for (const param of [{ poolHeight: 2, poolWidth: 2 }, { poolHeight: 2, poolWidth: 3, stride: 1 }]) {
      const { out, cache } = maxPoolForward(x, param);
      const dx = maxPoolBackward({ shape: out.shape, data: new Float64Array(out.data.length).fill(1), dtype: 'float64' }, cache);
      const expected = maxPoolBackwardNaive({ shape: out.shape, data: new Float64Array(out.data.length).fill(1), dtype: 'float64' }, maxPoolForwardNaive(x, param).cache);
      assert.deepEqual(Array.from(dx.data), Array.from(expected.data));
    }
    // 2×2 stride 2: window 1 is [1, 3; 3, 3] → index 1; window 2 is all 3 → index 2.
    const { out, cache } = maxPoolForward(x, { poolHeight: 2, poolWidth: 2 });
    const dx = maxPoolBackward({ shape: out.shape, data: Float64Array.of(1, 1), dtype: 'float64' }, cache);
    assert.deepEqual(Array.from(dx.data), [0, 1, 1, 0, 0, 0, 0, 0]);
  });

  it('max pool propagates NaN like the naive layer', () => {
    const x: Tensor = { shape: [1, 1, 2, 4], data: Float64Array.of(1, Number.NaN, 5, -Infinity, 7, 2, -Infinity, -Infinity), dtype: 'float64' };
    const fast = maxPoolForward(x, { poolHeight: 2, poolWidth: 2 });
    const naive = maxPoolForwardNaive(x, { poolHeight: 2, poolWidth: 2 });
    assert.deepEqual(Array.from(fast.out.data), Array.from(naive.out.data));
    assert.deepEqual(Array.from(fast.cache.argmax), [1, 2]);
  });
});

describe('fast layers: validation matches the naive layers', () => {
  /** Runs both, expecting the same ConvnetError message apart from the function's name. */
  function sameError(fast: () => unknown, naive: () => unknown, fastName: string, naiveName: string): void {
    let naiveMessage = '';
    try {
      naive();
    } catch (error) {
      assert.ok(error instanceof ConvnetError);
      naiveMessage = error.message;
    }
    assert.ok(naiveMessage, 'the naive layer should throw');
    assert.throws(fast, (error: unknown) => {
      assert.ok(error instanceof ConvnetError, 'a ConvnetError');
      assert.equal(error.message, naiveMessage.replace(naiveName, fastName));
      return true;
    });
  }
  const gen = rng(9);
  const x = randomTensor(gen, [2, 4, 5, 5], 'float64');
  const w = randomTensor(gen, [3, 4, 3, 3], 'float64');
  const b = randomTensor(gen, [3], 'float64');

  it('throws when conv w has the wrong channel count for the groups', () => {
    sameError(() => convForward(x, w, b, { groups: 2 }), () => convForwardNaive(x, w, b, { groups: 2 }), 'convForward', 'convForwardNaive');
  });
  it('throws when the conv window does not fit', () => {
    const big = randomTensor(gen, [3, 4, 7, 3], 'float64');
    sameError(() => convForward(x, big, b), () => convForwardNaive(x, big, b), 'convForward', 'convForwardNaive');
  });
  it('throws when conv dtypes are mixed', () => {
    const w32 = randomTensor(gen, [3, 4, 3, 3], 'float32');
    sameError(() => convForward(x, w32, b), () => convForwardNaive(x, w32, b), 'convForward', 'convForwardNaive');
  });
  it('throws when conv backward gets a dout of the wrong shape', () => {
    const { cache } = convForward(x, w, b);
    const bad = randomTensor(gen, [2, 3, 4, 3], 'float64');
    sameError(() => convBackward(bad, cache), () => convBackwardNaive(bad, cache), 'convBackward', 'convBackwardNaive');
  });
  it('throws when conv backward gets something that is not a cache', () => {
    const dout = randomTensor(gen, [2, 3, 3, 3], 'float64');
    sameError(() => convBackward(dout, {} as never), () => convBackwardNaive(dout, {} as never), 'convBackward', 'convBackwardNaive');
  });
  it('throws when a pooling window lies wholly in the padding', () => {
    const param = { poolHeight: 2, poolWidth: 2, stride: 2, pad: [2, 0, 0, 0] as [number, number, number, number] };
    sameError(() => maxPoolForward(x, param), () => maxPoolForwardNaive(x, param), 'maxPoolForward', 'maxPoolForwardNaive');
    sameError(() => avgPoolForward(x, param), () => avgPoolForwardNaive(x, param), 'avgPoolForward', 'avgPoolForwardNaive');
  });
  it('throws when countIncludePad is not a boolean', () => {
    const param = { poolHeight: 2, poolWidth: 2, countIncludePad: 1 as unknown as boolean };
    sameError(() => avgPoolForward(x, param), () => avgPoolForwardNaive(x, param), 'avgPoolForward', 'avgPoolForwardNaive');
  });
  it('throws when max pool backward gets a dout of the wrong dtype', () => {
    const { cache } = maxPoolForward(x, { poolHeight: 2, poolWidth: 2 });
    const bad = randomTensor(gen, [2, 4, 2, 2], 'float32');
    sameError(() => maxPoolBackward(bad, cache), () => maxPoolBackwardNaive(bad, cache), 'maxPoolBackward', 'maxPoolBackwardNaive');
  });
  it('throws when affine w does not match x', () => {
    const wBad = randomTensor(gen, [99, 3], 'float64');
    sameError(() => affineForward(x, wBad, b), () => affineForwardNaive(x, wBad, b), 'affineForward', 'affineForwardNaive');
  });
  it('throws when setConvColumnLimit gets a non-positive limit', () => {
    assert.throws(() => setConvColumnLimit(0), /setConvColumnLimit: expected a positive integer/);
  });
});
