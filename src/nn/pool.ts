/** Pooling modules: max and average pooling over windows, and global pooling over each plane. */
import { ConvnetError } from '../errors.js';
import { outputLength } from '../layers/geometry.js';
import {
  globalAvgPoolBackward,
  globalAvgPoolForward,
  globalMaxPoolBackward,
  globalMaxPoolForward,
  type AvgPoolCache,
  type AvgPoolParam,
  type GlobalPoolCache,
  type MaxPoolCache,
  type PoolParam,
} from '../layers/pool.js';
import { avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward, type MaxPoolFastCache } from '../layers/poolFast.js';
import type { Tensor } from '../tensor.js';
import { intPair, pads4 } from '../validate.js';
import { assertConfig, Module, showShape, type Mode, type ModuleConfig } from './module.js';

export interface Pool2dOptions {
  /** A number or [h, w]. */
  kernelSize: number | [number, number];
  /** A number or [h, w]; default the kernel size. */
  stride?: number | [number, number];
  /** A number, [h, w] or [top, left, bottom, right]; default 0. */
  pad?: number | [number, number] | [number, number, number, number];
  /** A number or [h, w]; default 1. */
  dilation?: number | [number, number];
  /** Round the output size up (PyTorch's ceil_mode); default false. */
  ceilMode?: boolean;
}

const POOL_OPTIONS = ['kernelSize', 'stride', 'pad', 'dilation', 'ceilMode'] as const;

