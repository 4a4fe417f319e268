/**
 * Asking a backend for an optional capability (types.ts: KernelCapabilities). The fast layers
 * pick their path here, by what the backend advertises and the dtype, rather than by probing
 * for methods or testing array types.
 */
import type { DType } from '../tensor.js';
import type { BatchConvKernels, Kernels } from './types.js';

/** The backend's whole-layer conv kernels for `dtype`, or undefined (then: im2col + gemm per image). */
export function batchConvFor(kernels: Kernels, dtype: DType | undefined): BatchConvKernels | undefined {
  return dtype === 'float32' ? kernels.capabilities?.batchConv32 : undefined;
}
