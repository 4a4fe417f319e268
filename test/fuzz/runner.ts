/**
 * Runs fuzz targets in a worker thread so that a call that never returns can be stopped: the
 * worker reports each call before making it; if one takes longer than `timeoutMs`, the worker is
 * terminated, a 'hang' failure is recorded for that call, and a new worker resumes at the next.
 *
 * `targetsModule` is the URL of a built module exporting `targets: FuzzTarget[]` (so a module
 * fuzz test is its own targets file plus a test that calls runFuzz with it).
 */
import { Worker } from 'node:worker_threads';
import type { Failure } from './harness.js';

export interface FuzzOptions {
  /** URL of the built module exporting `targets`. */
  targetsModule: URL;
  seed: number;
  /** Calls per target (a target may set its own weight: see FuzzTargetWeight). */
  callsPerTarget: number;
  /** Only this target (and only this call index, if given): to reproduce a failure. */
  only?: { target: string; index?: number };
  /** A call running longer than this is a hang. */
  timeoutMs: number;
}

export interface FuzzReport {
  seed: number;
  /** Calls made (a hung call counts). */
  calls: number;
  /** Calls per target. */
  perTarget: Record<string, number>;
  failures: Failure[];
  ms: number;
}

/** Messages from the worker. */
export type WorkerMessage =
  | { type: 'start'; target: string; index: number; args: string; note: string }
  | { type: 'failures'; failures: Failure[] }
  | { type: 'done' }
  | { type: 'fatal'; message: string };

/** What the worker is given. */
export interface WorkerJob {
  targetsModule: string;
  seed: number;
  callsPerTarget: number;
  only?: { target: string; index?: number };
  /** Resume at this target and call (after a hang). */
  resume?: { target: string; index: number };
}

export function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const report: FuzzReport = { seed: options.seed, calls: 0, perTarget: {}, failures: [], ms: 0 };
  const workerUrl = new URL('./worker.js', import.meta.url);

  return new Promise((resolve, reject) => {
    const launch = (resume?: { target: string; index: number }): void => {
      const job: WorkerJob = {
        targetsModule: options.targetsModule.href,
        seed: options.seed,
        callsPerTarget: options.callsPerTarget,
        ...(options.only ? { only: options.only } : {}),
        ...(resume ? { resume } : {}),
      };
      const worker = new Worker(workerUrl, { workerData: job });
      let current: { target: string; index: number; args: string; note: string; at: number } | undefined;
      let finished = false;
      const watchdog = setInterval(() => {
        if (finished || current === undefined || Date.now() - current.at <= options.timeoutMs) return;
        finished = true;
        clearInterval(watchdog);
        const hung = current;
        report.failures.push({
          target: hung.target,
          index: hung.index,
          kind: 'hang',
          message: `did not return within ${options.timeoutMs} ms`,
          args: hung.args,
          note: hung.note,
        });
        void worker.terminate().then(() => launch({ target: hung.target, index: hung.index + 1 }));
      }, 50);
      worker.on('message', (message: WorkerMessage) => {
        if (finished) return;
        switch (message.type) {
          case 'start':
            current = { ...message, at: Date.now() };
            report.calls += 1;
            report.perTarget[message.target] = (report.perTarget[message.target] ?? 0) + 1;
            break;
          case 'failures':
            report.failures.push(...message.failures);
            break;
          case 'done':
            finished = true;
            clearInterval(watchdog);
            report.ms = Date.now() - started;
            void worker.terminate().then(() => resolve(report));
            break;
          case 'fatal':
            finished = true;
            clearInterval(watchdog);
            void worker.terminate().then(() => reject(new Error(`fuzz worker: ${message.message}`)));
            break;
        }
      });
      worker.on('error', (error) => {
        if (finished) return;
        finished = true;
        clearInterval(watchdog);
        // An uncaught error or a crash inside a call: record it against that call and go on.
        if (current !== undefined) {
          const crashed = current;
          report.failures.push({
            target: crashed.target,
            index: crashed.index,
            kind: 'wrong-error',
            message: `the worker died: ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`,
            args: crashed.args,
            note: crashed.note,
          });
          launch({ target: crashed.target, index: crashed.index + 1 });
        } else {
          reject(error);
        }
      });
    };
    launch();
  });
}

/** Seed and size from the environment: CONVNET_FUZZ_SEED (an integer or 'random'), CONVNET_FUZZ_CALLS, CONVNET_FUZZ_TARGET, CONVNET_FUZZ_INDEX. */
export function fuzzSettings(defaults: { seed: number; callsPerTarget: number }): {
  seed: number;
  callsPerTarget: number;
  only?: { target: string; index?: number };
} {
  const env = process.env;
  const seedText = env.CONVNET_FUZZ_SEED;
  let seed = defaults.seed;
  if (seedText === 'random') seed = Math.floor(Math.random() * 2 ** 31);
  else if (seedText !== undefined && seedText !== '') {
    seed = Number(seedText);
    if (!Number.isSafeInteger(seed)) throw new Error(`CONVNET_FUZZ_SEED must be an integer or 'random', got ${seedText}`);
  }
  const calls = env.CONVNET_FUZZ_CALLS ? Number(env.CONVNET_FUZZ_CALLS) : defaults.callsPerTarget;
  if (!Number.isInteger(calls) || calls < 1) throw new Error(`CONVNET_FUZZ_CALLS must be a positive integer, got ${env.CONVNET_FUZZ_CALLS}`);
  const target = env.CONVNET_FUZZ_TARGET;
  const index = env.CONVNET_FUZZ_INDEX ? Number(env.CONVNET_FUZZ_INDEX) : undefined;
  return { seed, callsPerTarget: calls, ...(target ? { only: { target, ...(index !== undefined ? { index } : {}) } } : {}) };
}

