/**
 * Containers: Sequential (children one after another) and Residual (a body whose output is added
 * to its input, or to a projection of it when the shapes differ, as in He et al.).
 *
 * Sequential runs conv → relu and conv → relu → max pool as one fused call each way
 * (convReluForwardFast, convReluPoolForwardFast: on the WebAssembly backend the conv's output
 * never leaves WebAssembly memory). The fusion is an execution plan made from the children;
 * it changes neither the results nor the config.
 */
import { ConvnetError, show } from '../errors.js';
import { add } from '../layers/add.js';
import {
  convReluBackwardFast,
  convReluForwardFast,
  convReluPoolBackwardFast,
  convReluPoolForwardFast,
  type ConvReluFastCache,
  type ConvReluPoolFastCache,
} from '../layers/convFast.js';
import type { Tensor } from '../tensor.js';
import { Conv2d } from './conv.js';
import { ReLU } from './activation.js';
import { MaxPool2d } from './pool.js';
import { Module, showShape, walk, type Mode, type ModuleConfig } from './module.js';

/**
 * How deeply containers may nest (a Sequential in a Residual in a Sequential is 3 deep). Real
 * networks nest a few levels; the limit keeps every recursive walk of a tree (forward,
 * backward, config, outputShape, buildModule of a model file) far from the call stack's end,
 * where it would fail with a RangeError.
 */
export const MAX_NESTING = 100;

/** The nesting depth of a module: 0 for a layer, 1 + its deepest child's for a container. */
function depthOf(m: Module): number {
  return m instanceof Sequential || m instanceof Residual ? m.depth : 0;
}

/**
 * Checks a container's children: not nested too deeply, and no module twice in the tree. A
 * module keeps the cache of its last forward, so one used in two places would differentiate
 * its second use in both (silently wrong gradients); share weights by other means.
 */
function checkChildren(fn: string, children: readonly Module[]): number {
  const depth = 1 + Math.max(0, ...children.map(depthOf));
  if (depth > MAX_NESTING) throw new ConvnetError(fn, `expected containers nested at most ${MAX_NESTING} deep, got ${depth}`);
  const seen = new Set<Module>();
  for (const child of children) {
    for (const m of walk(child)) {
      if (seen.has(m)) throw new ConvnetError(fn, `expected each module once in the tree, got ${m.label} twice (a module keeps its last forward for its backward)`);
      seen.add(m);
    }
  }
  return depth;
}

/** One step of a Sequential's plan: a child, or a run of children fused into one call. */
type Step =
  | { kind: 'module'; module: Module }
  | { kind: 'convRelu'; conv: Conv2d; cache?: ConvReluFastCache }
  | { kind: 'convReluPool'; conv: Conv2d; pool: MaxPool2d; cache?: ConvReluPoolFastCache };

export interface SequentialOptions {
  /** Fuse conv → relu (→ max pool) runs into one kernel call each way; default true. Not part of the config. */
  fuse?: boolean;
}

export class Sequential extends Module {
  readonly type = 'Sequential';
  readonly layers: readonly Module[];
  /** Nesting depth: 1 + the deepest child's (see MAX_NESTING). */
  readonly depth: number;
  private readonly plan: Step[];
  private ran: Step[] | undefined;

  constructor(layers: readonly Module[], options: SequentialOptions = {}) {
    super();
    const fn = 'Sequential';
    if (!Array.isArray(layers) || !layers.every((m) => m instanceof Module)) {
      throw new ConvnetError(fn, `expected an array of modules, got ${show(layers)}`);
    }
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ConvnetError(fn, `expected options { fuse? }, got ${show(options)}`);
    const unknown = Object.keys(options).filter((k) => k !== 'fuse');
    if (unknown.length > 0) throw new ConvnetError(fn, `expected options among fuse, got ${show(unknown)}`);
    if (options.fuse !== undefined && typeof options.fuse !== 'boolean') throw new ConvnetError(fn, `expected fuse to be a boolean, got ${show(options.fuse)}`);
    this.depth = checkChildren(fn, layers);
    this.layers = [...layers];
    this.plan = planOf(this.layers, options.fuse ?? true);
  }

  override children(): readonly Module[] {
    return this.layers;
  }

  get config(): ModuleConfig {
    return { type: this.type, layers: this.layers.map((m) => m.config) };
  }

  get label(): string {
    return `Sequential of ${this.layers.length}`;
  }

  forward(x: Tensor, mode: Mode): Tensor {
    // A forward that throws part-way leaves some children with new caches and some with old.
    this.ran = undefined;
    this.checkMode(mode);
    let activation = x;
    for (const step of this.plan) {
      if (step.kind === 'module') {
        activation = step.module.forward(activation, mode);
      } else if (step.kind === 'convRelu') {
        const { out, cache } = convReluForwardFast(activation, step.conv.params.weight!, step.conv.params.bias!, step.conv.convParam);
        step.cache = cache;
        activation = out;
      } else {
        const { out, cache } = convReluPoolForwardFast(activation, step.conv.params.weight!, step.conv.params.bias!, step.conv.convParam, step.pool.poolParam);
        step.cache = cache;
        activation = out;
      }
    }
    this.ran = this.plan;
    return activation;
  }

