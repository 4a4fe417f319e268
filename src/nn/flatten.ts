/** Flatten: (N, d1, …, dk) → (N, d1·…·dk), ONNX's Flatten with axis 1. */
import { flattenBackward, flattenForward, type FlattenCache } from '../layers/reshape.js';
import { sizeOf, type Tensor } from '../tensor.js';
import { assertConfig, Module, type Mode, type ModuleConfig } from './module.js';

export class Flatten extends Module {
  readonly type = 'Flatten';
  private cache: FlattenCache | undefined;

  constructor(options: Record<string, never> = {}) {
    super();
    assertConfig('Flatten', options, []);
  }

  get config(): ModuleConfig {
    return { type: this.type };
  }

  get label(): string {
    return 'Flatten';
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const { out, cache } = flattenForward(x, 1);
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return flattenBackward(dout, this.cacheOf(this.cache));
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return [sizeOf(inputShape)];
  }
}
