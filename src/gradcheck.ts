/**
 * Numerical gradient checking, shipped for users: the CS231n notebook's helpers plus a one-call
 * `gradCheck` that checks any forward/backward pair.
 *
 * Centred differences: df/dx_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / 2h. The caller's tensors are
 * never perturbed: each function receives a private perturbed copy as its argument.
 */
import { ConvnetError, fail, show } from './errors.js';
import { rng } from './rng.js';
import { clone, randn, unravelIndex, zerosLike, type Tensor } from './tensor.js';
import { assertObject, assertTensor } from './validate.js';

/**
 * The numerical gradient of a scalar function at x. `f` is called with a perturbed copy of x
 * and must compute from that argument.
 */
export function evalNumericalGradient(f: (x: Tensor) => number, x: Tensor, h = 1e-5): Tensor {
  const fn = 'evalNumericalGradient';
  if (typeof f !== 'function') fail(fn, 'f to be a function (x) => number', show(f));
  assertTensor(fn, 'x', x);
  checkStep(fn, h);
  return centredDifferences(
    x,
    h,
    (probe) => {
      const value = f(probe);
      if (typeof value !== 'number') fail(fn, 'f to return a number', show(value));
      return value;
    },
    (plus, minus) => plus - minus,
  );
}

/**
 * The numerical gradient of Σ f(x) ⊙ dout with respect to x, for a tensor-valued f: what a
 * backward pass given upstream gradient dout must return.
 */
export function evalNumericalGradientArray(f: (x: Tensor) => Tensor, x: Tensor, dout: Tensor, h = 1e-5): Tensor {
  const fn = 'evalNumericalGradientArray';
  if (typeof f !== 'function') fail(fn, 'f to be a function (x) => Tensor', show(f));
  assertTensor(fn, 'x', x);
  assertTensor(fn, 'dout', dout);
  checkStep(fn, h);
  return centredDifferences(
    x,
    h,
    (probe) => {
      const out = f(probe);
      assertTensor(fn, 'f(x)', out);
      if (out.data.length !== dout.data.length) fail(fn, `f(x) to have the shape of dout ${show(dout.shape)}`, show(out.shape));
      return out.data.slice();
    },
    // Difference element by element before weighting by dout: summing first loses precision.
    (plus, minus) => {
      let sum = 0;
      for (let j = 0; j < dout.data.length; j++) sum += (plus[j]! - minus[j]!) * dout.data[j]!;
      return sum;
    },
  );
}

/**
 * difference(g(x + h·e_i), g(x − h·e_i)) / 2h for every element i, perturbing a private copy of
 * x one element at a time.
 */
function centredDifferences<T>(x: Tensor, h: number, g: (probe: Tensor) => T, difference: (plus: T, minus: T) => number): Tensor {
  const probe = clone(x);
  const grad = zerosLike(x);
  for (let i = 0; i < probe.data.length; i++) {
    const old = probe.data[i]!;
    probe.data[i] = old + h;
    const plus = g(probe);
    probe.data[i] = old - h;
    const minus = g(probe);
    probe.data[i] = old;
    grad.data[i] = difference(plus, minus) / (2 * h);
  }
  return grad;
}

/** Where two arrays differ most relative to their size. */
export interface RelErrorDetail {
  /** max over elements of |a − b| / max(1e-8, |a| + |b|) */
  error: number;
  /** flat offset of the worst element (-1 for empty arrays) */
  offset: number;
}

export function relErrorDetail(a: Tensor | ArrayLike<number>, b: Tensor | ArrayLike<number>): RelErrorDetail {
  const x = 'data' in (a as Tensor) ? (a as Tensor).data : (a as ArrayLike<number>);
  const y = 'data' in (b as Tensor) ? (b as Tensor).data : (b as ArrayLike<number>);
  if (x.length !== y.length) fail('relError', 'arrays of equal length', `${x.length} and ${y.length}`);
  let worst = 0;
  let offset = x.length > 0 ? 0 : -1;
  for (let i = 0; i < x.length; i++) {
    const diff = Math.abs(x[i]! - y[i]!);
    const err = diff / Math.max(1e-8, Math.abs(x[i]!) + Math.abs(y[i]!));
    // NaN anywhere is the worst possible error.
    if (Number.isNaN(err)) return { error: Number.NaN, offset: i };
    if (err > worst) {
      worst = err;
      offset = i;
    }
  }
  return { error: worst, offset };
}

