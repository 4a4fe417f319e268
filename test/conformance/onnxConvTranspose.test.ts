/**
 * ONNX conformance for ConvTranspose: every 2-D case among ONNX's operator vectors
 * (../shared/conformance/onnx, read in place; CONVNET_ONNX_DIR overrides) runs through
 * convTransposeForwardNaive and through convTransposeForward on the js and the wasm backends,
 * in float32, one test per case and layer set. The 1-D and 3-D cases are listed with their
 * reason in EXCLUDED; the last test checks that every ConvTranspose vector (as many as INDEX.md
 * promises) either ran in every suite or is listed there.
 *
 * The harness only translates attributes (onnxCases.ts's conventions): ONNX `pads` are our
 * [top, left, bottom, right]; `output_shape` and `auto_pad` SAME_UPPER / SAME_LOWER become
 * explicit pads as ONNX specifies,
 *   total = stride·(in − 1) + output_padding + (kernel − 1)·dilation + 1 − out
 *   SAME_UPPER: begin = ⌊total / 2⌋, end = total − begin;  otherwise: end = ⌊total / 2⌋, begin = total − end
 * (out = output_shape, or in·stride for SAME_*), and a negative end pad — an output larger than
 * the full scatter — becomes that much more output padding, which is the same thing.
 * Tolerance: onnxCases.ts's RTOL and ATOL.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { getBackend, setBackend, type Backend } from '../../src/kernels/index.js';
import { convTransposeForwardNaive, type ConvTransposeParam } from '../../src/layers/convTranspose.js';
import { convTransposeForward } from '../../src/layers/convTransposeFast.js';
import { tensor, zeros, type Tensor } from '../../src/tensor.js';
import { compareCheck, resolveOnnxDir, type OnnxCase, type OnnxTensor } from './onnxCases.js';

/** ConvTranspose cases that do not run, with the reason (README "Conformance with ONNX"). */
export const CONV_TRANSPOSE_EXCLUDED: ReadonlyArray<{ name: string; reason: string }> = [
  { name: 'test_convtranspose_1d', reason: "1-D input [1, 1, 3] (N, C, L): convnet's transposed convolution is 2-D" },
  { name: 'test_convtranspose_3d', reason: '3-D input [1, 1, 3, 4, 5] (N, C, D, H, W)' },
];

type Forward = (x: Tensor, w: Tensor, b: Tensor, param: ConvTransposeParam) => { out: Tensor };

const SUITES: Array<{ prefix: string; backend?: Backend; forward: Forward }> = [
  { prefix: '', forward: convTransposeForwardNaive },
  { prefix: 'fast (js): ', backend: 'js', forward: convTransposeForward },
  { prefix: 'fast (wasm): ', backend: 'wasm', forward: convTransposeForward },
];

const f32 = (t: OnnxTensor | null | undefined, what: string): Tensor => {
  if (t === null || t === undefined) throw new Error(`missing ${what}`);
  if (t.dtype !== 'float32') throw new Error(`${what} has dtype ${t.dtype}`);
  return tensor(t.data as number[], t.shape, 'float32');
};

function ints(c: OnnxCase, key: string, fallback: number[]): number[] {
  const v = c.attributes[key];
  if (v === undefined) return fallback;
  if (!Array.isArray(v) || !v.every((d) => Number.isInteger(d))) throw new Error(`${c.name}: attribute ${key} should be INTS, got ${JSON.stringify(v)}`);
  return v as number[];
}

