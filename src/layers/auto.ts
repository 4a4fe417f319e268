/**
 * The implementation of each layer that models use and the package root exports under the
 * plain names: the fast ones (im2col + GEMM convolution, argmax-recording pools, GEMM affine),
 * which cover every valid configuration and are tested against the naive definitions.
 */
export { convForward, convBackward } from './convFast.js';
export { maxPoolForward, maxPoolBackward, avgPoolForwardFast as avgPoolForward, avgPoolBackwardFast as avgPoolBackward } from './poolFast.js';
export { affineForwardFast as affineForward, affineBackwardFast as affineBackward } from './affineFast.js';
