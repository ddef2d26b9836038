import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as jpeg from 'jpeg-js';
import { encodePng, readImageHeader } from '../src/image/codec';
import { resizeBilinear } from '../src/image/transform';
import { ImageFolderReader, ImageFolderReaderOptions, type ImageFolderDataset } from '../src/readers/image-folder-reader';
import { renderShape, writeImageFolder, SHAPE_NAMES } from '../src/synthetic/shapes';
import { kilnError, tempDir, write } from './helpers';

const make = (options: Record<string, unknown>, baseDir: string, seed = 1) =>
  new ImageFolderReader(ImageFolderReaderOptions.parse(options), { baseDir, seed });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('bilinear resize uses half-pixel centers (hand-computed 2×2 → 4×4)', () => {
  // Source [[0, 10], [20, 30]]: sample positions per axis are clamp((i + 0.5)/2 − 0.5) = 0, .25, .75, 1.
  const out = resizeBilinear(Float32Array.of(0, 10, 20, 30), 2, 2, 1, 4, 4);
  const w = [0, 0.25, 0.75, 1];
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) expect(out[y * 4 + x]).toBeCloseTo(10 * w[x] + 20 * w[y], 5);
});

test('bilinear resize matches tf.image.resizeBilinear(halfPixelCenters)', () => {
  const src = Float32Array.from({ length: 7 * 5 * 3 }, (_, i) => (i * 37) % 101);
  for (const [oh, ow] of [[3, 4], [11, 9]]) {
    const ours = resizeBilinear(src, 7, 5, 3, oh, ow);
    const theirs = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(src, [7, 5, 3]), [oh, ow], false, true).dataSync());
    ours.forEach((v, i) => expect(v).toBeCloseTo(theirs[i], 3));
  }
});

describe('image-folder reader', () => {
  const dir = tempDir();
  // 2×2 RGB images; a/ holds one PNG and one JPEG, b/ one PNG.
  const red = encodePng(Uint8Array.of(255, 0, 0, 0, 0, 0, 0, 0, 0, 100, 50, 200), 2, 2, 3);
  write(dir, 'flat/a/1.png', red);
  const rgba = Buffer.alloc(8 * 8 * 4);
  for (let i = 0; i < 64; i++) rgba.set([200, 200, 200, 255], i * 4);
  write(dir, 'flat/a/2.jpg', jpeg.encode({ data: rgba, width: 8, height: 8 }, 100).data);
  write(dir, 'flat/b/1.png', encodePng(Uint8Array.of(0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255), 2, 2, 3));
  write(dir, 'flat/b/notes.txt', 'ignored');

  test('decodes PNG and JPEG, converts channels, resizes and normalizes', async () => {
    const r = make({ path: 'flat', valSplit: 0, size: [2, 2], channels: 1, mean: [0.5], std: [0.25] }, dir);
    const ds = (await r.load('train')) as ImageFolderDataset;
    expect(ds.info.classNames).toEqual(['a', 'b']);
    expect(ds.info.inputs).toEqual([{ name: 'image', shape: [2, 2, 1], dtype: 'float32' }]);
    expect(ds.info.extra).toMatchObject({ mean: [0.5], std: [0.25] });
    expect(ds.size).toBe(3);
    const png = ds.get(0);
    const gray = (r: number, g: number, b: number) => ((0.299 * r + 0.587 * g + 0.114 * b) / 255 - 0.5) / 0.25;
    expect(png.inputs.image[0]).toBeCloseTo(gray(255, 0, 0), 5);
    expect(png.inputs.image[3]).toBeCloseTo(gray(100, 50, 200), 5);
    expect(png.target).toBe(0);
    const jpg = ds.get(1);
    expect(jpg.source).toBe(path.join(dir, 'flat/a/2.jpg'));
    // Uniform gray 200 at quality 100, downsampled 8×8 → 2×2: within JPEG rounding.
    for (const v of jpg.inputs.image) expect(Math.abs(v - gray(200, 200, 200))).toBeLessThan(0.05);
    expect(ds.labelOf(2)).toBe(1);
    expect(ds.get(2).target).toBe(1);
  });

  test('without train/val folders the files are split by valSplit, deterministically from the seed', async () => {
    const files = async (seed: number, split: 'train' | 'val') => ((await make({ path: 'flat', valSplit: 0.34 }, dir, seed).load(split)) as ImageFolderDataset).files;
    const val = await files(1, 'val');
    const train = await files(1, 'train');
    expect(val).toHaveLength(1);
    expect(train).toHaveLength(2);
    expect([...train, ...val].sort()).toEqual(['flat/a/1.png', 'flat/a/2.jpg', 'flat/b/1.png'].map((f) => path.join(dir, f)));
    expect(await files(1, 'val')).toEqual(val);
    const seen = new Set<string>();
    for (let seed = 0; seed < 12; seed++) seen.add((await files(seed, 'val'))[0]);
    expect(seen.size).toBe(3);
  });

  test('RGB at a larger size keeps channels and drops alpha', async () => {
    const ds = await make({ path: 'flat', valSplit: 0, size: [4, 4] }, dir).load('train');
    const image = ds.get(0).inputs.image;
    expect(image).toHaveLength(4 * 4 * 3);
    // Top-left output pixel samples source (0, 0) only: pure red.
    expect(Array.from(image.slice(0, 3))).toEqual([1, 0, 0]);
  });

  test('a corrupt image fails at load with its path', async () => {
    const bad = write(dir, 'broken/a/ok.png', red);
    write(dir, 'broken/b/bad.png', Buffer.concat([red.subarray(0, 8), Buffer.from('garbage!garbage!garbage!')]));
    expect(readImageHeader(bad).format).toBe('png');
    const error = await kilnError(() => make({ path: 'broken', valSplit: 0 }, dir).load('train'));
    expect(error.code).toBe('E_DATA');
    expect(error.where).toBe(path.join(dir, 'broken/b/bad.png'));
    write(dir, 'broken2/a/x.jpg', 'not really a jpeg');
    const error2 = await kilnError(() => make({ path: 'broken2', valSplit: 0 }, dir).load('train'));
    expect(error2.where).toBe(path.join(dir, 'broken2/a/x.jpg'));
  });

  test('reads what writeImageFolder wrote (train/val layout), pixel for pixel', async () => {
    const root = path.join(dir, 'shapes');
    const counts = writeImageFolder(root, { seed: 5, size: 16, numClasses: 3, trainSize: 12, valSize: 6 });
    expect(counts).toEqual({ train: 12, val: 6 });
    expect(fs.readdirSync(path.join(root, 'train')).sort()).toEqual([...SHAPE_NAMES.slice(0, 3)].sort());
    const r = make({ path: 'shapes', size: [16, 16] }, dir);
    expect(r.splits).toEqual(['train', 'val']);
    const val = (await r.load('val')) as ImageFolderDataset;
    expect(val.size).toBe(6);
    for (let i = 0; i < val.size; i++) {
      const index = Number(path.basename(val.files[i], '.png'));
      const expected = renderShape(5, 'val', index, { size: 16, numClasses: 3, noise: 0.05 });
      expect(val.info.classNames![val.labelOf(i)]).toBe(SHAPE_NAMES[expected.label]);
      const got = val.get(i).inputs.image;
      // PNG stores 8 bits: within half a level of the rendered float.
      got.forEach((v, k) => expect(Math.abs(v - expected.pixels[k])).toBeLessThanOrEqual(0.5 / 255 + 1e-6));
    }
  });
});