/** The window options both pools share, validated and normalised. */
abstract class Pool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly pad: [number, number, number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;

  constructor(fn: string, options: Pool2dOptions, extra: readonly string[]) {
    super();
    assertConfig(fn, options, [...POOL_OPTIONS, ...extra]);
    if (options.kernelSize === undefined) throw new ConvnetError(fn, 'expected kernelSize to be an integer >= 1 or an [h, w] pair of them, got undefined');
    this.kernelSize = intPair(fn, 'kernelSize', options.kernelSize, 1, 1);
    this.stride = options.stride === undefined ? [...this.kernelSize] : intPair(fn, 'stride', options.stride, 1, 1);
    this.pad = pads4(fn, 'pad', options.pad);
    this.dilation = intPair(fn, 'dilation', options.dilation, 1, 1);
    if (options.ceilMode !== undefined && typeof options.ceilMode !== 'boolean') throw new ConvnetError(fn, `expected ceilMode to be a boolean, got ${String(options.ceilMode)}`);
    this.ceilMode = options.ceilMode ?? false;
  }

  /** The layer function's parameter object. */
  get poolParam(): PoolParam {
    return {
      poolHeight: this.kernelSize[0],
      poolWidth: this.kernelSize[1],
      stride: [...this.stride],
      pad: [...this.pad],
      dilation: [...this.dilation],
      ceilMode: this.ceilMode,
    };
  }

  protected windowConfig(): ModuleConfig {
    return { type: this.type, kernelSize: [...this.kernelSize], stride: [...this.stride], pad: [...this.pad], dilation: [...this.dilation], ceilMode: this.ceilMode };
  }

  protected windowLabel(): string {
    const [kH, kW] = this.kernelSize;
    const parts = [`${kH}×${kW}`];
    if (this.stride[0] !== kH || this.stride[1] !== kW) parts.push(`stride ${this.stride[0] === this.stride[1] ? this.stride[0] : this.stride.join('×')}`);
    if (this.pad.some((p) => p !== 0)) parts.push(`pad ${this.pad.every((p) => p === this.pad[0]) ? this.pad[0] : this.pad.join(',')}`);
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation ${this.dilation.join('×')}`);
    if (this.ceilMode) parts.push('ceil');
    return `${this.type} ${parts.join(', ')}`;
  }

  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new ConvnetError(this.type, `expected input of shape (C, H, W), got ${showShape(inputShape)}`);
    const [C, H, W] = inputShape as [number, number, number];
    const [top, left, bottom, right] = this.pad;
    const Ho = outputLength(this.type, 'height', H, this.kernelSize[0], this.stride[0], top, bottom, this.dilation[0], this.ceilMode);
    const Wo = outputLength(this.type, 'width', W, this.kernelSize[1], this.stride[1], left, right, this.dilation[1], this.ceilMode);
    return [C, Ho, Wo];
  }
}

/** x: (N, C, H, W) → (N, C, Ho, Wo): each window's maximum. */
export class MaxPool2d extends Pool2d {
  readonly type = 'MaxPool2d';
  private cache: MaxPoolFastCache | undefined;

  constructor(options: Pool2dOptions) {
    super('MaxPool2d', options, []);
  }

  get config(): ModuleConfig {
    return this.windowConfig();
  }

  get label(): string {
    return this.windowLabel();
  }

  /** A 2×2 window at stride 2 without padding, dilation or ceil mode (what the fused conv kernel pools). */
  get isPlain2x2(): boolean {
    return this.kernelSize.every((k) => k === 2) && this.stride.every((s) => s === 2) && this.pad.every((p) => p === 0) && this.dilation.every((d) => d === 1) && !this.ceilMode;
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = maxPoolForward(x, this.poolParam);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return maxPoolBackward(dout, this.cacheOf(this.cache));
  }
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Divide by the whole window (true, PyTorch's default) or by its cells inside the input (false). */
  countIncludePad?: boolean;
}

/** x: (N, C, H, W) → (N, C, Ho, Wo): each window's mean. */
export class AvgPool2d extends Pool2d {
  readonly type = 'AvgPool2d';
  readonly countIncludePad: boolean;
  private cache: AvgPoolCache | undefined;

  constructor(options: AvgPool2dOptions) {
    super('AvgPool2d', options, ['countIncludePad']);
    if (options.countIncludePad !== undefined && typeof options.countIncludePad !== 'boolean') {
      throw new ConvnetError('AvgPool2d', `expected countIncludePad to be a boolean, got ${String(options.countIncludePad)}`);
    }
    this.countIncludePad = options.countIncludePad ?? true;
  }

  get config(): ModuleConfig {
    return { ...this.windowConfig(), countIncludePad: this.countIncludePad };
  }

  get label(): string {
    return `${this.windowLabel()}${this.pad.some((p) => p !== 0) && !this.countIncludePad ? ', padding not counted' : ''}`;
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const param: AvgPoolParam = { ...this.poolParam, countIncludePad: this.countIncludePad };
    const { out, cache } = avgPoolForward(x, param);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return avgPoolBackward(dout, this.cacheOf(this.cache));
  }
}

/** x: (N, C, H, W) → (N, C, 1, 1): each plane's mean. */
export class GlobalAvgPool extends Module {
  readonly type = 'GlobalAvgPool';
  private cache: GlobalPoolCache | undefined;

  constructor(options: Record<string, never> = {}) {
    super();
    assertConfig('GlobalAvgPool', options, []);
  }

  get config(): ModuleConfig {
    return { type: this.type };
  }

  get label(): string {
    return 'GlobalAvgPool';
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = globalAvgPoolForward(x);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return globalAvgPoolBackward(dout, this.cacheOf(this.cache));
  }

  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new ConvnetError(this.type, `expected input of shape (C, H, W), got ${showShape(inputShape)}`);
    return [inputShape[0]!, 1, 1];
  }
}

/** x: (N, C, H, W) → (N, C, 1, 1): each plane's maximum. */
export class GlobalMaxPool extends Module {
  readonly type = 'GlobalMaxPool';
  private cache: MaxPoolCache | undefined;

  constructor(options: Record<string, never> = {}) {
    super();
    assertConfig('GlobalMaxPool', options, []);
  }

  get config(): ModuleConfig {
    return { type: this.type };
  }

  get label(): string {
    return 'GlobalMaxPool';
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = globalMaxPoolForward(x);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return globalMaxPoolBackward(dout, this.cacheOf(this.cache));
  }

  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new ConvnetError(this.type, `expected input of shape (C, H, W), got ${showShape(inputShape)}`);
    return [inputShape[0]!, 1, 1];
  }
}
