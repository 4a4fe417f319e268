/** Dropout: inverted dropout around dropoutForward / dropoutBackward (keep = probability of keeping a unit). */
import { dropoutBackward, dropoutForward, type DropoutCache } from '../layers/dropout.js';
import type { Rng } from '../rng.js';
import type { Tensor } from '../tensor.js';
import { numberInRange } from '../validate.js';
import { assertConfig, Module, resolveInit, type InitOptions, type Mode, type ModuleConfig } from './module.js';

export interface DropoutOptions {
  /** Probability of keeping each unit, in (0, 1] (CS231n's p). */
  keep: number;
}

/** Train mode: x · mask / keep with a fresh mask per call; test mode: x. Any shape. */
export class Dropout extends Module {
  readonly type = 'Dropout';
  readonly keep: number;
  /** Where masks come from: a generator forked from the model's at construction, so runs repeat. */
  generator: Rng;
  /** When set, every mask is drawn from this seed instead (gradient checks need a fixed mask). */
  fixedSeed: number | null = null;
  private cache: DropoutCache | undefined;

  constructor(options: DropoutOptions, init?: InitOptions) {
    super();
    assertConfig('Dropout', options, ['keep']);
    this.keep = numberInRange('Dropout', 'keep', options.keep, 0, 1, undefined, { low: true });
    this.generator = resolveInit('Dropout', init).generator.fork();
  }

  get config(): ModuleConfig {
    return { type: this.type, keep: this.keep };
  }

  get label(): string {
    return `Dropout keep ${this.keep}`;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.cache = undefined;
    this.checkMode(mode);
    const source = this.fixedSeed === null ? { rng: this.generator } : { seed: this.fixedSeed };
    const { out, cache } = dropoutForward(x, { p: this.keep, mode, ...source });
    this.cache = cache;
    return out;
  }

  backward(dout: Tensor): Tensor {
    return dropoutBackward(dout, this.cacheOf(this.cache));
  }

  override releaseForward(): void {
    this.cache = undefined;
  }

  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
}
