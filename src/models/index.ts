export type { Model, ModelConfig, LossAndGrads, LossHead, LossTarget, RegressionHead, SoftmaxHead, TrainableModel } from './model.js';
export { Network, type NetworkOptions, type SummaryRow, type NamedTensor } from './network.js';
export { ThreeLayerConvNet, type ThreeLayerConvNetOptions } from './threeLayerConvNet.js';
export { FullyConnectedNet, type FullyConnectedNetOptions } from './fullyConnectedNet.js';
export { ConvNet, parseSpec, type ConvNetOptions, type SpecLayer } from './spec.js';
export { buildModel, MODEL_KINDS } from './build.js';
