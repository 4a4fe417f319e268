/**
 * General matrix multiply, as ONNX's Gemm and BLAS define it:
 *   out = alpha · op(a) · op(b) + beta · c,   op(a): (M, K), op(b): (K, N), out: (M, N)
 * op transposes when transA / transB is set; c broadcasts from (), (1), (N), (1, N), (M, 1) or (M, N).
 */
import { ConvnetError, show } from '../errors.js';
import { allocate, assertAllocatable, type Tensor } from '../tensor.js';
import { assertObject, assertSameDtype, assertTensor, finiteNumber } from '../validate.js';

export interface GemmParam {
  alpha?: number;
  beta?: number;
  transA?: boolean;
  transB?: boolean;
}

export function gemm(a: Tensor, b: Tensor, c?: Tensor | null, gemmParam: GemmParam = {}): Tensor {
  const fn = 'gemm';
  assertTensor(fn, 'a', a, 2);
  assertTensor(fn, 'b', b, 2);
  assertObject(fn, 'gemmParam', gemmParam);
  const alpha = finiteNumber(fn, 'gemmParam.alpha', gemmParam.alpha, 1);
  const beta = finiteNumber(fn, 'gemmParam.beta', gemmParam.beta, 1);
  const transA = gemmParam.transA ?? false;
  const transB = gemmParam.transB ?? false;
  if (typeof transA !== 'boolean' || typeof transB !== 'boolean') {
    throw new ConvnetError(fn, `expected gemmParam.transA and transB to be booleans, got ${show(transA)} and ${show(transB)}`);
  }
  const [M, K] = transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [bK, N] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (bK !== K) {
    throw new ConvnetError(fn, `expected op(b) to have ${K} rows (op(a) is [${M}, ${K}]), got op(b) of shape [${bK}, ${N}] (b.shape ${show(b.shape)}, transB ${transB})`);
  }
  const tensors: Record<string, Tensor> = { a, b };
  // c's strides over (M, N): 0 along a broadcast axis.
  let cRowStride = 0;
  let cColStride = 0;
  if (c !== undefined && c !== null) {
    assertTensor(fn, 'c', c);
    tensors.c = c;
    const s = c.shape;
    if (s.length === 0 || (s.length === 1 && s[0] === 1) || (s.length === 2 && s[0] === 1 && s[1] === 1)) {
      // a scalar
    } else if ((s.length === 1 && s[0] === N) || (s.length === 2 && s[0] === 1 && s[1] === N)) {
      cColStride = 1;
    } else if (s.length === 2 && s[0] === M && s[1] === 1) {
      cRowStride = 1;
    } else if (s.length === 2 && s[0] === M && s[1] === N) {
      cRowStride = N;
      cColStride = 1;
    } else {
      throw new ConvnetError(fn, `expected c broadcastable to [${M}, ${N}] ((), (${N}), (1, ${N}), (${M}, 1) or (${M}, ${N})), got ${show(s)}`);
    }
  }
  assertSameDtype(fn, tensors);
  const aAt = transA ? (m: number, k: number) => k * M + m : (m: number, k: number) => m * K + k;
  const bAt = transB ? (k: number, n: number) => n * K + k : (k: number, n: number) => k * N + n;
  // Empty a and b may have huge outer sizes: out (M, N) must still be allocatable.
  assertAllocatable(fn, M * N, `out (M·N = ${M}·${N})`);
  const out = allocate(a.dtype, M * N);
  for (let m = 0; m < M && N > 0; m++) {
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += a.data[aAt(m, k)]! * b.data[bAt(k, n)]!;
      const bias = c ? c.data[m * cRowStride + n * cColStride]! : 0;
      out[m * N + n] = alpha * sum + beta * bias;
    }
  }
  return { shape: [M, N], data: out, dtype: a.dtype };
}
