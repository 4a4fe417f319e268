/**
 * `npm run results`: re-runs the rows of the README's results table over several seeds and
 * prints a Markdown table of mean ± standard deviation of test accuracy, wall time and images/s
 * per row, read from each run's metrics.json.
 *
 *   npm run results                              every row, seeds 0, 1, 2
 *   npm run results -- --rows default,99 --seeds 5
 *   npm run results -- --dry-run                 print the commands only
 *   npm run results -- --table                   rewrite the table from results.json, running nothing
 *   npm run results -- --extra '--epochs 1'      append flags to every command (quick checks)
 *   npm run results -- --jobs 2 --extra '--threads 1'   two seeds at once, one thread each
 *   npm run results -- --work runs/              keep the runs in runs/; run again to resume
 *
 * With --work, a run that finished there before (its metrics.json written by the same
 * command, at the same convnet commit) is kept rather than run again, so an interrupted
 * `npm run results` resumes where it stopped.
 *
 * Results accumulate in bench/results.json (beside --out, default bench/results.md): a run of some rows
 * replaces those rows and keeps the others, and the table is written from all of them, with
 * each row's date, convnet commit, CPU and load. Rows whose data is missing, or not run yet,
 * are listed with their command and "not re-run in this table".
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitCommit } from '../src/cli/provenance.js';

/** One row of the results table: `convnet train` with these flags. */
export interface ResultRow {
  /** Short name for --rows. */
  id: string;
  /** What the row is, shown before its command. */
  label: string;
  /** `convnet train` flags (no --seed, --out or --no-progress: the runner adds those). */
  args: string[];
  /** Why the row cannot run here (missing data), or null. */
  unavailable?: () => string | null;
}

const SPEC_NET = '[conv(32,3)-bn-relu]x2-pool-[conv(64,3)-bn-relu]x2-pool-fc(256)-relu-dropout(0.5)-fc(10)';
const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
const RESIDUAL_FASHION_NET = 'conv(32,3)-bn-relu-pool-res(conv(32,3)-bn-relu-conv(32,3)-bn)-relu-pool-res(conv(64,3)-bn-relu-conv(64,3)-bn)-relu-fc(10)';

/** The README's rows. One line each: add a row here and it is run and tabled. */
export const ROWS: ResultRow[] = [
  { id: 'default', label: 'three-layer net, shipped MNIST (8,000 train / 1,000 val / 1,000 test), 10 epochs, shift ±1', args: [] },
  { id: 'pure-ts', label: 'the same in pure TypeScript', args: ['--backend', 'js', '--threads', '1'] },
  { id: 'spec', label: 'spec net, shipped MNIST', args: ['--shift', '2', '--epochs', '12', '--lr-decay', '0.85', '--model', SPEC_NET] },
  {
    id: '99',
    label: 'the spec net with dropout 0.5, 17 epochs, cosine schedule, shift ±2, rotation ±10°, scaling ±10%, label smoothing 0.1, shipped MNIST',
    args: ['--model', SPEC_NET, '--epochs', '17', '--schedule', 'cosine', '--shift', '2', '--rotate', '10', '--scale', '0.1', '--label-smoothing', '0.1'],
  },
  {
    id: '99-nodrop',
    label: 'recipe for 99%: the row above without dropout (with it the net underfits the clean digits), shipped MNIST',
    args: ['--model', SPEC_NET.replace('-dropout(0.5)', ''), '--epochs', '17', '--schedule', 'cosine', '--shift', '2', '--rotate', '10', '--scale', '0.1', '--label-smoothing', '0.1'],
  },
  {
    id: 'fashion',
    label: 'Fashion-MNIST (55,000 / 5,000 / 10,000; `apt-get install dataset-fashion-mnist`)',
    args: ['--dataset', 'fashion-mnist', '--flip', '--shift', '0', '--epochs', '6', '--model', 'conv(32,3)-bn-relu-pool-conv(32,3)-bn-relu-pool-fc(128)-relu-fc(10)'],
    unavailable: () => (existsSync(FASHION_DIR) ? null : `${FASHION_DIR} is missing`),
  },
  {
    id: 'fashion-res',
    label: 'residual spec net, Fashion-MNIST, 18 epochs, cosine schedule with 1 warm-up epoch, weight decay 0.05, label smoothing 0.1, flips, shift ±1',
    args: ['--dataset', 'fashion-mnist', '--epochs', '18', '--batch-size', '100', '--lr', '3e-3', '--schedule', 'cosine', '--warmup', '1', '--weight-decay', '0.05', '--label-smoothing', '0.1', '--flip', '--shift', '1', '--model', RESIDUAL_FASHION_NET],
    unavailable: () => (existsSync(FASHION_DIR) ? null : `${FASHION_DIR} is missing`),
  },
];

