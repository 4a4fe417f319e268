/**
 * Normalisation modules: batch norm (over features after a Linear, or spatial over channels after
 * a Conv2d), layer norm and group norm. gamma starts at ones and beta at zeros; batch norm's
 * running mean and variance are buffers that start at zeros (CS231n) and move by momentum
 * (the weight of the old value, default 0.9) at every training forward.
 */
import { ConvnetError } from '../errors.js';
import type { BatchnormCache, BatchnormParam } from '../layers/batchnorm.js';
import { batchnormBackward, batchnormForward, spatialBatchnormBackward, spatialBatchnormForward } from '../layers/batchnormFast.js';
import type { GroupnormCache } from '../layers/groupnorm.js';
import { spatialGroupnormBackward, spatialGroupnormForward } from '../layers/groupnormFast.js';
import { layernormBackward, layernormForward, type LayernormCache } from '../layers/layernorm.js';
import type { Tensor } from '../tensor.js';
import { integer, numberInRange } from '../validate.js';
import { assertConfig, filled, Module, resolveInit, showShape, type InitOptions, type Mode, type ModuleConfig } from './module.js';

export interface BatchNormOptions {
  /** Features (after a Linear) or channels (BatchNorm2d). */
  features: number;
  /** Added to the variance before the square root; default 1e-5. */
  eps?: number;
  /** Weight of the old running value in each update; default 0.9 (PyTorch's momentum 0.1). */
  momentum?: number;
}

/** A batch norm layer's forward and backward (plain or spatial). */
interface BatchnormLayer {
  forward: typeof batchnormForward;
  backward: typeof batchnormBackward;
}

/** What both batch norms share: parameters, buffers, options, and running their layer functions. */
abstract class BatchNormBase extends Module {
  readonly features: number;
  readonly eps: number;
  readonly momentum: number;
  private cache: BatchnormCache | undefined;

  constructor(
    fn: string,
    options: BatchNormOptions,
    init: InitOptions | undefined,
    private readonly layer: BatchnormLayer,
  ) {
    super();
    assertConfig(fn, options, ['features', 'eps', 'momentum']);
    this.features = integer(fn, 'features', options.features, 1);
    this.eps = numberInRange(fn, 'eps', options.eps, 0, Infinity, 1e-5, { low: true });
    this.momentum = numberInRange(fn, 'momentum', options.momentum, 0, 1, 0.9);
    const { dtype } = resolveInit(fn, init);
    this.params.gamma = filled(fn, 'gamma', [this.features], 1, dtype);
    this.params.beta = filled(fn, 'beta', [this.features], 0, dtype);
    this.buffers.runningMean = filled(fn, 'runningMean', [this.features], 0, dtype);
    this.buffers.runningVar = filled(fn, 'runningVar', [this.features], 0, dtype);
  }

  /** The layer function's parameter object, over this module's buffers (updated in place). */
  private bnParam(mode: Mode): BatchnormParam {
    return { mode, eps: this.eps, momentum: this.momentum, runningMean: this.buffers.runningMean!, runningVar: this.buffers.runningVar! };
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = this.layer.forward(x, this.params.gamma!, this.params.beta!, this.bnParam(mode));
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    const { dx, dgamma, dbeta } = this.layer.backward(dout, this.cacheOf(this.cache));
    this.grads.gamma = dgamma;
    this.grads.beta = dbeta;
    return dx;
  }

  get config(): ModuleConfig {
    return { type: this.type, features: this.features, eps: this.eps, momentum: this.momentum };
  }

  get label(): string {
    return `${this.type} ${this.features}`;
  }
}

/** Batch norm over the features of x: (N, D). */
export class BatchNorm extends BatchNormBase {
  readonly type = 'BatchNorm';

  constructor(options: BatchNormOptions, init?: InitOptions) {
    super('BatchNorm', options, init, { forward: batchnormForward, backward: batchnormBackward });
  }

  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 1 || inputShape[0] !== this.features) {
      throw new ConvnetError(this.type, `expected input of shape (${this.features}) (features), got ${showShape(inputShape)}`);
    }
    return [...inputShape];
  }
}

/** Spatial batch norm over the channels of x: (N, C, H, W), statistics over N, H and W. */
export class BatchNorm2d extends BatchNormBase {
  readonly type = 'BatchNorm2d';

