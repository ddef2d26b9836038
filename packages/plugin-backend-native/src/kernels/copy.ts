import { bufferPool } from '../buffer-pool';
import { slice_util } from '@tensorflow/tfjs-core';
import { attrsAs, cpuOf, f32, output, sizeOf, type NativeKernel } from './common';
import { MIN_NATIVE_ELEMENTS } from './elementwise';
import { util } from '@tensorflow/tfjs-core';

export function rowMajorStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

const i32 = (xs: number[]) => Int32Array.from(xs.length ? xs : [1]);

/** Slice: a strided copy from the window's first element. */
export const slice: NativeKernel = (args, addon) => {
  const backend = cpuOf(args);
  const { x } = args.inputs;
  if (!x) return undefined;
  const xv = f32(backend, x);
  const attrs = attrsAs<{ begin: number | number[]; size: number | number[] }>(args.attrs);
  if (!xv || x.shape.length === 0 || x.shape.length > 8) return undefined;
  const [begin, size] = slice_util.parseSliceParams(x as never, attrs.begin, attrs.size);
  const count = sizeOf(size);
  // A contiguous slice is a zero-copy subarray in tfjs's kernel; any other is an element-by-element
  // TensorBuffer walk there (slow even for one 32×32×3 crop), so it comes here whatever its size.
  if (count === 0 || slice_util.isSliceContinous(x.shape, begin, size)) return undefined;
  const strides = rowMajorStrides(x.shape);
  const offset = begin.reduce((acc, b, d) => acc + b * strides[d], 0);
  const out = bufferPool.take(count);
  addon.stridedCopy(xv, offset, i32(strides), out, 0, i32(rowMajorStrides(size)), i32(size));
  return output(backend, size, out);
};

/** PadV2: fill with the constant, then copy x into the inner window. */
export const padV2: NativeKernel = (args, addon) => {
  const backend = cpuOf(args);
  const { x } = args.inputs;
  if (!x) return undefined;
  const xv = f32(backend, x);
  const { paddings, constantValue } = attrsAs<{ paddings: Array<[number, number]>; constantValue: number }>(args.attrs);
  if (!xv || x.shape.length === 0 || x.shape.length > 8) return undefined;
  const shape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const count = sizeOf(shape);
  if (count < MIN_NATIVE_ELEMENTS) return undefined;
  const outStrides = rowMajorStrides(shape);
  const offset = paddings.reduce((acc, [before], d) => acc + before * outStrides[d], 0);
  const out = bufferPool.take(count);
  addon.fill(out, constantValue);
  if (xv.length > 0) addon.stridedCopy(xv, 0, i32(rowMajorStrides(x.shape)), out, offset, i32(outStrides), i32(x.shape));
  return output(backend, shape, out);
};

/** Tile: x seen as [1, s0, 1, s1, …] broadcast to [r0, s0, r1, s1, …]. */
export const tile: NativeKernel = (args, addon) => {
  const backend = cpuOf(args);
  const { x } = args.inputs;
  if (!x) return undefined;
  const xv = f32(backend, x);
  const { reps } = attrsAs<{ reps: number[] }>(args.attrs);
  if (!xv || x.shape.length === 0 || x.shape.length > 4 || reps.length !== x.shape.length) return undefined;
  const shape = x.shape.map((d, i) => d * reps[i]);
  const count = sizeOf(shape);
  if (count < MIN_NATIVE_ELEMENTS) return undefined;
  const inStrides = rowMajorStrides(x.shape);
  const outStrides = rowMajorStrides(shape);
  const copyShape: number[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  x.shape.forEach((d, i) => {
    copyShape.push(reps[i], d);
    xs.push(0, inStrides[i]);
    ys.push(d * outStrides[i], outStrides[i]);
  });
  const out = bufferPool.take(count);
  addon.stridedCopy(xv, 0, i32(xs), out, 0, i32(ys), i32(copyShape));
  return output(backend, shape, out);
};

/** Reverse: a strided copy reading the reversed axes backwards. */
export const reverse: NativeKernel = (args, addon) => {
  const backend = cpuOf(args);
  const { x } = args.inputs;
  if (!x) return undefined;
  const xv = f32(backend, x);
  if (!xv || x.shape.length === 0 || x.shape.length > 8 || xv.length === 0) return undefined;
  const axes = util.parseAxisParam(attrsAs<{ dims: number | number[] }>(args.attrs).dims, x.shape);
  const strides = rowMajorStrides(x.shape);
  let offset = 0;
  const xs = strides.map((s, d) => {
    if (!axes.includes(d)) return s;
    offset += (x.shape[d] - 1) * s;
    return -s;
  });
  const out = bufferPool.take(xv.length);
  addon.stridedCopy(xv, offset, i32(xs), out, 0, i32(strides), i32(x.shape));
  return output(backend, x.shape, out);
};
