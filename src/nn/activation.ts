/** Element-wise activations: ReLU and leaky ReLU; tanh, sigmoid, GELU and ELU. */
import { leakyReluBackward, leakyReluForward, reluBackward, reluForward, type LeakyReluCache, type ReluCache } from '../layers/activations.js';
import {
  eluBackward,
  eluForward,
  geluBackward,
  geluForward,
  sigmoidBackward,
  sigmoidForward,
  tanhBackward,
  tanhForward,
  type EluCache,
  type GeluApproximate,
  type GeluCache,
  type SigmoidCache,
  type TanhCache,
} from '../layers/activations.js';
import { ConvnetError, show } from '../errors.js';
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

  override releaseForward(): void {
    this.cache = undefined;
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

  override releaseForward(): void {
    this.cache = undefined;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
}

/** tanh(x), any shape. */
export class Tanh extends Module {
  readonly type = 'Tanh';
  private cache: TanhCache | undefined;

  constructor(options: Record<string, never> = {}) {
    super();
    assertConfig('Tanh', options, []);
  }

  get config(): ModuleConfig {
    return { type: this.type };
  }

  get label(): string {
    return 'Tanh';
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = tanhForward(x);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return tanhBackward(dout, this.cacheOf(this.cache));
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
}

/** σ(x) = 1 / (1 + e^−x), any shape. */
export class Sigmoid extends Module {
  readonly type = 'Sigmoid';
  private cache: SigmoidCache | undefined;

  constructor(options: Record<string, never> = {}) {
    super();
    assertConfig('Sigmoid', options, []);
  }

  get config(): ModuleConfig {
    return { type: this.type };
  }

  get label(): string {
    return 'Sigmoid';
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = sigmoidForward(x);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return sigmoidBackward(dout, this.cacheOf(this.cache));
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
}

export interface GELUOptions {
  /** 'none' (default): x·Φ(x) with the exact erf; 'tanh': PyTorch's tanh approximation. */
  approximate?: GeluApproximate;
}

/** x·Φ(x), any shape. */
export class GELU extends Module {
  readonly type = 'GELU';
  readonly approximate: GeluApproximate;
  private cache: GeluCache | undefined;

  constructor(options: GELUOptions = {}) {
    super();
    assertConfig('GELU', options, ['approximate']);
    const approximate: unknown = options.approximate === undefined ? 'none' : options.approximate;
    if (approximate !== 'none' && approximate !== 'tanh') throw new ConvnetError('GELU', `expected approximate to be 'none' or 'tanh', got ${show(approximate)}`);
    this.approximate = approximate;
  }

  get config(): ModuleConfig {
    return { type: this.type, approximate: this.approximate };
  }

  get label(): string {
    return this.approximate === 'none' ? 'GELU' : 'GELU (tanh)';
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = geluForward(x, this.approximate);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return geluBackward(dout, this.cacheOf(this.cache));
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
}

export interface ELUOptions {
  /** The scale of the negative part, alpha·(e^x − 1); default 1 (PyTorch's). */
  alpha?: number;
}

/** x where x > 0, else alpha·(e^x − 1), any shape. */
export class ELU extends Module {
  readonly type = 'ELU';
  readonly alpha: number;
  private cache: EluCache | undefined;

  constructor(options: ELUOptions = {}) {
    super();
    assertConfig('ELU', options, ['alpha']);
    this.alpha = numberInRange('ELU', 'alpha', options.alpha, -Infinity, Infinity, 1);
  }

  get config(): ModuleConfig {
    return { type: this.type, alpha: this.alpha };
  }

  get label(): string {
    return `ELU ${this.alpha}`;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = eluForward(x, this.alpha);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return eluBackward(dout, this.cacheOf(this.cache));
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
}
