import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { attachPool, bufferPool } from '../buffer-pool';
import type { KernelFunc, NativeKernel } from './common';
import { batchMatMul } from './matmul';
import { avgPool, avgPoolGrad, conv2d, conv2dBackpropFilter, conv2dBackpropInput, depthwiseBackpropFilter, depthwiseBackpropInput, depthwiseConv2d, maxPool, maxPoolGrad } from './conv';
import { slice, padV2, tile, reverse } from './copy';
import { BATCH_NORM_GRAD, RELU_GRAD, batchNormGradKernel } from './batch-norm-grad';
import { GLOBAL_NORM_KERNEL, KILN_BATCH_NORM_TRAIN, KILN_BATCH_NORM_TRAIN_GRAD } from '@kiln/core';
import { batchNormTrainGradKernel, batchNormTrainKernel } from './batch-norm-train';
import { globalNorm, unsortedSegmentSum, binary, fusedBatchNorm, mean, softmax, sum, transpose, unary } from './elementwise';

/** Every kernel the addon implements, by tfjs kernel name. */
export const NATIVE_KERNELS: Readonly<Record<string, NativeKernel>> = {
  BatchMatMul: batchMatMul,
  _FusedMatMul: batchMatMul,
  Conv2D: conv2d,
  FusedConv2D: conv2d,
  Conv2DBackpropInput: conv2dBackpropInput,
  Conv2DBackpropFilter: conv2dBackpropFilter,
  DepthwiseConv2dNative: depthwiseConv2d,
  FusedDepthwiseConv2D: depthwiseConv2d,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  MaxPool: maxPool,
  AvgPool: avgPool,
  MaxPoolGrad: maxPoolGrad,
  AvgPoolGrad: avgPoolGrad,
  FusedBatchNorm: fusedBatchNorm,
  Softmax: softmax,
  Add: binary('Add'),
  Sub: binary('Sub'),
  Multiply: binary('Multiply'),
  RealDiv: binary('RealDiv'),
  SquaredDifference: binary('SquaredDifference'),
  Relu: unary('Relu'),
  Step: unary('Step'),
  Exp: unary('Exp'),
  Sqrt: unary('Sqrt'),
  Rsqrt: unary('Rsqrt'),
  Square: unary('Square'),
  Neg: unary('Neg'),
  Erf: unary('Erf'),
  Floor: unary('Floor'),
  UnsortedSegmentSum: unsortedSegmentSum,
  Sum: sum,
  Mean: mean,
  Transpose: transpose,
  Slice: slice,
  PadV2: padV2,
  Tile: tile,
  Reverse: reverse,
};

/** The tfjs backend Kiln's native kernels live on: tfjs's cpu backend class under its own name. */
export const NATIVE_TF_BACKEND = 'kiln-native';

/**
 * Registers `kiln-native`: a MathBackendCPU (plain TypedArray tensors) carrying every cpu kernel, with
 * the native kernels in front of the hot ones; a native kernel that declines a case (dtype, layout,
 * tiny size) hands it to the JS kernel. The `cpu` backend itself stays pure JS, the reference.
 */
export function registerNativeBackend(addon: NativeAddon): string[] {
  if (tf.findBackendFactory(NATIVE_TF_BACKEND) !== null) return Object.keys(NATIVE_KERNELS);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { MathBackendCPU } = require('@tensorflow/tfjs-backend-cpu') as typeof import('@tensorflow/tfjs-backend-cpu');
  tf.registerBackend(NATIVE_TF_BACKEND, () => {
    const backend = new MathBackendCPU();
    // tfjs-backend-cpu's "install tfjs-node" banner would be wrong advice here.
    (backend as unknown as { firstUse: boolean }).firstUse = false;
    attachPool(backend, bufferPool);
    return backend;
  }, 1);
  // Kiln's own kernels are registered below; another plugin may have given `cpu` one of them (the wasm plugin's KilnGlobalNorm).
  const own = new Set([RELU_GRAD, GLOBAL_NORM_KERNEL, BATCH_NORM_GRAD, KILN_BATCH_NORM_TRAIN, KILN_BATCH_NORM_TRAIN_GRAD]);
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (own.has(config.kernelName)) continue;
    const native = NATIVE_KERNELS[config.kernelName];
    const js = config.kernelFunc;
    const kernelFunc: KernelFunc = native === undefined ? js : (args) => native(args, addon) ?? js(args);
    tf.registerKernel({ ...config, backendName: NATIVE_TF_BACKEND, kernelFunc });
  }
  const reluGrad = binary('KilnReluGrad');
  tf.registerKernel({ kernelName: RELU_GRAD, backendName: NATIVE_TF_BACKEND, kernelFunc: (args) => reluGrad(args, addon) ?? tf.tidy(() => tf.mul(args.inputs.a as tf.Tensor, tf.step(args.inputs.b as tf.Tensor))) });
  tf.registerKernel({
    kernelName: GLOBAL_NORM_KERNEL,
    backendName: NATIVE_TF_BACKEND,
    kernelFunc: (args) => globalNorm(args, addon) ?? tf.tidy(() => tf.sqrt(tf.addN(Object.values(args.inputs).map((t) => tf.sum(tf.square(t as tf.Tensor)))))),
  });
  tf.registerKernel({ kernelName: BATCH_NORM_GRAD, backendName: NATIVE_TF_BACKEND, kernelFunc: batchNormGradKernel(addon) as unknown as KernelFunc });
  tf.registerKernel({ kernelName: KILN_BATCH_NORM_TRAIN, backendName: NATIVE_TF_BACKEND, kernelFunc: batchNormTrainKernel(addon) as unknown as KernelFunc });
  tf.registerKernel({ kernelName: KILN_BATCH_NORM_TRAIN_GRAD, backendName: NATIVE_TF_BACKEND, kernelFunc: batchNormTrainGradKernel(addon) as unknown as KernelFunc });
  return Object.keys(NATIVE_KERNELS).filter((name) => tf.getKernel(name, NATIVE_TF_BACKEND) !== undefined);
}
