import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { TrainingError, type Optimizer, type ParameterUpdate } from '@kiln/core';

/**
 * Shared bookkeeping of the optimizers: per-parameter slot variables named
 * `<param>/<slot>`, the iteration count, checkpoint state, and one `tf.tidy` per step.
 * Subclasses implement `update` for one parameter.
 */
export abstract class SlottedOptimizer implements Optimizer {
  abstract readonly name: string;
  private readonly slots = new Map<string, Variable>();
  private iterationCount = 0;

  get iterations(): number {
    return this.iterationCount;
  }

  step(updates: ParameterUpdate[], lr: number): void {
    const t = this.iterationCount + 1;
    tf.tidy(() => {
      for (const u of updates) this.update(u, lr, t);
    });
    this.iterationCount = t;
  }

  /** Applies one parameter's update at (1-based) step `t`; runs inside the step's tidy. */
  protected abstract update(update: ParameterUpdate, lr: number, t: number): void;

  /**
   * The slot `<param>/<slot>`, created as zeros shaped like the parameter on first use.
   * `fresh` tells callers (SGD's momentum) that the slot holds no history yet.
   */
  protected slot(param: ParameterUpdate, slot: string): { variable: Variable; fresh: boolean } {
    const key = `${param.name}/${slot}`;
    const existing = this.slots.get(key);
    if (existing) return { variable: existing, fresh: false };
    const variable = tf.tidy(() => tf.variable(tf.zerosLike(param.variable), false, uniqueVariableName(key)));
    this.slots.set(key, variable);
    return { variable, fresh: true };
  }

  /** Live slot variables by `<param>/<slot>` (not copies: serialize them before the next step). */
  getState(): { iterations: number; slots: Record<string, Tensor> } {
    return { iterations: this.iterationCount, slots: Object.fromEntries(this.slots) };
  }

  setState(state: { iterations: number; slots: Record<string, Tensor> }): void {
    for (const [key, value] of Object.entries(state.slots)) {
      const existing = this.slots.get(key);
      if (existing) {
        if (existing.shape.join(',') !== value.shape.join(',')) {
          throw new TrainingError(`optimizer slot ${key} has shape [${value.shape}] in the checkpoint but [${existing.shape}] here`, {
            where: `optimizer/${key}`,
            hint: 'the checkpoint was written for a different model; start without resuming or fix the model options',
          });
        }
        existing.assign(tf.cast(value, 'float32'));
      } else {
        this.slots.set(key, tf.tidy(() => tf.variable(tf.cast(value, 'float32'), false, uniqueVariableName(key))));
      }
    }
    this.iterationCount = state.iterations;
  }

  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }
}

/** tfjs variable names are process-wide; a second live optimizer on the same model gets a suffix. */
function uniqueVariableName(name: string): string {
  const registered = tf.engine().registeredVariables;
  if (!(name in registered)) return name;
  for (let i = 1; ; i++) if (!(`${name}_${i}` in registered)) return `${name}_${i}`;
}

/** g + λ·p (L2 penalty added to the gradient, PyTorch's coupled weight decay). */
export function withL2(gradient: Tensor, variable: Tensor, weightDecay: number): Tensor {
  return weightDecay === 0 ? gradient : tf.add(gradient, tf.mul(variable, weightDecay));
}
