import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-core's CommonJS bundle registers no gradient functions; tfjs-layers' bundle registers all of
 * them on import. Returns whether gradients are available (as plugin-backend-wasm does).
 */
export function ensureGradients(): boolean {
  if (tf.getGradient('Sum') !== undefined) return true;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-layers');
  } catch {
    return false;
  }
  return tf.getGradient('Sum') !== undefined;
}
