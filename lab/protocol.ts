/** Messages between the page (main.ts) and the training worker (worker.ts). */

/** A file the user picked, read into bytes on the main thread. */
export interface PickedFile {
  name: string;
  bytes: Uint8Array;
}

export type ToWorker =
  | { type: 'init' }
  | { type: 'dataset'; source: 'mnist' | 'fashion-mnist' | 'files'; files?: PickedFile[] }
  | { type: 'spec'; spec: string }
  | { type: 'model'; spec: string; batchSize: number; lr: number; seed: number }
  | { type: 'train' }
  | { type: 'pause' }
  | { type: 'step' }
  | { type: 'lr'; lr: number }
  /** full: every picture; otherwise the filters only (cheap to draw while training). */
  | { type: 'inspect'; index: number; full: boolean }
  /** pixels: (C, H, W) bytes 0..255 in the dataset's input shape. */
  | { type: 'predict'; pixels: Uint8Array; source: 'pad' | 'upload' }
  | { type: 'download' }
  | { type: 'load'; file: PickedFile };

export interface DatasetInfo {
  name: string;
  /** How it was split, in words. */
  description: string;
  inputDim: [number, number, number];
  classNames: string[];
  counts: { train: number; val: number; test: number };
}

export type FromWorker =
  | { type: 'ready'; backend: string; variant: string; threads: number; isolated: boolean }
  | { type: 'dataset'; info: DatasetInfo }
  /** A spec's parse error, with the position it names in the whitespace-free text. */
  | { type: 'spec'; spec: string; error: string | null; text?: string; position?: number }
  | { type: 'model'; summary: string; parameters: number }
  | { type: 'iteration'; iteration: number; loss: number; lr: number; msPerBatch: number }
  | { type: 'accuracy'; iteration: number; trainAcc: number; valAcc: number }
  | { type: 'state'; running: boolean; iteration: number; reason?: string }
  | { type: 'lr'; lr: number }
  | { type: 'inspect'; index: number; filters: string; full?: { activations: string; confusion: string; wrong: string; accuracy: number; count: number } }
  | { type: 'predict'; source: 'pad' | 'upload'; probabilities: number[]; classNames: string[]; saliency: string }
  | { type: 'download'; bytes: Uint8Array; name: string }
  | { type: 'loaded'; name: string; summary: string; testAcc: number; correct: number; count: number; dataset: string; training: string }
  | { type: 'error'; context: string; message: string };
