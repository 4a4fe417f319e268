/**
 * Class visualisation (Simonyan et al. 2014, with Yosinski et al.'s regularisers; CS231n's
 * NetworkVisualization): an image, grown from noise by gradient ascent, that the model scores
 * highly as one class. What the network has learned to look for.
 */
import { ConvnetError, show } from '../errors.js';
import { rng } from '../rng.js';
import { allocate, type Tensor } from '../tensor.js';
import { integer, numberInRange } from '../validate.js';
import { checkClass, clipper, norm, oneHot, type InputBounds, type VizModel } from './common.js';

export interface ClassVisualizationOptions {
  /** Gradient steps; default 100 (CS231n's). */
  iterations?: number;
  /** Seed of the starting noise and the jitter; default 0. */
  seed?: number;
  /** ‖ΔX‖ per step (the gradient is normalised, as in CS231n); default 1. */
  learningRate?: number;
  /** The ascent is on score − l2Reg·‖X‖²; default 1e-3 (CS231n's). */
  l2Reg?: number;
  /** Blur every this many steps (and at step 0); 0 never; default 10 (CS231n's). */
  blurEvery?: number;
  /** The blur's Gaussian standard deviation in pixels; default 0.5 (CS231n's). */
  blurSigma?: number;
  /** Largest random shift, in pixels, before each step; default max(1, round(min(H, W) / 14)) (CS231n's 16 for 224). */
  maxJitter?: number;
  /** Standard deviation of the starting noise; default 0.01. */
  initScale?: number;
  /** Keep the image within valid inputs (see InputBounds); default: no limit. */
  clip?: InputBounds;
}

export interface ClassVisualizationResult {
  /** (1, C, H, W) in the model's dtype. */
  image: Tensor;
  /** The test-mode class scores (numClasses) of `image`. */
  scores: number[];
}

/**
 * CS231n's loop: start from small noise; each step roll the image by a random (ox, oy) in
 * [0, maxJitter]², take a normalised gradient-ascent step on scores[target] − l2Reg·‖X‖², roll
 * back, clip, and every blurEvery steps blur it a little. The jitter and blur keep the image
 * from collapsing into high-frequency patterns that only this network's pixels respond to.
 */
export function classVisualization(model: VizModel, target: number, options: ClassVisualizationOptions = {}): ClassVisualizationResult {
  const fn = 'classVisualization';
  checkClass(fn, 'target', target, model.numClasses);
  if (options === null || typeof options !== 'object') throw new ConvnetError(fn, `expected an options object, got ${show(options)}`);
  const shape = model.inputShape;
  if (shape.length !== 3) throw new ConvnetError(fn, `expected a model of images (C, H, W), got input shape ${show(shape)}`);
  const [C, H, W] = shape as [number, number, number];
  const iterations = integer(fn, 'iterations', options.iterations, 0, 100);
  const seed = integer(fn, 'seed', options.seed, Number.MIN_SAFE_INTEGER, 0);
  const learningRate = numberInRange(fn, 'learningRate', options.learningRate, 0, Infinity, 1, { low: true, high: true });
  const l2Reg = numberInRange(fn, 'l2Reg', options.l2Reg, 0, Infinity, 1e-3, { high: true });
  const blurEvery = integer(fn, 'blurEvery', options.blurEvery, 0, 10);
  const blurSigma = numberInRange(fn, 'blurSigma', options.blurSigma, 0, Infinity, 0.5, { low: true, high: true });
  const maxJitter = integer(fn, 'maxJitter', options.maxJitter, 0, Math.max(1, Math.round(Math.min(H, W) / 14)));
  const initScale = numberInRange(fn, 'initScale', options.initScale, 0, Infinity, 0.01, { high: true });
  const clip = clipper(fn, options.clip, C * H * W);

  const generator = rng(seed);
  const image: Tensor = { shape: [1, C, H, W], data: allocate(model.dtype, C * H * W), dtype: model.dtype };
  for (let i = 0; i < image.data.length; i++) image.data[i] = initScale * generator.normal();
  const dscores = oneHot([target], model.numClasses, model.dtype);
  for (let t = 0; t < iterations; t++) {
    const ox = generator.int(maxJitter + 1);
    const oy = generator.int(maxJitter + 1);
    roll(image.data, C, H, W, oy, ox);
    // ∂(score − l2Reg·‖X‖²)/∂X = ∂score/∂X − 2·l2Reg·X
    const g = model.inputGradient(image, dscores).data;
    for (let i = 0; i < g.length; i++) g[i] = g[i]! - 2 * l2Reg * image.data[i]!;
    const length = norm(g);
    if (length > 0) for (let i = 0; i < g.length; i++) image.data[i] += (learningRate * g[i]!) / length;
    roll(image.data, C, H, W, -oy, -ox);
    clip?.(image.data);
    if (blurEvery > 0 && t % blurEvery === 0) gaussianBlur(image.data, C, H, W, blurSigma);
  }
  const scores = Array.from(model.forward(image, { mode: 'test' }).data);
  return { image, scores };
}

/** Rolls each (H, W) plane of data (C, H, W) in place by dy rows and dx columns, wrapping around (numpy's roll). */
export function roll(data: { [i: number]: number; length: number }, C: number, H: number, W: number, dy: number, dx: number): void {
  const plane = new Float64Array(H * W);
  for (let c = 0; c < C; c++) {
    const base = c * H * W;
    for (let i = 0; i < H * W; i++) plane[i] = data[base + i]!;
    for (let y = 0; y < H; y++) {
      const ty = (((y + dy) % H) + H) % H;
      for (let x = 0; x < W; x++) data[base + ty * W + ((((x + dx) % W) + W) % W)] = plane[y * W + x]!;
    }
  }
}

/**
 * Separable Gaussian blur of each (H, W) plane of data (C, H, W) in place, as scipy's
 * gaussian_filter1d along both axes (CS231n's blur_image): radius ⌈4σ⌉, edges mirrored about
 * the pixel edge (d c b a | a b c d | d c b a).
 */
export function gaussianBlur(data: { [i: number]: number; length: number }, C: number, H: number, W: number, sigma: number): void {
  const radius = Math.max(1, Math.ceil(4 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let k = -radius; k <= radius; k++) sum += kernel[k + radius] = Math.exp(-(k * k) / (2 * sigma * sigma));
  for (let k = 0; k < kernel.length; k++) kernel[k] /= sum;
  const reflect = (i: number, n: number): number => {
    // Half-sample symmetric: −1 → 0, n → n − 1; repeated for offsets beyond one period.
    const period = 2 * n;
    const m = ((i % period) + period) % period;
    return m < n ? m : period - 1 - m;
  };
  const tmp = new Float64Array(H * W);
  for (let c = 0; c < C; c++) {
    const base = c * H * W;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) acc += kernel[k + radius]! * data[base + y * W + reflect(x + k, W)]!;
        tmp[y * W + x] = acc;
      }
    }
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) acc += kernel[k + radius]! * tmp[reflect(y + k, H) * W + x]!;
        data[base + y * W + x] = acc;
      }
    }
  }
}
