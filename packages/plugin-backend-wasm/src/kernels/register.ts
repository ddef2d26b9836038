import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilter } from './conv2d-backprop-filter';
import { conv2dBackpropInput } from './conv2d-backprop-input';
import { depthwiseBackpropFilter, depthwiseBackpropInput } from './depthwise-backprop';
import { unsortedSegmentSum } from './unsorted-segment-sum';
import { maxPoolGrad } from './max-pool-grad';
import { resizeGrad } from './resize-grad';
import { forwardWithExplicitPadding } from './explicit-padding';
import { matMulWithExplicitTransposes } from './matmul-transposes';
import { tileAsBroadcast } from './tile';
import { sharedIdentity } from './identity';
import { batchMatMulKernel, conv2dBackpropFilterKernel, conv2dBackpropInputKernel, conv2dForwardKernel, reduceOverMiddleAxes, transposeKernel } from './kiln-wasm';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Attrs = Parameters<KernelFunc>[0]['attrs'];

/** Attrs arrive as a NamedAttrMap; each kernel reads the fields tfjs-core's op puts there. */
function attrsAs<T>(attrs: Attrs): T {
  return attrs as unknown as T;
}

/**
 * Kernels tfjs-backend-wasm 4.22 lacks that training needs (tfjs issues #8474, #8082),
 * composed from ops wasm runs natively. A kernel returns a Tensor built inside tf.tidy;
 * the engine adopts it as the op's output (kernels run with the tape off).
 */
export const KILN_WASM_KERNELS: ReadonlyArray<{ kernelName: string; gradientOf: string; kernelFunc: KernelFunc }> = [
  {
    kernelName: 'Conv2DBackpropFilter',
    gradientOf: 'conv2d (filter), Conv2D layers',
    kernelFunc: conv2dBackpropFilterKernel(({ inputs, attrs }) =>
      conv2dBackpropFilter(inputs.x as tf.Tensor4D, inputs.dy as tf.Tensor4D, attrsAs<Parameters<typeof conv2dBackpropFilter>[2]>(attrs)),
    ),
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    gradientOf: 'depthwiseConv2d (filter), DepthwiseConv2D/SeparableConv2D layers',
    kernelFunc: ({ inputs, attrs }) =>
      depthwiseBackpropFilter(inputs.x as tf.Tensor4D, inputs.dy as tf.Tensor4D, attrsAs<Parameters<typeof depthwiseBackpropFilter>[2]>(attrs)),
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    gradientOf: 'depthwiseConv2d (input)',
    kernelFunc: ({ inputs, attrs }) =>
      depthwiseBackpropInput(inputs.dy as tf.Tensor4D, inputs.filter as tf.Tensor4D, attrsAs<Parameters<typeof depthwiseBackpropInput>[2]>(attrs)),
  },
  {
    kernelName: 'UnsortedSegmentSum',
    gradientOf: 'gather (embedding tables), unsortedSegmentSum',
    kernelFunc: ({ inputs, attrs }) =>
      unsortedSegmentSum(inputs.x as tf.Tensor, inputs.segmentIds as tf.Tensor, attrsAs<{ numSegments: number }>(attrs).numSegments),
  },
];

/** wasm kernels wrapped: conv crashes on numeric/explicit padding; transposed matmuls leave XNNPACK; Tile, and Sum/Mean over non-innermost axes, are slow. */
const WRAPPED: ReadonlyArray<[string, (k: KernelFunc) => KernelFunc]> = [
  ['BatchMatMul', (k) => batchMatMulKernel(matMulWithExplicitTransposes(k))],
  ['_FusedMatMul', (k) => batchMatMulKernel(matMulWithExplicitTransposes(k))],
  ['Tile', tileAsBroadcast],
  ['Identity', sharedIdentity],
  ['Transpose', transposeKernel],
  ['Cast', sharedIdentity],
  ['Sum', (k) => reduceOverMiddleAxes('sum', k)],
  ['Mean', (k) => reduceOverMiddleAxes('mean', k)],
  // Kiln's igemm for NHWC convs with bias/relu; the padded XNNPACK kernel for the rest.
  ['Conv2D', (k) => conv2dForwardKernel(forwardWithExplicitPadding(k))],
  ['FusedConv2D', (k) => conv2dForwardKernel(forwardWithExplicitPadding(k))],
  ['DepthwiseConv2dNative', forwardWithExplicitPadding],
  ['FusedDepthwiseConv2D', forwardWithExplicitPadding],
];

/** wasm kernels replaced by Kiln's: far slower than a composition of fast ops, or wrong. */
const FASTER: ReadonlyArray<{ kernelName: string; kernelFunc: KernelFunc }> = [
  {
    // Wrong values on wasm, like the two resize gradients below.
    kernelName: 'MaxPoolGrad',
    kernelFunc: ({ inputs, attrs }) =>
      maxPoolGrad(inputs.dy as tf.Tensor4D, inputs.input as tf.Tensor4D, attrsAs<Parameters<typeof maxPoolGrad>[2]>(attrs)),
  },
  {
    kernelName: 'ResizeBilinearGrad',
    kernelFunc: ({ inputs, attrs }) =>
      resizeGrad('bilinear', inputs.images as tf.Tensor4D, inputs.dy as tf.Tensor4D, attrsAs<Parameters<typeof resizeGrad>[3]>(attrs)),
  },
  {
    kernelName: 'ResizeNearestNeighborGrad',
    kernelFunc: ({ inputs, attrs }) =>
      resizeGrad('nearest', inputs.images as tf.Tensor4D, inputs.dy as tf.Tensor4D, attrsAs<Parameters<typeof resizeGrad>[3]>(attrs)),
  },
  {
    kernelName: 'Conv2DBackpropInput',
    kernelFunc: conv2dBackpropInputKernel(({ inputs, attrs }) =>
      conv2dBackpropInput(inputs.dy as tf.Tensor4D, inputs.filter as tf.Tensor4D, attrsAs<Parameters<typeof conv2dBackpropInput>[2]>(attrs)),
    ),
  },
];

const FIXED = Symbol.for('kiln.wasm.fixedKernel');

function replaceKernel(kernelName: string, backendName: string, make: (original: KernelFunc) => KernelFunc): boolean {
  const existing = tf.getKernel(kernelName, backendName);
  if (existing === undefined || (existing.kernelFunc as unknown as Record<symbol, boolean>)[FIXED]) return false;
  const kernelFunc = make(existing.kernelFunc);
  (kernelFunc as unknown as Record<symbol, boolean>)[FIXED] = true;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...existing, kernelFunc });
  return true;
}

/**
 * Adds the kernels wasm lacks (unless it already has them: a later tfjs-wasm that ships
 * its own wins), and replaces or wraps the broken ones. Safe to call any number of
 * times. Returns the kernel names it changed now.
 */
export function registerTrainingKernels(backendName = 'wasm'): string[] {
  const changed: string[] = [];
  for (const kernel of KILN_WASM_KERNELS) {
    if (tf.getKernel(kernel.kernelName, backendName) !== undefined) continue;
    tf.registerKernel({ kernelName: kernel.kernelName, backendName, kernelFunc: kernel.kernelFunc });
    changed.push(kernel.kernelName);
  }
  for (const kernel of FASTER) {
    if (replaceKernel(kernel.kernelName, backendName, () => kernel.kernelFunc)) changed.push(kernel.kernelName);
  }
  for (const [name, wrap] of WRAPPED) {
    if (replaceKernel(name, backendName, wrap)) changed.push(name);
  }
  return changed;
}
