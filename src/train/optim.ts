/**
 * First-order update rules, CS231n's `optim.py` in camelCase.
 *
 * Each rule is `(w, dw, config?, name?) → { next, config }`:
 *   w, dw   a parameter and its gradient (same shape, same dtype)
 *   config  hyperparameters and the per-parameter state (velocity, cache, m, v, t); missing
 *           keys take CS231n's defaults
 *   name    the parameter's name, used only in error messages ("W1")
 * Rules are pure: `w`, `dw` and the given config (and its state tensors) are never written;
 * `next` and the returned config's state are new tensors. Pass the returned config to the next
 * call to carry the state.
 *
 * Arithmetic runs in float64 and is stored in w's dtype (state tensors have w's dtype).
 */
import { ConvnetError, show } from '../errors.js';
import { getKernels } from '../kernels/index.js';
import { allocate, allocateUninitialized, type Tensor, type TypedArray } from '../tensor.js';
import { assertObject, assertShape, assertTensor, finiteNumber, integer, numberInRange } from '../validate.js';

/** Hyperparameters and per-parameter state of every rule; each rule accepts only its own keys. */
export interface OptimConfig {
  /** All rules. sgd and sgdMomentum 1e-2, rmsprop 1e-2, adam 1e-3. */
  learningRate?: number;
  /** sgdMomentum: μ in [0, 1), default 0.9. */
  momentum?: number;
  /** sgdMomentum state: v, zeros at first. */
  velocity?: Tensor;
  /** rmsprop: ρ in [0, 1), default 0.99. */
  decayRate?: number;
  /** rmsprop and adam: ε > 0 added to the root, default 1e-8. */
  epsilon?: number;
  /** rmsprop state: the moving average of dw², zeros at first. */
  cache?: Tensor;
  /** adam: β1 in [0, 1), default 0.9. */
  beta1?: number;
  /** adam: β2 in [0, 1), default 0.999. */
  beta2?: number;
  /** adam state: first moment, zeros at first. */
  m?: Tensor;
  /** adam state: second moment, zeros at first. */
  v?: Tensor;
  /** adam state: the step count, 0 at first and incremented before use. */
  t?: number;
}

export interface UpdateResult {
  /** The updated parameter (a new tensor). */
  next: Tensor;
  /** Every hyperparameter (defaults filled in) and the new state. */
  config: OptimConfig;
}

export type UpdateRule = (w: Tensor, dw: Tensor, config?: OptimConfig, name?: string) => UpdateResult;

/** Checks w and dw and the config's keys; returns the config as a record. */
function prepare(fn: string, w: unknown, dw: unknown, config: unknown, name: string, keys: readonly string[]): {
  w: Tensor;
  dw: Tensor;
  c: Record<string, unknown>;
} {
  if (typeof name !== 'string' || name === '') throw new ConvnetError(fn, `expected name to be a non-empty string, got ${show(name)}`);
  const dname = `d${name}`;
  assertTensor(fn, name, w);
  assertTensor(fn, dname, dw);
  if (dw.dtype !== w.dtype) throw new ConvnetError(fn, `expected ${dname} to have the dtype of ${name} (${w.dtype}), got ${dw.dtype}`);
  assertShape(fn, dname, dw, w.shape);
  const c = config ?? {};
  assertObject(fn, 'config', c);
  for (const key of Object.keys(c)) {
    if (!keys.includes(key)) {
      const camel = key.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
      const hint = camel !== key && keys.includes(camel) ? ` (did you mean ${camel}?)` : '';
      throw new ConvnetError(fn, `expected config keys among ${keys.join(', ')}, got ${show(key)}${hint}`);
    }
  }
  return { w, dw, c };
}

/**
 * A NaN or infinity in a parameter or gradient is an error, never a silently spreading NaN.
 * The rules check in their own loop, for speed: `probe` is Σ (w·0 + dw·0), 0 when every value is
 * finite and NaN otherwise; then this finds the first culprit for the message. Called before the
 * rule returns, so a bad input never yields a result (the rules write nothing they were given).
 */
