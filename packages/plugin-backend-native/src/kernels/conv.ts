import { bufferPool } from '../buffer-pool';
import { backend_util } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import { activationCode, attrsAs, cpuOf, f32, output, sizeOf, type KernelArgs, type NativeKernel, type TensorInfo } from './common';

type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;
type Pair = number | [number, number];
interface ConvAttrs {
  strides: Pair;
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: Pair;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
  leakyreluAlpha?: number;
  inputShape?: [number, number, number, number];
  filterShape?: [number, number, number, number];
}

/** The 15 numbers native/kernels.h's ConvGeom reads, from tfjs's own geometry. */
export function geometry(info: backend_util.Conv2DInfo): Int32Array {
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    info.padInfo.top, info.padInfo.left,
  ]);
}

function nhwc(attrs: ConvAttrs): boolean {
  return attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC';
}

type Forward = (g: Int32Array, x: Float32Array, f: Float32Array, y: Float32Array, bias: Float32Array | null, act: number, alpha: number) => void;

function forward(args: KernelArgs, depthwise: boolean, run: (addon: NativeAddon) => Forward, addon: NativeAddon): TensorInfo | undefined {
  const backend = cpuOf(args);
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  if (!x || !filter) return undefined;
  const attrs = attrsAs<ConvAttrs>(args.attrs);
  const code = activationCode(attrs.activation);
  const xv = f32(backend, x);
  const fv = f32(backend, filter);
  if (!xv || !fv || !nhwc(attrs) || code === undefined || preluActivationWeights !== undefined) return undefined;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, depthwise,
  );
  let biasValues: Float32Array | null = null;
  if (bias !== undefined) {
    const bv = f32(backend, bias);
    if (!bv || bv.length !== info.outChannels) return undefined;
    biasValues = bv;
  }
  const out = bufferPool.take(sizeOf(info.outShape));
  if (out.length > 0) run(addon).call(addon, geometry(info), xv, fv, out, biasValues, code, attrs.leakyreluAlpha ?? 0.2);
  return output(backend, info.outShape, out);
}

export const conv2d: NativeKernel = (args, addon) => forward(args, false, (a) => a.conv2d, addon);
export const depthwiseConv2d: NativeKernel = (args, addon) => forward(args, true, (a) => a.depthwiseConv2d, addon);

function backpropInput(args: KernelArgs, addon: NativeAddon, depthwise: boolean): TensorInfo | undefined {
  const backend = cpuOf(args);
  const { dy, filter } = args.inputs;
  if (!dy || !filter) return undefined;
  const attrs = attrsAs<ConvAttrs>(args.attrs);
  const dyv = f32(backend, dy);
  const fv = f32(backend, filter);
  if (!dyv || !fv || !nhwc(attrs) || !attrs.inputShape) return undefined;
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, depthwise,
  );
  const dx = bufferPool.take(sizeOf(info.inShape));
  if (dx.length > 0) (depthwise ? addon.depthwiseBackpropInput : addon.conv2dBackpropInput).call(addon, geometry(info), dyv, fv, dx);
  return output(backend, info.inShape, dx);
}

function backpropFilter(args: KernelArgs, addon: NativeAddon, depthwise: boolean): TensorInfo | undefined {
  const backend = cpuOf(args);
  const { x, dy } = args.inputs;
  if (!x || !dy) return undefined;
  const attrs = attrsAs<ConvAttrs>(args.attrs);
  const xv = f32(backend, x);
  const dyv = f32(backend, dy);
  if (!xv || !dyv || !nhwc(attrs) || !attrs.filterShape) return undefined;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, depthwise,
  );
  const df = bufferPool.take(sizeOf(attrs.filterShape));
  if (df.length > 0) (depthwise ? addon.depthwiseBackpropFilter : addon.conv2dBackpropFilter).call(addon, geometry(info), xv, dyv, df);
  return output(backend, attrs.filterShape, df);
}

export const conv2dBackpropInput: NativeKernel = (args, addon) => backpropInput(args, addon, false);
export const conv2dBackpropFilter: NativeKernel = (args, addon) => backpropFilter(args, addon, false);
export const depthwiseBackpropInput: NativeKernel = (args, addon) => backpropInput(args, addon, true);
export const depthwiseBackpropFilter: NativeKernel = (args, addon) => backpropFilter(args, addon, true);

interface PoolAttrs {
  filterSize: Pair;
  strides: Pair;
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function poolInfo(shape: number[], attrs: PoolAttrs): backend_util.Conv2DInfo {
  return backend_util.computePool2DInfo(shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
}

function pool(kind: 'maxPool' | 'avgPool'): NativeKernel {
  return (args, addon) => {
    const backend = cpuOf(args);
    const { x } = args.inputs;
    if (!x) return undefined;
    const xv = f32(backend, x);
    if (!xv || x.shape.length !== 4) return undefined;
    const info = poolInfo(x.shape, attrsAs<PoolAttrs>(args.attrs));
    const out = bufferPool.take(sizeOf(info.outShape));
    if (out.length > 0) addon[kind](geometry(info), xv, out);
    return output(backend, info.outShape, out);
  };
}

export const maxPool = pool('maxPool');
export const avgPool = pool('avgPool');

export const maxPoolGrad: NativeKernel = (args, addon) => {
  const backend = cpuOf(args);
  const { dy, input } = args.inputs;
  if (!dy || !input) return undefined;
  const xv = f32(backend, input);
  const dyv = f32(backend, dy);
  if (!xv || !dyv) return undefined;
  const info = poolInfo(input.shape, attrsAs<PoolAttrs>(args.attrs));
  const dx = bufferPool.take(sizeOf(input.shape));
  if (dx.length > 0) addon.maxPoolGrad(geometry(info), xv, dyv, dx);
  return output(backend, input.shape, dx);
};

/** The exact adjoint of AvgPool (each window's share is 1/valid count); tfjs's cpu kernel divides by the full window instead. */
export const avgPoolGrad: NativeKernel = (args, addon) => {
  const backend = cpuOf(args);
  const { dy, input } = args.inputs;
  if (!dy || !input) return undefined;
  const dyv = f32(backend, dy);
  if (!dyv) return undefined;
  const info = poolInfo(input.shape, attrsAs<PoolAttrs>(args.attrs));
  const dx = bufferPool.take(sizeOf(input.shape));
  if (dx.length > 0) addon.avgPoolGrad(geometry(info), dyv, dx);
  return output(backend, input.shape, dx);
};
