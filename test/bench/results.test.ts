// `npm run results`: the aggregation (mean, sample standard deviation, formatting, the table)
// and the runner end to end on a tiny row.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { temporaryDirectory } from '../helpers.js';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { commandLine, formatAccuracy, formatRate, formatTime, markdownTable, parseArgs, ROWS, selectRows, summarize, type ResultRow, type RowResult, type RunMetrics } from '../../bench/results.js';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results.js');

describe('results aggregation', () => {
  test('summarize: mean and the sample standard deviation (n − 1); one value has sd 0', () => {
    const s = summarize([0.98, 0.99, 1.0]);
    assert.ok(Math.abs(s.mean - 0.99) < 1e-15);
    assert.ok(Math.abs(s.sd - 0.01) < 1e-15);
    assert.equal(s.n, 3);
    assert.deepEqual(summarize([2]), { mean: 2, sd: 0, n: 1 });
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(v − 5)² = 32, sd √(32/7).
    assert.ok(Math.abs(summarize([2, 4, 4, 4, 5, 5, 7, 9]).sd - Math.sqrt(32 / 7)) < 1e-15);
    assert.throws(() => summarize([]), /at least one value/);
  });

  test('formats: accuracy in percent with two decimals, time in s or min, rates with thousands separators', () => {
    assert.equal(formatAccuracy({ mean: 0.98933, sd: 0.0012, n: 3 }), '98.93 ± 0.12%');
    assert.equal(formatTime({ mean: 35.4, sd: 1.6, n: 3 }), '35 ± 2 s');
    assert.equal(formatTime({ mean: 318, sd: 12, n: 3 }), '5.3 ± 0.2 min');
    assert.equal(formatRate({ mean: 2589.4, sd: 40.2, n: 3 }), '2,589 ± 40');
  });

  test('commandLine quotes what a shell would split or expand', () => {
    assert.equal(commandLine(['--model', '[conv(8,3)-relu]x2-fc(10)', '--lr', '2e-3']), "npx convnet train --model '[conv(8,3)-relu]x2-fc(10)' --lr 2e-3");
    assert.equal(commandLine([]), 'npx convnet train');
  });

  const run = (seed: number, testAcc: number, wallTimeSeconds: number, imagesPerSecond: number): RunMetrics => ({ seed, testAcc, wallTimeSeconds, imagesPerSecond, commit: 'c'.repeat(40), cpu: 'AMD EPYC', threads: 2, backend: 'wasm', variant: 'relaxed-simd' });
  const rows: ResultRow[] = [
    { id: 'a', label: 'row a', args: ['--epochs', '1'] },
    { id: 'b', label: 'row b', args: ['--model', 'fc'], unavailable: () => 'no data here' },
    { id: 'c', label: 'row c', args: [] },
  ];

  test('markdownTable: one line per row, measured rows as mean ± sd, the others with their command and "not re-run in this table"', () => {
    const results: Record<string, RowResult> = {
      a: { id: 'a', command: 'npx convnet train --epochs 1', date: '2026-12-02T07:00:00.000Z', load: [1.5, 2.2], runs: [run(0, 0.98, 30, 2000), run(1, 0.99, 32, 2100), run(2, 1.0, 34, 2200)] },
    };
    const table = markdownTable(rows, results);
    const lines = table.trim().split('\n');
    assert.match(lines[0]!, /^Measured 2026-12-02 by `npm run results` \(convnet cccccccccc; AMD EPYC\)/);
    assert.equal(lines[4], '| row a | `npx convnet train --epochs 1` | 99.00 ± 1.00% | 32 ± 2 s | 2,100 ± 100 | 0, 1, 2 | wasm (relaxed-simd), 2 threads | 1.5 → 2.2 |');
    assert.equal(lines[5], '| row b | `npx convnet train --model fc` | not re-run in this table (no data here) | | | | | |');
    assert.equal(lines[6], '| row c | `npx convnet train` | not re-run in this table | | | | | |');
    assert.equal(lines[2], '| row | command | test accuracy | wall time | images/s | seeds | kernels | load |');
    assert.equal(lines.length, 7);
  });

  test('selectRows and parseArgs: ids, seeds, extra flags; unknown ones are errors naming what is known', () => {
    assert.deepEqual(selectRows(rows, 'c,a').map((r) => r.id), ['a', 'c']);
    assert.equal(selectRows(rows, undefined).length, 3);
    assert.throws(() => selectRows(rows, 'a,zz'), /unknown row zz; the rows are a, b, c/);
    assert.deepEqual(parseArgs([]), { seeds: 3, dryRun: false, jobs: 1, extra: [], out: 'bench/results.md' });
    assert.deepEqual(parseArgs(['--seeds', '5', '--rows', 'default', '--dry-run', '--jobs', '2', '--extra', '--epochs 1  --num-train 200', '--out', 'x.md']), { seeds: 5, rows: 'default', dryRun: true, jobs: 2, extra: ['--epochs', '1', '--num-train', '200'], out: 'x.md' });
    assert.equal(parseArgs(['--table']).table, true);
    assert.throws(() => parseArgs(['--jobs', '0']), /--jobs must be a whole number >= 1, got '0'/);
    assert.throws(() => parseArgs(['--seeds', '0']), /--seeds must be a whole number >= 1, got '0'/);
    assert.throws(() => parseArgs(['--bogus']), /unknown option --bogus/);
  });

  test("the README's rows are all there, each id once", () => {
    const ids = ROWS.map((r) => r.id);
    assert.deepEqual(ids, [...new Set(ids)]);
    for (const id of ['default', 'pure-ts', 'spec', '99', '99-nodrop', 'fashion', 'fashion-res']) assert.ok(ids.includes(id), id);
  });
});

