import * as tf from '@tensorflow/tfjs-core';
import type { ParameterUpdate } from '@kiln/core';
import { z } from 'zod';
import { SlottedOptimizer, withL2 } from './slotted-optimizer';

export const SgdOptions = z.strictObject({
  lr: z.number().positive().default(1e-3).describe('Base learning rate; the engine reads it and the schedule scales it per step.'),
  momentum: z.number().min(0).default(0).describe('Momentum μ: v = μ·v + (1 − dampening)·g (PyTorch semantics).'),
  dampening: z.number().min(0).max(1).default(0).describe('Dampening of the gradient in the momentum buffer.'),
  nesterov: z.boolean().default(false).describe('Nesterov momentum: step along g + μ·v instead of v.'),
  weightDecay: z.number().min(0).default(0).describe('L2 penalty λ added to the gradient: g ← g + λ·p.'),
});
export type SgdOptions = z.output<typeof SgdOptions>;

/** Stochastic gradient descent as `torch.optim.SGD`. */
export class SgdOptimizer extends SlottedOptimizer {
  readonly name = 'sgd';
  private readonly options: SgdOptions;
  constructor(options: Partial<SgdOptions> = {}) {
    super();
    this.options = SgdOptions.parse(options);
  }

  protected update(u: ParameterUpdate, lr: number): void {
    const { momentum, dampening, nesterov, weightDecay } = this.options;
    let g = withL2(u.gradient, u.variable, weightDecay);
    if (momentum !== 0) {
      const { variable: buf, fresh } = this.slot(u, 'momentum');
      // PyTorch starts the buffer at the first gradient, undamped.
      const v = fresh ? g : tf.add(tf.mul(buf, momentum), tf.mul(g, 1 - dampening));
      buf.assign(v);
      g = nesterov ? tf.add(g, tf.mul(v, momentum)) : v;
    }
    u.variable.assign(tf.sub(u.variable, tf.mul(g, lr)));
  }
}
