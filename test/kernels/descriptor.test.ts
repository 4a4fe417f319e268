/**
 * The conv descriptor's layout is written once, in src/kernels/wasm/descriptor.ts; the
 * AssemblyScript kernels name the same words D_<field>. This parses the AssemblyScript source
 * and fails if the two disagree, so that neither side can change alone.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CONV_FIELDS, CONV_WORDS, D, writeConvDescriptor, type ConvField } from '../../src/kernels/wasm/descriptor.js';

// build/test/kernels → the repository root.
const source = readFileSync(new URL('../../../src/kernels/wasm/assembly/kernels.ts', import.meta.url), 'utf8');

/** Every `D_NAME = value` constant in the AssemblyScript source (declared several to a line). */
function assemblyConstants(): Map<string, number> {
  const constants = new Map<string, number>();
  for (const declaration of source.matchAll(/^const\s+(D_[A-Z_]+\s*=\s*\d+(?:\s*,\s*D_[A-Z_]+\s*=\s*\d+)*)\s*;/gm)) {
    for (const [, name, value] of declaration[1]!.matchAll(/(D_[A-Z_]+)\s*=\s*(\d+)/g)) {
      assert.ok(!constants.has(name!), `${name} is declared twice`);
      constants.set(name!, Number(value));
    }
  }
  return constants;
}

describe('conv descriptor layout', () => {
  it('the AssemblyScript D_ constants are exactly descriptor.ts\'s fields, at the same words', () => {
    const constants = assemblyConstants();
    assert.ok(constants.size > 0, 'no D_ constants found in the AssemblyScript source');
    const expected = new Map(CONV_FIELDS.map((field, i) => [`D_${field}`, i]));
    assert.deepEqual([...constants].sort(), [...expected].sort());
    // And the source uses no D_ name that is not declared in that form.
    for (const [name] of source.matchAll(/\bD_[A-Z_]+\b/g)) assert.ok(constants.has(name), `${name} is used but not parsed`);
  });

  it('CONV_WORDS agrees and leaves room for every field', () => {
    const match = /export const CONV_WORDS: i32 = (\d+);/.exec(source);
    assert.ok(match, 'CONV_WORDS not found in the AssemblyScript source');
    assert.equal(Number(match[1]), CONV_WORDS);
    assert.ok(CONV_FIELDS.length <= CONV_WORDS);
  });

  it('writeConvDescriptor puts each field at its word, as its 32-bit pattern', () => {
    const fields = Object.fromEntries(CONV_FIELDS.map((field, i) => [field, 100 + i])) as Record<ConvField, number>;
    fields.X = 2 ** 31 + 8; // an address above 2 GiB
    const heap = new Int32Array(8 + CONV_WORDS).fill(-1);
    writeConvDescriptor(heap, 32, fields);
    for (const field of CONV_FIELDS) assert.equal(heap[8 + D[field]] >>> 0, fields[field], field);
    assert.equal(heap[8 + CONV_FIELDS.length], -1, 'wrote past the fields');
  });
});
