/**
 * The relaxed-SIMD build of the WebAssembly kernels (fused multiply-add in the GEMM) against
 * the shared kernel suite: here where the engine has relaxed SIMD, else in a child Node run
 * with --experimental-wasm-relaxed-simd (Node 20; later Node has it on). wasm.test.ts covers
 * the plain-SIMD build.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { wasmRelaxedSimdSupported } from '../../src/kernels/index.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { runKernelSuite } from './suite.js';

if (wasmRelaxedSimdSupported()) {
  runKernelSuite(createWasmKernels({ relaxed: true }), 'wasm (relaxed SIMD)');
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
