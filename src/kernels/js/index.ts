/**
 * The pure-JavaScript kernels: the reference fast backend, and the fallback wherever no other
 * backend is available.
 */
import type { Kernels } from '../types.js';
import { adamStep, add, fillCols, fillRows, reluBackward, reluForward, sumCols, sumRows } from './elementwise.js';
import { gemm } from './gemm.js';
import { col2im, im2col } from './im2col.js';
import { channelAffine, channelMoments, channelSums } from './norm.js';
import { avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward } from './pool.js';

export const jsKernels: Kernels = Object.freeze({
  name: 'js',
  gemm,
  im2col,
  col2im,
  maxPoolForward,
  maxPoolBackward,
  avgPoolForward,
  avgPoolBackward,
  fillRows,
  fillCols,
  sumRows,
  sumCols,
  reluForward,
  reluBackward,
  add,
  channelMoments,
  channelSums,
  channelAffine,
  adamStep,
});
