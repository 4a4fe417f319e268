/**
 * ONNX backend node test vectors (../shared/conformance/onnx, see its INDEX.md) run through
 * convnet's own layers.
 *
 * This module has no side effects: it locates and reads the vectors, decides per case whether it
 * runs, translates ONNX attributes into our parameters, calls the layers of a LayerSet and returns
 * (got, want) pairs. The harness only moves data around (builds float32 tensors from the JSON,
 * reshapes, turns `auto_pad` into explicit pads, fills ONNX defaults in explicitly); every output
 * value it compares comes out of a library layer.
 *
 * The exclusion table EXCLUDED below is exported so that the README can be generated from it.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spatialBatchnormForwardNaive, batchnormForwardNaive, type BatchnormParam } from '../../src/layers/batchnorm.js';
import { convForwardNaive, type ConvParam } from '../../src/layers/conv.js';
import { gemm, type GemmParam } from '../../src/layers/gemm.js';
import { spatialGroupnormForwardNaive, type GroupnormParam } from '../../src/layers/groupnorm.js';
import { layernormForward, type LayernormParam } from '../../src/layers/layernorm.js';
import {
  avgPoolForwardNaive,
  globalAvgPoolForward,
  globalMaxPoolForward,
  maxPoolForwardNaive,
  type AvgPoolParam,
  type PoolParam,
} from '../../src/layers/pool.js';
import { leakyReluForward, logSoftmaxForward, reluForward, softmaxForward } from '../../src/layers/activations.js';
import { flatten } from '../../src/layers/reshape.js';
import { softmaxCrossEntropyLoss, type SoftmaxCrossEntropyOptions } from '../../src/layers/loss.js';
import { reshape, sizeOf, tensor, zeros, type Tensor } from '../../src/tensor.js';

// ---------------------------------------------------------------------------------------------
// Which operators, and where the vectors live

/** The operators this suite covers (issue: "every 2-D case of …"). */
export const REQUIRED_OPS = [
  'Conv',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'BatchNormalization',
  'GroupNormalization',
  'InstanceNormalization',
  'LayerNormalization',
  'Relu',
  'LeakyRelu',
  'Softmax',
  'LogSoftmax',
  'Gemm',
  'Flatten',
  'SoftmaxCrossEntropyLoss',
] as const;
export type RequiredOp = (typeof REQUIRED_OPS)[number];

export function isRequiredOp(op: string): op is RequiredOp {
  return (REQUIRED_OPS as readonly string[]).includes(op);
}

/** Operators with spatial windows: only their 2-D cases (input rank 4, NCHW) run. */
export const SPATIAL_OPS: readonly RequiredOp[] = ['Conv', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool'];

/** Overrides the vector directory (absolute, or relative to the current working directory). */
export const ONNX_DIR_ENV = 'CONVNET_ONNX_DIR';

/**
 * The vector directory: $CONVNET_ONNX_DIR if set, else ../shared/conformance/onnx next to the
 * repository. The compiled test runs from <repo>/build/test/conformance/, so the repository root
 * is three levels above the directory of `testFileUrl`. Read in place, never copied.
 */
export function resolveOnnxDir(testFileUrl: string): string {
  const override = process.env[ONNX_DIR_ENV];
  if (override !== undefined && override !== '') return resolve(override);
  const repoRoot = resolve(dirname(fileURLToPath(testFileUrl)), '..', '..', '..');
  return resolve(repoRoot, '..', 'shared', 'conformance', 'onnx');
}

// ---------------------------------------------------------------------------------------------
// The JSON schema (INDEX.md)

export interface OnnxTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Array<number | boolean>;
  stored_name?: string;
}

export interface OnnxCase {
  name: string;
  op: string;
  opset: number;
  attributes: Record<string, unknown>;
  /** null where the node omits an optional input */
  inputs: Array<OnnxTensor | null>;
  /** null where the node omits an optional output */
  outputs: Array<OnnxTensor | null>;
  note?: string;
  /** the JSON file's name (added by the loader) */
  file: string;
}

export interface LoadedVectors {
  dir: string;
  /** every *.json file in the directory */
  files: string[];
  /** the cases of REQUIRED_OPS, sorted by name */
  cases: OnnxCase[];
  /** "Cases per operator" from INDEX.md */
  indexCounts: Map<string, number>;
}

export type LoadResult = { ok: true; vectors: LoadedVectors } | { ok: false; message: string };

