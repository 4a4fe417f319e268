// Model files that must be refused: one test per way a file can be wrong. Each bad file is made
// from a valid encodeModel output by a little reader and writer of the test's own (the format's
// description, not the project's code), changing exactly one thing, and each must give a
// ConvnetError naming the file and the problem, from decodeModel(bytes, name) and from loadModel.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import { ConvnetError } from '../../src/errors.js';
import { loadModel } from '../../src/io/files.js';
import { decodeModel, encodeModel } from '../../src/io/model.js';
import { rng } from '../../src/rng.js';
import type { Json } from '../../src/nn/module.js';
import { randomTensor } from '../helpers.js';
import { MODEL_KINDS, residualNet } from '../models/kinds.js';

// ---- a reader and writer written from the safetensors format description ----

/** One tensor as the file stores it: its dtype code, shape and raw little-endian bytes. */
interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** A file's parts: the metadata map and the tensors in data order. */
interface RawFile {
  metadata: Record<string, string> | undefined;
  tensors: [string, RawTensor][];
}

function readRaw(file: Uint8Array): RawFile {
  const n = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, unknown>;
  const data = file.subarray(8 + n);
  const entries: { begin: number; tensor: [string, RawTensor] }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    entries.push({ begin, tensor: [name, { dtype, shape, bytes: data.slice(begin, end) }] });
  }
  entries.sort((a, b) => a.begin - b.begin);
  return { metadata: header['__metadata__'] as Record<string, string> | undefined, tensors: entries.map((e) => e.tensor) };
}

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: number[] } | Record<string, string>>;

