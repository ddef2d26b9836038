import * as tf from '@tensorflow/tfjs-core';
import { toChannelsLast } from './conv-geometry';

interface Attrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** One-hot depthwise filters [KH, KW, C, KH·KW] (tap t of every channel → multiplier t), kept per shape. */
const tapSelectors = new Map<string, tf.Tensor4D>();

function tapSelector(kh: number, kw: number, channels: number): tf.Tensor4D {
  const key = `${kh}x${kw}x${channels}`;
  let selector = tapSelectors.get(key);
  if (selector === undefined || selector.isDisposed) {
    const taps = kh * kw;
    const values = new Float32Array(taps * channels * taps);
    for (let t = 0; t < taps; t++) for (let c = 0; c < channels; c++) values[(t * channels + c) * taps + t] = 1;
    selector = tf.keep(tf.tensor4d(values, [kh, kw, channels, taps]));
    tapSelectors.set(key, selector);
  }
  return selector;
}

/**
 * dW = im2col(x)ᵀ · dy. The im2col is a depthwise conv with one-hot filters (XNNPACK does
 * the windowing, strides and padding), giving [N, C·T]; then one matmul dyᵀ · cols. tfjs-wasm
 * only runs a matmul on XNNPACK when the left operand is not transposed, hence dyᵀ on the left.
 */
export function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const xs = toChannelsLast(x, attrs.dataFormat);
    const dys = toChannelsLast(dy, attrs.dataFormat);
    const [kh, kw, cin, cout] = attrs.filterShape;
    const taps = kh * kw;
    const cols = tf.depthwiseConv2d(xs, tapSelector(kh, kw, cin), attrs.strides, attrs.pad, 'NHWC', 1, attrs.dimRoundingMode);
    const rows = cols.shape[0] * cols.shape[1] * cols.shape[2];
    const dwT = tf.matMul(tf.transpose(tf.reshape(dys, [rows, cout])), tf.reshape(cols, [rows, cin * taps]));
    return tf.transpose(tf.reshape(dwT, [cout, cin, kh, kw]), [2, 3, 1, 0]);
  });
}
