import * as tf from '@tensorflow/tfjs-core';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

interface PadAmounts { top: number; bottom: number; left: number; right: number }

/** Numeric or explicit padding as per-side amounts; undefined for 'same'/'valid', which wasm handles. */
function amounts(pad: Pad, dataFormat: string | undefined): PadAmounts | undefined {
  if (typeof pad === 'number') return { top: pad, bottom: pad, left: pad, right: pad };
  if (Array.isArray(pad)) {
    const [h, w] = dataFormat === 'NCHW' ? [pad[2], pad[3]] : [pad[1], pad[2]];
    return { top: h[0], bottom: h[1], left: w[0], right: w[1] };
  }
  return undefined;
}

/**
 * tfjs-wasm 4.22 reads out of bounds (and corrupts its heap for every later op) when
 * Conv2D, FusedConv2D, DepthwiseConv2dNative, FusedDepthwiseConv2D or its own
 * Conv2DBackpropInput (replaced in register.ts) get a numeric or explicit `pad`. These wrappers zero-pad the
 * input themselves and call the original wasm kernel with pad 'valid'.
 */
export function forwardWithExplicitPadding(original: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as { pad: Pad; dataFormat?: string; dimRoundingMode?: string };
    const p = amounts(attrs.pad, attrs.dataFormat);
    if (p === undefined) return original(args);
    const x = args.inputs.x as tf.Tensor4D;
    const padded = tf.tidy(() =>
      attrs.dataFormat === 'NCHW'
        ? tf.pad(x, [[0, 0], [0, 0], [p.top, p.bottom], [p.left, p.right]])
        : tf.pad(x, [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]]),
    );
    try {
      return original({ ...args, inputs: { ...args.inputs, x: padded }, attrs: { ...args.attrs, pad: 'valid', dimRoundingMode: undefined } as unknown as typeof args.attrs });
    } finally {
      padded.dispose();
    }
  };
}
