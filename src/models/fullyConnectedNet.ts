/**
 * CS231n's fully connected network with an arbitrary number of hidden layers:
 *   {affine − [batch/layer norm] − relu − [dropout]} × (L − 1) − affine − softmax
 * Parameters W1…WL, b1…bL, and gamma1…gamma(L−1), beta1…beta(L−1) with normalisation.
 */
import { ConvnetError, show } from '../errors.js';
import { ReLU } from '../nn/activation.js';
import { Sequential } from '../nn/containers.js';
import { Dropout } from '../nn/dropout.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { BatchNorm, LayerNorm } from '../nn/norm.js';
import { rng } from '../rng.js';
import { sizeOf, type DType } from '../tensor.js';
import { assertObject, integer, numberInRange } from '../validate.js';
import { assertKnownOptions, MAX_LAYERS, modelDtype } from './common.js';
import type { ModelConfig } from './model.js';
import { Network } from './network.js';

export interface FullyConnectedNetOptions {
  hiddenDims: number[];
  /** Features per input (a flat size, or (C, H, W) which the first affine flattens); default 3·32·32. */
  inputDim?: number | number[];
  numClasses?: number;
  /** Probability of keeping a unit; 1 disables dropout. */
  dropoutKeepRatio?: number;
  normalization?: 'batchnorm' | 'layernorm' | null;
  reg?: number;
  /** weightScale · N(0, 1) for every weight (default 1e-2), or 'he': √(2 / fan-in) per layer. */
  weightScale?: number | 'he';
  dtype?: DType;
  seed?: number;
}

export class FullyConnectedNet extends Network {
  private readonly options: Required<FullyConnectedNetOptions>;

  constructor(options: FullyConnectedNetOptions) {
    const fn = 'FullyConnectedNet';
    assertObject(fn, 'options', options);
    assertKnownOptions(fn, options, ['hiddenDims', 'inputDim', 'numClasses', 'dropoutKeepRatio', 'normalization', 'reg', 'weightScale', 'dtype', 'seed']);
    const { hiddenDims } = options;
    if (!Array.isArray(hiddenDims) || hiddenDims.length > MAX_LAYERS || !hiddenDims.every((d) => Number.isInteger(d) && d >= 1)) {
      const got = Array.isArray(hiddenDims) && hiddenDims.length > MAX_LAYERS ? `${hiddenDims.length} of them` : show(hiddenDims);
      throw new ConvnetError(fn, `expected hiddenDims to be an array of at most ${MAX_LAYERS} positive integers, got ${got}`);
    }
    const inputDim = options.inputDim ?? 3 * 32 * 32;
    const inputShape = typeof inputDim === 'number' ? [inputDim] : inputDim;
    if (!Array.isArray(inputShape) || inputShape.length < 1 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ConvnetError(fn, `expected inputDim to be a positive integer or a shape of them, got ${show(inputDim)}`);
    }
    const numClasses = integer(fn, 'numClasses', options.numClasses, 2, 10);
    const keep = numberInRange(fn, 'dropoutKeepRatio', options.dropoutKeepRatio, 0, 1, 1, { low: true });
    const normalization = options.normalization ?? null;
    if (normalization !== null && normalization !== 'batchnorm' && normalization !== 'layernorm') {
      throw new ConvnetError(fn, `expected normalization 'batchnorm', 'layernorm' or null, got ${show(normalization)}`);
    }
    const reg = numberInRange(fn, 'reg', options.reg, 0, Infinity, 0, { high: true });
    const weightScale: number | 'he' =
      options.weightScale === 'he' ? 'he' : numberInRange(fn, 'weightScale', options.weightScale, 0, Infinity, 1e-2, { low: true, high: true });
    const dtype = modelDtype(fn, options.dtype);
    const seed = integer(fn, 'seed', options.seed, Number.MIN_SAFE_INTEGER, 0);
    const init = { dtype, weightScale, generator: rng(seed) };

    const layers: Module[] = [];
    let features = sizeOf(inputShape);
    for (const hidden of hiddenDims) {
      layers.push(new Linear({ inFeatures: features, outFeatures: hidden }, init));
      if (normalization === 'batchnorm') layers.push(new BatchNorm({ features: hidden }, init));
      if (normalization === 'layernorm') layers.push(new LayerNorm({ features: hidden }, init));
      layers.push(new ReLU());
      if (keep < 1) layers.push(new Dropout({ keep }, init));
      features = hidden;
    }
    layers.push(new Linear({ inFeatures: features, outFeatures: numClasses }, init));
    super({ module: new Sequential(layers), inputShape, reg, name: fn });
    this.options = { hiddenDims: [...hiddenDims], inputDim: typeof inputDim === 'number' ? inputDim : [...inputShape], numClasses, dropoutKeepRatio: keep, normalization, reg, weightScale, dtype, seed };
  }

  override get config(): ModelConfig {
    const o = this.options;
    return {
      kind: 'FullyConnectedNet',
      hiddenDims: [...o.hiddenDims],
      inputDim: typeof o.inputDim === 'number' ? o.inputDim : [...o.inputDim],
      numClasses: o.numClasses,
      dropoutKeepRatio: o.dropoutKeepRatio,
      normalization: o.normalization,
      weightScale: o.weightScale,
      reg: o.reg,
      dtype: o.dtype,
      seed: o.seed,
    };
  }
}
