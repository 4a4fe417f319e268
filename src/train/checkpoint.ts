/**
 * Checkpoints: everything a training run needs to continue exactly where it was, in one
 * safetensors file (browser-safe: bytes in, bytes out).
 *
 * Tensors:
 *   model.W1, …, model.runningMean1, …     the current parameters and buffers
 *   best.W1, …, best.runningMean1, …       those with the best validation accuracy so far
 *   optim.W1.m, optim.W1.v, …              each parameter's update-rule state (Adam's m and v,
 *                                          momentum's velocity, RMSProp's cache)
 * __metadata__:
 *   "format": "convnet-checkpoint"
 *   "convnet": JSON { version: 1, convnetVersion, model: model.config, solver: { epoch,
 *       iterationsPerEpoch, batchSize, seed, updateRule, lrDecay, lrSchedule, warmupEpochs,
 *       stepEpochs, weightDecay, labelSmoothing, histories, bestValAcc, hasBest,
 *       optim: { W1: { learningRate: 0.001, t: 12, m: "optim.W1.m", … } },
 *       random: { batch, sample, augment, model: [dropout generators] } }, extra: caller's JSON }
 */
import { ConvnetError, show } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type StoredTensor } from '../io/safetensors.js';
import type { ModelConfig } from '../models/model.js';
import type { Json } from '../nn/module.js';
import type { RngState } from '../rng.js';
import type { Tensor } from '../tensor.js';
import { CONVNET_VERSION } from '../version.js';
import type { OptimConfig } from './optim.js';

export const CHECKPOINT_FORMAT = 'convnet-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** The Solver's state between two iterations. */
export interface SolverSnapshot {
  epoch: number;
  iterationsPerEpoch: number;
  batchSize: number;
  seed: number;
  updateRule: string;
  lrDecay: number;
  /** Older checkpoints have none of these five: they decode as 'exp', 0, 1, 0, 0 (what those runs did). */
  lrSchedule: string;
  warmupEpochs: number;
  stepEpochs: number;
  weightDecay: number;
  labelSmoothing: number;
  lossHistory: number[];
  trainAccHistory: number[];
  valAccHistory: number[];
  checkIterations: number[];
  bestValAcc: number;
  hasBest: boolean;
  optimConfigs: Record<string, OptimConfig>;
  random: { batch: RngState; sample: RngState; augment: RngState; model: RngState[] };
  /** Runs against target tensors only: their checks' mean squared errors (see Solver). */
  metric?: 'mse';
  trainMseHistory?: number[];
  valMseHistory?: number[];
  /** null before the first check. */
  bestValMse?: number | null;
}

export interface Checkpoint {
  modelConfig: ModelConfig;
  /** The current parameters and buffers, by the model's names. */
  model: Record<string, Tensor>;
  /** The parameters and buffers with the best validation accuracy ({} before the first check). */
  best: Record<string, Tensor>;
  solver: SolverSnapshot;
  /** Whatever the caller stored with it (the CLI: its options). */
  extra: Json;
}

export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const tensors: Record<string, StoredTensor> = {};
  const put = (prefix: string, record: Record<string, Tensor>): void => {
    for (const [name, t] of Object.entries(record)) tensors[`${prefix}.${name}`] = t;
  };
  put('model', checkpoint.model);
  put('best', checkpoint.best);
  // Numbers stay in the JSON; each state tensor goes to the data and is named there.
  const optim: Record<string, Record<string, Json>> = {};
  for (const [param, config] of Object.entries(checkpoint.solver.optimConfigs)) {
    const entry: Record<string, Json> = {};
    for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
      if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
        entry[key] = value;
      } else if (isTensor(value)) {
        const name = `optim.${param}.${key}`;
        tensors[name] = value;
        entry[key] = { tensor: name };
      } else if (value !== undefined) {
        throw new ConvnetError('encodeCheckpoint', `expected the update rule's state of ${param} to hold numbers and tensors, got ${key} = ${show(value)}`);
      }
    }
    optim[param] = entry;
  }
  const { optimConfigs, ...solver } = checkpoint.solver;
  void optimConfigs;
  const header = { version: CHECKPOINT_VERSION, convnetVersion: CONVNET_VERSION, model: checkpoint.modelConfig, solver: { ...solver, optim }, extra: checkpoint.extra };
  return encodeSafetensors(tensors, { format: CHECKPOINT_FORMAT, convnet: JSON.stringify(header) });
}