/** CS231n's relative error: max |a − b| / max(1e-8, |a| + |b|), taken element by element. */
export function relError(a: Tensor | ArrayLike<number>, b: Tensor | ArrayLike<number>): number {
  return relErrorDetail(a, b).error;
}

export interface GradCheckOptions<C> {
  /** The inputs to differentiate, by name, e.g. { x, w, b }. */
  inputs: Record<string, Tensor>;
  /** The forward pass, reading every input from its argument. */
  forward: (inputs: Record<string, Tensor>) => { out: Tensor; cache: C };
  /**
   * The backward pass: either one tensor (the gradient of the only input) or an object with a
   * gradient per input named `d` + name (dx for x, dgamma for gamma, …).
   */
  backward: (dout: Tensor, cache: C) => Tensor | Record<string, unknown>;
  /** Check only these inputs (default: all). */
  check?: string[];
  /** Seed for the random upstream gradient (default 0). */
  seed?: number;
  /** Finite-difference step (default 1e-5). */
  h?: number;
}

export interface GradCheckEntry {
  input: string;
  relError: number;
  /** Multi-index of the worst element in the input's shape. */
  worstIndex: number[];
  analytic: number;
  numeric: number;
}

export interface GradCheckReport {
  /** The largest relative error over all checked inputs. */
  maxRelError: number;
  entries: GradCheckEntry[];
}

/**
 * Checks a forward/backward pair numerically: draws a random upstream gradient, runs backward,
 * and compares each input's analytic gradient with centred differences of Σ forward ⊙ dout.
 * Reports the worst relative error per input and where it occurred.
 */
export function gradCheck<C>(options: GradCheckOptions<C>): GradCheckReport {
  const fn = 'gradCheck';
  assertObject(fn, 'options', options);
  const { inputs, forward, backward } = options;
  assertObject(fn, 'options.inputs', inputs);
  if (typeof forward !== 'function') fail(fn, 'options.forward to be a function', show(forward));
  if (typeof backward !== 'function') fail(fn, 'options.backward to be a function', show(backward));
  const names = options.check ?? Object.keys(inputs);
  for (const name of names) {
    if (!(name in inputs)) fail(fn, `options.check to name inputs among ${show(Object.keys(inputs))}`, show(name));
    assertTensor(fn, `inputs.${name}`, inputs[name]);
  }
  const h = options.h ?? 1e-5;
  checkStep(fn, h);

  const { out, cache } = forward(inputs);
  assertTensor(fn, 'forward(inputs).out', out);
  const dout = randn(out.shape, rng(options.seed ?? 0), out.dtype);
  const grads = backward(dout, cache);

  const entries: GradCheckEntry[] = [];
  for (const name of names) {
    let analytic: unknown;
    if ('data' in (grads as Tensor) && 'shape' in (grads as Tensor)) {
      if (names.length !== 1 || Object.keys(inputs).length !== 1) {
        fail(fn, 'backward to return an object of gradients when there are several inputs', 'one tensor');
      }
      analytic = grads;
    } else {
      analytic = (grads as Record<string, unknown>)[`d${name}`];
    }
    if (analytic === undefined) {
      throw new ConvnetError(fn, `expected backward to return d${name}, got keys ${show(Object.keys(grads))}`);
    }
    assertTensor(fn, `d${name}`, analytic);
    const numeric = evalNumericalGradientArray(
      (probe) => forward({ ...inputs, [name]: probe }).out,
      inputs[name]!,
      dout,
      h,
    );
    const { error, offset } = relErrorDetail(analytic, numeric);
    entries.push({
      input: name,
      relError: error,
      worstIndex: offset >= 0 ? unravelIndex(offset, inputs[name]!.shape) : [],
      analytic: offset >= 0 ? analytic.data[offset]! : Number.NaN,
      numeric: offset >= 0 ? numeric.data[offset]! : Number.NaN,
    });
  }
  const maxRelError = entries.reduce((m, e) => (Number.isNaN(e.relError) || e.relError > m ? e.relError : m), 0);
  return { maxRelError, entries };
}

function checkStep(fn: string, h: number): void {
  if (typeof h !== 'number' || !Number.isFinite(h) || h <= 0) fail(fn, 'h to be a positive finite number', show(h));
}
