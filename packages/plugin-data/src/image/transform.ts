import type { RgbaImage } from './codec';

/** RGBA bytes → float [h, w, c] in [0, 255]; gray uses ITU-R BT.601 luma, alpha is dropped. */
export function toChannels(image: RgbaImage, channels: 1 | 3): Float32Array {
  const n = image.width * image.height;
  const out = new Float32Array(n * channels);
  const d = image.data;
  for (let i = 0; i < n; i++) {
    if (channels === 3) {
      out[i * 3] = d[i * 4];
      out[i * 3 + 1] = d[i * 4 + 1];
      out[i * 3 + 2] = d[i * 4 + 2];
    } else {
      out[i] = 0.299 * d[i * 4] + 0.587 * d[i * 4 + 1] + 0.114 * d[i * 4 + 2];
    }
  }
  return out;
}

/**
 * Bilinear resize of [h, w, c] with half-pixel centers (as tf.image.resizeBilinear with
 * halfPixelCenters, PIL and OpenCV), edges clamped.
 */
export function resizeBilinear(src: Float32Array, h: number, w: number, c: number, outH: number, outW: number): Float32Array {
  if (h === outH && w === outW) return src.slice();
  const out = new Float32Array(outH * outW * c);
  const sy = h / outH;
  const sx = w / outW;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const dy = fy - y0;
    for (let x = 0; x < outW; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const dx = fx - x0;
      for (let k = 0; k < c; k++) {
        const a = src[(y0 * w + x0) * c + k];
        const b = src[(y0 * w + x1) * c + k];
        const d = src[(y1 * w + x0) * c + k];
        const e = src[(y1 * w + x1) * c + k];
        out[(y * outW + x) * c + k] = (a * (1 - dx) + b * dx) * (1 - dy) + (d * (1 - dx) + e * dx) * dy;
      }
    }
  }
  return out;
}

/** In place: x → (x / 255 − mean[k]) / std[k] per channel k. */
export function normalize(pixels: Float32Array, channels: number, mean: readonly number[], std: readonly number[]): Float32Array {
  for (let i = 0; i < pixels.length; i++) {
    const k = i % channels;
    pixels[i] = (pixels[i] / 255 - mean[k]) / std[k];
  }
  return pixels;
}