/** Reads the directory; any problem comes back as a message for a failing test, never a skip. */
export function loadVectors(dir: string): LoadResult {
  const hint =
    `The ONNX conformance vectors are read in place from ../shared/conformance/onnx (relative to the ` +
    `repository root); set ${ONNX_DIR_ENV} to point elsewhere.`;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return { ok: false, message: `ONNX conformance directory not found: ${dir}. ${hint}` };
  }
  const indexPath = join(dir, 'INDEX.md');
  if (!existsSync(indexPath)) return { ok: false, message: `${indexPath} is missing. ${hint}` };
  const index = readFileSync(indexPath, 'utf8');
  const countsLine = /Cases per operator: ([^\n(]*)/.exec(index);
  if (countsLine === null) return { ok: false, message: `${indexPath} has no "Cases per operator:" line` };
  const indexCounts = new Map<string, number>();
  for (const m of countsLine[1]!.matchAll(/([A-Za-z]+) (\d+)/g)) indexCounts.set(m[1]!, Number(m[2]));

  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length === 0) return { ok: false, message: `no *.json vectors in ${dir}. ${hint}` };
  const cases: OnnxCase[] = [];
  for (const file of files) {
    let parsed: Omit<OnnxCase, 'file'>;
    try {
      parsed = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Omit<OnnxCase, 'file'>;
    } catch (error) {
      return { ok: false, message: `cannot read ${join(dir, file)}: ${(error as Error).message}` };
    }
    if (typeof parsed.name !== 'string' || typeof parsed.op !== 'string' || !Array.isArray(parsed.inputs) || !Array.isArray(parsed.outputs)) {
      return { ok: false, message: `${join(dir, file)} does not follow the INDEX.md schema {name, op, opset, attributes, inputs, outputs}` };
    }
    if (isRequiredOp(parsed.op)) cases.push({ ...parsed, attributes: parsed.attributes ?? {}, file });
  }
  return { ok: true, vectors: { dir, files, cases, indexCounts } };
}

// ---------------------------------------------------------------------------------------------
// What does not run, and why

export type ExclusionKind = 'not-2d' | 'unsupported';

export interface Exclusion {
  name: string;
  op: RequiredOp;
  /** 'not-2d': a 1-D or 3-D case of a windowed operator (outside the scope). */
  kind: ExclusionKind;
  reason: string;
}

const notTwoD = (name: string, op: RequiredOp, inputShape: string): Exclusion => ({
  name,
  op,
  kind: 'not-2d',
  reason: `not 2-D: input ${inputShape} (convnet's ${op === 'MaxPool' ? 'max' : 'average'} pool is 2-D, NCHW)`,
});

/**
 * Every case of REQUIRED_OPS that does not run. The 1-D / 3-D ones are decided by input rank and
 * must also be listed here, so that a new vector can never be skipped silently; 2-D cases we
 * cannot run would be listed with kind 'unsupported' (there are none: every 2-D case runs).
 */
export const EXCLUDED: readonly Exclusion[] = [
  notTwoD('test_averagepool_1d_default', 'AveragePool', '[1, 3, 32] (1-D)'),
  notTwoD('test_averagepool_3d_default', 'AveragePool', '[1, 3, 32, 32, 32] (3-D)'),
  notTwoD('test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False', 'AveragePool', '[1, 1, 32, 32, 32] (3-D)'),
  notTwoD('test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True', 'AveragePool', '[1, 1, 32, 32, 32] (3-D)'),
  notTwoD('test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False', 'AveragePool', '[1, 1, 32, 32, 32] (3-D)'),
  notTwoD('test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True', 'AveragePool', '[1, 1, 32, 32, 32] (3-D)'),
  notTwoD('test_averagepool_3d_dilations_small', 'AveragePool', '[1, 1, 4, 4, 4] (3-D)'),
  notTwoD('test_maxpool_1d_default', 'MaxPool', '[1, 3, 32] (1-D)'),
  notTwoD('test_maxpool_3d_default', 'MaxPool', '[1, 3, 32, 32, 32] (3-D)'),
  notTwoD('test_maxpool_3d_dilations', 'MaxPool', '[1, 1, 4, 4, 4] (3-D)'),
  notTwoD('test_maxpool_3d_dilations_use_ref_impl', 'MaxPool', '[1, 1, 4, 4, 4] (3-D)'),
  notTwoD('test_maxpool_3d_dilations_use_ref_impl_large', 'MaxPool', '[1, 1, 32, 32, 32] (3-D)'),
];

export type Decision = { kind: 'run' } | { kind: ExclusionKind; reason: string };

/**
 * Run, "not 2-D" (a windowed operator whose first input is not rank 4, decided by rank), or
 * unsupported (listed in EXCLUDED). The coverage test checks that the table agrees.
 */
