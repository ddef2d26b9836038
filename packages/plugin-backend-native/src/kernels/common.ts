import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../addon';

export type KernelFunc = tf.KernelConfig['kernelFunc'];
export type KernelArgs = Parameters<KernelFunc>[0];
export type TensorInfo = tf.TensorInfo;

/** A native kernel: returns the output, or undefined to hand the call to tfjs's JS kernel. */
export type NativeKernel = (args: KernelArgs, addon: NativeAddon) => TensorInfo | undefined;

/** Attrs arrive as a NamedAttrMap; each kernel reads the fields tfjs-core's op puts there. */
export function attrsAs<T>(attrs: KernelArgs['attrs']): T {
  return attrs as unknown as T;
}

export function cpuOf(args: KernelArgs): MathBackendCPU {
  return args.backend as unknown as MathBackendCPU;
}

/** The float32 storage of a tensor on the cpu backend, or undefined when it isn't a plain float32 array. */
export function f32(backend: MathBackendCPU, t: TensorInfo | undefined): Float32Array | undefined {
  if (t === undefined || t.dtype !== 'float32') return undefined;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : undefined;
}

export function output(backend: MathBackendCPU, shape: number[], values: Float32Array): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Activation codes of native/kernels.h; undefined for ones the addon doesn't fuse (prelu). */
export function activationCode(activation: string | undefined): number | undefined {
  switch (activation ?? 'linear') {
    case 'linear':
      return 0;
    case 'relu':
      return 1;
    case 'relu6':
      return 2;
    case 'elu':
      return 3;
    case 'leakyrelu':
      return 4;
    case 'sigmoid':
      return 5;
    default:
      return undefined;
  }
}
