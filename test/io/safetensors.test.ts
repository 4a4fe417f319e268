import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { decodeSafetensors, encodeSafetensors, type StoredTensor } from '../../src/io/index.js';
import { swapByteOrder } from '../../src/io/safetensors.js';
import { throwsConvnet } from '../helpers.js';

const enc = new TextEncoder();

/** A file from its parts, byte by byte as the format says: u64 LE header length, header, data. */
function fileOf(header: string | Uint8Array, data: ArrayLike<number> = [], declaredLength?: number | bigint): Uint8Array {
  const json = typeof header === 'string' ? enc.encode(header) : header;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** The raw bytes of a typed array. */
const bytesOf = (a: ArrayBufferView): number[] => [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)];

/** Floats whose bits a careless round trip would change: NaN payloads, -0, subnormals, infinities. */
function awkwardFloat32(): Float32Array {
  const bits = new Uint32Array([0x7fc00000, 0x7fa00001, 0xffc12345, 0x80000000, 0x00000001, 0x007fffff, 0x80400000, 0x7f800000, 0xff800000, 0x3f800000, 0x7f7fffff, 0x00800000]);
  return new Float32Array(bits.buffer);
}
function awkwardFloat64(): Float64Array {
  const bits = new BigUint64Array([0x7ff8000000000000n, 0x7ff0000000000001n, 0xfff8dead_beef0001n, 0x8000000000000000n, 1n, 0x000fffffffffffffn, 0x7ff0000000000000n, 0x3ff0000000000000n]);
  return new Float64Array(bits.buffer);
}

function sameTensor(actual: StoredTensor | undefined, expected: StoredTensor, name: string): void {
  assert.ok(actual !== undefined, `${name} missing`);
  assert.equal(actual.dtype, expected.dtype, `${name} dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${name} shape`);
  assert.equal(actual.data.constructor, expected.data.constructor, `${name} array type`);
  assert.deepEqual(bytesOf(actual.data), bytesOf(expected.data), `${name} bytes`);
}

function sampleTensors(): Record<string, StoredTensor> {
  const f32 = awkwardFloat32();
  const f64 = awkwardFloat64();
  return {
    'conv1.w': { shape: [3, 2, 2], data: f32, dtype: 'float32' },
    'fc.b': { shape: [2, 4], data: f64, dtype: 'float64' },
    scalar32: { shape: [], data: new Float32Array([-0]), dtype: 'float32' },
    scalar64: { shape: [], data: new Float64Array([Math.PI]), dtype: 'float64' },
    empty: { shape: [0, 3], data: new Float32Array(0), dtype: 'float32' },
    empty64: { shape: [2, 0], data: new Float64Array(0), dtype: 'float64' },
    labels: { shape: [5], data: new Int32Array([0, -1, 2147483647, -2147483648, 7]), dtype: 'int32' },
    step: { shape: [], data: new Int32Array([1234]), dtype: 'int32' },
    pixels: { shape: [1, 3], data: new Uint8Array([0, 128, 255]), dtype: 'uint8' },
    'ünïcode name': { shape: [1], data: new Float64Array([1e-310]), dtype: 'float64' },
  };
}

