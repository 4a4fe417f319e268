/**
 * Model files: a model's parameters, buffers and architecture in one safetensors file, with what
 * prediction needs to treat new inputs as the training data was treated.
 *
 * Tensors, under the model's own names:
 *   W1, b1, …, gamma1, beta1, …     parameters (conv weights (F, C / groups, kH, kW); affine
 *                                   weights (D, M), CS231n's x·W)
 *   runningMean1, runningVar1, …    batch norm's running statistics
 *   preprocessing.mean              optional: the mean subtracted from inputs, (C, H, W) per
 *                                   pixel or (C, 1, 1) per channel
 * __metadata__:
 *   "format": "convnet-model"
 *   "convnet": JSON { version: 1, convnetVersion, config (model.config), dtype,
 *                     preprocessing: { scale, mean: null | "preprocessing.mean" },
 *                     classNames: null | [...], training: null | { … } }
 *
 * A model's input is then (pixel · scale − mean) for pixel values as the dataset stores them
 * (0..255 bytes). decodeModel checks every field and tensor before it builds anything.
 */
import { ConvnetError, show } from '../errors.js';
import { buildModel } from '../models/build.js';
import type { Model, ModelConfig } from '../models/model.js';
import type { Network } from '../models/network.js';
import type { Json } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { CONVNET_VERSION } from '../version.js';
import { decodeSafetensors, encodeSafetensors, type StoredTensor } from './safetensors.js';

export const MODEL_FORMAT = 'convnet-model';
/** The version of the metadata layout above; decodeModel reads this version only. */
export const MODEL_FORMAT_VERSION = 1;
const MEAN_TENSOR = 'preprocessing.mean';

/** How raw pixels become model inputs: input = pixel · scale − mean. */
export interface Preprocessing {
  /** e.g. 1/255 for pixels in 0..255. */
  scale: number;
  /** Subtracted after scaling: (C, H, W) per pixel or (C, 1, 1) per channel, in the model's dtype. */
  mean?: Tensor;
}

/** What a model file says besides the model. */
export interface ModelInfo {
  /** One name per class (length numClasses). */
  classNames?: string[];
  preprocessing?: Preprocessing;
  /** A training summary: dataset, accuracies, epochs, date, … (plain JSON). */
  training?: { [key: string]: Json };
}

export interface DecodedModel {
  model: Network;
  info: ModelInfo;
  /** The convnet version that wrote the file. */
  convnetVersion: string;
}

/** The model (parameters, buffers, config) and its info as safetensors bytes. */
export function encodeModel(model: Model, info: ModelInfo = {}): Uint8Array {
  const fn = 'encodeModel';
  if (model === null || typeof model !== 'object' || typeof model.config !== 'object' || typeof model.params !== 'object') {
    throw new ConvnetError(fn, `expected a convnet model (params, buffers, config), got ${show(model)}`);
  }
  const tensors: Record<string, StoredTensor> = {};
  for (const [name, t] of Object.entries(model.params)) tensors[name] = t;
  for (const [name, t] of Object.entries(model.buffers ?? {})) {
    if (name in tensors) throw new ConvnetError(fn, `expected buffer names apart from parameter names, got ${show(name)} in both`);
    tensors[name] = t;
  }
  checkInfo(fn, 'info', info, model);
  const mean = info.preprocessing?.mean;
  if (mean !== undefined) tensors[MEAN_TENSOR] = mean;
  const header = {
    version: MODEL_FORMAT_VERSION,
    convnetVersion: CONVNET_VERSION,
    config: model.config,
    dtype: model.dtype,
    preprocessing: info.preprocessing === undefined ? null : { scale: info.preprocessing.scale, mean: mean === undefined ? null : MEAN_TENSOR },
    classNames: info.classNames ?? null,
    training: info.training ?? null,
  };
  return encodeSafetensors(tensors, { format: MODEL_FORMAT, convnet: JSON.stringify(header) });
}