/** ONNX's attributes as our explicit parameters (see the file comment). */
export function convTransposeParamOf(c: OnnxCase, x: Tensor, w: Tensor): ConvTransposeParam {
  const known = ['auto_pad', 'dilations', 'group', 'kernel_shape', 'output_padding', 'output_shape', 'pads', 'strides'];
  for (const key of Object.keys(c.attributes)) if (!known.includes(key)) throw new Error(`${c.name}: attribute ${key} is not translated`);
  const input = [x.shape[2]!, x.shape[3]!];
  const kernel = [w.shape[2]!, w.shape[3]!];
  const kernelShape = ints(c, 'kernel_shape', kernel);
  if (kernelShape[0] !== kernel[0] || kernelShape[1] !== kernel[1]) throw new Error(`${c.name}: kernel_shape ${kernelShape} disagrees with W ${w.shape}`);
  const strides = ints(c, 'strides', [1, 1]);
  const dilations = ints(c, 'dilations', [1, 1]);
  const outputPadding = [...ints(c, 'output_padding', [0, 0])];
  const autoPad = (c.attributes.auto_pad as string | undefined) ?? 'NOTSET';
  const pads = c.attributes.pads === undefined ? undefined : ints(c, 'pads', []);
  const outputShape = c.attributes.output_shape === undefined ? undefined : ints(c, 'output_shape', []);
  let begin: number[];
  let end: number[];
  if (pads !== undefined) {
    if (autoPad !== 'NOTSET') throw new Error(`${c.name}: pads together with auto_pad ${autoPad}`);
    begin = [pads[0]!, pads[1]!];
    end = [pads[2]!, pads[3]!];
  } else if (autoPad === 'VALID' || (autoPad === 'NOTSET' && outputShape === undefined)) {
    begin = [0, 0];
    end = [0, 0];
  } else if (autoPad === 'NOTSET' || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const out = outputShape ?? [input[0]! * strides[0]!, input[1]! * strides[1]!];
    const total = [0, 1].map((a) => strides[a]! * (input[a]! - 1) + outputPadding[a]! + (kernel[a]! - 1) * dilations[a]! + 1 - out[a]!);
    const half = total.map((t) => Math.floor(t / 2));
    [begin, end] = autoPad === 'SAME_UPPER' ? [half, total.map((t, a) => t - half[a]!)] : [total.map((t, a) => t - half[a]!), half];
  } else {
    throw new Error(`${c.name}: unknown auto_pad ${autoPad}`);
  }
  if (begin.some((p) => p < 0)) throw new Error(`${c.name}: a negative leading pad ${begin} (the output would start before the scatter)`);
  for (const a of [0, 1]) {
    if (end[a]! < 0) {
      outputPadding[a] += -end[a]!;
      end[a] = 0;
    }
  }
  return {
    stride: [strides[0]!, strides[1]!],
    dilation: [dilations[0]!, dilations[1]!],
    pad: [begin[0]!, begin[1]!, end[0]!, end[1]!],
    outputPadding: [outputPadding[0]!, outputPadding[1]!],
    groups: (c.attributes.group as number | undefined) ?? 1,
  };
}

const dir = resolveOnnxDir(import.meta.url);
const indexPath = join(dir, 'INDEX.md');

if (!existsSync(indexPath)) {
  test('ONNX ConvTranspose vectors are present', () => assert.fail(`${indexPath} not found (set CONVNET_ONNX_DIR)`));
} else {
  const promised = Number(/Cases per operator: [^\n]*\bConvTranspose (\d+)/.exec(readFileSync(indexPath, 'utf8'))?.[1]);
  const cases: OnnxCase[] = readdirSync(dir)
    .filter((f) => f.startsWith('test_convtranspose') && f.endsWith('.json'))
    .sort()
    .map((file) => ({ ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Omit<OnnxCase, 'file'>), file }));
  const excluded = new Set(CONV_TRANSPOSE_EXCLUDED.map((e) => e.name));
  const toRun = cases.filter((c) => !excluded.has(c.name));
  const ran = new Map(SUITES.map((s) => [s.prefix, new Set<string>()]));

  for (const suite of SUITES) {
    describe(`ONNX conformance: ConvTranspose (${suite.prefix === '' ? 'naive' : suite.prefix.slice(0, -2)})`, () => {
      for (const c of toRun) {
        test(`${suite.prefix}${c.name}`, () => {
          ran.get(suite.prefix)!.add(c.name);
          const previous: Backend = getBackend() === 'wasm' ? 'wasm' : 'js';
          if (suite.backend !== undefined) setBackend(suite.backend);
          try {
            const x = f32(c.inputs[0], 'X');
            const w = f32(c.inputs[1], 'W');
            // An absent bias B is a zero bias (ONNX).
            const b = c.inputs[2] ? f32(c.inputs[2], 'B') : zeros([w.shape[1]! * ((c.attributes.group as number | undefined) ?? 1)], 'float32');
            const out = suite.forward(x, w, b, convTransposeParamOf(c, x, w)).out;
            const problem = compareCheck({ label: 'Y', got: out, want: c.outputs[0]! });
            if (problem !== null) assert.fail(`${c.name}: ${problem}`);
          } finally {
            setBackend(previous);
          }
        });
      }
    });
  }

  test('ONNX conformance: every ConvTranspose case ran or is listed as excluded', () => {
    const problems: string[] = [];
    if (cases.length !== promised) problems.push(`${cases.length} test_convtranspose*.json files, INDEX.md promises ${promised} ConvTranspose cases`);
    for (const c of cases) if (c.op !== 'ConvTranspose') problems.push(`${c.file} is a ${c.op} case`);
    for (const e of CONV_TRANSPOSE_EXCLUDED) {
      const c = cases.find((k) => k.name === e.name);
      if (c === undefined) problems.push(`excluded ${e.name} is not a case`);
      else if (c.inputs[0]?.shape.length === 4) problems.push(`excluded ${e.name} is 2-D: it should run`);
    }
    for (const c of toRun) {
      if (c.inputs[0]?.shape.length !== 4) problems.push(`${c.name} is not 2-D but not excluded`);
      for (const s of SUITES) if (!ran.get(s.prefix)!.has(c.name)) problems.push(`${s.prefix}${c.name} did not run`);
    }
    assert.deepEqual(problems, []);
    assert.equal(toRun.length, 9);
  });
}
