/**
 * Seeded fuzz test of every module and model the package exports (targets: moduleTargets.ts,
 * harness: harness.ts, runner.ts): each class's constructor with valid and broken options, each
 * module's forward and backward (against the layer functions called directly with the module's
 * parameters), buildModule, each model's constructor, forward, loss and inputGradient, and
 * buildModel. Each call either returns what it should or throws a ConvnetError naming the
 * function (or the layer it runs); never another error, never a hang, never a wrong shape.
 *
 *   CONVNET_FUZZ_SEED=<integer> | random    the seed (default 20261128; printed with every failure)
 *   CONVNET_FUZZ_CALLS=<n>                  calls per target (default 20)
 *   CONVNET_FUZZ_TARGET=<name> [CONVNET_FUZZ_INDEX=<i>]   only that target (and call), to reproduce
 *   CONVNET_FUZZ_STRICT=1                   known failures (below) fail too
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as convnet from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { formatFailure, type Failure, type FailureKind } from './harness.js';
import { targets } from './moduleTargets.js';
import { fuzzSettings, runFuzz, type FuzzReport } from './runner.js';

const settings = fuzzSettings({ seed: 20261128, callsPerTarget: 20 });
const strict = process.env.CONVNET_FUZZ_STRICT === '1';
/** The module fuzz's share of the fuzz budget (the layer fuzz makes 2,640 calls). */
const MIN_CALLS = 1000;
/**
 * Run time stays modest: module calls build small modules and tensors (3–6 s alone on this
 * project's machine, most of it the references). `node --test` runs test files concurrently,
 * so the hard limit is three times the 10 s budget; a known hang costs its 1.5 s timeout.
 */
const BUDGET_MS = 10_000;
const MAX_MS = 3 * BUDGET_MS;

/**
 * Failures caused by files this branch may not change (src/layers, src/kernels, src/tensor.ts,
 * src/validate.ts: another engineer is fixing layer-level bugs there): each is reported as a
 * diagnostic rather than failing the test, unless CONVNET_FUZZ_STRICT=1. Remove an entry once
 * its bug is fixed.
 */
interface KnownFailure {
  target: string | RegExp;
  kind: FailureKind;
  /** Matched against the failure's message. */
  message?: RegExp;
  /** Matched against the case's note. */
  note?: RegExp;
  where: string;
}

const KNOWN_FAILURES: KnownFailure[] = [
  {
    // Reproduce: new BatchNorm({ features: 3 }).forward(tensor([1, 2], [1, 2]), 'train')
    //   → ConvnetError "batchnormForwardNaive: expected gamma to have 2 elements (D), got shape [3]"
    target: /^(BatchNorm|BatchNorm2d|GroupNorm|Sequential|Residual)\.(forward|backward)$|^(ConvNet|FullyConnectedNet|Network)\./,
    kind: 'misnamed-error',
    message: /naming "(batchnorm|spatialBatchnorm|spatialGroupnorm)(Forward|Backward)Naive"/,
    where: 'batchnormFast.ts, groupnormFast.ts: the fast layers the norm modules call name the naive function in their errors (also in layers.test.ts)',
  },
  {
    // Reproduce: new GlobalMaxPool().forward({ shape: [1, 0, 2, 2], data: new Float32Array(0), dtype: 'float32' }, 'test')
    //   → ConvnetError "maxPoolForwardNaive: expected a non-empty x, got shape [1, 0, 2, 2]"
    target: /^(GlobalMaxPool|Sequential|Residual)\.(forward|backward)$/,
    kind: 'misnamed-error',
    message: /naming "maxPool(Forward|Backward)Naive"/,
    where: 'pool.ts: the global max pool passes its arguments to maxPoolForwardNaive / maxPoolBackwardNaive, whose errors name themselves (also in layers.test.ts)',
  },
  {
    // Reproduce: new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: 1, pad: 1 }).forward({ shape: [3, 1, 0, 2 ** 40], data: new Float32Array(0), dtype: 'float32' }, 'test')
    //   → ConvnetError "allocate: expected an array of at most 2^31 − 1 elements, got 6597069766668 elements"
    target: /^(Conv2d|Sequential|Residual)\.(forward|backward)$/,
    kind: 'misnamed-error',
    message: /naming "allocate"/,
    where: "conv.ts / convFast.ts geometry: an output too large to allocate (here from an empty x with a huge dimension) is caught by tensor.ts's allocation cap, named 'allocate' (also in layers.test.ts)",
  },
  {
    // Reproduce: new BatchNorm2d({ features: 2 }).forward({ shape: [2 ** 31, 2, 5, 0], data: new Float64Array(0), dtype: 'float64' }, 'test')
    //   (with float64 parameters: { dtype: 'float64' }) — never returns
    target: /^(BatchNorm|BatchNorm2d|Sequential|Residual)\.(forward|backward)$/,
    kind: 'hang',
    note: /huge-and-empty/,
    where: 'batchnormFast.ts / kernels: an empty x with a huge N (e.g. (2^31, 2, 5, 0)) loops over N (also in layers.test.ts)',
  },
];

