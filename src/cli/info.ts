/**
 * `convnet info MODEL`: what a model file holds: the layer table (model.summary()), then the
 * metadata: the convnet version that wrote it, dtype, preprocessing, class names and the
 * training summary `convnet train` recorded.
 */
import type { Json } from '../nn/module.js';
import type { SummaryRow } from '../models/network.js';
import type { ModelConfig } from '../models/model.js';
import { openModelFile } from './modelFile.js';

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
}

export async function runInfo(modelPath: string, options: { json: boolean }, print: (line: string) => void = console.log): Promise<InfoReport> {
  const { model, info, format, convnetVersion } = await openModelFile(modelPath);
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
  };
  if (options.json) {
    print(JSON.stringify(report, null, 2));
    return report;
  }
  print(`${modelPath}: ${format} model file written by convnet ${convnetVersion}`);
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
