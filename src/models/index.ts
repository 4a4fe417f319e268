export * from './common.js';
export * from './sandwich.js';
export * from './sequential.js';
export * from './threeLayerConvNet.js';
export * from './fullyConnectedNet.js';
export * from './spec.js';
