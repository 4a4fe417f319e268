/**
 * buildModel: a model from its config (model.config), with freshly initialised parameters.
 * Load trained values with model.loadState(params, buffers) (or through the model files).
 */
import { ConvnetError, show } from '../errors.js';
import { buildModule } from '../nn/build.js';
import type { ModuleConfig } from '../nn/module.js';
import { modelDtype } from './common.js';
import { FullyConnectedNet, type FullyConnectedNetOptions } from './fullyConnectedNet.js';
import type { ModelConfig } from './model.js';
import { Network, type NetworkOptions } from './network.js';
import { ConvNet, type ConvNetOptions } from './spec.js';
import { ThreeLayerConvNet, type ThreeLayerConvNetOptions } from './threeLayerConvNet.js';

export const MODEL_KINDS = ['ThreeLayerConvNet', 'FullyConnectedNet', 'ConvNet', 'Network'] as const;

export function buildModel(config: ModelConfig): Network {
  const fn = 'buildModel';
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new ConvnetError(fn, `expected a model config object, got ${show(config)}`);
  const { kind, ...options } = config;
  switch (kind) {
    case 'ThreeLayerConvNet':
      return new ThreeLayerConvNet(options as ThreeLayerConvNetOptions);
    case 'FullyConnectedNet':
      return new FullyConnectedNet(options as unknown as FullyConnectedNetOptions);
    case 'ConvNet':
      return new ConvNet(options as unknown as ConvNetOptions);
    case 'Network': {
      const unknown = Object.keys(options).filter((k) => !['inputShape', 'reg', 'dtype', 'module', 'loss'].includes(k));
      if (unknown.length > 0) throw new ConvnetError(fn, `expected a Network config with inputShape, reg, dtype, module and loss (optional), got ${show(unknown)}`);
      const dtype = modelDtype(fn, options.dtype);
      const module = buildModule(options.module as ModuleConfig, { dtype });
      // The loss head is checked by Network (an unknown kind or option is its error).
      const loss = options.loss as NetworkOptions['loss'];
      return new Network({ module, inputShape: options.inputShape as number[], reg: options.reg as number | undefined, ...(loss === undefined ? {} : { loss }) });
    }
    default:
      throw new ConvnetError(fn, `expected config.kind to be one of ${MODEL_KINDS.join(', ')}, got ${show(kind)}`);
  }
}
