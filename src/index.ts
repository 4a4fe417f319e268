/**
 * convnet: convolutional neural networks from first principles.
 *
 * The public API, by group (README "API"). Every layer has an explicit forward and backward
 * pass; for layers with two implementations the plain name is the fast one and `…Naive` the
 * reference that defines it. Helpers the layers share (geometry, validation, caches' checks)
 * stay internal.
 */

// Errors: every bad input throws a ConvnetError naming the function, what it expected and what came.
export { ConvnetError } from './errors.js';

// Tensors: plain data { shape, data, dtype } in NCHW order.
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

// Seeded randomness.
export { rng, permutation, type Rng } from './rng.js';

// Gradient checking.
export {
  evalNumericalGradient,
  evalNumericalGradientArray,
  relError,
  relErrorDetail,
  gradCheck,
  type GradCheckOptions,
  type GradCheckReport,
  type GradCheckEntry,
  type RelErrorDetail,
} from './gradcheck.js';

// Layers: forward → { out, cache }, backward(dout, cache) → gradients.
export { affineForward, affineBackward } from './layers/affineFast.js';
export { affineForwardNaive, affineBackwardNaive, type AffineCache } from './layers/affine.js';
export { convForward, convBackward, setConvColumnLimit } from './layers/convFast.js';
export { convForwardNaive, convBackwardNaive, type ConvParam, type ConvCache } from './layers/conv.js';
export { convTransposeForward, convTransposeBackward } from './layers/convTransposeFast.js';
export { convTransposeForwardNaive, convTransposeBackwardNaive, type ConvTransposeParam, type ConvTransposeCache } from './layers/convTranspose.js';
export { upsampleForward, upsampleBackward, type UpsampleParam, type UpsampleMode, type UpsampleCache } from './layers/upsample.js';
export { maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward, type MaxPoolFastCache } from './layers/poolFast.js';
export {
  maxPoolForwardNaive,
  maxPoolBackwardNaive,
  avgPoolForwardNaive,
  avgPoolBackwardNaive,
  globalAvgPoolForward,
  globalAvgPoolBackward,
  globalMaxPoolForward,
  globalMaxPoolBackward,
  type PoolParam,
  type AvgPoolParam,
  type MaxPoolCache,
  type AvgPoolCache,
  type GlobalPoolCache,
} from './layers/pool.js';
export { batchnormForward, batchnormBackward, spatialBatchnormForward, spatialBatchnormBackward } from './layers/batchnormFast.js';
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
export { layernormForward, layernormBackward, type LayernormParam, type LayernormCache, type LayernormGradients } from './layers/layernorm.js';
export { spatialGroupnormForward, spatialGroupnormBackward } from './layers/groupnormFast.js';
export {
  spatialGroupnormForwardNaive,
  spatialGroupnormBackwardNaive,
  type GroupnormParam,
  type GroupnormCache,
  type GroupnormGradients,
} from './layers/groupnorm.js';
export {
  reluForward,
  reluBackward,
  leakyReluForward,
  leakyReluBackward,
  softmaxForward,
  softmaxBackward,
  logSoftmaxForward,
  logSoftmaxBackward,
  relu,
  leakyRelu,
  softmax,
  logSoftmax,
  type ReluCache,
  type LeakyReluCache,
  type SoftmaxCache,
} from './layers/activations.js';
export { dropoutForward, dropoutBackward, type DropoutParam, type DropoutCache } from './layers/dropout.js';
export { softmaxLoss, svmLoss } from './layers/loss.js';
export { flatten, flattenForward, flattenBackward, type FlattenCache } from './layers/reshape.js';
export { gemm, type GemmParam } from './layers/gemm.js';
export { add } from './layers/add.js';
export {
  affineReluForward,
  affineReluBackward,
  convReluForward,
  convReluBackward,
  convReluPoolForward,
  convReluPoolBackward,
  convBnReluForward,
  convBnReluBackward,
  type AffineReluCache,
  type ConvReluCache,
  type ConvReluPoolCache,
  type ConvBnReluCache,
} from './layers/sandwich.js';
export {
  tanhForward,
  tanhBackward,
  sigmoidForward,
  sigmoidBackward,
  geluForward,
  geluBackward,
  eluForward,
  eluBackward,
  type TanhCache,
  type SigmoidCache,
  type GeluCache,
  type GeluApproximate,
  type EluCache,
} from './layers/activations.js';
export { mseLoss, l1Loss, softmaxCrossEntropyLoss, type LossReduction, type SoftmaxCrossEntropyOptions, type SoftmaxCrossEntropyResult } from './layers/loss.js';

// Modules: layers that own their parameters, gradients and buffers, with a JSON config.
export * from './nn/index.js';

// Models: the model contract, the CS231n models, spec-built and module-built networks.
export * from './models/index.js';

// Training: update rules, augmentation, the Solver.
export {
  sgd,
  sgdMomentum,
  rmsprop,
  adam,
  updateRules,
  getUpdateRule,
  type OptimConfig,
  type UpdateResult,
  type UpdateRule,
  type UpdateRuleName,
} from './train/optim.js';
export { randomShift, randomFlip, composeAugmentations, type Augmentation } from './train/augment.js';
export {
  Solver,
  type TrainingData,
  type SolverOptions,
  type IterationRecord,
  type EpochRecord,
  type SolverRecord,
  type TrainResult,
} from './train/solver.js';

// Kernels: which backend the fast layers run on, and its threads.
export {
  setBackend,
  getBackend,
  setThreads,
  getThreads,
  loadWasm,
  wasmAvailable,
  wasmVariant,
  wasmTile,
  wasmThreadsReady,
  wasmWorkersReady,
  getKernels,
  setKernels,
  jsKernels,
  wasmKernels,
  releaseWorkspace,
  workspaceBytes,
  type Backend,
  type Kernels,
  type GemmArgs,
  type ColumnGeometry,
  type PoolWindow,
  type FloatArray,
} from './kernels/index.js';

// Model files (safetensors) as bytes, anywhere; on disk through 'convnet/node' (saveModel, loadModel).
export * from './io/index.js';
export { CONVNET_VERSION } from './version.js';

// Visualisation: saliency maps, fooling images, class visualisations, activations; charts as SVG.
export * from './viz/index.js';
