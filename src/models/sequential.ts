/**
 * A network as a list of stages, each a layer's forward/backward pair with its parameters
 * named in the model's `params` (W1, b1, gamma1, …). FullyConnectedNet and the spec-built
 * ConvNet are both Sequentials; the Solver sees only the Classifier interface.
 */
import { ConvnetError } from '../errors.js';
import { leakyReluBackward, leakyReluForward, reluBackward, reluForward } from '../layers/activations.js';
import { affineBackward, affineForward } from '../layers/affineFast.js';
import { convBackward, convForward } from '../layers/convFast.js';
import { avgPoolBackward, avgPoolForward, maxPoolBackward, maxPoolForward } from '../layers/poolFast.js';
import type { BatchnormParam } from '../layers/batchnorm.js';
import {
  batchnormBackward,
  batchnormForward,
  spatialBatchnormBackward,
  spatialBatchnormForward,
} from '../layers/batchnormFast.js';
import { dropoutBackward, dropoutForward } from '../layers/dropout.js';
import { spatialGroupnormBackward, spatialGroupnormForward } from '../layers/groupnormFast.js';
import { layernormBackward, layernormForward } from '../layers/layernorm.js';
import { softmaxLoss } from '../layers/loss.js';
import { globalAvgPoolBackward, globalAvgPoolForward } from '../layers/pool.js';
import type { ConvParam } from '../layers/conv.js';
import {
  convReluBackwardFast,
  convReluForwardFast,
  convReluPoolBackwardFast,
  convReluPoolForwardFast,
  type ConvReluFastCache,
  type ConvReluPoolFastCache,
} from '../layers/convFast.js';
import type { Rng } from '../rng.js';
import type { DType, Tensor } from '../tensor.js';
import { addL2, checkBatch, filled, gaussian, type Classifier, type Gradients } from './common.js';

/** Per-call settings every stage sees. */
export interface RunOptions {
  /** When set, every dropout mask is drawn from this seed (gradient checks need a fixed mask). */
  dropoutSeed: number | null;
}

/** One layer of a Sequential. `cache` is whatever its forward returned for its backward. */
export interface Stage {
  /** For messages and summaries, e.g. "conv(32,3)". */
  readonly label: string;
  /** Parameter keys this stage reads, in the model's params. */
  readonly paramNames: readonly string[];
  /** Keys of weights that L2 regularisation applies to. */
  readonly weightNames: readonly string[];
  forward(x: Tensor, params: Record<string, Tensor>, train: boolean, run: RunOptions): { out: Tensor; cache: unknown };
  /** Returns dx and the gradient of each parameter key. */
  backward(dout: Tensor, cache: unknown): { dx: Tensor; grads: Gradients };
}

/** Builds stages one after another, tracking the activation shape (without N). */
export class StageBuilder {
  readonly stages: Stage[] = [];
  readonly params: Record<string, Tensor> = {};
  /** Batchnorm running statistics, by name (runningMean1, runningVar1, …). */
  readonly buffers: Record<string, Tensor> = {};
  private weightCount = 0;
  private normCount = 0;
  /**
   * The last conv stage while a relu, then a 2×2 stride-2 max pool, may still join it: such runs
   * become one stage that runs as one kernel call each way (convReluForwardFast,
   * convReluPoolForwardFast), labelled as the layers it replaces.
   */
  private fusable: { index: number; withRelu: boolean; label: string; wName: string; bName: string; convParam: ConvParam } | undefined;

  constructor(
    public shape: number[],
    readonly dtype: DType,
    /** A number, or 'he' for √(2 / fan-in) per layer (He et al.), which deep nets need. */
    readonly weightScale: number | 'he',
    readonly generator: Rng,
    private readonly fn: string,
  ) {}

  private requireRank(label: string, rank: number): void {
    if (this.shape.length !== rank) {
      const kind = rank === 3 ? 'image activations (C, H, W)' : 'flat features (D)';
      throw new ConvnetError(this.fn, `expected ${label} to follow ${kind}, got activations of shape (${this.shape.join(', ')})`);
    }
  }

