import * as path from 'node:path';
import { CsvReader, CsvReaderOptions } from '../src/readers/csv-reader';
import { renderShape, ShapesOptions, SyntheticShapesReader, SHAPE_NAMES, type ShapesDataset } from '../src/synthetic/shapes';
import { buildVocabulary, generateNer, generateTextClassification, NER_TAGS, SyntheticTextOptions, SyntheticTextReader, TOPIC_CLASSES } from '../src/synthetic/text';
import { generateTabular, GROUP_OFFSETS, GROUPS, SyntheticTabularOptions, SyntheticTabularReader, writeTabularCsv } from '../src/synthetic/tabular';
import { tempDir } from './helpers';

describe('synthetic-shapes', () => {
  const options = ShapesOptions.parse({ trainSize: 400, valSize: 50 });

  test('deterministic from the seed, different across seeds and splits', () => {
    const a = renderShape(1, 'train', 3, options);
    expect(renderShape(1, 'train', 3, options)).toEqual(a);
    expect(renderShape(2, 'train', 3, options).pixels).not.toEqual(a.pixels);
    expect(renderShape(1, 'val', 3, options).pixels).not.toEqual(a.pixels);
  });

  test('images in [0, 1], classes balanced, labelOf without rendering agrees with get', async () => {
    const ds = (await new SyntheticShapesReader(options, { seed: 9 }).load('train')) as ShapesDataset;
    expect(ds.size).toBe(400);
    expect(ds.info.classNames).toEqual(SHAPE_NAMES.slice(0, 4));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < ds.size; i++) counts[ds.labelOf(i)]++;
    // Binomial(400, 1/4): sd ≈ 8.7, so 100 ± 35 is a 4-sigma band.
    for (const c of counts) expect(Math.abs(c - 100)).toBeLessThan(35);
    for (let i = 0; i < 20; i++) {
      const ex = ds.get(i);
      expect(ex.target).toBe(ds.labelOf(i));
      expect(ex.inputs.image).toHaveLength(32 * 32 * 3);
      expect(Math.min(...ex.inputs.image)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...ex.inputs.image)).toBeLessThanOrEqual(1);
    }
  });

  test('boxes bound the shape: pixels inside differ from the background color', () => {
    const sample = renderShape(4, 'train', 0, { ...options, noise: 0 });
    const [x0, y0, x1, y1] = sample.box;
    expect(x1 - x0).toBeGreaterThanOrEqual(5);
    expect(y1 - y0).toBeGreaterThanOrEqual(5);
    const at = (x: number, y: number) => Array.from(sample.pixels.slice((y * 32 + x) * 3, (y * 32 + x) * 3 + 3));
    const background = at(0, 0);
    // Without noise every pixel outside the box is exactly the background.
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) if (x < x0 || x >= x1 || y < y0 || y >= y1) expect(at(x, y)).toEqual(background);
    // Each edge row/column of the box has at least one shape pixel.
    const rowHasShape = (y: number) => Array.from({ length: x1 - x0 }, (_, k) => at(x0 + k, y)).some((p) => p.join() !== background.join());
    expect(rowHasShape(y0)).toBe(true);
    expect(rowHasShape(y1 - 1)).toBe(true);
  });

  test('nearest-class-mean on shape masks is far from chance (the task carries signal)', () => {
    // Foreground mask = pixels far from the corner (background) color, centered by the box.
    const feature = (seed: number, i: number) => {
      const s = renderShape(seed, 'train', i, { ...options, noise: 0 });
      const bg = Array.from(s.pixels.slice(0, 3));
      const [x0, y0, x1, y1] = s.box;
      const grid = new Float32Array(64);
      for (let gy = 0; gy < 8; gy++) for (let gx = 0; gx < 8; gx++) {
        const x = Math.min(31, Math.floor(x0 + ((gx + 0.5) * (x1 - x0)) / 8));
        const y = Math.min(31, Math.floor(y0 + ((gy + 0.5) * (y1 - y0)) / 8));
        const p = s.pixels.slice((y * 32 + x) * 3, (y * 32 + x) * 3 + 3);
        grid[gy * 8 + gx] = Math.abs(p[0] - bg[0]) + Math.abs(p[1] - bg[1]) + Math.abs(p[2] - bg[2]) > 0.01 ? 1 : 0;
      }
      return { grid, label: s.label };
    };
    const means = Array.from({ length: 4 }, () => ({ sum: new Float32Array(64), n: 0 }));
    for (let i = 0; i < 200; i++) {
      const f = feature(1, i);
      f.grid.forEach((v, k) => (means[f.label].sum[k] += v));
      means[f.label].n++;
    }
    let correct = 0;
    for (let i = 200; i < 300; i++) {
      const f = feature(1, i);
      const dist = means.map((m) => f.grid.reduce((s, v, k) => s + (v - m.sum[k] / m.n) ** 2, 0));
      if (dist.indexOf(Math.min(...dist)) === f.label) correct++;
    }
    expect(correct).toBeGreaterThan(85);
  });
});

