/** Upsample: nearest or bilinear resizing around upsampleForward / upsampleBackward (no parameters). */
import { ConvnetError } from '../errors.js';
import { parseUpsampleParam, upsampleBackward, upsampleForward, upsampleOutputSize, type UpsampleCache, type UpsampleMode, type UpsampleParam, type UpsampleSpec } from '../layers/upsample.js';
import type { Tensor } from '../tensor.js';
import { assertConfig, Module, showShape, type Mode, type ModuleConfig } from './module.js';

/** The layer's parameter object: mode, and scaleFactor or size, and (bilinear) alignCorners. */
export type UpsampleOptions = UpsampleParam;

const OPTIONS = ['mode', 'scaleFactor', 'size', 'alignCorners'] as const;

/** x: (N, C, H, W) → (N, C, Ho, Wo), as PyTorch's nn.Upsample. */
export class Upsample extends Module {
  readonly type = 'Upsample';
  readonly mode: UpsampleMode;
  /** [h, w] factors, or undefined when a size is given. */
  readonly scaleFactor: [number, number] | undefined;
  /** [Ho, Wo], or undefined when a scale factor is given. */
  readonly size: [number, number] | undefined;
  readonly alignCorners: boolean;
  private readonly spec: UpsampleSpec;
  private cache: UpsampleCache | undefined;

  constructor(options: UpsampleOptions) {
    super();
    assertConfig('Upsample', options, OPTIONS);
    this.spec = parseUpsampleParam('Upsample', options, 'options');
    this.mode = this.spec.mode;
    this.scaleFactor = this.spec.factors;
    this.size = this.spec.size;
    this.alignCorners = this.spec.alignCorners;
  }

  /** The layer function's parameter object. */
  get upsampleParam(): UpsampleParam {
    const param: UpsampleParam = { mode: this.mode };
    if (this.scaleFactor !== undefined) param.scaleFactor = [...this.scaleFactor];
    if (this.size !== undefined) param.size = [...this.size];
    if (this.mode === 'bilinear') param.alignCorners = this.alignCorners;
    return param;
  }

  get config(): ModuleConfig {
    const { mode, scaleFactor, size, alignCorners } = this.upsampleParam;
    const config: ModuleConfig = { type: this.type, mode: mode! };
    if (scaleFactor !== undefined) config.scaleFactor = scaleFactor as [number, number];
    if (size !== undefined) config.size = size;
    if (alignCorners !== undefined) config.alignCorners = alignCorners;
    return config;
  }

  get label(): string {
    const pair = (p: [number, number]): string => (p[0] === p[1] ? String(p[0]) : p.join('×'));
    const how = this.size !== undefined ? `to ${this.size.join('×')}` : `×${pair(this.scaleFactor!)}`;
    return `Upsample ${this.mode} ${how}${this.alignCorners ? ', align corners' : ''}`;
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = upsampleForward(x, this.upsampleParam);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return upsampleBackward(dout, this.cacheOf(this.cache));
  }

  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 3) throw new ConvnetError(this.type, `expected input of shape (C, H, W), got ${showShape(inputShape)}`);
    const [C, H, W] = inputShape as [number, number, number];
    return [C, ...upsampleOutputSize(this.type, H, W, this.spec)];
  }
}