export function decide(c: OnnxCase): Decision {
  const listed = EXCLUDED.find((e) => e.name === c.name);
  const rank = c.inputs[0]?.shape.length;
  if ((SPATIAL_OPS as readonly string[]).includes(c.op) && rank !== 4) {
    return { kind: 'not-2d', reason: listed?.reason ?? `not 2-D: input rank ${String(rank)}` };
  }
  if (listed !== undefined && listed.kind === 'unsupported') return { kind: 'unsupported', reason: listed.reason };
  return { kind: 'run' };
}

// ---------------------------------------------------------------------------------------------
// The layers under test

type Out = { out: Tensor };

/**
 * The forward functions a suite runs, with the library's own signatures. NAIVE_LAYERS below is the
 * reference set; a fast set overrides conv / maxPool / avgPool and keeps the rest.
 */
export interface LayerSet {
  conv(x: Tensor, w: Tensor, b: Tensor, convParam: ConvParam): Out;
  maxPool(x: Tensor, poolParam: PoolParam): Out;
  avgPool(x: Tensor, poolParam: AvgPoolParam): Out;
  globalAvgPool(x: Tensor): Out;
  globalMaxPool(x: Tensor): Out;
  batchnorm(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): Out;
  spatialBatchnorm(x: Tensor, gamma: Tensor, beta: Tensor, bnParam: BatchnormParam): Out;
  layernorm(x: Tensor, gamma: Tensor, beta: Tensor, lnParam: LayernormParam): { out: Tensor; cache: { mean: ArrayLike<number>; invStd: ArrayLike<number> } };
  spatialGroupnorm(x: Tensor, gamma: Tensor, beta: Tensor, G: number, gnParam: GroupnormParam): Out;
  relu(x: Tensor): Out;
  leakyRelu(x: Tensor, alpha: number): Out;
  softmax(x: Tensor, axis: number): Out;
  logSoftmax(x: Tensor, axis: number): Out;
  gemm(a: Tensor, b: Tensor, c: Tensor | null, gemmParam: GemmParam): Tensor;
  flatten(x: Tensor, axis: number): Tensor;
  softmaxCrossEntropyLoss(scores: Tensor, labels: Int32Array, options: SoftmaxCrossEntropyOptions): { loss: number | Tensor; logProb: Tensor };
}

export const NAIVE_LAYERS: LayerSet = {
  conv: convForwardNaive,
  maxPool: maxPoolForwardNaive,
  avgPool: avgPoolForwardNaive,
  globalAvgPool: globalAvgPoolForward,
  globalMaxPool: globalMaxPoolForward,
  batchnorm: batchnormForwardNaive,
  spatialBatchnorm: spatialBatchnormForwardNaive,
  layernorm: layernormForward,
  spatialGroupnorm: spatialGroupnormForwardNaive,
  relu: reluForward,
  leakyRelu: leakyReluForward,
  softmax: softmaxForward,
  logSoftmax: logSoftmaxForward,
  gemm,
  flatten,
  softmaxCrossEntropyLoss,
};

// ---------------------------------------------------------------------------------------------
// Comparison

/**
 * Pass when |got − want| <= RTOL·|want| + ATOL for every element (and the shapes are equal).
 * RTOL 1e-4 is the tolerance. ATOL 1e-6 is needed because the vectors are float32 and
 * some expected values sit near zero while the operands are O(1): numpy computed them in float32,
 * we accumulate in float64, so the two differ by a few float32 ulps of the *operands*
 * (2^-23 ≈ 1.2e-7 at magnitude 1), which no bound relative to the result can absorb. Measured:
 * test_averagepool_2d_default has expected values down to 1.5e-5 that differ from ours by
 * 1.2e-7 (relative 1.3e-3); every other case passes with no absolute term at all. 1e-6 is about
 * 8 ulps at magnitude 1, still well below upstream ONNX's own rtol 1e-3.
 */
export const RTOL = 1e-4;
export const ATOL = 1e-6;

export interface Tolerance {
  rtol: number;
  atol: number;
}

/**
 * Per-case tolerances, each with its reason (exported for the README). Only for vectors whose
 * expected values are themselves imprecise; never to paper over a layer.
 */
export const CASE_TOLERANCE: Readonly<Record<string, Tolerance & { reason: string }>> = {
  test_averagepool_2d_ceil_last_window_starts_on_pad: {
    rtol: RTOL,
    atol: 1e-4,
    reason:
      'upstream hard-codes this case with 4-decimal numbers (x like 0.8580, y = [0.1511, 0.2841, 0.3572]), so ' +
      'y is off from the exact average of the stored x by up to 0.5e-4 (rounding of y) + 0.5e-4 (rounding of ' +
      'the x it was computed from); ours, sum/9 of the stored x, differs by at most 5.6e-5. Other ONNX ' +
      'runtimes report this vector out of tolerance too. The divisor (9: count_include_pad over the padded ' +
      'window) is still checked: /4 or /6 would be off by more than 0.07.',
  },
};

