import type { Dataset } from './data';

/** Token and interface of the Sampler point: the order (and weights) of examples in an epoch. */
export const Sampler: unique symbol = Symbol.for('kiln.point.Sampler');
export interface Sampler {
  /** Dataset indices for one epoch. Deterministic given the seed and the epoch number. */
  epochIndices(dataset: Dataset, epoch: number, seed: number): number[];
  /** Optional per-example loss weights for the epoch (aligned to dataset indices). */
  weightOf?(index: number): number;
  /** Feedback after a step: per-example losses, for adaptive samplers. */
  observe?(indices: readonly number[], losses: Float32Array | number[], epoch: number): void;
  /** Serializable state, so a resumed run samples as the uninterrupted one would. */
  state?(): unknown;
  restore?(state: unknown): void;
}
