import * as tf from '@tensorflow/tfjs-core';
import { activateNative, describeNative, expectSame, gradsOf, rand } from './helpers';
import { GLOBAL_NORM_KERNEL, globalNorm } from '@kiln/core';
import { broadcastStrides } from '../src/kernels/elementwise';
import { NATIVE_TF_BACKEND } from '../src/kernels/register';

describe('broadcastStrides', () => {
  test('merges contiguous dimensions and zeroes broadcast ones', () => {
    // [4,5,6] + [6]: b repeats along the merged outer 4·5 = 20 rows.
    expect(broadcastStrides([4, 5, 6], [4, 5, 6], [6])).toEqual({ shape: Int32Array.from([20, 6]), aStrides: Int32Array.from([6, 1]), bStrides: Int32Array.from([0, 1]) });
    // Same shapes collapse to one flat run.
    expect(broadcastStrides([2, 3], [2, 3], [2, 3])).toEqual({ shape: Int32Array.from([6]), aStrides: Int32Array.from([1]), bStrides: Int32Array.from([1]) });
    // [3,1] * [1,4]: a column against a row.
    expect(broadcastStrides([3, 4], [3, 1], [1, 4])).toEqual({ shape: Int32Array.from([3, 4]), aStrides: Int32Array.from([1, 0]), bStrides: Int32Array.from([0, 1]) });
  });
});

