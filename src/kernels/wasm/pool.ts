/**
 * Worker threads for the WebAssembly backend: the thread-count setting and a pool of workers
 * sharing the module's memory (jobs.ts has the protocol, worker.ts the worker's loop).
 *
 * Node: worker_threads (unref'd, so they never keep a process alive). Browsers: module Workers,
 * where the page is cross-origin isolated (shared memory needs it). Elsewhere, and where no
 * worker can start, the calling thread does all the work: a call never waits for a worker that
 * has not claimed a chunk, so a pool whose workers are still starting is merely slower.
 *
 * Workers are started when the thread count rises and kept when it falls (the surplus sleep,
 * ACTIVE says which take part), so no two workers ever share a GEMM scratch area.
 */
import { ConvnetError, show } from '../../errors.js';
import type { KernelExports, WasmMemory, WorkerInit } from './exports.js';
import { ACTIVE, CLAIM, DONE, ERROR, FLAGS, INPUT_READY, MAX_FLAGGED, READY, runChunks, STOP, WAKE, writeJob } from './jobs.js';

/** The most threads setThreads accepts. */
export const MAX_THREADS = 64;

let requested: number | undefined;
const listeners = new Set<(threads: number) => void>();

function hardwareThreads(): number {
  const g = globalThis as {
    navigator?: { hardwareConcurrency?: number };
    process?: { getBuiltinModule?: (name: string) => unknown };
  };
  const os = g.process?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
  const n = os?.availableParallelism?.() ?? g.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(MAX_THREADS, Math.floor(n)));
}

function parseThreads(fn: string, what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_THREADS) {
    throw new ConvnetError(fn, `expected ${what} to be an integer from 1 to ${MAX_THREADS}, got ${show(value)}`);
  }
  return value;
}

/** CONVNET_THREADS, else the number of cores. */
function defaultThreads(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.CONVNET_THREADS?.trim();
  if (env === undefined || env === '') return hardwareThreads();
  return parseThreads('getThreads', 'CONVNET_THREADS', /^\d+$/.test(env) ? Number(env) : env);
}

/** The number of threads the WebAssembly kernels use (the calling one included). */
export function getThreads(): number {
  requested ??= defaultThreads();
  return requested;
}

/**
 * Sets the number of threads the WebAssembly kernels use (1 to 64, the calling thread
 * included; default: CONVNET_THREADS, else the number of cores). Results do not depend on it.
 * Call it between layer calls, not from inside one.
 */
export function setThreads(threads: number): void {
  requested = parseThreads('setThreads', 'threads', threads);
  for (const listener of listeners) listener(requested);
}

/** Calls `listener` with the thread count now and whenever setThreads changes it. */
export function onThreads(listener: (threads: number) => void): void {
  listeners.add(listener);
  listener(getThreads());
}

interface WorkerHandle {
  terminate(): unknown;
}

type NodeWorkerConstructor = new (url: URL, options: { workerData: WorkerInit; execArgv: string[] }) => WorkerHandle & {
  unref(): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
};
type BrowserWorkerConstructor = new (url: URL, options: { type: 'module' }) => WorkerHandle & { postMessage(message: unknown): void };

/** This process's Node options without --input-type (and its value). */
function workerExecArgv(node: { execArgv?: string[] } | undefined): string[] {
  const options = node?.execArgv ?? [];
  const kept: string[] = [];
  for (let i = 0; i < options.length; i++) {
    if (options[i] === '--input-type') i++;
    else if (!options[i]!.startsWith('--input-type=')) kept.push(options[i]!);
  }
  return kept;
}

function spawn(init: WorkerInit, onError: () => void): WorkerHandle | undefined {
  const url = new URL('./worker.js', import.meta.url);
  const g = globalThis as { process?: { getBuiltinModule?: (name: string) => unknown; execArgv?: string[] }; Worker?: BrowserWorkerConstructor };
  const threads = g.process?.getBuiltinModule?.('node:worker_threads') as { Worker: NodeWorkerConstructor } | undefined;
  try {
    if (threads !== undefined) {
      // A worker inherits Node's options; --input-type (from `node --input-type=module -e ...`)
      // is valid only with --eval and would stop it at once.
      const worker = new threads.Worker(url, { workerData: init, execArgv: workerExecArgv(g.process) });
      worker.unref();
      worker.on('error', onError);
      return worker;
    }
    if (typeof g.Worker === 'function') {
      const worker = new g.Worker(url, { type: 'module' });
      worker.postMessage(init);
      return worker;
    }
  } catch {
    onError();
  }
  return undefined;
}

/** Polls of the done count before the calling thread sleeps on it. */
const SPIN = 2000;

/** The calling thread's part of a pipelined call (ThreadPool.run). */
export interface Pipeline {
  /** Stages chunk `chunk`'s inputs (called in chunk order, before the chunk may run). */
  input(chunk: number): void;
  /** Copies chunk `chunk`'s outputs out (called in chunk order, once the chunk is done). */
  output(chunk: number): void;
}