  override releaseForward(): void {
    this.ran = undefined;
    for (const step of this.plan) if (step.kind !== 'module') step.cache = undefined;
    super.releaseForward();
  }

  backward(dout: Tensor): Tensor {
    const plan = this.cacheOf(this.ran);
    let upstream = dout;
    for (let i = plan.length - 1; i >= 0; i--) {
      const step = plan[i]!;
      if (step.kind === 'module') {
        upstream = step.module.backward(upstream);
      } else {
        const { dx, dw, db } =
          step.kind === 'convRelu' ? convReluBackwardFast(upstream, this.cacheOf(step.cache)) : convReluPoolBackwardFast(upstream, this.cacheOf(step.cache));
        step.conv.setGradients(dw, db);
        upstream = dx;
      }
    }
    return upstream;
  }

  outputShape(inputShape: readonly number[]): number[] {
    let shape = [...inputShape];
    for (const m of this.layers) shape = m.outputShape(shape);
    return shape;
  }
}

/** Groups conv → relu (→ max pool) runs into fused steps when asked. */
function planOf(layers: readonly Module[], fuse: boolean): Step[] {
  const plan: Step[] = [];
  for (let i = 0; i < layers.length; i++) {
    const m = layers[i]!;
    if (fuse && m instanceof Conv2d && layers[i + 1] instanceof ReLU) {
      const next = layers[i + 2];
      if (next instanceof MaxPool2d) {
        plan.push({ kind: 'convReluPool', conv: m, pool: next });
        i += 2;
      } else {
        plan.push({ kind: 'convRelu', conv: m });
        i += 1;
      }
      continue;
    }
    plan.push({ kind: 'module', module: m });
  }
  return plan;
}

export interface ResidualOptions {
  /** The branch whose output is added to the block's input. */
  body: Module;
  /** Applied to the input on the skip path when the body changes its shape (a 1×1 conv, + bn); default none. */
  projection?: Module | null;
}

/** out = body(x) + x, or body(x) + projection(x). */
export class Residual extends Module {
  readonly type = 'Residual';
  readonly body: Module;
  readonly projection: Module | null;
  /** Nesting depth: 1 + the deepest child's (see MAX_NESTING). */
  readonly depth: number;
  private ran = false;

  constructor(options: ResidualOptions) {
    super();
    const fn = 'Residual';
    if (options === null || typeof options !== 'object' || !(options.body instanceof Module)) {
      throw new ConvnetError(fn, `expected { body: a module, projection?: a module }, got ${show(options)}`);
    }
    const unknown = Object.keys(options).filter((k) => k !== 'body' && k !== 'projection');
    if (unknown.length > 0) throw new ConvnetError(fn, `expected options among body, projection, got ${show(unknown)}`);
    const projection = options.projection ?? null;
    if (projection !== null && !(projection instanceof Module)) throw new ConvnetError(fn, `expected projection to be a module or null, got ${show(projection)}`);
    this.depth = checkChildren(fn, projection === null ? [options.body] : [options.body, projection]);
    this.body = options.body;
    this.projection = projection;
  }

  override children(): readonly Module[] {
    return this.projection === null ? [this.body] : [this.body, this.projection];
  }

  get config(): ModuleConfig {
    return { type: this.type, body: this.body.config, projection: this.projection === null ? null : this.projection.config };
  }

  get label(): string {
    return this.projection === null ? 'Residual (identity skip)' : 'Residual (projected skip)';
  }

  forward(x: Tensor, mode: Mode): Tensor {
    this.ran = false;
    this.checkMode(mode);
    const main = this.body.forward(x, mode);
    const skip = this.projection === null ? x : this.projection.forward(x, mode);
    this.ran = true;
    return add(main, skip);
  }

  override releaseForward(): void {
    this.ran = false;
    super.releaseForward();
  }

  backward(dout: Tensor): Tensor {
    if (!this.ran) this.cacheOf(undefined);
    // d(main + skip) reaches both branches unchanged; their input gradients add up.
    const dMain = this.body.backward(dout);
    const dSkip = this.projection === null ? dout : this.projection.backward(dout);
    return add(dMain, dSkip);
  }

  outputShape(inputShape: readonly number[]): number[] {
    const main = this.body.outputShape(inputShape);
    const skip = this.projection === null ? [...inputShape] : this.projection.outputShape(inputShape);
    if (main.length !== skip.length || main.some((d, i) => d !== skip[i])) {
      throw new ConvnetError(
        'Residual',
        `expected the body's output ${showShape(main)} to match the ${this.projection === null ? 'input' : "projection's output"} ${showShape(skip)}${this.projection === null ? ' (add a projection when the body changes the shape)' : ''}, got different shapes`,
      );
    }
    return main;
  }
}
