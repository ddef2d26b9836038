import type { Tensor } from '@tensorflow/tfjs-core';
import type { Metric } from '@kiln/core';
import { z } from 'zod';
import { argmax } from './class-predictions';

export const TopKOptions = z.strictObject({
  k: z.number().int().positive().default(5).describe('A prediction counts as correct when the target is among the k highest scores.'),
});
export type TopKOptions = z.output<typeof TopKOptions>;

/**
 * Top-k accuracy, reported as `top<k>_accuracy`. The target is in the top k when fewer than
 * k classes score strictly higher (ties resolve in the target's favour, as tf.inTopK).
 */
export class TopKAccuracyMetric implements Metric<Tensor, Tensor> {
  readonly name: string;
  private correct = 0;
  private total = 0;
  constructor(private readonly options: TopKOptions = { k: 5 }) {
    this.name = `top${options.k}_accuracy`;
  }

  update(predictions: Tensor, targets: Tensor): void {
    const scores = predictions.dataSync();
    const truth = targets.dataSync();
    const classes = predictions.shape[predictions.rank - 1];
    const rows = predictions.size / classes;
    const oneHot = targets.size === predictions.size;
    for (let r = 0; r < rows; r++) {
      const label = oneHot ? argmax(truth, r * classes, classes) : Math.round(truth[r]);
      if (label < 0) continue;
      const target = scores[r * classes + label];
      let higher = 0;
      for (let c = 0; c < classes; c++) if (scores[r * classes + c] > target) higher++;
      if (higher < this.options.k) this.correct++;
      this.total++;
    }
  }

  result(): Record<string, number> {
    return { [this.name]: this.total === 0 ? 0 : this.correct / this.total };
  }

  reset(): void {
    this.correct = 0;
    this.total = 0;
  }
}
