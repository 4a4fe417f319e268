/**
 * Every validation failure in convnet throws a ConvnetError whose message names the function,
 * what it expected and what it got, e.g.
 *   convForwardNaive: expected w to have 3 input channels (C / groups), got w.shape [4, 2, 3, 3]
 */
export class ConvnetError extends Error {
  /** The exported function that rejected its arguments. */
  readonly fn: string;

  constructor(fn: string, message: string) {
    super(`${fn}: ${message}`);
    this.name = 'ConvnetError';
    this.fn = fn;
  }
}

/** Throws a ConvnetError saying `expected …, got …`. */
export function fail(fn: string, expected: string, got: string): never {
  throw new ConvnetError(fn, `expected ${expected}, got ${got}`);
}

/** Formats a value for an error message: shapes as [a, b], numbers and strings as themselves. */
export function show(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}
