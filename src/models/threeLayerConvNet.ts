/**
 * CS231n's three-layer convolutional network:
 *   conv (F filters k×k, stride 1, pad (k−1)/2) → relu → 2×2 max pool stride 2
 *   → affine (hidden) → relu → affine (classes) → softmax loss
 * on inputs (N, C, H, W).
 */
import { ConvnetError, show } from '../errors.js';
import { softmaxLoss } from '../layers/loss.js';
import { affineBackward, affineForward } from '../layers/affineFast.js';
import { rng } from '../rng.js';
import type { DType, Tensor } from '../tensor.js';
import { assertObject, integer, numberInRange } from '../validate.js';
import { affineReluBackward, affineReluForward, convReluPoolBackward, convReluPoolForward } from './sandwich.js';
import { addL2, checkBatch, filled, gaussian, modelDtype, type Classifier, type Gradients } from './common.js';

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

export class ThreeLayerConvNet implements Classifier {
  params: Record<string, Tensor>;
  readonly reg: number;
  readonly dtype: DType;
  readonly inputDim: [number, number, number];
  readonly filterSize: number;

  constructor(options: ThreeLayerConvNetOptions = {}) {
    const fn = 'ThreeLayerConvNet';
    assertObject(fn, 'options', options);
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
    const weightScale =
      options.weightScale === 'he' ? 'he' : numberInRange(fn, 'weightScale', options.weightScale, 0, Infinity, 1e-3, { low: true, high: true });
    const scaleFor = (fanIn: number): number => (weightScale === 'he' ? Math.sqrt(2 / fanIn) : weightScale);
    this.reg = numberInRange(fn, 'reg', options.reg, 0, Infinity, 0, { high: true });
    this.dtype = modelDtype(fn, options.dtype);
    const generator = rng(integer(fn, 'seed', options.seed, Number.MIN_SAFE_INTEGER, 0));
    this.inputDim = [C, H, W];
    this.filterSize = filterSize;
    const pooledSize = numFilters * Math.floor(H / 2) * Math.floor(W / 2);
    this.params = {
      W1: gaussian([numFilters, C, filterSize, filterSize], scaleFor(C * filterSize * filterSize), generator, this.dtype),
      b1: filled([numFilters], 0, this.dtype),
      W2: gaussian([pooledSize, hiddenDim], scaleFor(pooledSize), generator, this.dtype),
      b2: filled([hiddenDim], 0, this.dtype),
      W3: gaussian([hiddenDim, numClasses], scaleFor(hiddenDim), generator, this.dtype),
      b3: filled([numClasses], 0, this.dtype),
    };
  }

  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Int32Array | number[]): { loss: number; grads: Gradients };
  loss(X: Tensor, y?: Int32Array | number[]): Tensor | { loss: number; grads: Gradients } {
    checkBatch('ThreeLayerConvNet.loss', X, this.inputDim, this.dtype);
    const { W1, b1, W2, b2, W3, b3 } = this.params as Record<'W1' | 'b1' | 'W2' | 'b2' | 'W3' | 'b3', Tensor>;
    const convParam = { stride: 1, pad: (this.filterSize - 1) / 2 };
    const poolParam = { poolHeight: 2, poolWidth: 2, stride: 2 };

    const layer1 = convReluPoolForward(X, W1, b1, convParam, poolParam); // (N, F, H/2, W/2)
    const layer2 = affineReluForward(layer1.out, W2, b2); // (N, hidden)
    const layer3 = affineForward(layer2.out, W3, b3); // (N, classes)
    if (y === undefined) return layer3.out;

    const { loss: dataLoss, dx: dscores } = softmaxLoss(layer3.out, y);
    const d3 = affineBackward(dscores, layer3.cache);
    const d2 = affineReluBackward(d3.dx, layer2.cache);
    const d1 = convReluPoolBackward(d2.dx, layer1.cache);
    const grads: Gradients = { W1: d1.dw, b1: d1.db, W2: d2.dw, b2: d2.db, W3: d3.dw, b3: d3.db };
    const loss = addL2(dataLoss, this.reg, this.params, grads, ['W1', 'W2', 'W3']);
    return { loss, grads };
  }
}
