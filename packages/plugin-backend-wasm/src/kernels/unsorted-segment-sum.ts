import * as tf from '@tensorflow/tfjs-core';

/**
 * Scatter-add written in JS over the tensor's values: O(N·D) instead of the
 * O(N·S·D) of a one-hot matmul, which matters for embedding tables with large S.
 */
export function unsortedSegmentSum(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  const n = segmentIds.size;
  const inner = n === 0 ? 0 : x.size / n;
  const ids = segmentIds.dataSync();
  const values = x.dataSync();
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < n; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let k = 0; k < inner; k++) out[dst + k] += values[src + k];
  }
  const shape = [numSegments, ...x.shape.slice(segmentIds.rank)];
  return tf.tensor(out, shape, x.dtype === 'int32' ? 'int32' : 'float32');
}
