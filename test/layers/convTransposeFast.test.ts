/**
 * The fast transposed convolution against the naive one (the definition) on seeded random
 * configurations, on both kernel backends ('js' and 'wasm', each set explicitly per test):
 * odd and non-square sizes, stride 1–3, padding 0–3 (symmetric, [h, w] and [t, l, b, r]),
 * output padding, dilation 1–2, groups 1–3, chunked columns, integer-valued inputs.
 *
 * Metrics, as in fast.test.ts: float64 relError below 1e-10; float32 scaledError below 1e-4.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConvnetError } from '../../src/errors.js';
import { relError } from '../../src/gradcheck.js';
import { getBackend, setBackend, type Backend } from '../../src/kernels/index.js';
import { convTransposeBackwardNaive, convTransposeForwardNaive, type ConvTransposeParam } from '../../src/layers/convTranspose.js';
import { convTransposeBackward, convTransposeForward } from '../../src/layers/convTransposeFast.js';
import { setConvColumnLimit } from '../../src/layers/convFast.js';
import { rng, type Rng } from '../../src/rng.js';
import { clone, type DType, type Tensor } from '../../src/tensor.js';
import { scaledError } from '../kernels/suite.js';

const DTYPES: DType[] = ['float64', 'float32'];
const BACKENDS: Backend[] = ['js', 'wasm'];
const CASES = 110;

function randomTensor(gen: Rng, shape: number[], dtype: DType, integers = false): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = integers ? gen.int(5) - 2 : gen.normal();
  return { shape, data, dtype };
}

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

/** Runs `body` on `backend`, restoring the previous one. */
function on<T>(backend: Backend, body: () => T): T {
  const previous: Backend = getBackend() === 'wasm' ? 'wasm' : 'js';
  setBackend(backend);
  try {
    return body();
  } finally {
    setBackend(previous);
  }
}

interface Config {
  x: number[];
  w: number[];
  param: ConvTransposeParam;
  integers: boolean;
  /** Cap the column chunk at this many x positions. */
  chunk?: number;
}

function pads(pad: ConvTransposeParam['pad']): [number, number, number, number] {
  if (pad === undefined) return [0, 0, 0, 0];
  if (typeof pad === 'number') return [pad, pad, pad, pad];
  if (pad.length === 2) return [pad[0], pad[1], pad[0], pad[1]];
  return pad;
}

function randomConfig(gen: Rng, index: number): Config {
  for (;;) {
    const groups = 1 + gen.int(3);
    const C = groups * (1 + gen.int(3));
    const Fg = 1 + gen.int(3);
    const N = 1 + gen.int(3);
    const HH = 1 + gen.int(4);
    const WW = 1 + gen.int(4);
    const H = 1 + gen.int(7);
    const W = 1 + gen.int(7);
    const stride: [number, number] = [1 + gen.int(3), 1 + gen.int(3)];
    const dilation: [number, number] = [1 + gen.int(2), 1 + gen.int(2)];
    const padKind = gen.int(4);
    const pad: ConvTransposeParam['pad'] =
      padKind === 0 ? gen.int(4) : padKind === 1 ? [gen.int(4), gen.int(4)] : [gen.int(4), gen.int(4), gen.int(4), gen.int(4)];
    const outputPadding: [number, number] = [gen.int(Math.max(stride[0], dilation[0])), gen.int(Math.max(stride[1], dilation[1]))];
    const [t, l, b, r] = pads(pad);
    const Ho = (H - 1) * stride[0] - t - b + dilation[0] * (HH - 1) + outputPadding[0] + 1;
    const Wo = (W - 1) * stride[1] - l - r + dilation[1] * (WW - 1) + outputPadding[1] + 1;
    if (Ho < 1 || Wo < 1) continue;
    return {
      x: [N, C, H, W],
      w: [C, Fg, HH, WW],
      param: { stride, pad, outputPadding, dilation, groups },
      integers: index % 5 === 0,
      chunk: index % 6 === 5 ? 1 + gen.int(4) : undefined,
    };
  }
}

function check(config: Config, dtype: DType, seed: number): void {
  const gen = rng(seed);
  const groups = config.param.groups ?? 1;
  const x = randomTensor(gen, config.x, dtype, config.integers);
  const w = randomTensor(gen, config.w, dtype, config.integers);
  const b = randomTensor(gen, [config.w[1]! * groups], dtype, config.integers);
  const [x0, w0, b0] = [clone(x), clone(w), clone(b)];
  const label = `x ${config.x} w ${config.w} ${JSON.stringify(config.param)}`;
  const K = config.w[1]! * config.w[2]! * config.w[3]!;
  const previous = config.chunk === undefined ? undefined : setConvColumnLimit(K * config.chunk);
  try {
    const fast = convTransposeForward(x, w, b, config.param);
    const naive = convTransposeForwardNaive(x, w, b, config.param);
    assertClose('out', fast.out, naive.out, label);
    const dout = randomTensor(gen, naive.out.shape, dtype, config.integers);
    const doutCopy = clone(dout);
    const fastGrads = convTransposeBackward(dout, fast.cache);
    const naiveGrads = convTransposeBackwardNaive(dout, naive.cache);
    assertClose('dx', fastGrads.dx, naiveGrads.dx, label);
    assertClose('dw', fastGrads.dw, naiveGrads.dw, label);
    assertClose('db', fastGrads.db, naiveGrads.db, label);
    for (const [name, t, copy] of [['x', x, x0], ['w', w, w0], ['b', b, b0], ['dout', dout, doutCopy]] as const) {
      assert.deepEqual(t.data, copy.data, `${label}: ${name} was modified`);
    }
  } finally {
    if (previous !== undefined) setConvColumnLimit(previous);
  }
}

