/**
 * `convnet gradcheck`: the CS231n notebook's gradient checks as a command. Every layer's
 * backward is checked against centred differences in float64 on small shapes that include
 * non-square inputs, stride 2, asymmetric padding, dilation and groups.
 */
import { gradCheck, type GradCheckReport } from '../gradcheck.js';
import { leakyReluBackward, leakyReluForward, logSoftmaxBackward, logSoftmaxForward, reluBackward, reluForward, softmaxBackward, softmaxForward } from '../layers/activations.js';
import { affineBackwardNaive, affineForwardNaive } from '../layers/affine.js';
import { batchnormBackwardNaive, batchnormBackwardAlt, batchnormForwardNaive, spatialBatchnormBackwardNaive, spatialBatchnormForwardNaive } from '../layers/batchnorm.js';
import { convBackwardNaive, convForwardNaive } from '../layers/conv.js';
import { dropoutBackward, dropoutForward } from '../layers/dropout.js';
import { spatialGroupnormBackwardNaive, spatialGroupnormForwardNaive } from '../layers/groupnorm.js';
import { layernormBackward, layernormForward } from '../layers/layernorm.js';
import { softmaxLoss, svmLoss } from '../layers/loss.js';
import { avgPoolBackwardNaive, avgPoolForwardNaive, globalAvgPoolBackward, globalAvgPoolForward, globalMaxPoolBackward, globalMaxPoolForward, maxPoolBackwardNaive, maxPoolForwardNaive } from '../layers/pool.js';
import { rng } from '../rng.js';
import { randn, type Tensor } from '../tensor.js';

export interface GradCheckRow {
  layer: string;
  input: string;
  relError: number;
}

