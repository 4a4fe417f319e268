/**
 * Where a run ran, for metrics.json: the convnet git commit, the CPU, the kernels. The commit is
 * read from the files of the git checkout convnet runs from (HEAD, then the ref it names, loose
 * or packed; worktrees' `.git` files followed), so no git process is spawned and a missing git
 * or a copy outside any checkout gives 'unknown'.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBackend, getThreads, wasmVariant } from '../kernels/index.js';

export interface Provenance {
  /** The convnet commit (40 hex digits), or 'unknown' outside a git checkout. */
  commit: string;
  /** os.cpus()[0].model, or 'unknown'. */
  cpu: string;
  /** Logical cores the operating system reports. */
  cores: number;
  /** Worker threads of the WebAssembly kernels. */
  threads: number;
  /** 'wasm' or 'js'. */
  backend: string;
  /** The WebAssembly build ('relaxed-simd', 'simd', …); null for the js backend. */
  variant: string | null;
  node: string;
}

/** The folder of the convnet package this file belongs to (dist/cli/ or build/src/cli/ → up). */
function packageDir(): string {
  return dirname(fileURLToPath(import.meta.url));
}

/** The commit of the git checkout holding `start` (or a parent folder), or 'unknown'. */
export function gitCommit(start: string = packageDir()): string {
  try {
    let dir = resolve(start);
    for (;;) {
      const dotGit = join(dir, '.git');
      if (existsSync(dotGit)) return commitOf(dotGit) ?? 'unknown';
      const parent = dirname(dir);
      if (parent === dir) return 'unknown';
      dir = parent;
    }
  } catch {
    return 'unknown';
  }
}

/** Reads HEAD in a `.git` folder, or in the folder a worktree's `.git` file points to. */
function commitOf(dotGit: string): string | null {
  let gitDir = dotGit;
  if (statSync(dotGit).isFile()) {
    const match = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
    if (!match) return null;
    gitDir = isAbsolute(match[1]!.trim()) ? match[1]!.trim() : resolve(dirname(dotGit), match[1]!.trim());
  }
  const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = /^ref:\s*(.+)$/.exec(head)?.[1]?.trim();
  if (ref === undefined) return null;
  // A worktree keeps its HEAD but shares refs with the main checkout (named in `commondir`).
  const dirs = [gitDir];
  const commonFile = join(gitDir, 'commondir');
  if (existsSync(commonFile)) {
    const common = readFileSync(commonFile, 'utf8').trim();
    dirs.push(isAbsolute(common) ? common : resolve(gitDir, common));
  }
  for (const dir of dirs) {
    const loose = join(dir, ref);
    if (existsSync(loose)) {
      const hash = readFileSync(loose, 'utf8').trim();
      if (/^[0-9a-f]{40}$/.test(hash)) return hash;
    }
    const packed = join(dir, 'packed-refs');
    if (existsSync(packed)) {
      for (const line of readFileSync(packed, 'utf8').split('\n')) {
        const [hash, name] = line.trim().split(' ');
        if (name === ref && hash !== undefined && /^[0-9a-f]{40}$/.test(hash)) return hash;
      }
    }
  }
  return null;
}

export function provenance(): Provenance {
  const backend = getBackend();
  return {
    commit: gitCommit(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    threads: getThreads(),
    backend,
    variant: backend === 'wasm' ? (wasmVariant() ?? null) : null,
    node: process.version,
  };
}