  conv(filters: number, size: number, stride = 1): void {
    const label = `conv(${filters},${size}${stride === 1 ? '' : `,${stride}`})`;
    this.requireRank(label, 3);
    if (size % 2 !== 1) throw new ConvnetError(this.fn, `expected an odd conv size (for "same" padding), got ${label}`);
    const [C, H, W] = this.shape as [number, number, number];
    const k = ++this.weightCount;
    const [wName, bName] = [`W${k}`, `b${k}`];
    this.params[wName] = gaussian([filters, C, size, size], this.scaleFor(C * size * size), this.generator, this.dtype);
    this.params[bName] = filled([filters], 0, this.dtype);
    const convParam = { stride, pad: (size - 1) / 2 };
    this.shape = [filters, Math.floor((H - 1) / stride) + 1, Math.floor((W - 1) / stride) + 1];
    this.stages.push({
      label,
      paramNames: [wName, bName],
      weightNames: [wName],
      forward: (x, p) => convForward(x, p[wName]!, p[bName]!, convParam),
      backward: (dout, cache) => {
        const { dx, dw, db } = convBackward(dout, cache as Parameters<typeof convBackward>[1]);
        return { dx, grads: { [wName]: dw, [bName]: db } };
      },
    });
    this.fusable = { index: this.stages.length - 1, withRelu: false, label, wName, bName, convParam };
  }

  /** The conv stage a relu or a max pool can join now, if any. */
  private fusableConv(withRelu: boolean): NonNullable<StageBuilder['fusable']> | undefined {
    const f = this.fusable;
    return f !== undefined && f.withRelu === withRelu && f.index === this.stages.length - 1 ? f : undefined;
  }

  private scaleFor(fanIn: number): number {
    return this.weightScale === 'he' ? Math.sqrt(2 / fanIn) : this.weightScale;
  }

  fc(units: number): void {
    const label = `fc(${units})`;
    const D = this.shape.reduce((a, b) => a * b, 1);
    const k = ++this.weightCount;
    const [wName, bName] = [`W${k}`, `b${k}`];
    this.params[wName] = gaussian([D, units], this.scaleFor(D), this.generator, this.dtype);
    this.params[bName] = filled([units], 0, this.dtype);
    this.shape = [units];
    this.stages.push({
      label,
      paramNames: [wName, bName],
      weightNames: [wName],
      forward: (x, p) => affineForward(x, p[wName]!, p[bName]!),
      backward: (dout, cache) => {
        const { dx, dw, db } = affineBackward(dout, cache as Parameters<typeof affineBackward>[1]);
        return { dx, grads: { [wName]: dw, [bName]: db } };
      },
    });
  }

  /** Adds gamma (ones) and beta (zeros) of a shape; returns their keys. */
  private norm(gammaShape: number[]): [string, string] {
    const j = ++this.normCount;
    const [gName, bName] = [`gamma${j}`, `beta${j}`];
    this.params[gName] = filled(gammaShape, 1, this.dtype);
    this.params[bName] = filled(gammaShape, 0, this.dtype);
    return [gName, bName];
  }

  /** Batchnorm: spatial after a conv, plain after an fc. Running statistics live in the stage. */
  batchnorm(): void {
    const spatial = this.shape.length === 3;
    const channels = this.shape[0]!;
    if (!spatial) this.requireRank('bn', 1);
    const [gName, bName] = this.norm([channels]);
    // Named after gamma's index, and kept in `buffers` so they are saved with the parameters.
    const index = gName.slice('gamma'.length);
    const runningMean = filled([channels], 0, this.dtype);
    const runningVar = filled([channels], 0, this.dtype);
    this.buffers[`runningMean${index}`] = runningMean;
    this.buffers[`runningVar${index}`] = runningVar;
    const bnParam: BatchnormParam = { mode: 'train', runningMean, runningVar };
    const forward = spatial ? spatialBatchnormForward : batchnormForward;
    const backward = spatial ? spatialBatchnormBackward : batchnormBackward;
    this.stages.push({
      label: 'bn',
      paramNames: [gName, bName],
      weightNames: [],
      forward: (x, p, train) => {
        bnParam.mode = train ? 'train' : 'test';
        return forward(x, p[gName]!, p[bName]!, bnParam);
      },
      backward: (dout, cache) => {
        const { dx, dgamma, dbeta } = backward(dout, cache as Parameters<typeof backward>[1]);
        return { dx, grads: { [gName]: dgamma, [bName]: dbeta } };
      },
    });
  }