describeNative('native element-wise, normalisation and reduction kernels', () => {
  beforeAll(activateNative);

  test('hand-computed values above the native size threshold', () => {
    tf.setBackend(NATIVE_TF_BACKEND);
    const n = 5000;
    const [sum, relu, mean] = tf.tidy(() => {
      const x = tf.range(0, n).sub(2500);
      return [tf.add(x, tf.scalar(1)).dataSync(), tf.relu(x).dataSync(), tf.mean(x.reshape([50, 100]), 0).dataSync()];
    });
    expect(sum[0]).toBe(-2499);
    expect(sum[n - 1]).toBe(2500);
    expect(relu[2499]).toBe(0);
    expect(relu[2600]).toBe(100);
    // Column j of the 50×100 grid holds j-2500, j-2400, …: mean is j-2500 + 100·49/2.
    expect(mean[3]).toBe(3 - 2500 + 2450);
  });

  test('binary ops with broadcast match cpu', () => {
    const ops = [tf.add, tf.sub, tf.mul, tf.div, tf.squaredDifference];
    tf.setBackend(NATIVE_TF_BACKEND);
    // Multiply (tfjs's kernel name for mul) is native: 3 × 2 broadcast over 5000 rows.
    expect(Array.from(tf.tidy(() => tf.mul(tf.ones([5000, 1]), tf.tensor1d([3, -2])).dataSync().slice(0, 4)))).toEqual([3, -2, 3, -2]);
    const pairs: Array<[number[], number[]]> = [[[8, 9, 10, 11], [8, 9, 10, 11]], [[8, 9, 10, 11], [11]], [[8, 9, 10, 11], [8, 1, 1, 11]], [[7, 1, 700], [1, 9, 700]], [[5000], []], [[64, 1], [1, 100]]];
    for (const op of ops) for (const [a, b] of pairs) expectSame(() => op(rand(a, 1), rand(b, 2).add(op === tf.div ? 3 : 0)));
  });

  test('unary ops match cpu', () => {
    const x = () => rand([70, 90], 3);
    expectSame(() => [tf.relu(x()), tf.step(x(), 0.25), tf.exp(x()), tf.sqrt(tf.abs(x())), tf.rsqrt(tf.abs(x()).add(0.1)), tf.square(x()), tf.neg(x()), tf.erf(x()), tf.floor(x().mul(3))]);
  });

  test('batch norm, softmax and their gradients match cpu', () => {
    expectSame(() => tf.batchNorm(rand([4, 9, 9, 16], 1), rand([16], 2), rand([16], 3).abs(), rand([16], 4), rand([16], 5), 1e-3));
    expectSame(() => tf.batchNorm(rand([4, 9, 9, 16], 1), rand([16], 2), rand([16], 3).abs()));
    expectSame(() => gradsOf((x, s, o) => tf.batchNorm(x, tf.moments(x, [0, 1, 2]).mean, tf.moments(x, [0, 1, 2]).variance, o, s, 1e-3), [rand([4, 9, 9, 16], 1), rand([16], 2), rand([16], 3)]));
    // Every input's gradient (x, mean, variance, scale, offset) from the native one-pass kernel.
    expectSame(() => gradsOf((x, m, v, s, o) => tf.batchNorm(x, m, v.abs().add(0.1), o, s, 1e-3), [rand([3, 7, 5, 24], 1), rand([24], 2), rand([24], 3), rand([24], 4), rand([24], 5)]));
    expectSame(() => tf.softmax(rand([33, 257], 1).mul(5)));
    expectSame(() => gradsOf((x) => tf.softmax(x), [rand([20, 300], 1)]));
  });

  test('relu gradient (one native pass) matches cpu, including NaN inputs', () => {
    expectSame(() => gradsOf((x) => tf.relu(x), [rand([40, 130], 1)]));
    tf.setBackend(NATIVE_TF_BACKEND);
    // d relu/dx = 1 where x > 0, 0 where x ≤ 0, NaN where x is NaN (tfjs's step semantics), times dy = 2.
    const g = tf.tidy(() => {
      const x = tf.tensor1d(Array.from({ length: 5000 }, (_, i) => (i === 3 ? NaN : i % 2 ? 1 : -1)));
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), 2)))(x).dataSync();
    });
    expect([g[0], g[1], g[2], g[3]]).toEqual([0, 2, 0, NaN]);
  });

  test('sum, mean and transpose match cpu', () => {
    const x = () => rand([6, 7, 8, 20], 1);
    for (const axis of [0, 1, 3, [0, 1, 2], [1, 2], [2, 3], [0, 1, 2, 3], [0, 2]]) {
      for (const keepDims of [false, true]) expectSame(() => [tf.sum(x(), axis, keepDims), tf.mean(x(), axis, keepDims)]);
    }
    for (const perm of [[0, 3, 1, 2], [3, 2, 1, 0], [1, 0, 2, 3], [0, 1, 3, 2]]) expectSame(() => tf.transpose(x(), perm));
  });

  test('slice, pad and tile match cpu', () => {
    const x = () => rand([6, 20, 18, 16], 1);
    expectSame(() => [tf.slice(x(), [1, 2, 3, 0], [4, 17, 15, 16]), tf.slice(x(), [0, 0, 1, 2], [6, 20, 16, 13]), tf.slice(x(), [2], [3])]);
    expectSame(() => [tf.pad(x(), [[0, 0], [1, 1], [1, 2], [0, 0]]), tf.pad(x(), [[1, 0], [0, 3], [2, 0], [1, 1]], 0.5)]);
    expectSame(() => [tf.tile(rand([1, 1, 1, 64], 2), [32, 8, 8, 1]), tf.tile(rand([3, 50], 3), [2, 40]), tf.tile(rand([4, 5, 6, 7], 4), [2, 1, 3, 2])]);
    // Small non-contiguous crops (augmentation) and reversal (flips).
    expectSame(() => [tf.slice(rand([36, 36, 3], 5), [2, 3, 0], [32, 32, 3]), tf.reverse(x(), 2), tf.reverse(x(), [0, 3]), tf.reverse(rand([7], 6))]);
    tf.setBackend(NATIVE_TF_BACKEND);
    expect(Array.from(tf.tidy(() => tf.reverse(tf.tensor2d([[1, 2, 3], [4, 5, 6]]), 1).dataSync()))).toEqual([3, 2, 1, 6, 5, 4]);
    expectSame(() => gradsOf((t) => tf.pad(tf.slice(t, [0, 1, 1, 0], [6, 18, 16, 16]), [[0, 0], [1, 1], [1, 1], [0, 0]]), [x()]));
  });

  test('embedding gradient (gather → unsortedSegmentSum) matches cpu, and a hand-computed case', () => {
    expectSame(() => gradsOf((t) => tf.gather(t, tf.tensor1d([3, 0, 3, 7, 9, 3], 'int32')), [rand([10, 6], 1)]));
    tf.setBackend(NATIVE_TF_BACKEND);
    // Rows 0 and 2 both go to segment 1: [1,2] + [5,6]; row 1 to segment 0; segment 2 gets nothing.
    const s = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([1, 0, 1], 'int32'), 3).arraySync());
    expect(s).toEqual([[3, 4], [6, 8], [0, 0]]);
  });

  test("core's globalNorm runs as one native kernel: √(3² + 4² + 12²) = 13", () => {
    tf.setBackend(NATIVE_TF_BACKEND);
    expect(tf.getKernel(GLOBAL_NORM_KERNEL, NATIVE_TF_BACKEND)).toBeDefined();
    const n = tf.tidy(() => globalNorm([tf.tensor1d([3, 0]), tf.tensor2d([[4], [12]])]).dataSync()[0]);
    expect(n).toBe(13);
    expect(tf.tidy(() => globalNorm([tf.tensor1d([1, NaN])]).dataSync()[0])).toBeNaN();
  });

  test('a training loop on the native backend does not leak tensors', () => {
    tf.setBackend(NATIVE_TF_BACKEND);
    const w = tf.variable(rand([3, 3, 4, 8], 1));
    const optimizer = tf.train.sgd(0.01);
    const x = rand([4, 12, 12, 4], 2) as tf.Tensor4D;
    const step = () => optimizer.minimize(() => tf.mean(tf.square(tf.maxPool(tf.relu(tf.conv2d(x, w as unknown as tf.Tensor4D, 1, 'same')), 2, 2, 'valid'))), true)!.dispose();
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, x]);
    optimizer.dispose();
  });
});