/** A model from encodeModel's bytes; `source` (a file name) is named in every error. */
export function decodeModel(bytes: Uint8Array, source = 'model'): DecodedModel {
  const fn = 'decodeModel';
  const fail = (what: string): never => {
    throw new ConvnetError(fn, `${source}: ${what}`);
  };
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  if (metadata.format !== MODEL_FORMAT || typeof metadata.convnet !== 'string') {
    fail(`expected a convnet model file (safetensors with __metadata__.format "${MODEL_FORMAT}"), got ${metadata.format === undefined ? 'a safetensors file without it' : `format ${show(metadata.format)}`}`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(metadata.convnet!) as Record<string, unknown>;
  } catch (error) {
    return fail(`expected the convnet metadata to be JSON, got ${error instanceof Error ? error.message : String(error)}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return fail(`expected the convnet metadata to be a JSON object, got ${show(header)}`);
  if (header.version !== MODEL_FORMAT_VERSION) {
    fail(`expected model format version ${MODEL_FORMAT_VERSION}, got ${show(header.version)}${typeof header.version === 'number' && header.version > MODEL_FORMAT_VERSION ? ' (written by a newer convnet: upgrade to read it)' : ''}`);
  }
  const config = header.config as ModelConfig;
  if (config === null || typeof config !== 'object' || Array.isArray(config) || typeof config.kind !== 'string') fail(`expected metadata config to be a model config with a kind, got ${show(config)}`);
  let model: Network;
  try {
    model = buildModel(config);
  } catch (error) {
    // Not only ConvnetErrors: a config with absurd sizes fails to allocate (a RangeError), and
    // that too is a bad file, to be reported with its name.
    if (error instanceof ConvnetError) return fail(`its model config does not build: ${error.message}`);
    return fail(`its model config does not build: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
  if (header.dtype !== model.dtype) fail(`expected metadata dtype to be the config's ${model.dtype}, got ${show(header.dtype)}`);

  // Every tensor the architecture has, of its shape and dtype; nothing else but the mean.
  const expected = new Map<string, Tensor>([...Object.entries(model.params), ...Object.entries(model.buffers)]);
  for (const [name, want] of expected) {
    const got = tensors[name];
    if (got === undefined) fail(`expected a tensor ${name} (${want.dtype} ${show(want.shape)}) for its ${config.kind}, got none`);
    if (got!.dtype !== want.dtype || got!.shape.length !== want.shape.length || got!.shape.some((d, i) => d !== want.shape[i])) {
      fail(`expected tensor ${name} to be ${want.dtype} of shape ${show(want.shape)} as its config says, got ${got!.dtype} of shape ${show(got!.shape)}`);
    }
  }
  const preprocessing = header.preprocessing as { scale?: unknown; mean?: unknown } | null | undefined;
  const extras = Object.keys(tensors).filter((name) => !expected.has(name) && !(name === MEAN_TENSOR && preprocessing?.mean === MEAN_TENSOR));
  if (extras.length > 0) fail(`expected only the tensors of its ${config.kind}, got unknown ${extras.join(', ')}`);

  const info: ModelInfo = {};
  if (preprocessing !== null && preprocessing !== undefined) {
    if (typeof preprocessing !== 'object' || typeof preprocessing.scale !== 'number' || !Number.isFinite(preprocessing.scale) || preprocessing.scale <= 0) {
      fail(`expected metadata preprocessing { scale > 0, mean }, got ${show(preprocessing)}`);
    }
    info.preprocessing = { scale: preprocessing.scale as number };
    if (preprocessing.mean !== null && preprocessing.mean !== undefined) {
      if (preprocessing.mean !== MEAN_TENSOR) fail(`expected preprocessing.mean to be null or "${MEAN_TENSOR}", got ${show(preprocessing.mean)}`);
      const mean = tensors[MEAN_TENSOR];
      if (mean === undefined) return fail(`expected a tensor ${MEAN_TENSOR} (the preprocessing says so), got none`);
      if (mean.dtype !== 'float32' && mean.dtype !== 'float64') fail(`expected ${MEAN_TENSOR} to be float32 or float64, got ${mean.dtype}`);
      info.preprocessing.mean = mean as Tensor;
    }
  } else if (MEAN_TENSOR in tensors) {
    fail(`expected no ${MEAN_TENSOR} without preprocessing metadata, got one`);
  }
  if (header.classNames !== null && header.classNames !== undefined) info.classNames = header.classNames as string[];
  if (header.training !== null && header.training !== undefined) info.training = header.training as ModelInfo['training'];
  try {
    checkInfo(fn, 'metadata', info, model);
  } catch (error) {
    if (error instanceof ConvnetError) fail(error.message.replace(/^decodeModel: /, ''));
    throw error;
  }
  const params: Record<string, Tensor> = {};
  for (const name of Object.keys(model.params)) params[name] = tensors[name] as Tensor;
  const buffers: Record<string, Tensor> = {};
  for (const name of Object.keys(model.buffers)) buffers[name] = tensors[name] as Tensor;
  model.loadState(params, buffers);
  return { model, info, convnetVersion: typeof header.convnetVersion === 'string' ? header.convnetVersion : 'unknown' };
}

/** Class names and preprocessing must fit the model. */
function checkInfo(fn: string, what: string, info: ModelInfo, model: Model): void {
  if (info === null || typeof info !== 'object') throw new ConvnetError(fn, `expected ${what} to be { classNames?, preprocessing?, training? }, got ${show(info)}`);
  const { classNames, preprocessing, training } = info;
  if (classNames !== undefined && (!Array.isArray(classNames) || classNames.length !== model.numClasses || !classNames.every((n) => typeof n === 'string'))) {
    throw new ConvnetError(fn, `expected ${what} classNames to be ${model.numClasses} strings (one per class), got ${show(classNames)}`);
  }
  if (preprocessing !== undefined) {
    if (preprocessing === null || typeof preprocessing !== 'object' || typeof preprocessing.scale !== 'number' || !(preprocessing.scale > 0) || !Number.isFinite(preprocessing.scale)) {
      throw new ConvnetError(fn, `expected ${what} preprocessing.scale to be a finite number > 0, got ${show(preprocessing?.scale)}`);
    }
    const mean = preprocessing.mean;
    if (mean !== undefined) {
      if (mean === null || typeof mean !== 'object' || !Array.isArray(mean.shape)) throw new ConvnetError(fn, `expected ${what} preprocessing.mean to be a tensor, got ${show(mean)}`);
      const input = model.inputShape;
      const perPixel = mean.shape.length === input.length && mean.shape.every((d, i) => d === input[i]);
      const perChannel = input.length === 3 && mean.shape.length === 3 && mean.shape[0] === input[0] && mean.shape[1] === 1 && mean.shape[2] === 1;
      if (!perPixel && !perChannel) {
        throw new ConvnetError(fn, `expected ${what} preprocessing.mean of shape ${show(input)} (per pixel)${input.length === 3 ? ` or [${input[0]}, 1, 1] (per channel)` : ''}, got ${show(mean.shape)}`);
      }
      // Inputs are the model's dtype, and so must be what is subtracted from them.
      if (mean.dtype !== model.dtype) throw new ConvnetError(fn, `expected ${what} preprocessing.mean to be ${model.dtype} (the model's dtype), got ${mean.dtype}`);
    }
  }
  if (training !== undefined && (training === null || typeof training !== 'object' || Array.isArray(training))) {
    throw new ConvnetError(fn, `expected ${what} training to be a JSON object, got ${show(training)}`);
  }
}
