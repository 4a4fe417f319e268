/**
 * safetensors files (https://github.com/huggingface/safetensors, README "Format"): named
 * tensors and a string→string metadata map, readable by PyTorch, JAX, Candle, Transformers, …
 * Nothing in a file is executed when it is read: the header is JSON.parse'd and checked.
 *
 * Layout of a file (every number little-endian):
 *   bytes [0, 8)          N, the header length, an unsigned 64-bit integer
 *   bytes [8, 8 + N)      the header: UTF-8 JSON, starting with `{`, padded with spaces (0x20)
 *                         { "__metadata__": { "key": "value", … },            (optional)
 *                           "<name>": { "dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16] }, … }
 *   bytes [8 + N, end)    the data buffer: each tensor's elements, row-major, at its
 *                         data_offsets (relative to 8 + N); the tensors cover it exactly once,
 *                         with no hole, no overlap and nothing after the last one.
 *
 * Browser-safe: no Node imports (TextEncoder, TextDecoder and typed arrays only).
 */
import { ConvnetError, show } from '../errors.js';
import type { Tensor } from '../tensor.js';

/** An int32 tensor (labels, counts, step numbers): plain data like Tensor. */
export interface Int32Tensor {
  readonly shape: number[];
  readonly data: Int32Array;
  readonly dtype: 'int32';
}

/** A uint8 tensor (pixels, masks): plain data like Tensor. */
export interface Uint8Tensor {
  readonly shape: number[];
  readonly data: Uint8Array;
  readonly dtype: 'uint8';
}

/** What a safetensors file holds here: float tensors, and int32 / uint8 ones; `dtype` tells which. */
export type StoredTensor = Tensor | Int32Tensor | Uint8Tensor;

/** The safetensors dtype codes this module reads and writes. */
export type SafetensorsDType = 'F64' | 'F32' | 'I32' | 'U8';

export interface SafetensorsContents {
  tensors: Record<string, StoredTensor>;
  metadata: Record<string, string>;
}

interface DTypeInfo {
  code: SafetensorsDType;
  /** Where the reference writer puts this dtype: lower first (its Dtype enum, in reverse). */
  rank: number;
  dtype: StoredTensor['dtype'];
  itemSize: number;
  make: (buffer: ArrayBuffer, length: number) => StoredTensor['data'];
  arrayType: { new (length: number): StoredTensor['data'] } & { name: string };
}

const DTYPE_INFO: readonly DTypeInfo[] = [
  { code: 'F64', rank: 0, dtype: 'float64', itemSize: 8, make: (b, n) => new Float64Array(b, 0, n), arrayType: Float64Array },
  { code: 'F32', rank: 1, dtype: 'float32', itemSize: 4, make: (b, n) => new Float32Array(b, 0, n), arrayType: Float32Array },
  { code: 'I32', rank: 2, dtype: 'int32', itemSize: 4, make: (b, n) => new Int32Array(b, 0, n), arrayType: Int32Array },
  { code: 'U8', rank: 3, dtype: 'uint8', itemSize: 1, make: (b, n) => new Uint8Array(b, 0, n), arrayType: Uint8Array },
];
const BY_DTYPE = new Map(DTYPE_INFO.map((d) => [d.dtype as string, d]));
const BY_CODE = new Map(DTYPE_INFO.map((d) => [d.code as string, d]));

