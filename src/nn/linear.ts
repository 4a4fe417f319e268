/** Linear: an affine layer's parameters around affineForward / affineBackward (CS231n's layout). */
import { ConvnetError } from '../errors.js';
import type { AffineCache } from '../layers/affine.js';
import { affineBackward, affineForward } from '../layers/affineFast.js';
import { sizeOf, type Tensor } from '../tensor.js';
import { integer } from '../validate.js';
import { assertConfig, filled, gaussian, Module, resolveInit, showShape, type InitOptions, type Mode, type ModuleConfig } from './module.js';

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
}

/**
 * x: (N, d1, …, dk) with d1·…·dk = inFeatures (flattened, as CS231n's affine) → (N, outFeatures).
 * weight (inFeatures, outFeatures) — CS231n's x·W, the transpose of PyTorch's nn.Linear — and bias (outFeatures).
 */
export class Linear extends Module {
  readonly type = 'Linear';
  override readonly decayed = ['weight'] as const;
  readonly inFeatures: number;
  readonly outFeatures: number;
  private cache: AffineCache | undefined;

  constructor(options: LinearOptions, init?: InitOptions) {
    super();
    const fn = 'Linear';
    assertConfig(fn, options, ['inFeatures', 'outFeatures']);
    this.inFeatures = integer(fn, 'inFeatures', options.inFeatures, 1);
    this.outFeatures = integer(fn, 'outFeatures', options.outFeatures, 1);
    const resolved = resolveInit(fn, init);
    this.params.weight = gaussian(fn, 'weight', [this.inFeatures, this.outFeatures], this.inFeatures, resolved);
    this.params.bias = filled(fn, 'bias', [this.outFeatures], 0, resolved.dtype);
  }

  get config(): ModuleConfig {
    return { type: this.type, inFeatures: this.inFeatures, outFeatures: this.outFeatures };
  }

  get label(): string {
    return `Linear ${this.inFeatures}→${this.outFeatures}`;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = affineForward(x, this.params.weight!, this.params.bias!);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    const { dx, dw, db } = affineBackward(dout, this.cacheOf(this.cache));
    this.grads.weight = dw;
    this.grads.bias = db;
    return dx;
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length < 1 || sizeOf(inputShape) !== this.inFeatures) {
      throw new ConvnetError('Linear', `expected input of ${this.inFeatures} features (inFeatures), got ${showShape(inputShape)}`);
    }
    return [this.outFeatures];
  }
}
