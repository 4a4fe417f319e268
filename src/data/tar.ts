/**
 * A minimal tar reader (ustar / POSIX pax / GNU long names) over an in-memory buffer, enough to
 * read `cifar-10-binary.tar.gz` without extracting it. Gzip input (first bytes 1f 8b) is
 * gunzipped first. Only regular files are returned; directories, links and other entries are
 * skipped. Byte offsets in errors count from the start of the (uncompressed) tar stream.
 */
import { ConvnetError } from '../errors.js';
import { maybeGunzip } from './common.js';

export interface TarEntry {
  /** The full path inside the archive (ustar prefix + name, or a GNU / pax long name). */
  name: string;
  /** The size in bytes. */
  size: number;
  /** The byte offset of the entry's header in the tar stream. */
  headerOffset: number;
  /** The byte offset of the entry's data in the tar stream. */
  dataOffset: number;
  /** The file's bytes (a view into the tar stream, not a copy). */
  data: Buffer;
}

const BLOCK = 512;

function corrupt(fileName: string, offset: number, what: string): never {
  throw new ConvnetError('readTar', `corrupt tar archive ${fileName}: ${what} at byte offset ${offset}`);
}

/** A NUL- (or end-) terminated string field. */
function field(buf: Buffer, start: number, length: number): string {
  let end = start;
  while (end < start + length && buf[end] !== 0) end++;
  return buf.toString('utf8', start, end);
}

/**
 * An octal numeric field (leading spaces / NULs, octal digits, then NUL or space), or a GNU
 * base-256 number when the first byte has its high bit set.
 */
function numeric(buf: Buffer, start: number, length: number, fileName: string, headerOffset: number, name: string): number {
  const first = buf[start]!;
  if (first & 0x80) {
    if (first === 0xff) corrupt(fileName, headerOffset, `negative base-256 ${name} field`);
    let value = first & 0x7f;
    for (let i = 1; i < length; i++) {
      value = value * 256 + buf[start + i]!;
      if (value > Number.MAX_SAFE_INTEGER) corrupt(fileName, headerOffset, `${name} field too large`);
    }
    return value;
  }
  let i = start;
  const end = start + length;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0)) i++;
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) {
      corrupt(fileName, headerOffset, `non-octal ${name} field ${JSON.stringify(buf.toString('latin1', start, end))}`);
    }
    value = value * 8 + (c - 0x30);
    digits++;
  }
  // Anything after the terminator must be padding.
  for (; i < end; i++) {
    if (buf[i] !== 0 && buf[i] !== 0x20) {
      corrupt(fileName, headerOffset, `malformed ${name} field ${JSON.stringify(buf.toString('latin1', start, end))}`);
    }
  }
  if (digits === 0 && name === 'checksum') corrupt(fileName, headerOffset, 'empty checksum field');
  return value;
}

function isZeroBlock(buf: Buffer, offset: number): boolean {
  for (let i = offset; i < offset + BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}

function checkChecksum(buf: Buffer, offset: number, fileName: string): void {
  const stored = numeric(buf, offset + 148, 8, fileName, offset, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : buf[offset + i]!;
    unsigned += b;
    signed += b >= 128 ? b - 256 : b;
  }
  if (stored !== unsigned && stored !== signed) {
    corrupt(fileName, offset, `header checksum mismatch (stored ${stored}, computed ${unsigned})`);
  }
}

/** Parses pax extended header records "LEN key=value\n"; returns the keys we use. */
function parsePax(data: Buffer, fileName: string, dataOffset: number): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // trailing padding
    let space = pos;
    while (space < data.length && data[space] !== 0x20) space++;
    const length = Number(data.toString('latin1', pos, space));
    if (!Number.isInteger(length) || length <= 0 || space >= data.length || pos + length > data.length) {
      corrupt(fileName, dataOffset + pos, 'malformed pax extended header record');
    }
    const record = data.toString('utf8', space + 1, pos + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) {
      const key = record.slice(0, eq);
      const value = record.slice(eq + 1);
      if (key === 'path') out.path = value;
      else if (key === 'size') {
        const size = Number(value);
        if (!Number.isSafeInteger(size) || size < 0) corrupt(fileName, dataOffset + pos, `bad pax size ${JSON.stringify(value)}`);
        out.size = size;
      }
    }
    pos += length;
  }
  return out;
}

/**
 * Iterates over the regular files of a tar archive (gzipped or not). `fileName` is used in
 * error messages only.
 */
export function* iterateTar(buffer: Uint8Array, fileName = 'tar archive'): Generator<TarEntry> {
  const buf = maybeGunzip('readTar', buffer, fileName);
  let offset = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  let paxSize: number | undefined;
  while (offset < buf.length) {
    if (offset + BLOCK > buf.length) {
      // Some writers leave a short tail of zeros; anything else is a cut-off header.
      if (buf.subarray(offset).every((b) => b === 0)) return;
      corrupt(fileName, offset, `truncated header (${buf.length - offset} of ${BLOCK} bytes)`);
    }
    if (isZeroBlock(buf, offset)) return; // end-of-archive marker
    const headerOffset = offset;
    checkChecksum(buf, offset, fileName);
    const typeflag = String.fromCharCode(buf[offset + 156]!);
    let size = numeric(buf, offset + 124, 12, fileName, offset, 'size');
    const magic = buf.toString('latin1', offset + 257, offset + 263);
    let name = field(buf, offset, 100);
    if (magic === 'ustar\u0000') {
      const prefix = field(buf, offset + 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    if (paxSize !== undefined && typeflag !== 'x' && typeflag !== 'g' && typeflag !== 'L') size = paxSize;
    const dataOffset = offset + BLOCK;
    if (dataOffset + size > buf.length) {
      corrupt(
        fileName,
        dataOffset,
        `truncated data of ${JSON.stringify(name)} (header at byte offset ${headerOffset} promises ${size} bytes, only ${buf.length - dataOffset} remain)`,
      );
    }
    const data = buf.subarray(dataOffset, dataOffset + size);
    offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
    switch (typeflag) {
      case 'L':
        longName = field(data, 0, data.length);
        continue;
      case 'x': {
        const pax = parsePax(data, fileName, dataOffset);
        paxPath = pax.path;
        paxSize = pax.size;
        continue;
      }
      case 'g':
      case 'K':
        continue;
      default:
        break;
    }
    const finalName = paxPath ?? longName ?? name;
    longName = undefined;
    paxPath = undefined;
    paxSize = undefined;
    // '0' and NUL are regular files, '7' is a contiguous file (also regular).
    if (typeflag === '0' || typeflag === '\u0000' || typeflag === '7') {
      yield { name: finalName, size, headerOffset, dataOffset, data };
    }
  }
}

/** Reads every regular file of a tar archive (gzipped or not) into a list. */
export function readTar(buffer: Uint8Array, fileName = 'tar archive'): TarEntry[] {
  return [...iterateTar(buffer, fileName)];
}