function known(f: Failure): KnownFailure | undefined {
  return KNOWN_FAILURES.find(
    (k) =>
      (typeof k.target === 'string' ? k.target === f.target : k.target.test(f.target)) &&
      k.kind === f.kind &&
      (k.message === undefined || k.message.test(f.message)) &&
      (k.note === undefined || k.note.test(f.note)),
  );
}

describe(`fuzz: every module and model (seed ${settings.seed})`, () => {
  let report: FuzzReport;

  before(async () => {
    report = await runFuzz({
      targetsModule: new URL('./moduleTargets.js', import.meta.url),
      seed: settings.seed,
      callsPerTarget: settings.callsPerTarget,
      ...(settings.only ? { only: settings.only } : {}),
      timeoutMs: 1500,
    });
  });

  it(`makes at least ${MIN_CALLS} calls in about ${BUDGET_MS / 1000} s`, (t) => {
    t.diagnostic(`seed ${report.seed}: ${report.calls} calls in ${report.ms} ms, ${report.failures.length} failures`);
    if (report.ms > BUDGET_MS) t.diagnostic(`over the ${BUDGET_MS} ms budget (a loaded machine, or known hangs?)`);
    if (settings.only) return;
    for (const target of targets) assert.equal(report.perTarget[target.name], settings.callsPerTarget, `${target.name}: calls`);
    if (settings.callsPerTarget !== 20) return; // CONVNET_FUZZ_CALLS changes the budget
    assert.ok(report.calls >= MIN_CALLS, `only ${report.calls} calls (seed ${report.seed})`);
    assert.ok(report.ms < MAX_MS, `${report.calls} calls took ${report.ms} ms (seed ${report.seed})`);
  });

  it('has targets for every module class, buildModule, every model class and buildModel', () => {
    const names = new Set(targets.map((t) => t.name));
    const classes = Object.entries(nn)
      .filter(([k, v]) => typeof v === 'function' && /^[A-Z]/.test(k) && v !== nn.Module)
      .map(([k]) => k);
    assert.ok(classes.length >= 16, `module classes: ${classes.join(', ')}`);
    const wanted = [
      ...classes.flatMap((c) => [`new ${c}`, `${c}.forward`, `${c}.backward`]),
      'buildModule',
      ...['ThreeLayerConvNet', 'FullyConnectedNet', 'ConvNet', 'Network'].flatMap((m) => [`new ${m}`, `${m}.forward`, `${m}.loss`, `${m}.inputGradient`]),
      'buildModel',
    ];
    assert.deepEqual(wanted.filter((w) => !names.has(w)), [], 'exports without a fuzz target');
    for (const m of ['ThreeLayerConvNet', 'FullyConnectedNet', 'ConvNet', 'Network', 'buildModel', 'buildModule']) assert.equal(typeof (convnet as Record<string, unknown>)[m], 'function', m);
  });

  for (const target of targets) {
    if (settings.only && settings.only.target !== target.name) continue;
    it(`${target.name}: returns the right result or throws a ConvnetError`, (t) => {
      const failures = report.failures.filter((f) => f.target === target.name);
      const unexpected: Failure[] = [];
      for (const f of failures) {
        const k = known(f);
        if (k && !strict) t.diagnostic(`known failure (${k.where}): ${formatFailure(f, report.seed)}`);
        else unexpected.push(f);
      }
      assert.ok(
        unexpected.length === 0,
        `${unexpected.length} of ${report.perTarget[target.name] ?? 0} calls failed (seed ${report.seed}):\n${unexpected
          .slice(0, 8)
          .map((f) => formatFailure(f, report.seed))
          .join('\n')}`,
      );
    });
  }
});
