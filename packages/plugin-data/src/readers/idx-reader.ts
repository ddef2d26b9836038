import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { z } from 'zod';
import { ConfigError, DataError } from '@kiln/core';
import type { Dataset, DatasetInfo, Example, Reader, Split } from '@kiln/core';
import { resolvePath, type ReaderContext } from '../paths';

const SplitFiles = z.strictObject({
  images: z.string().describe('IDX image file (e.g. train-images-idx3-ubyte[.gz])'),
  labels: z.string().describe('IDX label file (e.g. train-labels-idx1-ubyte[.gz])'),
});

export const IdxReaderOptions = z.strictObject({
  train: SplitFiles.describe('Training images and labels'),
  val: SplitFiles.optional().describe('Validation images and labels (MNIST: the t10k files)'),
  test: SplitFiles.optional().describe('Test images and labels'),
  classes: z.array(z.string()).optional().describe("Class names (default '0'…'9' or up to the largest label)"),
});
export type IdxReaderOptions = z.output<typeof IdxReaderOptions>;

/** A parsed IDX file: unsigned bytes with their dimensions. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses an IDX file (MNIST format), gunzipping when it starts with the gzip magic. */
export function readIdx(file: string): IdxArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (cause) {
    throw new DataError(`cannot read ${file}`, { where: file, hint: 'check the path (relative paths are resolved against the config directory)', cause });
  }
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (cause) {
      throw new DataError(`corrupt gzip: ${(cause as Error).message}`, { where: file, cause });
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new DataError('not an IDX file (bad magic number)', { where: file });
  if (buf[2] !== 0x08) throw new DataError(`IDX element type 0x${buf[2].toString(16)} is not supported (only unsigned byte, 0x08)`, { where: file });
  const rank = buf[3];
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length < offset + count) throw new DataError(`IDX file truncated: ${buf.length - offset} bytes of data, header says ${count}`, { where: file });
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, count) };
}

/** Bytes of IDX images scaled to [0, 1], one copy per example made on `get`. */
export class IdxDataset implements Dataset {
  private readonly pixels: number;

  constructor(
    readonly info: DatasetInfo,
    private readonly images: Uint8Array,
    private readonly labels: Uint8Array,
    readonly source: string,
  ) {
    this.pixels = info.inputs[0].shape.reduce((a, b) => a * b, 1);
  }

  get size(): number {
    return this.labels.length;
  }

  labelOf(index: number): number {
    return this.labels[index];
  }

  get(index: number): Example {
    if (index < 0 || index >= this.labels.length) throw new RangeError(`index ${index} out of range [0, ${this.labels.length})`);
    const image = new Float32Array(this.pixels);
    const base = index * this.pixels;
    for (let i = 0; i < this.pixels; i++) image[i] = this.images[base + i] / 255;
    return { inputs: { image }, target: this.labels[index], source: `${this.source}#${index}` };
  }
}

/** MNIST-style IDX images + labels; input `image` [rows, cols, 1] in [0, 1]. */
export class IdxReader implements Reader {
  readonly splits: readonly Split[];
  private prepared?: Map<Split, IdxDataset>;

  constructor(
    private readonly options: IdxReaderOptions,
    private readonly context: ReaderContext,
  ) {
    this.splits = (['train', 'val', 'test'] as const).filter((s) => options[s]);
  }

  async load(split: Split): Promise<Dataset> {
    this.prepared ??= this.prepare();
    const dataset = this.prepared.get(split);
    if (!dataset) throw new ConfigError(`this reader has no '${split}' split`, { where: 'data', hint: `available: ${this.splits.join(', ')}` });
    return dataset;
  }

  private prepare(): Map<Split, IdxDataset> {
    const parsed = this.splits.map((split) => {
      const files = this.options[split]!;
      const imagesFile = resolvePath(this.context.baseDir, files.images);
      const labelsFile = resolvePath(this.context.baseDir, files.labels);
      const images = readIdx(imagesFile);
      const labels = readIdx(labelsFile);
      if (images.dims.length !== 3) throw new DataError(`image file has rank ${images.dims.length}, expected 3 (count, rows, cols)`, { where: imagesFile });
      if (labels.dims.length !== 1) throw new DataError(`label file has rank ${labels.dims.length}, expected 1`, { where: labelsFile });
      if (images.dims[0] !== labels.dims[0]) {
        throw new DataError(`${images.dims[0]} images but ${labels.dims[0]} labels`, { where: labelsFile, hint: 'images and labels files must belong together' });
      }
      return { split, images, labels, imagesFile };
    });
    const first = parsed[0];
    const maxLabel = Math.max(...parsed.map((p) => p.labels.data.reduce((m, v) => Math.max(m, v), 0)));
    const classes = this.options.classes ?? Array.from({ length: Math.max(10, maxLabel + 1) }, (_, i) => String(i));
    const info: DatasetInfo = {
      task: 'classification',
      inputs: [{ name: 'image', shape: [first.images.dims[1], first.images.dims[2], 1], dtype: 'float32' }],
      targetShape: [],
      targetDtype: 'int32',
      classNames: classes,
      extra: { mean: [0], std: [1], scale: 1 / 255 },
    };
    const out = new Map<Split, IdxDataset>();
    for (const p of parsed) {
      if (p.images.dims[1] !== first.images.dims[1] || p.images.dims[2] !== first.images.dims[2]) {
        throw new DataError(`images are ${p.images.dims[1]}×${p.images.dims[2]}, training images are ${first.images.dims[1]}×${first.images.dims[2]}`, { where: p.imagesFile });
      }
      const bad = p.labels.data.findIndex((v) => v >= classes.length);
      if (bad >= 0) throw new DataError(`label ${p.labels.data[bad]} at item ${bad} has no class (${classes.length} classes)`, { where: resolvePath(this.context.baseDir, this.options[p.split]!.labels) });
      out.set(p.split, new IdxDataset(info, p.images.data, p.labels.data, p.imagesFile));
    }
    return out;
  }
}
