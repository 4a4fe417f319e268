/**
 * The datasets the CLI knows by name, loaded the way `convnet train` loads them (so that
 * evaluate sees the test split and preprocessing that training saw): MNIST from IDX files or,
 * without --data, the shipped digits split with seed 0; Fashion-MNIST from IDX files (default:
 * Debian's folder); CIFAR-10 from its archive or folder.
 */
import { loadCifar10, loadFashionMnist, loadMnist, loadShippedMnist, type Dataset } from '../data/index.js';
import { FASHION_MNIST_DIR } from '../data/mnist.js';
import { ConvnetError } from '../errors.js';
import type { DType } from '../tensor.js';

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export function isDatasetName(value: unknown): value is DatasetName {
  return typeof value === 'string' && (DATASET_NAMES as readonly string[]).includes(value);
}

/** `data` undefined: the default location (mnist: the shipped digits). */
export function loadNamedDataset(name: DatasetName, data: string | undefined, dtype: DType): Dataset {
  switch (name) {
    case 'mnist':
      return data !== undefined ? loadMnist(data, { dtype }) : loadShippedMnist({ dtype, seed: 0 });
    case 'fashion-mnist':
      return loadFashionMnist(data ?? FASHION_MNIST_DIR, { dtype });
    case 'cifar10':
      if (data === undefined) throw new ConvnetError('loadNamedDataset', '--dataset cifar10 needs --data PATH: the cifar-10-binary.tar.gz archive or the folder of its .bin files (download it from the CIFAR-10 page)');
      return loadCifar10(data, { dtype });
  }
}

/** How a dataset is named in messages: "mnist (the shipped digits)", "cifar10 (/data/cifar.tar.gz)". */
export function describeDataset(name: DatasetName, data: string | undefined): string {
  if (data !== undefined) return `${name} (${data})`;
  if (name === 'mnist') return 'mnist (the shipped digits)';
  if (name === 'fashion-mnist') return `fashion-mnist (${FASHION_MNIST_DIR})`;
  return name;
}
