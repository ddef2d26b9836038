import type { NamedTensorMap, Tensor, Variable } from '@tensorflow/tfjs-core';
import type { DatasetInfo } from './data';

/** Token and interface of the Model point. */
export const Model: unique symbol = Symbol.for('kiln.point.Model');
export interface Model {
  readonly name: string;
  /**
   * Names of the input tensors `apply` reads (`['x']`, or `['input_ids', 'attention_mask',
   * 'token_type_ids']`), for exporters, servers and predict; omitted means the dataset's keys.
   */
  readonly inputKeys?: readonly string[];
  /** Forward pass. Returns predictions (logits for classifiers). */
  apply(inputs: Record<string, Tensor>, options: { training: boolean }): Tensor;
  /** Variables the optimizer updates, in a stable order with stable names. */
  readonly trainableVariables: Variable[];
  /** Every weight (trainable and not, e.g. batch-norm statistics), by stable name, for checkpoints. */
  getWeights(): NamedTensorMap;
  setWeights(weights: NamedTensorMap): void;
  /** Total number of scalar parameters (trainable and not). */
  countParams(): number;
  /** The underlying tfjs-layers model when there is one (exporters use it). */
  readonly layersModel?: unknown;
  dispose(): void;
}

/** Models are built for a dataset: factories receive its info to size inputs and heads. */
export interface ModelBuildContext {
  dataset: DatasetInfo;
}
