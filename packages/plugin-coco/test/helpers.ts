import type { CocoAnnotation, CocoDataset, CocoResult } from '../src';

/** The IoU thresholds .50:.05:.95 by their definition. */
export const THRESHOLDS = Array.from({ length: 10 }, (_, i) => 0.5 + 0.05 * i);

/** Fraction of the 10 thresholds an IoU clears: the AP of one perfectly ranked true positive. */
export const clearedFraction = (iou: number): number => THRESHOLDS.filter((t) => iou >= t).length / THRESHOLDS.length;

let nextId = 1;
export function ann(imageId: number, categoryId: number, bbox: number[], extra: Partial<CocoAnnotation> = {}): CocoAnnotation {
  return { id: nextId++, image_id: imageId, category_id: categoryId, bbox, area: bbox[2]! * bbox[3]!, iscrowd: 0, ...extra };
}

export function dataset(annotations: CocoAnnotation[], imageIds: number[] = [1], categoryIds: number[] = [1]): CocoDataset {
  return {
    images: imageIds.map((id) => ({ id, width: 640, height: 480 })),
    categories: categoryIds.map((id) => ({ id, name: `c${id}` })),
    annotations,
  };
}

export const det = (imageId: number, categoryId: number, bbox: number[], score: number): CocoResult => ({ image_id: imageId, category_id: categoryId, bbox, score });

/** Interpolated AP at one threshold from a ranked TP/FP list (true = TP), by the 101-point definition. */
export function apFromRanking(hits: boolean[], numGt: number): number {
  const prec: number[] = [];
  const rec: number[] = [];
  let tp = 0;
  hits.forEach((h, i) => {
    if (h) tp++;
    prec.push(tp / (i + 1));
    rec.push(tp / numGt);
  });
  let sum = 0;
  for (let r = 0; r <= 100; r++) {
    // best precision at any rank whose recall reaches r/100
    let best = 0;
    rec.forEach((rc, i) => {
      if (rc >= r / 100 - 1e-12) best = Math.max(best, prec[i]!);
    });
    sum += best;
  }
  return sum / 101;
}