describe('synthetic-text', () => {
  test('classification generator is deterministic and uses its class words', () => {
    const a = generateTextClassification(3, 50);
    expect(generateTextClassification(3, 50)).toEqual(a);
    expect(generateTextClassification(4, 50)).not.toEqual(a);
    for (const { label } of a) expect(TOPIC_CLASSES).toContain(label);
    const sentiment = generateTextClassification(3, 20, 'sentiment');
    for (const { label, text } of sentiment) {
      expect(['positive', 'negative']).toContain(label);
      expect(text.length).toBeGreaterThan(5);
    }
  });

  test('NER tags are valid BIO: every I-X follows B-X or I-X', () => {
    const data = generateNer(2, 200);
    for (const { tokens, tags } of data) {
      expect(tokens).toHaveLength(tags.length);
      tags.forEach((tag, i) => {
        expect(NER_TAGS).toContain(tag);
        if (tag.startsWith('I-')) expect([`B-${tag.slice(2)}`, tag]).toContain(tags[i - 1]);
      });
    }
    const multi = data.find((d) => d.tokens.join(' ').includes('New York'))!;
    const at = multi.tokens.indexOf('New');
    expect(multi.tags.slice(at, at + 2)).toEqual(['B-LOC', 'I-LOC']);
  });

  test('vocabulary: pad and unk first, then by count', () => {
    expect(buildVocabulary([['b', 'a', 'b'], ['c', 'a', 'b']])).toEqual(['[PAD]', '[UNK]', 'b', 'a', 'c']);
    expect(buildVocabulary([['b', 'a', 'b'], ['c']], 2)).toEqual(['[PAD]', '[UNK]', 'b']);
  });

  test('reader emits padded token ids and a mask; val reuses the train vocabulary', async () => {
    const r = new SyntheticTextReader(SyntheticTextOptions.parse({ trainSize: 100, valSize: 20, maxLength: 12 }), { seed: 6 });
    const train = await r.load('train');
    const val = await r.load('val');
    const vocab = (train.info.extra as { vocabulary: string[] }).vocabulary;
    const texts = generateTextClassification(6, 120);
    for (const [ds, offset] of [[train, 0], [val, 100]] as const) {
      for (let i = 0; i < 5; i++) {
        const ex = ds.get(i);
        const words = texts[offset + i].text.split(' ');
        const n = Math.min(12, words.length);
        expect(Array.from(ex.inputs.mask)).toEqual(Array.from({ length: 12 }, (_, k) => (k < n ? 1 : 0)));
        words.slice(0, n).forEach((w, k) => expect(ex.inputs.tokens[k]).toBe(vocab.includes(w) ? vocab.indexOf(w) : 1));
        expect(ex.target).toBe(TOPIC_CLASSES.indexOf(texts[offset + i].label as (typeof TOPIC_CLASSES)[number]));
      }
    }
    expect(train.info.inputs.map((s) => [s.name, s.dtype])).toEqual([['tokens', 'int32'], ['mask', 'int32']]);
  });

  test('NER reader: token-classification with per-token tag targets', async () => {
    const ds = await new SyntheticTextReader(SyntheticTextOptions.parse({ task: 'ner', trainSize: 30, valSize: 0, maxLength: 16, lowercase: false }), { seed: 1 }).load('train');
    expect(ds.info.task).toBe('token-classification');
    expect(ds.info.targetShape).toEqual([16]);
    const gen = generateNer(1, 30)[0];
    const target = ds.get(0).target as Int32Array;
    expect(Array.from(target.slice(0, gen.tags.length))).toEqual(gen.tags.map((t) => NER_TAGS.indexOf(t as (typeof NER_TAGS)[number])));
  });
});

describe('synthetic-tabular', () => {
  test('regression rows follow the stated function up to the noise', () => {
    const { header, rows } = generateTabular({ seed: 1, n: 300, task: 'regression', numFeatures: 3, noise: 0 });
    expect(header).toEqual(['x0', 'x1', 'x2', 'group', 'label']);
    // With noise 0, y − 2·sin(2·x0) − offset[group] is linear in x: fit w by least squares on 3 rows and check the rest.
    const parsed = rows.map((r) => ({ x: r.slice(0, 3).map(Number), g: GROUPS.indexOf(r[3] as 'a'), y: Number(r[4]) }));
    const residual = (p: (typeof parsed)[number]) => p.y - 2 * Math.sin(2 * p.x[0]) - GROUP_OFFSETS[p.g];
    const [a, b, c] = parsed;
    const solve = (m: number[][], v: number[]) => {
      const det = (q: number[][]) => q[0][0] * (q[1][1] * q[2][2] - q[1][2] * q[2][1]) - q[0][1] * (q[1][0] * q[2][2] - q[1][2] * q[2][0]) + q[0][2] * (q[1][0] * q[2][1] - q[1][1] * q[2][0]);
      const d = det(m);
      return [0, 1, 2].map((j) => det(m.map((row, i) => row.map((x, k) => (k === j ? v[i] : x)))) / d);
    };
    const w = solve([a.x, b.x, c.x], [residual(a), residual(b), residual(c)]);
    for (const p of parsed.slice(3, 50)) expect(p.x.reduce((s, v, j) => s + v * w[j], 0)).toBeCloseTo(residual(p), 2);
  });

  test('written CSV is read back by the csv reader; reader variant matches', async () => {
    const dir = tempDir();
    writeTabularCsv(path.join(dir, 'blobs.csv'), { seed: 2, n: 120, numFeatures: 2, numClasses: 3 });
    const ds = await new CsvReader(CsvReaderOptions.parse({ path: 'blobs.csv', label: 'label', valSplit: 0 }), { baseDir: dir, seed: 0 }).load('train');
    expect(ds.size).toBe(120);
    expect(ds.info.classNames).toEqual(['class0', 'class1', 'class2']);
    expect((ds.info.extra as { featureNames: string[] }).featureNames).toEqual(['x0', 'x1', 'group=a', 'group=b', 'group=c']);
    const direct = await new SyntheticTabularReader(SyntheticTabularOptions.parse({ numFeatures: 2, trainSize: 100, valSize: 20 }), { seed: 2 }).load('val');
    expect(direct.size).toBe(20);
    expect(direct.info.inputs[0].shape).toEqual([5]);
  });
});
