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

/**
 * Rotates each image by a random angle in [−maxDegrees, maxDegrees] and scales it by a random
 * factor in [1 − maxScale, 1 + maxScale], both about the image centre, resampling bilinearly
 * (zeros outside the source: the mean, for mean-subtracted data). Two draws per image, angle
 * first, whether or not either range is 0, so the stream does not depend on which is used.
 * Each output pixel (y, x) samples the source at the inverse map of its offset from the centre.
 */
export function randomAffine(maxDegrees: number, maxScale: number): Augmentation {
  if (typeof maxDegrees !== 'number' || !Number.isFinite(maxDegrees) || maxDegrees < 0 || maxDegrees > 180) {
    throw new ConvnetError('randomAffine', `expected maxDegrees to be a number from 0 to 180, got ${show(maxDegrees)}`);
  }
  if (typeof maxScale !== 'number' || !Number.isFinite(maxScale) || maxScale < 0 || maxScale >= 1) {
    throw new ConvnetError('randomAffine', `expected maxScale to be a fraction in [0, 1), got ${show(maxScale)}`);
  }
  return (X, generator) => {
    assertTensor('randomAffine', 'X', X, 4);
    const [N, C, H, W] = X.shape as [number, number, number, number];
    const out = allocate(X.dtype, X.data.length);
    const cy = (H - 1) / 2;
    const cx = (W - 1) / 2;
    for (let n = 0; n < N; n++) {
      const angle = ((2 * generator.uniform() - 1) * maxDegrees * Math.PI) / 180;
      const scale = 1 + (2 * generator.uniform() - 1) * maxScale;
      // Inverse map: source = R(−angle) · (target − centre) / scale + centre.
      const cos = Math.cos(angle) / scale;
      const sin = Math.sin(angle) / scale;
      for (let c = 0; c < C; c++) {
        const plane = (n * C + c) * H * W;
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            const ox = x - cx;
            const oy = y - cy;
            const sx = cos * ox + sin * oy + cx;
            const sy = -sin * ox + cos * oy + cy;
            const x0 = Math.floor(sx);
            const y0 = Math.floor(sy);
            const fx = sx - x0;
            const fy = sy - y0;
            let v = 0;
            // The four neighbours, each weighted by its bilinear share; those outside count as 0.
            if (y0 >= 0 && y0 < H) {
              if (x0 >= 0 && x0 < W) v += (1 - fy) * (1 - fx) * X.data[plane + y0 * W + x0]!;
              if (x0 + 1 >= 0 && x0 + 1 < W) v += (1 - fy) * fx * X.data[plane + y0 * W + x0 + 1]!;
            }
            if (y0 + 1 >= 0 && y0 + 1 < H) {
              if (x0 >= 0 && x0 < W) v += fy * (1 - fx) * X.data[plane + (y0 + 1) * W + x0]!;
              if (x0 + 1 >= 0 && x0 + 1 < W) v += fy * fx * X.data[plane + (y0 + 1) * W + x0 + 1]!;
            }
            out[plane + y * W + x] = v;
          }
        }
      }
    }
    return { shape: [...X.shape], data: out, dtype: X.dtype };
  };
}

/** Applies augmentations one after another. */
export function composeAugmentations(...steps: Augmentation[]): Augmentation {
  return (X, generator) => steps.reduce((batch, step) => step(batch, generator), X);
}
