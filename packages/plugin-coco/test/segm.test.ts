import { evaluateCoco, rleArea, rleFromPolygon, rleFromString, rleIou, rleMerge, rleToBbox, rleToString, type CocoDataset, type Rle } from '../src';
import { clearedFraction } from './helpers';

/** Uncompressed column-major RLE counts of the pixels x in [x0,x1), y in [y0,y1) of an h×w image. */
function rectCounts(h: number, w: number, x0: number, x1: number, y0: number, y1: number): number[] {
  const bits: number[] = [];
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) bits.push(x >= x0 && x < x1 && y >= y0 && y < y1 ? 1 : 0);
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (const b of bits) {
    if (b !== current) {
      counts.push(run);
      run = 0;
      current = b;
    }
    run++;
  }
  counts.push(run);
  return counts;
}

describe('RLE masks', () => {
  test('compressed strings decode to the runs they encode', () => {
    // strings written by pycocotools' mask.encode for the masks described
    expect(Array.from(rleFromString('04', 2, 2).counts)).toEqual([0, 4]); // all ones
    expect(Array.from(rleFromString('525', 4, 3).counts)).toEqual([5, 2, 5]); // column 1, rows 1–2
    const big = rleFromString('jn1b1b10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000^m2', 100, 100);
    // rows 10–59 of columns 20–69 of a 100×100 image
    expect(Array.from(big.counts)).toEqual(rectCounts(100, 100, 20, 70, 10, 60));
    expect(rleArea(big)).toBe(50 * 50);
    expect(rleToBbox(big)).toEqual([20, 10, 50, 50]);
    expect(rleToString(big)).toBe('jn1b1b10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000^m2');
  });

  test('a rectangle polygon with integer corners covers exactly its w×h pixels', () => {
    const rle = rleFromPolygon([2, 2, 2, 6, 6, 6, 6, 2], 10, 10);
    expect(Array.from(rle.counts)).toEqual(rectCounts(10, 10, 2, 6, 2, 6));
  });

  test('merge is the union; IoU counts pixels; crowd IoU divides by the detection area', () => {
    const a: Rle = { h: 10, w: 10, counts: Uint32Array.from(rectCounts(10, 10, 0, 4, 0, 10)) };
    const b: Rle = { h: 10, w: 10, counts: Uint32Array.from(rectCounts(10, 10, 2, 6, 0, 10)) };
    expect(Array.from(rleMerge([a, b]).counts)).toEqual(rectCounts(10, 10, 0, 6, 0, 10));
    expect(Array.from(rleMerge([a, b], true).counts)).toEqual(rectCounts(10, 10, 2, 4, 0, 10));
    expect(rleIou(a, b, false)).toBeCloseTo(20 / 60, 15);
    expect(rleIou(a, b, true)).toBeCloseTo(20 / 40, 15);
  });
});

describe('evaluateCoco, segm', () => {
  const gtWith = (segmentation: CocoDataset['annotations'][number]['segmentation'], area: number): CocoDataset => ({
    images: [{ id: 1, width: 10, height: 10 }],
    categories: [{ id: 1, name: 'thing' }],
    annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [2, 2, 4, 4], area, iscrowd: 0, segmentation }],
  });

  test('polygon GT against RLE and polygon detections of the same pixels: IoU 1', () => {
    const polygonGt = gtWith([[2, 2, 2, 6, 6, 6, 6, 2]], 16);
    const rleDet = { image_id: 1, category_id: 1, score: 0.9, segmentation: { size: [10, 10] as [number, number], counts: rectCounts(10, 10, 2, 6, 2, 6) } };
    expect(evaluateCoco(polygonGt, [rleDet], 'segm').stats[0]).toBeCloseTo(1, 12);
    const rleGt = gtWith({ size: [10, 10], counts: rectCounts(10, 10, 2, 6, 2, 6) }, 16);
    const polygonDet = { image_id: 1, category_id: 1, score: 0.9, bbox: [2, 2, 4, 4], segmentation: [[2, 2, 2, 6, 6, 6, 6, 2]] };
    expect(evaluateCoco(rleGt, [polygonDet], 'segm').stats[0]).toBeCloseTo(1, 12);
  });

  test('mask IoU, not box IoU: half the pixels → IoU 0.5', () => {
    const gt = gtWith([[2, 2, 2, 6, 6, 6, 6, 2]], 16);
    // pixels x 2–5, y 2–3: 8 of the GT's 16
    const dt = [{ image_id: 1, category_id: 1, score: 0.9, segmentation: { size: [10, 10] as [number, number], counts: rectCounts(10, 10, 2, 6, 2, 4) } }];
    const r = evaluateCoco(gt, dt, 'segm');
    expect(r.stats[0]).toBeCloseTo(clearedFraction(0.5), 12);
    expect(r.stats[1]).toBeCloseTo(1, 12);
  });

  test('bbox results without segmentation are evaluated as their box polygon', () => {
    const gt = gtWith([[2, 2, 2, 6, 6, 6, 6, 2]], 16);
    const r = evaluateCoco(gt, [{ image_id: 1, category_id: 1, score: 0.9, bbox: [2, 2, 4, 4] }], 'segm');
    expect(r.stats[0]).toBeCloseTo(1, 12);
  });
});
