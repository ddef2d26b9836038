import * as tf from '@tensorflow/tfjs-core';
import { GLOBAL_NORM_KERNEL, globalNorm } from '@kiln/core';
import { CpuBackend } from '../src/cpu-backend';
import { WasmBackend } from '../src/wasm-backend';
import { randomValues } from './helpers';
import { kilnWasm, type WasmBackendInternals } from '../src/kernels/kiln-wasm';

// Odd sizes (tail of the 4-way unrolled loop), a scalar, and a large tensor.
const SHAPES = [[3, 5], [7], [], [33, 17], [257, 129]];

function expectedNorm(arrays: Float32Array[]): number {
  let total = 0;
  for (const a of arrays) for (const v of a) total += v * v;
  return Math.sqrt(total);
}

describe.each([
  ['wasm', () => new WasmBackend({}).activate()],
  ['cpu', () => new CpuBackend({}).activate()],
])('KilnGlobalNorm kernel on %s', (name, activate) => {
  beforeAll(async () => {
    await activate();
  });

  it('is registered, so the Trainer uses one kernel', () => {
    expect(tf.getBackend()).toBe(name);
    expect(tf.getKernel(GLOBAL_NORM_KERNEL, name)).toBeDefined();
    // On wasm the norm runs in Kiln's SIMD module over tfjs-wasm's memory (the JS loop is the fallback).
    if (name === 'wasm') expect(kilnWasm(tf.backend() as unknown as WasmBackendInternals)?.sumSquares).toBeInstanceOf(Function);
  });

  it('equals the float64 norm of all values together', () => {
    const arrays = SHAPES.map((shape, i) => randomValues(shape.reduce((a, b) => a * b, 1), 7 + i));
    const tensors = arrays.map((a, i) => tf.tensor(a, SHAPES[i]));
    const before = tf.memory().numTensors;
    const norm = globalNorm(tensors);
    expect(norm.shape).toEqual([]);
    expect(norm.dataSync()[0]).toBeCloseTo(expectedNorm(arrays), 3);
    norm.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(tensors);
  });

  it('is NaN or Infinity when any value is', () => {
    const a = tf.tensor([1, 2, NaN]);
    const b = tf.tensor([Infinity, 0]);
    const c = tf.tensor([3, 4]);
    const read = (ts: tf.Tensor[]) => tf.tidy(() => globalNorm(ts).dataSync()[0]);
    expect(Number.isNaN(read([c, a]))).toBe(true);
    expect(read([b, c])).toBe(Infinity);
    expect(read([c])).toBeCloseTo(5, 6);
    tf.dispose([a, b, c]);
  });
});
