/**
 * The WebAssembly backend against the shared kernel suite: the default instance (shared
 * memory, as in Node), and a separate instance on unshared memory (the path of browsers
 * without cross-origin isolation). Plus the backend selection API.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { getBackend, getKernels, jsKernels, loadWasm, setBackend, setKernels, wasmAvailable, wasmKernels, wasmRelaxedSimdSupported, wasmSimdSupported, workspace } from '../../src/kernels/index.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { convForward } from '../../src/layers/convFast.js';
import { tensor } from '../../src/tensor.js';
import { runKernelSuite } from './suite.js';

runKernelSuite(wasmKernels, 'wasm');
runKernelSuite(createWasmKernels({ shared: false, relaxed: false }), 'wasm (unshared memory, plain SIMD)');
if (wasmRelaxedSimdSupported()) runKernelSuite(createWasmKernels({ relaxed: false }), 'wasm (plain SIMD)');

describe('backend selection', () => {
  it('this Node has WebAssembly SIMD, so the automatic choice is wasm', () => {
    assert.ok(wasmSimdSupported());
    assert.ok(wasmAvailable());
    if (process.env.CONVNET_BACKEND === undefined) assert.equal(getBackend(), 'wasm');
  });

  it('setBackend switches between js and wasm, getBackend names the active one', () => {
    const previous = getKernels();
    try {
      setBackend('js');
      assert.equal(getBackend(), 'js');
      assert.equal(getKernels(), jsKernels);
      setBackend('wasm');
      assert.equal(getBackend(), 'wasm');
      assert.equal(getKernels(), wasmKernels);
      setBackend('auto');
      assert.equal(getKernels(), process.env.CONVNET_BACKEND === 'js' ? jsKernels : wasmKernels);
    } finally {
      setKernels(previous);
    }
  });

  it('throws on an unknown backend name', () => {
    assert.throws(() => setBackend('gpu' as 'js'), /setBackend: expected the backend to be 'js', 'wasm' or 'auto', got "gpu"/);
  });

  it('CONVNET_BACKEND forces the choice in Node', () => {
    const script = [
      "const k = await import(process.argv[1]);",
      "let out; try { out = k.getBackend(); } catch (e) { out = 'error: ' + e.message; }",
      'console.log(out);',
    ].join('\n');
    const url = new URL('../../src/kernels/index.js', import.meta.url).href;
    const run = (value: string): string =>
      spawnSync(process.execPath, ['--input-type=module', '-e', script, url], { env: { ...process.env, CONVNET_BACKEND: value }, encoding: 'utf8' }).stdout.trim();
    assert.equal(run('js'), 'js');
    assert.equal(run('wasm'), 'wasm');
    assert.equal(run('auto'), 'wasm');
    assert.match(run('fast'), /^error: getKernels: expected CONVNET_BACKEND to be 'js', 'wasm' or 'auto', got "fast"/);
  });

  it('the float32 workspace is a view of WebAssembly memory, used in place by im2col and the GEMM', () => {
    const previous = setKernels(wasmKernels);
    try {
      const view = workspace('float32', 100);
      assert.ok(view.length >= 100);
      assert.ok(view.buffer instanceof SharedArrayBuffer);
      assert.equal(workspace('float32', 50), view, 'reused while big enough');
      // A layer call that grows the memory (a large staged operand) leaves earlier views working.
      const x = tensor(Array.from({ length: 2 * 3 * 40 * 40 }, (_, i) => (i % 7) - 3), [2, 3, 40, 40], 'float32');
      const w = tensor(Array.from({ length: 4 * 3 * 3 * 3 }, (_, i) => (i % 5) - 2), [4, 3, 3, 3], 'float32');
      const b = tensor([1, 2, 3, 4], [4], 'float32');
      const fast = convForward(x, w, b, { pad: 1 });
      setKernels(jsKernels);
      const reference = convForward(x, w, b, { pad: 1 });
      assert.deepEqual(Array.from(fast.out.data), Array.from(reference.out.data)); // small integers: exact
    } finally {
      setKernels(previous);
    }
  });
});

describe('loadWasm', () => {
  it('resolves true once the module is loaded (the asynchronous path browsers need)', async () => {
    assert.equal(await loadWasm(), true);
  });
});
