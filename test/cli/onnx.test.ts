// `convnet predict`, `evaluate` and `info` on .onnx files, run as a user runs them
// (node dist/cli/main.js): a digit classifier trained here and written by `convnet export`
// gives what its safetensors file gives; PyTorch's bn_net.onnx runs too.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { decodeOnnx, encodeOnnx } from '../../src/io/onnx/proto.js';
import { importOnnx } from '../../src/io/onnx/import.js';
import { softmax } from '../../src/layers/activations.js';
import { CONVNET_VERSION } from '../../src/version.js';
import { pytorchFixturesDir, readPytorchFixture } from '../io/onnxFixtures.js';
import { testDigitPixels, trainSmallModel, type TrainedFixture } from './modelFixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');

function convnet(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

function pngOf(grey: Uint8Array): Buffer {
  const png = new PNG({ width: 28, height: 28 });
  png.data = Buffer.alloc(28 * 28 * 4);
  grey.forEach((g, p) => png.data.set([g, g, g, 255], 4 * p));
  return PNG.sync.write(png);
}

interface JsonPrediction {
  file: string;
  predictions: Array<{ class: number; name: string; probability: number }>;
}

const dir = mkdtempSync(join(tmpdir(), 'convnet-onnx-cli-'));
let fx: TrainedFixture;
let onnxPath: string;
const digit = join(dir, 'digit.png');

before(async () => {
  fx = await trainSmallModel(dir);
  onnxPath = join(dir, 'digits.onnx');
  const exported = await convnet('export', fx.modelPath, '-o', onnxPath);
  assert.equal(exported.status, 0, exported.stderr);
  writeFileSync(digit, pngOf(testDigitPixels(fx.data, 0)));
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('convnet predict, evaluate and info on .onnx files', { concurrency: true }, () => {
  test('predict: the .onnx file gives the classes, names and probabilities its safetensors file gives', async () => {
    const [a, b] = await Promise.all([convnet('predict', onnxPath, digit, '--json', '--top', '10'), convnet('predict', fx.modelPath, digit, '--json', '--top', '10')]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    const [fromOnnx] = JSON.parse(a.stdout) as JsonPrediction[];
    const [fromSafetensors] = JSON.parse(b.stdout) as JsonPrediction[];
    assert.deepEqual(fromOnnx!.predictions.map((p) => [p.class, p.name]), fromSafetensors!.predictions.map((p) => [p.class, p.name]));
    fromOnnx!.predictions.forEach((p, k) => assert.ok(Math.abs(p.probability - fromSafetensors!.predictions[k]!.probability) < 1e-6, `class ${p.class}`));
    assert.equal(fromOnnx!.predictions[0]!.class, fx.data.yTest[0]);
  });

  test("evaluate: the .onnx file's test accuracy on the dataset its metadata names is the trained model's", async () => {
    const run = await convnet('evaluate', onnxPath, '--json');
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { dataset: string; count: number; testAcc: number; recordedTestAcc: number | null; notes: string[] };
    assert.equal(report.dataset, 'mnist');
    assert.equal(report.count, 1000);
    assert.equal(report.testAcc, fx.testAcc);
    assert.equal(report.recordedTestAcc, fx.testAcc);
    assert.deepEqual(report.notes, []);
  });

  test('info: the producer, IR version, opset, nodes by op type, then the imported Network and the convnet metadata', async () => {
    const run = await convnet('info', onnxPath);
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.split('\n');
    assert.equal(lines[0], `${onnxPath}: ONNX model file written by convnet ${CONVNET_VERSION} (IR version 8, opset 17)`);
    assert.equal(lines[1], 'graph "ThreeLayerConvNet": 7 nodes (Conv 1, Relu 2, MaxPool 1, Flatten 1, Gemm 2); input "input" (N (dynamic), 1, 28, 28), output "scores"');
    assert.equal(lines[2], 'imported as the Network below');
    assert.match(run.stdout, /^Network: input \(1, 28, 28\), 10 classes, float32$/m);
    assert.match(run.stdout, /^Conv2d 1→4, 5×5, pad 2 +\(4, 28, 28\) +104 +W1, b1$/m);
    assert.match(run.stdout, /^preprocessing: input = pixel · 0\.00392157 − mean \(per pixel, shape \[1, 28, 28\]\), for pixels 0\.\.255$/m);
    assert.match(run.stdout, /^classes \(10\): 0, 1, 2, 3, 4, 5, 6, 7, 8, 9$/m);
    assert.match(run.stdout, /^ {2}dataset: +mnist$/m);
    const json = await convnet('info', onnxPath, '--json');
    const report = JSON.parse(json.stdout) as { format: string; convnetVersion: string; onnx: { producer: string; opset: number; nodes: number; opTypes: Record<string, number>; batch: string; outputActivation: string | null } };
    assert.equal(report.format, 'onnx');
    assert.equal(report.convnetVersion, CONVNET_VERSION);
    assert.deepEqual(report.onnx, { ...report.onnx, producer: `convnet ${CONVNET_VERSION}`, opset: 17, nodes: 7, batch: 'N', outputActivation: null });
    assert.deepEqual(report.onnx.opTypes, { Conv: 1, Relu: 2, MaxPool: 1, Flatten: 1, Gemm: 2 });
  });

  test("PyTorch's bn_net.onnx: info names PyTorch, predict gives the softmax of the imported model's scores on raw pixels", async () => {
    const fixture = join(pytorchFixturesDir(), 'bn_net.onnx');
    const info = await convnet('info', fixture);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, /: ONNX model file written by pytorch 1\.13\.0 \(IR version 7, opset 13\)\n/);
    assert.match(info.stdout, /^preprocessing: none recorded/m);
    const run = await convnet('predict', fixture, digit, '--json', '--top', '10');
    assert.equal(run.status, 0, run.stderr);
    const [result] = JSON.parse(run.stdout) as JsonPrediction[];
    // No preprocessing recorded: the input is the pixel values 0..255 themselves.
    const { model } = importOnnx(readPytorchFixture('bn_net').bytes);
    const pixels = testDigitPixels(fx.data, 0);
    const probabilities = softmax(model.forward({ shape: [1, 1, 28, 28], data: Float32Array.from(pixels), dtype: 'float32' }));
    assert.equal(result!.predictions.length, 10);
    for (const p of result!.predictions) assert.ok(Math.abs(p.probability - probabilities.data[p.class]!) < 1e-6, `class ${p.class}`);
  });

  test('a truncated .onnx file and an unsupported operator: exit 1, one line naming the file (and the node)', async () => {
    const truncated = join(dir, 'truncated.onnx');
    const bytes = readPytorchFixture('bn_net').bytes;
    writeFileSync(truncated, bytes.subarray(0, 5000));
    const a = await convnet('info', truncated);
    assert.equal(a.status, 1);
    assert.match(a.stderr, /^convnet: .*truncated\.onnx: expected an ONNX model \(a protobuf ModelProto\), got 5000 bytes that do not decode .*\n$/);
    // The same bytes under another name are still recognised as ONNX by their first bytes.
    const renamed = join(dir, 'bn_net.model');
    copyFileSync(join(pytorchFixturesDir(), 'bn_net.onnx'), renamed);
    const b = await convnet('info', renamed, '--json');
    assert.equal(b.status, 0, b.stderr);
    assert.equal((JSON.parse(b.stdout) as { format: string }).format, 'onnx');
    const model = importOnnx(bytes); // sanity: the fixture itself imports
    assert.equal(model.model.numClasses, 10);
    const weird = join(dir, 'weird.onnx');
    const broken = decodeOnnx(bytes);
    broken.graph.node[1]!.opType = 'Selu';
    writeFileSync(weird, encodeOnnx(broken));
    const c = await convnet('predict', weird, digit);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /^convnet: .*weird\.onnx: node "\/2\/Relu" \(Selu, #1 of 13\): expected an operator convnet imports .*"Selu" \(unsupported operator\)\n$/);
  });
});
