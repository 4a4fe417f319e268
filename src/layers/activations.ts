/**
 * Elementwise and per-axis activations: ReLU, leaky ReLU, softmax and log-softmax.
 */
import { ConvnetError, show } from '../errors.js';
import { getKernels } from '../kernels/index.js';
import { allocate, allocateUninitialized, type Tensor } from '../tensor.js';
import { assertCache, assertTensor, assertUpstream, finiteNumber } from '../validate.js';

export interface ReluCache {
  x: Tensor;
}

/** out = max(0, x). */
export function reluForward(x: Tensor): { out: Tensor; cache: ReluCache } {
  assertTensor('reluForward', 'x', x);
  const out = allocateUninitialized(x.dtype, x.data.length);
  // The kernel backend's relu (WebAssembly SIMD for float32 where available): max(x, 0),
  // NaN passing through, -0 and -Infinity mapped to 0.
  getKernels().reluForward(x.data, 0, out.length, out, 0);
  return { out: { shape: [...x.shape], data: out, dtype: x.dtype }, cache: { x } };
}

/** dx = dout where x > 0, else 0 (zero at exactly 0). */
export function reluBackward(dout: Tensor, cache: ReluCache): Tensor {
  const fn = 'reluBackward';
  assertCache(fn, cache, ['x']);
  const { x } = cache;
  assertUpstream(fn, dout, x.shape, x.dtype);
  const dx = allocateUninitialized(x.dtype, x.data.length);
  getKernels().reluBackward(x.data, 0, dout.data, 0, dx.length, dx, 0);
  return { shape: [...x.shape], data: dx, dtype: x.dtype };
}

export interface LeakyReluCache {
  x: Tensor;
  alpha: number;
}

/** out = x where x > 0, else alpha·x (alpha defaults to 0.01, PyTorch's and ONNX's). */
export function leakyReluForward(x: Tensor, alpha = 0.01): { out: Tensor; cache: LeakyReluCache } {
  const fn = 'leakyReluForward';
  assertTensor(fn, 'x', x);
  const slope = finiteNumber(fn, 'alpha', alpha);
  const out = allocate(x.dtype, x.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = x.data[i]!;
    out[i] = v > 0 ? v : slope * v;
  }
  return { out: { shape: [...x.shape], data: out, dtype: x.dtype }, cache: { x, alpha: slope } };
}

export function leakyReluBackward(dout: Tensor, cache: LeakyReluCache): Tensor {
  const fn = 'leakyReluBackward';
  assertCache(fn, cache, ['x', 'alpha']);
  const { x, alpha } = cache;
  finiteNumber(fn, 'cache.alpha', alpha);
  assertUpstream(fn, dout, x.shape, x.dtype);
  const dx = allocate(x.dtype, x.data.length);
  for (let i = 0; i < dx.length; i++) dx[i] = x.data[i]! > 0 ? dout.data[i]! : alpha * dout.data[i]!;
  return { shape: [...x.shape], data: dx, dtype: x.dtype };
}

