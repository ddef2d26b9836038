import * as tf from '@tensorflow/tfjs-core';
import { activateNative, addonLoad, describeNative, expectSame, gradsOf, rand, relativeError } from './helpers';
import { NATIVE_TF_BACKEND } from '../src/kernels/register';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number | [number, number];
  pad: Pad;
  dilation?: number | [number, number];
}

const explicit = (t: number, b: number, l: number, r: number): Pad => [[0, 0], [t, b], [l, r], [0, 0]];

/** Odd sizes, strides, every padding mode, dilation, batch 1, pointwise and strided 1×1. */
const CASES: Case[] = [
  { x: [2, 9, 9, 3], f: [3, 3, 3, 5], stride: 1, pad: 'same' },
  { x: [1, 8, 7, 4], f: [3, 3, 4, 6], stride: 2, pad: 'same' },
  { x: [2, 11, 10, 3], f: [3, 2, 3, 7], stride: [2, 1], pad: 'valid' },
  { x: [1, 7, 7, 5], f: [5, 5, 5, 3], stride: 1, pad: explicit(2, 1, 0, 3) },
  { x: [2, 9, 8, 2], f: [3, 3, 2, 4], stride: 1, pad: 'same', dilation: 2 },
  { x: [1, 10, 10, 3], f: [3, 3, 3, 4], stride: 1, pad: 'valid', dilation: [2, 3] },
  { x: [3, 6, 6, 16], f: [1, 1, 16, 24], stride: 1, pad: 'valid' },
  { x: [2, 8, 8, 16], f: [1, 1, 16, 32], stride: 2, pad: 'valid' },
  { x: [4, 16, 16, 32], f: [3, 3, 32, 40], stride: 1, pad: 'same' },
];

const label = (c: Case) => `x ${c.x.join('×')} f ${c.f.join('×')} stride ${String(c.stride)} pad ${JSON.stringify(c.pad)} dilation ${String(c.dilation ?? 1)}`;

