import * as tf from '@tensorflow/tfjs-core';
import { batchNormTrain, KILN_BATCH_NORM_TRAIN, KILN_BATCH_NORM_TRAIN_GRAD } from '@kiln/core';
import { activateNative, describeNative, expectSame, rand, randomValues } from './helpers';
import { NATIVE_TF_BACKEND } from '../src/kernels/register';

/** y, mean, variance of core's fused training batch norm (the native kernels on kiln-native, tfjs's composite on cpu). */
const forward = (x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor, eps: number) => () => {
  const { y, mean, variance } = batchNormTrain(x, scale as tf.Tensor1D, offset as tf.Tensor1D, eps);
  return [y, mean, variance];
};

/** Gradients of every input through a loss that reads y and both statistics (so dmean/dvariance are not zero). */
const grads = (shape: number[], eps: number, shift = 0) => () => {
  const channels = shape[shape.length - 1];
  const x = tf.add(rand(shape, 11), shift);
  const w = tf.tensor(randomValues(x.size, 12), shape);
  const wm = tf.tensor(randomValues(channels, 13));
  const wv = tf.tensor(randomValues(channels, 14));
  return tf.grads((xs: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor) => {
    const { y, mean, variance } = batchNormTrain(xs, scale as tf.Tensor1D, offset as tf.Tensor1D, eps);
    return tf.addN([tf.sum(tf.mul(y, w)), tf.sum(tf.mul(mean, wm)), tf.sum(tf.mul(variance, wv))]);
  })([x, tf.add(rand([channels], 15), 1.5), rand([channels], 16)]);
};

describeNative('fused training batch norm (core KilnBatchNormTrain and its gradient)', () => {
  beforeAll(activateNative);

  test('kiln-native has both kernels; cpu runs the composite', () => {
    expect(tf.getKernel(KILN_BATCH_NORM_TRAIN, NATIVE_TF_BACKEND)).toBeDefined();
    expect(tf.getKernel(KILN_BATCH_NORM_TRAIN_GRAD, NATIVE_TF_BACKEND)).toBeDefined();
    expect(tf.getKernel(KILN_BATCH_NORM_TRAIN, 'cpu')).toBeUndefined();
  });

  test('hand-computed statistics, output and gradients', () => {
    tf.setBackend(NATIVE_TF_BACKEND);
    // Two rows, two channels: means 2 and 4, biased variances 1 and 4; ε = 0 so x̂ = ±1.
    const x = tf.tensor2d([[1, 2], [3, 6]]);
    const scale = tf.tensor1d([2, 1]);
    const offset = tf.tensor1d([0.5, -1]);
    const { y, mean, variance } = batchNormTrain(x, scale, offset, 0);
    expect(Array.from(mean.dataSync())).toEqual([2, 4]);
    expect(Array.from(variance.dataSync())).toEqual([1, 4]);
    expect(Array.from(y.dataSync())).toEqual([2 * -1 + 0.5, -1 - 1, 2 * 1 + 0.5, 1 - 1]);
    // loss = Σ y·w with w = [[1, 0], [0, 0]]: dβ = Σw = [1, 0], dγ = Σw·x̂ = [−1, 0];
    // dx (channel 0, σ = 1, γ = 2) = γ/σ·(w − mean(w) − x̂·mean(w·x̂)) = 2·([1, 0] − 0.5 − [−1, 1]·(−0.5)) = [0, 0].
    const w = tf.tensor2d([[1, 0], [0, 0]]);
    const [dx, dscale, doffset] = tf.grads((a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(a, s as tf.Tensor1D, o as tf.Tensor1D, 0).y, w)))([x, scale, offset]);
    expect(Array.from(doffset.dataSync())).toEqual([1, 0]);
    expect(Array.from(dscale.dataSync())).toEqual([-1, 0]);
    Array.from(dx.dataSync()).forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-6));
    tf.dispose([x, scale, offset, y, mean, variance, w, dx, dscale, doffset]);
  });

  const SHAPES: Array<[number[], number]> = [
    [[4, 9, 9, 16], 1e-3],
    [[1, 5, 7, 3], 1e-5],
    [[2, 3, 3, 64], 1e-5],
    [[37, 5], 1e-3],
    [[16, 6, 6, 130], 1e-5],
  ];
  test.each(SHAPES.map(([s, e]) => [s.join('×'), s, e] as const))('forward matches cpu: %s', (_, shape, eps) => {
    const c = shape[shape.length - 1];
    expectSame(forward(rand(shape, 1), rand([c], 2), rand([c], 3), eps));
  });
  test.each(SHAPES.map(([s, e]) => [s.join('×'), s, e] as const))('gradients of x, scale and offset (through y, mean and variance) match cpu: %s', (_, shape, eps) => {
    expectSame(grads(shape, eps));
  });

  test('statistics stay accurate when |mean| ≫ std (shifted sums)', () => {
    const x = () => tf.add(tf.mul(rand([8, 6, 6, 5], 1), 0.01), 1000);
    expectSame(forward(x(), rand([5], 2), rand([5], 3), 1e-5), 1e-4);
    expectSame(grads([8, 6, 6, 5], 1e-5, 100), 1e-3);
  });

  test('no tensors leak over training-like steps', () => {
    tf.setBackend(NATIVE_TF_BACKEND);
    const x = rand([4, 6, 6, 8], 1);
    const scale = tf.variable(tf.ones([8]));
    const offset = tf.variable(tf.zeros([8]));
    const step = () => tf.tidy(() => tf.variableGrads(() => tf.sum(tf.square(batchNormTrain(x, scale, offset, 1e-3).y)) as tf.Scalar).value);
    tf.dispose(step());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(step());
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, scale, offset]);
  });
});