  constructor(options: BatchNormOptions, init?: InitOptions) {
    super('BatchNorm2d', options, init, { forward: spatialBatchnormForward, backward: spatialBatchnormBackward });
  }

  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3 || inputShape[0] !== this.features) {
      throw new ConvnetError(this.type, `expected input of shape (${this.features}, H, W) (features = channels), got ${showShape(inputShape)}`);
    }
    return [...inputShape];
  }
}

export interface LayerNormOptions {
  features: number;
  /** default 1e-5 */
  eps?: number;
}

/** Layer norm over the features of each sample of x: (N, D). */
export class LayerNorm extends Module {
  readonly type = 'LayerNorm';
  readonly features: number;
  readonly eps: number;
  private cache: LayernormCache | undefined;

  constructor(options: LayerNormOptions, init?: InitOptions) {
    super();
    const fn = 'LayerNorm';
    assertConfig(fn, options, ['features', 'eps']);
    this.features = integer(fn, 'features', options.features, 1);
    this.eps = numberInRange(fn, 'eps', options.eps, 0, Infinity, 1e-5, { low: true });
    const { dtype } = resolveInit(fn, init);
    this.params.gamma = filled(fn, 'gamma', [this.features], 1, dtype);
    this.params.beta = filled(fn, 'beta', [this.features], 0, dtype);
  }

  get config(): ModuleConfig {
    return { type: this.type, features: this.features, eps: this.eps };
  }

  get label(): string {
    return `LayerNorm ${this.features}`;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = layernormForward(x, this.params.gamma!, this.params.beta!, { eps: this.eps });
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    const { dx, dgamma, dbeta } = layernormBackward(dout, this.cacheOf(this.cache));
    this.grads.gamma = dgamma;
    this.grads.beta = dbeta;
    return dx;
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 1 || inputShape[0] !== this.features) {
      throw new ConvnetError(this.type, `expected input of shape (${this.features}) (features), got ${showShape(inputShape)}`);
    }
    return [...inputShape];
  }
}

export interface GroupNormOptions {
  channels: number;
  /** Must divide channels. */
  groups: number;
  /** default 1e-5 */
  eps?: number;
}

/** Spatial group norm of x: (N, C, H, W), statistics per sample over each group of C / groups channels; gamma, beta (1, C, 1, 1). */
export class GroupNorm extends Module {
  readonly type = 'GroupNorm';
  readonly channels: number;
  readonly groups: number;
  readonly eps: number;
  private cache: GroupnormCache | undefined;

  constructor(options: GroupNormOptions, init?: InitOptions) {
    super();
    const fn = 'GroupNorm';
    assertConfig(fn, options, ['channels', 'groups', 'eps']);
    this.channels = integer(fn, 'channels', options.channels, 1);
    this.groups = integer(fn, 'groups', options.groups, 1);
    if (this.channels % this.groups !== 0) throw new ConvnetError(fn, `expected groups to divide the ${this.channels} channels, got ${this.groups}`);
    this.eps = numberInRange(fn, 'eps', options.eps, 0, Infinity, 1e-5, { low: true });
    const { dtype } = resolveInit(fn, init);
    this.params.gamma = filled(fn, 'gamma', [1, this.channels, 1, 1], 1, dtype);
    this.params.beta = filled(fn, 'beta', [1, this.channels, 1, 1], 0, dtype);
  }

  get config(): ModuleConfig {
    return { type: this.type, channels: this.channels, groups: this.groups, eps: this.eps };
  }

  get label(): string {
    return `GroupNorm ${this.channels} in ${this.groups} groups`;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = spatialGroupnormForward(x, this.params.gamma!, this.params.beta!, this.groups, { eps: this.eps });
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    const { dx, dgamma, dbeta } = spatialGroupnormBackward(dout, this.cacheOf(this.cache));
    this.grads.gamma = dgamma;
    this.grads.beta = dbeta;
    return dx;
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3 || inputShape[0] !== this.channels) {
      throw new ConvnetError(this.type, `expected input of shape (${this.channels}, H, W) (channels), got ${showShape(inputShape)}`);
    }
    return [...inputShape];
  }
}

