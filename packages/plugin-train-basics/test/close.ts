import type { Tensor } from '@tensorflow/tfjs-core';

/** float32 holds ~7 significant digits, so compare to 1e-6 relative (absolute below 1). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const bound = tolerance * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= bound)) {
      throw new Error(`element ${i}: expected ${expected[i]}, received ${actual[i]} (difference ${Math.abs(actual[i] - expected[i])} > ${bound})`);
    }
  }
}

export const values = (t: Tensor): number[] => Array.from(t.dataSync());