test('round trip of float32, float64, int32 and uint8 tensors (scalars, zero-size) and metadata is bit-identical', () => {
  const tensors = sampleTensors();
  const metadata = { format: 'pt', 'convnet.config': JSON.stringify({ layers: [{ type: 'conv', filters: 8 }] }), empty: '', 'ключ': 'значение' };
  const bytes = encodeSafetensors(tensors, metadata);
  const decoded = decodeSafetensors(bytes, 'model.safetensors');
  assert.deepEqual(Object.keys(decoded.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) sameTensor(decoded.tensors[name], t, name);
  assert.deepEqual(decoded.metadata, metadata);
  // the same input gives the same bytes
  assert.deepEqual(encodeSafetensors(sampleTensors(), { ...metadata }), bytes);
  // no tensors at all, no metadata
  assert.deepEqual(decodeSafetensors(encodeSafetensors({}, {})), { tensors: {}, metadata: {} });
});

test('decoded tensors are aligned copies, also from a Node Buffer at an odd offset', () => {
  const bytes = encodeSafetensors({ x: { shape: [3], data: new Float64Array([1, 2, 3]), dtype: 'float64' } }, {});
  const pool = Buffer.alloc(bytes.length + 1);
  pool.set(bytes, 1);
  const shifted = pool.subarray(1); // byteOffset 1: a Float64Array view of it would throw
  const { tensors } = decodeSafetensors(shifted, 'shifted');
  const x = tensors['x']!;
  assert.equal(x.data.byteOffset, 0);
  assert.equal(x.data.buffer.byteLength, 24);
  assert.deepEqual([...x.data], [1, 2, 3]);
  pool.fill(0);
  assert.deepEqual([...x.data], [1, 2, 3], 'a copy, not a view of the input');
});

test('an independent reader (DataView, JSON.parse, slices) finds every tensor of an encoded file', () => {
  const tensors = sampleTensors();
  const bytes = encodeSafetensors(tensors, { k: 'v' });
  // Written from the format description only.
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  assert.equal(n % 8, 0, 'header padded to a multiple of 8 bytes');
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.match(headerText, /^\{.*\} *$/s, 'a JSON object, then spaces');
  const header = JSON.parse(headerText) as Record<string, unknown>;
  assert.deepEqual(header['__metadata__'], { k: 'v' });
  const codes: Record<string, string> = { float32: 'F32', float64: 'F64', int32: 'I32', uint8: 'U8' };
  const itemSizes: Record<string, number> = { F32: 4, F64: 8, I32: 4, U8: 1 };
  const dataStart = 8 + n;
  let total = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const entry = header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
    assert.ok(entry !== undefined, `${name} in the header`);
    assert.deepEqual(Object.keys(entry).sort(), ['data_offsets', 'dtype', 'shape']);
    assert.equal(entry.dtype, codes[t.dtype]);
    assert.deepEqual(entry.shape, t.shape);
    const [begin, end] = entry.data_offsets;
    assert.equal(end - begin, t.data.length * itemSizes[entry.dtype]!);
    assert.equal((dataStart + begin) % itemSizes[entry.dtype]!, 0, `${name} aligned in the file`);
    // little-endian bytes, as DataView reads them
    const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
    for (let i = 0; i < t.data.length; i++) {
      if (entry.dtype === 'U8') assert.equal(view.getUint8(i), t.data[i]);
      if (entry.dtype === 'I32') assert.equal(view.getInt32(4 * i, true), t.data[i]);
      if (entry.dtype === 'F32') assert.equal(view.getUint32(4 * i, true), new Uint32Array(t.data.buffer)[i]);
      if (entry.dtype === 'F64') assert.equal(view.getBigUint64(8 * i, true), new BigUint64Array(t.data.buffer)[i]);
    }
    total += end - begin;
  }
  assert.equal(Object.keys(header).length, Object.keys(tensors).length + 1);
  assert.equal(bytes.length, dataStart + total, 'nothing after the tensors');
});

test('the layout of the reference writer: F64, F32, I32, U8, each by name; header padded with spaces; metadata left out when empty', () => {
  const bytes = encodeSafetensors(
    {
      b: { shape: [1], data: new Float32Array([1]), dtype: 'float32' },
      a: { shape: [1], data: new Uint8Array([1]), dtype: 'uint8' },
      c: { shape: [1], data: new Float64Array([1]), dtype: 'float64' },
      a32: { shape: [1], data: new Int32Array([1]), dtype: 'int32' },
    },
    {},
  );
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.equal(
    text.trimEnd(),
    '{"c":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
      '"a32":{"dtype":"I32","shape":[1],"data_offsets":[12,16]},"a":{"dtype":"U8","shape":[1],"data_offsets":[16,17]}}',
  );
  assert.match(text, / {0,7}$/);
  assert.equal(bytes.length, 8 + n + 17);
});

