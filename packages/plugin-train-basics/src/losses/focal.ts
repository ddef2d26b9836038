import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { ConfigError, type Loss } from '@kiln/core';
import { z } from 'zod';
import { alignTargets, meanOverFeatures, weightedMean } from './reduce';

export const FocalOptions = z.strictObject({
  gamma: z.number().nonnegative().default(2).describe('Focusing parameter γ: (1 − p_t)^γ down-weights easy examples; 0 gives cross-entropy.'),
  alpha: z.union([z.number().min(0).max(1), z.array(z.number().nonnegative())]).nullable().default(0.25)
    .describe('Balance α. Sigmoid mode: α for positives, 1 − α for negatives. Softmax mode: a number scales every class, an array gives α per class. null disables it.'),
});
export type FocalOptions = z.output<typeof FocalOptions>;

/**
 * Focal loss (Lin et al. 2017), from logits: FL = −α_t·(1 − p_t)^γ·log p_t.
 * Integer targets [batch] with logits [batch, classes] use softmax; targets of the same
 * shape as the logits (0/1, binary or multi-label) use a sigmoid per output, as torchvision's
 * `sigmoid_focal_loss`, averaged over the outputs per example.
 */
export class FocalLoss implements Loss {
  readonly name = 'focal';
  constructor(private readonly options: FocalOptions = { gamma: 2, alpha: 0.25 }) {}

  perExample(predictions: Tensor, targets: Tensor): Tensor {
    return tf.tidy(() => {
      const logits = tf.cast(predictions, 'float32');
      const softmaxMode = logits.rank >= 2 && targets.rank === logits.rank - 1 && targets.size * logits.shape[logits.rank - 1] === logits.size && logits.shape[logits.rank - 1] > 1;
      return softmaxMode ? this.softmaxFocal(logits, targets) : this.sigmoidFocal(logits, targets);
    });
  }

  compute(predictions: Tensor, targets: Tensor, weights?: Tensor): Scalar {
    return tf.tidy(() => weightedMean(this.perExample(predictions, targets), weights));
  }

  private softmaxFocal(logits: Tensor, targets: Tensor): Tensor {
    const classes = logits.shape[logits.rank - 1];
    const y = tf.reshape(tf.oneHot(tf.cast(tf.reshape(targets, [-1]), 'int32'), classes), logits.shape);
    const logpt = tf.sum(tf.mul(y, tf.logSoftmax(logits)), -1);
    const pt = tf.exp(logpt);
    let loss = tf.mul(tf.neg(tf.pow(tf.sub(1, pt), this.options.gamma)), logpt);
    const alpha = this.options.alpha;
    if (Array.isArray(alpha)) {
      if (alpha.length !== classes) throw new ConfigError(`alpha has ${alpha.length} entries but the predictions have ${classes} classes`, { where: 'loss.alpha', hint: 'give one α per class, or a single number' });
      loss = tf.mul(loss, tf.sum(tf.mul(y, tf.tensor1d(alpha)), -1));
    } else if (alpha !== null) {
      loss = tf.mul(loss, alpha);
    }
    return meanOverFeatures(loss);
  }

  private sigmoidFocal(logits: Tensor, targets: Tensor): Tensor {
    const y = alignTargets(logits, targets);
    const p = tf.sigmoid(logits);
    // Binary cross-entropy with logits, in the stable form: −log p_t.
    const ce = tf.add(tf.mul(tf.sub(1, y), logits), tf.softplus(tf.neg(logits)));
    const pt = tf.add(tf.mul(p, y), tf.mul(tf.sub(1, p), tf.sub(1, y)));
    let loss = tf.mul(ce, tf.pow(tf.sub(1, pt), this.options.gamma));
    const alpha = this.options.alpha;
    if (Array.isArray(alpha)) {
      loss = tf.mul(loss, tf.add(tf.mul(tf.tensor1d(alpha), y), tf.mul(tf.sub(1, tf.tensor1d(alpha)), tf.sub(1, y))));
    } else if (alpha !== null) {
      loss = tf.mul(loss, tf.add(tf.mul(y, alpha), tf.mul(tf.sub(1, y), 1 - alpha)));
    }
    return meanOverFeatures(loss);
  }
}
