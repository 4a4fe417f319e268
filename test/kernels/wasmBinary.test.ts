/**
 * The shipped WebAssembly binary (src/kernels/wasm/binary.ts) is what its source builds: the
 * AssemblyScript compiler pinned in devDependencies rebuilds it, in memory, byte for byte.
 * After editing src/kernels/wasm/assembly/, run `npm run build:wasm`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { WASM_BASE64, WASM_RELAXED_BASE64 } from '../../src/kernels/wasm/binary.js';

interface Binaries {
  simd: Uint8Array;
  relaxed: Uint8Array;
}

interface BuildScript {
  compileWasm(): Promise<Binaries>;
  renderModule(wasm: Binaries): string;
  MODULE: string;
}

test('the shipped WebAssembly binaries are what src/kernels/wasm/assembly builds (npm run build:wasm)', async () => {
  // build/test/kernels → the repository root.
  const script = new URL('../../../src/kernels/wasm/build.mjs', import.meta.url);
  const build = (await import(script.href)) as BuildScript;
  const wasm = await build.compileWasm();
  for (const [name, built, shipped] of [
    ['plain SIMD', wasm.simd, WASM_BASE64],
    ['relaxed SIMD', wasm.relaxed, WASM_RELAXED_BASE64],
  ] as const) {
    const bytes = Buffer.from(shipped, 'base64');
    assert.ok(Buffer.from(built).equals(bytes), `the rebuilt ${name} binary (${built.length} bytes) differs from the shipped one (${bytes.length} bytes): run npm run build:wasm`);
  }
  assert.equal(readFileSync(build.MODULE, 'utf8'), build.renderModule(wasm), 'binary.ts is not as build.mjs writes it');
});