test('a hand-made file from the format description decodes', () => {
  // The header of the format's own example plus metadata, padded to 88 bytes (a multiple of 8).
  const header = '{"test":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"k":"v"}}';
  assert.equal(header.length, 85);
  const padded = header + '   ';
  // 1.0, -2.5, 0.5, 3.0 as little-endian IEEE 754 single-precision bytes, written out by hand.
  const data = [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x40, 0x40];
  const file = [88, 0, 0, 0, 0, 0, 0, 0, ...enc.encode(padded), ...data];
  const { tensors, metadata } = decodeSafetensors(Uint8Array.from(file), 'hand-made');
  assert.deepEqual(metadata, { k: 'v' });
  const t = tensors['test']!;
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.shape, [2, 2]);
  assert.ok(t.data instanceof Float32Array);
  assert.deepEqual([...t.data], [1, -2.5, 0.5, 3]);
  // and int32 / float64 / uint8, unpadded header (the format allows it), zero-size in the middle
  const h2 = '{"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F64","shape":[0],"data_offsets":[8,8]},"d":{"dtype":"F64","shape":[],"data_offsets":[8,16]},"u":{"dtype":"U8","shape":[2],"data_offsets":[16,18]}}';
  const d2 = [0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0xf0, 0xbf, 7, 200];
  const two = decodeSafetensors(fileOf(h2, d2));
  assert.deepEqual([...two.tensors['i']!.data], [-1, 2]);
  assert.ok(two.tensors['i']!.data instanceof Int32Array);
  assert.deepEqual([...two.tensors['d']!.data], [-1]);
  assert.deepEqual(two.tensors['d']!.shape, []);
  assert.deepEqual(two.tensors['z']!.shape, [0]);
  assert.deepEqual([...two.tensors['u']!.data], [7, 200]);
  assert.deepEqual(two.metadata, {});
});

test('a file written by the reference implementation decodes, and encodes back to the same bytes (fixture)', () => {
  // test/io/fixtures/reference.safetensors: written by the Rust safetensors crate 0.6.2 (what
  // Python's safetensors runs); reference.json: what its reader returned, tensor by tensor.
  const dir = fileURLToPath(new URL('../../../test/io/fixtures/', import.meta.url));
  const file = readFileSync(`${dir}reference.safetensors`);
  const { tensors, metadata } = decodeSafetensors(file, 'reference.safetensors');
  const expected = JSON.parse(readFileSync(`${dir}reference.json`, 'utf8')) as {
    metadata: Record<string, string>;
    tensors: Record<string, { dtype: string; shape: number[]; hex: string }>;
  };
  assert.deepEqual(metadata, expected.metadata);
  assert.deepEqual(Object.keys(tensors).sort(), Object.keys(expected.tensors).sort());
  for (const [name, e] of Object.entries(expected.tensors)) {
    const t = tensors[name]!;
    assert.equal(t.dtype, e.dtype, name);
    assert.deepEqual(t.shape, e.shape, name);
    assert.equal(Buffer.from(bytesOf(t.data)).toString('hex'), e.hex, name);
  }
  assert.deepEqual([...tensors['w']!.data.subarray(0, 4)], [1, -2.5, 0.5, 3]);
  assert.ok(Object.is(tensors['w']!.data[5], -0));
  assert.deepEqual([...tensors['labels']!.data], [0, -1, 2147483647, -2147483648, 7]);
  assert.equal(tensors['b.bias']!.data[1], 5e-324);
  // the same layout, header and padding as the reference writer
  assert.deepEqual(encodeSafetensors(tensors, metadata), new Uint8Array(file));
});

test('names that are JavaScript object keys with special meaning stay plain keys', () => {
  const t: StoredTensor = { shape: [1], data: new Float32Array([2]), dtype: 'float32' };
  const tensors: Record<string, StoredTensor> = {};
  Object.defineProperty(tensors, '__proto__', { value: t, enumerable: true });
  tensors['constructor'] = t;
  const metadata: Record<string, string> = {};
  Object.defineProperty(metadata, '__proto__', { value: 'x', enumerable: true });
  const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata));
  assert.deepEqual(Object.keys(decoded.tensors).sort(), ['__proto__', 'constructor']);
  assert.equal(Object.getPrototypeOf(decoded.tensors), Object.prototype);
  assert.equal(decoded.tensors['__proto__']!.data[0], 2);
  assert.equal(Object.getOwnPropertyDescriptor(decoded.metadata, '__proto__')?.value, 'x');
});

