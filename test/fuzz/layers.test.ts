/**
 * Seeded fuzz test of every layer function the package exports (targets: layerTargets.ts,
 * harness: harness.ts, runner.ts). Each call either returns what it should (for fast layers, the
 * naive layer's result within the fast tests' tolerances) or throws a ConvnetError naming the
 * function; never another error, never a hang, never a malformed tensor.
 *
 *   CONVNET_FUZZ_SEED=<integer> | random    the seed (default 20261127; printed with every failure)
 *   CONVNET_FUZZ_CALLS=<n>                  calls per target (default 48)
 *   CONVNET_FUZZ_TARGET=<name> [CONVNET_FUZZ_INDEX=<i>]   only that target (and call), to reproduce
 *   CONVNET_FUZZ_STRICT=1                   known failures (below) fail too
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as convnet from '../../src/index.js';
import { formatFailure, type Failure, type FailureKind } from './harness.js';
import { targets } from './layerTargets.js';
import { fuzzSettings, runFuzz, type FuzzReport } from './runner.js';

const settings = fuzzSettings({ seed: 20261127, callsPerTarget: 48 });
const strict = process.env.CONVNET_FUZZ_STRICT === '1';
const MIN_CALLS = 2000;

/**
 * Failures in files this branch may not change (another engineer is refactoring them): each
 * is reported as a diagnostic rather than failing the test, unless CONVNET_FUZZ_STRICT=1.
 * Remove an entry once its bug is fixed.
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
    target: /^(batchnorm|spatialBatchnorm|spatialGroupnorm)(Forward|Backward)$/,
    kind: 'misnamed-error',
    message: /naming "(batchnorm|spatialBatchnorm|spatialGroupnorm)(Forward|Backward)Naive"/,
    where: 'batchnormFast.ts, groupnormFast.ts: the fast layers name the naive function in their errors',
  },
  {
    target: /^globalMaxPool(Forward|Backward)$/,
    kind: 'misnamed-error',
    message: /naming "maxPool(Forward|Backward)Naive"/,
    where: 'pool.ts: the global max pool passes its arguments to maxPoolForwardNaive / maxPoolBackwardNaive, whose errors name themselves',
  },
  {
    target: /^conv(Forward|Backward)(Naive)?$|^(maxPool|avgPool)(Forward|Backward)(Naive)?$/,
    kind: 'misnamed-error',
    message: /naming "allocate"/,
    where: "conv.ts / pool.ts geometry: an output too large to allocate (e.g. huge padding) is caught by tensor.ts's allocation cap, named 'allocate'; convGeometry / poolGeometry should check N·F·Ho·Wo with assertAllocatable",
  },
  {
    target: /^(maxPool|avgPool)Forward(Naive)?$/,
    kind: 'hang',
    note: /huge window/,
    where: 'geometry.ts (assertWindowsTouchInput: O(Ho · kernel) work) and pool.ts / poolFast.ts / kernels (O(kernel) work per window): a 2^20–2^30 window with padding just under it never returns',
  },
  {
    target: /^(batchnorm|spatialBatchnorm)Forward$/,
    kind: 'hang',
    note: /huge-and-empty/,
    where: 'batchnormFast.ts / kernels: an empty x with a huge N (e.g. (2^31, 0)) loops over N',
  },
  {
    target: /^(batchnorm|spatialBatchnorm)Backward$/,
    kind: 'mismatch',
    message: /NaN in one only/,
    where: 'batchnormFast.ts: in test mode dx = a·dout + b·(x − mean) + k with b = 0 is NaN where x is ±Infinity (0·∞); the naive dx (gamma·invStd·dout) does not read x',
  },
  {
    target: /^(batchnorm|spatialBatchnorm)Forward$/,
    kind: 'mismatch',
    message: /scaledError .* \(float32\)/,
    where: 'batchnormFast.ts / kernels: float32 out = scale·(x − mean) + shift rounds the mean to float32, so with |mean| ≫ std (x ≈ 100 ± 1e-3) out is off by ~1e-3',
  },
  {
    target: /^conv(Forward|Backward)$/,
    kind: 'mismatch',
    message: /NaN in one only/,
    where: 'conv.ts vs convFast.ts: with ±Infinity in x or w, the fast layer multiplies padding zeros (0·∞ = NaN) where the naive layer skips them',
  },
  {
    target: 'affineBackward',
    kind: 'malformed-result',
    where: "affineFast.ts: affineBackward does not check that its cache's x and w agree (a conv cache gives dx with x.shape over N·F values); affine.ts's affineCacheGeometry does",
  },
  {
    target: 'affineBackward',
    kind: 'mismatch',
    message: /the cache of an affine forward/,
    where: "affineFast.ts: affineBackward does not check that its cache's x and w agree (affineCacheGeometry in affine.ts does)",
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

describe(`fuzz: every layer function (seed ${settings.seed})`, () => {
  let report: FuzzReport;

  before(async () => {
    report = await runFuzz({
      targetsModule: new URL('./layerTargets.js', import.meta.url),
      seed: settings.seed,
      callsPerTarget: settings.callsPerTarget,
      ...(settings.only ? { only: settings.only } : {}),
      timeoutMs: 1500,
    });
  });

  it(`makes at least ${MIN_CALLS} calls`, (t) => {
    t.diagnostic(`seed ${report.seed}: ${report.calls} calls in ${report.ms} ms, ${report.failures.length} failures`);
    if (settings.only) return;
    assert.ok(report.calls >= MIN_CALLS, `only ${report.calls} calls (seed ${report.seed})`);
    for (const target of targets) assert.equal(report.perTarget[target.name], settings.callsPerTarget, `${target.name}: calls`);
  });

  it('has a target for every layer function the package exports', () => {
    const exported = Object.entries(convnet)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k);
    const layerLike = exported.filter((k) => /(Forward|Backward|BackwardAlt|Naive|Loss)$/.test(k) || ['relu', 'leakyRelu', 'softmax', 'logSoftmax', 'flatten', 'gemm'].includes(k));
    // Sandwich layers (compositions of the layers here) belong to the models' own tests.
    const sandwiches = new Set(['affineReluForward', 'affineReluBackward', 'convReluForward', 'convReluBackward', 'convReluPoolForward', 'convReluPoolBackward', 'convBnReluForward', 'convBnReluBackward']);
    const names = new Set(targets.map((t) => t.name));
    const missing = layerLike.filter((k) => !sandwiches.has(k) && !names.has(k));
    assert.deepEqual(missing, [], 'exported layer functions without a fuzz target');
    for (const name of names) assert.ok(exported.includes(name), `target ${name} is not an export of the package`);
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
