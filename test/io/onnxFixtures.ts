/** Where the PyTorch-exported ONNX fixtures live, and reading one with its stored input and output. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared/fixtures/pytorch-onnx beside the repository (CONVNET_FIXTURES_DIR overrides). */
export function pytorchFixturesDir(): string {
  const override = process.env.CONVNET_FIXTURES_DIR;
  if (override !== undefined && override !== '') return resolve(override, 'pytorch-onnx');
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return resolve(repoRoot, '..', 'shared', 'fixtures', 'pytorch-onnx');
}

/** The three fixtures of INDEX.md. */
export const PYTORCH_FIXTURES = ['cs231n_three_layer', 'bn_net', 'gn_gap_net'] as const;

export interface PytorchFixture {
  bytes: Uint8Array;
  /** The input x and the scores PyTorch computed for it (float32 values, row-major). */
  input: { shape: number[]; data: number[] };
  output: { shape: number[]; data: number[] };
}

export function readPytorchFixture(name: string): PytorchFixture {
  const dir = pytorchFixturesDir();
  const json = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { input: PytorchFixture['input']; output: PytorchFixture['output'] };
  return { bytes: new Uint8Array(readFileSync(join(dir, `${name}.onnx`))), input: json.input, output: json.output };
}
