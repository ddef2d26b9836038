import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import type { Loss } from '@kiln/core';
import { z } from 'zod';
import { alignTargets, meanOverFeatures, weightedMean } from './reduce';

export const BinaryCrossEntropyOptions = z.strictObject({
  posWeight: z.union([z.number().positive(), z.array(z.number().positive())]).optional()
    .describe('Weight of positive targets, one number or one per output (PyTorch `pos_weight`).'),
});
export type BinaryCrossEntropyOptions = z.output<typeof BinaryCrossEntropyOptions>;

/**
 * Sigmoid cross-entropy from logits, for binary ([batch] or [batch, 1]) and multi-label
 * ([batch, labels]) targets in [0, 1]. Per example it is the mean over the labels.
 * Stable form: (1 − y)·x + (1 + (p − 1)·y)·softplus(−x).
 */
export class BinaryCrossEntropyLoss implements Loss {
  readonly name = 'binary-cross-entropy';
  constructor(private readonly options: BinaryCrossEntropyOptions = {}) {}

  perExample(predictions: Tensor, targets: Tensor): Tensor {
    return tf.tidy(() => {
      const x = tf.cast(predictions, 'float32');
      const y = alignTargets(x, targets);
      const softplusNeg = tf.softplus(tf.neg(x));
      const pw = this.options.posWeight;
      const coef = pw === undefined ? tf.onesLike(y) : tf.add(tf.mul(y, tf.sub(Array.isArray(pw) ? tf.tensor1d(pw) : tf.scalar(pw), 1)), 1);
      return meanOverFeatures(tf.add(tf.mul(tf.sub(1, y), x), tf.mul(coef, softplusNeg)));
    });
  }

  compute(predictions: Tensor, targets: Tensor, weights?: Tensor): Scalar {
    return tf.tidy(() => weightedMean(this.perExample(predictions, targets), weights));
  }
}
