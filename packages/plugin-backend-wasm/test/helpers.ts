import * as tf from '@tensorflow/tfjs-core';
import { uniformArray } from '@kiln/core';
import { CpuBackend } from '../src/cpu-backend';
import { WasmBackend } from '../src/wasm-backend';

/** Deterministic pseudo-random values in [-1, 1), so cpu and wasm see the same inputs. */
export function randomValues(size: number, seed: number): Float32Array {
  return uniformArray(size, seed, -1, 1);
}

export interface Input {
  shape: number[];
  values?: Float32Array | Int32Array;
  dtype?: 'float32' | 'int32';
  /** Inputs the gradient is taken with respect to (default: every float input). */
  differentiable?: boolean;
}

/** Gradients of sum(f(...inputs) · w) for a fixed random w, on the active backend, as plain arrays. */
function gradsOn(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: Input[]): { value: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const tensors = inputs.map((input, i) =>
      input.dtype === 'int32'
        ? tf.tensor(input.values as Int32Array, input.shape, 'int32')
        : tf.tensor(input.values ?? randomValues(input.shape.reduce((a, b) => a * b, 1), 1000 + i), input.shape),
    );
    const wrt = inputs.map((input, i) => (input.dtype !== 'int32' && input.differentiable !== false ? i : -1)).filter((i) => i >= 0);
    const loss = (...xs: tf.Tensor[]) => {
      const all = tensors.map((t, i) => {
        const k = wrt.indexOf(i);
        return k >= 0 ? xs[k] : t;
      });
      const y = f(...all);
      const w = tf.tensor(randomValues(y.size, 7), y.shape);
      return tf.sum(tf.mul(y, w));
    };
    const { value, grads } = tf.valueAndGrads(loss)(wrt.map((i) => tensors[i]));
    return { value: value.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

/** max|a−b| / max|b|: the error relative to the reference tensor's scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-12);
}

const cpu = new CpuBackend();
const wasm = new WasmBackend();

/** Runs the gradient on cpu (the reference) and on wasm; returns the worst relative error and the reference. */
export async function compareGradients(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: Input[]): Promise<{ error: number; reference: Float32Array[] }> {
  await cpu.activate();
  const ref = gradsOn(f, inputs);
  await wasm.activate();
  const got = gradsOn(f, inputs);
  let error = relativeError(got.value, ref.value);
  ref.grads.forEach((g, i) => {
    expect(got.grads[i].length).toBe(g.length);
    error = Math.max(error, relativeError(got.grads[i], g));
  });
  return { error, reference: ref.grads };
}
