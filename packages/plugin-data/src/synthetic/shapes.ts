import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { ConfigError, SeededRng } from '@kiln/core';
import type { Dataset, DatasetInfo, Example, Reader, Rng, Split } from '@kiln/core';
import { encodePng } from '../image/codec';
import type { ReaderContext } from '../paths';

/** Shape classes in label order; `numClasses` takes the first n. */
export const SHAPE_NAMES = ['circle', 'square', 'triangle', 'cross', 'diamond', 'ring'] as const;

export const ShapesOptions = z.strictObject({
  size: z.number().int().min(16).max(256).default(32).describe('Image height and width in pixels'),
  numClasses: z.number().int().min(2).max(SHAPE_NAMES.length).default(4).describe(`Number of shape classes (${SHAPE_NAMES.join(', ')}, in that order)`),
  trainSize: z.number().int().min(1).default(2000).describe('Training images'),
  valSize: z.number().int().min(0).default(500).describe('Validation images'),
  testSize: z.number().int().min(0).default(0).describe('Test images'),
  noise: z.number().min(0).max(0.5).default(0.05).describe('Std of the Gaussian pixel noise (pixels are in [0, 1])'),
});
export type ShapesOptions = z.output<typeof ShapesOptions>;

/** One rendered image with its class and the shape's bounding box. */
export interface ShapeSample {
  pixels: Float32Array;
  label: number;
  /** [x0, y0, x1, y1] in pixels, inclusive-exclusive, of the filled shape. */
  box: [number, number, number, number];
}

function inside(shape: number, dx: number, dy: number, r: number): boolean {
  switch (SHAPE_NAMES[shape]) {
    case 'circle':
      return dx * dx + dy * dy <= r * r;
    case 'square':
      return Math.abs(dx) <= r * 0.8 && Math.abs(dy) <= r * 0.8;
    case 'triangle': {
      // Apex up, base at dy = 0.8r; the half-width grows linearly from the apex.
      if (dy < -r || dy > 0.8 * r) return false;
      return Math.abs(dx) <= ((dy + r) / 1.8) * 1.0;
    }
    case 'cross':
      return (Math.abs(dx) <= r && Math.abs(dy) <= r * 0.3) || (Math.abs(dy) <= r && Math.abs(dx) <= r * 0.3);
    case 'diamond':
      return Math.abs(dx) + Math.abs(dy) <= r;
    case 'ring': {
      const d2 = dx * dx + dy * dy;
      return d2 <= r * r && d2 >= r * r * 0.3;
    }
    default:
      return false;
  }
}

function exampleRng(seed: number, split: Split, index: number): Rng {
  return new SeededRng(seed).fork(`shapes:${split}:${index}`);
}

/** Renders example `index` of `split`: the same (seed, split, index) always gives the same image. */
export function renderShape(seed: number, split: Split, index: number, options: Pick<ShapesOptions, 'size' | 'numClasses' | 'noise'>): ShapeSample {
  const rng = exampleRng(seed, split, index);
  const label = rng.int(0, options.numClasses - 1);
  const S = options.size;
  const bg = [rng.next(), rng.next(), rng.next()];
  let fg = [rng.next(), rng.next(), rng.next()];
  // Keep the shape visible: redraw its color until it differs from the background enough.
  for (let tries = 0; tries < 32 && Math.abs(fg[0] - bg[0]) + Math.abs(fg[1] - bg[1]) + Math.abs(fg[2] - bg[2]) < 0.6; tries++) {
    fg = [rng.next(), rng.next(), rng.next()];
  }
  const r = S * (0.18 + 0.14 * rng.next());
  const cx = r + 1 + rng.next() * (S - 2 * r - 2);
  const cy = r + 1 + rng.next() * (S - 2 * r - 2);
  const pixels = new Float32Array(S * S * 3);
  let x0 = S, y0 = S, x1 = 0, y1 = 0;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const on = inside(label, x + 0.5 - cx, y + 0.5 - cy, r);
      if (on) {
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + 1); y1 = Math.max(y1, y + 1);
      }
      const color = on ? fg : bg;
      for (let k = 0; k < 3; k++) {
        const v = color[k] + options.noise * rng.normal();
        pixels[(y * S + x) * 3 + k] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
  return { pixels, label, box: [x0, y0, x1, y1] };
}

