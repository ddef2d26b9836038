import * as tf from '@tensorflow/tfjs-core';
import { WasmBackend } from '../src/wasm-backend';
import { CpuBackend } from '../src/cpu-backend';
import { randomValues, relativeError } from './helpers';
import { KILN_FORWARD_CONV, KILN_MATMUL } from '../src/kernels/kiln-wasm';

/** Σ a·b in float64. */
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Kiln's conv-gradient kernels take dilations, which tfjs-core's conv2d gradient refuses on
 * every backend, so dilated cases are checked by the definition of a gradient instead of
 * against cpu: for the linear map y = conv(x, f), ⟨y, dy⟩ = ⟨f, dW(x, dy)⟩ = ⟨x, dX(dy, f)⟩,
 * with y computed by tfjs-wasm's own forward Conv2D (XNNPACK).
 */
describe("Kiln's wasm conv-gradient kernels: adjoint identity with the forward conv", () => {
  beforeAll(async () => {
    await new WasmBackend().activate();
  });

  const cases: Array<[string, number[], number[], number, 'same' | 'valid', number]> = [
    ['dilation 2, same', [2, 9, 9, 3], [3, 3, 3, 5], 1, 'same', 2],
    ['dilation 2, valid', [1, 11, 10, 4], [3, 3, 4, 6], 1, 'valid', 2],
    ['dilation 3, 2x2 filter, same', [2, 8, 8, 2], [2, 2, 2, 9], 1, 'same', 3],
    ['stride 2, same, no dilation', [3, 9, 8, 5], [3, 3, 5, 7], 2, 'same', 1],
  ];
  it.each(cases)('%s', (_name, xs, fs, stride, pad, dilation) => {
    tf.tidy(() => {
      const x = tf.tensor4d(randomValues(xs.reduce((a, b) => a * b, 1), 11), xs as [number, number, number, number]);
      const f = tf.tensor4d(randomValues(fs.reduce((a, b) => a * b, 1), 12), fs as [number, number, number, number]);
      const y = tf.conv2d(x, f, stride, pad, 'NHWC', dilation);
      const dy = tf.tensor4d(randomValues(y.size, 13), y.shape);
      const attrs = { strides: stride, pad, dataFormat: 'NHWC', dilations: dilation };
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: fs }) as tf.Tensor;
      const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: xs }) as tf.Tensor;
      expect(dw.shape).toEqual(fs);
      expect(dx.shape).toEqual(xs);
      const reference = dot(y.dataSync(), dy.dataSync());
      expect(Math.abs(reference)).toBeGreaterThan(1);
      expect(Math.abs(dot(f.dataSync(), dw.dataSync()) - reference) / Math.abs(reference)).toBeLessThan(1e-5);
      expect(Math.abs(dot(x.dataSync(), dx.dataSync()) - reference) / Math.abs(reference)).toBeLessThan(1e-5);
    });
  });

  it('a 1-pixel dilated filter tap reads exactly the dilated input position', () => {
    tf.tidy(() => {
      // x[0, r, c, 0] = 10·r + c; dy = 1 at output (1, 1) only; 3x3 filter, dilation 2, valid:
      // tap (kh, kw) of output (1, 1) reads x[1 + 2·kh, 1 + 2·kw], so dW[kh, kw] = 10·(1 + 2kh) + 1 + 2kw.
      const values = Array.from({ length: 49 }, (_, i) => 10 * Math.floor(i / 7) + (i % 7));
      const x = tf.tensor4d(values, [1, 7, 7, 1]);
      const dyValues = new Float32Array(9);
      dyValues[4] = 1;
      const dy = tf.tensor4d(dyValues, [1, 3, 3, 1]);
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 2, filterShape: [3, 3, 1, 1] }) as tf.Tensor;
      expect(Array.from(dw.dataSync())).toEqual([11, 13, 15, 31, 33, 35, 51, 53, 55]);
    });
  });

  it('leaves no tensors and no stray scratch behind', () => {
    const x = tf.tensor4d(randomValues(2 * 8 * 8 * 6, 1), [2, 8, 8, 6]);
    const dy = tf.tensor4d(randomValues(2 * 8 * 8 * 10, 2), [2, 8, 8, 10]);
    const f = tf.tensor4d(randomValues(9 * 6 * 10, 3), [3, 3, 6, 10]);
    const step = () =>
      tf.tidy(() => {
        const a = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 6, 10] }) as tf.Tensor;
        const b = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [2, 8, 8, 6] }) as tf.Tensor;
        return tf.add(tf.sum(a), tf.sum(b)).dataSync()[0];
      });
    const first = step();
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 20; i++) expect(step()).toBeCloseTo(first, 3);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.memory().numBytes).toBe(bytes);
    tf.dispose([x, dy, f]);
  });
});