  layernorm(): void {
    this.requireRank('ln', 1);
    const [gName, bName] = this.norm([this.shape[0]!]);
    this.stages.push({
      label: 'ln',
      paramNames: [gName, bName],
      weightNames: [],
      forward: (x, p) => layernormForward(x, p[gName]!, p[bName]!),
      backward: (dout, cache) => {
        const { dx, dgamma, dbeta } = layernormBackward(dout, cache as Parameters<typeof layernormBackward>[1]);
        return { dx, grads: { [gName]: dgamma, [bName]: dbeta } };
      },
    });
  }

  groupnorm(groups: number): void {
    const label = `gn(${groups})`;
    this.requireRank(label, 3);
    const C = this.shape[0]!;
    if (C % groups !== 0) throw new ConvnetError(this.fn, `expected ${label} to divide the ${C} channels before it, got ${groups} groups`);
    const [gName, bName] = this.norm([1, C, 1, 1]);
    this.stages.push({
      label,
      paramNames: [gName, bName],
      weightNames: [],
      forward: (x, p) => spatialGroupnormForward(x, p[gName]!, p[bName]!, groups),
      backward: (dout, cache) => {
        const { dx, dgamma, dbeta } = spatialGroupnormBackward(dout, cache as Parameters<typeof spatialGroupnormBackward>[1]);
        return { dx, grads: { [gName]: dgamma, [bName]: dbeta } };
      },
    });
  }

  relu(): void {
    const conv = this.fusableConv(false);
    if (conv !== undefined) {
      const { wName, bName, convParam } = conv;
      this.stages[conv.index] = {
        label: `${conv.label} → relu`,
        paramNames: [wName, bName],
        weightNames: [wName],
        forward: (x, p) => convReluForwardFast(x, p[wName]!, p[bName]!, convParam),
        backward: (dout, cache) => {
          const { dx, dw, db } = convReluBackwardFast(dout, cache as ConvReluFastCache);
          return { dx, grads: { [wName]: dw, [bName]: db } };
        },
      };
      conv.withRelu = true;
      return;
    }
    this.stages.push({
      label: 'relu',
      paramNames: [],
      weightNames: [],
      forward: (x) => reluForward(x),
      backward: (dout, cache) => ({ dx: reluBackward(dout, cache as Parameters<typeof reluBackward>[1]), grads: {} }),
    });
  }

  leakyRelu(alpha = 0.01): void {
    this.stages.push({
      label: 'lrelu',
      paramNames: [],
      weightNames: [],
      forward: (x) => leakyReluForward(x, alpha),
      backward: (dout, cache) => ({ dx: leakyReluBackward(dout, cache as Parameters<typeof leakyReluBackward>[1]), grads: {} }),
    });
  }

