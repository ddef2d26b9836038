import * as tf from '@tensorflow/tfjs-core';

interface Attrs {
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

type Resize = (images: tf.Tensor4D, size: [number, number], alignCorners?: boolean, halfPixelCenters?: boolean) => tf.Tensor4D;

/** The [out, in] interpolation matrix of one axis, read off the forward op applied to an identity image. */
function axisWeights(resize: Resize, inSize: number, outSize: number, attrs: Attrs): tf.Tensor2D {
  const identity = tf.reshape(tf.eye(inSize), [1, inSize, 1, inSize]) as tf.Tensor4D;
  return tf.reshape(resize(identity, [outSize, 1], attrs.alignCorners, attrs.halfPixelCenters), [outSize, inSize]);
}

/**
 * Gradient of a bilinear or nearest-neighbour resize as the exact adjoint of the forward op
 * that ran: both are separable linear maps out = A_h · in · A_wᵀ, so dx = A_hᵀ · dy · A_w, with
 * A_h and A_w taken from the forward kernel itself. tfjs 4.22's ResizeBilinearGrad and
 * ResizeNearestNeighborGrad are wrong in several cases on both wasm and cpu (half-pixel
 * centres; nearest with batch > 1 on cpu; bilinear non-square shapes on cpu).
 */
export function resizeGrad(kind: 'bilinear' | 'nearest', images: tf.Tensor4D, dy: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const resize: Resize = kind === 'bilinear' ? tf.image.resizeBilinear : tf.image.resizeNearestNeighbor;
    const [batch, inH, inW, channels] = images.shape;
    const [, outH, outW] = dy.shape;
    const ah = axisWeights(resize, inH, outH, attrs);
    const aw = axisWeights(resize, inW, outW, attrs);
    const alongH = tf.matMul(tf.transpose(ah), tf.reshape(tf.transpose(dy, [1, 0, 2, 3]), [outH, batch * outW * channels]));
    const byW = tf.reshape(tf.transpose(tf.reshape(alongH, [inH, batch, outW, channels]), [2, 1, 0, 3]), [outW, batch * inH * channels]);
    const alongW = tf.matMul(tf.transpose(aw), byW);
    return tf.transpose(tf.reshape(alongW, [inW, batch, inH, channels]), [1, 2, 0, 3]);
  });
}
