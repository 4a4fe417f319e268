/**
 * CS231n's fully connected network with an arbitrary number of hidden layers:
 *   {affine − [batch/layer norm] − relu − [dropout]} × (L − 1) − affine − softmax
 * Parameters W1…WL, b1…bL, and gamma1…gamma(L−1), beta1…beta(L−1) with normalisation.
 */
import { ConvnetError, show } from '../errors.js';
import { rng } from '../rng.js';
import { assertObject, integer, numberInRange } from '../validate.js';
import { modelDtype } from './common.js';
import { Sequential, StageBuilder } from './sequential.js';
import type { DType } from '../tensor.js';

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

export class FullyConnectedNet extends Sequential {
  constructor(options: FullyConnectedNetOptions) {
    const fn = 'FullyConnectedNet';
    assertObject(fn, 'options', options);
    const { hiddenDims } = options;
    if (!Array.isArray(hiddenDims) || !hiddenDims.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ConvnetError(fn, `expected hiddenDims to be an array of positive integers, got ${show(hiddenDims)}`);
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
    const weightScale =
      options.weightScale === 'he' ? 'he' : numberInRange(fn, 'weightScale', options.weightScale, 0, Infinity, 1e-2, { low: true, high: true });
    const dtype = modelDtype(fn, options.dtype);
    const generator = rng(integer(fn, 'seed', options.seed, Number.MIN_SAFE_INTEGER, 0));

    const builder = new StageBuilder([...inputShape], dtype, weightScale, generator, fn);
    for (const hidden of hiddenDims) {
      builder.fc(hidden);
      if (normalization === 'batchnorm') builder.batchnorm();
      if (normalization === 'layernorm') builder.layernorm();
      builder.relu();
      if (keep < 1) builder.dropout(keep);
    }
    builder.fc(numClasses);
    super(builder.stages, builder.params, inputShape, dtype, reg, fn, builder.buffers);
  }
}
