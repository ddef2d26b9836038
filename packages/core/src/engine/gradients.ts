import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's CommonJS build registers no gradient functions; the union package registers all of them.
import '@tensorflow/tfjs';

/** Whether tfjs's gradient functions are registered (they are once core is loaded); backends report it in `kiln info`. */
export function ensureGradients(): boolean {
  return tf.getGradient('Sum') !== undefined;
}
