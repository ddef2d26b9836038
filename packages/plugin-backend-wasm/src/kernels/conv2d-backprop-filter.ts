import * as tf from '@tensorflow/tfjs-core';
import { convGeometry, padForTaps, tapWindow, toChannelsLast } from './conv-geometry';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * dW = im2col(x)ᵀ · dy: the KH·KW strided windows of x are laid side by side
 * ([B·OH·OW, KH·KW·Cin]) so the whole filter gradient is one XNNPACK matmul.
 */
export function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const xs = toChannelsLast(x, attrs.dataFormat);
    const dys = toChannelsLast(dy, attrs.dataFormat);
    const [kh, kw, cin, cout] = attrs.filterShape;
    const g = convGeometry(xs.shape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false);
    const xp = padForTaps(xs, g);
    const rows = g.batch * g.outHeight * g.outWidth;
    const windows: tf.Tensor4D[] = [];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) windows.push(tapWindow(xp, g, i, j));
    const cols = windows.length === 1 ? windows[0] : tf.concat(windows, 3);
    const dw = tf.matMul(tf.reshape(cols, [rows, kh * kw * cin]), tf.reshape(dys, [rows, cout]), true, false);
    return tf.reshape(dw, [kh, kw, cin, cout]);
  });
}
