import * as tf from '@tensorflow/tfjs-core';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/**
 * tfjs-wasm's Tile is a generic index loop; batch-norm and mean gradients tile [C] up to
 * [B, H, W, C] every step. When tiling only repeats size-1 axes it is a broadcast, which
 * the XNNPACK-backed Add does several times faster.
 */
export function tileAsBroadcast(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.Tensor;
    const reps = (args.attrs as unknown as { reps: number[] }).reps;
    const broadcastOnly = x.dtype === 'float32' && reps.length === x.rank && reps.every((r, i) => r === 1 || x.shape[i] === 1);
    if (!broadcastOnly) return original(args);
    return tf.tidy(() => tf.add(x, tf.zeros(x.shape.map((d, i) => d * reps[i]))));
  };
}
