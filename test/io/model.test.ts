// Model files: save → load gives bit-identical test-mode scores for every model kind; info round trips.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadModel, saveModel } from '../../src/io/files.js';
import { decodeModel, encodeModel } from '../../src/io/model.js';
import { rng } from '../../src/rng.js';
import { CONVNET_VERSION } from '../../src/version.js';
import { randomTensor } from '../helpers.js';
import { MODEL_KINDS } from '../models/kinds.js';

describe('model files: save → load gives bit-identical test-mode scores', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convnet-model-'));
  for (const kind of MODEL_KINDS) {
    for (const dtype of ['float32', 'float64'] as const) {
      test(`${kind.label}, ${dtype}`, async () => {
        const model = kind.make(dtype);
        const X = randomTensor([4, ...kind.inputShape], 3, dtype);
        const r = rng(1);
        model.loss(X, Int32Array.from({ length: 4 }, () => r.int(model.numClasses)));
        const path = join(dir, `${kind.label.replace(/\W+/g, '-')}-${dtype}.safetensors`);
        const classNames = Array.from({ length: model.numClasses }, (_, i) => `class ${i}`);
        await saveModel(model, path, { classNames, preprocessing: { scale: 1 / 255 }, training: { dataset: 'test', epochs: 1 } });
        const loaded = await loadModel(path);
        assert.deepEqual(loaded.model.config, model.config);
        assert.deepEqual(Array.from(loaded.model.forward(X).data), Array.from(model.forward(X).data));
        assert.deepEqual(loaded.info.classNames, classNames);
        assert.deepEqual(loaded.info.preprocessing, { scale: 1 / 255 });
        assert.deepEqual(loaded.info.training, { dataset: 'test', epochs: 1 });
        assert.equal(loaded.convnetVersion, CONVNET_VERSION);
        // encode/decode (what the browser uses) gives the same bytes and model.
        const bytes = encodeModel(model, { classNames, preprocessing: { scale: 1 / 255 }, training: { dataset: 'test', epochs: 1 } });
        assert.deepEqual(Buffer.from(bytes), readFileSync(path));
        assert.deepEqual(Array.from(decodeModel(bytes).model.forward(X).data), Array.from(model.forward(X).data));
      });
    }
  }
  test('a per-pixel mean travels with the model', () => {
    const model = MODEL_KINDS[0]!.make('float32');
    const mean = randomTensor([2, 8, 7], 5, 'float32');
    const { info } = decodeModel(encodeModel(model, { preprocessing: { scale: 0.5, mean } }));
    assert.deepEqual(info.preprocessing!.mean!.shape, [2, 8, 7]);
    assert.deepEqual(Array.from(info.preprocessing!.mean!.data), Array.from(mean.data));
  });
  test('cleanup', () => rmSync(dir, { recursive: true, force: true }));
});

test('CONVNET_VERSION is package.json\'s version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(CONVNET_VERSION, pkg.version);
});
