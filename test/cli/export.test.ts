// `convnet export` run as a user runs it (node dist/cli/main.js): a saved model file becomes an
// .onnx file that onnxruntime runs with the model's scores, its metadata carried along; bad
// input ends with one line and exit code 1.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { saveModel } from '../../src/io/files.js';
import { decodeOnnx } from '../../src/io/onnx/proto.js';
import { softmax } from '../../src/layers/activations.js';
import { ConvNet } from '../../src/models/spec.js';
import { randomTensor } from '../helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');

function convnet(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'convnet-export-cli-'));
const modelPath = join(dir, 'model.safetensors');
const classNames = ['zero', 'one', 'two', 'three'];
let model: ConvNet;

before(async () => {
  model = new ConvNet({ spec: 'conv(4,3)-bn-relu-pool-res(conv(4,3)-bn-relu-conv(4,3)-bn)-relu-gap-fc(4)', inputDim: [1, 8, 8], numClasses: 4, seed: 3 });
  // Running statistics other than the initial ones, so that the export must carry them.
  model.loss(randomTensor([6, 1, 8, 8], 1, 'float32'), [0, 1, 2, 3, 0, 1]);
  const mean = randomTensor([1, 8, 8], 2, 'float32', 0.1);
  await saveModel(model, modelPath, { classNames, preprocessing: { scale: 1 / 255, mean }, training: { dataset: 'mnist', testAcc: 0.5 } });
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function scoresOf(file: string, X: { shape: number[]; data: ArrayLike<number> }): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(X.data), X.shape) });
  return out[session.outputNames[0]!]!.data as Float32Array;
}

/** max |a − b| / max |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

describe('convnet export', { concurrency: true }, () => {
  test('writes an .onnx file that onnxruntime runs with the model\'s scores, and says so in one line', async () => {
    const out = join(dir, 'model.onnx');
    const run = await convnet('export', modelPath, '-o', out);
    assert.equal(run.status, 0, run.stderr);
    const size = statSync(out).size;
    const onnx = decodeOnnx(new Uint8Array(readFileSync(out)));
    assert.equal(run.stdout, `wrote ${out}: ONNX opset 17, ${onnx.graph.node.length} nodes, ${size.toLocaleString('en-US')} bytes\n`);
    assert.deepEqual(onnx.opsetImport, [{ domain: '', version: 17 }]);
    const props = Object.fromEntries(onnx.metadataProps.map((p) => [p.key, p.value]));
    assert.deepEqual(JSON.parse(props['convnet.classNames']!), classNames);
    assert.equal(JSON.parse(props['convnet.preprocessing']!).scale, 1 / 255);
    assert.deepEqual(JSON.parse(props['convnet.training']!), { dataset: 'mnist', testAcc: 0.5 });
    const X = randomTensor([5, 1, 8, 8], 7, 'float32');
    const error = relativeError(await scoresOf(out, X), model.forward(X).data);
    assert.ok(error < 1e-4, `relative error ${error}`);
    // No temporary file left beside it.
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
  });

  test('--opset 21 --softmax: IR version 10, probabilities out', async () => {
    const out = join(dir, 'probabilities.onnx');
    const run = await convnet('export', modelPath, '--out', out, '--opset', '21', '--softmax');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^wrote .*probabilities\.onnx: ONNX opset 21, \d+ nodes, [\d,]+ bytes\n$/);
    const onnx = decodeOnnx(new Uint8Array(readFileSync(out)));
    assert.equal(onnx.irVersion, 10);
    assert.equal(onnx.graph.output[0]!.name, 'probabilities');
    const X = randomTensor([3, 1, 8, 8], 8, 'float32');
    const error = relativeError(await scoresOf(out, X), softmax(model.forward(X)).data);
    assert.ok(error < 1e-4, `relative error ${error}`);
  });

  for (const [label, args, pattern] of [
    ['a missing model file', ['export', join(dir, 'none.safetensors'), '-o', join(dir, 'x.onnx')], /^convnet: loadModel: cannot read .*none\.safetensors: no such file\n$/],
    ['a file that is no model', ['export', join(dir, 'notes.txt'), '-o', join(dir, 'x.onnx')], /^convnet: loadModel: .*notes\.txt: expected a model file/],
    ['an opset outside 13..26', ['export', modelPath, '-o', join(dir, 'x.onnx'), '--opset', '12'], /^convnet: exportOnnx: expected opset to be an integer from 13 to 26, got 12\n$/],
    ['an opset that is no number', ['export', modelPath, '-o', join(dir, 'x.onnx'), '--opset', 'new'], /^error: option '--opset <n>' argument 'new' is invalid\. --opset must be a whole number >= 1, got 'new'\n/],
    ['no -o', ['export', modelPath], /^error: required option '-o, --out <file>' not specified\n/],
    ['an output folder that does not exist', ['export', modelPath, '-o', join(dir, 'missing', 'x.onnx')], /^convnet: writeFileAtomic: could not write .*its folder does not exist \(ENOENT\)/],
    ['the model file itself as the output', ['export', modelPath, '-o', modelPath], /^convnet: convnet export: expected an output path other than the model file/],
  ] as const) {
    test(`${label}: one line on stderr, exit code 1, nothing written`, async () => {
      writeFileSync(join(dir, 'notes.txt'), 'not a model, just some text here');
      const run = await convnet(...args);
      assert.equal(run.status, 1);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, pattern);
      // commander's usage errors add the program's hint line, as for every command.
      assert.equal(run.stderr.split('\n').filter((l) => l !== '' && l !== '(run with --help for usage)').length, 1, run.stderr);
      assert.ok(!existsSync(join(dir, 'x.onnx')));
    });
  }
});