/** The file of `raw`: tensors laid out in order; `edit` may change the header before it is written. */
function writeRaw(raw: RawFile, edit?: (header: Header) => void): Uint8Array {
  const header: Header = {};
  if (raw.metadata !== undefined) header['__metadata__'] = raw.metadata;
  let offset = 0;
  for (const [name, t] of raw.tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  edit?.(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of raw.tensors) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

/** The base file with its convnet metadata (parsed JSON) changed by `edit`. */
function withConvnet(edit: (convnet: Record<string, Json>) => void, base = baseFile()): Uint8Array {
  const raw = readRaw(base);
  const convnet = JSON.parse(raw.metadata!['convnet']!) as Record<string, Json>;
  edit(convnet);
  return writeRaw({ ...raw, metadata: { ...raw.metadata, convnet: JSON.stringify(convnet) } });
}

/** The base file with its tensors changed by `edit` (in place on the list). */
function withTensors(edit: (tensors: [string, RawTensor][]) => void, base = baseFile()): Uint8Array {
  const raw = readRaw(base);
  edit(raw.tensors);
  return writeRaw(raw);
}

function tensorOf(tensors: [string, RawTensor][], name: string): RawTensor {
  const found = tensors.find(([n]) => n === name);
  assert.ok(found !== undefined, `the base file has ${name}`);
  return found[1];
}

// ---- the valid file every bad one comes from ----

const KIND = MODEL_KINDS[0]!; // ThreeLayerConvNet, input (2, 8, 7), 4 classes: W1 (3, 2, 3, 3), …, W3 (6, 4)

/** A float32 ThreeLayerConvNet after a training step, with class names, a per-pixel mean and a training summary. */
function baseFile(): Uint8Array {
  const model = KIND.make('float32');
  const r = rng(1);
  model.loss(randomTensor([4, ...KIND.inputShape], 3, 'float32'), Int32Array.from({ length: 4 }, () => r.int(model.numClasses)));
  return encodeModel(model, {
    classNames: ['cat', 'dog', 'ship', 'frog'],
    preprocessing: { scale: 1 / 255, mean: randomTensor(KIND.inputShape, 5, 'float32') },
    training: { dataset: 'test', epochs: 1 },
  });
}

// ---- the assertion: both entry points refuse the file, naming it and the problem ----

const dir = mkdtempSync(join(tmpdir(), 'convnet-bad-model-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function checkError(error: unknown, source: string, patterns: RegExp[]): true {
  assert.ok(error instanceof ConvnetError, `expected a ConvnetError, got ${String(error)}`);
  assert.ok(error.message.includes(source), `the message names ${source}: ${error.message}`);
  for (const p of patterns) assert.match(error.message, p);
  return true;
}

/** decodeModel(bytes, 'bad.safetensors') and loadModel(a temporary file of those bytes) both refuse it. */
async function assertRefused(bytes: Uint8Array, ...patterns: RegExp[]): Promise<void> {
  assert.throws(() => decodeModel(bytes, 'bad.safetensors'), (e: unknown) => checkError(e, 'bad.safetensors', patterns));
  const path = join(dir, `bad-${files++}.safetensors`);
  writeFileSync(path, bytes);
  await assert.rejects(loadModel(path), (e: unknown) => checkError(e, path, patterns));
}

describe('model files: one test per bad file', () => {
  test('sanity: the base file and the test writer\'s copy of it load', async () => {
    const base = baseFile();
    const copy = writeRaw(readRaw(base));
    for (const bytes of [base, copy]) {
      const { model, info } = decodeModel(bytes, 'base.safetensors');
      assert.deepEqual(info.classNames, ['cat', 'dog', 'ship', 'frog']);
      assert.deepEqual(info.preprocessing?.mean?.shape, KIND.inputShape);
      assert.equal(model.dtype, 'float32');
    }
    const path = join(dir, 'base.safetensors');
    writeFileSync(path, copy);
    assert.equal((await loadModel(path)).model.numClasses, 4);
  });

  test('truncated inside the 8-byte header length', async () => {
    const base = baseFile();
    for (const cut of [1, 5, 7]) await assertRefused(base.slice(0, cut), new RegExp(`is ${cut} bytes long, too short .*8-byte header length.*truncated`));
  });

  test('truncated inside the header', async () => {
    const base = baseFile();
    const headerEnd = 8 + Number(new DataView(base.buffer).getBigUint64(0, true));
    for (const cut of [8, 9, 40, headerEnd - 1]) await assertRefused(base.slice(0, cut), /declares a header of \d+ bytes, beyond the end of the file/, /truncated/);
  });

  test('truncated inside the data', async () => {
    const base = baseFile();
    const headerEnd = 8 + Number(new DataView(base.buffer).getBigUint64(0, true));
    for (const cut of [headerEnd, headerEnd + 5, Math.floor((headerEnd + base.length) / 2), base.length - 1]) {
      await assertRefused(base.slice(0, cut), /has tensor "[\w.]+" with data_offsets \[\d+, \d+\], past the end of the data/, /truncated/);
    }
  });

  test('header length beyond the file', async () => {
    const bytes = baseFile();
    new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
    await assertRefused(bytes, new RegExp(`declares a header of ${bytes.length} bytes, beyond the end of the file \\(${bytes.length} bytes, so at most ${bytes.length - 8}\\)`));
  });

  test('overlapping data_offsets', async () => {
    // b1 (3 float32) moved 4 bytes back, into the tensor before it.
    const raw = readRaw(baseFile());
    const bytes = writeRaw(raw, (header) => {
      const b1 = header['b1'] as { data_offsets: number[] };
      b1.data_offsets = b1.data_offsets.map((o) => o - 4);
    });
    await assertRefused(bytes, /has tensor "b1" at data_offsets \[\d+, \d+\] overlapping tensor "[\w.]+" at \[\d+, \d+\]/);
  });

  test('data_offsets beyond the data', async () => {
    const raw = readRaw(baseFile());
    const [last] = raw.tensors.at(-1)!;
    const bytes = writeRaw(raw, (header) => {
      const entry = header[last] as { data_offsets: number[] };
      entry.data_offsets = entry.data_offsets.map((o) => o + 8);
    });
    await assertRefused(bytes, new RegExp(`has tensor "${last.replace('.', '\\.')}" with data_offsets \\[\\d+, \\d+\\], past the end of the data`));
  });

  test('data_offsets whose begin is after their end', async () => {
    const bytes = writeRaw(readRaw(baseFile()), (header) => {
      const b2 = header['b2'] as { data_offsets: number[] };
      b2.data_offsets = [b2.data_offsets[1]!, b2.data_offsets[0]!];
    });
    await assertRefused(bytes, /has tensor "b2" with data_offsets \[\d+, \d+\], whose begin is after its end/);
  });

  test('a tensor whose shape disagrees with the config', async () => {
    // W1 is (3, 2, 3, 3): (3, 2, 9, 1) has the same bytes, so only the model check can tell.
    const bytes = withTensors((tensors) => {
      tensorOf(tensors, 'W1').shape = [3, 2, 9, 1];
    });
    await assertRefused(bytes, /decodeModel: .*expected tensor W1 to be float32 of shape \[3, 2, 3, 3\] as its config says, got float32 of shape \[3, 2, 9, 1\]/);
  });

  test('a tensor whose dtype disagrees with the model (F64 in a float32 model)', async () => {
    const bytes = withTensors((tensors) => {
      const w2 = tensorOf(tensors, 'W2');
      const f32 = new Float32Array(w2.bytes.buffer, w2.bytes.byteOffset, w2.bytes.length / 4);
      w2.bytes = new Uint8Array(Float64Array.from(f32).buffer);
      w2.dtype = 'F64';
    });
    await assertRefused(bytes, /expected tensor W2 to be float32 of shape \[36, 6\] as its config says, got float64 of shape \[36, 6\]/);
  });

  test('a missing tensor', async () => {
    const bytes = withTensors((tensors) => {
      tensors.splice(tensors.findIndex(([name]) => name === 'b2'), 1);
    });
    await assertRefused(bytes, /expected a tensor b2 \(float32 \[6\]\) for its ThreeLayerConvNet, got none/);
  });

  test('an extra unknown tensor', async () => {
    const bytes = withTensors((tensors) => {
      tensors.push(['W4', { dtype: 'F32', shape: [2], bytes: new Uint8Array(8) }]);
    });
    await assertRefused(bytes, /expected only the tensors of its ThreeLayerConvNet, got unknown W4/);
  });

  test('an unknown format version (a newer convnet wrote it)', async () => {
    const bytes = withConvnet((convnet) => {
      convnet['version'] = 2;
    });
    await assertRefused(bytes, /expected model format version 1, got 2 \(written by a newer convnet: upgrade to read it\)/);
    await assertRefused(withConvnet((convnet) => { convnet['version'] = '1'; }), /expected model format version 1, got "1"$/);
  });

  test('convnet metadata that is not JSON', async () => {
    const raw = readRaw(baseFile());
    const bytes = writeRaw({ ...raw, metadata: { ...raw.metadata, convnet: '{"version": 1, "config": ' } });
    await assertRefused(bytes, /expected the convnet metadata to be JSON, got /);
    const array = writeRaw({ ...raw, metadata: { ...raw.metadata, convnet: '[1]' } });
    await assertRefused(array, /expected the convnet metadata to be a JSON object, got \[1\]/);
  });

  test('a config whose kind is unknown', async () => {
    const bytes = withConvnet((convnet) => {
      (convnet['config'] as Record<string, Json>)['kind'] = 'Transformer';
    });
    await assertRefused(bytes, /its model config does not build: buildModel: expected config\.kind to be one of ThreeLayerConvNet, FullyConnectedNet, ConvNet, Network, got "Transformer"/);
  });

  test('a config that does not build (Conv2d groups not dividing its channels)', async () => {
    const model = residualNet('float32');
    const base = encodeModel(model);
    const bytes = withConvnet((convnet) => {
      const first = ((convnet['config'] as { module: { layers: Record<string, Json>[] } }).module.layers[0]!);
      assert.equal(first['type'], 'Conv2d');
      first['groups'] = 2; // inChannels 2, outChannels 3
    }, base);
    await assertRefused(bytes, /its model config does not build: .*expected groups to divide inChannels \(2\) and outChannels \(3\), got 2/);
  });

  test('a config too large to build (an allocation failure is reported, not thrown raw)', async () => {
    const bytes = withConvnet((convnet) => {
      (convnet['config'] as Record<string, Json>)['hiddenDim'] = 1e9;
    });
    await assertRefused(bytes, /its model config does not build: /);
  });

  test('a metadata dtype that disagrees with the config', async () => {
    await assertRefused(withConvnet((convnet) => { convnet['dtype'] = 'float64'; }), /expected metadata dtype to be the config's float32, got "float64"/);
  });

  test('classNames of the wrong length', async () => {
    const bytes = withConvnet((convnet) => {
      convnet['classNames'] = ['cat', 'dog', 'ship'];
    });
    await assertRefused(bytes, /expected metadata classNames to be 4 strings \(one per class\), got \["cat", "dog", "ship"\]/);
  });

  test('a bad preprocessing scale', async () => {
    for (const scale of [0, -1, '1/255', null]) {
      const bytes = withConvnet((convnet) => {
        (convnet['preprocessing'] as Record<string, Json>)['scale'] = scale;
      });
      await assertRefused(bytes, /expected metadata preprocessing \{ scale > 0, mean \}, got /);
    }
  });

  test('a preprocessing mean of the wrong shape', async () => {
    // (2, 8, 7) stored as (2, 7, 8): same bytes, wrong shape.
    const bytes = withTensors((tensors) => {
      tensorOf(tensors, 'preprocessing.mean').shape = [2, 7, 8];
    });
    await assertRefused(bytes, /expected metadata preprocessing\.mean of shape \[2, 8, 7\] \(per pixel\) or \[2, 1, 1\] \(per channel\), got \[2, 7, 8\]/);
  });

  test('a preprocessing mean of a dtype other than the model\'s', async () => {
    const bytes = withTensors((tensors) => {
      const mean = tensorOf(tensors, 'preprocessing.mean');
      mean.bytes = new Uint8Array(Float64Array.from(new Float32Array(mean.bytes.buffer, mean.bytes.byteOffset, mean.bytes.length / 4)).buffer);
      mean.dtype = 'F64';
    });
    await assertRefused(bytes, /expected metadata preprocessing\.mean to be float32 \(the model's dtype\), got float64/);
    // and encodeModel does not write such a file
    assert.throws(() => encodeModel(KIND.make('float32'), { preprocessing: { scale: 1, mean: randomTensor(KIND.inputShape, 5, 'float64') } }), /encodeModel: expected info preprocessing\.mean to be float32 \(the model's dtype\), got float64/);
  });

  test('a preprocessing mean named in the metadata but not stored', async () => {
    const bytes = withTensors((tensors) => {
      tensors.splice(tensors.findIndex(([name]) => name === 'preprocessing.mean'), 1);
    });
    await assertRefused(bytes, /expected a tensor preprocessing\.mean \(the preprocessing says so\), got none/);
  });

  test('a PNG', async () => {
    const png = new PNG({ width: 4, height: 4 });
    png.data.fill(200);
    await assertRefused(PNG.sync.write(png), /declares a header of \d+ bytes, more than the 100000000-byte limit \(not a safetensors file/);
  });

  test('random bytes', async () => {
    const r = rng(9);
    const bytes = Uint8Array.from({ length: 4096 }, () => r.int(256));
    await assertRefused(bytes, /declares a header of \d+ bytes, more than the 100000000-byte limit \(not a safetensors file/);
  });

  test('an empty file', async () => {
    await assertRefused(new Uint8Array(0), /is 0 bytes long, too short for a safetensors file.*empty/);
  });

  test('a safetensors file written by another tool (no convnet metadata)', async () => {
    // As PyTorch's save_file would write a state dict: its own names, metadata { format: "pt" }.
    const raw: RawFile = {
      metadata: { format: 'pt' },
      tensors: [
        ['conv1.weight', { dtype: 'F32', shape: [3, 2, 3, 3], bytes: new Uint8Array(3 * 2 * 3 * 3 * 4) }],
        ['conv1.bias', { dtype: 'F32', shape: [3], bytes: new Uint8Array(12) }],
      ],
    };
    await assertRefused(writeRaw(raw), /expected a convnet model file \(safetensors with __metadata__\.format "convnet-model"\), got format "pt"/);
    await assertRefused(writeRaw({ ...raw, metadata: undefined }), /expected a convnet model file .*, got a safetensors file without it/);
  });

  test('a folder given as the path', async () => {
    const folder = join(dir, 'a-folder.safetensors');
    mkdirSync(folder);
    await assert.rejects(loadModel(folder), (e: unknown) => checkError(e, folder, [/expected a model file, got a folder/]));
  });

  test('a missing path', async () => {
    const path = join(dir, 'no-such-model.safetensors');
    await assert.rejects(loadModel(path), (e: unknown) => checkError(e, path, [/cannot read .*: no such file/]));
  });
});