export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  const fn = 'decodeCheckpoint';
  const fail = (what: string): never => {
    throw new ConvnetError(fn, `${source}: ${what}`);
  };
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  if (metadata.format !== CHECKPOINT_FORMAT || typeof metadata.convnet !== 'string') {
    fail(`expected a convnet checkpoint (__metadata__.format "${CHECKPOINT_FORMAT}"), got ${metadata.format === undefined ? 'a safetensors file without it' : `format ${show(metadata.format)}`}`);
  }
  let header: { version?: unknown; model?: unknown; solver?: Record<string, unknown>; extra?: Json };
  try {
    header = JSON.parse(metadata.convnet!);
  } catch (error) {
    return fail(`expected the convnet metadata to be JSON, got ${error instanceof Error ? error.message : String(error)}`);
  }
  if (header?.version !== CHECKPOINT_VERSION) fail(`expected checkpoint version ${CHECKPOINT_VERSION}, got ${show(header?.version)}`);
  const model = header.model as ModelConfig;
  if (model === null || typeof model !== 'object' || typeof model.kind !== 'string') fail(`expected a model config, got ${show(model)}`);
  const solver = header.solver;
  if (solver === null || typeof solver !== 'object') return fail(`expected solver state, got ${show(solver)}`);
  const float = (name: string): Tensor => {
    const t = tensors[name];
    if (t === undefined) return fail(`expected a tensor ${name}, got none`);
    if (t.dtype !== 'float32' && t.dtype !== 'float64') fail(`expected ${name} to be float32 or float64, got ${t.dtype}`);
    return t as Tensor;
  };
  const group = (prefix: string): Record<string, Tensor> => {
    const out: Record<string, Tensor> = {};
    for (const name of Object.keys(tensors)) if (name.startsWith(`${prefix}.`)) out[name.slice(prefix.length + 1)] = float(name);
    return out;
  };
  const optimConfigs: Record<string, OptimConfig> = {};
  const optim = solver.optim as Record<string, Record<string, unknown>> | undefined;
  if (optim === null || typeof optim !== 'object') return fail(`expected solver.optim, got ${show(optim)}`);
  for (const [param, entry] of Object.entries(optim)) {
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(entry)) {
      config[key] = value !== null && typeof value === 'object' ? float(String((value as { tensor?: unknown }).tensor)) : value;
    }
    optimConfigs[param] = config as OptimConfig;
  }
  const numbers = (key: string): number[] => {
    const v = solver[key];
    if (!Array.isArray(v) || !v.every((n) => typeof n === 'number')) return fail(`expected solver.${key} to be numbers, got ${show(v)}`);
    return v as number[];
  };
  const integer = (key: string): number => {
    const v = solver[key];
    if (!Number.isInteger(v)) return fail(`expected solver.${key} to be an integer, got ${show(v)}`);
    return v as number;
  };
  const random = solver.random as SolverSnapshot['random'] | undefined;
  if (random === null || typeof random !== 'object' || !Array.isArray(random.model)) fail(`expected solver.random with batch, sample, augment and model states, got ${show(random)}`);
  return {
    modelConfig: model,
    model: group('model'),
    best: group('best'),
    solver: {
      epoch: integer('epoch'),
      iterationsPerEpoch: integer('iterationsPerEpoch'),
      batchSize: integer('batchSize'),
      seed: integer('seed'),
      updateRule: String(solver.updateRule),
      lrDecay: Number(solver.lrDecay),
      lrSchedule: solver.lrSchedule === undefined ? 'exp' : String(solver.lrSchedule),
      warmupEpochs: solver.warmupEpochs === undefined ? 0 : Number(solver.warmupEpochs),
      stepEpochs: solver.stepEpochs === undefined ? 1 : Number(solver.stepEpochs),
      weightDecay: solver.weightDecay === undefined ? 0 : Number(solver.weightDecay),
      labelSmoothing: solver.labelSmoothing === undefined ? 0 : Number(solver.labelSmoothing),
      lossHistory: numbers('lossHistory'),
      trainAccHistory: numbers('trainAccHistory'),
      valAccHistory: numbers('valAccHistory'),
      checkIterations: numbers('checkIterations'),
      bestValAcc: Number(solver.bestValAcc),
      hasBest: solver.hasBest === true,
      optimConfigs,
      random: random!,
      ...(solver.metric === 'mse'
        ? { metric: 'mse' as const, trainMseHistory: numbers('trainMseHistory'), valMseHistory: numbers('valMseHistory'), bestValMse: typeof solver.bestValMse === 'number' ? solver.bestValMse : null }
        : {}),
    },
    extra: header.extra ?? null,
  };
}

function isTensor(value: unknown): value is Tensor {
  return value !== null && typeof value === 'object' && Array.isArray((value as Tensor).shape) && ((value as Tensor).data instanceof Float32Array || (value as Tensor).data instanceof Float64Array);
}