/** What one run's metrics.json gives the table. */
export interface RunMetrics {
  seed: number;
  testAcc: number;
  wallTimeSeconds: number;
  imagesPerSecond: number;
  commit: string;
  cpu: string;
  threads: number;
  backend: string;
  variant: string | null;
}

/** A row's measured runs, as results.json keeps them. */
export interface RowResult {
  id: string;
  command: string;
  date: string;
  /** Load average (1 minute) when the row started and when it ended: how shared the machine was. */
  load: [number, number];
  /** Seeds run at once (1: one after another). */
  jobs?: number;
  /** Seeds whose finished run in --work was kept rather than run again (their load and jobs were another invocation's). */
  kept?: number[];
  runs: RunMetrics[];
}

export interface Summary {
  mean: number;
  sd: number;
  n: number;
}

/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  if (n === 0) throw new Error('summarize: expected at least one value, got none');
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** 0.98933 ± 0.0012 → "98.93 ± 0.12%". */
export function formatAccuracy(s: Summary): string {
  return `${(100 * s.mean).toFixed(2)} ± ${(100 * s.sd).toFixed(2)}%`;
}

/** Seconds as "35 ± 2 s" below 2 minutes, "5.3 ± 0.2 min" from there. */
export function formatTime(s: Summary): string {
  if (s.mean < 120) return `${s.mean.toFixed(0)} ± ${s.sd.toFixed(0)} s`;
  return `${(s.mean / 60).toFixed(1)} ± ${(s.sd / 60).toFixed(1)} min`;
}

/** 2589.4 ± 40.2 → "2,589 ± 40". */
export function formatRate(s: Summary): string {
  const n = (v: number): string => Math.round(v).toLocaleString('en-US');
  return `${n(s.mean)} ± ${n(s.sd)}`;
}

