// The ONNX protobuf layer: PyTorch's files decode, encode → decode is lossless, and bytes that are
// not an ONNX model give a ConvnetError naming the file.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConvnetError } from '../../src/errors.js';
import { decodeOnnx, defaultOpset, encodeOnnx, floatTensor, int64Tensor, OnnxDataType, tensorValues } from '../../src/io/onnx/proto.js';
import { pytorchFixturesDir } from './onnxFixtures.js';

describe('ONNX protobuf layer', () => {
  const dir = pytorchFixturesDir();
  test('the PyTorch fixtures are present', () => assert.ok(existsSync(join(dir, 'INDEX.md')), `${dir} not found (set CONVNET_FIXTURES_DIR)`));

  for (const [name, nodes, initializers] of [['cs231n_three_layer', 7, 6], ['bn_net', 13, 12], ['gn_gap_net', 16, 8]] as const) {
    test(`${name}.onnx decodes, and encode → decode keeps every node and weight`, () => {
      const bytes = new Uint8Array(readFileSync(join(dir, `${name}.onnx`)));
      const model = decodeOnnx(bytes, `${name}.onnx`);
      assert.equal(defaultOpset(model), 13);
      assert.equal(model.graph.node.length, nodes);
      assert.equal(model.graph.initializer.length, initializers);
      assert.equal(model.graph.input[0]!.type?.tensorType?.shape?.dim[0]!.dimParam, 'N');
      const again = decodeOnnx(encodeOnnx(model));
      assert.deepEqual(again.graph.node.map((n) => [n.opType, n.input, n.output]), model.graph.node.map((n) => [n.opType, n.input, n.output]));
      for (let i = 0; i < initializers; i++) {
        const a = model.graph.initializer[i]!;
        const b = again.graph.initializer[i]!;
        assert.equal(b.name, a.name);
        assert.deepEqual(b.dims, a.dims);
        assert.deepEqual(tensorValues(b, 'test'), tensorValues(a, 'test'));
      }
    });
  }

  test('float32 and int64 tensors round trip through raw data', () => {
    const model = decodeOnnx(
      encodeOnnx({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 17 }],
        producerName: 'convnet',
        producerVersion: '0',
        metadataProps: [{ key: 'a', value: 'b' }],
        graph: { name: 'g', node: [], input: [], output: [], valueInfo: [], initializer: [floatTensor('w', [2, 2], [1.5, -2, 3.25, 1e-8]), int64Tensor('s', [2], [-1, 2 ** 40])] },
      }),
    );
    assert.equal(model.irVersion, 8);
    assert.deepEqual(model.metadataProps, [{ key: 'a', value: 'b' }]);
    assert.deepEqual(Array.from(tensorValues(model.graph.initializer[0]!, 't')), Array.from(Float32Array.from([1.5, -2, 3.25, 1e-8])));
    assert.equal(model.graph.initializer[1]!.dataType, OnnxDataType.INT64);
    assert.deepEqual(Array.from(tensorValues(model.graph.initializer[1]!, 't')), [-1, 2 ** 40]);
  });

  test('float16 and typed-field tensors decode', () => {
    assert.deepEqual(Array.from(tensorValues({ name: 'h', dims: [3], dataType: OnnxDataType.FLOAT16, int32Data: [0x3c00, 0xc000, 0x3555] }, 't')), [1, -2, 0.333251953125]);
    assert.deepEqual(Array.from(tensorValues({ name: 'f', dims: [2], dataType: OnnxDataType.FLOAT, floatData: [1, 2] }, 't')), [1, 2]);
    assert.throws(() => tensorValues({ name: 'f', dims: [3], dataType: OnnxDataType.FLOAT, floatData: [1, 2] }, 'node "Conv_0"'), (e: unknown) => e instanceof ConvnetError && /node "Conv_0".*"f".*3 values, got 2/.test(e.message));
    assert.throws(() => tensorValues({ name: 'x', dims: [1], dataType: 8 }, 'init'), (e: unknown) => e instanceof ConvnetError && /numeric type/.test(e.message));
  });

  test('a truncated file, an empty file and a file that is not ONNX give a ConvnetError naming the file', () => {
    const bytes = new Uint8Array(readFileSync(join(dir, 'bn_net.onnx')));
    const named = (re: RegExp) => (e: unknown) => e instanceof ConvnetError && re.test(e.message);
    assert.throws(() => decodeOnnx(bytes.subarray(0, bytes.length >> 1), 'bn_net.onnx'), named(/^bn_net\.onnx: expected an ONNX model .*do not decode/));
    assert.throws(() => decodeOnnx(new Uint8Array(0), 'empty.onnx'), named(/^empty\.onnx: .*got 0 bytes/));
    assert.throws(() => decodeOnnx(new TextEncoder().encode('{"format": "json"}'), 'x.json'), named(/^x\.json: expected an ONNX model/));
  });
});
