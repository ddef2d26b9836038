import * as tf from '@tensorflow/tfjs-core';
import type { ParameterUpdate } from '@kiln/core';
import { z } from 'zod';
import { SlottedOptimizer, withL2 } from './slotted-optimizer';

const adamShape = {
  lr: z.number().positive().default(1e-3).describe('Base learning rate; the engine reads it and the schedule scales it per step.'),
  beta1: z.number().min(0).lt(1).default(0.9).describe('Decay of the first-moment estimate m.'),
  beta2: z.number().min(0).lt(1).default(0.999).describe('Decay of the second-moment estimate v.'),
  epsilon: z.number().positive().default(1e-8).describe('Added to √v̂ (outside the square root, as PyTorch).'),
  amsgrad: z.boolean().default(false).describe('Use the running maximum of v (Reddi et al. 2018).'),
};

export const AdamOptions = z.strictObject({
  ...adamShape,
  weightDecay: z.number().min(0).default(0).describe('L2 penalty λ added to the gradient (coupled; use adamw for decoupled decay).'),
});
export type AdamOptions = z.output<typeof AdamOptions>;

export const AdamWOptions = z.strictObject({
  ...adamShape,
  weightDecay: z.number().min(0).default(0.01).describe('Decoupled weight decay λ: p ← p − lr·λ·p before the Adam step (Loshchilov & Hutter).'),
});
export type AdamWOptions = z.output<typeof AdamWOptions>;

/**
 * Adam's moment estimates (Kingma & Ba 2015): m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², written
 * to the slots and returned (before bias correction). Shared by Adam, AdamW and LAMB.
 */
export function updateMoments(m: tf.Variable, v: tf.Variable, g: tf.Tensor, beta1: number, beta2: number): [tf.Tensor, tf.Tensor] {
  const mNext = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
  const vNext = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
  m.assign(mNext);
  v.assign(vNext);
  return [mNext, vNext];
}

/** Adam as `torch.optim.Adam`: bias-corrected moments, p ← p − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε). */
export class AdamOptimizer extends SlottedOptimizer {
  readonly name: string = 'adam';
  protected readonly options: AdamOptions;
  constructor(options: Partial<AdamOptions> = {}) {
    super();
    this.options = AdamOptions.parse(options);
  }

  protected update(u: ParameterUpdate, lr: number, t: number): void {
    this.adamUpdate(u, withL2(u.gradient, u.variable, this.options.weightDecay), lr, t);
  }

  protected adamUpdate(u: ParameterUpdate, g: tf.Tensor, lr: number, t: number): void {
    const { beta1, beta2, epsilon, amsgrad } = this.options;
    const [mNext, vNext] = updateMoments(this.slot(u, 'm').variable, this.slot(u, 'v').variable, g, beta1, beta2);
    let second: tf.Tensor = vNext;
    if (amsgrad) {
      const vMax = this.slot(u, 'vMax').variable;
      second = tf.maximum(vMax, vNext);
      vMax.assign(second);
    }
    const bc1 = 1 - beta1 ** t;
    const bc2 = 1 - beta2 ** t;
    const denom = tf.add(tf.div(tf.sqrt(second), Math.sqrt(bc2)), epsilon);
    u.variable.assign(tf.sub(u.variable, tf.mul(tf.div(mNext, denom), lr / bc1)));
  }
}

/** AdamW as `torch.optim.AdamW`: p ← p − lr·λ·p, then the Adam step without L2. */
export class AdamWOptimizer extends AdamOptimizer {
  override readonly name = 'adamw';
  constructor(options: Partial<AdamWOptions> = {}) {
    super(AdamWOptions.parse(options));
  }

  protected override update(u: ParameterUpdate, lr: number, t: number): void {
    const decay = this.options.weightDecay;
    if (decay !== 0) u.variable.assign(tf.mul(u.variable, 1 - lr * decay));
    this.adamUpdate(u, u.gradient, lr, t);
  }
}
