import * as tf from '@tensorflow/tfjs-core';
import { uniformArray } from '@kiln/core';
import { loadAddon } from '../src/addon';
import { NativeBackend } from '../src/native-backend';
import { NATIVE_TF_BACKEND } from '../src/kernels/register';

/** Whether the addon built; the suites skip (saying why) when it did not. */
export const addonLoad = loadAddon();
export const describeNative = addonLoad.ok ? describe : describe.skip;
if (!addonLoad.ok) {
  // eslint-disable-next-line no-console
  console.warn(`plugin-backend-native tests skipped: ${addonLoad.reason}`);
}

export async function activateNative(): Promise<void> {
  await new NativeBackend().activate();
  await import('@tensorflow/tfjs-backend-cpu');
  tf.setBackend('cpu');
  // The reference backend's "install tfjs-node" banner is noise in test output.
  (tf.findBackend('cpu') as unknown as { firstUse: boolean }).firstUse = false;
}

/** Deterministic pseudo-random values in [-1, 1), so both backends see the same inputs. */
export function randomValues(size: number, seed: number): Float32Array {
  return uniformArray(size, seed, -1, 1);
}

export function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/** max|a−b| / max|b|: the error relative to the reference tensor's scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Runs f on tfjs's JS cpu backend and on kiln-native; returns both results' values (f must build its inputs). */
export function onBoth(f: () => tf.Tensor | tf.Tensor[]): { native: Float32Array[]; cpu: Float32Array[] } {
  const run = (backend: string): Float32Array[] => {
    tf.setBackend(backend);
    return tf.tidy(() => {
      const out = f();
      return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync() as Float32Array));
    });
  };
  const cpu = run('cpu');
  const native = run(NATIVE_TF_BACKEND);
  return { native, cpu };
}

/** Asserts every output of f agrees between the backends to `tolerance` relative. */
export function expectSame(f: () => tf.Tensor | tf.Tensor[], tolerance = 1e-4): void {
  const { native, cpu } = onBoth(f);
  expect(native.length).toBe(cpu.length);
  for (let i = 0; i < cpu.length; i++) {
    expect(native[i].length).toBe(cpu[i].length);
    expect(relativeError(native[i], cpu[i])).toBeLessThan(tolerance);
  }
}

/** Gradients of sum(f(...xs) · w) for a fixed random w. */
export function gradsOf(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
  return tf.grads((...args: tf.Tensor[]) => {
    const y = f(...args);
    return tf.sum(tf.mul(y, tf.tensor(randomValues(y.size, 77), y.shape)));
  })(xs);
}
