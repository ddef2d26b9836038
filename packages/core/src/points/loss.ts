import type { Scalar, Tensor } from '@tensorflow/tfjs-core';

/** Token and interface of the Loss point. */
export const Loss: unique symbol = Symbol.for('kiln.point.Loss');
export interface Loss {
  readonly name: string;
  /** Per-example loss, shape [batch]. */
  perExample(predictions: Tensor, targets: Tensor): Tensor;
  /** Reduced loss; `weights` (shape [batch]) scale examples before the mean. */
  compute(predictions: Tensor, targets: Tensor, weights?: Tensor): Scalar;
}
