import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import type { Loss } from '@kiln/core';
import { z } from 'zod';
import { weightedMean } from './reduce';

export const TokenCrossEntropyOptions = z.strictObject({
  labelSmoothing: z.number().min(0).max(1).default(0)
    .describe('Mixes each token target with the uniform distribution: q = (1 − ε)·y + ε/C.'),
});
export type TokenCrossEntropyOptions = z.output<typeof TokenCrossEntropyOptions>;

/**
 * Per-token softmax cross-entropy for logits [batch, tokens, classes] and integer targets
 * [batch, tokens]. Tokens whose target is negative (-100, padding, sub-word continuations)
 * are ignored; the reduced loss is the mean over the unmasked tokens of the whole batch.
 */
export class TokenCrossEntropyLoss implements Loss {
  readonly name = 'token-cross-entropy';
  constructor(private readonly options: TokenCrossEntropyOptions = { labelSmoothing: 0 }) {}

  /** Mean over each sequence's unmasked tokens (0 for a sequence with none). */
  perExample(predictions: Tensor, targets: Tensor): Tensor {
    return tf.tidy(() => {
      const { sums, counts } = this.terms(predictions, targets);
      return tf.div(sums, tf.maximum(counts, 1));
    });
  }

  compute(predictions: Tensor, targets: Tensor, weights?: Tensor): Scalar {
    return tf.tidy(() => {
      const { sums, counts } = this.terms(predictions, targets);
      return weightedMean(sums, weights, counts);
    });
  }

  private terms(logits: Tensor, targets: Tensor): { sums: Tensor; counts: Tensor } {
    const classes = logits.shape[logits.rank - 1];
    const batch = logits.shape[0];
    const flatLogits = tf.reshape(logits, [-1, classes]);
    const t = tf.cast(tf.reshape(targets, [-1]), 'int32');
    const mask = tf.cast(tf.greaterEqual(t, 0), 'float32');
    const y = tf.oneHot(tf.maximum(t, tf.scalar(0, 'int32')), classes);
    const eps = this.options.labelSmoothing;
    const q = eps > 0 ? tf.add(tf.mul(y, 1 - eps), eps / classes) : y;
    const perToken = tf.mul(tf.neg(tf.sum(tf.mul(q, tf.logSoftmax(flatLogits)), -1)), mask);
    return {
      sums: tf.sum(tf.reshape(perToken, [batch, -1]), 1),
      counts: tf.sum(tf.reshape(mask, [batch, -1]), 1),
    };
  }
}
