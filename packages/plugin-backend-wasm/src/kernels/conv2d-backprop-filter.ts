import * as tf from '@tensorflow/tfjs-core';
import { convGeometry, toChannelsLast } from './conv-geometry';

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
 * Batch 1: dW = im2col(x)ᵀ · dy. The im2col is a depthwise conv with one-hot filters
 * (XNNPACK does the windowing, strides and padding), giving [N, C·T]; then one matmul dyᵀ · cols.
 * tfjs-wasm only runs a matmul on XNNPACK when the left operand is not transposed.
 */
export function viaIm2col(xs: tf.Tensor4D, dys: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  const [kh, kw, cin, cout] = attrs.filterShape;
  const taps = kh * kw;
  const cols = tf.depthwiseConv2d(xs, tapSelector(kh, kw, cin), attrs.strides, attrs.pad, 'NHWC', 1, attrs.dimRoundingMode);
  const rows = cols.shape[0] * cols.shape[1] * cols.shape[2];
  const dwT = tf.matMul(tf.transpose(tf.reshape(dys, [rows, cout])), tf.reshape(cols, [rows, cin * taps]));
  return tf.transpose(tf.reshape(dwT, [cout, cin, kh, kw]), [2, 3, 1, 0]);
}

/**
 * Batches ≥ 2: dW is itself a forward conv (XNNPACK) with batch and channels swapped:
 * input x as [Cin, H, W, B], filter dy as [OH, OW, B, Cout], dilation = the stride,
 * 'valid' over the padded input → [Cin, KH, KW, Cout]. The reduction runs over B per tap,
 * so it needs a few images to be efficient.
 */
export function viaSwappedConv(xs: tf.Tensor4D, dys: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  const [kh, kw] = attrs.filterShape;
  const g = convGeometry(xs.shape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false);
  // Rows −top … −top+needH of x (zero outside), exactly what 'valid' with dilation s needs.
  const needH = (g.outHeight - 1) * g.strideHeight + kh;
  const needW = (g.outWidth - 1) * g.strideWidth + kw;
  const padded = tf.pad(xs, [
    [0, 0],
    [g.top, Math.max(0, needH - g.top - g.inHeight)],
    [g.left, Math.max(0, needW - g.left - g.inWidth)],
    [0, 0],
  ]);
  const window =
    padded.shape[1] === needH && padded.shape[2] === needW ? padded : tf.slice(padded, [0, 0, 0, 0], [g.batch, needH, needW, g.inChannels]);
  const input = tf.transpose(window, [3, 1, 2, 0]);
  const filter = tf.transpose(dys, [1, 2, 0, 3]);
  const dw = tf.conv2d(input, filter, 1, 'valid', 'NHWC', [g.strideHeight, g.strideWidth]);
  return tf.transpose(dw, [1, 2, 0, 3]);
}

/** Conv2DBackpropFilter for wasm, from XNNPACK-backed ops; the path depends on the batch size. */
export function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  return tf.tidy(() => {
    const xs = toChannelsLast(x, attrs.dataFormat);
    const dys = toChannelsLast(dy, attrs.dataFormat);
    return xs.shape[0] >= SWAPPED_CONV_MIN_BATCH ? viaSwappedConv(xs, dys, attrs) : viaIm2col(xs, dys, attrs);
  });
}

/** Measured: the swapped conv is 1.1–3x the im2col path from batch 2 up; at batch 1 its reduction is one element per tap. */
export const SWAPPED_CONV_MIN_BATCH = 2;
