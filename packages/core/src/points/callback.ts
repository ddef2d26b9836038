import type { Hooks } from '../hooks';

/** Token and interface of the Callback point: a small class that taps the lifecycle hooks. */
export const Callback: unique symbol = Symbol.for('kiln.point.Callback');
export interface Callback {
  readonly name: string;
  apply(hooks: Hooks): void;
}