function assertFiniteInputs(fn: string, name: string, w: Tensor, dw: Tensor, probe: number): void {
  if (probe === 0) return;
  assertFinite(fn, name, w.data, name);
  assertFinite(fn, name, dw.data, `d${name}`);
}

function assertFinite(fn: string, param: string, data: TypedArray, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new ConvnetError(fn, `expected ${what} to be finite (parameter ${param}), got ${show(data[i])} at ${what}[${i}]`);
    }
  }
}

/** A state tensor of w's shape and dtype; zeros when absent. */
function state(fn: string, key: string, value: unknown, w: Tensor): TypedArray {
  if (value === undefined) return allocate(w.dtype, w.data.length);
  assertTensor(fn, `config.${key}`, value);
  assertShape(fn, `config.${key}`, value, w.shape);
  if (value.dtype !== w.dtype) throw new ConvnetError(fn, `expected config.${key} of dtype ${w.dtype} (w's), got ${value.dtype}`);
  return value.data;
}

function learningRate(fn: string, c: Record<string, unknown>, fallback: number): number {
  const lr = finiteNumber(fn, 'config.learningRate', c.learningRate, fallback);
  if (lr < 0) throw new ConvnetError(fn, `expected config.learningRate >= 0, got ${show(lr)}`);
  return lr;
}

/** A decay rate in [0, 1). */
function rate(fn: string, key: string, c: Record<string, unknown>, fallback: number): number {
  return numberInRange(fn, `config.${key}`, c[key], 0, 1, fallback, { high: true });
}

function epsilon(fn: string, c: Record<string, unknown>): number {
  const eps = finiteNumber(fn, 'config.epsilon', c.epsilon, 1e-8);
  if (!(eps > 0)) throw new ConvnetError(fn, `expected config.epsilon > 0, got ${show(eps)}`);
  return eps;
}

function like(w: Tensor, data: TypedArray): Tensor {
  return { shape: [...w.shape], data, dtype: w.dtype };
}

/** Vanilla SGD: w −= lr·dw. learningRate 1e-2. */
export function sgd(w: Tensor, dw: Tensor, config?: OptimConfig, name = 'w'): UpdateResult {
  const fn = 'sgd';
  const p = prepare(fn, w, dw, config, name, ['learningRate']);
  const lr = learningRate(fn, p.c, 1e-2);
  const wd = w.data;
  const g = dw.data;
  const next = allocateUninitialized(w.dtype, wd.length);
  let probe = 0;
  for (let i = 0; i < next.length; i++) {
    probe += wd[i]! * 0 + g[i]! * 0;
    next[i] = wd[i]! - lr * g[i]!;
  }
  assertFiniteInputs(fn, name, w, dw, probe);
  return { next: like(w, next), config: { learningRate: lr } };
}

/** SGD with momentum: v = μ·v − lr·dw; w += v. learningRate 1e-2, momentum 0.9, velocity zeros. */
export function sgdMomentum(w: Tensor, dw: Tensor, config?: OptimConfig, name = 'w'): UpdateResult {
  const fn = 'sgdMomentum';
  const p = prepare(fn, w, dw, config, name, ['learningRate', 'momentum', 'velocity']);
  const lr = learningRate(fn, p.c, 1e-2);
  const mu = rate(fn, 'momentum', p.c, 0.9);
  const v0 = state(fn, 'velocity', p.c.velocity, w);
  const wd = w.data;
  const g = dw.data;
  const v = allocateUninitialized(w.dtype, wd.length);
  const next = allocateUninitialized(w.dtype, wd.length);
  let probe = 0;
  for (let i = 0; i < next.length; i++) {
    probe += wd[i]! * 0 + g[i]! * 0;
    v[i] = mu * v0[i]! - lr * g[i]!;
    next[i] = wd[i]! + v[i]!;
  }
  assertFiniteInputs(fn, name, w, dw, probe);
  return { next: like(w, next), config: { learningRate: lr, momentum: mu, velocity: like(w, v) } };
}

/**
 * RMSProp: cache = ρ·cache + (1−ρ)·dw²; w −= lr·dw / (√cache + ε).
 * learningRate 1e-2, decayRate 0.99, epsilon 1e-8, cache zeros.
 */