/** Lazily rendered shapes; `boxOf(i)` gives the shape's box for detection. */
export class ShapesDataset implements Dataset {
  readonly info: DatasetInfo;

  constructor(
    private readonly seed: number,
    private readonly split: Split,
    readonly size: number,
    private readonly options: Pick<ShapesOptions, 'size' | 'numClasses' | 'noise'>,
  ) {
    this.info = shapesInfo(options);
  }

  labelOf(index: number): number {
    return exampleRng(this.seed, this.split, index).int(0, this.options.numClasses - 1);
  }

  boxOf(index: number): [number, number, number, number] {
    return renderShape(this.seed, this.split, index, this.options).box;
  }

  get(index: number): Example {
    if (index < 0 || index >= this.size) throw new RangeError(`index ${index} out of range [0, ${this.size})`);
    const sample = renderShape(this.seed, this.split, index, this.options);
    return { inputs: { image: sample.pixels }, target: sample.label, source: `synthetic-shapes:${this.split}:${index}` };
  }
}

export function shapesInfo(options: Pick<ShapesOptions, 'size' | 'numClasses'>): DatasetInfo {
  return {
    task: 'classification',
    inputs: [{ name: 'image', shape: [options.size, options.size, 3], dtype: 'float32' }],
    targetShape: [],
    targetDtype: 'int32',
    classNames: SHAPE_NAMES.slice(0, options.numClasses),
    extra: { mean: [0, 0, 0], std: [1, 1, 1], scale: 1 / 255, boxFormat: 'xyxy-pixels' },
  };
}

/** Deterministic image "shapes" classification data; input `image` [size, size, 3] in [0, 1]. */
export class SyntheticShapesReader implements Reader {
  readonly splits: readonly Split[];

  constructor(
    private readonly options: ShapesOptions,
    private readonly context: Pick<ReaderContext, 'seed'>,
  ) {
    this.splits = (['train', 'val', 'test'] as const).filter((s) => this.sizeOf(s) > 0);
  }

  private sizeOf(split: Split): number {
    return split === 'train' ? this.options.trainSize : split === 'val' ? this.options.valSize : this.options.testSize;
  }

  async load(split: Split): Promise<ShapesDataset> {
    if (!this.splits.includes(split)) throw new ConfigError(`synthetic-shapes has no '${split}' split`, { where: 'data', hint: `set data.${split}Size > 0` });
    return new ShapesDataset(this.context.seed, split, this.sizeOf(split), this.options);
  }
}

/**
 * Writes the shapes data as an image folder, `<dir>/<split>/<class>/<index>.png`, readable by
 * the `image-folder` reader. Returns the number of files written per split.
 */
export function writeImageFolder(dir: string, options: Partial<ShapesOptions> & { seed: number }): Record<string, number> {
  const { seed, ...rest } = options;
  const opts = ShapesOptions.parse(rest);
  const counts: Record<string, number> = {};
  const reader = new SyntheticShapesReader(opts, { seed });
  for (const split of reader.splits) {
    const n = split === 'train' ? opts.trainSize : split === 'val' ? opts.valSize : opts.testSize;
    for (const name of SHAPE_NAMES.slice(0, opts.numClasses)) fs.mkdirSync(path.join(dir, split, name), { recursive: true });
    for (let i = 0; i < n; i++) {
      const sample = renderShape(seed, split, i, opts);
      const bytes = new Uint8Array(sample.pixels.length);
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.round(sample.pixels[j] * 255);
      const file = path.join(dir, split, SHAPE_NAMES[sample.label], `${String(i).padStart(5, '0')}.png`);
      fs.writeFileSync(file, encodePng(bytes, opts.size, opts.size, 3));
    }
    counts[split] = n;
  }
  return counts;
}
