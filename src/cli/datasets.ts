/**
 * The datasets the CLI knows by name, loaded the way `convnet train` loads them (so that
 * evaluate sees the test split and preprocessing that training saw): MNIST from IDX files or,
 * without --data, the shipped digits split with seed 0; Fashion-MNIST from IDX files (default:
 * Debian's folder); CIFAR-10 from its archive or folder; a folder of pictures, one sub-folder
 * per class (loadImageFolder, split with seed 0 unless it has train/ val/ test/ folders).
 */
import { loadCifar10, loadFashionMnist, loadImageFolder, loadMnist, loadShippedMnist, type Dataset, type ImageFolderDataset } from '../data/index.js';
import { FASHION_MNIST_DIR } from '../data/mnist.js';
import { ConvnetError } from '../errors.js';
import type { DType } from '../tensor.js';

export const DATASET_NAMES = ['mnist', 'fashion-mnist', 'cifar10', 'folder'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export function isDatasetName(value: unknown): value is DatasetName {
  return typeof value === 'string' && (DATASET_NAMES as readonly string[]).includes(value);
}

/** How `--dataset folder` decodes its pictures (the rest is loadImageFolder's defaults). */
export interface FolderDatasetOptions {
  /** SIZE×SIZE or [H, W]; default 32. */
  size?: number | [number, number];
  channels?: 1 | 3;
  resize?: 'bilinear' | 'crop';
  valFraction?: number;
  testFraction?: number;
  skipBadImages?: boolean;
  /** false: no decode cache; default true. */
  cache?: boolean;
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
  onWarning?: (message: string) => void;
}

/** The seed of a folder dataset's split: fixed, so that every training seed sees the same test split. */
export const FOLDER_SPLIT_SEED = 0;

/** `data` undefined: the default location (mnist: the shipped digits). */
export async function loadNamedDataset(name: DatasetName, data: string | undefined, dtype: DType, folder: FolderDatasetOptions = {}): Promise<Dataset | ImageFolderDataset> {
  switch (name) {
    case 'mnist':
      return data !== undefined ? loadMnist(data, { dtype }) : loadShippedMnist({ dtype, seed: 0 });
    case 'fashion-mnist':
      return loadFashionMnist(data ?? FASHION_MNIST_DIR, { dtype });
    case 'cifar10':
      if (data === undefined) throw new ConvnetError('loadNamedDataset', '--dataset cifar10 needs --data PATH: the cifar-10-binary.tar.gz archive or the folder of its .bin files (download it from the CIFAR-10 page)');
      return loadCifar10(data, { dtype });
    case 'folder': {
      if (data === undefined) throw new ConvnetError('loadNamedDataset', '--dataset folder needs --data DIR: a folder with one sub-folder of PNG or JPEG pictures per class (DIR/cat/*.jpg, DIR/dog/*.jpg, …)');
      const { size, channels, resize, valFraction, testFraction, skipBadImages, cache, cacheDir, onProgress, onWarning } = folder;
      return loadImageFolder(data, {
        dtype,
        seed: FOLDER_SPLIT_SEED,
        ...(size === undefined ? {} : { size }),
        ...(channels === undefined ? {} : { channels }),
        ...(resize === undefined ? {} : { resize }),
        ...(valFraction === undefined ? {} : { valFraction }),
        ...(testFraction === undefined ? {} : { testFraction }),
        ...(skipBadImages === undefined ? {} : { skipBadImages }),
        ...(cache === undefined ? {} : { cache }),
        ...(cacheDir === undefined ? {} : { cacheDir }),
        ...(onProgress === undefined ? {} : { onProgress }),
        ...(onWarning === undefined ? {} : { onWarning }),
      });
    }
  }
}

/** How a dataset is named in messages: "mnist (the shipped digits)", "cifar10 (/data/cifar.tar.gz)". */
export function describeDataset(name: DatasetName, data: string | undefined): string {
  if (data !== undefined) return `${name} (${data})`;
  if (name === 'mnist') return 'mnist (the shipped digits)';
  if (name === 'fashion-mnist') return `fashion-mnist (${FASHION_MNIST_DIR})`;
  return name;
}
