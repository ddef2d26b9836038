import * as tf from '@tensorflow/tfjs-core';
import type { ParameterUpdate } from '@kiln/core';
import { z } from 'zod';
import { SlottedOptimizer, withL2 } from './slotted-optimizer';

export const RmspropOptions = z.strictObject({
  lr: z.number().positive().default(1e-3).describe('Base learning rate; the engine reads it and the schedule scales it per step.'),
  alpha: z.number().min(0).lt(1).default(0.99).describe('Smoothing constant of the squared-gradient average.'),
  epsilon: z.number().positive().default(1e-8).describe('Added to the root of the average (outside the square root, as PyTorch).'),
  momentum: z.number().min(0).default(0).describe('Momentum μ of the update buffer: b = μ·b + g/(√s + ε).'),
  centered: z.boolean().default(false).describe('Normalise by the variance estimate s − ḡ² instead of s.'),
  weightDecay: z.number().min(0).default(0).describe('L2 penalty λ added to the gradient.'),
});
export type RmspropOptions = z.output<typeof RmspropOptions>;

/** RMSprop as `torch.optim.RMSprop`. */
export class RmspropOptimizer extends SlottedOptimizer {
  readonly name = 'rmsprop';
  private readonly options: RmspropOptions;
  constructor(options: Partial<RmspropOptions> = {}) {
    super();
    this.options = RmspropOptions.parse(options);
  }

  protected update(u: ParameterUpdate, lr: number): void {
    const { alpha, epsilon, momentum, centered, weightDecay } = this.options;
    const g = withL2(u.gradient, u.variable, weightDecay);
    const sq = this.slot(u, 'squareAvg').variable;
    const sqNext = tf.add(tf.mul(sq, alpha), tf.mul(tf.square(g), 1 - alpha));
    sq.assign(sqNext);
    let avg: tf.Tensor;
    if (centered) {
      const ga = this.slot(u, 'gradAvg').variable;
      const gaNext = tf.add(tf.mul(ga, alpha), tf.mul(g, 1 - alpha));
      ga.assign(gaNext);
      avg = tf.add(tf.sqrt(tf.sub(sqNext, tf.square(gaNext))), epsilon);
    } else {
      avg = tf.add(tf.sqrt(sqNext), epsilon);
    }
    if (momentum > 0) {
      const buf = this.slot(u, 'momentum').variable;
      const bNext = tf.add(tf.mul(buf, momentum), tf.div(g, avg));
      buf.assign(bNext);
      u.variable.assign(tf.sub(u.variable, tf.mul(bNext, lr)));
    } else {
      u.variable.assign(tf.sub(u.variable, tf.mul(tf.div(g, avg), lr)));
    }
  }
}
