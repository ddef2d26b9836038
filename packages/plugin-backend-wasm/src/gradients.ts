import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-core's CommonJS bundle registers no gradient functions; tfjs-layers' bundle
 * registers all of them on import. Without them tf.grad fails with "gradient function
 * not found for Sum" on every backend. Returns whether gradients are available.
 */
export function ensureGradients(): boolean {
  if (tf.getGradient('Sum') !== undefined) return true;
  try {
    require('@tensorflow/tfjs-layers');
  } catch {
    return false;
  }
  return tf.getGradient('Sum') !== undefined;
}
