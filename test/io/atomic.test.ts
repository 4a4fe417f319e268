import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConvnetError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/io/atomic.js';

const root = mkdtempSync(join(tmpdir(), 'convnet-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => {
  const dir = join(root, `case-${counter++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

const sample = (n: number, seed = 7): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** Awaits a rejection with a one-line ConvnetError whose message matches every pattern. */
async function rejectsConvnet(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ConvnetError, `expected a ConvnetError, got ${String(error)}`);
    assert.ok(!error.message.includes('\n'), `one line: ${error.message}`);
    for (const p of patterns) assert.match(error.message, p);
    return true;
  });
}

test('writeFileAtomic writes a new file, and replaces a longer one fully, leaving no temporary file', async () => {
  const dir = freshDir();
  const path = join(dir, 'model.safetensors');
  await writeFileAtomic(path, sample(10_000));
  assert.deepEqual(new Uint8Array(readFileSync(path)), sample(10_000));
  await writeFileAtomic(path, sample(5, 99));
  assert.deepEqual(new Uint8Array(readFileSync(path)), sample(5, 99), 'no bytes of the old content left');
  await writeFileAtomic(path, new Uint8Array(0));
  assert.equal(readFileSync(path).length, 0);
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);
});

test('writeFileAtomic accepts a Node Buffer and a view into a larger buffer, writing only the view', async () => {
  const dir = freshDir();
  const big = sample(100);
  await writeFileAtomic(join(dir, 'a'), big.subarray(10, 20));
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'a'))), big.subarray(10, 20));
  await writeFileAtomic(join(dir, 'b'), Buffer.from('hello'));
  assert.equal(readFileSync(join(dir, 'b'), 'utf8'), 'hello');
});

test('a failed write (the folder path runs through a file) names the path and the problem, and leaves no temporary file', async () => {
  const dir = freshDir();
  const notAFolder = join(dir, 'weights');
  writeFileSync(notAFolder, 'previous content');
  const path = join(notAFolder, 'model.safetensors');
  await rejectsConvnet(writeFileAtomic(path, sample(64)), /^writeFileAtomic: could not write ".*weights\/model\.safetensors": a part of its folder path is a file, not a folder \(ENOTDIR\)/);
  assert.equal(readFileSync(notAFolder, 'utf8'), 'previous content');
  assert.deepEqual(readdirSync(dir), ['weights']);
});

test('a failed rename (the target is a folder) removes the temporary file and leaves the folder as it was', async () => {
  const dir = freshDir();
  const path = join(dir, 'model.safetensors');
  mkdirSync(path);
  writeFileSync(join(path, 'inside'), 'kept');
  await rejectsConvnet(writeFileAtomic(path, sample(64)), /could not write ".*model\.safetensors": it is a folder \(EISDIR\), while renaming the temporary file over it/);
  assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temporary file left');
  assert.deepEqual(readdirSync(path), ['inside']);
  assert.equal(readFileSync(join(path, 'inside'), 'utf8'), 'kept');
});

test('a missing folder is an error naming the path', async () => {
  const dir = freshDir();
  await rejectsConvnet(writeFileAtomic(join(dir, 'nope', 'x.bin'), sample(4)), /could not write ".*nope\/x\.bin": its folder does not exist \(ENOENT\)/);
  assert.deepEqual(readdirSync(dir), []);
});

test('a write that fails midway (file size limit, as root too) keeps the previous file and removes the temporary one', { skip: process.platform === 'win32' ? 'needs bash ulimit' : false }, () => {
  const dir = freshDir();
  const path = join(dir, 'model.safetensors');
  writeFileSync(path, 'previous content');
  // A child process whose files may not grow past 1 KiB (ulimit -f, root included), with
  // SIGXFSZ ignored so that the write fails with EFBIG instead of killing the process.
  const atomic = new URL('../../src/io/atomic.js', import.meta.url).href;
  const script = `import { writeFileAtomic } from ${JSON.stringify(atomic)};
    writeFileAtomic(${JSON.stringify(path)}, new Uint8Array(64 * 1024)).then(() => console.log('written'), (e) => console.log(e.name + ' ' + e.message));`;
  const run = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 1; exec "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^ConvnetError writeFileAtomic: could not write ".*model\.safetensors": the file is too large for the file system \(EFBIG\), while writing the temporary file$/m);
  assert.equal(readFileSync(path, 'utf8'), 'previous content');
  assert.deepEqual(readdirSync(dir), ['model.safetensors']);
});

test('writeFileAtomic throws on a bad path or bytes before touching anything', async () => {
  const dir = freshDir();
  await rejectsConvnet(writeFileAtomic('', sample(1)), /expected a file path, got ""/);
  await rejectsConvnet(writeFileAtomic(join(dir, 'x'), [1, 2] as unknown as Uint8Array), /expected the bytes to write to ".*x" as a Uint8Array, got \[1, 2\]/);
  assert.deepEqual(readdirSync(dir), []);
});

test('a long file name still gets a temporary file beside it', async () => {
  const dir = freshDir();
  const name = `${'m'.repeat(240)}.bin`;
  await writeFileAtomic(join(dir, name), sample(3));
  assert.deepEqual(readdirSync(dir), [name]);
});
