import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { GLOBAL_NORM_KERNEL, globalNorm } from '../src';

// Without a backend plugin the kernel is absent and the norm is composed from standard ops.
describe('globalNorm without the KilnGlobalNorm kernel', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('composes sqrt(Σ x²) over every tensor', () => {
    expect(tf.getKernel(GLOBAL_NORM_KERNEL, 'cpu')).toBeUndefined();
    const a = tf.tensor([[1, 2], [3, 4]]);
    const b = tf.tensor([-5]);
    const c = tf.scalar(6);
    // 1 + 4 + 9 + 16 + 25 + 36 = 91
    expect(tf.tidy(() => globalNorm([a, b, c]).dataSync()[0])).toBeCloseTo(Math.sqrt(91), 5);
    expect(tf.tidy(() => globalNorm([b]).dataSync()[0])).toBeCloseTo(5, 6);
    const bad = tf.tensor([1, NaN]);
    expect(Number.isNaN(tf.tidy(() => globalNorm([a, bad]).dataSync()[0]))).toBe(true);
    tf.dispose([a, b, c, bad]);
  });
});
