import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import type { Loss } from '@kiln/core';
import { z } from 'zod';
import { alignTargets, meanOverFeatures, weightedMean } from './reduce';

export const HuberOptions = z.strictObject({
  delta: z.number().positive().default(1).describe('Where the loss turns from quadratic to linear (PyTorch `HuberLoss(delta)`).'),
});
export type HuberOptions = z.output<typeof HuberOptions>;

/** Huber loss: ½d² for |d| ≤ δ, δ·(|d| − ½δ) beyond; per example the mean over the outputs. */
export class HuberLoss implements Loss {
  readonly name = 'huber';
  constructor(private readonly options: HuberOptions = { delta: 1 }) {}

  perExample(predictions: Tensor, targets: Tensor): Tensor {
    return tf.tidy(() => {
      const delta = this.options.delta;
      const abs = tf.abs(tf.sub(tf.cast(predictions, 'float32'), alignTargets(predictions, targets)));
      const quadratic = tf.minimum(abs, delta);
      const linear = tf.sub(abs, quadratic);
      // ½q² + δ·l equals both branches of the definition and has a smooth gradient.
      return meanOverFeatures(tf.add(tf.mul(tf.square(quadratic), 0.5), tf.mul(linear, delta)));
    });
  }

  compute(predictions: Tensor, targets: Tensor, weights?: Tensor): Scalar {
    return tf.tidy(() => weightedMean(this.perExample(predictions, targets), weights));
  }
}