test('swapByteOrder turns little-endian bytes into big-endian (the big-endian host path)', () => {
  const a = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  swapByteOrder(a, 4);
  assert.deepEqual([...a], [4, 3, 2, 1, 8, 7, 6, 5]);
  swapByteOrder(a, 8);
  assert.deepEqual([...a], [5, 6, 7, 8, 1, 2, 3, 4]);
  // a NaN payload survives a swap there and back
  const f = awkwardFloat64();
  const bytes = new Uint8Array(f.buffer.slice(0));
  swapByteOrder(bytes, 8);
  swapByteOrder(bytes, 8);
  assert.deepEqual([...bytes], bytesOf(f));
});

// ---- encoder input checks ----

test('encodeSafetensors throws when a tensor or the metadata is malformed', () => {
  const ok: StoredTensor = { shape: [2], data: new Float32Array(2), dtype: 'float32' };
  throwsConvnet(() => encodeSafetensors({ x: { shape: [3], data: new Float32Array(2), dtype: 'float32' } }), /encodeSafetensors: .*tensor "x" of shape \[3\] to hold 3 values, got 2/);
  throwsConvnet(() => encodeSafetensors({ x: { shape: [2], data: new Float64Array(2), dtype: 'float32' } }), /tensor "x" of dtype 'float32' to hold a Float32Array, got Float64Array/);
  throwsConvnet(() => encodeSafetensors({ x: { shape: [2], data: new Float32Array(2), dtype: 'float16' } as unknown as StoredTensor }), /tensor "x" to have dtype 'float64', 'float32', 'int32', 'uint8', got "float16"/);
  throwsConvnet(() => encodeSafetensors({ x: { shape: [-1], data: new Float32Array(0), dtype: 'float32' } }), /tensor "x" to have a shape of non-negative integers, got \[-1\]/);
  throwsConvnet(() => encodeSafetensors({ __metadata__: ok }), /names other than "__metadata__"/);
  throwsConvnet(() => encodeSafetensors({ x: ok }, { n: 3 } as unknown as Record<string, string>), /metadata values to be strings, got metadata\["n"\] = 3/);
  throwsConvnet(() => encodeSafetensors({ x: null } as unknown as Record<string, StoredTensor>), /tensor "x" to be a tensor/);
});

// ---- one test per bad file ----

const GOOD_HEADER = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
const GOOD_DATA = new Array(8).fill(0);
/** A file whose tensor "a" has the given entry, with `dataBytes` bytes of data. */
const withEntry = (entry: string, dataBytes = 8): Uint8Array => fileOf(`{"a":${entry}}`, new Array(dataBytes).fill(0));

test('sanity: the base file of the bad-file tests decodes', () => {
  assert.deepEqual([...decodeSafetensors(fileOf(GOOD_HEADER, GOOD_DATA)).tensors['a']!.data], [0, 0]);
});

test('throws when the file is shorter than 8 bytes', () => {
  throwsConvnet(() => decodeSafetensors(new Uint8Array(5), 'tiny.safetensors'), /decodeSafetensors: tiny\.safetensors: is 5 bytes long, too short .*8-byte header length/);
  throwsConvnet(() => decodeSafetensors(new Uint8Array(0), 'empty.st'), /empty\.st: is 0 bytes long/);
});

test('throws when the header length goes beyond the file', () => {
  throwsConvnet(() => decodeSafetensors(fileOf(GOOD_HEADER, GOOD_DATA, 200), 'cut.safetensors'), /cut\.safetensors: declares a header of 200 bytes, beyond the end of the file \(70 bytes, so at most 62\)/);
});

test('throws when the header length is absurdly large', () => {
  throwsConvnet(() => decodeSafetensors(fileOf(GOOD_HEADER, GOOD_DATA, 100_000_001), 'huge'), /huge: declares a header of 100000001 bytes, more than the 100000000-byte limit/);
  throwsConvnet(() => decodeSafetensors(fileOf(GOOD_HEADER, GOOD_DATA, 0xffffffffffffffffn), 'max'), /max: declares a header of 18446744073709551615 bytes/);
});

