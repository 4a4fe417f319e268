/**
 * The kernel interface: the few primitives the fast layers are built from.
 *
 * Every kernel is data-in/data-out over typed arrays with explicit offsets and sizes, holds no
 * state a caller can see, and allocates nothing the caller must free, so that another backend
 * (WebAssembly, threads) can stand behind the same contract and pass the same test suite
 * (test/kernels/suite.ts). Within one call every floating-point array has the same type
 * (all Float32Array or all Float64Array); index arrays are Int32Array.
 *
 * Matrices are row-major: element (i, j) of a matrix at `offset` with leading dimension `ld`
 * is `data[offset + i·ld + j]`.
 */
import type { Float32Heap } from '../tensor.js';

export type FloatArray = Float32Array | Float64Array;

/**
 * c = op(a)·op(b), or c += op(a)·op(b) with `accumulate`. op(a): (m, k), op(b): (k, n), c: (m, n).
 * c must not overlap a or b.
 */
export interface GemmArgs {
  /** op(a) = aᵀ: a is stored (k, m). */
  transA: boolean;
  /** op(b) = bᵀ: b is stored (n, k). */
  transB: boolean;
  m: number;
  n: number;
  k: number;
  a: FloatArray;
  aOffset: number;
  /** Leading dimension of a as stored: ≥ k without transA, ≥ m with it. */
  lda: number;
  b: FloatArray;
  bOffset: number;
  /** Leading dimension of b as stored: ≥ n without transB, ≥ k with it. */
  ldb: number;
  c: FloatArray;
  cOffset: number;
  ldc: number;
  /** Add into c instead of overwriting it (with k = 0, c is then left unchanged). */
  accumulate: boolean;
}

/**
 * A window sliding over planes of (height, width) to give planes of (outHeight, outWidth): the
 * part of a conv's and a pool's geometry the kernels share. Window (i, j) reads rows
 * i·strideH − padTop + kh·dilationH (kh < kernelH) and the matching columns.
 */
export interface WindowGeometry {
  height: number;
  width: number;
  outHeight: number;
  outWidth: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  dilationH: number;
  dilationW: number;
}

/**
 * The window geometry of one convolution group over one image, for im2col and col2im.
 * The input block is (channels, height, width), contiguous; the column matrix has one row per
 * (channel, kh, kw) in that order — the layout of a weight tensor (F, channels, kH, kW) read as
 * (F, channels·kH·kW) — and one column per output position (i, j), row-major.
 * Padding after the input (bottom, right) is implied by outHeight and outWidth.
 */
export interface ColumnGeometry extends WindowGeometry {
  channels: number;
}

/**
 * The window geometry of pooling over planes of (height, width); output planes are
 * (outHeight, outWidth). Every window must cover at least one input cell (the layers check).
 */
export interface PoolWindow extends WindowGeometry {
  padBottom: number;
  padRight: number;
}

/**
 * A whole convolution layer over a batch, for the optional batch kernels (BatchConvKernels). The column geometry is one group's: channels = C / groups.
 * x: (batch, inChannels, height, width), w: (filters, channels, kernelH, kernelW),
 * out: (batch, filters, outHeight, outWidth).
 */
export interface ConvBatchGeometry extends ColumnGeometry {
  batch: number;
  inChannels: number;
  filters: number;
  groups: number;
  /** A 1×1 window at stride 1 without padding: the columns are x itself. */
  pointwise: boolean;
  /** Output positions per im2col chunk: the cap on a backend's column scratch. */
  chunk: number;
  /** convForward: apply relu to the output (conv → relu in one pass). */
  relu?: boolean;
}

/**
 * A kernel backend: the table of methods every backend must have (setKernels checks each one,
 * see KernelMethod), plus optional capabilities.
 */
export interface Kernels {
  /** A short name for reports and test titles ('js', 'wasm', …). */
  readonly name: string;

  gemm(args: GemmArgs): void;

  /**
   * Writes the columns for output positions p in [first, first + count) (p = i·outWidth + j)
   * into cols: a (channels·kernelH·kernelW, count) matrix at colsOffset with leading dimension
   * count. Positions in the padding read as zero. A convolution group is the block of its
   * channels: pass xOffset at the group's first channel and channels = C / groups.
   */
  im2col(x: FloatArray, xOffset: number, g: ColumnGeometry, first: number, count: number, cols: FloatArray, colsOffset: number): void;

