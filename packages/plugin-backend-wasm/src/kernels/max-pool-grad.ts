import * as tf from '@tensorflow/tfjs-core';

interface Attrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * MaxPoolGrad as one JS pass over the values: each dy goes to the first maximum of its
 * window (scan order, strict `>`), exactly as tfjs-backend-cpu routes it. tfjs-wasm's own
 * kernel returns wrong values, and running the cpu kernel costs ~50x more (TensorBuffer indexing).
 */
export function maxPoolGrad(dy: tf.Tensor4D, input: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  const info = tf.backend_util.computePool2DInfo(input.shape, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const x = input.dataSync();
  const g = dy.dataSync();
  const dx = new Float32Array(input.size);
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      const rCorner = yr * strideHeight - top;
      const rMin = Math.max(0, rCorner);
      const rMax = Math.min(inHeight, fh + rCorner);
      for (let yc = 0; yc < outWidth; yc++) {
        const cCorner = yc * strideWidth - left;
        const cMin = Math.max(0, cCorner);
        const cMax = Math.min(inWidth, fw + cCorner);
        const outBase = ((b * outHeight + yr) * outWidth + yc) * channels;
        for (let d = 0; d < channels; d++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let r = rMin; r < rMax; r += dh) {
            for (let c = cMin; c < cMax; c += dw) {
              const i = ((b * inHeight + r) * inWidth + c) * channels + d;
              if (x[i] > best) {
                best = x[i];
                at = i;
              }
            }
          }
          if (at >= 0) dx[at] += g[outBase + d];
        }
      }
    }
  }
  return tf.tensor4d(dx, input.shape);
}
