/**
 * `convnet info MODEL`: what a model file holds: the layer table (model.summary()), then the
 * metadata: the convnet version that wrote it, dtype, preprocessing, class names and the
 * training summary `convnet train` recorded. For an ONNX file, first what the file says about
 * itself (producer, IR version, opset, its nodes by op type, input and output), then the
 * Network it imports as.
 */
import type { Json } from '../nn/module.js';
import type { SummaryRow } from '../models/network.js';
import type { ModelConfig } from '../models/model.js';
import { openModelFile } from './modelFile.js';

/** An ONNX file's facts, as info reports them. */
export interface OnnxInfo {
  producer: string;
  irVersion: number;
  opset: number;
  graph: string;
  nodes: number;
  opTypes: Record<string, number>;
  input: string;
  output: string;
  /** The batch axis: its name (dynamic) or fixed size. */
  batch: string | number;
  /** A trailing Softmax / LogSoftmax left out on import (the scores are its input), or null. */
  outputActivation: string | null;
}

export interface InfoReport {
  file: string;
  format: string;
  convnetVersion: string;
  dtype: string;
  inputShape: number[];
  numClasses: number;
  parameters: number;
  layers: SummaryRow[];
  config: ModelConfig;
  /** mean: its shape and whether it is per pixel (C, H, W) or per channel (C, 1, 1). */
  preprocessing: { scale: number; mean: { shape: number[]; per: 'pixel' | 'channel' } | null } | null;
  classNames: string[] | null;
  training: { [key: string]: Json } | null;
  /** ONNX files only (null for the others). */
  onnx: OnnxInfo | null;
}

export async function runInfo(modelPath: string, options: { json: boolean }, print: (line: string) => void = console.log): Promise<InfoReport> {
  const { model, info, format, convnetVersion, onnx } = await openModelFile(modelPath);
  const mean = info.preprocessing?.mean;
  const report: InfoReport = {
    file: modelPath,
    format,
    convnetVersion,
    dtype: model.dtype,
    inputShape: [...model.inputShape],
    numClasses: model.numClasses,
    parameters: Object.values(model.params).reduce((sum, t) => sum + t.data.length, 0),
    layers: model.summaryRows(),
    config: model.config,
    preprocessing:
      info.preprocessing === undefined
        ? null
        : { scale: info.preprocessing.scale, mean: mean === undefined ? null : { shape: [...mean.shape], per: mean.data.length === model.inputShape[0] && model.inputShape.length === 3 ? 'channel' : 'pixel' } },
    classNames: info.classNames ?? null,
    training: info.training ?? null,
    onnx:
      onnx === undefined
        ? null
        : {
            producer: `${onnx.producerName}${onnx.producerVersion === '' ? '' : ` ${onnx.producerVersion}`}`.trim() || 'unknown',
            irVersion: onnx.irVersion,
            opset: onnx.opset,
            graph: onnx.graphName,
            nodes: onnx.nodes,
            opTypes: onnx.opTypes,
            input: onnx.inputName,
            output: onnx.outputName,
            batch: onnx.batch,
            outputActivation: onnx.outputActivation,
          },
  };
  if (options.json) {
    print(JSON.stringify(report, null, 2));
    return report;
  }
  const o = report.onnx;
  if (o === null) {
    print(`${modelPath}: ${format} model file written by convnet ${convnetVersion}`);
  } else {
    print(`${modelPath}: ONNX model file written by ${o.producer} (IR version ${o.irVersion}, opset ${o.opset})`);
    const ops = Object.entries(o.opTypes).map(([op, n]) => `${op} ${n}`).join(', ');
    const batch = typeof o.batch === 'number' ? String(o.batch) : `${o.batch} (dynamic)`;
    print(`graph${o.graph === '' ? '' : ` ${JSON.stringify(o.graph)}`}: ${o.nodes} nodes (${ops}); input ${JSON.stringify(o.input)} (${[batch, ...report.inputShape].join(', ')}), output ${JSON.stringify(o.output)}`);
    print(`imported as the Network below${o.outputActivation === null ? '' : ` (its final ${o.outputActivation} left out: the scores are the values before it, and the loss applies its own softmax)`}`);
  }
  print('');
  print(model.summary());
  print('');
  print(`dtype: ${model.dtype}`);
  const p = report.preprocessing;
  print(
    p === null
      ? 'preprocessing: none recorded (inputs are raw pixel values)'
      : `preprocessing: input = pixel · ${formatNumber(p.scale)}${p.mean === null ? '' : ` − mean (per ${p.mean.per}, shape [${p.mean.shape.join(', ')}])`}, for pixels 0..255`,
  );
  print(report.classNames === null ? 'classes: no names recorded (class indices are used)' : `classes (${report.classNames.length}): ${report.classNames.join(', ')}`);
  if (report.training === null) {
    print('training: not recorded');
  } else {
    print('training:');
    const keys = Object.keys(report.training);
    const width = Math.max(...keys.map((k) => k.length));
    for (const key of keys) print(`  ${`${key}:`.padEnd(width + 1)} ${formatJson(key, report.training[key]!)}`);
  }
  return report;
}

/** 1/255 as 0.00392157, 2e-3 as 0.002: enough digits to recognise, few enough to read. */
function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

function formatJson(key: string, value: Json): string {
  if (typeof value === 'number') return /acc/i.test(key) ? value.toFixed(4) : formatNumber(value);
  if (key === 'data' && value === null) return 'null (the shipped digits, for mnist)';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}