for (const backend of BACKENDS) {
  describe(`fast transposed conv equals naive (${backend} backend)`, () => {
    const gen = rng(2031);
    for (let i = 0; i < CASES; i++) {
      const config = randomConfig(gen, i);
      const name = `x ${config.x.join('×')} w ${config.w.join('×')} ${JSON.stringify(config.param)}${config.integers ? ' integers' : ''}${config.chunk ? ` chunks of ${config.chunk}` : ''}`;
      for (const dtype of DTYPES) {
        it(`${backend} ${dtype} ${name}`, () => on(backend, () => check(config, dtype, 7000 + i)));
      }
    }

    it(`${backend}: the decoder shape x (4, 32, 7, 7), w (32, 16, 4, 4), stride 2, pad 1 → (4, 16, 14, 14)`, () =>
      on(backend, () => {
        for (const dtype of DTYPES) check({ x: [4, 32, 7, 7], w: [32, 16, 4, 4], param: { stride: 2, pad: 1 }, integers: false }, dtype, 99);
      }));
  });
}

describe('fast transposed conv: caches and errors', () => {
  it('naive and fast caches are interchangeable', () => {
    const gen = rng(8);
    const x = randomTensor(gen, [2, 4, 3, 5], 'float64');
    const w = randomTensor(gen, [4, 2, 3, 2], 'float64');
    const b = randomTensor(gen, [4], 'float64');
    const param: ConvTransposeParam = { stride: [2, 1], pad: [1, 0, 2, 1], outputPadding: [1, 0], groups: 2 };
    const fast = convTransposeForward(x, w, b, param);
    const naive = convTransposeForwardNaive(x, w, b, param);
    const dout = randomTensor(gen, fast.out.shape, 'float64');
    const a = convTransposeBackwardNaive(dout, fast.cache);
    const c = convTransposeBackward(dout, naive.cache);
    assertClose('dx', a.dx, c.dx, 'caches');
    assertClose('dw', a.dw, c.dw, 'caches');
  });

  it('with ±Infinity in x or w the backward gives the naive gradients (no ∞·0 from the columns outside the output)', () => {
    for (const backend of BACKENDS) {
      on(backend, () => {
        const gen = rng(10);
        const x = randomTensor(gen, [1, 2, 3, 3], 'float32');
        const w = randomTensor(gen, [2, 2, 3, 3], 'float32');
        x.data[4] = Infinity;
        w.data[0] = -Infinity;
        const b = randomTensor(gen, [2], 'float32');
        const param: ConvTransposeParam = { stride: 2, pad: 1 };
        const dout = randomTensor(gen, convTransposeForwardNaive(x, w, b, param).out.shape, 'float32');
        const fast = convTransposeBackward(dout, convTransposeForward(x, w, b, param).cache);
        const naive = convTransposeBackwardNaive(dout, convTransposeForwardNaive(x, w, b, param).cache);
        for (const key of ['dx', 'dw', 'db'] as const) assert.deepEqual(Array.from(fast[key].data), Array.from(naive[key].data), `${backend} ${key}`);
      });
    }
  });

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
  const x = randomTensor(gen, [2, 4, 3, 3], 'float64');
  const w = randomTensor(gen, [4, 3, 3, 3], 'float64');
  const b = randomTensor(gen, [3], 'float64');
  const forwards: Array<[string, unknown[]]> = [
    ['throws when w has the wrong row count', [x, randomTensor(gen, [3, 3, 3, 3], 'float64'), b]],
    ['throws when b does not match w.shape[1]·groups', [x, w, b, { groups: 2 }]],
    ['throws when outputPadding is too large', [x, w, b, { stride: 2, outputPadding: [0, 2] }]],
    ['throws when the padding crops everything', [x, w, b, { pad: [0, 5, 0, 5] }]],
    ['throws when dtypes are mixed', [x, randomTensor(gen, [4, 3, 3, 3], 'float32'), b]],
  ];
  for (const [name, args] of forwards) {
    it(name, () =>
      sameError(
        () => (convTransposeForward as (...a: unknown[]) => unknown)(...args),
        () => (convTransposeForwardNaive as (...a: unknown[]) => unknown)(...args),
        'convTransposeForward',
        'convTransposeForwardNaive',
      ));
  }
  it('throws when backward gets a dout of the wrong shape or dtype, or no cache', () => {
    const { cache } = convTransposeForward(x, w, b);
    for (const dout of [randomTensor(gen, [2, 3, 5, 4], 'float64'), randomTensor(gen, [2, 3, 5, 5], 'float32')]) {
      sameError(() => convTransposeBackward(dout, cache), () => convTransposeBackwardNaive(dout, cache), 'convTransposeBackward', 'convTransposeBackwardNaive');
    }
    const dout = randomTensor(gen, [2, 3, 5, 5], 'float64');
    sameError(() => convTransposeBackward(dout, {} as never), () => convTransposeBackwardNaive(dout, {} as never), 'convTransposeBackward', 'convTransposeBackwardNaive');
  });
});
