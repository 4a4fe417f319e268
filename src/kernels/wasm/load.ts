/**
 * Loading the kernels module: whether this engine has WebAssembly SIMD and relaxed SIMD (tiny
 * probe modules), Node 20's relaxed-SIMD flag, decoding the embedded binaries (binary.ts),
 * compiling them (synchronously on first use, or ahead with compileAhead), and the copy of the
 * module with an unshared memory import for engines without SharedArrayBuffer.
 */
import { WASM_BASE64, WASM_RELAXED_BASE64 } from './binary.js';
import { wasmApi } from './exports.js';

/**
 * A tiny module using a SIMD instruction (i8x16.popcnt, among the last to be standardised):
 * validates only in engines with 128-bit SIMD.
 */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/**
 * The same with f32x4.relaxed_madd (relaxed SIMD: Node 22+, Chrome 114+; Node 20 with
 * --experimental-wasm-relaxed-simd).
 */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 28, 1, 26, 0,
  67, 0, 0, 0, 0, 253, 19, 67, 0, 0, 0, 0, 253, 19, 67, 0, 0, 0, 0, 253, 19, 253, 133, 2, 11,
]);

function validates(bytes: Uint8Array): boolean {
  try {
    return wasmApi !== undefined && wasmApi.validate(bytes);
  } catch {
    return false;
  }
}

interface NodeGlobals {
  process?: {
    versions?: { node?: string };
    env?: Record<string, string | undefined>;
    getBuiltinModule?: (name: string) => unknown;
  };
}

/** CONVNET_RELAXED_SIMD=0: never use the relaxed-SIMD build (nor turn V8's flag on for it). */
function relaxedAllowed(): boolean {
  return (globalThis as NodeGlobals).process?.env?.CONVNET_RELAXED_SIMD?.trim() !== '0';
}

let relaxedFlagTried = false;

/**
 * Node 20's V8 (11.3) implements relaxed SIMD but leaves it behind --experimental-wasm-relaxed-simd;
 * the V8 of later Node versions ships it on (the same instructions, unchanged). On Node 20, turn
 * the flag on once, before the first compile, so that Node 20 gets the fused multiply-add GEMM
 * too (about 1.2× on the conv benchmarks). It only makes more modules valid; nothing that
 * validated before changes meaning. CONVNET_RELAXED_SIMD=0 prevents it.
 */
function enableRelaxedSimdOnNode20(): void {
  if (relaxedFlagTried) return;
  relaxedFlagTried = true;
  const node = (globalThis as NodeGlobals).process;
  if (node?.versions?.node?.split('.')[0] !== '20') return;
  const v8 = node.getBuiltinModule?.('node:v8') as { setFlagsFromString?: (flags: string) => void } | undefined;
  v8?.setFlagsFromString?.('--experimental-wasm-relaxed-simd');
}

/**
 * Whether the relaxed-SIMD build can run here (then the GEMM uses fused multiply-adds): the
 * engine validates relaxed SIMD (on Node 20 once the flag is on: enableRelaxedSimdOnNode20),
 * and CONVNET_RELAXED_SIMD is not 0.
 */
export function wasmRelaxedSimdSupported(): boolean {
  if (!relaxedAllowed()) return false;
  if (validates(RELAXED_PROBE)) return true;
  enableRelaxedSimdOnNode20();
  return validates(RELAXED_PROBE);
}

/** Whether this engine has WebAssembly with 128-bit SIMD. */
export function wasmSimdSupported(): boolean {
  return validates(SIMD_PROBE);
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const decoded = new Map<boolean, Uint8Array>();

/** The binary: the relaxed-SIMD build or the plain one, with its memory import shared or not. */
function moduleBytes(relaxed: boolean, shared: boolean): Uint8Array {
  let bytes = decoded.get(relaxed);
  if (bytes === undefined) {
    bytes = decodeBase64(relaxed ? WASM_RELAXED_BASE64 : WASM_BASE64);
    decoded.set(relaxed, bytes);
  }
  return shared ? bytes : unsharedModuleBytes(bytes);
}

/** Compiled modules by variant (loadWasm() fills this ahead, asynchronously). */
const compiled = new Map<string, object>();

/** The compiled module for a variant (compiled on first request, synchronously). */
export function compile(relaxed: boolean, shared: boolean): object {
  const key = `${relaxed}/${shared}`;
  let module = compiled.get(key);
  if (module === undefined) {
    if (wasmApi === undefined) throw new Error('this engine has no WebAssembly');
    module = new wasmApi.Module(moduleBytes(relaxed, shared));
    compiled.set(key, module);
  }
  return module;
}

/** Whether shared memory can exist here (SharedArrayBuffer: Node; cross-origin-isolated pages). */
export const canShare = (): boolean => typeof SharedArrayBuffer === 'function';

/**
 * Compiles the module this engine would run, asynchronously, into the cache compile() reads
 * (facade.ts: loadWasm). Resolves to false where the engine has no asynchronous compile or no
 * SIMD, or the compile fails.
 */
export async function compileAhead(): Promise<boolean> {
  const api = (globalThis as unknown as { WebAssembly?: { compile?: (bytes: Uint8Array) => Promise<object> } }).WebAssembly;
  if (api?.compile === undefined || !wasmSimdSupported()) return false;
  const shared = canShare();
  const relaxed = wasmRelaxedSimdSupported();
  try {
    compiled.set(`${relaxed}/${shared}`, await api.compile(moduleBytes(relaxed, shared)));
  } catch {
    return false;
  }
  return true;
}

/** Reads an unsigned LEB128 at `at`: [value, next position]. */
function leb(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

/**
 * A copy of the module whose memory import is unshared (limits flag 0x03 → 0x01), for engines
 * without SharedArrayBuffer. The code uses no atomics, so nothing else changes.
 */
export function unsharedModuleBytes(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  let at = 8;
  while (at < out.length) {
    const id = out[at]!;
    const [size, body] = leb(out, at + 1);
    if (id === 2) {
      let [count, p] = leb(out, body);
      for (; count > 0; count--) {
        const [moduleLength, m] = leb(out, p);
        const [fieldLength, f] = leb(out, m + moduleLength);
        p = f + fieldLength;
        const kind = out[p++]!;
        if (kind === 2) {
          if (out[p] === 0x03) out[p] = 0x01;
          return out;
        }
        throw new Error(`unexpected import kind ${kind} in the kernels module`);
      }
    }
    at = body + size;
  }
  throw new Error('the kernels module imports no memory');
}
