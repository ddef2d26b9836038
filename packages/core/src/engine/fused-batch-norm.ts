import * as tf from '@tensorflow/tfjs-core';

/**
 * Optional backend kernel: training batch norm over the last axis.
 * Inputs { x (float32, rank ≥ 2), scale [C], offset [C] }, attrs { epsilon }; outputs
 * [y (x's shape), mean [C], variance [C]]: the batch statistics over every axis but the last (variance biased,
 * as tf.moments), and y = (x − mean)·scale/√(variance + epsilon) + offset.
 */
export const KILN_BATCH_NORM_TRAIN = 'KilnBatchNormTrain';

/**
 * Optional backend kernel: the gradient of KilnBatchNormTrain.
 * Inputs { dy, x, scale, mean, variance, dmean, dvariance } (dmean/dvariance: gradients of the statistics
 * outputs, zeros when unused), attrs { epsilon }; outputs [dx, dscale, doffset].
 */
export const KILN_BATCH_NORM_TRAIN_GRAD = 'KilnBatchNormTrainGrad';

export interface BatchNormTrainResult {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

function leadingAxes(rank: number): number[] {
  return Array.from({ length: rank - 1 }, (_, i) => i);
}

/**
 * Training-mode batch norm over the last axis with the batch's own statistics: what tfjs-layers'
 * BatchNormalization computes in training (tf.moments then tf.batchNorm), as one kernel when the active
 * backend has KilnBatchNormTrain, else as exactly that tfjs composite (so every backend stays correct).
 */
export function batchNormTrain(x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): BatchNormTrainResult {
  const channels = x.shape[x.rank - 1];
  const fused =
    hasKernel(KILN_BATCH_NORM_TRAIN) &&
    x.dtype === 'float32' &&
    x.rank >= 2 &&
    x.size > 0 &&
    scale.rank === 1 && scale.size === channels &&
    offset.rank === 1 && offset.size === channels;
  if (fused) {
    const [y, mean, variance] = tf.engine().runKernel(KILN_BATCH_NORM_TRAIN, { x, scale, offset }, { epsilon }) as tf.Tensor[];
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, leadingAxes(x.rank));
    const y = tf.batchNorm(x, mean, variance, offset, scale, epsilon);
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  });
}

/**
 * The gradient as tfjs ops, for a backend that has the forward kernel but not the gradient one:
 * dx = γr·dy − γr·Σdy/N − γr³(x−μ)·Σdy(x−μ)/N + dμ/N + 2dσ²(x−μ)/N, dγ = r·Σdy(x−μ), dβ = Σdy.
 */
function compositeGrad(dy: tf.Tensor, x: tf.Tensor, scale: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, dmean: tf.Tensor, dvariance: tf.Tensor, epsilon: number): tf.Tensor[] {
  return tf.tidy(() => {
    const axes = leadingAxes(x.rank);
    const n = x.size / x.shape[x.rank - 1];
    const r = tf.rsqrt(tf.add(variance, epsilon));
    const centred = tf.sub(x, mean);
    const sdy = tf.sum(dy, axes);
    const sdyx = tf.sum(tf.mul(dy, centred), axes);
    const gr = tf.mul(scale, r);
    const k = tf.add(tf.mul(tf.mul(gr, tf.square(r)), tf.div(sdyx, -n)), tf.mul(dvariance, 2 / n));
    const b = tf.add(tf.mul(gr, tf.div(sdy, -n)), tf.div(dmean, n));
    const dx = tf.add(tf.add(tf.mul(dy, gr), tf.mul(centred, k)), b);
    return [dx, tf.mul(sdyx, r), sdy];
  });
}

function registerGradient(): void {
  if (tf.getGradient(KILN_BATCH_NORM_TRAIN) !== undefined) return;
  tf.registerGradient({
    kernelName: KILN_BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dmean, dvariance] = dys as tf.Tensor[];
      const [x, scale, mean, variance] = saved;
      const { epsilon } = attrs as unknown as { epsilon: number };
      // Computed now, not in the thunks: tfjs runs each thunk in its own tidy, the outer backward tidy frees the unused ones.
      const [dx, dscale, doffset] = hasKernel(KILN_BATCH_NORM_TRAIN_GRAD)
        ? (tf.engine().runKernel(KILN_BATCH_NORM_TRAIN_GRAD, { dy, x, scale, mean, variance, dmean, dvariance }, { epsilon }) as tf.Tensor[])
        : compositeGrad(dy, x, scale, mean, variance, dmean, dvariance, epsilon);
      return { x: () => dx, scale: () => dscale, offset: () => doffset };
    },
  });
}

registerGradient();