export function toleranceFor(name: string): Tolerance {
  const t = CASE_TOLERANCE[name];
  return t === undefined ? { rtol: RTOL, atol: ATOL } : { rtol: t.rtol, atol: t.atol };
}

export interface Check {
  /** which output, e.g. "Y" or "running_mean" */
  label: string;
  got: { shape: readonly number[]; data: ArrayLike<number> };
  want: OnnxTensor;
  /** exact equality (integer data run in float64) */
  exact?: boolean;
}

/** null when the check passes, else a message naming the worst element. */
export function compareCheck(check: Check, tolerance: Tolerance = { rtol: RTOL, atol: ATOL }): string | null {
  const { got, want, label } = check;
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    return `${label}: shape [${got.shape.join(', ')}], expected [${want.shape.join(', ')}]`;
  }
  if (got.data.length !== want.data.length) return `${label}: ${got.data.length} values, expected ${want.data.length}`;
  let failures = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < want.data.length; i++) {
    const w = Number(want.data[i]);
    const g = got.data[i]!;
    let ok: boolean;
    let excess: number;
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      ok = Object.is(g, w) || (Number.isNaN(w) && Number.isNaN(g));
      excess = ok ? 0 : Infinity;
    } else {
      const bound = check.exact ? 0 : tolerance.rtol * Math.abs(w) + tolerance.atol;
      const diff = Math.abs(g - w);
      ok = diff <= bound; // false for NaN
      excess = Number.isNaN(diff) ? Infinity : diff - bound;
    }
    if (!ok) failures++;
    if (!ok && excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (failures === 0) return null;
  const w = Number(want.data[worst]);
  const g = got.data[worst]!;
  const tol = check.exact ? 'exact' : `rtol ${tolerance.rtol}, atol ${tolerance.atol}`;
  return (
    `${label}: ${failures} of ${want.data.length} values outside tolerance (${tol}); worst at flat index ${worst} ` +
    `[${unravel(worst, want.shape).join(', ')}]: got ${g}, expected ${w} (|diff| ${Math.abs(g - w).toExponential(3)})`
  );
}

function unravel(offset: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    index[i] = offset % shape[i]!;
    offset = Math.floor(offset / shape[i]!);
  }
  return index;
}

// ---------------------------------------------------------------------------------------------
// Running one case

class HarnessError extends Error {
  constructor(c: OnnxCase, message: string) {
    super(`${c.name} (${c.op}): ${message}`);
    this.name = 'HarnessError';
  }
}

/** Integer dtypes whose values float64 represents exactly (a max over them is then exact). */
const EXACT_INT_DTYPES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32'];

/** A float32 tensor from a float32 vector (parsing the JSON double and rounding gives its bits). */
function f32(c: OnnxCase, t: OnnxTensor | null | undefined, what: string): Tensor {
  if (t === null || t === undefined) throw new HarnessError(c, `missing ${what}`);
  if (t.dtype !== 'float32') throw new HarnessError(c, `${what} has dtype ${t.dtype}; the harness runs float32 vectors only`);
  return tensor(t.data as number[], t.shape, 'float32');
}

function input(c: OnnxCase, i: number, what: string): Tensor {
  return f32(c, c.inputs[i], what);
}

function optionalInput(c: OnnxCase, i: number, what: string): Tensor | null {
  const t = c.inputs[i];
  return t === null || t === undefined ? null : f32(c, t, what);
}

function output(c: OnnxCase, i: number, what: string): OnnxTensor {
  const t = c.outputs[i];
  if (t === null || t === undefined) throw new HarnessError(c, `missing output ${what}`);
  return t;
}

/** Throws on any attribute the harness does not translate (nothing is silently ignored). */
function knownAttributes(c: OnnxCase, known: readonly string[]): void {
  for (const key of Object.keys(c.attributes)) {
    if (!known.includes(key)) throw new HarnessError(c, `attribute ${key} is not translated by the harness`);
  }
}

/** Throws unless the case has exactly these inputs/outputs present (the others absent/null). */
function arity(c: OnnxCase, inputs: { min: number; max: number }, outputs: { min: number; max: number }): void {
  const present = (list: Array<OnnxTensor | null>) => list.filter((t) => t !== null).length;
  if (c.inputs.length > inputs.max || present(c.inputs) < inputs.min) {
    throw new HarnessError(c, `expected ${inputs.min}–${inputs.max} inputs, got ${c.inputs.length}`);
  }
  if (c.outputs.length > outputs.max || present(c.outputs) < outputs.min) {
    throw new HarnessError(c, `expected ${outputs.min}–${outputs.max} outputs, got ${c.outputs.length}`);
  }
}