test('throws when the header is not valid UTF-8', () => {
  const json = enc.encode('{"a\xff":{}}');
  const bad = Uint8Array.from([...json.subarray(0, 3), 0xff, 0xfe, ...json.subarray(3)]);
  throwsConvnet(() => decodeSafetensors(fileOf(bad), 'latin1.st'), /latin1\.st: has a header \(bytes 8 to \d+\) that is not valid UTF-8/);
});

test('throws when the header is not JSON', () => {
  throwsConvnet(() => decodeSafetensors(fileOf('{"a": [1, 2'), 'broken.st'), /broken\.st: has a header that is not valid JSON/);
  // padding with anything but whitespace is not JSON either
  throwsConvnet(() => decodeSafetensors(fileOf(`${GOOD_HEADER}\0\0\0`, GOOD_DATA), 'nul-padded'), /nul-padded: has a header that is not valid JSON/);
});

test('throws when the header is not a JSON object', () => {
  throwsConvnet(() => decodeSafetensors(fileOf('[1, 2, 3]'), 'array.st'), /array\.st: has a header that does not start with "\{".*"\[1, 2, 3\]"/);
  throwsConvnet(() => decodeSafetensors(fileOf(' {}'), 'space.st'), /space\.st: has a header that does not start with "\{"/);
  throwsConvnet(() => decodeSafetensors(fileOf('{} []'), 'two.st'), /two\.st: has a header that is not valid JSON/);
});

test('throws when __metadata__ is not a map of strings to strings', () => {
  throwsConvnet(() => decodeSafetensors(fileOf('{"__metadata__":{"epochs":3}}'), 'meta.st'), /meta\.st: has "__metadata__" value 3 for key "epochs", expected a string/);
  throwsConvnet(() => decodeSafetensors(fileOf('{"__metadata__":["a"]}'), 'meta2.st'), /meta2\.st: has "__metadata__" \["a"\], expected an object of string values/);
  throwsConvnet(() => decodeSafetensors(fileOf('{"__metadata__":null}'), 'meta3.st'), /meta3\.st: has "__metadata__" null/);
  throwsConvnet(() => decodeSafetensors(fileOf('{"__metadata__":{"a":{"b":"c"}}}'), 'meta4.st'), /meta4\.st: has "__metadata__" value \{"b":"c"\} for key "a"/);
});

test('throws when an entry is not an object or lacks dtype, shape or data_offsets', () => {
  throwsConvnet(() => decodeSafetensors(withEntry('[1]'), 'e.st'), /e\.st: has tensor "a" = \[1\], expected an object \{ dtype, shape, data_offsets \}/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"shape":[2],"data_offsets":[0,8]}'), 'e.st'), /e\.st: has tensor "a" without "dtype"/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","data_offsets":[0,8]}'), 'e.st'), /e\.st: has tensor "a" without "shape"/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[2]}'), 'e.st'), /e\.st: has tensor "a" without "data_offsets"/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[2],"data_offsets":[0,8],"stride":[1]}'), 'e.st'), /e\.st: has tensor "a" with an unknown key "stride"/);
});

test('throws when an entry has fields of the wrong type', () => {
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":4,"shape":[2],"data_offsets":[0,8]}'), 't.st'), /t\.st: has tensor "a" with dtype 4, expected a string/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":"2","data_offsets":[0,8]}'), 't.st'), /t\.st: has tensor "a" with shape "2", expected an array of non-negative integers/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[2],"data_offsets":{"begin":0}}'), 't.st'), /t\.st: has tensor "a" with data_offsets \{"begin":0\}, expected \[begin, end\]/);
});

test('throws on an unknown dtype, and on a format dtype convnet does not read', () => {
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F33","shape":[2],"data_offsets":[0,8]}'), 'd.st'), /d\.st: has tensor "a" of unknown dtype "F33" \(convnet reads F64, F32, I32, U8\)/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"f32","shape":[2],"data_offsets":[0,8]}'), 'd.st'), /unknown dtype "f32"/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F16","shape":[4],"data_offsets":[0,8]}'), 'd.st'), /d\.st: has tensor "a" of dtype F16, which convnet does not read/);
});

