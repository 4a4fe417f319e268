/** The pure-JavaScript kernels against the shared kernel suite, and the backend switch. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getKernels, jsKernels, releaseWorkspace, setKernels, wasmAvailable, wasmKernels, workspace, workspaceBytes, type Kernels } from '../../src/kernels/index.js';
import { convForward } from '../../src/layers/convFast.js';
import { tensor } from '../../src/tensor.js';
import { runKernelSuite } from './suite.js';

runKernelSuite(jsKernels, 'js');

describe('kernel backend switch', () => {
  it('the default backend is wasm where it can run, else js (CONVNET_BACKEND aside)', () => {
    if (process.env.CONVNET_BACKEND === undefined) assert.equal(getKernels(), wasmAvailable() ? wasmKernels : jsKernels);
  });

  it('setKernels swaps the backend the fast layers call, and returns the previous one', () => {
    const calls: string[] = [];
    const counting = { ...jsKernels, name: 'counting' } as Kernels;
    for (const key of Object.keys(jsKernels) as (keyof Kernels)[]) {
      const original = jsKernels[key];
      if (typeof original === 'function') {
        (counting as unknown as Record<string, unknown>)[key] = (...args: unknown[]) => {
          calls.push(key);
          return (original as (...a: unknown[]) => unknown)(...args);
        };
      }
    }
    const original = setKernels(jsKernels);
    const previous = setKernels(counting);
    try {
      assert.equal(previous, jsKernels);
      const x = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
      convForward(x, tensor([1], [1, 1, 1, 1]), tensor([0], [1]), { pad: 1 });
      assert.deepEqual([...new Set(calls)].sort(), ['fillRows', 'gemm', 'im2col']);
    } finally {
      setKernels(previous);
    }
    assert.equal(getKernels(), jsKernels);
    setKernels(original);
  });

  it('throws when setKernels gets something that is not a backend', () => {
    assert.throws(() => setKernels(null as unknown as Kernels), /setKernels: expected a Kernels object, got null/);
    const { gemm: _gemm, ...noGemm } = jsKernels;
    const active = getKernels();
    assert.throws(() => setKernels(noGemm as unknown as Kernels), /setKernels: expected a Kernels object .* missing gemm/);
    assert.equal(getKernels(), active);
  });
});

describe('workspace', () => {
  it('grows only, one array per dtype, and can be released', () => {
    releaseWorkspace();
    assert.equal(workspaceBytes(), 0);
    const small = workspace('float32', 10);
    assert.ok(small instanceof Float32Array && small.length >= 10);
    assert.equal(workspace('float32', 5), small, 'a smaller request reuses the array');
    const big = workspace('float32', 1000);
    assert.ok(big.length >= 1000 && big !== small);
    assert.ok(workspace('float64', 3) instanceof Float64Array);
    assert.equal(workspaceBytes(), big.byteLength + workspace('float64', 0).byteLength);
    releaseWorkspace();
    assert.equal(workspaceBytes(), 0);
  });
});
