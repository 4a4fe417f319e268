/**
 * The fuzz worker (runner.ts starts it): imports the targets module and runs its calls in order,
 * reporting each call before making it. Imported anywhere but in a worker started by runFuzz
 * (e.g. by `node --test`, which runs every file under build/test), it does nothing.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runCall, type FuzzTarget } from './harness.js';
import type { WorkerJob, WorkerMessage } from './runner.js';

async function main(job: WorkerJob): Promise<void> {
  const post = (message: WorkerMessage): void => parentPort!.postMessage(message);
  const { targets } = (await import(job.targetsModule)) as { targets: FuzzTarget[] };
  let resuming = job.resume !== undefined;
  for (const target of targets) {
    if (job.only && job.only.target !== target.name) continue;
    if (resuming && target.name !== job.resume!.target) continue;
    const first = resuming ? job.resume!.index : (job.only?.index ?? 0);
    resuming = false;
    const last = job.only?.index ?? job.callsPerTarget - 1;
    for (let index = first; index <= last; index++) {
      // The call is announced (with its arguments) just before it is made, so that a hang can
      // be reported with its arguments.
      let started = false;
      const failures = runCall(target, job.seed, index, (args, note) => {
        started = true;
        post({ type: 'start', target: target.name, index, args, note });
      });
      if (!started) post({ type: 'start', target: target.name, index, args: '', note: 'the generator threw' });
      if (failures.length > 0) post({ type: 'failures', failures });
    }
  }
  post({ type: 'done' });
}

if (!isMainThread && parentPort !== null && (workerData as WorkerJob | undefined)?.targetsModule !== undefined) {
  main(workerData as WorkerJob).catch((error: unknown) => {
    parentPort!.postMessage({ type: 'fatal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies WorkerMessage);
  });
}
