import type { Tensor } from '@tensorflow/tfjs-core';
import type { Metric } from '@kiln/core';
import { z } from 'zod';
import { readClassPredictions } from './class-predictions';
import { ConfusionCounts } from './confusion-counts';

export const PrecisionRecallF1Options = z.strictObject({
  average: z.enum(['micro', 'macro', 'weighted']).default('macro')
    .describe('How per-class scores combine, as sklearn: micro (global counts), macro (unweighted mean), weighted (by support).'),
  threshold: z.number().default(0).describe('For binary scores ([batch] or [batch, 1]): positive above this.'),
});
export type PrecisionRecallF1Options = z.output<typeof PrecisionRecallF1Options>;

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/**
 * Precision, recall and F1 with sklearn's definitions (`precision_recall_fscore_support`):
 * classes are those seen in the targets or the predictions, and a zero division gives 0.
 * Keys: `precision/<average>`, `recall/<average>`, `f1/<average>`.
 */
export class PrecisionRecallF1Metric implements Metric<Tensor, Tensor> {
  readonly name = 'f1';
  private readonly counts = new ConfusionCounts();
  constructor(private readonly options: PrecisionRecallF1Options = { average: 'macro', threshold: 0 }) {}

  update(predictions: Tensor, targets: Tensor): void {
    const { predicted, actual } = readClassPredictions(predictions, targets, this.options.threshold);
    this.counts.add(actual, predicted);
  }

  result(): Record<string, number> {
    const { average } = this.options;
    const m = this.counts.matrix();
    const n = m.length;
    const tp = m.map((row, i) => row[i]);
    const support = m.map((row) => row.reduce((a, b) => a + b, 0));
    const predictedCount = m.map((_, j) => m.reduce((s, row) => s + row[j], 0));
    const present = tp.map((_, i) => support[i] > 0 || predictedCount[i] > 0);
    let precision: number;
    let recall: number;
    let f1: number;
    if (average === 'micro') {
      const t = tp.reduce((a, b) => a + b, 0);
      precision = ratio(t, predictedCount.reduce((a, b) => a + b, 0));
      recall = ratio(t, support.reduce((a, b) => a + b, 0));
      f1 = ratio(2 * precision * recall, precision + recall);
    } else {
      const p = tp.map((t, i) => ratio(t, predictedCount[i]));
      const r = tp.map((t, i) => ratio(t, support[i]));
      const f = p.map((pi, i) => ratio(2 * pi * r[i], pi + r[i]));
      const weights = Array.from({ length: n }, (_, i) => (!present[i] ? 0 : average === 'weighted' ? support[i] : 1));
      const totalWeight = weights.reduce((a, b) => a + b, 0);
      const mean = (xs: number[]): number => ratio(xs.reduce((s, x, i) => s + x * weights[i], 0), totalWeight);
      precision = mean(p);
      recall = mean(r);
      f1 = mean(f);
    }
    return { [`precision/${average}`]: precision, [`recall/${average}`]: recall, [`f1/${average}`]: f1 };
  }

  /** Per-class precision, recall, F1 and support. */
  details(): { precision: number[]; recall: number[]; f1: number[]; support: number[] } {
    const m = this.counts.matrix();
    const support = m.map((row) => row.reduce((a, b) => a + b, 0));
    const precision = m.map((_, j) => ratio(m[j][j], m.reduce((s, row) => s + row[j], 0)));
    const recall = m.map((row, i) => ratio(row[i], support[i]));
    const f1 = precision.map((p, i) => ratio(2 * p * recall[i], p + recall[i]));
    return { precision, recall, f1, support };
  }

  reset(): void {
    this.counts.reset();
  }
}
