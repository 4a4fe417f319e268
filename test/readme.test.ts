// Runs the README's usage example against the built package (dist/, through package.json
// "exports"), so the example cannot rot.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// build/test/readme.test.js → the repository root is two levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('the README usage example runs and prints what it says', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const usage = readme.split('## Usage')[1]!;
  const code = /```js\n([\s\S]*?)```/.exec(usage)![1]!;
  // Inside the package folder, so that `import … from 'convnet'` resolves to our own exports.
  mkdirSync(join(root, 'build'), { recursive: true });
  const file = join(root, 'build', 'readme-example.mjs');
  writeFileSync(file, code);
  const output = execFileSync(process.execPath, [file], { encoding: 'utf8' });
  assert.deepEqual(output.trim().split('\n'), ['[ 2, 4, 4, 3 ]', 'true']);
});

test('the README modules example runs and prints what the README shows', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.split('## Modules and models')[1]!;
  const code = /```js\n([\s\S]*?)```/.exec(section)![1]!;
  const shown = /prints\n\n```\n([\s\S]*?)```/.exec(section)![1]!;
  mkdirSync(join(root, 'build'), { recursive: true });
  const file = join(root, 'build', 'readme-modules.mjs');
  writeFileSync(file, code);
  const output = execFileSync(process.execPath, [file], { encoding: 'utf8' });
  assert.equal(output.trim(), shown.trim());
});
