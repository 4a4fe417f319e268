/**
 * The active kernel backend. The fast layers fetch it on every call, so swapping backends
 * (e.g. to a WebAssembly one) takes effect at once and needs no change in the layers.
 */
import { ConvnetError, show } from '../errors.js';
import { jsKernels } from './js/index.js';
import type { Kernels } from './types.js';

export type { ColumnGeometry, FloatArray, GemmArgs, Kernels, PoolWindow } from './types.js';
export { jsKernels } from './js/index.js';
export { workspace, workspaceBytes, releaseWorkspace } from './workspace.js';

const KERNEL_METHODS = [
  'gemm',
  'im2col',
  'col2im',
  'maxPoolForward',
  'maxPoolBackward',
  'avgPoolForward',
  'avgPoolBackward',
  'fillRows',
  'fillCols',
  'sumRows',
  'sumCols',
] as const;

let active: Kernels = jsKernels;

/** The backend the fast layers use now ('js' unless setKernels chose another). */
export function getKernels(): Kernels {
  return active;
}

/** Makes `kernels` the active backend and returns the previous one (to restore it later). */
export function setKernels(kernels: Kernels): Kernels {
  const fn = 'setKernels';
  if (kernels === null || typeof kernels !== 'object') {
    throw new ConvnetError(fn, `expected a Kernels object, got ${show(kernels)}`);
  }
  const missing = KERNEL_METHODS.filter((name) => typeof (kernels as unknown as Record<string, unknown>)[name] !== 'function');
  if (typeof kernels.name !== 'string' || missing.length > 0) {
    throw new ConvnetError(
      fn,
      `expected a Kernels object with a name and the functions ${KERNEL_METHODS.join(', ')}, got one ${typeof kernels.name !== 'string' ? 'without a name' : `missing ${missing.join(', ')}`}`,
    );
  }
  const previous = active;
  active = kernels;
  return previous;
}
