/**
 * convnet: convolutional neural networks from first principles.
 * Every layer has an explicit forward and backward pass; naive versions define the maths.
 */
export { ConvnetError } from './errors.js';
export { rng, permutation, type Rng } from './rng.js';
export {
  tensor,
  fromData,
  zeros,
  ones,
  full,
  zerosLike,
  clone,
  cast,
  linspace,
  reshape,
  randn,
  randu,
  sizeOf,
  toNested,
  type Tensor,
  type DType,
  type TypedArray,
  type NestedNumbers,
} from './tensor.js';
export {
  evalNumericalGradient,
  evalNumericalGradientArray,
  relError,
  relErrorDetail,
  gradCheck,
  type GradCheckOptions,
  type GradCheckReport,
  type GradCheckEntry,
} from './gradcheck.js';
export * from './layers/affine.js';
export { convForward, convBackward, setConvColumnLimit } from './layers/convFast.js';
export { maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward, type MaxPoolFastCache } from './layers/poolFast.js';
export { affineForward, affineBackward } from './layers/affineFast.js';
export {
  getKernels,
  setKernels,
  jsKernels,
  releaseWorkspace,
  workspaceBytes,
  type Kernels,
  type GemmArgs,
  type ColumnGeometry,
  type PoolWindow,
  type FloatArray,
} from './kernels/index.js';
export { setBackend, getBackend, setThreads, getThreads, loadWasm, wasmAvailable, wasmKernels, wasmVariant, wasmWorkersReady, type Backend } from './kernels/index.js';
export * from './layers/activations.js';
export * from './layers/conv.js';
export * from './layers/pool.js';
export * from './layers/loss.js';
export * from './layers/dropout.js';
export * from './layers/reshape.js';
export * from './layers/gemm.js';
export {
  batchnormForwardNaive,
  batchnormBackwardNaive,
  batchnormBackwardAlt,
  spatialBatchnormForwardNaive,
  spatialBatchnormBackwardNaive,
  type BatchnormMode,
  type BatchnormParam,
  type BatchnormCache,
  type BatchnormGradients,
} from './layers/batchnorm.js';
export * from './layers/batchnormFast.js';
export * from './layers/layernorm.js';
export {
  spatialGroupnormForwardNaive,
  spatialGroupnormBackwardNaive,
  type GroupnormParam,
  type GroupnormCache,
  type GroupnormGradients,
} from './layers/groupnorm.js';
export * from './layers/groupnormFast.js';
export * from './models/index.js';
export * from './train/index.js';
