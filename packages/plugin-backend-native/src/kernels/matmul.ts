import { bufferPool } from '../buffer-pool';
import { backend_util } from '@tensorflow/tfjs-core';
import { activationCode, attrsAs, cpuOf, f32, output, sizeOf, type NativeKernel } from './common';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

/** BatchMatMul and _FusedMatMul (bias over the last axis + activation); broadcast batches of one. */
export const batchMatMul: NativeKernel = (args, addon) => {
  const backend = cpuOf(args);
  const { a, b, bias, preluActivationWeights } = args.inputs;
  if (!a || !b) return undefined;
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrsAs<MatMulAttrs>(args.attrs);
  const code = activationCode(activation);
  const av = f32(backend, a);
  const bv = f32(backend, b);
  if (!av || !bv || code === undefined || preluActivationWeights !== undefined) return undefined;
  if (a.shape.length < 2 || b.shape.length < 2) return undefined;
  const m = transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
  const k = transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  const kb = transposeB ? b.shape[b.shape.length - 1] : b.shape[b.shape.length - 2];
  if (k !== kb) return undefined;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  // The addon indexes batch i as (i % batchA, i % batchB): exact when the batches match or one is 1.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const outer = backend_util.assertAndGetBroadcastShape(outerA, outerB);
  if (sizeOf(outer) !== Math.max(batchA, batchB)) return undefined;
  let biasValues: Float32Array | null = null;
  if (bias !== undefined) {
    const bv2 = f32(backend, bias);
    if (!bv2 || bv2.length !== n) return undefined;
    biasValues = bv2;
  }
  const shape = [...outer, m, n];
  const out = bufferPool.take(sizeOf(shape));
  if (out.length > 0) addon.matMul(av, bv, out, batchA, batchB, m, n, k, transposeA, transposeB, biasValues, code, leakyreluAlpha ?? 0.2);
  return output(backend, shape, out);
};
