import type { Tensor } from '@tensorflow/tfjs-core';

/** What a task is, so presets, metrics and exporters can adapt. */
export type Task =
  | 'classification'
  | 'regression'
  | 'token-classification'
  | 'detection'
  | 'other';

export type Split = 'train' | 'val' | 'test';

/** One feature column as a model sees it. */
export interface InputSpec {
  name: string;
  /** Per-example shape, without the batch dimension. */
  shape: number[];
  dtype: 'float32' | 'int32';
}

export interface DatasetInfo {
  task: Task;
  inputs: InputSpec[];
  /** Per-example target shape ([] for a class index or a scalar regression target). */
  targetShape: number[];
  targetDtype: 'float32' | 'int32';
  /** Class names for classification tasks, in label-index order. */
  classNames?: string[];
  /** Anything a reader wants to pass on (tokenizer files, normalization stats…), kept in exports. */
  extra?: Record<string, unknown>;
}

/** One example. `inputs` is keyed by InputSpec name. */
export interface Example {
  inputs: Record<string, Float32Array | Int32Array>;
  target: Float32Array | Int32Array | number;
  /** Where the example came from (file:line, path), for error messages and predictions. */
  source?: string;
}

/** A random-access collection of examples, as PyTorch's map-style Dataset. */
export interface Dataset {
  readonly info: DatasetInfo;
  readonly size: number;
  get(index: number): Example;
  /** Class label of example `index` without decoding it, for class-aware samplers. */
  labelOf?(index: number): number;
}

/** A batch of stacked examples; tensors are owned by the engine, which disposes them. */
export interface Batch {
  inputs: Record<string, Tensor>;
  targets: Tensor;
  /** Dataset indices of the rows, in order (samplers and hard-sample mining use them). */
  indices: number[];
  /** Per-example weights from a weighted sampler, if any. */
  weights?: Tensor;
}
