/**
 * The implementation of each layer that models use: the fastest one available. Models import
 * from here so that switching an implementation is a one-line change.
 */
export { convForwardNaive as convForward, convBackwardNaive as convBackward } from './conv.js';
export { maxPoolForwardNaive as maxPoolForward, maxPoolBackwardNaive as maxPoolBackward } from './pool.js';
export { avgPoolForward, avgPoolBackward } from './pool.js';
export { affineForward, affineBackward } from './affine.js';