export class ThreadPool {
  private readonly workers: (WorkerHandle | undefined)[] = [];
  private generation = 0;
  /** Whether this thread may Atomics.wait (not a browser's main thread). */
  private canWait = true;
  private failed = 0;
  private stopped = false;
  /** Chunks run so far by this thread and by the workers (for tests and reports). */
  readonly chunks = { caller: 0, workers: 0 };

  constructor(
    private readonly module: object,
    private readonly memory: WasmMemory,
    private readonly exports: KernelExports,
    private readonly ctl: Int32Array,
    private readonly control: number,
  ) {}

  /** Workers that have started (and not failed or been stopped; a failure counts one off). */
  ready(): number {
    return this.stopped ? 0 : Math.max(0, Atomics.load(this.ctl, READY) - this.failed);
  }

  /** Workers neither started nor failed yet (0 once each has done one or the other). */
  pending(): number {
    return this.stopped ? 0 : Math.max(0, this.workers.length - Atomics.load(this.ctl, READY) - this.failed);
  }

  /**
   * Makes `threads − 1` workers take part, starting the missing ones; `workAt(slot)` is the
   * GEMM scratch of worker `slot` (0-based), reserved by the caller.
   */
  resize(threads: number, workAt: (slot: number) => number): void {
    if (this.stopped) return;
    const workers = threads - 1;
    for (let slot = this.workers.length; slot < workers; slot++) {
      const init: WorkerInit = { module: this.module, memory: this.memory, control: this.control, work: workAt(slot), slot };
      this.workers.push(spawn(init, () => this.failed++));
    }
    Atomics.store(this.ctl, ACTIVE, workers);
  }

  /**
   * Runs a call's `total` chunks on this thread and the active workers; returns when all are
   * done. With `pipeline`, this thread stages each chunk's inputs (input(c), in chunk order; the
   * workers start on the first chunks meanwhile) and copies each chunk's outputs out (output(c),
   * in chunk order, as chunks finish, between its own chunks): copies that only this thread can
   * make, since the data lives in arrays the workers cannot see.
   */
  run(work: number, kind: number, total: number, step: number, split: number, args: readonly number[], pipeline?: Pipeline): void {
    const ctl = this.ctl;
    if (pipeline !== undefined && total > MAX_FLAGGED) throw new Error(`a pipelined call has at most ${MAX_FLAGGED} chunks, got ${total}`);
    writeJob(ctl, kind, total, step, split, args, pipeline !== undefined);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERROR, 0);
    this.generation = (this.generation % 0x7fff) + 1;
    Atomics.store(ctl, CLAIM, this.generation << 16);
    Atomics.add(ctl, WAKE, 1);
    Atomics.notify(ctl, WAKE);
    const generation = this.generation;
    let copied = 0;
    /** Copies out the finished chunks in order; with `wait`, all of them. */
    const drain = (wait: boolean): void => {
      while (copied < total) {
        const flag = Atomics.load(ctl, FLAGS + copied);
        if (flag === generation) {
          pipeline!.output(copied++);
          continue;
        }
        if (!wait) return;
        if (this.canWait) {
          try {
            Atomics.wait(ctl, FLAGS + copied, flag, 1);
          } catch {
            this.canWait = false; // a browser's main thread: spin
          }
        }
      }
    };
    if (pipeline !== undefined) {
      try {
        for (let chunk = 0; chunk < total; chunk++) {
          pipeline.input(chunk);
          Atomics.store(ctl, INPUT_READY, chunk + 1);
        }
      } finally {
        Atomics.store(ctl, INPUT_READY, total); // never leave a worker waiting
      }
    }
    const mine = runChunks(this.exports, ctl, generation, work, 0, pipeline === undefined ? undefined : () => drain(false));
    if (pipeline !== undefined) drain(true);
    this.chunks.caller += mine;
    this.chunks.workers += total - mine;
    for (let spins = 0; ; spins++) {
      const done = Atomics.load(ctl, DONE);
      if (done >= total) break;
      if (spins < SPIN || !this.canWait) continue;
      try {
        Atomics.wait(ctl, DONE, done, 1);
      } catch {
        this.canWait = false; // a browser's main thread: spin
      }
    }
    if (Atomics.load(ctl, ERROR) !== 0) throw new Error('a WebAssembly kernel failed on a worker thread');
  }

  /** Stops the workers for good (tests): the calling thread does all the work afterwards. */
  terminate(): void {
    this.stopped = true;
    Atomics.store(this.ctl, ACTIVE, 0);
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, WAKE, 1);
    Atomics.notify(this.ctl, WAKE);
    for (const worker of this.workers) worker?.terminate();
  }
}
