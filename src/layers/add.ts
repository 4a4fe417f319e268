/**
 * Element-wise sum of two tensors of the same shape and dtype: where a residual block's branches
 * join. Its backward is the identity for each input (d(a + b)/da = d(a + b)/db = 1), so the
 * joining container passes dout to both branches.
 */
import { ConvnetError, show } from '../errors.js';
import { getKernels } from '../kernels/index.js';
import { allocateUninitialized, type Tensor } from '../tensor.js';
import { assertSameDtype, assertTensor } from '../validate.js';

/** a + b, element-wise: a and b of one shape and dtype → a new tensor of that shape. */
export function add(a: Tensor, b: Tensor): Tensor {
  const fn = 'add';
  assertTensor(fn, 'a', a);
  assertTensor(fn, 'b', b);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ConvnetError(fn, `expected a and b of the same shape, got ${show(a.shape)} and ${show(b.shape)}`);
  }
  const dtype = assertSameDtype(fn, { a, b });
  const out = allocateUninitialized(dtype, a.data.length); // every value written
  getKernels().add(a.data, 0, b.data, 0, out.length, out, 0);
  return { shape: [...a.shape], data: out, dtype };
}
