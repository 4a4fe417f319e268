/**
 * ONNX conformance: every case of the operators in REQUIRED_OPS from the ONNX backend node tests
 * (../shared/conformance/onnx, read in place; CONVNET_ONNX_DIR overrides) runs through convnet's
 * layers in float32, one test per case named after it. 1-D / 3-D cases of windowed operators
 * and anything unsupported are listed with a reason in EXCLUDED (onnxCases.ts); the last test
 * checks that every vector file of those operators either ran or is listed there.
 *
 * Tolerance: |got − want| <= 1e-4·|want| + 1e-6 (see RTOL / ATOL in onnxCases.ts for why the
 * absolute term is needed with float32 vectors near zero; CASE_TOLERANCE there holds the one
 * vector with 4-decimal expected values, with its reason). The uint8 MaxPool case runs in
 * float64 after casting and is compared exactly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { convForward } from '../../src/layers/convFast.js';
import { avgPoolForward, maxPoolForward } from '../../src/layers/poolFast.js';
import { batchnormForward, spatialBatchnormForward } from '../../src/layers/batchnormFast.js';
import { spatialGroupnormForward } from '../../src/layers/groupnormFast.js';
import {
  ATOL,
  CASE_TOLERANCE,
  EXCLUDED,
  NAIVE_LAYERS,
  REQUIRED_OPS,
  RTOL,
  compareCheck,
  countByOp,
  decide,
  loadVectors,
  resolveOnnxDir,
  runCase,
  toleranceFor,
  type LayerSet,
  type OnnxCase,
} from './onnxCases.js';

interface Suite {
  /** prefixed to every test name ('' for the reference set) */
  prefix: string;
  label: string;
  layers: LayerSet;
}

/**
 * One suite per layer set; each runs every case. The fast set replaces only the layers it speeds
 * up (convFast.ts, poolFast.ts, batchnormFast.ts, groupnormFast.ts) and keeps the naive rest, so its other cases
 * run twice.
 */
const SUITES: Suite[] = [
  { prefix: '', label: 'naive layers', layers: NAIVE_LAYERS },
  {
    prefix: 'fast: ',
    label: 'fast layers',
    layers: {
      ...NAIVE_LAYERS,
      conv: convForward,
      maxPool: maxPoolForward,
      avgPool: avgPoolForward,
      batchnorm: batchnormForward,
      spatialBatchnorm: spatialBatchnormForward,
      spatialGroupnorm: spatialGroupnormForward,
    },
  },
];

const dir = resolveOnnxDir(import.meta.url);
const loaded = loadVectors(dir);

if (!loaded.ok) {
  // A missing directory is a failure, not a skip.
  test('ONNX conformance vectors are present', () => {
    assert.fail(loaded.message);
  });
} else {
  const { cases, files, indexCounts } = loaded.vectors;
  const toRun: OnnxCase[] = cases.filter((c) => decide(c).kind === 'run');
  /** suite prefix → names of the cases whose test ran */
  const ran = new Map<string, Set<string>>(SUITES.map((s) => [s.prefix, new Set<string>()]));

  for (const suite of SUITES) {
    describe(`ONNX conformance (${suite.label})`, () => {
      for (const c of toRun) {
        test(`${suite.prefix}${c.name}`, () => {
          ran.get(suite.prefix)!.add(c.name); // attempted: a throw fails this test, not the coverage test
          const checks = runCase(c, suite.layers);
          const tolerance = toleranceFor(c.name);
          const problems = checks.map((check) => compareCheck(check, tolerance)).filter((m): m is string => m !== null);
          assert.ok(checks.length > 0, 'no output was compared');
          if (problems.length > 0) assert.fail(`${c.name} (${c.op}, ${suite.label}):\n  ${problems.join('\n  ')}`);
        });
      }
    });
  }

  test('ONNX conformance: every case of the required operators ran or is listed as excluded', (t) => {
    const byName = new Map(cases.map((c) => [c.name, c]));
    const problems: string[] = [];

    // The directory holds what INDEX.md promises for these operators (no file went missing).
    for (const op of REQUIRED_OPS) {
      const found = cases.filter((c) => c.op === op).length;
      const promised = indexCounts.get(op);
      if (promised === undefined) problems.push(`INDEX.md lists no count for ${op}`);
      else if (found !== promised) problems.push(`${op}: ${found} JSON files, INDEX.md says ${promised}`);
    }

    // Every excluded entry is a real case, of its operator, excluded for the stated kind.
    const excludedNames = new Set<string>();
    for (const e of EXCLUDED) {
      if (excludedNames.has(e.name)) problems.push(`${e.name} is listed twice in EXCLUDED`);
      excludedNames.add(e.name);
      const c = byName.get(e.name);
      if (c === undefined) problems.push(`EXCLUDED lists ${e.name}, which is not a ${e.op} case in ${dir}`);
      else if (c.op !== e.op) problems.push(`EXCLUDED lists ${e.name} as ${e.op}, but its op is ${c.op}`);
      else if (decide(c).kind !== e.kind) problems.push(`EXCLUDED lists ${e.name} as ${e.kind}, but the harness decides ${decide(c).kind}`);
    }

    // Every per-case tolerance names a case that runs.
    for (const name of Object.keys(CASE_TOLERANCE)) {
      const c = byName.get(name);
      if (c === undefined || decide(c).kind !== 'run') problems.push(`CASE_TOLERANCE names ${name}, which is not a case that runs`);
    }

    // Every case either ran in every suite, or is in EXCLUDED: nothing is skipped silently.
    for (const c of cases) {
      const d = decide(c);
      if (d.kind === 'run') {
        for (const s of SUITES) {
          if (!ran.get(s.prefix)!.has(c.name)) problems.push(`${s.prefix}${c.name} did not run (${s.label})`);
        }
      } else if (!excludedNames.has(c.name)) {
        problems.push(`${c.name} (${c.op}) is decided "${d.kind}" but not listed in EXCLUDED`);
      }
    }

    const names = toRun.map((c) => c.name);
    t.diagnostic(
      `ONNX conformance: ${toRun.length} of ${cases.length} cases of ${REQUIRED_OPS.length} operators ran per suite ` +
        `(${SUITES.map((s) => s.label).join(', ')}; ${files.length} JSON files in ${dir}); ` +
        `tolerance rtol ${RTOL}, atol ${ATOL} (${Object.keys(CASE_TOLERANCE).length} case(s) with their own); ${EXCLUDED.length} excluded. Per operator: ${countByOp(names, cases)}`,
    );
    assert.deepEqual(problems, []);
  });
}
