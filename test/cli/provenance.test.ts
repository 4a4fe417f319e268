// metrics.json's provenance: the git commit read from the checkout's files (plain, worktree,
// packed refs, detached HEAD; 'unknown' outside a checkout), and the machine and kernels.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { temporaryDirectory } from '../helpers.js';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gitCommit, provenance } from '../../src/cli/provenance.js';
import { getBackend, getThreads } from '../../src/kernels/index.js';

const A = 'a'.repeat(40);
const B = '0123456789abcdef0123456789abcdef01234567';

function folder(files: Record<string, string>): string {
  const dir = temporaryDirectory('convnet-provenance-');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('gitCommit', () => {
  test('a checkout: HEAD names a loose ref, found from a folder inside the checkout', () => {
    const dir = folder({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${A}\n`, 'dist/cli/x.js': '' });
    assert.equal(gitCommit(join(dir, 'dist', 'cli')), A);
  });

  test('a packed ref, and a detached HEAD', () => {
    const packed = folder({ '.git/HEAD': 'ref: refs/heads/dev\n', '.git/packed-refs': `# pack-refs with: peeled\n${A} refs/heads/main\n${B} refs/heads/dev\n` });
    assert.equal(gitCommit(packed), B);
    assert.equal(gitCommit(folder({ '.git/HEAD': `${B}\n` })), B);
  });

  test("a worktree: the .git file's gitdir holds HEAD, the common dir holds the refs", () => {
    const main = folder({ 'repo/.git/refs/heads/results': `${B}\n`, 'repo/.git/worktrees/wt/HEAD': 'ref: refs/heads/results\n', 'repo/.git/worktrees/wt/commondir': '../..\n' });
    const wt = join(main, 'wt');
    mkdirSync(wt);
    writeFileSync(join(wt, '.git'), `gitdir: ${join(main, 'repo', '.git', 'worktrees', 'wt')}\n`);
    assert.equal(gitCommit(wt), B);
  });

  test("'unknown' outside a checkout, or when HEAD names a ref that does not exist", () => {
    // tmpdir() itself is assumed not to be inside a git checkout.
    assert.equal(gitCommit(folder({ 'a/b.txt': '' })), 'unknown');
    assert.equal(gitCommit(folder({ '.git/HEAD': 'ref: refs/heads/gone\n' })), 'unknown');
  });
});

test('provenance: the CPU model, cores, threads and kernels in use', () => {
  const p = provenance();
  assert.equal(p.cpu, cpus()[0]!.model);
  assert.equal(p.cores, cpus().length);
  assert.equal(p.threads, getThreads());
  assert.equal(p.backend, getBackend());
  assert.equal(p.variant === null, p.backend === 'js');
  assert.match(p.commit, /^([0-9a-f]{40}|unknown)$/);
  assert.equal(p.node, process.version);
});
