/**
 * CS231n's three-layer convolutional network:
 *   conv (F filters k×k, stride 1, pad (k−1)/2) → relu → 2×2 max pool stride 2
 *   → affine (hidden) → relu → affine (classes) → softmax loss
 * on inputs (N, C, H, W); parameters W1, b1 (conv), W2, b2, W3, b3 (affine).
 */
import { ConvnetError, show } from '../errors.js';
import { ReLU } from '../nn/activation.js';
import { Sequential } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import { Linear } from '../nn/linear.js';
import { MaxPool2d } from '../nn/pool.js';
import { rng } from '../rng.js';
import type { DType } from '../tensor.js';
import { assertObject, integer, numberInRange } from '../validate.js';
import { assertKnownOptions, modelDtype } from './common.js';
import type { ModelConfig } from './model.js';
import { Network } from './network.js';

export interface ThreeLayerConvNetOptions {
  /** (C, H, W) of one input; default [3, 32, 32]. */
  inputDim?: [number, number, number];
  numFilters?: number;
  /** Odd, so that the "same" padding (k − 1) / 2 keeps H and W. */
  filterSize?: number;
  hiddenDim?: number;
  numClasses?: number;
  /** weightScale · N(0, 1) for every weight (CS231n, default 1e-3), or 'he': √(2 / fan-in) per layer. */
  weightScale?: number | 'he';
  reg?: number;
  dtype?: DType;
  seed?: number;
}

export class ThreeLayerConvNet extends Network {
  readonly inputDim: [number, number, number];
  readonly filterSize: number;
  private readonly options: Required<ThreeLayerConvNetOptions>;

  constructor(options: ThreeLayerConvNetOptions = {}) {
    const fn = 'ThreeLayerConvNet';
    assertObject(fn, 'options', options);
    assertKnownOptions(fn, options, ['inputDim', 'numFilters', 'filterSize', 'hiddenDim', 'numClasses', 'weightScale', 'reg', 'dtype', 'seed']);
    const inputDim = options.inputDim ?? [3, 32, 32];
    if (!Array.isArray(inputDim) || inputDim.length !== 3 || !inputDim.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ConvnetError(fn, `expected inputDim to be [C, H, W] of positive integers, got ${show(inputDim)}`);
    }
    const [C, H, W] = inputDim;
    if (H < 2 || W < 2) throw new ConvnetError(fn, `expected H and W of at least 2 for the 2×2 pool, got inputDim ${show(inputDim)}`);
    const numFilters = integer(fn, 'numFilters', options.numFilters, 1, 32);
    const filterSize = integer(fn, 'filterSize', options.filterSize, 1, 7);
    if (filterSize % 2 !== 1) throw new ConvnetError(fn, `expected an odd filterSize (for "same" padding), got ${filterSize}`);
    const hiddenDim = integer(fn, 'hiddenDim', options.hiddenDim, 1, 100);
    const numClasses = integer(fn, 'numClasses', options.numClasses, 2, 10);
    const weightScale: number | 'he' =
      options.weightScale === 'he' ? 'he' : numberInRange(fn, 'weightScale', options.weightScale, 0, Infinity, 1e-3, { low: true, high: true });
    const reg = numberInRange(fn, 'reg', options.reg, 0, Infinity, 0, { high: true });
    const dtype = modelDtype(fn, options.dtype);
    const seed = integer(fn, 'seed', options.seed, Number.MIN_SAFE_INTEGER, 0);
    const init = { dtype, weightScale, generator: rng(seed) };
    const pooledSize = numFilters * Math.floor(H / 2) * Math.floor(W / 2);
    const layers = new Sequential([
      new Conv2d({ inChannels: C, outChannels: numFilters, kernelSize: filterSize, pad: (filterSize - 1) / 2 }, init),
      new ReLU(),
      new MaxPool2d({ kernelSize: 2 }),
      new Linear({ inFeatures: pooledSize, outFeatures: hiddenDim }, init),
      new ReLU(),
      new Linear({ inFeatures: hiddenDim, outFeatures: numClasses }, init),
    ]);
    super({ module: layers, inputShape: [C, H, W], reg, name: fn });
    this.inputDim = [C, H, W];
    this.filterSize = filterSize;
    this.options = { inputDim: [C, H, W], numFilters, filterSize, hiddenDim, numClasses, weightScale, reg, dtype, seed };
  }

  override get config(): ModelConfig {
    const o = this.options;
    return { kind: 'ThreeLayerConvNet', inputDim: [...o.inputDim], numFilters: o.numFilters, filterSize: o.filterSize, hiddenDim: o.hiddenDim, numClasses: o.numClasses, weightScale: o.weightScale, reg: o.reg, dtype: o.dtype, seed: o.seed };
  }
}
