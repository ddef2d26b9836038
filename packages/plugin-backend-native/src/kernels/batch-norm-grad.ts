import * as tf from '@tensorflow/tfjs-core';
import { bufferPool } from '../buffer-pool';
import { attrsAs, cpuOf, f32, output, type KernelArgs, type TensorInfo } from './common';
import type { NativeAddon } from '../addon';

/** A kernel only kiln-native has: every FusedBatchNorm gradient in one pass (outputs dx, dmean, dvariance, dscale, doffset). */
export const BATCH_NORM_GRAD = 'KilnFusedBatchNormGrad';

export function batchNormGradKernel(addon: NativeAddon) {
  return (args: KernelArgs): TensorInfo[] => {
    const backend = cpuOf(args);
    const { x, dy, mean, variance, scale } = args.inputs;
    const values = [x, dy, mean, variance].map((t) => f32(backend, t));
    const scaleValues = scale === undefined ? null : f32(backend, scale);
    if (!x || !mean || values.some((v) => v === undefined) || scaleValues === undefined) throw new Error(`${BATCH_NORM_GRAD}: float32 inputs expected`);
    const [xv, dyv, mv, vv] = values as Float32Array[];
    const c = mv.length;
    const dx = bufferPool.take(xv.length);
    const per = [0, 1, 2, 3].map(() => new Float32Array(c));
    addon.batchNormGrad(xv, dyv, mv, vv, scaleValues, attrsAs<{ varianceEpsilon: number }>(args.attrs).varianceEpsilon, dx, per[0], per[1], per[2], per[3]);
    return [output(backend, x.shape, dx), ...per.map((v) => output(backend, mean.shape, v))];
  };
}

/**
 * Wraps tfjs's FusedBatchNorm gradient: on kiln-native, with per-channel (rank-1) statistics over the
 * last axis, all five gradients come from one native pass instead of ~15 element-wise ops; anything
 * else (other backends, other layouts) runs tfjs's own gradient unchanged.
 */
export function registerBatchNormGradient(nativeBackendName: string): void {
  const original = tf.getGradient('FusedBatchNorm');
  if (original === undefined || (original as { kiln?: boolean }).kiln) return;
  const config: tf.GradConfig & { kiln: boolean } = {
    kernelName: 'FusedBatchNorm',
    inputsToSave: original.inputsToSave,
    kiln: true,
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved;
      const dyTensor = dy as tf.Tensor;
      const channels = x.shape[x.shape.length - 1];
      const fits =
        tf.getBackend() === nativeBackendName &&
        x.dtype === 'float32' &&
        mean.rank === 1 && mean.size === channels &&
        variance.rank === 1 && variance.size === channels &&
        (scale == null || (scale.rank === 1 && scale.size === channels));
      if (!fits) return original.gradFunc(dy, saved, attrs);
      // Computed now, not in the thunks: tfjs runs each thunk in its own tidy, the outer backward tidy frees the unused ones.
      const inputs: tf.NamedTensorMap = { x, dy: dyTensor, mean, variance };
      if (scale != null) inputs.scale = scale;
      const [dx, dmean, dvariance, dscale, doffset] = tf.engine().runKernel(BATCH_NORM_GRAD, inputs, attrs) as tf.Tensor[];
      return { x: () => dx, mean: () => dmean, variance: () => dvariance, scale: () => dscale, offset: () => doffset };
    },
  };
  tf.registerGradient(config);
}

/** dy · step(x) in one pass (tfjs's Relu gradient is Step, Cast and Multiply: three passes and three arrays). */
export const RELU_GRAD = 'KilnReluGrad';

/** Wraps tfjs's Relu gradient like the batch-norm one: native on kiln-native for float32, tfjs's own elsewhere. */
export function registerReluGradient(nativeBackendName: string): void {
  const original = tf.getGradient('Relu');
  if (original === undefined || (original as { kiln?: boolean }).kiln) return;
  const config: tf.GradConfig & { kiln: boolean } = {
    kernelName: 'Relu',
    inputsToSave: original.inputsToSave,
    kiln: true,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const dyTensor = dy as tf.Tensor;
      if (tf.getBackend() !== nativeBackendName || x.dtype !== 'float32' || dyTensor.dtype !== 'float32' || x.size < 4096 || !tf.util.arraysEqual(x.shape, dyTensor.shape)) {
        return original.gradFunc(dy, saved, attrs);
      }
      return { x: () => tf.engine().runKernel(RELU_GRAD, { a: dyTensor, b: x }) as tf.Tensor };
    },
  };
  tf.registerGradient(config);
}
