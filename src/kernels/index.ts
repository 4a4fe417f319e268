/**
 * The kernels: the interface (types.ts), the pure-TypeScript implementation (js/), the
 * WebAssembly SIMD one (wasm/), the choice between them (backend.ts) and the layers' shared
 * scratch memory (workspace.ts).
 */
export type { ColumnGeometry, ConvBatchGeometry, FloatArray, GemmArgs, Kernels, PoolWindow } from './types.js';
export { jsKernels } from './js/index.js';
export { wasmKernels, wasmAvailable, wasmSimdSupported, wasmRelaxedSimdSupported, wasmThreadsReady, wasmTile, wasmVariant, wasmWorkersReady, loadWasm } from './wasm/index.js';
export { getKernels, setKernels, setBackend, getBackend, type Backend } from './backend.js';
export { workspace, workspaceBytes, releaseWorkspace } from './workspace.js';
export { setThreads, getThreads } from './wasm/pool.js';