  pool(kind: 'max' | 'avg', size: number, stride = size): void {
    const label = `${kind}pool(${size},${stride})`;
    this.requireRank(label, 3);
    const [C, H, W] = this.shape as [number, number, number];
    if (size > H || size > W) throw new ConvnetError(this.fn, `expected ${label} to fit activations of shape (${C}, ${H}, ${W}), got a window larger than the input`);
    const poolParam = { poolHeight: size, poolWidth: size, stride };
    this.shape = [C, Math.floor((H - size) / stride) + 1, Math.floor((W - size) / stride) + 1];
    const conv = kind === 'max' ? this.fusableConv(true) : undefined;
    if (conv !== undefined) {
      const { wName, bName, convParam } = conv;
      this.stages[conv.index] = {
        label: `${conv.label} → relu → ${label}`,
        paramNames: [wName, bName],
        weightNames: [wName],
        forward: (x, p) => convReluPoolForwardFast(x, p[wName]!, p[bName]!, convParam, poolParam),
        backward: (dout, cache) => {
          const { dx, dw, db } = convReluPoolBackwardFast(dout, cache as ConvReluPoolFastCache);
          return { dx, grads: { [wName]: dw, [bName]: db } };
        },
      };
      this.fusable = undefined;
      return;
    }
    const forward = kind === 'max' ? maxPoolForward : avgPoolForward;
    const backward = kind === 'max' ? maxPoolBackward : avgPoolBackward;
    this.stages.push({
      label,
      paramNames: [],
      weightNames: [],
      forward: (x) => forward(x, poolParam),
      backward: (dout, cache) => ({ dx: backward(dout, cache as never), grads: {} }),
    });
  }

  globalAvgPool(): void {
    this.requireRank('gap', 3);
    this.shape = [this.shape[0]!, 1, 1];
    this.stages.push({
      label: 'gap',
      paramNames: [],
      weightNames: [],
      forward: (x) => globalAvgPoolForward(x),
      backward: (dout, cache) => ({ dx: globalAvgPoolBackward(dout, cache as Parameters<typeof globalAvgPoolBackward>[1]), grads: {} }),
    });
  }

  /** Inverted dropout with keep probability `keep`; masks come from the model's generator. */
  dropout(keep: number): void {
    const maskRng = this.generator.fork();
    this.stages.push({
      label: `dropout(${keep})`,
      paramNames: [],
      weightNames: [],
      forward: (x, _p, train, run) =>
        dropoutForward(x, run.dropoutSeed === null ? { p: keep, mode: train ? 'train' : 'test', rng: maskRng } : { p: keep, mode: train ? 'train' : 'test', seed: run.dropoutSeed }),
      backward: (dout, cache) => ({ dx: dropoutBackward(dout, cache as Parameters<typeof dropoutBackward>[1]), grads: {} }),
    });
  }
}

/** A classifier made of stages, ending in a softmax loss. */
export class Sequential implements Classifier {
  params: Record<string, Tensor>;
  /** Fix every dropout mask to this seed (for gradient checks); null draws fresh masks. */
  dropoutSeed: number | null = null;

  constructor(
    readonly stages: readonly Stage[],
    params: Record<string, Tensor>,
    readonly inputDim: readonly number[],
    readonly dtype: DType,
    readonly reg: number,
    private readonly fn: string,
    /** Batchnorm running statistics (updated in place by training forwards). */
    readonly buffers: Record<string, Tensor> = {},
  ) {
    this.params = params;
  }

  loss(X: Tensor): Tensor;
  loss(X: Tensor, y: Int32Array | number[]): { loss: number; grads: Gradients };
  loss(X: Tensor, y?: Int32Array | number[]): Tensor | { loss: number; grads: Gradients } {
    checkBatch(`${this.fn}.loss`, X, this.inputDim, this.dtype);
    const train = y !== undefined;
    const caches: unknown[] = [];
    let activation = X;
    for (const stage of this.stages) {
      const { out, cache } = stage.forward(activation, this.params, train, { dropoutSeed: this.dropoutSeed });
      caches.push(cache);
      activation = out;
    }
    if (!train) return activation;

    const { loss: dataLoss, dx: dscores } = softmaxLoss(activation, y);
    const grads: Gradients = {};
    let upstream = dscores;
    for (let i = this.stages.length - 1; i >= 0; i--) {
      const { dx, grads: stageGrads } = this.stages[i]!.backward(upstream, caches[i]);
      Object.assign(grads, stageGrads);
      upstream = dx;
    }
    const weights = this.stages.flatMap((s) => s.weightNames);
    return { loss: addL2(dataLoss, this.reg, this.params, grads, weights), grads };
  }

  /** One line per stage, e.g. "conv(32,3) → bn → relu → maxpool(2,2) → fc(10)". */
  describe(): string {
    return this.stages.map((s) => s.label).join(' → ');
  }
}
