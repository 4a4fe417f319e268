/**
 * The layout of a convolution layer's descriptor: the block of 32-bit words the whole-layer
 * kernels (assembly/kernels.ts: convForward, convBackward, paddedSize) read their sizes and
 * addresses from. Written once, here: the AssemblyScript side names each word D_<field> with
 * the same index, and test/kernels/descriptor.test.ts parses that source and fails if any
 * constant there differs from this list (or CONV_WORDS from CONV_WORDS).
 *
 * x: (N, C, H, W), weight: (F, C/GROUPS, KH, KW), bias: (F), out (forward) or dout (backward):
 * (N, F, HO, WO), dx like x; dweight and dbias are BLOCKS partial sums, one (F, K) and one (F)
 * per block of images, summed in block order afterwards.
 */
export const CONV_FIELDS = [
  // Sizes and window: batch, channels, height, width, filters, groups, kernel, stride, pad
  // (top, left), dilation, output height and width.
  'N', 'C', 'H', 'W', 'F', 'GROUPS', 'KH', 'KW',
  'SH', 'SW', 'PT', 'PL', 'DH', 'DW', 'HO', 'WO',
  // Output positions per im2col chunk (backward); 1 for a 1×1 stride-1 unpadded window.
  'CHUNK', 'POINTWISE',
  // Byte addresses of the tensors.
  'X', 'WEIGHT', 'BIAS', 'OUT', 'DX', 'DWEIGHT', 'DBIAS',
  // Per-thread scratch (the first slot's address, the bytes between slots), and the number of
  // blocks of images the backward's partial sums are split into.
  'COLS', 'COLS_STRIDE', 'BLOCKS',
  // A fused relu: forward, 1 to write max(out, 0); backward, that forward's output's address (0: none).
  'RELU', 'RELU_OUT',
  // A fused 2×2 stride-2 max pool: its output's and argmax's addresses, its plane's size, and
  // (backward) its gradient's address.
  'POOL_OUT', 'POOL_ARGMAX', 'POOL_H', 'POOL_W', 'POOL_DOUT',
] as const;

export type ConvField = (typeof CONV_FIELDS)[number];

/** Words a descriptor occupies (the fields, and room to spare): assembly/kernels.ts CONV_WORDS. */
export const CONV_WORDS = 40;

/** Each field's word index. */
export const D = Object.freeze(Object.fromEntries(CONV_FIELDS.map((field, i) => [field, i]))) as Readonly<Record<ConvField, number>>;

/**
 * Writes every field of a descriptor at byte address `at` of `heap`. Addresses above 2 GiB go
 * in as their 32-bit pattern (the module reads them unsigned).
 */
export function writeConvDescriptor(heap: Int32Array, at: number, fields: Readonly<Record<ConvField, number>>): void {
  const base = at >> 2;
  for (let i = 0; i < CONV_FIELDS.length; i++) heap[base + i] = fields[CONV_FIELDS[i]!] | 0;
}
