import { bufferPool } from '../buffer-pool';
import { backend_util, util } from '@tensorflow/tfjs-core';
import { attrsAs, cpuOf, f32, output, sizeOf, type NativeKernel } from './common';

/** Below this many elements the N-API call costs more than tfjs's JS loop. */
export const MIN_NATIVE_ELEMENTS = 4096;
/** The same for broadcasting binary ops, where tfjs's JS kernel converts every flat index to coordinates and back. */
export const MIN_NATIVE_BROADCAST_ELEMENTS = 256;

/** Binary op codes of native/kernels.h. */
export const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 6, KilnReluGrad: 7 } as const;
/** Unary op codes of native/kernels.h. */
export const UNARY_OPS = { Relu: 0, Step: 1, Exp: 2, Sqrt: 3, Rsqrt: 4, Square: 5, Neg: 6, Erf: 7, Floor: 8 } as const;

/**
 * Row-major strides of `shape` read through broadcasting into `out` (0 on broadcast dimensions),
 * with adjacent dimensions merged where both operands stay contiguous, so the inner loop is long.
 */
export function broadcastStrides(out: number[], a: number[], b: number[]): { shape: Int32Array; aStrides: Int32Array; bStrides: Int32Array } {
  const stridesOf = (shape: number[]): number[] => {
    const padded = [...new Array<number>(out.length - shape.length).fill(1), ...shape];
    const strides = new Array<number>(out.length).fill(0);
    let s = 1;
    for (let d = out.length - 1; d >= 0; d--) {
      strides[d] = padded[d] === 1 && out[d] !== 1 ? 0 : s;
      s *= padded[d];
    }
    return strides;
  };
  const as = stridesOf(a);
  const bs = stridesOf(b);
  const shape: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  for (let d = 0; d < out.length; d++) {
    if (out[d] === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && sa[last] === as[d] * out[d] && sb[last] === bs[d] * out[d]) {
      shape[last] *= out[d];
      sa[last] = as[d];
      sb[last] = bs[d];
    } else {
      shape.push(out[d]);
      sa.push(as[d]);
      sb.push(bs[d]);
    }
  }
  if (shape.length === 0) {
    shape.push(1);
    sa.push(1);
    sb.push(1);
  }
  return { shape: Int32Array.from(shape), aStrides: Int32Array.from(sa), bStrides: Int32Array.from(sb) };
}

export function binary(op: keyof typeof BINARY_OPS): NativeKernel {
  return (args, addon) => {
    const backend = cpuOf(args);
    const { a, b } = args.inputs;
    if (!a || !b) return undefined;
    const av = f32(backend, a);
    const bv = f32(backend, b);
    if (!av || !bv) return undefined;
    const shape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = sizeOf(shape);
    // tfjs's JS loop is fast only without broadcasting; with it, every element pays an index conversion.
    const broadcast = !util.arraysEqual(a.shape, b.shape);
    if (size < (broadcast ? MIN_NATIVE_BROADCAST_ELEMENTS : MIN_NATIVE_ELEMENTS) || shape.length > 8) return undefined;
    const strides = broadcastStrides(shape, a.shape, b.shape);
    const out = bufferPool.take(size);
    addon.binary(BINARY_OPS[op], av, bv, out, strides.shape, strides.aStrides, strides.bStrides);
    return output(backend, shape, out);
  };
}

export function unary(op: keyof typeof UNARY_OPS): NativeKernel {
  return (args, addon) => {
    const backend = cpuOf(args);
    const { x } = args.inputs;
    if (!x) return undefined;
    const xv = f32(backend, x);
    if (!xv || xv.length < MIN_NATIVE_ELEMENTS) return undefined;
    const out = bufferPool.take(xv.length);
    addon.unary(UNARY_OPS[op], xv, out, attrsAs<{ alpha?: number } | undefined>(args.attrs)?.alpha ?? 0);
    return output(backend, x.shape, out);
  };
}

/** FusedBatchNorm (inference-style normalisation; tfjs composes its gradient from other kernels) over the last axis. */
export const fusedBatchNorm: NativeKernel = (args, addon) => {
  const backend = cpuOf(args);
  const { x, mean, variance, offset, scale } = args.inputs;
  if (!x || !mean || !variance) return undefined;
  const xv = f32(backend, x);
  const mv = f32(backend, mean);
  const vv = f32(backend, variance);
  const ov = offset === undefined ? null : f32(backend, offset);
  const sv = scale === undefined ? null : f32(backend, scale);
  if (!xv || !mv || !vv || ov === undefined || sv === undefined || x.shape.length === 0) return undefined;
  const channels = x.shape[x.shape.length - 1];
  const fits = (v: Float32Array | null) => v === null || v.length === 1 || v.length === channels;
  if (!fits(mv) || !fits(vv) || !fits(ov) || !fits(sv) || xv.length < MIN_NATIVE_ELEMENTS) return undefined;
  const out = bufferPool.take(xv.length);
  addon.batchNorm(xv, out, channels, mv, vv, ov, sv, attrsAs<{ varianceEpsilon: number }>(args.attrs).varianceEpsilon ?? 0.001);
  return output(backend, x.shape, out);
};