function attrInt(c: OnnxCase, key: string, fallback: number): number {
  const v = c.attributes[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new HarnessError(c, `attribute ${key} should be an INT, got ${JSON.stringify(v)}`);
  return v;
}

function attrFloat(c: OnnxCase, key: string, fallback: number): number {
  const v = c.attributes[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number') throw new HarnessError(c, `attribute ${key} should be a FLOAT, got ${JSON.stringify(v)}`);
  return v;
}

function attrInts(c: OnnxCase, key: string, length: number): number[] | undefined {
  const v = c.attributes[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length !== length || !v.every((d) => Number.isInteger(d))) {
    throw new HarnessError(c, `attribute ${key} should be ${length} INTS, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

function attrString(c: OnnxCase, key: string, fallback: string): string {
  const v = c.attributes[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw new HarnessError(c, `attribute ${key} should be a STRING, got ${JSON.stringify(v)}`);
  return v;
}

/** ONNX's strides / dilations / pads / auto_pad for a 2-D window, as our explicit parameters. */
function windowParams(
  c: OnnxCase,
  inputHW: [number, number],
  kernel: [number, number],
): { stride: [number, number]; dilation: [number, number]; pad: [number, number, number, number] } {
  const [sh, sw] = attrInts(c, 'strides', 2) ?? [1, 1]; // ONNX default 1 (ours is the pool size)
  const [dh, dw] = attrInts(c, 'dilations', 2) ?? [1, 1];
  const autoPad = attrString(c, 'auto_pad', 'NOTSET');
  const pads = attrInts(c, 'pads', 4);
  let pad: [number, number, number, number];
  if (autoPad === 'NOTSET') {
    // ONNX pads [x1_begin, x2_begin, x1_end, x2_end] are our [top, left, bottom, right].
    const [top, left, bottom, right] = pads ?? [0, 0, 0, 0];
    pad = [top!, left!, bottom!, right!];
  } else if (autoPad === 'VALID') {
    pad = [0, 0, 0, 0];
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    if (pads !== undefined && pads.some((p) => p !== 0)) throw new HarnessError(c, `auto_pad ${autoPad} together with explicit pads`);
    // Output ceil(in / stride); total padding so that the last window ends at the padded edge;
    // an odd total puts the extra cell at the end (SAME_UPPER) or the beginning (SAME_LOWER).
    const split = (size: number, k: number, s: number, d: number): [number, number] => {
      const out = Math.ceil(size / s);
      const total = Math.max(0, (out - 1) * s + (k - 1) * d + 1 - size);
      const small = Math.floor(total / 2);
      return autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
    };
    const [top, bottom] = split(inputHW[0], kernel[0], sh!, dh!);
    const [left, right] = split(inputHW[1], kernel[1], sw!, dw!);
    pad = [top, left, bottom, right];
  } else {
    throw new HarnessError(c, `unknown auto_pad ${JSON.stringify(autoPad)}`);
  }
  return { stride: [sh!, sw!], dilation: [dh!, dw!], pad };
}

function poolParam(c: OnnxCase, x: Tensor): PoolParam {
  const kernel = attrInts(c, 'kernel_shape', 2);
  if (kernel === undefined) throw new HarnessError(c, 'kernel_shape is required');
  const ceil = attrInt(c, 'ceil_mode', 0);
  const window = windowParams(c, [x.shape[2]!, x.shape[3]!], [kernel[0]!, kernel[1]!]);
  return { poolHeight: kernel[0]!, poolWidth: kernel[1]!, ...window, ceilMode: ceil !== 0 };
}

/** (N, C, d1, …) → (N, C, d1·…, 1): the same NCHW memory, so per-channel layers see 4-D input. */
function asNCHW(x: Tensor): Tensor {
  if (x.shape.length === 4) return x;
  return reshape(x, [x.shape[0]!, x.shape[1]!, sizeOf(x.shape.slice(2)), 1]);
}

function view(t: Tensor, shape: readonly number[]): Tensor {
  return reshape(t, shape);
}

/** Runs one case through `layers` and returns the outputs to compare with the vector. */
export function runCase(c: OnnxCase, layers: LayerSet): Check[] {
  switch (c.op as RequiredOp) {
    case 'Conv': {
      knownAttributes(c, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides']);
      arity(c, { min: 2, max: 3 }, { min: 1, max: 1 });
      const x = input(c, 0, 'X');
      const w = input(c, 1, 'W');
      const [F, , HH, WW] = w.shape as [number, number, number, number];
      const kernel = attrInts(c, 'kernel_shape', 2);
      if (kernel !== undefined && (kernel[0] !== HH || kernel[1] !== WW)) {
        throw new HarnessError(c, `kernel_shape ${JSON.stringify(kernel)} disagrees with W ${JSON.stringify(w.shape)}`);
      }
      // An absent bias B is a zero bias (ONNX); the layer itself takes b (F).
      const b = optionalInput(c, 2, 'B') ?? zeros([F], 'float32');
      const param: ConvParam = { ...windowParams(c, [x.shape[2]!, x.shape[3]!], [HH, WW]), groups: attrInt(c, 'group', 1) };
      return [{ label: 'Y', got: layers.conv(x, w, b, param).out, want: output(c, 0, 'Y') }];
    }
    case 'MaxPool': {
      knownAttributes(c, ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides']);
      // Output 1 (Indices, int64) is not compared; storage_order only affects it.
      arity(c, { min: 1, max: 1 }, { min: 1, max: 2 });
      const xv = c.inputs[0]!;
      const want = output(c, 0, 'Y');
      if (EXACT_INT_DTYPES.includes(xv.dtype)) {
        // Integer input (test_maxpool_2d_uint8): run in float64 after casting. A max only selects
        // values, and float64 holds every such integer exactly, so the comparison is exact.
        const x = tensor(xv.data as number[], xv.shape, 'float64');
        return [{ label: 'Y', got: layers.maxPool(x, poolParam(c, x)).out, want, exact: true }];
      }
      const x = input(c, 0, 'X');
      return [{ label: 'Y', got: layers.maxPool(x, poolParam(c, x)).out, want }];
    }
    case 'AveragePool': {
      knownAttributes(c, ['auto_pad', 'ceil_mode', 'count_include_pad', 'dilations', 'kernel_shape', 'pads', 'strides']);
      arity(c, { min: 1, max: 1 }, { min: 1, max: 1 });
      const x = input(c, 0, 'X');
      // ONNX's count_include_pad defaults to 0; ours defaults to true, so always pass it.
      const param: AvgPoolParam = { ...poolParam(c, x), countIncludePad: attrInt(c, 'count_include_pad', 0) !== 0 };
      return [{ label: 'Y', got: layers.avgPool(x, param).out, want: output(c, 0, 'Y') }];
    }
    case 'GlobalAveragePool': {
      knownAttributes(c, []);
      arity(c, { min: 1, max: 1 }, { min: 1, max: 1 });
      return [{ label: 'Y', got: layers.globalAvgPool(input(c, 0, 'X')).out, want: output(c, 0, 'Y') }];
    }
    case 'GlobalMaxPool': {
      knownAttributes(c, []);
      arity(c, { min: 1, max: 1 }, { min: 1, max: 1 });
      return [{ label: 'Y', got: layers.globalMaxPool(input(c, 0, 'X')).out, want: output(c, 0, 'Y') }];
    }
    case 'BatchNormalization': {
      knownAttributes(c, ['epsilon', 'momentum', 'training_mode']);
      arity(c, { min: 5, max: 5 }, { min: 1, max: 3 });
      if (c.opset < 14) throw new HarnessError(c, `opset ${c.opset}: only the opset-14+ BatchNormalization (training_mode, running-stat outputs) is translated`);
      const x = input(c, 0, 'X');
      const gamma = input(c, 1, 'scale');
      const beta = input(c, 2, 'B');
      const training = attrInt(c, 'training_mode', 0) !== 0;
      // ONNX's input_mean / input_var are the running statistics; its momentum (default 0.9)
      // weighs the old running value, like ours. ONNX defaults passed explicitly.
      const bnParam: BatchnormParam = {
        mode: training ? 'train' : 'test',
        eps: attrFloat(c, 'epsilon', 1e-5),
        momentum: attrFloat(c, 'momentum', 0.9),
        runningMean: input(c, 3, 'input_mean'),
        runningVar: input(c, 4, 'input_var'),
      };
      if (x.shape.length < 2) throw new HarnessError(c, `X of rank ${x.shape.length}`);
      const out =
        x.shape.length === 2
          ? layers.batchnorm(x, gamma, beta, bnParam).out
          : view(layers.spatialBatchnorm(asNCHW(x), gamma, beta, bnParam).out, x.shape);
      const checks: Check[] = [{ label: 'Y', got: out, want: output(c, 0, 'Y') }];
      const runningMean = c.outputs[1];
      const runningVar = c.outputs[2];
      if (!training && (runningMean || runningVar)) throw new HarnessError(c, 'running statistics output in inference mode');
      if (runningMean) checks.push({ label: 'running_mean', got: bnParam.runningMean!, want: runningMean });
      if (runningVar) checks.push({ label: 'running_var', got: bnParam.runningVar!, want: runningVar });
      return checks;
    }
    case 'GroupNormalization': {
      knownAttributes(c, ['epsilon', 'num_groups', 'stash_type']);
      arity(c, { min: 3, max: 3 }, { min: 1, max: 1 });
      // Opset 18 had one scale/bias per group; from 21 they are per channel, like ours.
      if (c.opset < 21) throw new HarnessError(c, `opset ${c.opset}: per-group scale/bias (opset 18) is not our groupnorm`);
      const x = input(c, 0, 'X');
      const C = x.shape[1]!;
      const G = attrInt(c, 'num_groups', NaN);
      const gamma = view(input(c, 1, 'scale'), [1, C, 1, 1]);
      const beta = view(input(c, 2, 'bias'), [1, C, 1, 1]);
      // stash_type only picks the precision of the statistics; ours are float64 sums.
      const out = layers.spatialGroupnorm(asNCHW(x), gamma, beta, G, { eps: attrFloat(c, 'epsilon', 1e-5) }).out;
      return [{ label: 'Y', got: view(out, x.shape), want: output(c, 0, 'Y') }];
    }
    case 'InstanceNormalization': {
      knownAttributes(c, ['epsilon']);
      arity(c, { min: 3, max: 3 }, { min: 1, max: 1 });
      // Instance norm is group norm with one channel per group (G = C).
      const x = input(c, 0, 'input');
      const C = x.shape[1]!;
      const gamma = view(input(c, 1, 'scale'), [1, C, 1, 1]);
      const beta = view(input(c, 2, 'B'), [1, C, 1, 1]);
      const out = layers.spatialGroupnorm(asNCHW(x), gamma, beta, C, { eps: attrFloat(c, 'epsilon', 1e-5) }).out;
      return [{ label: 'Y', got: view(out, x.shape), want: output(c, 0, 'Y') }];
    }
    case 'LayerNormalization': {
      knownAttributes(c, ['axis', 'epsilon', 'stash_type']);
      arity(c, { min: 2, max: 3 }, { min: 1, max: 3 });
      const x = input(c, 0, 'X');
      const rank = x.shape.length;
      const axisAttr = attrInt(c, 'axis', -1);
      const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
      if (axis < 0 || axis >= rank) throw new HarnessError(c, `axis ${axisAttr} for rank ${rank}`);
      // Normalise over shape[axis:]: x as (prod(shape[:axis]), prod(shape[axis:])).
      const N = sizeOf(x.shape.slice(0, axis));
      const D = sizeOf(x.shape.slice(axis));
      const gammaIn = input(c, 1, 'Scale');
      const betaIn = optionalInput(c, 2, 'B');
      if (gammaIn.data.length !== D || (betaIn !== null && betaIn.data.length !== D)) {
        throw new HarnessError(c, 'Scale/B broadcast from fewer than prod(shape[axis:]) elements is not translated');
      }
      const gamma = view(gammaIn, [D]);
      // An absent B is a zero bias (ONNX).
      const beta = betaIn === null ? zeros([D], 'float32') : view(betaIn, [D]);
      const { out, cache } = layers.layernorm(view(x, [N, D]), gamma, beta, { eps: attrFloat(c, 'epsilon', 1e-5) });
      const checks: Check[] = [{ label: 'Y', got: view(out, x.shape), want: output(c, 0, 'Y') }];
      // Mean and InvStdDev have shape shape[:axis] + [1] * (rank − axis): one value per row.
      const statShape = [...x.shape.slice(0, axis), ...new Array<number>(rank - axis).fill(1)];
      const mean = c.outputs[1];
      const invStd = c.outputs[2];
      if (mean) checks.push({ label: 'Mean', got: { shape: statShape, data: cache.mean }, want: mean });
      if (invStd) checks.push({ label: 'InvStdDev', got: { shape: statShape, data: cache.invStd }, want: invStd });
      return checks;
    }
    case 'Relu': {
      knownAttributes(c, []);
      arity(c, { min: 1, max: 1 }, { min: 1, max: 1 });
      return [{ label: 'Y', got: layers.relu(input(c, 0, 'X')).out, want: output(c, 0, 'Y') }];
    }
    case 'LeakyRelu': {
      knownAttributes(c, ['alpha']);
      arity(c, { min: 1, max: 1 }, { min: 1, max: 1 });
      const alpha = attrFloat(c, 'alpha', 0.01); // ONNX default, passed explicitly
      return [{ label: 'Y', got: layers.leakyRelu(input(c, 0, 'X'), alpha).out, want: output(c, 0, 'Y') }];
    }
    case 'Softmax':
    case 'LogSoftmax': {
      knownAttributes(c, ['axis']);
      arity(c, { min: 1, max: 1 }, { min: 1, max: 1 });
      // Before opset 13 the input was coerced to 2-D at axis (default 1); from 13 it is one axis.
      if (c.opset < 13) throw new HarnessError(c, `opset ${c.opset}: the coerce-to-2-D ${c.op} is not translated`);
      const x = input(c, 0, 'input');
      const axis = attrInt(c, 'axis', -1);
      const run = c.op === 'Softmax' ? layers.softmax : layers.logSoftmax;
      return [{ label: 'output', got: run(x, axis).out, want: output(c, 0, 'output') }];
    }
    case 'Gemm': {
      knownAttributes(c, ['alpha', 'beta', 'transA', 'transB']);
      arity(c, { min: 2, max: 3 }, { min: 1, max: 1 });
      const param: GemmParam = {
        alpha: attrFloat(c, 'alpha', 1),
        beta: attrFloat(c, 'beta', 1),
        transA: attrInt(c, 'transA', 0) !== 0,
        transB: attrInt(c, 'transB', 0) !== 0,
      };
      const got = layers.gemm(input(c, 0, 'A'), input(c, 1, 'B'), optionalInput(c, 2, 'C'), param);
      return [{ label: 'Y', got, want: output(c, 0, 'Y') }];
    }
    case 'Flatten': {
      knownAttributes(c, ['axis']);
      arity(c, { min: 1, max: 1 }, { min: 1, max: 1 });
      return [{ label: 'output', got: layers.flatten(input(c, 0, 'input'), attrInt(c, 'axis', 1)), want: output(c, 0, 'output') }];
    }
    case 'SoftmaxCrossEntropyLoss': {
      knownAttributes(c, ['ignore_index', 'reduction']);
      arity(c, { min: 2, max: 3 }, { min: 1, max: 2 });
      const scores = input(c, 0, 'scores');
      // labels (N, d1, …, dk), int64 in the vectors: passed flat as an Int32Array (every value fits).
      const y = c.inputs[1];
      if (y === null || y === undefined || (y.dtype !== 'int64' && y.dtype !== 'int32')) throw new HarnessError(c, `labels of dtype ${y?.dtype ?? 'none'}`);
      const implied = [scores.shape[0]!, ...scores.shape.slice(2)];
      if (y.shape.length !== implied.length || y.shape.some((d, i) => d !== implied[i])) throw new HarnessError(c, `labels of shape [${y.shape.join(', ')}] for scores [${scores.shape.join(', ')}]`);
      if (!y.data.every((v) => typeof v === 'number' && v === (v | 0))) throw new HarnessError(c, 'a label outside int32');
      const labels = Int32Array.from(y.data as number[]);
      const weights = optionalInput(c, 2, 'weights');
      const reduction = attrString(c, 'reduction', 'mean');
      if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') throw new HarnessError(c, `reduction ${reduction}`);
      const options: SoftmaxCrossEntropyOptions = { reduction };
      if (weights !== null) options.weights = weights;
      // ONNX has no default ignore_index (nothing is ignored), like ours.
      if (c.attributes.ignore_index !== undefined) options.ignoreIndex = attrInt(c, 'ignore_index', NaN);
      const result = layers.softmaxCrossEntropyLoss(scores, labels, options);
      const loss = typeof result.loss === 'number' ? { shape: [], data: [result.loss] } : result.loss;
      const checks: Check[] = [{ label: 'output', got: loss, want: output(c, 0, 'output') }];
      // The optional second output is log_prob: log-softmax over the class axis.
      const logProb = c.outputs[1];
      if (logProb) checks.push({ label: 'log_prob', got: result.logProb, want: logProb });
      return checks;
    }
    default:
      throw new HarnessError(c, 'not an operator of this suite');
  }
}

/** How many cases per operator, e.g. "Conv 6, MaxPool 14, …" (operators in REQUIRED_OPS order). */
export function countByOp(names: Iterable<string>, cases: readonly OnnxCase[]): string {
  const opOf = new Map(cases.map((c) => [c.name, c.op]));
  const counts = new Map<string, number>();
  for (const n of names) counts.set(opOf.get(n)!, (counts.get(opOf.get(n)!) ?? 0) + 1);
  return REQUIRED_OPS.map((op) => `${op} ${counts.get(op) ?? 0}`).join(', ');
}
