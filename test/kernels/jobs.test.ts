/**
 * The chunk protocol between the calling thread and the workers (jobs.ts), driven by hand on one
 * thread: a worker that read the last call's CLAIM word and then slept claims nothing of the
 * next call, however far the caller has got in writing it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KernelExports } from '../../src/kernels/wasm/exports.js';
import { CLAIM, CONTROL_WORDS, DONE, GEMM, runChunks, writeJob } from '../../src/kernels/wasm/jobs.js';

/** Fake kernels: GEMM chunks are counted, nothing is computed. */
function counting(): { exports: KernelExports; calls: number[] } {
  const calls: number[] = [];
  const exports = { sgemm: (_tA: number, _tB: number, rows: number) => calls.push(rows) } as unknown as KernelExports;
  return { exports, calls };
}

function control(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
}

/** Publishes the written call as generation `generation`, as ThreadPool.run does. */
function publish(ctl: Int32Array, generation: number): void {
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, CLAIM, generation << 16);
}

// GEMM args: transA, transB, m, n, k, A, lda, B, ldb, C, ldc, accumulate (rows split by `step`).
const gemmArgs = (m: number): number[] => [0, 0, m, 4, 4, 0, 4, 0, 4, 0, 4, 0];

describe('wasm job protocol', () => {
  test('a published call runs every chunk once, and DONE counts them', () => {
    const ctl = control();
    const { exports, calls } = counting();
    writeJob(ctl, GEMM, 5, 2, 0, gemmArgs(10), false);
    publish(ctl, 7);
    assert.equal(runChunks(exports, ctl, 7, 0, 0), 5);
    assert.deepEqual(calls, [2, 2, 2, 2, 2]);
    assert.equal(Atomics.load(ctl, DONE), 5);
    assert.equal(runChunks(exports, ctl, 7, 0, 0), 0, 'nothing left to claim');
  });

  test("a worker still holding the last call's generation claims nothing of the call being written", () => {
    const ctl = control();
    const { exports, calls } = counting();
    // Call 3 had 2 chunks, both claimed and done; a worker read CLAIM = (3, 2) and slept.
    writeJob(ctl, GEMM, 2, 5, 0, gemmArgs(10), false);
    publish(ctl, 3);
    assert.equal(runChunks(exports, ctl, 3, 0, 0), 2);
    // The caller writes call 4 (5 chunks), not yet published: the sleeper wakes with generation 3.
    writeJob(ctl, GEMM, 5, 2, 0, gemmArgs(10), false);
    assert.equal(runChunks(exports, ctl, 3, 0, 1), 0);
    // A worker that reads CLAIM while it is closed gets generation 0: nothing to run either.
    assert.equal(runChunks(exports, ctl, Atomics.load(ctl, CLAIM) >>> 16, 0, 1), 0);
    assert.equal(Atomics.load(ctl, CLAIM), 0);
    publish(ctl, 4);
    assert.equal(runChunks(exports, ctl, 3, 0, 1), 0, 'a stale generation never runs a chunk of call 4');
    assert.equal(runChunks(exports, ctl, 4, 0, 0), 5);
    assert.equal(Atomics.load(ctl, DONE), 5);
    assert.deepEqual(calls, [5, 5, 2, 2, 2, 2, 2]);
  });
});
