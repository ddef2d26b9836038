import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, KilnError } from '@kiln/core';
import { evaluateCoco, readJsonFile, type CocoResult } from '../src';
import { ann, dataset, det } from './helpers';

function thrown(fn: () => unknown): KilnError {
  try {
    fn();
  } catch (error) {
    if (KilnError.is(error)) return error;
    throw error;
  }
  throw new Error('did not throw');
}

const gt = dataset([ann(1, 1, [0, 0, 10, 10])], [1], [1]);
const sources = { gt: 'instances.json', dt: 'results.json' };

describe('bad input', () => {
  test('a result on an image absent from the GT (pycocotools asserts)', () => {
    const e = thrown(() => evaluateCoco(gt, [det(1, 1, [0, 0, 1, 1], 0.5), det(7, 1, [0, 0, 1, 1], 0.5)], 'bbox', sources));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/Results do not correspond to current coco set: image_id 7/);
    expect(e.where).toBe('results.json results[1]');
    expect(e.hint).toBeTruthy();
  });

  test('a result on an unknown category: error by default, dropped with unknownCategories "ignore"', () => {
    const dts = [det(1, 1, [0, 0, 10, 10], 0.5), det(1, 9, [0, 0, 10, 10], 0.9)];
    const e = thrown(() => evaluateCoco(gt, dts, 'bbox', sources));
    expect(e.message).toMatch(/category_id 9/);
    expect(e.where).toBe('results.json results[1]');
    expect(evaluateCoco(gt, dts, { iouType: 'bbox', unknownCategories: 'ignore' }).stats[0]).toBeCloseTo(1, 12);
  });

  test('bbox of the wrong length or with a negative size', () => {
    expect(thrown(() => evaluateCoco(gt, [det(1, 1, [0, 0, 10], 0.5)], 'bbox', sources)).where).toBe('results.json results[0]');
    const neg = thrown(() => evaluateCoco(gt, [det(1, 1, [0, 0, 10, 10], 0.5), det(1, 1, [5, 5, -2, 3], 0.5)], 'bbox', sources));
    expect(neg.message).toMatch(/negative size/);
    expect(neg.where).toBe('results.json results[1]');
  });

  test('NaN or missing score', () => {
    expect(thrown(() => evaluateCoco(gt, [det(1, 1, [0, 0, 10, 10], NaN)], 'bbox', sources)).message).toMatch(/score/);
    const noScore = { image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] } as unknown as CocoResult;
    expect(thrown(() => evaluateCoco(gt, [noScore], 'bbox', sources)).where).toBe('results.json results[0]');
  });

  test('GT without area names the annotation', () => {
    const bad = dataset([{ id: 42, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }]);
    const e = thrown(() => evaluateCoco(bad, [], 'bbox', sources));
    expect(e.where).toBe('instances.json annotations[0] (id 42)');
  });

  test('malformed JSON file: file, line and column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-coco-'));
    const file = join(dir, 'results.json');
    writeFileSync(file, '[\n  {"image_id": 1, "score": 0.5},\n  {"image_id": 2 "score": 0.1}\n]');
    const e = await readJsonFile(file).then(
      () => undefined,
      (error: unknown) => error as KilnError,
    );
    expect(e).toBeInstanceOf(DataError);
    // the "score" key where a comma was due: line 3, column 18 (2 spaces, 13 characters of {"image_id":, space, 2, space)
    expect(e!.where).toBe(`${file}:3:18`);
  });
});