/** Resolves a possibly negative axis against a rank. */
export function normaliseAxis(fn: string, axis: unknown, rank: number): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ConvnetError(fn, `expected axis to be an integer in [${-rank}, ${rank - 1}] for a rank-${rank} input, got ${show(axis)}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Splits a shape around an axis into (outer, length, inner) for strided loops. */
function around(shape: readonly number[], axis: number): { outer: number; length: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d]!;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  return { outer, length: shape[axis]!, inner };
}

export interface SoftmaxCache {
  /** The forward's output: softmax probabilities, or log-probabilities for logSoftmax. */
  out: Tensor;
  axis: number;
}

/**
 * Softmax or log-softmax along one axis, subtracting the max along the axis first so that
 * large inputs do not overflow.
 */
function softmaxAlong(fn: string, x: Tensor, axis: number, log: boolean): { out: Tensor; cache: SoftmaxCache } {
  assertTensor(fn, 'x', x);
  if (x.shape.length < 1) throw new ConvnetError(fn, `expected x of rank >= 1, got shape ${show(x.shape)}`);
  const ax = normaliseAxis(fn, axis, x.shape.length);
  const { outer, length, inner } = around(x.shape, ax);
  const out = allocate(x.dtype, x.data.length);
  // An empty x may still have a huge dimension: no loop over it.
  if (out.length === 0) return { out: { shape: [...x.shape], data: out, dtype: x.dtype }, cache: { out: { shape: [...x.shape], data: out, dtype: x.dtype }, axis: ax } };
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * length * inner + k;
      let max = -Infinity;
      for (let a = 0; a < length; a++) max = Math.max(max, x.data[base + a * inner]!);
      let sum = 0;
      for (let a = 0; a < length; a++) sum += Math.exp(x.data[base + a * inner]! - max);
      const logSum = Math.log(sum);
      for (let a = 0; a < length; a++) {
        const shifted = x.data[base + a * inner]! - max;
        out[base + a * inner] = log ? shifted - logSum : Math.exp(shifted) / sum;
      }
    }
  }
  const result: Tensor = { shape: [...x.shape], data: out, dtype: x.dtype };
  return { out: result, cache: { out: result, axis: ax } };
}

/** A softmax cache's axis: an integer in [0, rank) of its output (forwards store it resolved). */
function cacheAxis(fn: string, cache: SoftmaxCache): number {
  const rank = cache.out.shape.length;
  if (!Number.isInteger(cache.axis) || cache.axis < 0 || cache.axis >= rank) {
    throw new ConvnetError(fn, `expected the cache of a softmax forward (axis in [0, ${rank - 1}] for out.shape ${show(cache.out.shape)}), got axis ${show(cache.axis)}`);
  }
  return cache.axis;
}

/** Softmax along `axis` (default −1, the last). */
export function softmaxForward(x: Tensor, axis = -1): { out: Tensor; cache: SoftmaxCache } {
  return softmaxAlong('softmaxForward', x, axis, false);
}

/** dx = p ⊙ (dout − Σ_axis dout ⊙ p). */
export function softmaxBackward(dout: Tensor, cache: SoftmaxCache): Tensor {
  const fn = 'softmaxBackward';
  assertCache(fn, cache, ['out', 'axis']);
  const p = cache.out;
  const axis = cacheAxis(fn, cache);
  assertUpstream(fn, dout, p.shape, p.dtype);
  const { outer, length, inner } = around(p.shape, axis);
  const dx = allocate(p.dtype, p.data.length);
  for (let o = 0; o < outer && dx.length > 0; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * length * inner + k;
      let dot = 0;
      for (let a = 0; a < length; a++) dot += dout.data[base + a * inner]! * p.data[base + a * inner]!;
      for (let a = 0; a < length; a++) {
        const at = base + a * inner;
        dx[at] = p.data[at]! * (dout.data[at]! - dot);
      }
    }
  }
  return { shape: [...p.shape], data: dx, dtype: p.dtype };
}

/** Log-softmax along `axis` (default −1). */
export function logSoftmaxForward(x: Tensor, axis = -1): { out: Tensor; cache: SoftmaxCache } {
  return softmaxAlong('logSoftmaxForward', x, axis, true);
}

/** dx = dout − softmax ⊙ Σ_axis dout. */
export function logSoftmaxBackward(dout: Tensor, cache: SoftmaxCache): Tensor {
  const fn = 'logSoftmaxBackward';
  assertCache(fn, cache, ['out', 'axis']);
  const logP = cache.out;
  const axis = cacheAxis(fn, cache);
  assertUpstream(fn, dout, logP.shape, logP.dtype);
  const { outer, length, inner } = around(logP.shape, axis);
  const dx = allocate(logP.dtype, logP.data.length);
  for (let o = 0; o < outer && dx.length > 0; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * length * inner + k;
      let total = 0;
      for (let a = 0; a < length; a++) total += dout.data[base + a * inner]!;
      for (let a = 0; a < length; a++) {
        const at = base + a * inner;
        dx[at] = dout.data[at]! - Math.exp(logP.data[at]!) * total;
      }
    }
  }
  return { shape: [...logP.shape], data: dx, dtype: logP.dtype };
}

/** Convenience forms that return only the output. */
export function relu(x: Tensor): Tensor {
  return reluForward(x).out;
}
export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  return leakyReluForward(x, alpha).out;
}
export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxForward(x, axis).out;
}
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return logSoftmaxForward(x, axis).out;
}

// ---------------------------------------------------------------------------------------------
// tanh, sigmoid, GELU, ELU (any shape; out and dx in x's dtype, computed in float64)

/** A new tensor of x's shape and dtype with f applied to every element. */
function mapElements(x: Tensor, f: (v: number) => number): Tensor {
  const out = allocate(x.dtype, x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]!);
  return { shape: [...x.shape], data: out, dtype: x.dtype };
}

export interface TanhCache {
  /** The forward's output: backward needs only tanh(x). */
  out: Tensor;
}

/** out = tanh(x). */
export function tanhForward(x: Tensor): { out: Tensor; cache: TanhCache } {
  assertTensor('tanhForward', 'x', x);
  const out = mapElements(x, Math.tanh);
  return { out, cache: { out } };
}

/** dx = dout · (1 − tanh²(x)), from the forward's output (as PyTorch's tanh_backward). */
export function tanhBackward(dout: Tensor, cache: TanhCache): Tensor {
  const fn = 'tanhBackward';
  assertCache(fn, cache, ['out']);
  const { out } = cache;
  assertUpstream(fn, dout, out.shape, out.dtype);
  const dx = allocate(out.dtype, out.data.length);
  for (let i = 0; i < dx.length; i++) {
    const t = out.data[i]!;
    dx[i] = dout.data[i]! * (1 - t * t);
  }
  return { shape: [...out.shape], data: dx, dtype: out.dtype };
}

export interface SigmoidCache {
  /** The forward's output σ(x). */
  out: Tensor;
}

/**
 * σ(v) = 1 / (1 + e^−v), evaluated so that exp never overflows: for v < 0 as e^v / (1 + e^v).
 * Exact limits: σ(−∞) = 0, σ(+∞) = 1; tiny results stay relative-accurate (σ(−700) ≈ 1e-304).
 */
function sigmoidOf(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/** out = σ(x) = 1 / (1 + e^−x), stable for large |x| (no overflow, no NaN from finite x). */
export function sigmoidForward(x: Tensor): { out: Tensor; cache: SigmoidCache } {
  assertTensor('sigmoidForward', 'x', x);
  const out = mapElements(x, sigmoidOf);
  return { out, cache: { out } };
}

/** dx = dout · σ(x) · (1 − σ(x)), from the forward's output. */
export function sigmoidBackward(dout: Tensor, cache: SigmoidCache): Tensor {
  const fn = 'sigmoidBackward';
  assertCache(fn, cache, ['out']);
  const { out } = cache;
  assertUpstream(fn, dout, out.shape, out.dtype);
  const dx = allocate(out.dtype, out.data.length);
  for (let i = 0; i < dx.length; i++) {
    const s = out.data[i]!;
    dx[i] = dout.data[i]! * s * (1 - s);
  }
  return { shape: [...out.shape], data: dx, dtype: out.dtype };
}

// The error function, after Sun's FDLIBM s_erf.c (1993; the algorithm of glibc, musl, FreeBSD and
// Java's StrictMath): rational approximations on [0, 0.84375], [0.84375, 1.25], and, for erfc,
// exp(−x² − 0.5625 + R/S) / x on [1.25, 1/0.35] and [1/0.35, 28]. FDLIBM states the error of each
// approximation below 2^-57.9 (about 3.4e-18 relative) and the result within 1 ulp. Measured here
// against mpmath (40 digits) on 20,000 evenly spaced points of [−30, 30] and the branch edges:
// max relative error 1.2e-16 for erf (normal results) and 3.2e-16 for erfc (results above
// 1e-300). test/layers/activations2.test.ts checks tabulated mpmath values at 1e-15 relative.
const ERX = 8.45062911510467529297e-1;
const EFX = 1.28379167095512586316e-1;
const EFX8 = 1.02703333676410069053;
/** FDLIBM's switch between its two erfc tails: 0x4006DB6E00000000, just above 1/0.35. */
const TAIL_SWITCH = 2.8571434020996094;
// erf on [0, 0.84375]: erf(x) = x + x·P(x²)/Q(x²)
const PP = [1.28379167095512558561e-1, -3.25042107247001499370e-1, -2.84817495755985104766e-2, -5.77027029648944159157e-3, -2.37630166566501626084e-5];
const QQ = [1, 3.97917223959155352819e-1, 6.50222499887672944485e-2, 5.08130628187576562776e-3, 1.32494738004321644526e-4, -3.96022827877536812320e-6];
// erf on [0.84375, 1.25]: erf(1 + s) = ERX + P(s)/Q(s)
const PA = [-2.36211856075265944077e-3, 4.14856118683748331666e-1, -3.72207876035701323847e-1, 3.18346619901161753674e-1, -1.10894694282396677476e-1, 3.54783043256182359371e-2, -2.16637559486879084300e-3];
const QA = [1, 1.06420880400844228286e-1, 5.40397917702171048937e-1, 7.18286544141962662868e-2, 1.26171219808761642112e-1, 1.36370839120290507362e-2, 1.19844998467991074170e-2];
// erfc on [1.25, 1/0.35]: erfc(x) = exp(−x² − 0.5625 + R(1/x²)/S(1/x²)) / x
const RA = [-9.86494403484714822705e-3, -6.93858572707181764372e-1, -1.05586262253232909814e1, -6.23753324503260060396e1, -1.62396669462573470355e2, -1.84605092906711035994e2, -8.12874355063065934246e1, -9.81432934416914548592];
const SA = [1, 1.96512716674392571292e1, 1.37657754143519042600e2, 4.34565877475229228821e2, 6.45387271733267880336e2, 4.29008140027567833386e2, 1.08635005541779435134e2, 6.57024977031928170135, -6.04244152148580987438e-2];
// erfc on [1/0.35, 28]
const RB = [-9.86494292470009928597e-3, -7.99283237680523006574e-1, -1.77579549177547519889e1, -1.60636384855821916062e2, -6.37566443368389627722e2, -1.02509513161107724954e3, -4.83519191608651397019e2];
const SB = [1, 3.03380607434824582924e1, 3.25792512996573918826e2, 1.53672958608443695994e3, 3.19985821950859553908e3, 2.55305040643316442583e3, 4.74528541206955367215e2, -2.24409524465858183362e1];

/** Σ c[k]·z^k by Horner's rule. */
function poly(c: readonly number[], z: number): number {
  let r = c[c.length - 1]!;
  for (let k = c.length - 2; k >= 0; k--) r = r * z + c[k]!;
  return r;
}

const wordView = new DataView(new ArrayBuffer(8));

/** erfc(a) for a >= 1.25 (below 28): exp(−a² − 0.5625 + R/S) / a, with a² split exactly. */
function erfcTail(a: number): number {
  const z = 1 / (a * a);
  const ratio = a < TAIL_SWITCH ? poly(RA, z) / poly(SA, z) : poly(RB, z) / poly(SB, z);
  // s is a with its low 32 bits cleared, so s² is exact and −a² = −s² + (s − a)(s + a).
  wordView.setFloat64(0, a, true);
  wordView.setUint32(0, 0, true);
  const s = wordView.getFloat64(0, true);
  return (Math.exp(-s * s - 0.5625) * Math.exp((s - a) * (s + a) + ratio)) / a;
}

/** The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt (FDLIBM's algorithm; within 1 ulp). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  const sign = x < 0 ? -1 : 1;
  if (a < 0.84375) {
    if (a < 2 ** -28) return a < 2 ** -1015 ? 0.125 * (8 * x + EFX8 * x) : x + EFX * x; // (scaled: no underflow)
    const z = x * x;
    return x + x * (poly(PP, z) / poly(QQ, z));
  }
  if (a < 1.25) {
    const s = a - 1;
    return sign * (ERX + poly(PA, s) / poly(QA, s));
  }
  if (a >= 6) return sign; // 1 − erfc(6) rounds to 1 (erfc(6) ≈ 2.2e-17)
  return sign * (1 - erfcTail(a));
}

/** The complementary error function erfc(x) = 1 − erf(x), accurate where erf(x) is near ±1. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a < 0.84375) {
    if (a < 2 ** -56) return 1 - x;
    const z = x * x;
    const r = x * (poly(PP, z) / poly(QQ, z));
    return x < 0.25 ? 1 - (x + r) : 0.5 - (x - 0.5 + r);
  }
  if (a < 1.25) {
    const s = a - 1;
    const ratio = poly(PA, s) / poly(QA, s);
    return x > 0 ? 1 - ERX - ratio : 1 + (ERX + ratio);
  }
  if (a < 28) {
    const tail = erfcTail(a);
    return x > 0 ? tail : 2 - tail;
  }
  return x > 0 ? 0 : 2;
}

export type GeluApproximate = 'none' | 'tanh';

export interface GeluCache {
  x: Tensor;
  approximate: GeluApproximate;
}

const SQRT1_2 = Math.SQRT1_2;
/** 1 / √(2π) */
const INV_SQRT_2PI = 0.3989422804014327;
/** √(2/π) */
const SQRT_2_OVER_PI = 0.7978845608028654;
const GELU_TANH_C = 0.044715;

function geluApproximate(fn: string, name: string, value: unknown): GeluApproximate {
  if (value !== 'none' && value !== 'tanh') throw new ConvnetError(fn, `expected ${name} to be 'none' or 'tanh', got ${show(value)}`);
  return value;
}

/** x·Φ(x) with Φ(x) = erfc(−x/√2)/2 (accurate in the far negative tail, where 1 + erf cancels). */
function geluExact(v: number): number {
  const cdf = 0.5 * erfc(-v * SQRT1_2);
  return cdf === 0 ? 0 : v * cdf; // −∞ · 0: the limit, 0
}

/** Φ(x) + x·φ(x), the derivative of x·Φ(x). */
function geluExactGrad(v: number): number {
  const cdf = 0.5 * erfc(-v * SQRT1_2);
  const pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
  return cdf + (pdf === 0 ? 0 : v * pdf);
}

/**
 * PyTorch's approximate='tanh': x/2 · (1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³), evaluated as
 * x·σ(2u) (1 + tanh(u) = 2σ(2u)), which keeps its relative accuracy where 1 + tanh(u) cancels.
 */
function geluTanh(v: number): number {
  const s = sigmoidOf(2 * SQRT_2_OVER_PI * (v + GELU_TANH_C * v * v * v));
  return s === 0 ? 0 : v * s; // −∞ · 0: the limit, 0
}

/** σ(2u) + x·σ(2u)·σ(−2u)·2u′ (1 − tanh²(u) = 4σ(2u)σ(−2u)). */
function geluTanhGrad(v: number): number {
  const u2 = 2 * SQRT_2_OVER_PI * (v + GELU_TANH_C * v * v * v);
  const s = sigmoidOf(u2);
  const slope = s * sigmoidOf(-u2);
  return s + (slope === 0 ? 0 : v * slope * 2 * SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_C * v * v));
}

/**
 * GELU: x·Φ(x), Φ the standard normal CDF, with the exact erf (PyTorch's default,
 * approximate 'none'), or PyTorch's tanh approximation (approximate 'tanh'). GELU(−∞) = 0.
 */
export function geluForward(x: Tensor, approximate: GeluApproximate = 'none'): { out: Tensor; cache: GeluCache } {
  const fn = 'geluForward';
  assertTensor(fn, 'x', x);
  const mode = geluApproximate(fn, 'approximate', approximate);
  const out = mapElements(x, mode === 'none' ? geluExact : geluTanh);
  return { out, cache: { x, approximate: mode } };
}

/** dx = dout · (Φ(x) + x·φ(x)) (or the tanh form's derivative). */
export function geluBackward(dout: Tensor, cache: GeluCache): Tensor {
  const fn = 'geluBackward';
  assertCache(fn, cache, ['x', 'approximate']);
  const { x } = cache;
  const grad = geluApproximate(fn, 'cache.approximate', cache.approximate) === 'none' ? geluExactGrad : geluTanhGrad;
  assertUpstream(fn, dout, x.shape, x.dtype);
  const dx = allocate(x.dtype, x.data.length);
  for (let i = 0; i < dx.length; i++) dx[i] = dout.data[i]! * grad(x.data[i]!);
  return { shape: [...x.shape], data: dx, dtype: x.dtype };
}

export interface EluCache {
  x: Tensor;
  alpha: number;
}

/** out = x where x > 0, else alpha·(e^x − 1) (alpha defaults to 1, PyTorch's and ONNX's). */
export function eluForward(x: Tensor, alpha = 1): { out: Tensor; cache: EluCache } {
  const fn = 'eluForward';
  assertTensor(fn, 'x', x);
  const a = finiteNumber(fn, 'alpha', alpha);
  const out = mapElements(x, (v) => (v > 0 ? v : a * Math.expm1(v)));
  return { out, cache: { x, alpha: a } };
}

/** dx = dout where x > 0, else alpha·e^x·dout (alpha at exactly 0, as PyTorch). */
export function eluBackward(dout: Tensor, cache: EluCache): Tensor {
  const fn = 'eluBackward';
  assertCache(fn, cache, ['x', 'alpha']);
  const { x } = cache;
  const alpha = finiteNumber(fn, 'cache.alpha', cache.alpha);
  assertUpstream(fn, dout, x.shape, x.dtype);
  const dx = allocate(x.dtype, x.data.length);
  for (let i = 0; i < dx.length; i++) {
    const v = x.data[i]!;
    dx[i] = v > 0 ? dout.data[i]! : alpha * Math.exp(v) * dout.data[i]!;
  }
  return { shape: [...x.shape], data: dx, dtype: x.dtype };
}
