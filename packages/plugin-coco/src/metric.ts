import { DataError, type Metric } from '@kiln/core';
import { z } from 'zod';
import { evaluateCoco, type CocoEvalResult } from './evaluate';
import type { CocoAnnotation, CocoDataset, CocoId, CocoResult } from './format';

/** Boxes as rows `[[a,b,c,d], …]`, a flat list of 4n numbers, or a tensor (anything with `arraySync`). */
export type BoxesInput = ArrayLike<ArrayLike<number>> | ArrayLike<number> | { arraySync(): unknown };
export type ValuesInput = ArrayLike<number> | { arraySync(): unknown };

/** A detection model's output for one image. */
export interface DetectionPrediction {
  boxes: BoxesInput;
  scores: ValuesInput;
  labels: ValuesInput;
  imageId?: CocoId;
}

/** Ground truth of one image. */
export interface DetectionTarget {
  boxes: BoxesInput;
  labels: ValuesInput;
  /** 1 for crowd regions (matched without being consumed, never counted as misses). */
  iscrowd?: ValuesInput;
  /** Areas for the small/medium/large split; default the box area. */
  area?: ValuesInput;
  imageId?: CocoId;
}

export const cocoMetricOptions = z.strictObject({
  boxFormat: z.enum(['xyxy', 'xywh']).default('xyxy').describe('Layout of predicted and target boxes: [x1, y1, x2, y2] or COCO [x, y, width, height].'),
  categoryIds: z.array(z.number().int()).optional().describe('Categories to evaluate (labels are category ids); default: every label seen in the targets.'),
  categoryNames: z.record(z.string(), z.string()).optional().describe('Names by category id, for the per-category table of details().'),
  maxDets: z.array(z.number().int().positive()).min(3).optional().describe('Detections kept per image for AR@maxDets[0..2] (default [1, 10, 100]).'),
  iouThrs: z.array(z.number().min(0).max(1)).min(1).optional().describe('IoU thresholds (default 0.50:0.05:0.95).'),
});
export type CocoMetricOptions = z.input<typeof cocoMetricOptions>;

function toArray(value: BoxesInput | ValuesInput | undefined, what: string): unknown[] {
  if (value === undefined) return [];
  const v = typeof (value as { arraySync?: unknown }).arraySync === 'function' ? (value as { arraySync(): unknown }).arraySync() : value;
  if (Array.isArray(v)) return v;
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>);
  if (typeof v === 'number') return [v];
  throw new DataError(`${what} is not an array or tensor`, { where: 'metrics.coco', hint: 'pass arrays, typed arrays or tensors' });
}

function toBoxes(value: BoxesInput, format: 'xyxy' | 'xywh', what: string): number[][] {
  const raw = toArray(value, what);
  const rows: number[][] = [];
  if (raw.length > 0 && typeof raw[0] === 'number') {
    if (raw.length % 4 !== 0) throw new DataError(`${what} has ${raw.length} numbers, not a multiple of 4`, { where: 'metrics.coco', hint: 'boxes are 4 numbers each' });
    for (let i = 0; i < raw.length; i += 4) rows.push((raw as number[]).slice(i, i + 4));
  } else {
    for (const r of raw) rows.push(Array.from(r as ArrayLike<number>));
  }
  return rows.map((b) => {
    if (b.length !== 4) throw new DataError(`${what}: a box has ${b.length} numbers`, { where: 'metrics.coco', hint: 'boxes are 4 numbers each' });
    return format === 'xyxy' ? [b[0]!, b[1]!, b[2]! - b[0]!, b[3]! - b[1]!] : b;
  });
}

/**
 * COCO mAP of a detection model on the validation set: `update` collects each batch's
 * detections and ground truth per image, `result` runs the pycocotools-exact evaluation.
 */
export class CocoMetric implements Metric<DetectionPrediction[] | DetectionPrediction, DetectionTarget[] | DetectionTarget> {
  readonly name = 'coco';
  private readonly options: z.output<typeof cocoMetricOptions>;
  private images: Array<{ id: CocoId }> = [];
  private annotations: CocoAnnotation[] = [];
  private detections: CocoResult[] = [];
  private labels = new Set<number>();
  private last?: CocoEvalResult;

  constructor(options: CocoMetricOptions = {}) {
    this.options = cocoMetricOptions.parse(options);
  }

  update(predictions: DetectionPrediction[] | DetectionPrediction, targets: DetectionTarget[] | DetectionTarget): void {
    const preds = Array.isArray(predictions) ? predictions : [predictions];
    const gts = Array.isArray(targets) ? targets : [targets];
    if (preds.length !== gts.length) {
      throw new DataError(`update() got ${preds.length} predictions for ${gts.length} targets`, { where: 'metrics.coco', hint: 'pass one prediction and one target per image' });
    }
    const fmt = this.options.boxFormat;
    gts.forEach((target, n) => {
      const imageId = target.imageId ?? preds[n]!.imageId ?? this.images.length + 1;
      this.images.push({ id: imageId });
      const boxes = toBoxes(target.boxes, fmt, 'target boxes');
      const labels = toArray(target.labels, 'target labels') as number[];
      const crowd = toArray(target.iscrowd, 'target iscrowd') as number[];
      const area = toArray(target.area, 'target area') as number[];
      boxes.forEach((bbox, i) => {
        const label = Number(labels[i]);
        this.labels.add(label);
        this.annotations.push({ id: this.annotations.length + 1, image_id: imageId, category_id: label, bbox, area: area[i] ?? bbox[2]! * bbox[3]!, iscrowd: crowd[i] ? 1 : 0 });
      });
      const pred = preds[n]!;
      const pBoxes = toBoxes(pred.boxes, fmt, 'predicted boxes');
      const scores = toArray(pred.scores, 'predicted scores') as number[];
      const pLabels = toArray(pred.labels, 'predicted labels') as number[];
      if (scores.length !== pBoxes.length || pLabels.length !== pBoxes.length) {
        throw new DataError(`prediction ${n}: ${pBoxes.length} boxes, ${scores.length} scores, ${pLabels.length} labels`, { where: 'metrics.coco', hint: 'boxes, scores and labels must have one entry per detection' });
      }
      pBoxes.forEach((bbox, i) => this.detections.push({ image_id: imageId, category_id: Number(pLabels[i]), bbox, score: Number(scores[i]) }));
    });
  }

  private evaluate(): CocoEvalResult {
    const ids = this.options.categoryIds ?? [...this.labels].sort((a, b) => a - b);
    const names = this.options.categoryNames ?? {};
    const gt: CocoDataset = { images: this.images, categories: ids.map((id) => ({ id, name: names[String(id)] ?? String(id) })), annotations: this.annotations };
    this.last = evaluateCoco(gt, this.detections, { iouType: 'bbox', unknownCategories: 'ignore', maxDets: this.options.maxDets, iouThrs: this.options.iouThrs }, { gt: 'metrics.coco targets', dt: 'metrics.coco predictions' });
    return this.last;
  }

  result(): Record<string, number> {
    const r = this.evaluate();
    const out: Record<string, number> = {};
    r.statNames.forEach((name, i) => (out[`coco/${name}`] = r.stats[i]!));
    return out;
  }

  /** Per-category stats of the last result() (or a fresh evaluation). */
  details(): CocoEvalResult['perCategory'] {
    return (this.last ?? this.evaluate()).perCategory;
  }

  reset(): void {
    this.images = [];
    this.annotations = [];
    this.detections = [];
    this.labels.clear();
    this.last = undefined;
  }
}
