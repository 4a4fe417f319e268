/**
 * The active kernel backend and its selection. The fast layers fetch it on every call, so
 * swapping backends takes effect at once and needs no change in the layers.
 *
 * The first use chooses: the environment variable CONVNET_BACKEND (Node) = 'js', 'wasm' or
 * 'auto' forces it; otherwise (or with 'auto') the WebAssembly backend when this engine has
 * WebAssembly with 128-bit SIMD, else the JavaScript kernels.
 */
import { ConvnetError, show } from '../errors.js';
import { jsKernels } from './js/index.js';
import type { BatchConvKernels, KernelCapabilities, KernelMethod, Kernels } from './types.js';
import { wasmAvailable, wasmKernels, wasmLoadError } from './wasm/index.js';

/** The built-in backends ('auto' picks one: wasm where it can run, else js). */
export type Backend = 'js' | 'wasm';

/**
 * Every required method, once: a Record over KernelMethod makes the compiler reject a list that
 * misses a method of Kernels or names one it does not have, so the check cannot drift.
 */
const REQUIRED: Record<KernelMethod, true> = {
  gemm: true,
  im2col: true,
  col2im: true,
  maxPoolForward: true,
  maxPoolBackward: true,
  avgPoolForward: true,
  avgPoolBackward: true,
  fillRows: true,
  fillCols: true,
  sumRows: true,
  sumCols: true,
  reluForward: true,
  reluBackward: true,
  add: true,
  channelMoments: true,
  channelSums: true,
  channelAffine: true,
  adamStep: true,
};

/** The methods setKernels requires of a backend, in the interface's order. */
export const KERNEL_METHODS = Object.freeze(Object.keys(REQUIRED) as KernelMethod[]);

/** The methods of the batch conv capability, listed the same way. */
const BATCH_CONV: Record<keyof BatchConvKernels, true> = { convForward: true, convBackward: true, convReluPoolForward: true, convReluPoolBackward: true };
const BATCH_CONV_METHODS = Object.keys(BATCH_CONV) as (keyof BatchConvKernels)[];

const missingFunctions = (table: object, names: readonly string[]): string[] =>
  names.filter((name) => typeof (table as Record<string, unknown>)[name] !== 'function');

/** Why `capabilities` is not a well-formed KernelCapabilities, or undefined if it is (or absent). */
function capabilitiesProblem(capabilities: unknown): string | undefined {
  if (capabilities === undefined) return undefined;
  if (capabilities === null || typeof capabilities !== 'object') return `capabilities ${show(capabilities)}`;
  const { batchConv32, scratch32, resident32 } = capabilities as KernelCapabilities;
  if (scratch32 !== undefined && typeof scratch32 !== 'function') return 'capabilities.scratch32 that is not a function';
  if (resident32 !== undefined && (resident32 === null || typeof resident32.allocate !== 'function' || typeof resident32.free !== 'function')) {
    return 'capabilities.resident32 that is not { allocate, free }';
  }
  if (batchConv32 === undefined) return undefined;
  if (batchConv32 === null || typeof batchConv32 !== 'object') return `capabilities.batchConv32 ${show(batchConv32)}`;
  const missing = missingFunctions(batchConv32, BATCH_CONV_METHODS);
  return missing.length > 0 ? `capabilities.batchConv32 missing ${missing.join(', ')} (of ${BATCH_CONV_METHODS.join(', ')})` : undefined;
}

let active: Kernels | undefined;

function environmentBackend(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.CONVNET_BACKEND?.trim();
  return value === '' ? undefined : value;
}

/** The built-in backend `name` ('js', 'wasm' or 'auto'), as asked for by `what`. */
function builtin(fn: string, name: string, what: string): Kernels {
  if (name === 'js') return jsKernels;
  if (name === 'wasm') {
    if (!wasmAvailable()) throw new ConvnetError(fn, `expected an engine that can run the WebAssembly backend (${what} = 'wasm'), got one where it fails: ${wasmLoadError()}`);
    return wasmKernels;
  }
  if (name === 'auto') return wasmAvailable() ? wasmKernels : jsKernels;
  throw new ConvnetError(fn, `expected ${what} to be 'js', 'wasm' or 'auto', got ${show(name)}`);
}

function automatic(): Kernels {
  const forced = environmentBackend();
  return builtin('getKernels', forced ?? 'auto', 'CONVNET_BACKEND');
}

/** The backend the fast layers use now (chosen on first use, see the file comment). */
export function getKernels(): Kernels {
  active ??= automatic();
  return active;
}

/** Makes `kernels` the active backend and returns the previous one (to restore it later). */
export function setKernels(kernels: Kernels): Kernels {
  const fn = 'setKernels';
  if (kernels === null || typeof kernels !== 'object') {
    throw new ConvnetError(fn, `expected a Kernels object, got ${show(kernels)}`);
  }
  const missing = missingFunctions(kernels, KERNEL_METHODS);
  if (typeof kernels.name !== 'string' || missing.length > 0) {
    throw new ConvnetError(
      fn,
      `expected a Kernels object with a name and the functions ${KERNEL_METHODS.join(', ')}, got one ${typeof kernels.name !== 'string' ? 'without a name' : `missing ${missing.join(', ')}`}`,
    );
  }
  const problem = capabilitiesProblem(kernels.capabilities);
  if (problem !== undefined) throw new ConvnetError(fn, `expected a Kernels object whose optional capabilities are well formed, got one with ${problem}`);
  const previous = getKernels();
  active = kernels;
  return previous;
}

/**
 * Chooses a built-in backend: 'wasm' (float32 in WebAssembly SIMD; throws where it cannot
 * run), 'js' (pure TypeScript), or 'auto' (the default choice, CONVNET_BACKEND included).
 */
export function setBackend(name: Backend | 'auto'): void {
  active = builtin('setBackend', name, 'the backend');
}

/** The name of the active backend: 'wasm' or 'js' (or a custom backend's name, see setKernels). */
export function getBackend(): string {
  return getKernels().name;
}