/** Runs every layer's check; returns one row per (layer, input). */
export function runGradChecks(seed = 0): GradCheckRow[] {
  const generator = rng(seed);
  const r = (...shape: number[]): Tensor => randn(shape, generator);
  const rows: GradCheckRow[] = [];
  const add = (layer: string, report: GradCheckReport): void => {
    for (const e of report.entries) rows.push({ layer, input: e.input, relError: e.relError });
  };
  const conv = (name: string, xs: number[], ws: number[], param: object): void => {
    const inputs = { x: r(...xs), w: r(...ws), b: r(ws[0]!) };
    add(name, gradCheck({ inputs, forward: (i) => convForwardNaive(i.x!, i.w!, i.b!, param), backward: convBackwardNaive, seed: seed + 1 }));
  };
  conv('conv 5×7, 3×2 kernel, stride 2, pad 1', [2, 3, 5, 7], [4, 3, 3, 2], { stride: 2, pad: 1 });
  conv('conv pad [0,1,2,1], dilation 2', [1, 2, 7, 6], [3, 2, 3, 2], { pad: [0, 1, 2, 1], dilation: 2 });
  conv('conv groups 2, pad 2', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, pad: 2 });
  const pool = { poolHeight: 3, poolWidth: 2, stride: [2, 1] as [number, number] };
  add('max pool 3×2 stride [2,1] (overlapping)', gradCheck({ inputs: { x: r(2, 3, 7, 6) }, forward: (i) => maxPoolForwardNaive(i.x!, pool), backward: maxPoolBackwardNaive, seed }));
  const avg = { poolHeight: 3, poolWidth: 3, stride: 2, pad: 1, countIncludePad: false };
  add('avg pool 3×3 stride 2 pad 1', gradCheck({ inputs: { x: r(2, 3, 7, 6) }, forward: (i) => avgPoolForwardNaive(i.x!, avg), backward: avgPoolBackwardNaive, seed }));
  add('global avg pool', gradCheck({ inputs: { x: r(2, 3, 4, 5) }, forward: (i) => globalAvgPoolForward(i.x!), backward: globalAvgPoolBackward, seed }));
  add('global max pool', gradCheck({ inputs: { x: r(2, 3, 4, 5) }, forward: (i) => globalMaxPoolForward(i.x!), backward: globalMaxPoolBackward, seed }));
  add('affine', gradCheck({ inputs: { x: r(4, 2, 3), w: r(6, 5), b: r(5) }, forward: (i) => affineForwardNaive(i.x!, i.w!, i.b!), backward: affineBackwardNaive, seed }));
  add('relu', gradCheck({ inputs: { x: r(4, 5) }, forward: (i) => reluForward(i.x!), backward: reluBackward, seed }));
  add('leaky relu', gradCheck({ inputs: { x: r(4, 5) }, forward: (i) => leakyReluForward(i.x!, 0.1), backward: leakyReluBackward, seed }));
  add('softmax (axis 1)', gradCheck({ inputs: { x: r(3, 4, 5) }, forward: (i) => softmaxForward(i.x!, 1), backward: softmaxBackward, seed }));
  add('log-softmax', gradCheck({ inputs: { x: r(3, 4) }, forward: (i) => logSoftmaxForward(i.x!), backward: logSoftmaxBackward, seed }));
  const norm = { x: r(6, 5), gamma: r(5), beta: r(5) };
  add('batchnorm', gradCheck({ inputs: norm, forward: (i) => batchnormForwardNaive(i.x!, i.gamma!, i.beta!, { mode: 'train' }), backward: batchnormBackwardNaive, seed: seed + 2 }));
  add('batchnorm (closed form)', gradCheck({ inputs: norm, forward: (i) => batchnormForwardNaive(i.x!, i.gamma!, i.beta!, { mode: 'train' }), backward: batchnormBackwardAlt, seed: seed + 2 }));
  add('layernorm', gradCheck({ inputs: norm, forward: (i) => layernormForward(i.x!, i.gamma!, i.beta!), backward: layernormBackward, seed: seed + 3 }));
  const spatial = { x: r(2, 4, 3, 5), gamma: r(4), beta: r(4) };
  add('spatial batchnorm', gradCheck({ inputs: spatial, forward: (i) => spatialBatchnormForwardNaive(i.x!, i.gamma!, i.beta!, { mode: 'train' }), backward: spatialBatchnormBackwardNaive, seed: seed + 4 }));
  const group = { x: r(2, 6, 3, 4), gamma: r(1, 6, 1, 1), beta: r(1, 6, 1, 1) };
  add('spatial groupnorm (G = 3)', gradCheck({ inputs: group, forward: (i) => spatialGroupnormForwardNaive(i.x!, i.gamma!, i.beta!, 3), backward: spatialGroupnormBackwardNaive, seed: seed + 5 }));
  add('dropout (keep 0.6)', gradCheck({ inputs: { x: r(5, 6) }, forward: (i) => dropoutForward(i.x!, { p: 0.6, mode: 'train', seed: 7 }), backward: dropoutBackward, seed }));
  // Losses: scalar outputs, checked through a 1-element "out" whose upstream gradient is 1.
  const y = [1, 0, 2, 4];
  for (const [name, loss] of [['softmax loss', softmaxLoss], ['svm loss', svmLoss]] as const) {
    add(name, gradCheck({
      inputs: { x: r(4, 5) },
      forward: (i) => {
        const { loss: value, dx } = loss(i.x!, y);
        return { out: { shape: [1], data: new Float64Array([value]), dtype: 'float64' }, cache: dx };
      },
      backward: (dout: Tensor, dx: Tensor) => ({ dx: { ...dx, data: dx.data.map((v) => v * dout.data[0]!) } }),
      seed,
    }));
  }
  return rows;
}

/** Prints the table; returns true when every error is below the tolerance. */
export function printGradCheckTable(rows: GradCheckRow[], tolerance: number, print: (line: string) => void): boolean {
  const width = Math.max(...rows.map((row) => row.layer.length), 5);
  print(`${'layer'.padEnd(width)}  input   relative error  ok`);
  print(`${'-'.repeat(width)}  ------  --------------  --`);
  let ok = true;
  for (const row of rows) {
    const pass = row.relError < tolerance;
    ok &&= pass;
    print(`${row.layer.padEnd(width)}  d${row.input.padEnd(5)}  ${row.relError.toExponential(2).padStart(14)}  ${pass ? 'ok' : 'FAIL'}`);
  }
  print(ok ? `all ${rows.length} gradients below ${tolerance}` : `some gradients are at or above ${tolerance}`);
  return ok;
}
