import * as tf from '@tensorflow/tfjs-core';

type KernelFunc = tf.KernelConfig['kernelFunc'];

function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return tf.transpose(t, perm);
}

/**
 * tfjs-wasm 4.22 runs BatchMatMul/_FusedMatMul on XNNPACK only when neither operand is
 * transposed; with transposeA or transposeB it falls back to a loop 5–30x slower than an
 * explicit Transpose followed by the XNNPACK matmul. Every matmul gradient (dA = dY·Bᵀ,
 * dB = Aᵀ·dY) hits that path, so the wrapper transposes first.
 */
export function matMulWithExplicitTransposes(original: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as { transposeA?: boolean; transposeB?: boolean };
    if (!attrs.transposeA && !attrs.transposeB) return original(args);
    const a = attrs.transposeA ? swapLastTwo(args.inputs.a as tf.Tensor) : (args.inputs.a as tf.Tensor);
    const b = attrs.transposeB ? swapLastTwo(args.inputs.b as tf.Tensor) : (args.inputs.b as tf.Tensor);
    try {
      return original({
        ...args,
        inputs: { ...args.inputs, a, b },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      if (a !== args.inputs.a) a.dispose();
      if (b !== args.inputs.b) b.dispose();
    }
  };
}