  /**
   * The adjoint of im2col: adds each column entry into the input cell it was read from
   * (entries that came from the padding are dropped). dx is accumulated into, never cleared.
   */
  col2im(cols: FloatArray, colsOffset: number, g: ColumnGeometry, first: number, count: number, dx: FloatArray, dxOffset: number): void;

  /**
   * Max pooling of `planes` consecutive planes. Writes each window's maximum to out and its
   * position within the input plane (row·width + col) to argmax. Ties: the first maximum in
   * row-major scan order of the window wins; a NaN wins over every number (the first NaN).
   */
  maxPoolForward(
    x: FloatArray,
    xOffset: number,
    planes: number,
    g: PoolWindow,
    out: FloatArray,
    outOffset: number,
    argmax: Int32Array,
    argmaxOffset: number,
  ): void;

  /** dx[plane, argmax] += dout for every window (dx is accumulated into, never cleared). */
  maxPoolBackward(
    dout: FloatArray,
    doutOffset: number,
    argmax: Int32Array,
    argmaxOffset: number,
    planes: number,
    g: PoolWindow,
    dx: FloatArray,
    dxOffset: number,
  ): void;

  /**
   * Average pooling: the sum over a window's input cells divided by the window's size clipped
   * to the padded input (countIncludePad) or by its number of input cells.
   */
  avgPoolForward(
    x: FloatArray,
    xOffset: number,
    planes: number,
    g: PoolWindow,
    countIncludePad: boolean,
    out: FloatArray,
    outOffset: number,
  ): void;

  /** Spreads dout / divisor over each window's input cells, adding into dx. */
  avgPoolBackward(
    dout: FloatArray,
    doutOffset: number,
    planes: number,
    g: PoolWindow,
    countIncludePad: boolean,
    dx: FloatArray,
    dxOffset: number,
  ): void;

  /** dst[r, c] = values[r] for a (rows, cols) matrix (contiguous rows): a bias per row. */
  fillRows(dst: FloatArray, dstOffset: number, rows: number, cols: number, values: FloatArray, valuesOffset: number): void;

  /** dst[r, c] = values[c] for a (rows, cols) matrix (contiguous rows): a bias per column. */
  fillCols(dst: FloatArray, dstOffset: number, rows: number, cols: number, values: FloatArray, valuesOffset: number): void;

  /** sums[r] += Σ_c src[r, c] over a (rows, cols) matrix (contiguous rows). */
  sumRows(src: FloatArray, srcOffset: number, rows: number, cols: number, sums: FloatArray, sumsOffset: number): void;

  /** sums[c] += Σ_r src[r, c] over a (rows, cols) matrix (contiguous rows). */
  sumCols(src: FloatArray, srcOffset: number, rows: number, cols: number, sums: FloatArray, sumsOffset: number): void;

  /** out[i] = max(x[i], 0) for i < n, as Math.max(x, 0): NaN stays NaN, −0 and −∞ become 0. */
  reluForward(x: FloatArray, xOffset: number, n: number, out: FloatArray, outOffset: number): void;

  /** dx[i] = dout[i] where x[i] > 0, else 0, for i < n. */
  reluBackward(x: FloatArray, xOffset: number, dout: FloatArray, doutOffset: number, n: number, dx: FloatArray, dxOffset: number): void;

  /** out[i] = a[i] + b[i] for i < n (a residual block's join, and its backward's). */
  add(a: FloatArray, aOffset: number, b: FloatArray, bOffset: number, n: number, out: FloatArray, outOffset: number): void;

  /**
   * Batch norm's statistics: for channels c in [c0, c1) of x viewed as (N, C, S) (element
   * (n, c, s) at (n·C + c)·S + s), mean[c] and the biased variance[c] over its N·S values, in
   * float64, two passes (mean, then Σ (x − mean)²).
   */
  channelMoments(x: FloatArray, N: number, C: number, S: number, c0: number, c1: number, mean: Float64Array, variance: Float64Array): void;

  /** For channels [c0, c1) of (N, C, S): sums[c] = Σ dout, dots[c] = Σ dout · (x − centre[c]), in float64. */
  channelSums(
    dout: FloatArray, x: FloatArray, N: number, C: number, S: number, c0: number, c1: number,
    centre: Float64Array, sums: Float64Array, dots: Float64Array,
  ): void;

  /**
   * For channels [c0, c1) of (N, C, S): out = a[c] · (x − centre[c]) + k[c], or with dout,
   * out = a[c] · dout + b[c] · (x − centre[c]) + k[c] (b is unused without dout). Every value
   * of those channels is written.
   */
  channelAffine(
    x: FloatArray, dout: FloatArray | null, N: number, C: number, S: number, c0: number, c1: number,
    centre: Float64Array, a: Float64Array, b: Float64Array, k: Float64Array, out: FloatArray,
  ): void;

