import { evaluateCoco, type CocoDataset } from '../src';
import { THRESHOLDS } from './helpers';

// the COCO person keypoint sigmas, as published with the keypoint challenge
const SIGMAS = [0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89].map((s) => s / 10);

function person(keypoints: number[], area: number, extra: Record<string, unknown> = {}): CocoDataset['annotations'][number] {
  const visible = keypoints.filter((_, i) => i % 3 === 2 && keypoints[i]! > 0).length;
  return { id: 1, image_id: 1, category_id: 1, bbox: [100, 100, 50, 40], area, iscrowd: 0, num_keypoints: visible, keypoints, ...extra };
}

const gtKeypoints = SIGMAS.flatMap((_, i) => [100 + 3 * i, 100 + 2 * i, 2]);
const shifted = (dx: number): number[] => SIGMAS.flatMap((_, i) => [100 + 3 * i + dx, 100 + 2 * i, 1]);

describe('evaluateCoco, keypoints (OKS)', () => {
  test('OKS of a shifted pose follows exp(-d²/(2·area·(2σ)²)) averaged over labelled keypoints', () => {
    const area = 2000; // medium
    const dx = 3;
    const gt: CocoDataset = { images: [{ id: 1 }], categories: [{ id: 1, name: 'person' }], annotations: [person(gtKeypoints, area)] };
    const r = evaluateCoco(gt, [{ image_id: 1, category_id: 1, keypoints: shifted(dx), score: 0.8 }], 'keypoints');
    const oks = SIGMAS.reduce((s, sigma) => s + Math.exp(-(dx * dx) / (2 * area * (2 * sigma) ** 2)), 0) / SIGMAS.length;
    const cleared = THRESHOLDS.filter((t) => oks >= t).length / 10;
    expect(oks).toBeGreaterThan(0.5);
    expect(oks).toBeLessThan(0.95);
    expect(r.stats).toHaveLength(10);
    // AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl
    const ap75 = oks >= 0.75 ? 1 : 0;
    [cleared, 1, ap75, cleared, -1, cleared, 1, ap75, cleared, -1].forEach((e, i) => expect(r.stats[i]).toBeCloseTo(e, 12));
  });

  test('only labelled keypoints count', () => {
    const area = 2000;
    const kp = [...gtKeypoints];
    for (let i = 5; i < 17; i++) kp[3 * i + 2] = 0; // keep keypoints 0–4
    const gt: CocoDataset = { images: [{ id: 1 }], categories: [{ id: 1, name: 'person' }], annotations: [person(kp, area)] };
    const dx = 2;
    const r = evaluateCoco(gt, [{ image_id: 1, category_id: 1, keypoints: shifted(dx), score: 0.8 }], 'keypoints');
    const oks = SIGMAS.slice(0, 5).reduce((s, sigma) => s + Math.exp(-(dx * dx) / (2 * area * (2 * sigma) ** 2)), 0) / 5;
    expect(r.stats[0]).toBeCloseTo(THRESHOLDS.filter((t) => oks >= t).length / 10, 12);
  });

  test('a person without labelled keypoints is ignored', () => {
    const none = SIGMAS.flatMap(() => [0, 0, 0]);
    const gt: CocoDataset = { images: [{ id: 1 }], categories: [{ id: 1, name: 'person' }], annotations: [person(none, 2000)] };
    const r = evaluateCoco(gt, [{ image_id: 1, category_id: 1, keypoints: shifted(0), score: 0.8 }], 'keypoints');
    expect(r.stats[0]).toBe(-1);
  });
});