describeNative('native convolutions', () => {
  beforeAll(activateNative);

  test('a hand-computed 3×3 valid convolution', () => {
    tf.setBackend(NATIVE_TF_BACKEND);
    // x = 1..16 on a 4×4 grid, all-ones 3×3 filter: each output is the sum of its window.
    const y = tf.tidy(() => tf.conv2d(tf.range(1, 17).reshape([1, 4, 4, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'valid').dataSync());
    expect(Array.from(y)).toEqual([1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11, 2 + 3 + 4 + 6 + 7 + 8 + 10 + 11 + 12, 5 + 6 + 7 + 9 + 10 + 11 + 13 + 14 + 15, 6 + 7 + 8 + 10 + 11 + 12 + 14 + 15 + 16]);
  });

  test.each(CASES.map((c) => [label(c), c]))('conv2d forward matches cpu: %s', (_, c) => {
    expectSame(() => tf.conv2d(rand(c.x, 1) as tf.Tensor4D, rand(c.f, 2) as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation ?? 1));
  });

  test.each(CASES.filter((c) => (c.dilation ?? 1) === 1 && c.x[0] * c.x[1] * c.x[2] * c.f[3] < 4000).map((c) => [label(c), c]))('conv2d input and filter gradients match cpu: %s', (_, c) => {
    expectSame(() => gradsOf((x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad), [rand(c.x, 3), rand(c.f, 4)]));
  });

  test('conv2d gradients at a training-like size (padded 3×3, 24→20 channels)', () => {
    expectSame(() => gradsOf((x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'), [rand([2, 10, 10, 24], 3), rand([3, 3, 24, 20], 4)]));
  });

  test('fused conv2d: bias + activation, and its gradients', () => {
    for (const activation of ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const) {
      expectSame(() => tf.fused.conv2d({ x: rand([2, 7, 7, 3], 1) as tf.Tensor4D, filter: rand([3, 3, 3, 5], 2) as tf.Tensor4D, strides: 1, pad: 'same', bias: rand([5], 3), activation, leakyreluAlpha: 0.1 }));
    }
    expectSame(() =>
      gradsOf((x, f, b) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 2, pad: 'same', bias: b, activation: 'relu' }), [rand([2, 9, 9, 3], 1), rand([3, 3, 3, 4], 2), rand([4], 3)]),
    );
  });

  // Channel counts that are multiples of every micro-kernel's width (8/16/32) take the indirect filter
  // gradient; > 256 channels split a tap's K block; strides take the phase-by-phase input gradient.
  const INDIRECT: Case[] = [
    { x: [1, 7, 9, 32], f: [3, 3, 32, 40], stride: 1, pad: 'same' },
    { x: [1, 9, 8, 64], f: [3, 3, 64, 24], stride: 2, pad: 'same' },
    { x: [3, 5, 5, 96], f: [1, 1, 96, 20], stride: 2, pad: 'valid' },
    { x: [1, 7, 6, 32], f: [3, 2, 32, 13], stride: [2, 3], pad: explicit(1, 2, 0, 1) },
    { x: [1, 4, 4, 288], f: [3, 3, 288, 16], stride: 1, pad: 'same' },
    { x: [2, 5, 5, 16], f: [3, 3, 16, 260], stride: 2, pad: 'same' },
    // Winograd F(2×2, 3×3): ≥ 64 channels each way, partial tiles, pads 0–2.
    { x: [2, 5, 7, 64], f: [3, 3, 64, 64], stride: 1, pad: 'same' },
    { x: [1, 6, 7, 64], f: [3, 3, 64, 72], stride: 1, pad: 'valid' },
    { x: [1, 4, 5, 80], f: [3, 3, 80, 64], stride: 1, pad: explicit(2, 0, 1, 2) },
    // > 64 output pixels: the tile-blocked Winograd filter gradient (a partial channel tile at 70).
    { x: [1, 9, 9, 64], f: [3, 3, 64, 64], stride: 1, pad: 'same' },
    { x: [1, 11, 10, 70], f: [3, 3, 70, 64], stride: 1, pad: 'valid' },
    // > 2¹⁷ channel pairs: the unblocked Winograd (all tiles per GEMM), K split in two blocks.
    { x: [1, 2, 2, 368], f: [3, 3, 368, 360], stride: 1, pad: 'same' },
    // ≤ 4 input channels: the input gradient as dot products (AVX-512), with and without a 16-float tail.
    { x: [2, 7, 7, 3], f: [3, 3, 3, 20], stride: 1, pad: 'same' },
    { x: [1, 8, 9, 4], f: [3, 3, 4, 32], stride: 2, pad: 'same' },
  ];
  const isas = addonLoad.ok ? (['fallback', 'avx2', 'avx512'] as const).filter((isa) => addonLoad.addon.selectIsa(isa) === isa) : [];
  // Forward, and both gradients, of each case: the cpu reference is computed once and reused for every ISA.
  const runs: Array<() => tf.Tensor[]> = [
    ...INDIRECT.flatMap((c) => [
      () => gradsOf((x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad), [rand(c.x, 3), rand(c.f, 4)]),
      () => [tf.conv2d(rand(c.x, 1) as tf.Tensor4D, rand(c.f, 2) as tf.Tensor4D, c.stride, c.pad)],
    ]),
    () => [tf.conv2d(rand([1, 8, 9, 32], 1) as tf.Tensor4D, rand([3, 3, 32, 8], 2) as tf.Tensor4D, 1, 'same', 'NHWC', 2)],
  ];
  const valuesOn = (backend: string, run: () => tf.Tensor[]) => {
    tf.setBackend(backend);
    return tf.tidy(() => run().map((t) => Float32Array.from(t.dataSync() as Float32Array)));
  };
  let reference: Float32Array[][] | undefined;
  test.each(isas.map((isa) => [isa]))('indirect and Winograd convolutions and both gradients match cpu on the %s micro-kernel', (isa) => {
    if (!addonLoad.ok) return;
    reference ??= runs.map((run) => valuesOn('cpu', run));
    const before = addonLoad.addon.info().isa;
    addonLoad.addon.selectIsa(isa);
    try {
      runs.forEach((run, i) => {
        const native = valuesOn(NATIVE_TF_BACKEND, run);
        native.forEach((v, j) => expect(relativeError(v, reference![i][j])).toBeLessThan(1e-4));
      });
    } finally {
      addonLoad.addon.selectIsa(before);
    }
  });

  const DEPTHWISE: Case[] = [
    { x: [2, 9, 9, 3], f: [3, 3, 3, 1], stride: 1, pad: 'same' },
    { x: [1, 8, 7, 4], f: [3, 3, 4, 2], stride: 2, pad: 'valid' },
    { x: [2, 7, 7, 5], f: [5, 5, 5, 1], stride: 1, pad: explicit(2, 1, 1, 2) },
    { x: [1, 10, 9, 3], f: [3, 3, 3, 2], stride: 1, pad: 'same', dilation: 2 },
  ];
  test.each(DEPTHWISE.map((c) => [label(c), c]))('depthwise forward matches cpu: %s', (_, c) => {
    expectSame(() => tf.depthwiseConv2d(rand(c.x, 1) as tf.Tensor4D, rand(c.f, 2) as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation ?? 1));
  });
  test.each(DEPTHWISE.filter((c) => (c.dilation ?? 1) === 1).map((c) => [label(c), c]))('depthwise gradients match cpu: %s', (_, c) => {
    expectSame(() => gradsOf((x, f) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad), [rand(c.x, 3), rand(c.f, 4)]));
  });

  const POOLS: Array<{ x: [number, number, number, number]; size: number | [number, number]; stride: number | [number, number]; pad: 'same' | 'valid' | number }> = [
    { x: [2, 8, 8, 3], size: 2, stride: 2, pad: 'valid' },
    { x: [1, 9, 7, 5], size: 3, stride: 2, pad: 'same' },
    { x: [2, 7, 9, 4], size: [3, 2], stride: [1, 2], pad: 'valid' },
    { x: [1, 6, 6, 2], size: 3, stride: 1, pad: 1 },
  ];
  test.each(POOLS.map((c) => [JSON.stringify(c), c]))('max and avg pool forward match cpu: %s', (_, c) => {
    expectSame(() => tf.maxPool(rand(c.x, 1) as tf.Tensor4D, c.size, c.stride, c.pad));
    expectSame(() => tf.avgPool(rand(c.x, 1) as tf.Tensor4D, c.size, c.stride, c.pad));
  });
  test.each(POOLS.map((c) => [JSON.stringify(c), c]))('max pool gradient matches cpu: %s', (_, c) => {
    expectSame(() => gradsOf((x) => tf.maxPool(x as tf.Tensor4D, c.size, c.stride, c.pad), [rand(c.x, 5)]));
  });

  test('avg pool gradient: matches cpu without padding, and is the exact adjoint of the forward with it', () => {
    expectSame(() => gradsOf((x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), [rand([2, 8, 8, 3], 5)]));
    tf.setBackend(NATIVE_TF_BACKEND);
    // <avgPool(x), dy> = <x, avgPoolGrad(dy)> for every x, dy: the definition of the gradient.
    const [lhs, rhs] = tf.tidy(() => {
      const x = rand([1, 9, 7, 5], 6) as tf.Tensor4D;
      const y = tf.avgPool(x, 3, 2, 'same');
      const dy = rand(y.shape, 7);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(t as tf.Tensor4D, 3, 2, 'same'), dy)))(x);
      return [tf.sum(tf.mul(y, dy)).dataSync()[0], tf.sum(tf.mul(x, dx)).dataSync()[0]];
    });
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
  });
});
