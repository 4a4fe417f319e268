/**
 * buildModule: a module from its config (module.config), with freshly initialised parameters
 * drawn from `init`. Configs are plain JSON; nothing in them is evaluated.
 */
import { ConvnetError, show } from '../errors.js';
import { ELU, GELU, LeakyReLU, ReLU, Sigmoid, Tanh, type ELUOptions, type GELUOptions } from './activation.js';
import { MAX_NESTING, Residual, Sequential } from './containers.js';
import { Conv2d, type Conv2dOptions } from './conv.js';
import { ConvTranspose2d, type ConvTranspose2dOptions } from './convTranspose.js';
import { Dropout, type DropoutOptions } from './dropout.js';
import { Flatten } from './flatten.js';
import { Linear, type LinearOptions } from './linear.js';
import { resolveInit, type InitOptions, type Module, type ModuleConfig } from './module.js';
import { BatchNorm, BatchNorm2d, GroupNorm, LayerNorm, type BatchNormOptions, type GroupNormOptions, type LayerNormOptions } from './norm.js';
import { AvgPool2d, GlobalAvgPool, GlobalMaxPool, MaxPool2d, type AvgPool2dOptions, type Pool2dOptions } from './pool.js';
import { Upsample, type UpsampleOptions } from './upsample.js';

/** The module types buildModule knows. */
export const MODULE_TYPES = [
  'Conv2d', 'Linear', 'ReLU', 'LeakyReLU', 'MaxPool2d', 'AvgPool2d', 'GlobalAvgPool', 'GlobalMaxPool',
  'BatchNorm', 'BatchNorm2d', 'LayerNorm', 'GroupNorm', 'Dropout', 'Flatten', 'Sequential', 'Residual',
  'Tanh', 'Sigmoid', 'GELU', 'ELU', 'ConvTranspose2d', 'Upsample',
] as const;

export function buildModule(config: ModuleConfig, init: InitOptions = {}): Module {
  // One generator for the whole tree, so that parameters are drawn in execution order.
  const resolved = resolveInit('buildModule', init);
  return build(config, { ...resolved, generator: resolved.generator }, 'config', 0);
}

function build(config: unknown, init: InitOptions, path: string, depth: number): Module {
  const fn = 'buildModule';
  // Before recursing: a deeply nested (or, as an object, cyclic) config would otherwise end in a RangeError.
  if (depth > MAX_NESTING) throw new ConvnetError(fn, `expected containers nested at most ${MAX_NESTING} deep, got ${path.length > 80 ? `${path.slice(0, 80)}…` : path} deeper`);
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new ConvnetError(fn, `expected ${path} to be a module config object, got ${show(config)}`);
  const { type, ...options } = config as ModuleConfig;
  const o = options as Record<string, unknown>;
  switch (type) {
    case 'Conv2d':
      return new Conv2d(o as unknown as Conv2dOptions, init);
    case 'ConvTranspose2d':
      return new ConvTranspose2d(o as unknown as ConvTranspose2dOptions, init);
    case 'Linear':
      return new Linear(o as unknown as LinearOptions, init);
    case 'ReLU':
      return new ReLU(o as Record<string, never>);
    case 'LeakyReLU':
      return new LeakyReLU(o);
    case 'MaxPool2d':
      return new MaxPool2d(o as unknown as Pool2dOptions);
    case 'AvgPool2d':
      return new AvgPool2d(o as unknown as AvgPool2dOptions);
    case 'GlobalAvgPool':
      return new GlobalAvgPool(o as Record<string, never>);
    case 'GlobalMaxPool':
      return new GlobalMaxPool(o as Record<string, never>);
    case 'BatchNorm':
      return new BatchNorm(o as unknown as BatchNormOptions, init);
    case 'BatchNorm2d':
      return new BatchNorm2d(o as unknown as BatchNormOptions, init);
    case 'LayerNorm':
      return new LayerNorm(o as unknown as LayerNormOptions, init);
    case 'GroupNorm':
      return new GroupNorm(o as unknown as GroupNormOptions, init);
    case 'Dropout':
      return new Dropout(o as unknown as DropoutOptions, init);
    case 'Flatten':
      return new Flatten(o as Record<string, never>);
    case 'Upsample':
      return new Upsample(o as unknown as UpsampleOptions);
    case 'Sequential': {
      const layers = o.layers;
      if (!Array.isArray(layers) || Object.keys(o).length !== 1) throw new ConvnetError(fn, `expected ${path} (Sequential) to be { type, layers: [configs] }, got keys ${show(Object.keys(config))}`);
      return new Sequential(layers.map((layer, i) => build(layer, init, `${path}.layers[${i}]`, depth + 1)));
    }
    case 'Residual': {
      const unknown = Object.keys(o).filter((k) => k !== 'body' && k !== 'projection');
      if (unknown.length > 0) throw new ConvnetError(fn, `expected ${path} (Residual) to have body and projection, got ${show(unknown)}`);
      const body = build(o.body, init, `${path}.body`, depth + 1);
      const projection = o.projection === null || o.projection === undefined ? null : build(o.projection, init, `${path}.projection`, depth + 1);
      return new Residual({ body, projection });
    }
    case 'Tanh':
      return new Tanh(o as Record<string, never>);
    case 'Sigmoid':
      return new Sigmoid(o as Record<string, never>);
    case 'GELU':
      return new GELU(o as GELUOptions);
    case 'ELU':
      return new ELU(o as ELUOptions);
    default:
      throw new ConvnetError(fn, `expected ${path}.type to be one of ${MODULE_TYPES.join(', ')}, got ${show(type)}`);
  }
}
