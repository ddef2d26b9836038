import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';

/** Σ wᵢ·lᵢ / Σ wᵢ·dᵢ, where dᵢ (default 1) is what each example counts for in the denominator. */
export function weightedMean(perExample: Tensor, weights?: Tensor, denominators?: Tensor): Scalar {
  return tf.tidy(() => {
    const w = weights ? tf.reshape(tf.cast(weights, 'float32'), [-1]) : tf.ones([perExample.shape[0]]);
    const d = denominators ? tf.mul(w, denominators) : w;
    const total = tf.sum(d);
    // An all-zero denominator (every token masked, every weight 0) gives 0, not NaN.
    const safe = tf.where(tf.greater(total, 0), total, tf.onesLike(total));
    return tf.div(tf.sum(tf.mul(perExample, w)), safe) as Scalar;
  });
}

/** Mean over every axis but the first, so any [batch, ...] tensor becomes [batch]. */
export function meanOverFeatures(values: Tensor): Tensor {
  if (values.rank <= 1) return values;
  return tf.mean(tf.reshape(values, [values.shape[0], -1]), 1);
}

/** Lets regression targets [batch] meet predictions [batch, 1] (and the reverse) without broadcasting to [batch, batch]. */
export function alignTargets(predictions: Tensor, targets: Tensor): Tensor {
  const t = tf.cast(targets, 'float32');
  if (t.size === predictions.size && !shapesEqual(t.shape, predictions.shape)) return tf.reshape(t, predictions.shape);
  return t;
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
