/** Conv2d: a convolution layer's parameters around convForward / convBackward. */
import { ConvnetError } from '../errors.js';
import type { ConvCache, ConvParam } from '../layers/conv.js';
import { convBackward, convForward } from '../layers/convFast.js';
import { outputLength } from '../layers/geometry.js';
import type { Tensor } from '../tensor.js';
import { integer, intPair, pads4 } from '../validate.js';
import { assertConfig, filled, gaussian, Module, resolveInit, showShape, type InitOptions, type Mode, type ModuleConfig } from './module.js';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  /** A number or [h, w]. */
  kernelSize: number | [number, number];
  /** A number or [h, w]; default 1. */
  stride?: number | [number, number];
  /** A number, [h, w] or [top, left, bottom, right]; default 0. */
  pad?: number | [number, number] | [number, number, number, number];
  /** A number or [h, w]; default 1. */
  dilation?: number | [number, number];
  /** Channel groups (inChannels and outChannels both multiples); default 1. */
  groups?: number;
}

const OPTIONS = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'pad', 'dilation', 'groups'] as const;

/** x: (N, C, H, W) → (N, F, Ho, Wo); weight (F, C / groups, kH, kW), bias (F). */
export class Conv2d extends Module {
  readonly type = 'Conv2d';
  override readonly decayed = ['weight'] as const;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly pad: [number, number, number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  private cache: ConvCache | undefined;

  constructor(options: Conv2dOptions, init?: InitOptions) {
    super();
    const fn = 'Conv2d';
    assertConfig(fn, options, OPTIONS);
    this.inChannels = integer(fn, 'inChannels', options.inChannels, 1);
    this.outChannels = integer(fn, 'outChannels', options.outChannels, 1);
    if (options.kernelSize === undefined) throw new ConvnetError(fn, 'expected kernelSize to be an integer >= 1 or an [h, w] pair of them, got undefined');
    this.kernelSize = intPair(fn, 'kernelSize', options.kernelSize, 1, 1);
    this.stride = intPair(fn, 'stride', options.stride, 1, 1);
    this.pad = pads4(fn, 'pad', options.pad);
    this.dilation = intPair(fn, 'dilation', options.dilation, 1, 1);
    this.groups = integer(fn, 'groups', options.groups, 1, 1);
    if (this.inChannels % this.groups !== 0 || this.outChannels % this.groups !== 0) {
      throw new ConvnetError(fn, `expected groups to divide inChannels (${this.inChannels}) and outChannels (${this.outChannels}), got ${this.groups}`);
    }
    const resolved = resolveInit(fn, init);
    const perGroup = this.inChannels / this.groups;
    const [kH, kW] = this.kernelSize;
    this.params.weight = gaussian(fn, 'weight', [this.outChannels, perGroup, kH, kW], perGroup * kH * kW, resolved);
    this.params.bias = filled(fn, 'bias', [this.outChannels], 0, resolved.dtype);
  }

  /** The layer function's parameter object. */
  get convParam(): ConvParam {
    return { stride: [...this.stride], pad: [...this.pad], dilation: [...this.dilation], groups: this.groups };
  }

  get config(): ModuleConfig {
    return {
      type: this.type,
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: [...this.kernelSize],
      stride: [...this.stride],
      pad: [...this.pad],
      dilation: [...this.dilation],
      groups: this.groups,
    };
  }

  get label(): string {
    const [kH, kW] = this.kernelSize;
    const parts = [`${this.inChannels}→${this.outChannels}`, `${kH}×${kW}`];
    if (this.stride.some((s) => s !== 1)) parts.push(`stride ${this.stride[0] === this.stride[1] ? this.stride[0] : this.stride.join('×')}`);
    if (this.pad.some((p) => p !== 0)) parts.push(`pad ${this.pad.every((p) => p === this.pad[0]) ? this.pad[0] : this.pad.join(',')}`);
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation ${this.dilation.join('×')}`);
    if (this.groups !== 1) parts.push(`groups ${this.groups}`);
    return `Conv2d ${parts.join(', ')}`;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = convForward(x, this.params.weight!, this.params.bias!, this.convParam);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    const { dx, dw, db } = convBackward(dout, this.cacheOf(this.cache));
    this.grads.weight = dw;
    this.grads.bias = db;
    return dx;
  }

  /** Sets the gradients a fused call (conv → relu → pool in one kernel call) computed for this layer. */
  setGradients(dw: Tensor, db: Tensor): void {
    this.grads.weight = dw;
    this.grads.bias = db;
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  outputShape(inputShape: readonly number[]): number[] {
    const fn = 'Conv2d';
    if (inputShape.length !== 3 || inputShape[0] !== this.inChannels) {
      throw new ConvnetError(fn, `expected input of shape (${this.inChannels}, H, W), got ${showShape(inputShape)}`);
    }
    const [, H, W] = inputShape as [number, number, number];
    const [kH, kW] = this.kernelSize;
    const [top, left, bottom, right] = this.pad;
    const Ho = outputLength(fn, 'height', H, kH, this.stride[0], top, bottom, this.dilation[0]);
    const Wo = outputLength(fn, 'width', W, kW, this.stride[1], left, right, this.dilation[1]);
    return [this.outChannels, Ho, Wo];
  }
}
