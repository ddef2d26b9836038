import * as tf from '@tensorflow/tfjs-core';

type Tensor4D = tf.Tensor4D;
type PadAttr = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  top: number;
  left: number;
}

/** Output size and padding of a conv, computed the way tfjs computes them for the forward op. */
export function convGeometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: PadAttr,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations, pad, dimRoundingMode, depthwise, 'channelsLast');
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/**
 * Zero-pads x so that every tap (kh, kw) of the conv reads a window
 * [kh*dh, kh*dh + (outH-1)*sh] that lies inside the padded tensor.
 */
export function padForTaps(x: Tensor4D, g: ConvGeometry): Tensor4D {
  const needH = (g.filterHeight - 1) * g.dilationHeight + (g.outHeight - 1) * g.strideHeight + 1;
  const needW = (g.filterWidth - 1) * g.dilationWidth + (g.outWidth - 1) * g.strideWidth + 1;
  const bottom = Math.max(0, needH - g.top - g.inHeight);
  const right = Math.max(0, needW - g.left - g.inWidth);
  if (g.top === 0 && g.left === 0 && bottom === 0 && right === 0) return x;
  return tf.pad(x, [[0, 0], [g.top, bottom], [g.left, right], [0, 0]]);
}

/** The input pixels one filter tap (kh, kw) sees at every output position: [B, outH, outW, C]. */
export function tapWindow(xPadded: Tensor4D, g: ConvGeometry, kh: number, kw: number): Tensor4D {
  const y0 = kh * g.dilationHeight;
  const x0 = kw * g.dilationWidth;
  const c = xPadded.shape[3];
  if (g.strideHeight === 1 && g.strideWidth === 1) {
    return tf.slice(xPadded, [0, y0, x0, 0], [g.batch, g.outHeight, g.outWidth, c]);
  }
  return tf.stridedSlice(
    xPadded,
    [0, y0, x0, 0],
    [g.batch, y0 + (g.outHeight - 1) * g.strideHeight + 1, x0 + (g.outWidth - 1) * g.strideWidth + 1, c],
    [1, g.strideHeight, g.strideWidth, 1],
  ) as Tensor4D;
}

export function toChannelsLast<T extends tf.Tensor>(t: T, dataFormat: string | undefined): T {
  return dataFormat === 'NCHW' || dataFormat === 'channelsFirst' ? (tf.transpose(t, [0, 2, 3, 1]) as T) : t;
}

export function fromChannelsLast<T extends tf.Tensor>(t: T, dataFormat: string | undefined): T {
  return dataFormat === 'NCHW' || dataFormat === 'channelsFirst' ? (tf.transpose(t, [0, 3, 1, 2]) as T) : t;
}

/** [B,H,W,C] → NHWC shape tuple, taking the data format of the attrs into account. */
export function nhwcShape(shape: number[], dataFormat: string | undefined): [number, number, number, number] {
  const [a, b, c, d] = shape;
  return dataFormat === 'NCHW' || dataFormat === 'channelsFirst' ? [a, c, d, b] : [a, b, c, d];
}
