import * as tf from '@tensorflow/tfjs-core';

/** One 2-D matmul per leading index; operands are cut in JS (one heap read each), not with slice kernels. */
function matMulPerSlice(a: tf.Tensor3D, b: tf.Tensor3D, transposeA: boolean, transposeB: boolean): tf.Tensor3D {
  // One 3-D transpose up front instead of one per slice (XNNPACK takes untransposed operands only).
  const at = transposeA ? tf.transpose(a, [0, 2, 1]) : a;
  const bt = transposeB ? tf.transpose(b, [0, 2, 1]) : b;
  const [n, ar, ac] = at.shape;
  const [, br, bc] = bt.shape;
  const ad = at.dataSync() as Float32Array;
  const bd = bt.dataSync() as Float32Array;
  if (at !== a) at.dispose();
  if (bt !== b) bt.dispose();
  const outs: tf.Tensor2D[] = [];
  for (let i = 0; i < n; i++) {
    const ai = tf.tensor2d(ad.slice(i * ar * ac, (i + 1) * ar * ac), [ar, ac]);
    const bi = tf.tensor2d(bd.slice(i * br * bc, (i + 1) * br * bc), [br, bc]);
    outs.push(tf.matMul(ai, bi));
    tf.dispose([ai, bi]);
  }
  const rows = outs[0].shape[0];
  const cols = outs[0].shape[1];
  const out = tf.reshape(tf.concat(outs, 0), [n, rows, cols]) as tf.Tensor3D;
  tf.dispose(outs);
  return out;
}

/**
 * a·b for a [n, m, k] and b [n, k, p], as n 2-D matmuls, with its gradient
 * (dA = dY·Bᵀ, dB = Aᵀ·dY, also per slice). tfjs-wasm 4.22 runs BatchMatMul with a batch
 * over 1 on a scalar loop (`slow_batch_matmul`, ~13× slower per FLOP than its XNNPACK path,
 * which takes batch 1 only), and its Slice/SplitV/Unpack kernels copy the whole input out
 * of the heap per slice, so the operands are cut here, once each, in JS.
 */
export const perSliceMatMul = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: matMulPerSlice(a as tf.Tensor3D, b as tf.Tensor3D, false, false),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [matMulPerSlice(dy as tf.Tensor3D, sb, false, true), matMulPerSlice(sa, dy as tf.Tensor3D, true, false)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** Multiply-adds per slice from which splitting pays (sequence 128 × head 64 × 128 is 1M; 24 × 64 × 24 is 37K). */
const PER_SLICE_MIN_MACS = 1 << 18;

/**
 * a·b over [batch, heads] of 4-D tensors: per (sequence, head) on wasm (see perSliceMatMul),
 * one batched matmul elsewhere. KILN_BERT_BATCHED_MATMUL=1 forces the batched call (for comparison).
 */
export function attentionMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [B, heads, m, k] = a.shape as [number, number, number, number];
  const p = b.shape[3] as number;
  const n = B * heads;
  // Short sequences: the per-slice overhead (tensor creation, one kernel call each) outweighs the scalar loop.
  const small = m * k * p < PER_SLICE_MIN_MACS;
  if (n === 1 || small || tf.getBackend() !== 'wasm' || process.env.KILN_BERT_BATCHED_MATMUL === '1') return tf.matMul(a, b);
  return tf.reshape(perSliceMatMul(tf.reshape(a, [n, m, k]), tf.reshape(b, [n, k, p])), [B, heads, m, p]);
}
