/**
 * setKernels' check of a backend: the list of required methods (derived from the Kernels type,
 * see src/kernels/backend.ts) matches what the shipped backends implement, and a table missing
 * any one of them is rejected with a ConvnetError that names it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConvnetError } from '../../src/errors.js';
import { KERNEL_METHODS } from '../../src/kernels/backend.js';
import { batchConvFor } from '../../src/kernels/capabilities.js';
import { getKernels, jsKernels, setKernels, wasmAvailable, wasmKernels, type Kernels } from '../../src/kernels/index.js';

/** The keys of a backend whose values are functions. */
const functionKeys = (kernels: Kernels): string[] =>
  Object.keys(kernels).filter((key) => typeof (kernels as unknown as Record<string, unknown>)[key] === 'function');

describe('setKernels checks every required kernel', () => {
  it('lists the 17 required methods, which are exactly the js backend\'s functions', () => {
    assert.equal(KERNEL_METHODS.length, 18);
    assert.deepEqual(functionKeys(jsKernels).sort(), [...KERNEL_METHODS].sort());
  });

  it('the wasm backend\'s functions are exactly the required ones too (the rest are capabilities)', { skip: !wasmAvailable() }, () => {
    assert.deepEqual(functionKeys(wasmKernels).sort(), [...KERNEL_METHODS].sort());
    assert.deepEqual(Object.keys(wasmKernels).sort(), [...KERNEL_METHODS, 'capabilities', 'name'].sort());
  });

  for (const name of KERNEL_METHODS) {
    it(`rejects a table without ${name}, naming it, and keeps the active backend`, () => {
      const table: Record<string, unknown> = { ...jsKernels };
      delete table[name];
      const active = getKernels();
      assert.throws(
        () => setKernels(table as unknown as Kernels),
        (error: unknown) => error instanceof ConvnetError && error.fn === 'setKernels' && new RegExp(`got one missing ${name}$`).test(error.message),
      );
      table[name] = 'not a function';
      assert.throws(() => setKernels(table as unknown as Kernels), (error: unknown) => error instanceof ConvnetError && error.message.endsWith(`missing ${name}`));
      assert.equal(getKernels(), active);
    });
  }

  it('accepts a table with all of them (and a name)', () => {
    const copy = { ...jsKernels, name: 'copy' } as Kernels;
    const previous = setKernels(copy);
    try {
      assert.equal(getKernels(), copy);
    } finally {
      setKernels(previous);
    }
  });
});

describe('optional capabilities', () => {
  it('js advertises none; wasm advertises the float32 batch conv kernels and its own scratch', () => {
    assert.equal(jsKernels.capabilities, undefined);
    assert.equal(batchConvFor(jsKernels, 'float32'), undefined);
    if (!wasmAvailable()) return;
    const batch = wasmKernels.capabilities?.batchConv32;
    assert.ok(batch !== undefined);
    assert.deepEqual(Object.keys(batch).sort(), ['convBackward', 'convForward', 'convReluPoolBackward', 'convReluPoolForward']);
    assert.equal(typeof wasmKernels.capabilities?.scratch32, 'function');
    assert.equal(batchConvFor(wasmKernels, 'float32'), batch);
    assert.equal(batchConvFor(wasmKernels, 'float64'), undefined, 'float32 only');
  });

  it('setKernels rejects malformed capabilities, naming what is wrong', () => {
    const active = getKernels();
    const withCapabilities = (capabilities: unknown): Kernels => ({ ...jsKernels, capabilities }) as unknown as Kernels;
    const rejects = (capabilities: unknown, pattern: RegExp): void =>
      assert.throws(() => setKernels(withCapabilities(capabilities)), (error: unknown) => error instanceof ConvnetError && pattern.test(error.message));
    rejects(42, /got one with capabilities 42$/);
    rejects({ scratch32: 1 }, /capabilities\.scratch32 that is not a function$/);
    rejects({ batchConv32: { convForward() {}, convBackward() {} } }, /capabilities\.batchConv32 missing convReluPoolForward, convReluPoolBackward/);
    assert.equal(getKernels(), active);
    const previous = setKernels(withCapabilities({}));
    setKernels(previous);
  });
});