  /**
   * Adam's update of n values (optim.ts: adam), in float64 arithmetic whatever the arrays' type:
   * m = β1·m0 + (1−β1)·g, v = β2·v0 + (1−β2)·g² (stored in m's type), then
   * next = w − stepScale·m / (√v·rootScale + ε) from the stored m and v. Returns Σ (w·0 + g·0):
   * 0 when every w and g is finite, NaN otherwise. Every backend gives the same bits.
   */
  adamStep(
    w: FloatArray, g: FloatArray, m0: FloatArray, v0: FloatArray, n: number,
    beta1: number, beta2: number, stepScale: number, rootScale: number, eps: number,
    next: FloatArray, m: FloatArray, v: FloatArray,
  ): number;

  /**
   * What this backend offers beyond the required methods, advertised explicitly (absent: nothing).
   * The layers ask through capabilities.ts (batchConvFor) rather than probe for methods.
   */
  readonly capabilities?: KernelCapabilities;
}

/**
 * The names of the methods every backend must have: the keys of Kernels whose values are
 * functions and not optional (backend.ts lists them for setKernels, checked against this type).
 */
export type KernelMethod = {
  [K in keyof Kernels]-?: undefined extends Kernels[K] ? never : Kernels[K] extends (...args: never[]) => unknown ? K : never;
}[keyof Kernels];

/** The optional capabilities a backend may advertise in Kernels.capabilities. */
export interface KernelCapabilities {
  /** Whole float32 convolution layers in one call each (the WebAssembly backend). */
  readonly batchConv32?: BatchConvKernels;

  /**
   * Float32 scratch of at least `length` values that this backend reads and writes in place (a
   * view of its own memory, e.g. WebAssembly linear memory), or undefined to let the caller use
   * an ordinary array. The fast layers' workspace (workspace.ts) asks for it, so that the im2col
   * columns need no copy between im2col and the GEMM. The contents are arbitrary, and the view
   * is valid until the next request.
   */
  scratch32?(length: number): Float32Array | undefined;

  /**
   * Float32 arrays that live in this backend's own memory until freed, so that its kernels
   * read and write them in place (no copy in or out of WebAssembly memory): a model's arenas
   * (inference, and training with reuseArrays) take their arrays from here (tensor.ts Arena),
   * index arrays as Int32Array views of a block (which the kernels also use in place).
   */
  readonly resident32?: Float32Heap;
}

/**
 * A convolution layer over the whole batch in one call, for a backend that does better that way
 * (threads over images, operands copied into its memory once). float32 only: every array is a
 * Float32Array. Without it the fast layer loops over images and groups with im2col and gemm.
 */
export interface BatchConvKernels {
  /** out = w ⋆ x + b (out is overwritten); with g.relu, max(that, 0). out: (N, F, outHeight, outWidth). */
  convForward(x: Float32Array, w: Float32Array, b: Float32Array, g: ConvBatchGeometry, out: Float32Array): void;

  /**
   * The matching backward: dx, dw and db are overwritten. The result must not depend on the
   * thread count. With `reluOut` (the output of a forward with relu), dout is first zeroed where
   * reluOut is not positive: relu's backward, fused.
   */
  convBackward(
    x: Float32Array,
    w: Float32Array,
    dout: Float32Array,
    g: ConvBatchGeometry,
    dx: Float32Array,
    dw: Float32Array,
    db: Float32Array,
    reluOut?: Float32Array,
  ): void;

  /**
   * conv → relu → 2×2 stride-2 max pool, writing only the pool's output and argmax,
   * (N, F, pooledHeight, pooledWidth) with pooledHeight = ⌊outHeight / 2⌋ (the max pool kernel's
   * conventions); the conv's output stays inside the backend. g.relu is implied.
   */
  convReluPoolForward(
    x: Float32Array, w: Float32Array, b: Float32Array, g: ConvBatchGeometry,
    pooled: Float32Array, argmax: Int32Array, pooledHeight: number, pooledWidth: number,
  ): void;

  /** Its backward from the pool's gradient, output and argmax: dx, dw and db are overwritten. */
  convReluPoolBackward(
    x: Float32Array, w: Float32Array, g: ConvBatchGeometry,
    dpooled: Float32Array, pooled: Float32Array, argmax: Int32Array, pooledHeight: number, pooledWidth: number,
    dx: Float32Array, dw: Float32Array, db: Float32Array,
  ): void;
}
