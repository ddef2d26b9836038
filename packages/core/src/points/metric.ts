/** Token and interface of the Metric point. A metric accumulates over batches, then reports. */
export const Metric: unique symbol = Symbol.for('kiln.point.Metric');
export interface Metric<P = unknown, T = unknown> {
  /** Prefix of the values it reports (`accuracy`, `f1`, `coco`). */
  readonly name: string;
  update(predictions: P, targets: T): void | Promise<void>;
  /** Scalar results keyed by name, e.g. `{ accuracy: 0.93 }` or `{ 'f1/macro': 0.8 }`. */
  result(): Record<string, number> | Promise<Record<string, number>>;
  /** Structured results that are not scalars (a confusion matrix, per-class tables). */
  details?(): unknown;
  reset(): void;
}
