/**
 * The kernels module's exports, and the part of the WebAssembly JavaScript API used here,
 * typed locally: the project's lib (ES2022, no DOM) declares none of it, and declaring it
 * globally would clash with the DOM's declarations in a consumer's build.
 */
export interface KernelExports {
  sgemm(
    transA: number, transB: number, m: number, n: number, k: number,
    a: number, lda: number, b: number, ldb: number, c: number, ldc: number,
    accumulate: number, work: number,
  ): void;
  im2col(
    x: number, channels: number, height: number, width: number, kernelH: number, kernelW: number,
    strideH: number, strideW: number, padTop: number, padLeft: number, dilationH: number, dilationW: number,
    outWidth: number, first: number, count: number, cols: number, ld: number,
  ): void;
  col2im(
    cols: number, channels: number, height: number, width: number, kernelH: number, kernelW: number,
    strideH: number, strideW: number, padTop: number, padLeft: number, dilationH: number, dilationW: number,
    outWidth: number, first: number, count: number, dx: number, ld: number,
  ): void;
  relu(x: number, n: number, out: number): void;
  maxPool2x2(x: number, planes: number, height: number, width: number, outHeight: number, outWidth: number, out: number, argmax: number): void;
  sumRows(src: number, rows: number, cols: number, sums: number): void;
  reluBackward(x: number, dout: number, n: number, dx: number): void;
  add(a: number, b: number, n: number, out: number): void;
  maxPoolBackward(dout: number, argmax: number, planes: number, windows: number, planeSize: number, dx: number): void;
  convForward(desc: number, first: number, count: number, p0: number, pn: number, slot: number, work: number): void;
  paddedSize(desc: number, channels: number): number;
  convBackward(desc: number, block: number, slot: number, work: number): void;
  sumBlocks(src: number, blocks: number, n: number, first: number, count: number, dst: number): void;
  channelMoments(x: number, n: number, c: number, s: number, c0: number, c1: number, mean: number, variance: number): void;
  channelSums(dout: number, x: number, n: number, c: number, s: number, c0: number, c1: number, centre: number, sums: number, dots: number): void;
  channelAffine(
    x: number, dout: number, n: number, c: number, s: number, c0: number, c1: number,
    centre: number, a: number, b: number, k: number, out: number,
  ): void;
  adamStep(
    w: number, g: number, m0: number, v0: number, first: number, count: number,
    beta1: number, beta2: number, stepScale: number, rootScale: number, eps: number,
    next: number, m: number, v: number,
  ): number;
  tileProbe(wide: number, kc: number, reps: number, work: number): void;
  CONV_WORDS: { value: number };
  MR: { value: number };
  NR: { value: number };
  WORK_BYTES: { value: number };
  WIDE_MR: { value: number };
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}

export const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Instantiates the kernels module on a memory. */
export function instantiate(module: object, memory: WasmMemory): KernelExports {
  if (wasmApi === undefined) throw new Error('this engine has no WebAssembly');
  return new wasmApi.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
}

/** What a worker needs to join: the compiled module, the shared memory and its places in it. */
export interface WorkerInit {
  module: object;
  memory: WasmMemory;
  /** Byte address of the control block (jobs.ts). */
  control: number;
  /** Byte address of this worker's GEMM scratch. */
  work: number;
  /** This worker's slot: it takes part in calls while slot < the control block's ACTIVE word. */
  slot: number;
}
