import type { Tensor, Variable } from '@tensorflow/tfjs-core';

export interface ParameterUpdate {
  name: string;
  variable: Variable;
  gradient: Tensor;
}

/** Token and interface of the Optimizer point. */
export const Optimizer: unique symbol = Symbol.for('kiln.point.Optimizer');
export interface Optimizer {
  readonly name: string;
  /** Applies one update with learning rate `lr`; increments `iterations`. Must not leak tensors. */
  step(updates: ParameterUpdate[], lr: number): void;
  /** Number of updates applied so far. */
  readonly iterations: number;
  /** Slot variables by `<param name>/<slot>`, plus scalars, for checkpoints. */
  getState(): { iterations: number; slots: Record<string, Tensor> };
  setState(state: { iterations: number; slots: Record<string, Tensor> }): void;
  dispose(): void;
}

/** Token and interface of learning-rate schedules (configured as `optimizer.schedule`). */
export const Schedule: unique symbol = Symbol.for('kiln.point.Schedule');
export interface Schedule {
  /** Learning rate at optimizer step `step` (0-based), given the base rate and the total steps. */
  lr(step: number, baseLr: number, totalSteps: number): number;
}
