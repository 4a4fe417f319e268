/**
 * A worker thread of the WebAssembly backend (pool.ts starts it; Node's worker_threads or a
 * browser's module Worker). It instantiates the kernels module on the shared memory, then
 * loops: sleep until a call is published (WAKE changes), run chunks of it (jobs.ts), repeat.
 * It spins briefly before sleeping, since the layers issue calls back to back.
 */
import { ACTIVE, CLAIM, CONTROL_WORDS, READY, runChunks, STOP, WAKE } from './jobs.js';
import { instantiate, type WorkerInit } from './exports.js';

/** Atomics.load polls before Atomics.wait (a few microseconds). */
const SPIN = 4000;

function serve(init: WorkerInit): void {
  const exports = instantiate(init.module, init.memory);
  const ctl = new Int32Array(init.memory.buffer, init.control, CONTROL_WORDS);
  Atomics.add(ctl, READY, 1);
  let seen = Atomics.load(ctl, WAKE);
  for (;;) {
    let wake = Atomics.load(ctl, WAKE);
    for (let i = 0; i < SPIN && wake === seen; i++) wake = Atomics.load(ctl, WAKE);
    if (wake === seen) {
      Atomics.wait(ctl, WAKE, seen);
      continue;
    }
    seen = wake;
    if (Atomics.load(ctl, STOP) !== 0) return;
    if (init.slot < Atomics.load(ctl, ACTIVE)) runChunks(exports, ctl, Atomics.load(ctl, CLAIM) >>> 16, init.work, init.slot + 1);
  }
}

interface NodeWorkerThreads {
  isMainThread: boolean;
  workerData: WorkerInit;
}

const nodeProcess = (globalThis as { process?: { getBuiltinModule?: (name: string) => unknown } }).process;
const workerThreads = nodeProcess?.getBuiltinModule?.('node:worker_threads') as NodeWorkerThreads | undefined;
if (workerThreads !== undefined && !workerThreads.isMainThread) {
  serve(workerThreads.workerData);
} else {
  const scope = globalThis as unknown as { onmessage: ((event: { data: WorkerInit }) => void) | null };
  scope.onmessage = (event) => {
    scope.onmessage = null;
    serve(event.data);
  };
}
