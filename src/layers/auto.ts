/**
 * The implementation of each layer that models use: the fastest one available (im2col + GEMM
 * convolution, argmax-recording pools, GEMM affine), each falling back to the naive layer for
 * parameters it does not cover. Models import from here so that switching is a one-line change.
 */
export { convForward, convBackward } from './convFast.js';
export { maxPoolForward, maxPoolBackward, avgPoolForwardFast as avgPoolForward, avgPoolBackwardFast as avgPoolBackward } from './poolFast.js';
export { affineForwardFast as affineForward, affineBackwardFast as affineBackward } from './affineFast.js';
