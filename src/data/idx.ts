/**
 * IDX files (the MNIST / Fashion-MNIST format): a big-endian header of magic bytes
 * 00 00 TYPE NDIMS followed by NDIMS uint32 sizes, then the data row-major. Only the
 * unsigned-byte type (0x08) is used by these datasets and supported here. Gzipped files
 * (first bytes 1f 8b) are gunzipped first; byte offsets in errors count in the uncompressed data.
 */
import { ConvnetError } from '../errors.js';
import { maybeGunzip } from './common.js';

export interface IdxArray {
  /** The sizes from the header, e.g. [60000, 28, 28] for an image file, [60000] for labels. */
  dims: number[];
  /** The values, row-major (a view into the decompressed file). */
  data: Uint8Array;
  /** The byte offset where the data starts (4 + 4 · dims.length). */
  dataOffset: number;
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'short',
  0x0c: 'int',
  0x0d: 'float',
  0x0e: 'double',
};

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/** Parses an IDX file of unsigned bytes (gzipped or not). `fileName` names it in errors. */
export function readIdx(buffer: Uint8Array, fileName = 'IDX file'): IdxArray {
  const fn = 'readIdx';
  const buf = maybeGunzip(fn, buffer, fileName);
  if (buf.length < 4) {
    throw new ConvnetError(fn, `${fileName} is truncated: ${buf.length} bytes, shorter than the 4-byte IDX magic number (the file ends at byte offset ${buf.length})`);
  }
  const magic = `0x${hex(buf[0]!)}${hex(buf[1]!)}${hex(buf[2]!)}${hex(buf[3]!)}`;
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new ConvnetError(fn, `${fileName} is not an IDX file: bad magic number ${magic} at byte offset 0 (expected 0x0000 then type and rank, e.g. 0x00000803 for images)`);
  }
  const type = buf[2]!;
  if (type !== 0x08) {
    const name = TYPE_NAMES[type];
    throw new ConvnetError(
      fn,
      name === undefined
        ? `${fileName} has an unknown IDX data type 0x${hex(type)} at byte offset 2 (magic ${magic})`
        : `${fileName} holds IDX data of type ${name} (0x${hex(type)} at byte offset 2); only unsigned byte (0x08) files are supported`,
    );
  }
  const rank = buf[3]!;
  if (rank === 0) throw new ConvnetError(fn, `${fileName} declares 0 dimensions at byte offset 3 (magic ${magic})`);
  const dataOffset = 4 + 4 * rank;
  if (buf.length < dataOffset) {
    throw new ConvnetError(fn, `${fileName} is truncated inside its header: ${rank} dimensions need ${dataOffset} header bytes, the file ends at byte offset ${buf.length}`);
  }
  const dims: number[] = [];
  let expected = 1;
  for (let i = 0; i < rank; i++) {
    const d = buf.readUInt32BE(4 + 4 * i);
    dims.push(d);
    expected *= d;
  }
  const actual = buf.length - dataOffset;
  if (actual < expected) {
    const itemSize = rank > 1 ? expected / dims[0]! : 1;
    const complete = itemSize > 0 ? Math.floor(actual / itemSize) : 0;
    throw new ConvnetError(
      fn,
      `${fileName} is truncated: its header (dims [${dims.join(', ')}]) promises ${expected} data bytes from byte offset ${dataOffset}, but the file ends at byte offset ${buf.length}; item ${complete} (of ${dims[0]}) starting at byte offset ${dataOffset + complete * itemSize} is incomplete`,
    );
  }
  if (actual > expected) {
    throw new ConvnetError(
      fn,
      `${fileName} has ${actual - expected} unexpected bytes after its data: the header (dims [${dims.join(', ')}]) promises ${expected} data bytes, which end at byte offset ${dataOffset + expected}`,
    );
  }
  return { dims, data: buf.subarray(dataOffset), dataOffset };
}

/** Reads an IDX image file: dims [N, rows, cols]. */
export function readIdxImages(buffer: Uint8Array, fileName = 'IDX image file'): IdxArray {
  const idx = readIdx(buffer, fileName);
  if (idx.dims.length !== 3) {
    throw new ConvnetError('readIdx', `${fileName} should hold images with dims [count, rows, cols], but its header has dims [${idx.dims.join(', ')}]`);
  }
  return idx;
}

/** Reads an IDX label file: dims [N], each label in [0, numClasses). */
export function readIdxLabels(buffer: Uint8Array, fileName = 'IDX label file', numClasses = 10): Int32Array {
  const idx = readIdx(buffer, fileName);
  if (idx.dims.length !== 1) {
    throw new ConvnetError('readIdx', `${fileName} should hold labels with dims [count], but its header has dims [${idx.dims.join(', ')}]`);
  }
  const labels = new Int32Array(idx.data.length);
  for (let i = 0; i < idx.data.length; i++) {
    const label = idx.data[i]!;
    if (label >= numClasses) {
      throw new ConvnetError(
        'readIdx',
        `${fileName} has label ${label} for item ${i} at byte offset ${idx.dataOffset + i}; labels must be in [0, ${numClasses - 1}]`,
      );
    }
    labels[i] = label;
  }
  return labels;
}
