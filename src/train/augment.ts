/**
 * Data augmentation for image minibatches X: (N, C, H, W), to pass as the Solver's `augment`
 * option. Each function returns a new batch and never modifies X; randomness comes from the
 * generator the Solver passes in, so a seeded run stays reproducible.
 */
import { ConvnetError, show } from '../errors.js';
import type { Rng } from '../rng.js';
import { allocate, type Tensor } from '../tensor.js';
import { assertTensor } from '../validate.js';

export type Augmentation = (X: Tensor, generator: Rng) => Tensor;

/**
 * Translates each image by a random whole number of pixels in [−maxShift, maxShift] along each
 * axis, filling the uncovered border with zeros (the mean, for mean-subtracted data).
 */
export function randomShift(maxShift: number): Augmentation {
  if (!Number.isInteger(maxShift) || maxShift < 0) {
    throw new ConvnetError('randomShift', `expected maxShift to be a whole number >= 0, got ${show(maxShift)}`);
  }
  return (X, generator) => {
    assertTensor('randomShift', 'X', X, 4);
    const [N, C, H, W] = X.shape as [number, number, number, number];
    const out = allocate(X.dtype, X.data.length);
    for (let n = 0; n < N; n++) {
      const dy = generator.int(2 * maxShift + 1) - maxShift;
      const dx = generator.int(2 * maxShift + 1) - maxShift;
      for (let c = 0; c < C; c++) {
        const plane = (n * C + c) * H * W;
        for (let y = Math.max(0, dy); y < Math.min(H, H + dy); y++) {
          for (let x = Math.max(0, dx); x < Math.min(W, W + dx); x++) out[plane + y * W + x] = X.data[plane + (y - dy) * W + (x - dx)]!;
        }
      }
    }
    return { shape: [...X.shape], data: out, dtype: X.dtype };
  };
}

/** Mirrors each image left to right with probability 1/2 (for natural images such as CIFAR-10). */
export function randomFlip(): Augmentation {
  return (X, generator) => {
    assertTensor('randomFlip', 'X', X, 4);
    const [N, C, H, W] = X.shape as [number, number, number, number];
    const out = X.data.slice();
    for (let n = 0; n < N; n++) {
      if (generator.uniform() >= 0.5) continue;
      for (let row = 0; row < C * H; row++) {
        const base = (n * C * H + row) * W;
        for (let x = 0; x < W; x++) out[base + x] = X.data[base + W - 1 - x]!;
      }
    }
    return { shape: [...X.shape], data: out, dtype: X.dtype };
  };
}

/** Applies augmentations one after another. */
export function composeAugmentations(...steps: Augmentation[]): Augmentation {
  return (X, generator) => steps.reduce((batch, step) => step(batch, generator), X);
}
