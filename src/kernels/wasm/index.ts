/**
 * The WebAssembly SIMD backend: float32 GEMM, im2col, col2im, whole convolution layers
 * (forward split over threads by image, backward by fixed blocks of images), 2×2 max pooling,
 * ReLU, row sums, the per-channel norm kernels and Adam's update in WebAssembly
 * (src/kernels/wasm/assembly/kernels.ts, shipped compiled in binary.ts), split over worker
 * threads; float64 calls, and the kernels where a copy into WebAssembly memory would cost more
 * than the work (other pooling, bias fills, column sums), run the JavaScript kernels.
 *
 * Files, by job:
 *   load.ts        engine probes (SIMD, relaxed SIMD, Node 20's flag), decoding and compiling
 *                  the embedded module, the unshared-memory variant of it
 *   memory.ts      the linear memory's layout, growth, per-call staging, the layers' scratch
 *   runtime.ts     one module instance with its memory and threads; the kernels over it
 *   conv.ts        whole conv layers in one call (the batch conv capability)
 *   descriptor.ts  the conv descriptor's layout, shared with the AssemblyScript
 *   facade.ts      the Kernels table over the default runtime, createWasmKernels, status
 *   pool.ts, jobs.ts, worker.ts   the worker threads and the protocol that splits a call
 *   exports.ts     the module's exports and the WebAssembly API, typed
 *
 * Loading is synchronous (new WebAssembly.Module on the embedded bytes), so the API stays
 * synchronous; it happens on first use (loadWasm() compiles ahead, asynchronously, for browser
 * main threads, which refuse to compile a module this size synchronously).
 */
export { unsharedModuleBytes, wasmRelaxedSimdSupported, wasmSimdSupported } from './load.js';
export type { TileProbe, WasmKernelOptions } from './runtime.js';
export {
  createWasmKernels,
  loadWasm,
  releaseWasmScratch,
  wasmAvailable,
  wasmChunkCounts,
  wasmKernels,
  wasmLoadError,
  wasmMemoryBytes,
  wasmScratchBytes,
  wasmThreadsReady,
  wasmTile,
  wasmVariant,
  wasmWorkersReady,
  type WasmKernelInstance,
} from './facade.js';
