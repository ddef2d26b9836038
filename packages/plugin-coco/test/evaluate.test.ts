import { evaluateCoco } from '../src';
import { ann, apFromRanking, clearedFraction, dataset, det } from './helpers';

const close = (actual: number[], expected: number[]): void => {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 12));
};

describe('evaluateCoco, bbox, hand-computed', () => {
  test('one detection: AP is the fraction of thresholds its IoU clears', () => {
    // GT 10×10 at the origin (area 100: small); detection 10×7.8 inside it → IoU 78/100
    const gt = dataset([ann(1, 1, [0, 0, 10, 10])]);
    const r = evaluateCoco(gt, [det(1, 1, [0, 0, 10, 7.8], 0.9)], 'bbox');
    const ap = clearedFraction(0.78); // .50 … .75 → 6 of 10
    expect(ap).toBeCloseTo(0.6, 12);
    // AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl; no medium/large GT → -1
    close(r.stats, [ap, 1, 1, ap, -1, -1, ap, ap, ap, ap, -1, -1]);
    expect(r.perCategory.c1!.AP).toBeCloseTo(ap, 12);
  });

  test('a crowd region absorbs any number of detections and is never a miss', () => {
    const gt = dataset([ann(1, 1, [0, 0, 10, 10]), ann(1, 1, [100, 0, 40, 40], { iscrowd: 1 })]);
    const dts = [det(1, 1, [105, 5, 10, 10], 0.95), det(1, 1, [0, 0, 10, 10], 0.9), det(1, 1, [120, 20, 10, 10], 0.7)];
    const r = evaluateCoco(gt, dts, 'bbox');
    // both detections inside the crowd match it (IoU = intersection / detection area = 1) and are ignored
    expect(r.stats[0]).toBeCloseTo(1, 12);
    expect(r.stats[8]).toBeCloseTo(1, 12);
  });

  test('crowd IoU is intersection over the detection area', () => {
    // detection [35,0,10,10] half inside crowd [20,0,20,20]: crowd IoU = 50/100 = 0.5 (plain IoU would be 50/450)
    const gt = dataset([ann(1, 1, [0, 0, 10, 10]), ann(1, 1, [20, 0, 20, 20], { iscrowd: 1 })]);
    const dts = [det(1, 1, [35, 0, 10, 10], 0.95), det(1, 1, [0, 0, 10, 10], 0.9)];
    const r = evaluateCoco(gt, dts, 'bbox');
    // at .50 the first detection is ignored (AP 1); above it is a false positive ranked first
    const apAbove = apFromRanking([false, true], 1);
    expect(apAbove).toBeCloseTo(0.5, 12);
    expect(r.stats[0]).toBeCloseTo((1 + 9 * apAbove) / 10, 12);
    expect(r.stats[1]).toBeCloseTo(1, 12);
  });

  test('maxDets keeps the top-scored detections per image', () => {
    const gt = dataset([ann(1, 1, [0, 0, 10, 10]), ann(1, 1, [50, 50, 10, 10])]);
    // a false positive ranked first, then both true positives
    const dts = [det(1, 1, [300, 300, 10, 10], 0.9), det(1, 1, [0, 0, 10, 10], 0.8), det(1, 1, [50, 50, 10, 10], 0.7)];
    const r = evaluateCoco(gt, dts, 'bbox');
    expect(r.stats[6]).toBeCloseTo(0, 12); // AR1: only the false positive is kept
    expect(r.stats[7]).toBeCloseTo(1, 12); // AR10
    expect(r.stats[0]).toBeCloseTo(apFromRanking([false, true, true], 2), 12);
    // maxDets [1, 2, 3] with the same GT: AR@1 = 0, AR@2 = 1/2
    const r2 = evaluateCoco(gt, dts, { iouType: 'bbox', maxDets: [1, 2, 3] });
    expect(r2.stats[6]).toBeCloseTo(0, 12);
    expect(r2.stats[7]).toBeCloseTo(0.5, 12);
    expect(r2.stats[8]).toBeCloseTo(1, 12);
    // stats[0] is summarized at maxDets=100 (as pycocotools): absent here → -1
    expect(r2.stats[0]).toBe(-1);
  });

  test('a category without ground truth is left out of the mean (-1), not counted as 0', () => {
    const gt = dataset([ann(1, 1, [0, 0, 10, 10])], [1], [1, 2, 3]);
    const dts = [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 2, [100, 100, 10, 10], 0.8)];
    const r = evaluateCoco(gt, dts, 'bbox');
    expect(r.stats[0]).toBeCloseTo(1, 12);
    expect(r.perCategory.c1!.AP).toBeCloseTo(1, 12);
    expect(r.perCategory.c2!.AP).toBe(-1);
    expect(r.perCategory.c3!.AP).toBe(-1);
  });

  test('tied scores keep file order within an image and image-id order across images', () => {
    const gt = dataset([ann(1, 1, [0, 0, 10, 10])]);
    const fp = det(1, 1, [300, 300, 10, 10], 0.5);
    const tp = det(1, 1, [0, 0, 10, 10], 0.5);
    expect(evaluateCoco(gt, [fp, tp], 'bbox').stats[0]).toBeCloseTo(apFromRanking([false, true], 1), 12);
    expect(evaluateCoco(gt, [tp, fp], 'bbox').stats[0]).toBeCloseTo(apFromRanking([true, false], 1), 12);
    // image 2 precedes image 10 whatever the file order
    const gt2 = dataset([ann(10, 1, [0, 0, 10, 10])], [10, 2]);
    const dts = [det(10, 1, [0, 0, 10, 10], 0.5), det(2, 1, [0, 0, 10, 10], 0.5)];
    expect(evaluateCoco(gt2, dts, 'bbox').stats[0]).toBeCloseTo(apFromRanking([false, true], 1), 12);
  });

  test('area ranges: GT outside a range is ignored, unmatched detections outside it too', () => {
    const gt = dataset([
      ann(1, 1, [0, 0, 20, 25]), // 500: small
      ann(1, 1, [100, 0, 40, 50]), // 2000: medium
      ann(1, 1, [200, 0, 100, 100]), // 10000: large
    ]);
    const dts = [
      det(1, 1, [400, 300, 200, 100], 0.99), // unmatched, area 20000: large
      det(1, 1, [0, 0, 20, 25], 0.9),
      det(1, 1, [100, 0, 40, 50], 0.8),
      det(1, 1, [200, 0, 100, 100], 0.7),
    ];
    const r = evaluateCoco(gt, dts, 'bbox');
    const all = apFromRanking([false, true, true, true], 3);
    expect(all).toBeCloseTo(0.75, 12);
    expect(r.stats[0]).toBeCloseTo(all, 12);
    expect(r.stats[3]).toBeCloseTo(1, 12); // small: the large false positive is outside the range
    expect(r.stats[4]).toBeCloseTo(1, 12); // medium
    expect(r.stats[5]).toBeCloseTo(apFromRanking([false, true], 1), 12); // large
    close(r.stats.slice(9), [1, 1, 1]);
  });

  test('useCats=false pools categories; catIds/imgIds restrict the evaluation', () => {
    const gt = dataset([ann(1, 1, [0, 0, 10, 10]), ann(2, 2, [0, 0, 10, 10])], [1, 2], [1, 2]);
    // right boxes, wrong categories
    const dts = [det(1, 2, [0, 0, 10, 10], 0.9), det(2, 1, [0, 0, 10, 10], 0.8)];
    expect(evaluateCoco(gt, dts, 'bbox').stats[0]).toBeCloseTo(0, 12);
    expect(evaluateCoco(gt, dts, { iouType: 'bbox', useCats: false }).stats[0]).toBeCloseTo(1, 12);
    const onlyImage1 = evaluateCoco(gt, [det(1, 1, [0, 0, 10, 10], 0.9)], { iouType: 'bbox', imgIds: [1], catIds: [1] });
    expect(onlyImage1.stats[0]).toBeCloseTo(1, 12);
    expect(Object.keys(onlyImage1.perCategory)).toEqual(['c1']);
  });

  test('custom area ranges', () => {
    const gt = dataset([ann(1, 1, [0, 0, 10, 10]), ann(1, 1, [100, 100, 20, 20])]); // areas 100 and 400
    const areaRng: Array<[number, number]> = [
      [0, 1e10],
      [0, 200],
      [200, 1e10],
      [1e9, 1e10],
    ];
    const r = evaluateCoco(gt, [det(1, 1, [0, 0, 10, 10], 0.9)], { iouType: 'bbox', areaRng });
    expect(r.stats[0]).toBeCloseTo(apFromRanking([true], 2), 12); // all: one of two found
    expect(r.stats[3]).toBeCloseTo(1, 12); // [0, 200]: only the found GT counts
    expect(r.stats[4]).toBeCloseTo(0, 12); // [200, 1e10]: the detection matches an ignored GT → ignored; one miss
    expect(r.stats[5]).toBe(-1); // no GT in [1e9, 1e10]
  });

  test('custom IoU thresholds', () => {
    const gt = dataset([ann(1, 1, [0, 0, 10, 10])]);
    const r = evaluateCoco(gt, [det(1, 1, [0, 0, 10, 6], 0.9)], { iouType: 'bbox', iouThrs: [0.3, 0.5, 0.75] });
    // IoU 0.6 clears .3 and .5 of the three
    expect(r.stats[0]).toBeCloseTo(2 / 3, 12);
    expect(r.stats[1]).toBeCloseTo(1, 12);
    expect(r.stats[2]).toBeCloseTo(0, 12);
    expect(r.counts.T).toBe(3);
  });

  test('evalImgs records follow pycocotools (GT ignored last, matches by id)', () => {
    const g1 = ann(1, 1, [0, 0, 10, 10], { iscrowd: 1 });
    const g2 = ann(1, 1, [50, 50, 10, 10]);
    const r = evaluateCoco(dataset([g1, g2]), [det(1, 1, [50, 50, 10, 10], 0.9)], { iouType: 'bbox', keepEvalImgs: true });
    expect(r.evalImgs).toHaveLength(4); // 1 category × 4 areas × 1 image
    const e = r.evalImgs![0]!;
    expect(e.gtIds).toEqual([g2.id, g1.id]);
    expect(e.dtIds).toEqual([1]);
    expect(e.dtMatches[0]).toEqual([g2.id]);
    expect(e.gtIgnore).toEqual([false, true]);
  });

  test('no detections: AP 0 where there is GT', () => {
    const r = evaluateCoco(dataset([ann(1, 1, [0, 0, 10, 10])]), [], 'bbox');
    close(r.stats, [0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1]);
  });
});