export function rmsprop(w: Tensor, dw: Tensor, config?: OptimConfig, name = 'w'): UpdateResult {
  const fn = 'rmsprop';
  const p = prepare(fn, w, dw, config, name, ['learningRate', 'decayRate', 'epsilon', 'cache']);
  const lr = learningRate(fn, p.c, 1e-2);
  const rho = rate(fn, 'decayRate', p.c, 0.99);
  const eps = epsilon(fn, p.c);
  const cache0 = state(fn, 'cache', p.c.cache, w);
  const wd = w.data;
  const gd = dw.data;
  const cache = allocateUninitialized(w.dtype, wd.length);
  const next = allocateUninitialized(w.dtype, wd.length);
  let probe = 0;
  for (let i = 0; i < next.length; i++) {
    const g = gd[i]!;
    probe += wd[i]! * 0 + g * 0;
    cache[i] = rho * cache0[i]! + (1 - rho) * g * g;
    next[i] = wd[i]! - (lr * g) / (Math.sqrt(cache[i]!) + eps);
  }
  assertFiniteInputs(fn, name, w, dw, probe);
  return { next: like(w, next), config: { learningRate: lr, decayRate: rho, epsilon: eps, cache: like(w, cache) } };
}

/**
 * Adam with bias correction: t += 1 first, then
 *   m = β1·m + (1−β1)·dw;  v = β2·v + (1−β2)·dw²;  m̂ = m/(1−β1ᵗ);  v̂ = v/(1−β2ᵗ)
 *   w −= lr·m̂ / (√v̂ + ε)
 * learningRate 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-8, m and v zeros, t 0.
 */
export function adam(w: Tensor, dw: Tensor, config?: OptimConfig, name = 'w'): UpdateResult {
  const fn = 'adam';
  const p = prepare(fn, w, dw, config, name, ['learningRate', 'beta1', 'beta2', 'epsilon', 'm', 'v', 't']);
  const lr = learningRate(fn, p.c, 1e-3);
  const beta1 = rate(fn, 'beta1', p.c, 0.9);
  const beta2 = rate(fn, 'beta2', p.c, 0.999);
  const eps = epsilon(fn, p.c);
  const t = integer(fn, 'config.t', p.c.t, 0, 0) + 1;
  const m0 = state(fn, 'm', p.c.m, w);
  const v0 = state(fn, 'v', p.c.v, w);
  const n = w.data.length;
  const m = allocateUninitialized(w.dtype, n);
  const v = allocateUninitialized(w.dtype, n);
  const next = allocateUninitialized(w.dtype, n);
  // lr·m̂ / (√v̂ + ε) = (lr / (1−β1ᵗ))·m / (√v · (1/√(1−β2ᵗ)) + ε): one division per value, in
  // the kernel backend (WebAssembly for float32; the same bits as the TypeScript loop).
  const stepScale = lr / (1 - Math.pow(beta1, t));
  const rootScale = 1 / Math.sqrt(1 - Math.pow(beta2, t));
  const probe = getKernels().adamStep(w.data, dw.data, m0, v0, n, beta1, beta2, stepScale, rootScale, eps, next, m, v);
  assertFiniteInputs(fn, name, w, dw, probe);
  return {
    next: like(w, next),
    config: { learningRate: lr, beta1, beta2, epsilon: eps, m: like(w, m), v: like(w, v), t },
  };
}

/** The rules by the names the Solver and the CLI accept. */
export const updateRules = {
  sgd,
  sgd_momentum: sgdMomentum,
  momentum: sgdMomentum,
  rmsprop,
  adam,
} as const satisfies Record<string, UpdateRule>;

export type UpdateRuleName = keyof typeof updateRules;

/** Looks a rule up by name (or passes a function through); unknown names throw. */
export function getUpdateRule(rule: UpdateRuleName | UpdateRule, fn = 'getUpdateRule'): UpdateRule {
  if (typeof rule === 'function') return rule;
  if (typeof rule === 'string' && Object.prototype.hasOwnProperty.call(updateRules, rule)) return updateRules[rule];
  throw new ConvnetError(fn, `expected updateRule to be one of ${Object.keys(updateRules).join(', ')} or a function, got ${show(rule)}`);
}
