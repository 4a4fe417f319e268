/** One small model of every kind, for tests that must hold for all of them. */
import { ReLU } from '../../src/nn/activation.js';
import { Residual, Sequential } from '../../src/nn/containers.js';
import { Conv2d } from '../../src/nn/conv.js';
import { Linear } from '../../src/nn/linear.js';
import { BatchNorm2d } from '../../src/nn/norm.js';
import { GlobalAvgPool } from '../../src/nn/pool.js';
import { rng } from '../../src/rng.js';
import type { DType, Tensor } from '../../src/tensor.js';
import { FullyConnectedNet } from '../../src/models/fullyConnectedNet.js';
import { Network } from '../../src/models/network.js';
import { ConvNet } from '../../src/models/spec.js';
import { ThreeLayerConvNet } from '../../src/models/threeLayerConvNet.js';

/** n seeded random class labels in [0, classes). */
export function randomLabels(n: number, classes: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => r.int(classes));
}

/** Samples [from, from + count) of a batch X (a copy). */
export function sampleRows(X: Tensor, from: number, count: number): Tensor {
  const D = X.data.length / X.shape[0]!;
  return { shape: [count, ...X.shape.slice(1)], data: X.data.slice(from * D, (from + count) * D), dtype: X.dtype };
}

export interface ModelKind {
  label: string;
  make: (dtype: DType) => Network;
  /** One sample's shape. */
  inputShape: number[];
}

/** A residual net: a stem, an identity block, a block with a strided, projected skip, then gap → fc. */
export function residualNet(dtype: DType, seed = 7): Network {
  const init = { dtype, generator: rng(seed) };
  const block = (channels: number): Sequential =>
    new Sequential([
      new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 3, pad: 1 }, init),
      new BatchNorm2d({ features: channels }, init),
      new ReLU(),
      new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 3, pad: 1 }, init),
      new BatchNorm2d({ features: channels }, init),
    ]);
  const layers = new Sequential([
    new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, pad: 1 }, init),
    new BatchNorm2d({ features: 3 }, init),
    new ReLU(),
    new Residual({ body: block(3) }),
    new ReLU(),
    new Residual({
      body: new Sequential([
        new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, pad: 1 }, init),
        new BatchNorm2d({ features: 4 }, init),
        new ReLU(),
        new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, pad: 1 }, init),
      ]),
      projection: new Sequential([new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 1, stride: 2 }, init), new BatchNorm2d({ features: 4 }, init)]),
    }),
    new ReLU(),
    new GlobalAvgPool(),
    new Linear({ inFeatures: 4, outFeatures: 5 }, init),
  ]);
  return new Network({ module: layers, inputShape: [2, 6, 5], reg: 0.01 });
}

export const MODEL_KINDS: ModelKind[] = [
  {
    label: 'ThreeLayerConvNet',
    inputShape: [2, 8, 7],
    make: (dtype) => new ThreeLayerConvNet({ inputDim: [2, 8, 7], numFilters: 3, filterSize: 3, hiddenDim: 6, numClasses: 4, weightScale: 'he', reg: 0.01, dtype, seed: 1 }),
  },
  {
    label: 'FullyConnectedNet with batchnorm and dropout',
    inputShape: [2, 3, 3],
    make: (dtype) => new FullyConnectedNet({ hiddenDims: [7, 6], inputDim: [2, 3, 3], numClasses: 4, normalization: 'batchnorm', dropoutKeepRatio: 0.7, weightScale: 'he', reg: 0.01, dtype, seed: 2 }),
  },
  {
    label: 'FullyConnectedNet with layernorm',
    inputShape: [9],
    make: (dtype) => new FullyConnectedNet({ hiddenDims: [7], inputDim: 9, numClasses: 3, normalization: 'layernorm', weightScale: 'he', dtype, seed: 3 }),
  },
  {
    label: 'ConvNet with bn, max pool and dropout',
    inputShape: [2, 8, 8],
    make: (dtype) => new ConvNet({ spec: 'conv(4,3)-bn-relu-pool-conv(5,3,2)-relu-fc(6)-bn-relu-dropout(0.8)-fc(4)', inputDim: [2, 8, 8], numClasses: 4, reg: 0.01, dtype, seed: 4 }),
  },
  {
    label: 'ConvNet with gn, avg pool and global pool',
    inputShape: [1, 7, 6],
    make: (dtype) => new ConvNet({ spec: 'conv(4,3)-gn(2)-lrelu-avgpool(2)-conv(6,3)-relu-gap-fc(3)', inputDim: [1, 7, 6], numClasses: 3, dtype, seed: 5 }),
  },
  {
    label: 'ConvNet with maxpool(3,1) and ln',
    inputShape: [3, 6, 6],
    make: (dtype) => new ConvNet({ spec: 'conv(3,3)-relu-maxpool(3,1)-fc(8)-ln-relu-fc(5)', inputDim: [3, 6, 6], numClasses: 5, dtype, seed: 6 }),
  },
  { label: 'Network with Residual blocks', inputShape: [2, 6, 5], make: (dtype) => residualNet(dtype) },
  {
    label: 'ConvNet with res blocks (identity and projected skips)',
    inputShape: [1, 6, 6],
    make: (dtype) => new ConvNet({ spec: 'conv(3,3)-bn-relu-res(conv(3,3)-bn-relu-conv(3,3)-bn)-relu-res(conv(4,3,2)-bn-relu-conv(4,3)-bn)-relu-gap-fc(3)', inputDim: [1, 6, 6], numClasses: 3, dtype, seed: 8 }),
  },
];