describe('Sum and Mean over non-innermost axes (Kiln kernel) match cpu', () => {
  const cases: Array<[number[], number[], boolean]> = [
    [[4, 5, 6, 7], [0, 1, 2], false],
    [[4, 5, 6, 7], [0, 1, 2], true],
    [[4, 5, 6, 8], [1, 2], false],
    [[3, 130, 5], [1], true],
    [[200, 3], [0], false],
    [[2, 3, 4], [-3, -2], false],
  ];
  it.each(cases)('shape %j axes %j keepDims %s', async (shape, axes, keepDims) => {
    const values = randomValues(shape.reduce((a, b) => a * b, 1), 21);
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor(values, shape);
        const s = tf.sum(x, axes, keepDims);
        const m = tf.mean(x, axes, keepDims);
        return { shape: s.shape, sum: Array.from(s.dataSync()), mean: Array.from(m.dataSync()), meanShape: m.shape };
      });
    await new CpuBackend().activate();
    const expected = run();
    await new WasmBackend().activate();
    const got = run();
    expect(got.shape).toEqual(expected.shape);
    expect(got.meanShape).toEqual(expected.meanShape);
    got.sum.forEach((v, i) => expect(v).toBeCloseTo(expected.sum[i], 4));
    got.mean.forEach((v, i) => expect(v).toBeCloseTo(expected.mean[i], 5));
  });

  it('sums 70 000 rows to float32 precision (blocked accumulation)', async () => {
    await new WasmBackend().activate();
    // 70 000 × [0.1, 1, 10, 0.001, 3]: exact totals 7000, 70 000, 700 000, 70, 210 000.
    const row = [0.1, 1, 10, 0.001, 3];
    const values = new Float32Array(70000 * 5).map((_, i) => row[i % 5]);
    const got = tf.tidy(() => Array.from(tf.sum(tf.tensor(values, [70000, 5]), 0).dataSync()));
    row.forEach((v, i) => expect(Math.abs(got[i] - 70000 * Math.fround(v)) / (70000 * v)).toBeLessThan(2e-6));
  });
});

describe("Kiln's forward conv (indirect GEMM) matches cpu", () => {
  type Case = [string, number[], number[], number | [number, number], 'same' | 'valid' | number, number, boolean, 'linear' | 'relu'];
  const cases: Case[] = [
    ['3x3 stride 2 same, bias + relu', [2, 9, 8, 8], [3, 3, 8, 16], 2, 'same', 1, true, 'relu'],
    ['3x3 stride 1 same, partial tiles 13 → 11', [3, 7, 6, 13], [3, 3, 13, 11], 1, 'same', 1, false, 'linear'],
    ['1x1 stride 2 valid projection', [2, 8, 8, 16], [1, 1, 16, 24], 2, 'valid', 1, false, 'linear'],
    ['3x3 dilation 2 same, bias', [2, 9, 9, 5], [3, 3, 5, 7], 1, 'same', 2, true, 'linear'],
    ['5x3 strides [2,1] valid, 3 channels (stem-like), pixels not a multiple of 4', [1, 7, 5, 3], [5, 3, 3, 9], [2, 1], 'valid', 1, true, 'relu'],
  ];
  it.each(cases)('%s', async (_name, xs, fs, strides, pad, dilation, withBias, activation) => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(randomValues(xs.reduce((a, b) => a * b, 1), 31), xs as [number, number, number, number]);
        const filter = tf.tensor4d(randomValues(fs.reduce((a, b) => a * b, 1), 32), fs as [number, number, number, number]);
        const bias = withBias ? tf.tensor1d(randomValues(fs[3], 33)) : undefined;
        const y = tf.fused.conv2d({ x, filter, bias, strides, pad, dilations: dilation, activation });
        return { shape: y.shape, values: y.dataSync() };
      });
    await new CpuBackend().activate();
    const expected = run();
    await new WasmBackend().activate();
    KILN_FORWARD_CONV.use = 'always';
    try {
      const got = run();
      expect(got.shape).toEqual(expected.shape);
      expect(relativeError(got.values, expected.values)).toBeLessThan(1e-5);
      if (activation === 'relu') expect(Math.min(...got.values)).toBe(0);
    } finally {
      KILN_FORWARD_CONV.use = 'strided';
    }
  });
});

