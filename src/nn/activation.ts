/** Element-wise activations: ReLU and leaky ReLU. */
import { leakyReluBackward, leakyReluForward, reluBackward, reluForward, type LeakyReluCache, type ReluCache } from '../layers/activations.js';
import type { Tensor } from '../tensor.js';
import { numberInRange } from '../validate.js';
import { assertConfig, Module, type Mode, type ModuleConfig } from './module.js';

/** max(x, 0), any shape. */
export class ReLU extends Module {
  readonly type = 'ReLU';
  private cache: ReluCache | undefined;

  constructor(options: Record<string, never> = {}) {
    super();
    assertConfig('ReLU', options, []);
  }

  get config(): ModuleConfig {
    return { type: this.type };
  }

  get label(): string {
    return 'ReLU';
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = reluForward(x);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return reluBackward(dout, this.cacheOf(this.cache));
  }

  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
}

export interface LeakyReLUOptions {
  /** The slope for x < 0; default 0.01 (PyTorch's). */
  alpha?: number;
}

/** x where x > 0, else alpha·x. */
export class LeakyReLU extends Module {
  readonly type = 'LeakyReLU';
  readonly alpha: number;
  private cache: LeakyReluCache | undefined;

  constructor(options: LeakyReLUOptions = {}) {
    super();
    assertConfig('LeakyReLU', options, ['alpha']);
    this.alpha = numberInRange('LeakyReLU', 'alpha', options.alpha, -Infinity, Infinity, 0.01);
  }

  get config(): ModuleConfig {
    return { type: this.type, alpha: this.alpha };
  }

  get label(): string {
    return `LeakyReLU ${this.alpha}`;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = leakyReluForward(x, this.alpha);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return leakyReluBackward(dout, this.cacheOf(this.cache));
  }

  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
}