/** A command as a reader would type it: flags with spaces or brackets quoted. */
export function commandLine(args: readonly string[]): string {
  const quote = (a: string): string => (/^[\w.,=/+:@%-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['npx', 'convnet', 'train', ...args.map(quote)].join(' ');
}

/** The Markdown table of every row: measured ones with mean ± sd, the others with their command. */
export function markdownTable(rows: readonly ResultRow[], results: Readonly<Record<string, RowResult>>, extra: readonly string[] = []): string {
  const lines: string[] = [];
  const measured = rows.map((r) => results[r.id]).filter((r): r is RowResult => r !== undefined);
  const commits = [...new Set(measured.flatMap((r) => r.runs.map((run) => run.commit)))];
  const cpus = [...new Set(measured.flatMap((r) => r.runs.map((run) => run.cpu)))];
  const dates = measured.map((r) => r.date.slice(0, 10)).sort();
  if (measured.length > 0) {
    lines.push(
      `Measured ${dates[0] === dates.at(-1) ? dates[0] : `${dates[0]} to ${dates.at(-1)}`} by \`npm run results\` (convnet ${commits.map((c) => (c === 'unknown' ? c : c.slice(0, 10))).join(', ')}; ${cpus.join(', ')}); mean ± standard deviation over the seeds listed. Test accuracy is that of the best-validation parameters.`,
      '',
    );
  }
  lines.push('| row | command | test accuracy | wall time | images/s | seeds | kernels | load |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) {
    const result = results[row.id];
    const command = `\`${commandLine([...row.args, ...extra])}\``;
    if (result === undefined) {
      const why = row.unavailable?.();
      lines.push(`| ${row.label} | ${command} | not re-run in this table${why ? ` (${why})` : ''} | | | | | |`);
      continue;
    }
    const runs = result.runs;
    const kernels = [...new Set(runs.map((r) => `${r.backend}${r.variant ? ` (${r.variant})` : ''}, ${r.threads} thread${r.threads === 1 ? '' : 's'}`))].join('; ');
    lines.push(
      `| ${row.label} | \`${result.command}\` | ${formatAccuracy(summarize(runs.map((r) => r.testAcc)))} | ${formatTime(summarize(runs.map((r) => r.wallTimeSeconds)))} | ${formatRate(summarize(runs.map((r) => r.imagesPerSecond)))} | ${runs.map((r) => r.seed).join(', ')} | ${kernels} | ${result.load.map((l) => l.toFixed(1)).join(' → ')}${(result.jobs ?? 1) > 1 ? ` (${result.jobs} seeds at once)` : ''}${result.kept === undefined ? '' : ` (seed${result.kept.length === 1 ? '' : 's'} ${result.kept.join(', ')} from an earlier, interrupted invocation)`} |`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Picks rows by a comma-separated list of ids (an unknown id is an error naming the known ones). */
export function selectRows(rows: readonly ResultRow[], filter: string | undefined): ResultRow[] {
  if (filter === undefined) return [...rows];
  const ids = filter.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = ids.filter((id) => !rows.some((r) => r.id === id));
  if (unknown.length > 0) throw new Error(`--rows: unknown row ${unknown.join(', ')}; the rows are ${rows.map((r) => r.id).join(', ')}`);
  return rows.filter((r) => ids.includes(r.id));
}

/**
 * The run results started in `outDir` with `argv` if it finished there at convnet `commit`:
 * results writes `<outDir>.command.json` (the argv) before it starts a run and deletes the
 * folder's metrics.json, which `convnet train` writes (atomically) only when the run ends. So
 * a metrics.json with a matching command file and commit is a finished run of this very
 * command and code; anything else (no file, another command or commit, a run cut short) is
 * undefined, and the run is made again.
 */
export function finishedRun(outDir: string, argv: readonly string[], commit: string): RunMetrics | undefined {
  const metricsPath = join(outDir, 'metrics.json');
  const commandPath = `${outDir}.command.json`;
  if (commit === 'unknown' || !existsSync(metricsPath) || !existsSync(commandPath)) return undefined;
  try {
    const recorded = (JSON.parse(readFileSync(commandPath, 'utf8')) as { argv?: unknown }).argv;
    if (!Array.isArray(recorded) || recorded.length !== argv.length || recorded.some((a, i) => a !== argv[i])) return undefined;
    const metrics = readRunMetrics(metricsPath);
    return metrics.commit === commit ? metrics : undefined;
  } catch {
    return undefined;
  }
}

/** Reads what `convnet train` wrote to metrics.json. */
export function readRunMetrics(path: string): RunMetrics {
  const m = JSON.parse(readFileSync(path, 'utf8')) as Partial<RunMetrics>;
  for (const key of ['seed', 'testAcc', 'wallTimeSeconds', 'imagesPerSecond', 'threads'] as const) {
    if (typeof m[key] !== 'number') throw new Error(`${path}: expected ${key} to be a number, got ${JSON.stringify(m[key])}`);
  }
  return { seed: m.seed!, testAcc: m.testAcc!, wallTimeSeconds: m.wallTimeSeconds!, imagesPerSecond: m.imagesPerSecond!, commit: m.commit ?? 'unknown', cpu: m.cpu ?? 'unknown', threads: m.threads!, backend: m.backend ?? 'unknown', variant: m.variant ?? null };
}

export interface ResultsOptions {
  seeds: number;
  rows?: string;
  dryRun: boolean;
  /** Run nothing: write the table from results.json as it is (after a row's label changed). */
  table?: boolean;
  /** Seeds of a row run at once. */
  jobs: number;
  extra: string[];
  out: string;
  work?: string;
  log: (line: string) => void;
}

/** Runs `node bin args…` and resolves with its exit status and stderr. */
function runProcess(bin: string, args: readonly string[]): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolvePromise({ status, signal, stderr }));
  });
}

/**
 * Runs the selected rows (or prints their commands) and writes results.json and the table. A
 * row's seeds run `jobs` at a time (each a separate process; with --extra '--threads 1' two
 * jobs give the same results as one, as runs do not depend on the thread count).
 */
export async function runResults(options: ResultsOptions, rows: readonly ResultRow[] = ROWS): Promise<string> {
  const selected = selectRows(rows, options.rows);
  const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');
  const work = options.work ?? mkdtempSync(join(tmpdir(), 'convnet-results-'));
  const jsonPath = resolve(options.out.replace(/\.md$/, '') + '.json');
  // The commit of the convnet that runs (the one `convnet train` records in metrics.json).
  const commit = gitCommit(dirname(bin));
  const measured: Record<string, RowResult> = {};
  for (const row of options.table ? [] : selected) {
    const why = row.unavailable?.();
    if (why) {
      options.log(`${row.id}: skipped (${why})`);
      continue;
    }
    const args = [...row.args, ...options.extra];
    const load0 = loadavg()[0]!;
    const seeds = Array.from({ length: options.seeds }, (_, seed) => seed);
    const full = (seed: number): string[] => ['train', ...args, '--seed', String(seed), '--out', join(work, `${row.id}-seed${seed}`), '--no-progress'];
    if (options.dryRun) {
      for (const seed of seeds) options.log(`node ${bin} ${full(seed).map((a) => (/^[\w.,=/+:@%-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
      continue;
    }
    const runs: RunMetrics[] = new Array(seeds.length);
    const kept: number[] = [];
    const queue = [...seeds];
    const worker = async (): Promise<void> => {
      for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) {
        const outDir = join(work, `${row.id}-seed${seed}`);
        const earlier = finishedRun(outDir, full(seed), commit);
        if (earlier !== undefined) {
          options.log(`  ${row.id}, seed ${seed}: kept the run that finished in ${outDir} (same command, convnet ${commit.slice(0, 10)}): test acc ${earlier.testAcc.toFixed(4)}`);
          runs[seed] = earlier;
          kept.push(seed);
          continue;
        }
        options.log(`${row.id}, seed ${seed}: ${commandLine([...args, '--seed', String(seed)])}`);
        mkdirSync(work, { recursive: true });
        rmSync(join(outDir, 'metrics.json'), { force: true });
        writeFileSync(`${outDir}.command.json`, JSON.stringify({ argv: full(seed) }) + '\n');
        const run = await runProcess(bin, full(seed));
        if (run.status !== 0) throw new Error(`${row.id}, seed ${seed}: convnet train exited with ${run.status ?? run.signal}: ${run.stderr.trim()}`);
        const metrics = readRunMetrics(join(outDir, 'metrics.json'));
        options.log(`  ${row.id}, seed ${seed}: test acc ${metrics.testAcc.toFixed(4)}, ${metrics.wallTimeSeconds.toFixed(1)} s, ${Math.round(metrics.imagesPerSecond)} images/s (load ${loadavg()[0]!.toFixed(1)})`);
        runs[seed] = metrics;
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.jobs, seeds.length) }, worker));
    measured[row.id] = { id: row.id, command: commandLine(args), date: new Date().toISOString(), load: [load0, loadavg()[0]!], jobs: options.jobs, runs, ...(kept.length > 0 ? { kept: kept.sort((a, b) => a - b) } : {}) };
  }
  if (options.dryRun) return '';
  // Read now, not at the start: another `npm run results` of other rows may have written meanwhile.
  const results: Record<string, RowResult> = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, RowResult>) : {};
  Object.assign(results, measured);
  const table = markdownTable(rows, results);
  mkdirSync(dirname(resolve(options.out)), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(resolve(options.out), table);
  options.log('');
  options.log(table);
  options.log(`wrote ${resolve(options.out)} and ${jsonPath}`);
  return table;
}

/** Parses the command line: --seeds N, --jobs N, --rows a,b, --dry-run, --extra 'flags', --out FILE, --work DIR. */
export function parseArgs(argv: readonly string[]): Omit<ResultsOptions, 'log'> {
  const options: Omit<ResultsOptions, 'log'> = { seeds: 3, dryRun: false, jobs: 1, extra: [], out: 'bench/results.md' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--seeds') {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--seeds must be a whole number >= 1, got '${v}'`);
      options.seeds = Number(v);
    } else if (flag === '--jobs') {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`--jobs must be a whole number >= 1, got '${v}'`);
      options.jobs = Number(v);
    } else if (flag === '--rows') options.rows = value();
    else if (flag === '--table') options.table = true;
    else if (flag === '--dry-run') options.dryRun = true;
    else if (flag === '--extra') options.extra = value().split(/\s+/).filter((s) => s !== '');
    else if (flag === '--out') options.out = value();
    else if (flag === '--work') options.work = value();
    else throw new Error(`unknown option ${flag} (options: --seeds N, --jobs N, --table, --rows ${ROWS.map((r) => r.id).join(',')}, --dry-run, --extra 'flags', --out FILE, --work DIR)`);
  }
  return options;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await runResults({ ...parseArgs(process.argv.slice(2)), log: (line) => console.log(line) });
  } catch (error) {
    console.error(`results: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
