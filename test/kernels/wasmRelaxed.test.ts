/**
 * The relaxed-SIMD build of the WebAssembly kernels (fused multiply-add in the GEMM) against
 * the shared kernel suite: here where the engine has relaxed SIMD (on Node 20 the loader turns
 * V8's --experimental-wasm-relaxed-simd on; later Node has it on), else in a child Node run with
 * the flag, with the wide GEMM tile (wasmTile.test.ts runs the narrow one). wasm.test.ts covers
 * the plain-SIMD build. And the choice of build, with and without CONVNET_RELAXED_SIMD=0, in
 * child processes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { wasmRelaxedSimdSupported } from '../../src/kernels/index.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { runKernelSuite } from './suite.js';

if (wasmRelaxedSimdSupported()) {
  runKernelSuite(createWasmKernels({ relaxed: true, tile: 'wide' }), 'wasm (relaxed SIMD, 5×8 and 4×8 tiles)');
} else {
  test('the relaxed-SIMD build passes the kernel suite (child Node with --experimental-wasm-relaxed-simd)', (t) => {
    const flag = '--experimental-wasm-relaxed-simd';
    if (spawnSync(process.execPath, [flag, '-e', '0']).status !== 0) {
      t.skip(`this Node has no ${flag}`);
      return;
    }
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // a test runner of its own, reporting TAP on stdout
    const run = spawnSync(process.execPath, [flag, '--test', '--test-reporter=tap', fileURLToPath(import.meta.url)], { encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stdout.slice(-3000));
    const passed = Number(/# pass (\d+)\n# fail 0/.exec(run.stdout)?.[1] ?? 0);
    assert.ok(passed >= 100, `the child ran ${passed} passing tests`);
  });
}

describe('which build the default instance runs', () => {
  const variant = (env: Record<string, string>): string => {
    const script = "const k = await import(process.argv[1]); k.setBackend('wasm'); k.wasmAvailable(); console.log(k.wasmVariant());";
    const kernels = new URL('../../src/kernels/index.js', import.meta.url).href;
    const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
    delete childEnv.CONVNET_BACKEND;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script, kernels], { encoding: 'utf8', env: childEnv });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.trim();
  };

  it('relaxed SIMD by default where the engine has it, Node 20 included (the loader turns its flag on)', () => {
    // Node 20 (package.json's floor) has it behind a flag the loader turns on; later Node ships it.
    assert.equal(variant({}), 'relaxed-simd');
  });

  it('CONVNET_RELAXED_SIMD=0 keeps the plain-SIMD build', () => {
    assert.equal(variant({ CONVNET_RELAXED_SIMD: '0' }), 'simd');
  });
});
