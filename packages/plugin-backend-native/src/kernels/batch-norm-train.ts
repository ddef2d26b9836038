import { KILN_BATCH_NORM_TRAIN, KILN_BATCH_NORM_TRAIN_GRAD } from '@kiln/core';
import { bufferPool } from '../buffer-pool';
import type { NativeAddon } from '../addon';
import { attrsAs, cpuOf, f32, output, type KernelArgs, type TensorInfo } from './common';

function values(args: KernelArgs, name: string, kernel: string): Float32Array {
  const v = f32(cpuOf(args), args.inputs[name]);
  if (v === undefined) throw new Error(`${kernel}: input '${name}' must be a float32 tensor`);
  return v;
}

/** Core's KilnBatchNormTrain: batch statistics in one native pass, normalisation in a second. */
export function batchNormTrainKernel(addon: NativeAddon) {
  return (args: KernelArgs): TensorInfo[] => {
    const backend = cpuOf(args);
    const x = args.inputs.x as TensorInfo;
    const [xv, scale, offset] = ['x', 'scale', 'offset'].map((name) => values(args, name, KILN_BATCH_NORM_TRAIN));
    const channels = scale.length;
    const y = bufferPool.take(xv.length);
    const mean = new Float32Array(channels);
    const variance = new Float32Array(channels);
    addon.batchNormTrain(xv, scale, offset, attrsAs<{ epsilon: number }>(args.attrs).epsilon, y, mean, variance);
    return [output(backend, x.shape, y), output(backend, [channels], mean), output(backend, [channels], variance)];
  };
}

/** Core's KilnBatchNormTrainGrad: Σdy and Σdy·(x − mean) in one pass, dx in a second. */
export function batchNormTrainGradKernel(addon: NativeAddon) {
  return (args: KernelArgs): TensorInfo[] => {
    const backend = cpuOf(args);
    const x = args.inputs.x as TensorInfo;
    const [dy, xv, scale, mean, variance, dmean, dvariance] = ['dy', 'x', 'scale', 'mean', 'variance', 'dmean', 'dvariance'].map((name) =>
      values(args, name, KILN_BATCH_NORM_TRAIN_GRAD),
    );
    const channels = scale.length;
    const dx = bufferPool.take(xv.length);
    const dscale = new Float32Array(channels);
    const doffset = new Float32Array(channels);
    addon.batchNormTrainGrad(dy, xv, scale, mean, variance, dmean, dvariance, attrsAs<{ epsilon: number }>(args.attrs).epsilon, dx, dscale, doffset);
    return [output(backend, x.shape, dx), output(backend, [channels], dscale), output(backend, [channels], doffset)];
  };
}
