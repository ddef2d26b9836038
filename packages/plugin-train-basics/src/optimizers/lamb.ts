import * as tf from '@tensorflow/tfjs-core';
import type { ParameterUpdate } from '@kiln/core';
import { z } from 'zod';
import { SlottedOptimizer } from './slotted-optimizer';
import { updateMoments } from './adam';

export const LambOptions = z.strictObject({
  lr: z.number().positive().default(1e-3).describe('Base learning rate; the engine reads it and the schedule scales it per step.'),
  beta1: z.number().min(0).lt(1).default(0.9).describe('Decay of the first-moment estimate m.'),
  beta2: z.number().min(0).lt(1).default(0.999).describe('Decay of the second-moment estimate v.'),
  epsilon: z.number().positive().default(1e-6).describe('Added to √v̂ in r = m̂/(√v̂ + ε).'),
  weightDecay: z.number().min(0).default(0.01).describe('λ in r = m̂/(√v̂ + ε) + λ·x.'),
});
export type LambOptions = z.output<typeof LambOptions>;

/**
 * LAMB (You et al. 2020, Algorithm 2), one trust ratio per parameter tensor:
 * r = m̂/(√v̂ + ε) + λx, x ← x − lr · ‖x‖/‖r‖ · r, with the ratio 1 when either norm is 0.
 */
export class LambOptimizer extends SlottedOptimizer {
  readonly name = 'lamb';
  private readonly options: LambOptions;
  constructor(options: Partial<LambOptions> = {}) {
    super();
    this.options = LambOptions.parse(options);
  }

  protected update(u: ParameterUpdate, lr: number, t: number): void {
    const { beta1, beta2, epsilon, weightDecay } = this.options;
    const g = u.gradient;
    const [mNext, vNext] = updateMoments(this.slot(u, 'm').variable, this.slot(u, 'v').variable, g, beta1, beta2);
    const mHat = tf.div(mNext, 1 - beta1 ** t);
    const vHat = tf.div(vNext, 1 - beta2 ** t);
    let r = tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon));
    if (weightDecay !== 0) r = tf.add(r, tf.mul(u.variable, weightDecay));
    const xNorm = tf.norm(u.variable);
    const rNorm = tf.norm(r);
    const bothPositive = tf.logicalAnd(tf.greater(xNorm, 0), tf.greater(rNorm, 0));
    const ratio = tf.where(bothPositive, tf.div(xNorm, tf.where(bothPositive, rNorm, tf.onesLike(rNorm))), tf.onesLike(rNorm));
    u.variable.assign(tf.sub(u.variable, tf.mul(r, tf.mul(ratio, lr))));
  }
}
