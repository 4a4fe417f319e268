/** Tests on the kernels' geometry that more than one backend makes. */
import type { PoolWindow } from './types.js';

/** 2×2 windows at stride 2 that all lie inside the input (the dedicated max pool loops' case). */
export function isPlain2x2(g: PoolWindow): boolean {
  return (
    g.kernelH === 2 && g.kernelW === 2 && g.strideH === 2 && g.strideW === 2 &&
    g.padTop === 0 && g.padLeft === 0 && g.dilationH === 1 && g.dilationW === 1 &&
    2 * g.outHeight <= g.height && 2 * g.outWidth <= g.width
  );
}
