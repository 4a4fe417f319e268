/**
 * setKernels' check of a backend: the list of required methods (derived from the Kernels type,
 * see src/kernels/backend.ts) matches what the shipped backends implement, and a table missing
 * any one of them is rejected with a ConvnetError that names it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConvnetError } from '../../src/errors.js';
import { KERNEL_METHODS } from '../../src/kernels/backend.js';
import { getKernels, jsKernels, setKernels, wasmAvailable, wasmKernels, type Kernels } from '../../src/kernels/index.js';

/** The keys of a backend whose values are functions. */
const functionKeys = (kernels: Kernels): string[] =>
  Object.keys(kernels).filter((key) => typeof (kernels as unknown as Record<string, unknown>)[key] === 'function');

describe('setKernels checks every required kernel', () => {
  it('lists the 17 required methods, which are exactly the js backend\'s functions', () => {
    assert.equal(KERNEL_METHODS.length, 17);
    assert.deepEqual(functionKeys(jsKernels).sort(), [...KERNEL_METHODS].sort());
  });

  it('the wasm backend has every required method', { skip: !wasmAvailable() }, () => {
    const keys = new Set(functionKeys(wasmKernels));
    for (const name of KERNEL_METHODS) assert.ok(keys.has(name), `wasmKernels lacks ${name}`);
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
