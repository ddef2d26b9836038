import { uniformArray } from '@kiln/core';

/** Deterministic values in [0, 1). */
export const uniform = (size: number, seed: number): Float32Array => uniformArray(size, seed);

/**
 * `count` noisy side×side×3 images of 4 classes: class k has a bright square in quadrant k
 * (top-left, top-right, bottom-left, bottom-right), tinted by channel k mod 3.
 */
export function quadrantImages(count: number, side: number, seed: number): { pixels: Float32Array; labels: Int32Array } {
  const noise = uniform(count * side * side * 3, seed);
  const pixels = new Float32Array(count * side * side * 3);
  const labels = new Int32Array(count);
  const half = side / 2;
  for (let n = 0; n < count; n++) {
    const k = n % 4;
    labels[n] = k;
    const top = k < 2 ? 0 : half;
    const left = k % 2 === 0 ? 0 : half;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const inside = y >= top + 1 && y < top + half - 1 && x >= left + 1 && x < left + half - 1;
        for (let c = 0; c < 3; c++) {
          const i = ((n * side + y) * side + x) * 3 + c;
          pixels[i] = 0.3 * noise[i] + (inside ? (c === k % 3 ? 0.9 : 0.5) : 0);
        }
      }
    }
  }
  return { pixels, labels };
}
