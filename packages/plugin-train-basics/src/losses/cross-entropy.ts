import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { ConfigError, type Loss } from '@kiln/core';
import { z } from 'zod';
import { meanOverFeatures, weightedMean } from './reduce';

export const CrossEntropyOptions = z.strictObject({
  labelSmoothing: z.number().min(0).max(1).default(0)
    .describe('Mixes targets with the uniform distribution: q = (1 − ε)·y + ε/C (PyTorch `label_smoothing`).'),
  classWeights: z.array(z.number().nonnegative()).optional()
    .describe('Weight per class (PyTorch `weight`). With integer targets the mean divides by the summed weights of the target classes, as PyTorch does.'),
});
export type CrossEntropyOptions = z.output<typeof CrossEntropyOptions>;

/**
 * Softmax cross-entropy from logits [batch, classes]. Targets are either class indices
 * [batch] or probability rows [batch, classes] (one-hot or soft labels). Logits with extra
 * axes ([batch, tokens, classes]) give the mean over them per example; use
 * token-cross-entropy when some positions must be ignored.
 */
export class CrossEntropyLoss implements Loss {
  readonly name = 'cross-entropy';
  constructor(private readonly options: CrossEntropyOptions = { labelSmoothing: 0 }) {}

  perExample(predictions: Tensor, targets: Tensor): Tensor {
    return tf.tidy(() => this.terms(predictions, targets).loss);
  }

  compute(predictions: Tensor, targets: Tensor, weights?: Tensor): Scalar {
    return tf.tidy(() => {
      const { loss, denominators } = this.terms(predictions, targets);
      return weightedMean(loss, weights, denominators);
    });
  }

  private terms(logits: Tensor, targets: Tensor): { loss: Tensor; denominators?: Tensor } {
    const classes = logits.shape[logits.rank - 1];
    const logp = tf.logSoftmax(logits);
    const sparse = targets.rank === logits.rank - 1;
    const y = sparse ? tf.reshape(tf.oneHot(tf.cast(tf.reshape(targets, [-1]), 'int32'), classes), logits.shape) : tf.cast(targets, 'float32');
    const eps = this.options.labelSmoothing;
    const q = eps > 0 ? tf.add(tf.mul(y, 1 - eps), eps / classes) : y;
    const cw = this.classWeights(classes);
    const weighted = cw ? tf.mul(q, cw) : q;
    // Logits with extra axes ([batch, tokens, classes]) average them per example.
    const loss = meanOverFeatures(tf.neg(tf.sum(tf.mul(weighted, logp), -1)));
    // PyTorch normalises a class-weighted mean by Σ w[yᵢ] for index targets only.
    const denominators = cw && sparse ? meanOverFeatures(tf.sum(tf.mul(y, cw), -1)) : undefined;
    return { loss, denominators };
  }

  private classWeights(classes: number): Tensor | undefined {
    const w = this.options.classWeights;
    if (!w) return undefined;
    if (w.length !== classes) throw new ConfigError(`classWeights has ${w.length} entries but the predictions have ${classes} classes`, { where: 'loss.classWeights', hint: 'give one weight per class, in label-index order' });
    return tf.tensor1d(w);
  }
}
