import * as path from 'node:path';
import { CsvReader, CsvReaderOptions } from '../src/readers/csv-reader';
import { kilnError, tempDir, write } from './helpers';

function reader(options: Record<string, unknown>, baseDir: string, seed = 1): CsvReader {
  return new CsvReader(CsvReaderOptions.parse(options), { baseDir, seed });
}

describe('csv reader', () => {
  const dir = tempDir();
  write(dir, 'train.csv', 'age,color,label\n1,red,yes\n2,blue,no\n3,red,yes\n6,green,no\n');
  write(dir, 'val.csv', 'age,color,label\n4,purple,no\n3,blue,yes\n');

  test('reuses given encodings instead of fitting them on the new data', async () => {
    // New data whose own statistics differ: age mean 11, colors blue/pink.
    write(dir, 'drifted.csv', 'age,color,label\n10,blue,yes\n12,pink,no\n');
    const encoding = [
      { name: 'age', kind: 'numeric', mean: 3, std: 2 },
      { name: 'color', kind: 'categorical', categories: ['blue', 'green', 'red'] },
    ];
    const r = reader({ path: 'drifted.csv', valSplit: 0, label: 'label', classes: ['no', 'yes'], encoding }, dir);
    const data = await r.load('train');
    expect((data.info.extra as { columns: unknown[] }).columns).toEqual(encoding);
    const byAge = new Map([0, 1].map((i) => [data.get(i).inputs.features[0], Array.from(data.get(i).inputs.features)]));
    // (10 - 3) / 2 = 3.5 with blue one-hot; (12 - 3) / 2 = 4.5 with the unseen 'pink' as zeros.
    expect(byAge.get(3.5)).toEqual([3.5, 1, 0, 0]);
    expect(byAge.get(4.5)).toEqual([4.5, 0, 0, 0]);
  });

  test('an encoding naming a missing column, or an incomplete one, is refused with its place', async () => {
    const missing = kilnError(() => reader({ path: 'train.csv', label: 'label', encoding: [{ name: 'height', kind: 'numeric', mean: 0, std: 1 }] }, dir).load('train'));
    await expect(missing).resolves.toMatchObject({ message: expect.stringMatching(/column 'height' \(from `encoding.0.name`\) is not in the header/) });
    const incomplete = kilnError(() => reader({ path: 'train.csv', label: 'label', encoding: [{ name: 'age', kind: 'numeric' }] }, dir).load('train'));
    await expect(incomplete).resolves.toMatchObject({ where: 'data.encoding.0', message: expect.stringMatching(/needs `mean` and `std`/) });
  });

  test('standardizes numerics with train stats and one-hot encodes categoricals', async () => {
    const r = reader({ train: 'train.csv', val: 'val.csv', label: 'label' }, dir);
    expect(r.splits).toEqual(['train', 'val']);
    const train = await r.load('train');
    const val = await r.load('val');
    // age in train: 1, 2, 3, 6 → mean 3, population variance (4 + 1 + 0 + 9) / 4 = 3.5.
    const std = Math.sqrt(3.5);
    expect(train.info.inputs).toEqual([{ name: 'features', shape: [4], dtype: 'float32' }]);
    expect(train.info.classNames).toEqual(['no', 'yes']);
    expect(train.info.targetDtype).toBe('int32');
    const extra = train.info.extra as { columns: { name: string; mean?: number; std?: number; categories?: string[] }[]; featureNames: string[] };
    expect(extra.columns[0]).toMatchObject({ name: 'age', kind: 'numeric', mean: 3 });
    expect(extra.columns[0].std).toBeCloseTo(std, 12);
    expect(extra.columns[1]).toMatchObject({ name: 'color', kind: 'categorical', categories: ['blue', 'green', 'red'] });
    expect(extra.featureNames).toEqual(['age', 'color=blue', 'color=green', 'color=red']);
    const first = train.get(0);
    expect(first.inputs.features[0]).toBeCloseTo((1 - 3) / std, 6);
    expect(Array.from(first.inputs.features.slice(1))).toEqual([0, 0, 1]);
    expect(first.target).toBe(1);
    expect(first.source).toBe(`${path.join(dir, 'train.csv')}:2`);
    expect(train.labelOf!(1)).toBe(0);
    // Val uses train stats; the unseen category 'purple' encodes as all zeros.
    const v = val.get(0);
    expect(v.inputs.features[0]).toBeCloseTo((4 - 3) / std, 6);
    expect(Array.from(v.inputs.features.slice(1))).toEqual([0, 0, 0]);
    expect(v.target).toBe(0);
  });

  test('reads TSV (by extension or delimiter), regression, selected features, no standardization', async () => {
    write(dir, 'r.tsv', 'x\ty\tz\tt\n1\t10\t5\t0.5\n2\t20\t5\t1.5\n');
    const r = reader({ path: 'r.tsv', valSplit: 0, label: 't', task: 'regression', features: ['y', 'x'], standardize: false }, dir);
    const ds = await r.load('train');
    expect(ds.info.task).toBe('regression');
    expect(ds.info.targetDtype).toBe('float32');
    expect(ds.size).toBe(2);
    expect(Array.from(ds.get(1).inputs.features)).toEqual([20, 2]);
    expect(ds.get(1).target).toBe(1.5);
    write(dir, 'semi.txt', 'a;label\n1;x\n2;y\n');
    const semi = await reader({ path: 'semi.txt', valSplit: 0, label: 'label', delimiter: ';' }, dir).load('train');
    expect(semi.get(1).target).toBe(1);
  });

  test('valSplit is deterministic from the seed and partitions the rows', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => `${i},${i % 2}`).join('\n');
    write(dir, 'many.csv', `v,label\n${rows}\n`);
    const opts = { path: 'many.csv', label: 'label', valSplit: 0.2, standardize: false };
    const ids = async (seed: number, split: 'train' | 'val') => {
      const ds = await reader(opts, dir, seed).load(split);
      return Array.from({ length: ds.size }, (_, i) => ds.get(i).inputs.features[0]);
    };
    const val1 = await ids(7, 'val');
    const train1 = await ids(7, 'train');
    expect(val1).toHaveLength(10);
    expect(train1).toHaveLength(40);
    expect([...val1, ...train1].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(await ids(7, 'val')).toEqual(val1);
    expect(await ids(8, 'val')).not.toEqual(val1);
  });

  test('a row with the wrong column count is a DataError at file:line naming the column', async () => {
    write(dir, 'short.csv', 'a,b,label\n1,2,x\n3,y\n');
    const error = await kilnError(() => reader({ path: 'short.csv', valSplit: 0, label: 'label' }, dir).load('train'));
    expect(error.code).toBe('E_DATA');
    expect(error.where).toBe(`${path.join(dir, 'short.csv')}:3`);
    expect(error.message).toContain("column 'label' is missing");
  });

  test('a non-numeric value in a numeric column is a DataError at file:line naming the column', async () => {
    write(dir, 'typo.csv', 'a,b,label\n1,2,x\n3,4,y\n5,oops,x\n');
    const error = await kilnError(() => reader({ path: 'typo.csv', valSplit: 0, label: 'label', columns: { b: 'numeric' } }, dir).load('train'));
    expect(error.where).toBe(`${path.join(dir, 'typo.csv')}:4`);
    expect(error.message).toContain("column 'b'");
    expect(error.hint).toContain('categorical');
    // Detected: a column that is ≥ 90% numbers is numeric, so one typo among ten rows is reported too.
    const rows = Array.from({ length: 10 }, (_, i) => `${i === 6 ? 'n/a' : i},x`).join('\n');
    write(dir, 'typo2.csv', `a,label\n${rows}\n`);
    const detected = await kilnError(() => reader({ path: 'typo2.csv', valSplit: 0, label: 'label', classes: ['x', 'y'] }, dir).load('train'));
    expect(detected.where).toBe(`${path.join(dir, 'typo2.csv')}:8`);
  });

  test('a label outside `classes` fails at load, even in the val file', async () => {
    write(dir, 'badval.csv', 'age,color,label\n4,red,maybe\n');
    const error = await kilnError(() => reader({ train: 'train.csv', val: 'badval.csv', label: 'label', classes: ['no', 'yes'] }, dir).load('train'));
    expect(error.where).toBe(`${path.join(dir, 'badval.csv')}:2`);
    expect(error.message).toContain("'maybe'");
    expect(error.message).toContain("column 'label'");
  });

  test('unknown label column and bad option combinations are reported', async () => {
    const error = await kilnError(() => reader({ path: 'train.csv', label: 'target' }, dir).load('train'));
    expect(error.where).toBe(`${path.join(dir, 'train.csv')}:1`);
    const config = await kilnError(() => reader({ path: 'train.csv', train: 'train.csv', label: 'label' }, dir));
    expect(config.code).toBe('E_CONFIG');
  });
});
