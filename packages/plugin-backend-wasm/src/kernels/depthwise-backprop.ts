import * as tf from '@tensorflow/tfjs-core';
import { convGeometry, padForTaps, tapWindow } from './conv-geometry';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

interface FilterAttrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

interface InputAttrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** dF[kh,kw,c,m] = Σ_{b,oh,ow} x[b, oh·s+kh·d−top, ow·s+kw·d−left, c] · dy[b,oh,ow,c·M+m], one reduction per tap. */
export function depthwiseBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: FilterAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, channels, multiplier] = attrs.filterShape;
    const g = convGeometry(x.shape, attrs.filterShape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true);
    const xp = padForTaps(x, g);
    const dy5 = tf.reshape(dy, [g.batch, g.outHeight, g.outWidth, channels, multiplier]);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const window = tf.expandDims(tapWindow(xp, g, i, j), 4);
        taps.push(tf.sum(tf.mul(window, dy5), [0, 1, 2]));
      }
    }
    return tf.reshape(tf.stack(taps), [kh, kw, channels, multiplier]);
  });
}

/**
 * dx is a stride-1 depthwise correlation of the stride-upsampled, padded dy with the
 * spatially flipped filter (dilation kept), summed over the channel multiplier.
 */
export function depthwiseBackpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: InputAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, channels, multiplier] = filter.shape;
    const [batch, height, width] = attrs.inputShape;
    const g = convGeometry(attrs.inputShape, filter.shape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true);
    let up: tf.Tensor4D = dy;
    if (g.strideHeight > 1 || g.strideWidth > 1) {
      const cm = channels * multiplier;
      const spread = tf.pad(tf.reshape(dy, [batch, g.outHeight, 1, g.outWidth, 1, cm]), [
        [0, 0], [0, 0], [0, g.strideHeight - 1], [0, 0], [0, g.strideWidth - 1], [0, 0],
      ]);
      up = tf.reshape(spread, [batch, g.outHeight * g.strideHeight, g.outWidth * g.strideWidth, cm]);
    }
    // dx lives in padded input coordinates [−top, ...); taps reach back (K−1)·d rows.
    const effH = (kh - 1) * g.dilationHeight;
    const effW = (kw - 1) * g.dilationWidth;
    const rowsNeeded = height + g.top;
    const colsNeeded = width + g.left;
    const padBottom = Math.max(0, rowsNeeded - up.shape[1]);
    const padRight = Math.max(0, colsNeeded - up.shape[2]);
    const upPad = tf.pad(up, [[0, 0], [effH, padBottom], [effW, padRight], [0, 0]]);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, channels * multiplier, 1]);
    let full = tf.depthwiseConv2d(upPad, flipped as tf.Tensor4D, 1, 'valid', 'NHWC', [g.dilationHeight, g.dilationWidth]);
    if (multiplier > 1) {
      full = tf.sum(tf.reshape(full, [batch, full.shape[1], full.shape[2], channels, multiplier]), 4) as tf.Tensor4D;
    }
    return tf.slice(full, [0, g.top, g.left, 0], [batch, height, width, channels]);
  });
}