test('throws on a shape with negative or non-integer dimensions', () => {
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}'), 's.st'), /s\.st: has tensor "a" with shape \[-2\], expected an array of non-negative integers/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}'), 's.st'), /s\.st: has tensor "a" with shape \[2\.5\]/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}'), 's.st'), /s\.st: has tensor "a" with shape \["2"\]/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[1e300],"data_offsets":[0,8]}'), 's.st'), /s\.st: has tensor "a" with shape \[1e\+300\]/);
});

test('throws when data_offsets are not [begin, end] integers with begin <= end', () => {
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[2],"data_offsets":[0]}'), 'o.st'), /o\.st: has tensor "a" with data_offsets \[0\], expected \[begin, end\], two non-negative integers/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}'), 'o.st'), /data_offsets \[0, 8, 8\]/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}'), 'o.st'), /data_offsets \[-8, 0\]/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}'), 'o.st'), /data_offsets \[0, 8\.5\]/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[2],"data_offsets":[8,0]}'), 'o.st'), /o\.st: has tensor "a" with data_offsets \[8, 0\], whose begin is after its end/);
});

test('throws when a tensor ends beyond the data', () => {
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[2],"data_offsets":[0,8]}', 6), 'short.st'), /short\.st: has tensor "a" with data_offsets \[0, 8\], past the end of the data \(6 bytes after the \d+-byte header\)/);
});

test('throws when the byte length is not product(shape) × item size', () => {
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[3],"data_offsets":[0,8]}'), 'len.st'), /len\.st: has tensor "a" of dtype F32 and shape \[3\] \(3 × 4 = 12 bytes\), but its data_offsets \[0, 8\] span 8 bytes/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F64","shape":[2],"data_offsets":[0,8]}'), 'len.st'), /dtype F64 and shape \[2\] \(2 × 8 = 16 bytes\)/);
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[],"data_offsets":[0,8]}'), 'len.st'), /shape \[\] \(1 × 4 = 4 bytes\)/);
});

test('throws when two tensors overlap', () => {
  const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
  throwsConvnet(() => decodeSafetensors(fileOf(header, new Array(12).fill(0)), 'overlap.st'), /overlap\.st: has tensor "b" at data_offsets \[4, 12\] overlapping tensor "a" at \[0, 8\]/);
  // the same bytes twice (an alias) is an overlap too
  const alias = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}';
  throwsConvnet(() => decodeSafetensors(fileOf(alias, GOOD_DATA), 'alias.st'), /alias\.st: has tensor "(a|b)" at data_offsets \[0, 8\] overlapping tensor "(a|b)"/);
});

test('throws when the data has a hole', () => {
  const header = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
  throwsConvnet(() => decodeSafetensors(fileOf(header, new Array(12).fill(0)), 'hole.st'), /hole\.st: has a hole in its data: bytes \[4, 8\) belong to no tensor \(the next is "b" at \[8, 12\]\)/);
  // a hole at the start
  throwsConvnet(() => decodeSafetensors(withEntry('{"dtype":"F32","shape":[1],"data_offsets":[4,8]}'), 'hole0.st'), /hole0\.st: has a hole in its data: bytes \[0, 4\)/);
});

test('throws on trailing data after the last tensor', () => {
  throwsConvnet(() => decodeSafetensors(fileOf(GOOD_HEADER, new Array(11).fill(0)), 'tail.st'), /tail\.st: has 3 trailing bytes after the last tensor: the data is 11 bytes, the tensors end at 8/);
  throwsConvnet(() => decodeSafetensors(fileOf('{}', [1]), 'tail0.st'), /tail0\.st: has 1 trailing byte after the last tensor: the data is 1 bytes, the tensors end at 0/);
});

test('throws when the input is not a Uint8Array', () => {
  throwsConvnet(() => decodeSafetensors([1, 2, 3] as unknown as Uint8Array, 'arr'), /decodeSafetensors: expected the bytes of arr as a Uint8Array, got \[1, 2, 3\]/);
});
