/**
 * Seeded randomness. Every random number convnet draws (weight initialisation, dropout masks,
 * minibatch sampling, gradient-check directions) comes from an Rng, so the same seed gives the
 * same run on every machine.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128 bits of
 * state, passes PractRand to large sizes), seeded through splitmix32 so that nearby seeds give
 * unrelated streams.
 */
import { ConvnetError, show } from './errors.js';

export interface Rng {
  /** The seed this generator was made from. */
  readonly seed: number;
  /** A uniform float in [0, 1) with 32 random bits. */
  uniform(): number;
  /** A uniform float in [low, high). */
  uniformRange(low: number, high: number): number;
  /** A standard normal sample (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number;
  /** A uniform integer in [0, n). */
  int(n: number): number;
  /** A new Rng whose stream is independent of this one's later draws. */
  fork(): Rng;
  /** Everything that determines the next draws (plain JSON), for checkpoints. */
  getState(): RngState;
  /** Continues from a state getState returned (of any generator): the same draws follow. */
  setState(state: RngState): void;
}

/** An Rng's position in its stream: sfc32's four words and the Box–Muller spare (null when none). */
export interface RngState {
  words: [number, number, number, number];
  spare: number | null;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Makes a seeded generator. The seed must be a finite integer (negative seeds are allowed). */
export function rng(seed: number): Rng {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new ConvnetError('rng', `expected an integer seed, got ${show(seed)}`);
  }
  // Fold a seed of up to 53 bits into the 32-bit splitmix state.
  const low = seed >>> 0;
  const high = Math.floor(seed / 4294967296) >>> 0;
  const mix = splitmix32(low ^ Math.imul(high, 0x27d4eb2d));
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix() | 1;
  const next32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Warm up so that the first outputs do not reflect the seeding.
  for (let i = 0; i < 12; i++) next32();

  let spare: number | undefined;
  const generator: Rng = {
    seed,
    uniform: () => next32() / 4294967296,
    uniformRange: (low, high) => low + (high - low) * (next32() / 4294967296),
    normal: () => {
      if (spare !== undefined) {
        const value = spare;
        spare = undefined;
        return value;
      }
      // u1 in (0, 1] so that log(u1) is finite.
      const u1 = (next32() + 1) / 4294967296;
      const u2 = next32() / 4294967296;
      const radius = Math.sqrt(-2 * Math.log(u1));
      spare = radius * Math.sin(2 * Math.PI * u2);
      return radius * Math.cos(2 * Math.PI * u2);
    },
    int: (n) => {
      if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
        throw new ConvnetError('Rng.int', `expected an integer n in [1, 2^32], got ${show(n)}`);
      }
      return Math.floor((next32() / 4294967296) * n);
    },
    fork: () => rng(next32() * 2097152 + (next32() >>> 11)),
    getState: () => ({ words: [a, b, c, d], spare: spare ?? null }),
    setState: (state) => {
      const words = (state as Partial<RngState> | null)?.words;
      const s = (state as Partial<RngState> | null)?.spare;
      if (!Array.isArray(words) || words.length !== 4 || !words.every((w) => Number.isInteger(w) && w >= -2147483648 && w <= 4294967295)) {
        throw new ConvnetError('Rng.setState', `expected { words: four 32-bit integers, spare }, got ${show(state)}`);
      }
      if (s !== null && s !== undefined && (typeof s !== 'number' || !Number.isFinite(s))) throw new ConvnetError('Rng.setState', `expected spare to be a finite number or null, got ${show(s)}`);
      [a, b, c, d] = words.map((w) => w | 0) as [number, number, number, number];
      spare = s ?? undefined;
    },
  };
  return generator;
}

/** Shuffles indices 0..n-1 with Fisher–Yates and returns them. */
export function permutation(n: number, generator: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = generator.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}
