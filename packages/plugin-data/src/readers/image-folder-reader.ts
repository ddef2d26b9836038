import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { ConfigError, DataError, SeededRng } from '@kiln/core';
import type { Dataset, DatasetInfo, Example, Reader, Split } from '@kiln/core';
import { splitIndices } from '../dataset';
import { resolvePath, type ReaderContext } from '../paths';
import { decodeImage, readImageHeader } from '../image/codec';
import { normalize, resizeBilinear, toChannels } from '../image/transform';

export const ImageFolderReaderOptions = z
  .strictObject({
    path: z.string().describe('Root folder: `<root>/<class>/*.png|jpg|jpeg`, or `<root>/train|val|test/<class>/…`'),
    size: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([32, 32]).describe('Output [height, width]; images are resized bilinearly'),
    channels: z.union([z.literal(1), z.literal(3)]).default(3).describe('1 = grayscale, 3 = RGB (alpha is dropped)'),
    mean: z.array(z.number()).optional().describe('Per-channel mean subtracted after scaling to [0, 1] (default 0)'),
    std: z.array(z.number().positive()).optional().describe('Per-channel std divided by after the mean (default 1)'),
    valSplit: z.number().min(0).max(0.9).default(0.2).describe('Held-out fraction when the root has no train/val folders'),
    cacheSize: z.number().int().min(0).default(1024).describe('Decoded images kept in memory per split (LRU)'),
  });
export type ImageFolderReaderOptions = z.output<typeof ImageFolderReaderOptions>;

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

function subdirs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
}

function listClassFolder(root: string): { files: string[]; classes: string[]; labels: string[] } {
  const classes = subdirs(root);
  const files: string[] = [];
  const labels: string[] = [];
  for (const cls of classes) {
    const dir = path.join(root, cls);
    for (const name of fs.readdirSync(dir).sort()) {
      if (!IMAGE_EXT.has(path.extname(name).toLowerCase())) continue;
      files.push(path.join(dir, name));
      labels.push(cls);
    }
  }
  return { files, classes, labels };
}

/** Images decoded on demand (`get`) with a small LRU cache; headers were checked at load. */
export class ImageFolderDataset implements Dataset {
  private readonly cache = new Map<number, Float32Array>();

  constructor(
    readonly info: DatasetInfo,
    readonly files: readonly string[],
    private readonly labels: readonly number[],
    private readonly cacheSize: number,
  ) {}

  get size(): number {
    return this.files.length;
  }

  labelOf(index: number): number {
    return this.labels[index];
  }

  get(index: number): Example {
    if (index < 0 || index >= this.files.length) throw new RangeError(`index ${index} out of range [0, ${this.files.length})`);
    let pixels = this.cache.get(index);
    if (pixels) {
      this.cache.delete(index);
    } else {
      pixels = this.decode(index);
    }
    if (this.cacheSize > 0) {
      this.cache.set(index, pixels);
      if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value as number);
    }
    return { inputs: { image: pixels }, target: this.labels[index], source: this.files[index] };
  }

  private decode(index: number): Float32Array {
    const [h, w, c] = this.info.inputs[0].shape;
    const extra = this.info.extra as { mean: number[]; std: number[] };
    const image = decodeImage(this.files[index]);
    const resized = resizeBilinear(toChannels(image, c as 1 | 3), image.height, image.width, c, h, w);
    return normalize(resized, c, extra.mean, extra.std);
  }
}

/** Class-per-folder images, decoded with pngjs / jpeg-js; input `image` [h, w, c] float32. */
export class ImageFolderReader implements Reader {
  readonly splits: readonly Split[];
  private readonly root: string;
  private readonly layout: 'split-folders' | 'class-folders';
  private prepared?: Map<Split, ImageFolderDataset>;

  constructor(
    private readonly options: ImageFolderReaderOptions,
    private readonly context: ReaderContext,
  ) {
    this.root = resolvePath(context.baseDir, options.path);
    if (!fs.existsSync(this.root) || !fs.statSync(this.root).isDirectory()) {
      throw new DataError(`image folder ${this.root} does not exist`, { where: this.root, hint: 'set `data.path` to a folder of class folders' });
    }
    const c = options.channels;
    for (const key of ['mean', 'std'] as const) {
      if (options[key] && options[key]!.length !== c) throw new ConfigError(`\`${key}\` has ${options[key]!.length} values for ${c} channel(s)`, { where: `data.${key}` });
    }
    const top = subdirs(this.root);
    if (top.includes('train')) {
      this.layout = 'split-folders';
      this.splits = (['train', 'val', 'test'] as const).filter((s) => top.includes(s));
    } else {
      this.layout = 'class-folders';
      this.splits = options.valSplit > 0 ? ['train', 'val'] : ['train'];
    }
  }

  async load(split: Split): Promise<Dataset> {
    this.prepared ??= this.prepare();
    const dataset = this.prepared.get(split);
    if (!dataset) throw new ConfigError(`this reader has no '${split}' split`, { where: 'data', hint: `available: ${this.splits.join(', ')}` });
    return dataset;
  }

  private prepare(): Map<Split, ImageFolderDataset> {
    const { options } = this;
    const c = options.channels;
    const lists = new Map<Split, { files: string[]; labels: string[] }>();
    let classes: string[];
    if (this.layout === 'split-folders') {
      const train = listClassFolder(path.join(this.root, 'train'));
      classes = train.classes;
      for (const split of this.splits) {
        const list = split === 'train' ? train : listClassFolder(path.join(this.root, split));
        const unknown = list.classes.find((k) => !classes.includes(k));
        if (unknown) throw new DataError(`class folder '${unknown}' is not in train/`, { where: path.join(this.root, split, unknown), hint: 'every split must use the training classes' });
        lists.set(split, list);
      }
    } else {
      const all = listClassFolder(this.root);
      classes = all.classes;
      const { train, val } = splitIndices(all.files.length, options.valSplit, new SeededRng(this.context.seed).fork('image-val-split'));
      const pick = (idx: number[]) => ({ files: idx.map((i) => all.files[i]), labels: idx.map((i) => all.labels[i]) });
      lists.set('train', pick(train));
      if (options.valSplit > 0) lists.set('val', pick(val));
    }
    if (classes.length === 0) throw new DataError('no class folders found', { where: this.root, hint: 'expected <root>/<class>/*.png|jpg|jpeg' });
    const info: DatasetInfo = {
      task: 'classification',
      inputs: [{ name: 'image', shape: [options.size[0], options.size[1], c], dtype: 'float32' }],
      targetShape: [],
      targetDtype: 'int32',
      classNames: classes,
      extra: { mean: options.mean ?? new Array(c).fill(0), std: options.std ?? new Array(c).fill(1), channels: c, size: options.size, scale: 1 / 255 },
    };
    const out = new Map<Split, ImageFolderDataset>();
    for (const [split, list] of lists) {
      if (list.files.length === 0) throw new DataError(`no images in the ${split} split`, { where: this.root, hint: 'add .png/.jpg/.jpeg files under class folders' });
      for (const file of list.files) readImageHeader(file);
      out.set(split, new ImageFolderDataset(info, list.files, list.labels.map((l) => classes.indexOf(l)), options.cacheSize));
    }
    return out;
  }
}