/** The other dtype codes of the format, so an error can tell "not supported here" from "not a dtype". */
const OTHER_CODES = ['BOOL', 'I8', 'I16', 'U16', 'F16', 'BF16', 'U32', 'I64', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64'];

/** The reference implementation's limit: a larger header is taken as a corrupt or hostile file. */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';
const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'];

/** True where typed arrays store numbers little-endian (every mainstream CPU); checked once. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reverses the bytes of every `itemSize`-byte element in place: little-endian ↔ big-endian.
 * Used only on big-endian hosts, where a typed array's bytes are big-endian; swapping bytes
 * (not reading and writing numbers) keeps NaN payloads bit for bit.
 */
export function swapByteOrder(bytes: Uint8Array, itemSize: number): void {
  for (let i = 0; i + itemSize <= bytes.length; i += itemSize) {
    for (let a = i, b = i + itemSize - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** Sets an own enumerable property, so that a name like "__proto__" is a key, not a prototype. */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Encodes named tensors and string metadata as a safetensors file.
 *
 * Order, as the reference writer (Rust, used by Python's safetensors) has it: the data holds
 * F64 tensors first, then F32, I32, U8, each group by name (JavaScript string order, which is
 * the reference's byte order for names without characters beyond U+FFFF). Larger items first
 * means every tensor starts at a multiple of its item size, and since the header is padded to
 * a multiple of 8 bytes, also in the file, so a reader may view the data in place. The header
 * lists `__metadata__` first (left out when `metadata` is empty, as the reference does for
 * None), then the tensors in data order, as compact JSON: for metadata of at most one key
 * (the reference's order of several is a hash map's), the bytes are the reference's. The
 * same input always gives the same bytes.
 *
 * Data is written little-endian whatever the host (bytes are swapped on big-endian hosts).
 * Scalars (shape []) and zero-size tensors (a 0 in the shape: empty data_offsets [k, k]) are
 * allowed, as in the format.
 */
export function encodeSafetensors(tensors: Record<string, StoredTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const fn = 'encodeSafetensors';
  if (!isPlainObject(tensors)) throw new ConvnetError(fn, `expected tensors as an object of named tensors, got ${show(tensors)}`);
  if (!isPlainObject(metadata)) throw new ConvnetError(fn, `expected metadata as an object of strings, got ${show(metadata)}`);
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new ConvnetError(fn, `expected metadata values to be strings, got metadata[${show(key)}] = ${show(value)}`);
  }

  const entries = Object.entries(tensors).map(([name, t]) => {
    if (name === METADATA_KEY) throw new ConvnetError(fn, `expected tensor names other than "${METADATA_KEY}" (the format reserves it for the metadata), got a tensor named so`);
    return { name, t, info: checkTensor(fn, name, t) };
  });
  entries.sort((a, b) => a.info.rank - b.info.rank || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // The header, written by hand so that the key order is the documented one.
  const parts: string[] = [];
  if (Object.keys(metadata).length > 0) parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const { name, t, info } of entries) {
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: info.code, shape: t.shape, data_offsets: [offset, end] })}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const { t, info } of entries) {
    const bytes = out.subarray(at, at + t.data.byteLength);
    bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    if (!HOST_LITTLE_ENDIAN && info.itemSize > 1) swapByteOrder(bytes, info.itemSize);
    at += t.data.byteLength;
  }
  return out;
}

function checkTensor(fn: string, name: string, t: unknown): DTypeInfo {
  const what = `tensor ${show(name)}`;
  if (!isPlainObject(t)) throw new ConvnetError(fn, `expected ${what} to be a tensor { shape, data, dtype }, got ${show(t)}`);
  const info = BY_DTYPE.get(t['dtype'] as string);
  if (info === undefined) {
    throw new ConvnetError(fn, `expected ${what} to have dtype ${DTYPE_INFO.map((d) => `'${d.dtype}'`).join(', ')}, got ${show(t['dtype'])}`);
  }
  if (!(t['data'] instanceof info.arrayType)) {
    throw new ConvnetError(fn, `expected ${what} of dtype '${info.dtype}' to hold a ${info.arrayType.name}, got ${show(t['data'])}`);
  }
  const shape = t['shape'];
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ConvnetError(fn, `expected ${what} to have a shape of non-negative integers, got ${show(shape)}`);
  }
  const size = shape.reduce((a: number, d: number) => a * d, 1);
  if (size !== t['data'].length) {
    throw new ConvnetError(fn, `expected ${what} of shape ${show(shape)} to hold ${size} values, got ${t['data'].length}`);
  }
  return info;
}

/**
 * Decodes a safetensors file. Every part of the header is checked before it is used, and
 * anything the format does not allow is a ConvnetError naming `source` (pass the file name)
 * and the problem. The tensors are copies (never views of `bytes`), so their typed arrays
 * are aligned whatever the offset of `bytes` in its buffer, and stay valid if `bytes` changes.
 * Supported dtypes: F64, F32 (float64 / float32 Tensors), I32 (Int32Tensor), U8 (Uint8Tensor).
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsContents {
  const fn = 'decodeSafetensors';
  // Typed so that TypeScript knows a call to it does not return.
  const bad: (problem: string) => never = (problem) => {
    throw new ConvnetError(fn, `${source}: ${problem}`);
  };
  if (!(bytes instanceof Uint8Array)) throw new ConvnetError(fn, `expected the bytes of ${source} as a Uint8Array, got ${show(bytes)}`);
  if (bytes.length < 8) {
    bad(`is ${bytes.length} bytes long, too short for a safetensors file (it starts with an 8-byte header length): ${bytes.length === 0 ? 'the file is empty' : 'a truncated file, or not a safetensors file'}`);
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) bad(`declares a header of ${declared} bytes, more than the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file, or a corrupt one)`);
  const headerLength = Number(declared);
  if (8 + headerLength > bytes.length) {
    bad(`declares a header of ${headerLength} bytes, beyond the end of the file (${bytes.length} bytes, so at most ${bytes.length - 8}): a truncated file, or not a safetensors file`);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    return bad(`has a header (bytes 8 to ${8 + headerLength}) that is not valid UTF-8`);
  }
  if (!text.startsWith('{')) bad(`has a header that does not start with "{" (the format requires a JSON object), it starts with ${show(text.slice(0, 16))}`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    return bad(`has a header that is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(header)) return bad(`has a header that is not a JSON object`);

  const metadata: Record<string, string> = {};
  if (Object.hasOwn(header, METADATA_KEY)) {
    const m = header[METADATA_KEY];
    if (!isPlainObject(m)) bad(`has "${METADATA_KEY}" ${show(m)}, expected an object of string values`);
    for (const [key, value] of Object.entries(m as Record<string, unknown>)) {
      if (typeof value !== 'string') bad(`has "${METADATA_KEY}" value ${show(value)} for key ${show(key)}, expected a string`);
      setOwn(metadata, key, value as string);
    }
  }

  const dataLength = bytes.length - 8 - headerLength;
  interface Entry {
    name: string;
    info: DTypeInfo;
    shape: number[];
    begin: number;
    end: number;
  }
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    const what = `tensor ${show(name)}`;
    if (!isPlainObject(raw)) bad(`has ${what} = ${show(raw)}, expected an object { dtype, shape, data_offsets }`);
    const entry = raw as Record<string, unknown>;
    for (const key of ENTRY_KEYS) if (!Object.hasOwn(entry, key)) bad(`has ${what} without "${key}" (expected dtype, shape and data_offsets)`);
    for (const key of Object.keys(entry)) if (!ENTRY_KEYS.includes(key)) bad(`has ${what} with an unknown key ${show(key)} (expected only dtype, shape and data_offsets)`);

    const code = entry['dtype'];
    if (typeof code !== 'string') return bad(`has ${what} with dtype ${show(code)}, expected a string like "F32"`);
    const info = BY_CODE.get(code);
    if (info === undefined) {
      const supported = DTYPE_INFO.map((d) => d.code).join(', ');
      return OTHER_CODES.includes(code)
        ? bad(`has ${what} of dtype ${code}, which convnet does not read (it reads ${supported})`)
        : bad(`has ${what} of unknown dtype ${show(code)} (convnet reads ${supported})`);
    }

    const shape = entry['shape'];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      return bad(`has ${what} with shape ${show(shape)}, expected an array of non-negative integers`);
    }
    const offsets = entry['data_offsets'];
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      return bad(`has ${what} with data_offsets ${show(offsets)}, expected [begin, end], two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) bad(`has ${what} with data_offsets [${begin}, ${end}], whose begin is after its end`);
    if (end > dataLength) bad(`has ${what} with data_offsets [${begin}, ${end}], past the end of the data (${dataLength} bytes after the ${headerLength}-byte header): a truncated or corrupt file`);
    const size = shape.reduce((a: number, d: number) => a * d, 1);
    if ((end - begin) !== size * info.itemSize) {
      bad(`has ${what} of dtype ${code} and shape ${show(shape)} (${size} × ${info.itemSize} = ${size * info.itemSize} bytes), but its data_offsets [${begin}, ${end}] span ${end - begin} bytes`);
    }
    entries.push({ name, info, shape: [...shape], begin, end });
  }

  // The data buffer must be covered exactly once (the format forbids holes, which could hide
  // a second file, and overlaps): walk the tensors by offset.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: Entry | undefined;
  for (const e of byOffset) {
    if (e.begin < covered) bad(`has tensor ${show(e.name)} at data_offsets [${e.begin}, ${e.end}] overlapping tensor ${show(previous!.name)} at [${previous!.begin}, ${previous!.end}]`);
    if (e.begin > covered) bad(`has a hole in its data: bytes [${covered}, ${e.begin}) belong to no tensor (the next is ${show(e.name)} at [${e.begin}, ${e.end}])`);
    covered = e.end;
    previous = e;
  }
  if (covered < dataLength) {
    const extra = dataLength - covered;
    bad(`has ${extra} trailing byte${extra === 1 ? '' : 's'} after the last tensor: the data is ${dataLength} bytes, the tensors end at ${covered} (file byte ${8 + headerLength + covered})`);
  }

  const tensors: Record<string, StoredTensor> = {};
  const start = 8 + headerLength;
  for (const { name, info, shape, begin, end } of entries) {
    // A copy into a fresh ArrayBuffer at offset 0, so any typed array over it is aligned. Not
    // bytes.slice(): on a Node Buffer, slice() is a view, not a copy.
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(start + begin, start + end));
    if (!HOST_LITTLE_ENDIAN && info.itemSize > 1) swapByteOrder(copy, info.itemSize);
    const data = info.make(copy.buffer, (end - begin) / info.itemSize);
    setOwn(tensors, name, { shape, data, dtype: info.dtype } as StoredTensor);
  }
  return { tensors, metadata };
}
