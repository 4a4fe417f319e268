/** Small helpers shared by the tests. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relError } from '../src/gradcheck.js';
import type { GradCheckReport } from '../src/gradcheck.js';
import { ConvnetError } from '../src/errors.js';
import { rng, type Rng } from '../src/rng.js';
import { randn, type DType, type Tensor } from '../src/tensor.js';
import type { WasmKernelInstance } from '../src/kernels/wasm/index.js';

/** A seeded standard-normal tensor. */
export function randomTensor(shape: number[], seed: number, dtype: DType = 'float64', scale = 1): Tensor {
  const t = randn(shape, rng(seed), dtype);
  for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
  return t;
}

/** Asserts that every input of a gradCheck report is below the tolerance, naming the worst. */
export function assertGradients(report: GradCheckReport, tolerance: number, label = ''): void {
  for (const e of report.entries) {
    assert.ok(
      e.relError < tolerance,
      `${label} d${e.input}: relative error ${e.relError.toExponential(2)} >= ${tolerance} at [${e.worstIndex.join(', ')}] (analytic ${e.analytic}, numeric ${e.numeric})`,
    );
  }
}

/** Asserts a tensor's shape and values (relative error below tol). */
export function assertTensorClose(actual: Tensor, expected: { shape: number[]; data: ArrayLike<number> }, tol = 1e-12): void {
  assert.deepEqual(actual.shape, expected.shape);
  const err = relError(actual.data, Array.from(expected.data));
  assert.ok(err <= tol, `relative error ${err} > ${tol}: got ${Array.from(actual.data).slice(0, 8)}… want ${Array.from(expected.data).slice(0, 8)}…`);
}

/** Asserts that fn throws a ConvnetError whose message matches every pattern. */
export function assertThrowsConvnet(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof Error, 'expected an Error');
    assert.equal(error.name, 'ConvnetError', `expected a ConvnetError, got ${error.name}: ${error.message}`);
    for (const p of patterns) assert.match(error.message, p);
    return true;
  });
}

/** N(mean, std²) samples, float64. */
export function normal(shape: number[], r: Rng, mean = 0, std = 1): Tensor {
  const t = randn(shape, r);
  for (let i = 0; i < t.data.length; i++) t.data[i] = mean + std * t.data[i]!;
  return t;
}

export function throwsConvnet(f: () => unknown, message: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ConvnetError, `expected a ConvnetError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (tol ${tol})`);
  }
}

const temporaries: string[] = [];
let cleanupRegistered = false;

/**
 * A new empty directory under the OS's temporary folder, removed when the test process exits
 * (each test file runs in its own process), so that test runs leave nothing behind.
 */
export function temporaryDirectory(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporaries.push(dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once('exit', () => {
      for (const path of temporaries) rmSync(path, { recursive: true, force: true });
    });
  }
  return dir;
}

/** Waits (yielding to the event loop) until `kernels` has `workers` worker threads running; fails after 10 s. */
export async function workersStarted(kernels: WasmKernelInstance, workers: number): Promise<void> {
  const start = Date.now();
  while (kernels.workersReady() < workers) {
    if (Date.now() - start > 10_000) throw new Error(`only ${kernels.workersReady()} of ${workers} workers started in 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