describe('npm run results, end to end', () => {
  test('--rows default --seeds 2 --jobs 2 on a tiny run: the table is the mean ± sd of the two metrics.json files', () => {
    const dir = temporaryDirectory('convnet-results-test-');
    const out = join(dir, 'table.md');
    const work = join(dir, 'runs');
    const run = spawnSync(process.execPath, [script, '--rows', 'default', '--seeds', '2', '--jobs', '2', '--extra', '--epochs 1 --num-train 200 --threads 1', '--out', out, '--work', work], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(run.status, 0, run.stderr);
    const metrics = [0, 1].map((seed) => JSON.parse(readFileSync(join(work, `default-seed${seed}`, 'metrics.json'), 'utf8')));
    assert.deepEqual(metrics.map((m) => m.seed), [0, 1]);
    const table = readFileSync(out, 'utf8');
    const expected = `| ${ROWS[0]!.label} | \`npx convnet train --epochs 1 --num-train 200 --threads 1\` | ${formatAccuracy(summarize(metrics.map((m) => m.testAcc)))} | ${formatTime(summarize(metrics.map((m) => m.wallTimeSeconds)))} | ${formatRate(summarize(metrics.map((m) => m.imagesPerSecond)))} | 0, 1 | wasm (relaxed-simd), 1 thread |`;
    assert.match(table, /\(2 seeds at once\) \|\n/);
    assert.ok(table.includes(expected), `${table}\nexpected a line starting ${expected}`);
    assert.match(table, /\| recipe for 99%: .* \| `npx convnet train --model .*` \| not re-run in this table/);
    assert.ok(run.stdout.includes(table.trim().split('\n').at(-1)!), 'the table is printed too');
    const json = JSON.parse(readFileSync(join(dir, 'table.json'), 'utf8'));
    assert.deepEqual(Object.keys(json), ['default']);
    assert.equal(json.default.runs.length, 2);
    // --table writes the same table again from results.json, training nothing.
    const again = spawnSync(process.execPath, [script, '--table', '--out', out, '--work', join(dir, 'none')], { encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(readFileSync(out, 'utf8'), table);
    assert.ok(!existsSync(join(dir, 'none', 'default-seed0')));
  });

  test('with --work, a finished run of the same command and commit is kept; a missing, cut short or different one is run (again)', () => {
    const dir = temporaryDirectory('convnet-results-test-');
    const out = join(dir, 'table.md');
    const work = join(dir, 'runs');
    const tiny = '--epochs 1 --num-train 100 --threads 1';
    const results = (extra: string): SpawnSyncReturns<string> =>
      spawnSync(process.execPath, [script, '--rows', 'default', '--seeds', '2', '--extra', extra, '--out', out, '--work', work], { encoding: 'utf8', timeout: 300_000 });
    const metricsOf = (seed: number): string => readFileSync(join(work, `default-seed${seed}`, 'metrics.json'), 'utf8');
    const first = results(tiny);
    assert.equal(first.status, 0, first.stderr);
    const [m0, m1] = [metricsOf(0), metricsOf(1)];
    // Everything finished: nothing is trained again, the files stay as they were.
    const again = results(tiny);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout.match(/kept the run that finished in/g)?.length, 2, again.stdout);
    assert.deepEqual([metricsOf(0), metricsOf(1)], [m0, m1]);
    assert.match(readFileSync(out, 'utf8'), /\(seeds 0, 1 from an earlier, interrupted invocation\) \|\n/);
    // Seed 1 cut short (no metrics.json): only it runs again, to the same numbers (same seed).
    rmSync(join(work, 'default-seed1', 'metrics.json'));
    const resumed = results(tiny);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /default, seed 0: kept the run/);
    assert.doesNotMatch(resumed.stdout, /default, seed 1: kept/);
    assert.match(resumed.stdout, /default, seed 1: npx convnet train --epochs 1 --num-train 100 --threads 1 --seed 1\n/);
    assert.equal(JSON.parse(metricsOf(1)).testAcc, JSON.parse(m1).testAcc);
    assert.equal(JSON.parse(readFileSync(join(dir, 'table.json'), 'utf8')).default.kept.join(), '0');
    // Another command (other flags): both run again.
    const other = results('--epochs 1 --num-train 60 --threads 1');
    assert.equal(other.status, 0, other.stderr);
    assert.doesNotMatch(other.stdout, /kept/);
    assert.equal(JSON.parse(readFileSync(join(dir, 'table.json'), 'utf8')).default.kept, undefined);
    // A run at another commit is not this code's: it is run again.
    const edited = JSON.parse(metricsOf(0));
    writeFileSync(join(work, 'default-seed0', 'metrics.json'), JSON.stringify({ ...edited, commit: '0'.repeat(40) }));
    const otherCommit = results('--epochs 1 --num-train 60 --threads 1');
    assert.equal(otherCommit.status, 0, otherCommit.stderr);
    assert.match(otherCommit.stdout, /default, seed 0: npx convnet train/);
    assert.match(otherCommit.stdout, /default, seed 1: kept the run/);
  });

  test('--dry-run prints one command per seed and runs nothing', () => {
    const dir = temporaryDirectory('convnet-results-test-');
    const run = spawnSync(process.execPath, [script, '--rows', '99,default', '--seeds', '2', '--dry-run', '--out', join(dir, 't.md')], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /main\.js train --seed 0 --out \S+default-seed0 --no-progress$/);
    assert.match(lines[3]!, /main\.js train --model '.*' .*--seed 1 --out \S+99-seed1 --no-progress$/);
    assert.ok(!existsSync(join(dir, 't.md')));
  });

  test('an unknown row is a one-line error', () => {
    const run = spawnSync(process.execPath, [script, '--rows', 'nope', '--dry-run'], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^results: --rows: unknown row nope; the rows are default, pure-ts, spec, 99, 99-nodrop, fashion, fashion-res\n$/);
  });
});
