import * as tf from '@tensorflow/tfjs-core';
import { activateNative, addonLoad, describeNative, expectSame, gradsOf, rand } from './helpers';
import { NATIVE_TF_BACKEND } from '../src/kernels/register';

const isas = addonLoad.ok ? (['fallback', 'avx2', 'avx512'] as const).filter((isa) => addonLoad.addon.selectIsa(isa) === isa) : [];

describeNative('native matmul', () => {
  beforeAll(activateNative);
  afterAll(() => {
    if (addonLoad.ok) addonLoad.addon.selectIsa('avx512');
  });

  test('a hand-computed product', () => {
    tf.setBackend(NATIVE_TF_BACKEND);
    const c = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).arraySync());
    expect(c).toEqual([[19, 22], [43, 50]]);
    // Bias and relu fused: [[19-20, 22-20], [43-20, 50-20]] clipped at 0.
    const f = tf.tidy(() => tf.fused.matMul({ a: tf.tensor2d([[1, 2], [3, 4]]), b: tf.tensor2d([[5, 6], [7, 8]]), bias: tf.tensor1d([-20, -20]), activation: 'relu' }).arraySync());
    expect(f).toEqual([[0, 2], [23, 30]]);
  });

  const shapes: Array<[number, number, number]> = [[1, 1, 1], [1, 37, 5], [7, 13, 300], [37, 65, 513], [130, 33, 17], [64, 96, 256]];
  test.each(isas.map((isa) => [isa]))('matches cpu on odd shapes and every transpose (%s micro-kernel)', (isa) => {
    if (addonLoad.ok) addonLoad.addon.selectIsa(isa);
    for (const [m, n, k] of shapes) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          expectSame(() => tf.matMul(rand(ta ? [k, m] : [m, k], m + n), rand(tb ? [n, k] : [k, n], k + 1), ta, tb));
        }
      }
    }
  });

  test('batched with broadcast batch of one, and rank 4', () => {
    expectSame(() => tf.matMul(rand([5, 9, 17], 1), rand([5, 17, 11], 2)));
    expectSame(() => tf.matMul(rand([1, 9, 17], 3), rand([6, 17, 11], 4)));
    expectSame(() => tf.matMul(rand([6, 9, 17], 5), rand([17, 11], 6)));
    expectSame(() => tf.matMul(rand([2, 3, 8, 16], 7), rand([2, 3, 8, 16], 8), false, true));
  });

  test('fused matmul: bias and every fused activation', () => {
    for (const activation of ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const) {
      expectSame(() => tf.fused.matMul({ a: rand([33, 20], 1), b: rand([20, 19], 2), bias: rand([19], 3), activation, leakyreluAlpha: 0.3 }));
    }
    // prelu is not fused natively: handed to the JS kernel.
    expectSame(() => tf.fused.matMul({ a: rand([8, 20], 1), b: rand([20, 6], 2), activation: 'prelu', preluActivationWeights: rand([6], 4) }));
  });

  test('gradients of matmul and fused matmul match cpu', () => {
    expectSame(() => gradsOf((a, b) => tf.matMul(a, b), [rand([13, 21], 1), rand([21, 9], 2)]));
    expectSame(() => gradsOf((a, b) => tf.matMul(a, b, true, true), [rand([21, 13], 1), rand([9, 21], 2)]));
    expectSame(() => gradsOf((a, b, c) => tf.fused.matMul({ a, b, bias: c, activation: 'relu' }), [rand([13, 21], 1), rand([21, 9], 2), rand([9], 3)]));
    expectSame(() => gradsOf((a, b) => tf.matMul(a, b), [rand([4, 7, 21], 1), rand([4, 21, 5], 2)]));
  });
});