export const softmax: NativeKernel = (args, addon) => {
  const backend = cpuOf(args);
  const { logits } = args.inputs;
  if (!logits) return undefined;
  const xv = f32(backend, logits);
  const rank = logits.shape.length;
  if (!xv || rank === 0) return undefined;
  const dim = attrsAs<{ dim: number }>(args.attrs).dim;
  if (dim !== -1 && dim !== rank - 1) return undefined;
  const cols = logits.shape[rank - 1];
  if (cols === 0 || xv.length === 0) return undefined;
  const out = bufferPool.take(xv.length);
  addon.softmax(xv, out, cols);
  return output(backend, logits.shape, out);
};

/** Sum and Mean over a contiguous run of axes, seen as [outer, reduce, inner]. */
function reduction(mean: boolean): NativeKernel {
  return (args, addon) => {
    const backend = cpuOf(args);
    const { x } = args.inputs;
    if (!x) return undefined;
    const xv = f32(backend, x);
    if (!xv || xv.length < MIN_NATIVE_ELEMENTS) return undefined;
    const { axis, keepDims } = attrsAs<{ axis: number | number[]; keepDims: boolean }>(args.attrs);
    const axes = util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    if (axes.length === 0) return undefined;
    for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return undefined;
    const first = axes[0];
    const last = axes[axes.length - 1];
    const outer = sizeOf(x.shape.slice(0, first));
    const reduce = sizeOf(x.shape.slice(first, last + 1));
    const inner = sizeOf(x.shape.slice(last + 1));
    if (reduce === 0) return undefined;
    const shape = keepDims ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : x.shape.filter((_, i) => i < first || i > last);
    const out = bufferPool.take(outer * inner);
    addon.reduceSum(xv, out, outer, reduce, inner);
    if (mean) for (let i = 0; i < out.length; i++) out[i] /= reduce;
    return output(backend, shape, out);
  };
}

export const sum = reduction(false);
export const mean = reduction(true);

export const transpose: NativeKernel = (args, addon) => {
  const backend = cpuOf(args);
  const { x } = args.inputs;
  if (!x) return undefined;
  const xv = f32(backend, x);
  const { perm } = attrsAs<{ perm: number[] }>(args.attrs);
  if (!xv || xv.length < MIN_NATIVE_ELEMENTS || x.shape.length > 8) return undefined;
  const out = bufferPool.take(xv.length);
  addon.transpose(xv, out, Int32Array.from(x.shape), Int32Array.from(perm));
  return output(backend, perm.map((p) => x.shape[p]), out);
};

/** UnsortedSegmentSum (the gradient of gather, so of every embedding table): one pass over the rows; tfjs's cpu kernel loops over every segment. */
export const unsortedSegmentSum: NativeKernel = (args) => {
  const backend = cpuOf(args);
  const { x, segmentIds } = args.inputs;
  if (!x || !segmentIds || segmentIds.dtype !== 'int32') return undefined;
  const xv = f32(backend, x);
  const ids = backend.data.get(segmentIds.dataId).values;
  const { numSegments } = attrsAs<{ numSegments: number }>(args.attrs);
  if (!xv || !(ids instanceof Int32Array) || segmentIds.shape.length !== 1 || x.shape[0] !== ids.length) return undefined;
  const width = sizeOf(x.shape.slice(1));
  const out = new Float32Array(numSegments * width);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * width;
    const dst = s * width;
    for (let j = 0; j < width; j++) out[dst + j] += xv[src + j];
  }
  return output(backend, [numSegments, ...x.shape.slice(1)], out);
};

/** Core's optional KilnGlobalNorm: the L2 norm of every input together (the Trainer's gradient-norm monitor) in one kernel. */
export const globalNorm: NativeKernel = (args) => {
  const backend = cpuOf(args);
  let sum = 0;
  for (const t of Object.values(args.inputs)) {
    const v = f32(backend, t);
    if (!v) return undefined;
    let part = 0;
    for (let i = 0; i < v.length; i++) part += v[i] * v[i];
    sum += part;
  }
  return output(backend, [], Float32Array.of(Math.sqrt(sum)));
};
