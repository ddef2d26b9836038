import type * as tf from '@tensorflow/tfjs-core';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/**
 * tfjs-wasm's Identity (and Cast to the same dtype) copies the tensor's bytes; a training step
 * of a ResNet makes ~600 of them (gradient bookkeeping, tf.clone in the layers). The backend
 * counts references per buffer as Reshape already relies on, so the output can share the input's
 * buffer, as tfjs-cpu's Identity does. Nothing in tfjs-wasm writes into an input buffer in place.
 */
export function sharedIdentity(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const target = (args.attrs as unknown as { dtype?: string } | undefined)?.dtype ?? x.dtype;
    if (x.dtype === 'string' || target !== x.dtype) return original(args);
    (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}
