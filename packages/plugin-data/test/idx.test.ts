import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { IdxReader, IdxReaderOptions } from '../src/readers/idx-reader';
import { kilnError, tempDir, write } from './helpers';

/** An IDX ubyte file: magic 0 0 8 rank, big-endian dims, then the bytes. */
function idx(dims: number[], bytes: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.set([0, 0, 8, dims.length]);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(bytes)]);
}

const dir = tempDir();
const pixels = Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
write(dir, 'img', idx([3, 2, 2], pixels));
write(dir, 'lbl.gz', zlib.gzipSync(idx([3], [7, 0, 9])));
write(dir, 'lbl-short', idx([2], [1, 2]));

test('reads images scaled to [0, 1] and gzip’d labels', async () => {
  const r = new IdxReader(IdxReaderOptions.parse({ train: { images: 'img', labels: 'lbl.gz' } }), { baseDir: dir, seed: 0 });
  const ds = await r.load('train');
  expect(ds.size).toBe(3);
  expect(ds.info.inputs[0]).toEqual({ name: 'image', shape: [2, 2, 1], dtype: 'float32' });
  expect(ds.info.classNames).toHaveLength(10);
  const second = ds.get(1);
  expect(Array.from(second.inputs.image)).toEqual([80, 100, 120, 140].map((v) => Math.fround(v / 255)));
  expect(second.target).toBe(0);
  expect(ds.labelOf!(2)).toBe(9);
});

test('count mismatch and bad magic are DataErrors naming the file', async () => {
  const mismatch = await kilnError(() => new IdxReader(IdxReaderOptions.parse({ train: { images: 'img', labels: 'lbl-short' } }), { baseDir: dir, seed: 0 }).load('train'));
  expect(mismatch.where).toBe(path.join(dir, 'lbl-short'));
  write(dir, 'junk', 'hello world');
  const magic = await kilnError(() => new IdxReader(IdxReaderOptions.parse({ train: { images: 'junk', labels: 'lbl.gz' } }), { baseDir: dir, seed: 0 }).load('train'));
  expect(magic.where).toBe(path.join(dir, 'junk'));
});
