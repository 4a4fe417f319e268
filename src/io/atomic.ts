/**
 * Writing a file so that a reader (or a crash, or a power cut) sees either the old content or
 * the new one, never a half-written file: a model or checkpoint that took hours to train must
 * not be lost to an interrupted save. Node only.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConvnetError, show } from '../errors.js';

/** Why a file system call failed, in words, by its error code (the code itself is added). */
const REASONS: Record<string, string> = {
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a part of its folder path is a file, not a folder',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EFBIG: 'the file is too large for the file system',
  ENAMETOOLONG: 'the file name is too long',
  EMFILE: 'too many open files',
  EBUSY: 'the file is busy',
};

function failure(path: string, step: string, error: unknown): ConvnetError {
  const code = (error as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' ? `${REASONS[code] ?? String((error as Error).message).split('\n')[0]} (${code})` : String(error).split('\n')[0];
  return new ConvnetError('writeFileAtomic', `could not write ${show(path)}: ${reason}, while ${step}`);
}

/**
 * Writes `bytes` to `path` atomically: into a new temporary file in the same folder (named
 * `.<name>.tmp-<pid>-<random>`, so it never clobbers anything and sorts out of sight), flushed
 * to disk (fsync), then renamed over `path`, and the folder flushed so that the rename itself
 * survives a power cut (where the platform allows opening a folder; Windows does not). On any
 * failure the temporary file is removed and the previous `path`, if any, is untouched.
 * The folder must exist. Throws a ConvnetError naming the path and the problem in one line.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new ConvnetError('writeFileAtomic', `expected a file path, got ${show(path)}`);
  if (!(bytes instanceof Uint8Array)) throw new ConvnetError('writeFileAtomic', `expected the bytes to write to ${show(path)} as a Uint8Array, got ${show(bytes)}`);
  const folder = dirname(path);
  // The name stays within the usual 255-byte limit however long the target's name is.
  const temp = join(folder, `.${basename(path).slice(0, 160)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);

  let step = 'creating a temporary file beside it';
  let created = false;
  try {
    // 'wx': fail rather than reuse a file that happens to have this name.
    const handle = await open(temp, 'wx');
    created = true;
    try {
      step = 'writing the temporary file';
      await handle.writeFile(bytes);
      step = 'flushing the temporary file to disk';
      await handle.sync();
    } finally {
      await handle.close();
    }
    step = 'renaming the temporary file over it';
    await rename(temp, path);
    created = false;
  } catch (error) {
    if (created) await rm(temp, { force: true }).catch(() => undefined);
    throw failure(path, step, error);
  }
  await syncFolder(folder);
}

/**
 * fsync of the folder makes the rename durable. Best effort: the new content is already in
 * place and visible, and some platforms or file systems refuse to open or flush a folder.
 */
async function syncFolder(folder: string): Promise<void> {
  if (process.platform === 'win32') return;
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // see above: durability of the rename is all that is lost
  }
}
