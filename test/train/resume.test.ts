// Checkpoints resume exactly: a run stopped and resumed ends with the same parameters, histories
// and best parameters as the run that never stopped, whatever the update rule, with dropout,
// batch norm and augmentation drawing random numbers along the way.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConvNet } from '../../src/models/spec.js';
import type { Network } from '../../src/models/network.js';
import { randomShift } from '../../src/train/augment.js';
import { Solver, type SolverOptions, type TrainingData } from '../../src/train/solver.js';
import { smallMnist } from './smallMnist.js';
import { assertThrowsConvnet } from '../helpers.js';
import type { UpdateRuleName } from '../../src/train/optim.js';

const data: TrainingData = smallMnist();

const makeModel = (): Network => new ConvNet({ spec: 'conv(4,3)-bn-relu-pool-fc(16)-relu-dropout(0.7)-fc(10)', inputDim: [1, 28, 28], seed: 3 });

function options(rule: UpdateRuleName, numEpochs: number, extra: SolverOptions = {}): SolverOptions {
  return {
    updateRule: rule,
    optimConfig: { learningRate: rule === 'sgd' || rule === 'sgd_momentum' ? 0.05 : 2e-3 },
    lrDecay: 0.9,
    batchSize: 25,
    numEpochs,
    numTrainSamples: 50,
    numValSamples: 60,
    augment: randomShift(1),
    seed: 5,
    verbose: false,
    ...extra,
  };
}

function assertSameRun(a: { solver: Solver; model: Network }, b: { solver: Solver; model: Network }): void {
  assert.deepEqual(b.solver.lossHistory, a.solver.lossHistory, 'loss history');
  assert.deepEqual(b.solver.trainAccHistory, a.solver.trainAccHistory, 'train accuracy history');
  assert.deepEqual(b.solver.valAccHistory, a.solver.valAccHistory, 'validation accuracy history');
  assert.deepEqual(b.solver.checkIterations, a.solver.checkIterations);
  assert.equal(b.solver.bestValAcc, a.solver.bestValAcc);
  for (const name of Object.keys(a.model.params)) assert.deepEqual(Array.from(b.model.params[name]!.data), Array.from(a.model.params[name]!.data), `param ${name}`);
  for (const name of Object.keys(a.model.buffers)) assert.deepEqual(Array.from(b.model.buffers[name]!.data), Array.from(a.model.buffers[name]!.data), `buffer ${name}`);
}

async function uninterrupted(rule: UpdateRuleName): Promise<{ solver: Solver; model: Network }> {
  const model = makeModel();
  const solver = new Solver(model, data, options(rule, 4));
  await solver.train();
  return { solver, model };
}

describe('checkpoints resume exactly', () => {
  for (const rule of ['adam', 'sgd_momentum', 'rmsprop', 'sgd'] as const) {
    test(`${rule}: 2 epochs, then resume to 4 = 4 epochs`, async () => {
      const whole = await uninterrupted(rule);
      let last: Uint8Array | undefined;
      const first = new Solver(makeModel(), data, options(rule, 2, { onCheckpoint: (bytes) => void (last = bytes) }));
      await first.train();
      const model = makeModel();
      const resumed = new Solver(model, data, options(rule, 4, { resume: last! }));
      await resumed.train();
      assertSameRun(whole, { solver: resumed, model });
    });
  }

  test('stopped in the middle of an epoch (the stop checkpoint), then resumed', async () => {
    const whole = await uninterrupted('adam');
    let stopCheckpoint: Uint8Array | undefined;
    const first: Solver = new Solver(makeModel(), data, options('adam', 4, {
      onIteration: (r) => {
        if (r.iteration === 13) first.stop();
      },
      onCheckpoint: (bytes, reason) => {
        if (reason === 'stop') stopCheckpoint = bytes;
      },
    }));
    const result = await first.train();
    assert.equal(result.stopped, true);
    assert.equal(first.lossHistory.length, 13);
    const model = makeModel();
    const resumed = new Solver(model, data, options('adam', 4, { resume: stopCheckpoint! }));
    await resumed.train();
    assertSameRun(whole, { solver: resumed, model });
  });

  test('resuming with other settings, or another model, is an error naming the difference', async () => {
    let last: Uint8Array | undefined;
    await new Solver(makeModel(), data, options('adam', 1, { onCheckpoint: (bytes) => void (last = bytes) })).train();
    assertThrowsConvnet(() => new Solver(makeModel(), data, options('adam', 2, { resume: last!, batchSize: 50 })), /batchSize of the run being resumed \(25\), got 50/);
    assertThrowsConvnet(() => new Solver(makeModel(), data, options('rmsprop', 2, { resume: last! })), /updateRule of the run being resumed \("adam"\), got "rmsprop"/);
    const other = new ConvNet({ spec: 'conv(4,3)-relu-pool-fc(10)', inputDim: [1, 28, 28], seed: 3 });
    assertThrowsConvnet(() => new Solver(other, data, options('adam', 2, { resume: last! })), /model the checkpoint was made with/);
    assertThrowsConvnet(() => new Solver(makeModel(), data, options('adam', 2, { resume: new Uint8Array([1, 2, 3]) })), /the checkpoint/);
  });

  test('a loss that grows past 100× its first value stops training, naming the iteration and learning rate', async () => {
    const model = new ConvNet({ spec: 'conv(4,3)-relu-pool-fc(10)', inputDim: [1, 28, 28], seed: 3 });
    await assert.rejects(
      new Solver(model, data, { updateRule: 'sgd', optimConfig: { learningRate: 1e4 }, batchSize: 25, numEpochs: 3, verbose: false }).train(),
      /Solver\.train: expected (the loss to stay below 100× the first iteration's .*|a finite loss, got .*) at iteration \d+ \(epoch \d, learning rate 10000\); training diverged/,
    );
  });
});
