/** Layers as modules: parameters, gradients, buffers, config and shapes, built on src/layers. */
export { Module, walk, parameterCount, type Mode, type ModuleConfig, type InitOptions, type Json } from './module.js';
export { Conv2d, type Conv2dOptions } from './conv.js';
export { ConvTranspose2d, type ConvTranspose2dOptions } from './convTranspose.js';
export { Linear, type LinearOptions } from './linear.js';
export { ReLU, LeakyReLU, type LeakyReLUOptions } from './activation.js';
export { Tanh, Sigmoid, GELU, ELU, type GELUOptions, type ELUOptions } from './activation.js';
export { MaxPool2d, AvgPool2d, GlobalAvgPool, GlobalMaxPool, type Pool2dOptions, type AvgPool2dOptions } from './pool.js';
export { BatchNorm, BatchNorm2d, LayerNorm, GroupNorm, type BatchNormOptions, type LayerNormOptions, type GroupNormOptions } from './norm.js';
export { Dropout, type DropoutOptions } from './dropout.js';
export { Flatten } from './flatten.js';
export { Upsample, type UpsampleOptions } from './upsample.js';
export { Sequential, Residual, type SequentialOptions, type ResidualOptions } from './containers.js';
export { buildModule, MODULE_TYPES } from './build.js';
