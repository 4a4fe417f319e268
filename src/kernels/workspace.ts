/**
 * Grow-only scratch arrays, one per dtype, for the large temporaries of the fast layers (the
 * im2col columns). A layer borrows one for the duration of a call and never stores it: the next
 * call overwrites it. JavaScript is single-threaded and the layers never yield mid-call, so one
 * array per dtype suffices. A backend may supply the float32 one from its own memory
 * (KernelCapabilities.scratch32: the WebAssembly backend's linear memory, so its kernels use it
 * in place).
 */
import type { DType } from '../tensor.js';
import { getKernels } from './backend.js';
import type { FloatArray } from './types.js';
import { releaseWasmScratch, wasmScratchBytes } from './wasm/index.js';

let scratch32 = new Float32Array(0);
let scratch64 = new Float64Array(0);

/** A scratch array of at least `length` elements of `dtype`; its contents are arbitrary. */
export function workspace(dtype: DType, length: number): FloatArray {
  if (dtype === 'float32') {
    const own = getKernels().capabilities?.scratch32?.(length);
    if (own !== undefined) return own;
    if (scratch32.length < length) scratch32 = new Float32Array(grown(scratch32.length, length));
    return scratch32;
  }
  if (scratch64.length < length) scratch64 = new Float64Array(grown(scratch64.length, length));
  return scratch64;
}

/** Grow by at least half again, so a slowly rising demand reallocates only a few times. */
function grown(current: number, needed: number): number {
  return Math.max(needed, Math.ceil(current * 1.5));
}

/** The bytes the scratch arrays hold now (for reports and tests). */
export function workspaceBytes(): number {
  return scratch32.byteLength + scratch64.byteLength + wasmScratchBytes();
}

/**
 * Drops the scratch arrays (the next call reallocates what it needs). WebAssembly memory cannot
 * shrink: its scratch is forgotten and its space reused.
 */
export function releaseWorkspace(): void {
  releaseWasmScratch();
  scratch32 = new Float32Array(0);
  scratch64 = new Float64Array(0);
}
