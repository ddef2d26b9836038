import * as tf from '@tensorflow/tfjs-core';
import { compareGradients, randomValues, relativeError } from './helpers';
import { CpuBackend } from '../src/cpu-backend';
import { WasmBackend } from '../src/wasm-backend';

const TOLERANCE = 1e-4;

async function expectMatch(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: Parameters<typeof compareGradients>[1]) {
  const { error, reference } = await compareGradients(f, inputs);
  // A zero gradient would match trivially; every case here has a non-zero one.
  for (const g of reference) expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(0);
  expect(error).toBeLessThan(TOLERANCE);
}

describe('wasm gradients match cpu (1e-4 relative)', () => {
  const x = (shape: number[]) => ({ shape });

  describe('conv2d (Conv2DBackpropFilter, Conv2DBackpropInput)', () => {
    type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
    const cases: Array<[string, number[], number[], number | [number, number], Pad]> = [
      ['3x3 stride 1 same', [2, 7, 6, 3], [3, 3, 3, 4], 1, 'same'],
      ['3x3 stride 2 same, odd size', [2, 9, 7, 3], [3, 3, 3, 5], 2, 'same'],
      ['batch 1: 3x3 stride 2 valid, leftover column', [1, 8, 9, 2], [3, 3, 2, 3], 2, 'valid'],
      // tfjs sizes numeric-pad outputs from the filter height and stride height only, so keep those cases square.
      ['3x3 stride 2 numeric pad 1', [2, 9, 8, 2], [3, 3, 2, 3], 2, 1],
      ['5x3 strides [2,1] explicit pad', [2, 10, 6, 2], [5, 3, 2, 3], [2, 1], [[0, 0], [1, 2], [2, 0], [0, 0]]],
      ['1x1 stride 1', [2, 5, 5, 4], [1, 1, 4, 6], 1, 'valid'],
      ['7x7 stride 2 same (stem)', [1, 16, 16, 3], [7, 7, 3, 4], 2, 'same'],
      // Batch 1 takes the im2col weight-gradient path, batch ≥ 2 the swapped conv.
      ['batch 4: 3x3 stride 1 same', [4, 7, 6, 3], [3, 3, 3, 4], 1, 'same'],
      ['batch 5: 3x3 stride 2 same, odd size', [5, 9, 7, 3], [3, 3, 3, 5], 2, 'same'],
      ['batch 4: 3x3 stride 2 valid, leftover column', [4, 8, 9, 2], [3, 3, 2, 3], 2, 'valid'],
      ['batch 4: 5x3 strides [2,1] explicit pad', [4, 10, 6, 2], [5, 3, 2, 3], [2, 1], [[0, 0], [1, 2], [2, 0], [0, 0]]],
      ['batch 6: 7x7 stride 2 same', [6, 12, 12, 3], [7, 7, 3, 4], 2, 'same'],
      // Channel counts off Kiln's GEMM tiles (4 input × 8 output channels), chunk boundaries, projections.
      ['channels 13 → 17 (partial tiles), 3x3 same', [3, 8, 8, 13], [3, 3, 13, 17], 1, 'same'],
      ['channels 8 → 8 (whole tiles), 3x3 stride 2 same', [2, 8, 8, 8], [3, 3, 8, 8], 2, 'same'],
      ['1x1 stride 2 projection 16 → 32 (ResNet downsample)', [2, 8, 8, 16], [1, 1, 16, 32], 2, 'valid'],
      ['1x1 stride 1 projection, batch 1', [1, 6, 6, 5], [1, 1, 5, 12], 1, 'valid'],
      ['batch 1: 3x3 stride 1 valid', [1, 9, 9, 6], [3, 3, 6, 9], 1, 'valid'],
      ['batch 1: 3x3 stride 2 same, even size', [1, 8, 8, 4], [3, 3, 4, 8], 2, 'same'],
      ['many pixels (spans several packed chunks)', [3, 20, 20, 24], [3, 3, 24, 40], 1, 'same'],
    ];
    it.each(cases)('%s', async (_name, xs, fs, strides, pad) => {
      await expectMatch((a, f) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, strides, pad), [x(xs), x(fs)]);
    });

    it('conv2d + bias + relu (fused path used by layers)', async () => {
      await expectMatch(
        (a, f, b) => tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, bias: b, strides: 1, pad: 'same', activation: 'relu' }),
        [x([2, 6, 6, 3]), x([3, 3, 3, 4]), x([4])],
      );
    });

    it('strided conv2d + bias + relu (Kiln forward igemm, scatter input gradient)', async () => {
      await expectMatch(
        (a, f, b) => tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f as tf.Tensor4D, bias: b, strides: 2, pad: 'same', activation: 'relu' }),
        [x([2, 9, 9, 8]), x([3, 3, 8, 12]), x([12])],
      );
    });

    it('conv2dTranspose (uses Conv2DBackpropInput forward, Conv2DBackpropFilter backward)', async () => {
      await expectMatch((a, f) => tf.conv2dTranspose(a as tf.Tensor4D, f as tf.Tensor4D, [2, 8, 8, 3], 2, 'same'), [x([2, 4, 4, 5]), x([3, 3, 3, 5])]);
    });
  });

  describe('depthwise conv2d (DepthwiseConv2dNativeBackpropFilter/Input)', () => {
    const cases: Array<[string, number[], number[], number, 'same' | 'valid' | number]> = [
      ['3x3 stride 1 same', [2, 7, 6, 3], [3, 3, 3, 1], 1, 'same'],
      ['3x3 stride 1 numeric pad 1 (wasm forward crashes without Kiln)', [2, 6, 6, 3], [3, 3, 3, 2], 1, 1],
      ['3x3 stride 2 same', [2, 9, 8, 4], [3, 3, 4, 1], 2, 'same'],
      ['3x3 stride 2 valid, multiplier 2', [1, 9, 7, 3], [3, 3, 3, 2], 2, 'valid'],
      ['5x5 stride 1 valid, multiplier 3', [2, 8, 8, 2], [5, 5, 2, 3], 1, 'valid'],
    ];
    it.each(cases)('%s', async (_name, xs, fs, strides, pad) => {
      await expectMatch((a, f) => tf.depthwiseConv2d(a as tf.Tensor4D, f as tf.Tensor4D, strides, pad), [x(xs), x(fs)]);
    });

    it('separableConv2d', async () => {
      await expectMatch(
        (a, d, p) => tf.separableConv2d(a as tf.Tensor4D, d as tf.Tensor4D, p as tf.Tensor4D, 1, 'same'),
        [x([2, 6, 6, 3]), x([3, 3, 3, 2]), x([1, 1, 6, 4])],
      );
    });
  });

  describe('gather / embeddings (UnsortedSegmentSum)', () => {
    it('embedding lookup with repeated ids', async () => {
      const ids = new Int32Array([3, 0, 3, 7, 1, 3, 9, 0]);
      await expectMatch((table, i) => tf.gather(table, i), [x([10, 5]), { shape: [8], values: ids, dtype: 'int32' }]);
    });

    it('2-D ids (batch × sequence) into a table, as tfjs-layers Embedding does', async () => {
      const ids = new Int32Array([1, 4, 4, 2, 0, 1]);
      await expectMatch((table, i) => tf.gather(table, tf.reshape(i, [2, 3])), [x([6, 4]), { shape: [6], values: ids, dtype: 'int32' }]);
    });

    it('gather along axis 1', async () => {
      const ids = new Int32Array([2, 0, 2]);
      await expectMatch((a, i) => tf.gather(a, i, 1), [x([3, 4, 2]), { shape: [3], values: ids, dtype: 'int32' }]);
    });

    it('unsortedSegmentSum itself (and its gradient, a gather)', async () => {
      const ids = new Int32Array([0, 2, 2, 1, 0]);
      await expectMatch((a, i) => tf.unsortedSegmentSum(a, i as tf.Tensor1D, 4), [x([5, 3]), { shape: [5], values: ids, dtype: 'int32' }]);
    });
  });

  describe('normalisation', () => {
    it('batch norm with batch moments (training mode)', async () => {
      await expectMatch(
        (a, gamma, beta) => {
          const { mean, variance } = tf.moments(a, [0, 1, 2]);
          return tf.batchNorm(a, mean, variance, beta, gamma, 1e-3);
        },
        [x([4, 5, 5, 3]), x([3]), x([3])],
      );
    });

    it('batch norm with moving statistics (inference mode)', async () => {
      const variance = new Float32Array([0.5, 1.5, 2]);
      await expectMatch((a, m, v, g, b) => tf.batchNorm(a, m, v, b, g, 1e-3), [x([2, 3, 3, 3]), x([3]), { shape: [3], values: variance, differentiable: false }, x([3]), x([3])]);
    });

    it('layer norm over the last axis', async () => {
      await expectMatch(
        (a, gamma, beta) => {
          const { mean, variance } = tf.moments(a, -1, true);
          return tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
        },
        [x([3, 4, 8]), x([8]), x([8])],
      );
    });
  });

  describe('activations and losses', () => {
    it('GELU (erf form)', async () => {
      await expectMatch((a) => tf.mul(tf.mul(a, 0.5), tf.add(1, tf.erf(tf.div(a, Math.SQRT2)))), [x([4, 16])]);
    });

    it('GELU (tanh approximation)', async () => {
      await expectMatch(
        (a) => tf.mul(tf.mul(a, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(a, tf.mul(0.044715, tf.pow(a, 3))))))),
        [x([4, 16])],
      );
    });

    it('softmax cross-entropy', async () => {
      const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([2, 0, 4, 1], 'int32'), 5).dataSync() as Float32Array);
      await expectMatch((logits, y) => tf.losses.softmaxCrossEntropy(y, logits), [x([4, 5]), { shape: [4, 5], values: labels, differentiable: false }]);
    });

    it('sparse cross-entropy via logSoftmax + gather-free one-hot', async () => {
      await expectMatch((logits) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d([1, 3, 0], 'int32'), 6)))), [x([3, 6])]);
    });

    it('softmax, sigmoid cross-entropy, elu, leakyRelu, relu6, selu, prelu', async () => {
      await expectMatch(
        (a, alpha) =>
          tf.addN([
            tf.softmax(a),
            tf.sigmoid(a),
            tf.elu(a),
            tf.leakyRelu(a, 0.1),
            tf.relu6(tf.mul(a, 8)),
            tf.selu(a),
            tf.prelu(a, alpha),
          ]),
        [x([3, 7]), x([7])],
      );
    });
  });

  describe('pooling (MaxPoolGrad, AvgPoolGrad)', () => {
    const cases: Array<[string, 'max' | 'avg', number, number, 'same' | 'valid']> = [
      ['max 2x2 stride 2', 'max', 2, 2, 'valid'],
      ['max 3x3 stride 2 same', 'max', 3, 2, 'same'],
      ['avg 2x2 stride 2', 'avg', 2, 2, 'valid'],
      ['avg 3x3 stride 1 same', 'avg', 3, 1, 'same'],
    ];
    it.each(cases)('%s', async (_name, kind, size, stride, pad) => {
      const pool = kind === 'max' ? tf.maxPool : tf.avgPool;
      await expectMatch((a) => pool(a as tf.Tensor4D, size, stride, pad), [x([2, 7, 7, 3])]);
    });

    it('max 2x2 stride 2 with ties: the gradient goes to the first maximum, as on cpu', async () => {
      const values = randomValues(2 * 6 * 6 * 2, 21).map((v) => Math.round(v));
      await expectMatch((a) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), [{ shape: [2, 6, 6, 2], values }]);
    });

    it('global average pooling (mean over H, W)', async () => {
      await expectMatch((a) => tf.mean(a, [1, 2]), [x([2, 5, 5, 4])]);
    });
  });

  // tfjs-backend-cpu's resize gradients are wrong in several of these cases, so the reference here is
  // the definition of the gradient of a linear map f: ⟨f(x), dy⟩ = ⟨x, fᵀ(dy)⟩ for every x.
  describe('resize gradients are the exact adjoint of the forward op (ResizeBilinearGrad, ResizeNearestNeighborGrad)', () => {
    const cases: Array<[string, 'bilinear' | 'nearest', number[], [number, number], boolean, boolean]> = [
      ['bilinear up, non-square, batch 2', 'bilinear', [2, 4, 6, 3], [7, 9], false, false],
      ['bilinear align corners', 'bilinear', [2, 5, 5, 3], [9, 7], true, false],
      ['bilinear half pixel', 'bilinear', [2, 5, 5, 3], [9, 7], false, true],
      ['bilinear down', 'bilinear', [1, 9, 7, 2], [4, 3], false, false],
      ['nearest up, non-square, batch 2', 'nearest', [2, 4, 6, 3], [7, 9], false, false],
      ['nearest align corners', 'nearest', [2, 5, 5, 3], [9, 7], true, false],
      ['nearest half pixel', 'nearest', [2, 5, 5, 3], [9, 7], false, true],
      ['nearest down', 'nearest', [1, 9, 7, 2], [4, 3], false, false],
    ];
    it.each(cases)('%s', async (_name, kind, shape, size, alignCorners, halfPixel) => {
      await new WasmBackend().activate();
      const resize = kind === 'bilinear' ? tf.image.resizeBilinear : tf.image.resizeNearestNeighbor;
      const [b, , , c] = shape;
      const dy = tf.tensor4d(randomValues(b * size[0] * size[1] * c, 6), [b, size[0], size[1], c]);
      const x0 = tf.tensor4d(randomValues(shape.reduce((p, q) => p * q, 1), 5), shape as [number, number, number, number]);
      const dx = tf.grad((a) => tf.sum(tf.mul(resize(a as tf.Tensor4D, size, alignCorners, halfPixel), dy)))(x0);
      expect(dx.shape).toEqual(shape);
      for (let trial = 0; trial < 3; trial++) {
        const x = tf.tensor4d(randomValues(shape.reduce((p, q) => p * q, 1), 30 + trial), shape as [number, number, number, number]);
        const lhs = tf.sum(tf.mul(resize(x, size, alignCorners, halfPixel), dy)).dataSync()[0];
        const rhs = tf.sum(tf.mul(x, dx)).dataSync()[0];
        expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
        x.dispose();
      }
      tf.dispose([dy, x0, dx]);
    });

    it.each(cases)('forward %s matches cpu', async (_name, kind, shape, size, alignCorners, halfPixel) => {
      const run = () =>
        tf.tidy(() => {
          const resize = kind === 'bilinear' ? tf.image.resizeBilinear : tf.image.resizeNearestNeighbor;
          const x = tf.tensor4d(randomValues(shape.reduce((p, q) => p * q, 1), 5), shape as [number, number, number, number]);
          return resize(x, size, alignCorners, halfPixel);
        });
      await new CpuBackend().activate();
      const onCpu = run();
      const reference = onCpu.dataSync().slice();
      onCpu.dispose();
      await new WasmBackend().activate();
      const onWasm = run();
      expect(relativeError(onWasm.dataSync(), reference)).toBeLessThan(TOLERANCE);
      onWasm.dispose();
    });
  });

  describe('dense and attention building blocks', () => {
    it('dense: matMul + bias + relu (fused)', async () => {
      await expectMatch((a, w, b) => tf.fused.matMul({ a: a as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation: 'relu' }), [x([5, 6]), x([6, 4]), x([4])]);
    });

    it.each([
      [false, true],
      [true, false],
      [true, true],
    ])('batched matMul transposeA=%s transposeB=%s (wasm wrapper transposes explicitly)', async (ta, tb) => {
      const aShape = ta ? [3, 5, 4] : [3, 4, 5];
      const bShape = tb ? [3, 6, 5] : [3, 5, 6];
      await expectMatch((a, b) => tf.matMul(a, b, ta, tb), [x(aShape), x(bShape)]);
    });

    it('fused matMul with transposeB, bias and relu', async () => {
      await expectMatch(
        (a, w, b) => tf.fused.matMul({ a: a as tf.Tensor2D, b: w as tf.Tensor2D, transposeB: true, bias: b, activation: 'relu' }),
        [x([5, 6]), x([4, 6]), x([4])],
      );
    });

    it('scaled dot-product attention with a causal mask', async () => {
      const mask = new Float32Array(16).map((_, i) => (i % 4 > Math.floor(i / 4) ? -1e9 : 0));
      await expectMatch(
        (q, k, v, m) => {
          const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(8)), m);
          return tf.matMul(tf.softmax(scores), v);
        },
        [x([2, 4, 8]), x([2, 4, 8]), x([2, 4, 8]), { shape: [4, 4], values: mask, differentiable: false }],
      );
    });

    it('multi-head split/merge: reshape + transpose + batched matMul', async () => {
      await expectMatch(
        (a, w) => {
          const h = tf.transpose(tf.reshape(tf.matMul(tf.reshape(a, [6, 8]), w), [2, 3, 2, 4]), [0, 2, 1, 3]);
          return tf.reshape(tf.transpose(tf.matMul(h, h, false, true), [0, 2, 1, 3]), [2, 3, 6]);
        },
        [x([2, 3, 8]), x([8, 8])],
      );
    });

    it('tile: broadcast-style (size-1 axes, Add path) and true repetition (wasm Tile)', async () => {
      await expectMatch((a, b) => tf.add(tf.tile(a, [4, 1, 3]), tf.tile(b, [2, 1, 1])), [x([1, 5, 1]), x([2, 5, 3])]);
    });

    it('dropout-style mask, concat, slice, pad, tile, clip, abs, square, mean', async () => {
      const keep = randomValues(24, 3).map((v) => (v > 0 ? 2 : 0));
      await expectMatch(
        (a, k) => {
          const y = tf.concat([tf.mul(a, k), tf.slice(a, [0, 1], [4, 3])], 1);
          return tf.addN([tf.pad(tf.square(tf.clipByValue(y, -0.5, 0.5)), [[0, 0], [1, 0]]), tf.pad(tf.tile(tf.abs(tf.mean(y, 1, true)), [1, 9]), [[0, 0], [0, 1]])]);
        },
        [x([4, 6]), { shape: [4, 6], values: keep, differentiable: false }],
      );
    });
  });

  describe('other differentiable ops', () => {
    const ops: Array<[string, (...xs: tf.Tensor[]) => tf.Tensor, number[][]]> = [
      ['cumsum (exclusive, reverse)', (a) => tf.add(tf.cumsum(a, 1), tf.cumsum(a, 1, true, true)), [[4, 5]]],
      ['mirrorPad reflect + symmetric', (a) => tf.add(tf.mirrorPad(a, [[1, 1], [2, 2]], 'reflect'), tf.mirrorPad(a, [[1, 1], [2, 2]], 'symmetric')), [[4, 5]]],
      ['prod, min, max, logSumExp', (a) => tf.stack([tf.prod(a, 1), tf.min(a, 1), tf.max(a, 1), tf.logSumExp(a, 1)]), [[3, 4]]],
      ['where, squaredDifference, atan2, pow, log1p', (a, b) => tf.where(tf.tensor2d([[1, 0, 1, 0, 1], [0, 1, 1, 0, 0], [1, 1, 0, 0, 1], [0, 0, 0, 1, 1]], [4, 5], 'bool'), tf.squaredDifference(a, b), tf.add(tf.atan2(a, b), tf.log1p(tf.mul(tf.pow(a, 2), 0.5)))), [[4, 5], [4, 5]]],
      ['reverse, slice, concat', (a) => tf.concat([tf.reverse(a, 1), tf.slice(a, [1, 0], [2, 5])], 0), [[4, 5]]],
      ['spaceToBatchND / batchToSpaceND', (a) => tf.batchToSpaceND(tf.mul(tf.spaceToBatchND(a, [2, 2], [[0, 0], [0, 0]]), 2), [2, 2], [[0, 0], [0, 0]]), [[2, 4, 4, 3]]],
      ['avgPool3d, maxPool3d', (a) => tf.add(tf.avgPool3d(a as tf.Tensor5D, 2, 2, 'valid'), tf.maxPool3d(a as tf.Tensor5D, 2, 2, 'valid')), [[1, 4, 4, 4, 2]]],
      ['localResponseNormalization', (a) => tf.localResponseNormalization(a as tf.Tensor4D, 2, 1, 1, 0.5), [[1, 3, 3, 6]]],
      ['sin, cos, tanh, sqrt(abs), reciprocal, rsqrt, expm1', (a) => tf.addN([tf.sin(a), tf.cos(a), tf.tanh(a), tf.sqrt(tf.add(tf.abs(a), 1)), tf.reciprocal(tf.add(tf.abs(a), 1)), tf.rsqrt(tf.add(tf.abs(a), 1)), tf.expm1(a)]), [[3, 4]]],
    ];
    it.each(ops)('%s', async (_name, f, shapes) => {
      await expectMatch(f, shapes.map((shape) => x(shape)));
    });
  });

  it('dilated conv2d gradients are rejected by tfjs-core on every backend (not a wasm gap)', async () => {
    await expect(
      compareGradients((a, f) => tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same', 'NHWC', 2), [x([1, 6, 6, 2]), x([3, 3, 2, 2])]),
    ).rejects.toThrow(/dilation rates greater than 1/);
  });
});