describe("Kiln's batched matmul matches cpu", () => {
  type Case = [string, number[], number[], boolean, boolean];
  const cases: Case[] = [
    ['2-D, odd sizes', [7, 5], [5, 11], false, false],
    ['2-D, transposeA (a weight gradient)', [9, 6], [9, 13], true, false],
    ['2-D, transposeB (an input gradient)', [6, 9], [13, 9], false, true],
    ['attention scores q·kᵀ, [2, 3] batch', [2, 3, 10, 4], [2, 3, 10, 4], false, true],
    ['both transposed, batch 5', [5, 6, 7], [5, 9, 6], true, true],
    ['broadcast b over the batch', [4, 5, 6], [6, 3], false, false],
    ['broadcast a over the batch', [1, 5, 6], [3, 6, 17], false, false],
  ];
  it.each(cases)('%s', async (_name, as, bs, ta, tb) => {
    const run = () =>
      tf.tidy(() => {
        const a = tf.tensor(randomValues(as.reduce((p, q) => p * q, 1), 41), as);
        const b = tf.tensor(randomValues(bs.reduce((p, q) => p * q, 1), 42), bs);
        const c = tf.matMul(a, b, ta, tb);
        return { shape: c.shape, values: c.dataSync() };
      });
    await new CpuBackend().activate();
    const expected = run();
    await new WasmBackend().activate();
    KILN_MATMUL.use = 'always';
    try {
      const got = run();
      expect(got.shape).toEqual(expected.shape);
      expect(relativeError(got.values, expected.values)).toBeLessThan(1e-5);
    } finally {
      KILN_MATMUL.use = 'always';
    }
  });

  it.each([
    ['bias + relu', true, 'relu', false],
    ['bias, linear, transposeB', true, 'linear', true],
    ['relu, no bias', false, 'relu', false],
  ] as const)('fused matmul (dense layer): %s', async (_name, withBias, activation, transposeB) => {
    const run = () =>
      tf.tidy(() => {
        const a = tf.tensor2d(randomValues(9 * 7, 61), [9, 7]);
        const b = transposeB ? tf.tensor2d(randomValues(13 * 7, 62), [13, 7]) : tf.tensor2d(randomValues(7 * 13, 62), [7, 13]);
        const bias = withBias ? tf.tensor1d(randomValues(13, 63)) : undefined;
        return Array.from(tf.fused.matMul({ a, b, transposeB, bias, activation }).dataSync());
      });
    await new CpuBackend().activate();
    const expected = run();
    await new WasmBackend().activate();
    const got = run();
    expect(relativeError(got, expected)).toBeLessThan(1e-5);
    if (activation === 'relu') expect(Math.min(...got)).toBe(0);
  });

  it('a hand-computed product: [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]], batched twice', async () => {
    await new WasmBackend().activate();
    const c = tf.tidy(() => tf.matMul(tf.tensor3d([1, 2, 3, 4, 1, 2, 3, 4], [2, 2, 2]), tf.tensor3d([5, 6, 7, 8, 5, 6, 7, 8], [2, 2, 2])).dataSync());
    expect(Array.from(c)).toEqual([19, 22, 43, 50, 19, 22, 43, 50]);
  });
});

describe('Identity and same-dtype Cast share the buffer', () => {
  it('a clone shares the buffer and survives disposing the original', async () => {
    await new WasmBackend().activate();
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    expect(y.dataId).toBe(x.dataId);
    expect(z.dataId).toBe(x.dataId);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(z.dataSync())).toEqual([1, 2, 3]);
    const w = tf.cast(y, 'int32');
    expect(w.dtype).toBe('int32');
    expect(w.dataId).not.toBe(y.dataId);
    tf.dispose([y, z]);
    expect(Array.from(w.dataSync())).toEqual([1, 2, 3]);
    w.dispose();
  });
});

describe('Transpose keeping the innermost axis (Kiln kernel) matches cpu', () => {
  const cases: Array<[number[], number[], 'float32' | 'int32']> = [
    [[2, 3, 4, 5], [0, 2, 1, 3], 'float32'],
    [[2, 3, 8], [1, 0, 2], 'int32'],
    [[3, 4, 2, 5, 6], [3, 1, 0, 2, 4], 'float32'],
    [[7, 4], [0, 1], 'float32'],
  ];
  it.each(cases)('shape %j perm %j %s', async (shape, perm, dtype) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = dtype === 'int32' ? Int32Array.from({ length: size }, (_, i) => i) : randomValues(size, 51);
    const run = () => tf.tidy(() => Array.from(tf.transpose(tf.tensor(values, shape, dtype), perm).dataSync()));
    await new CpuBackend().activate();
    const expected = run();
    await new WasmBackend().activate();
    expect(run()).toEqual(expected);
  });
});
