import type { Tensor } from '@tensorflow/tfjs-core';
import type { Metric } from '@kiln/core';
import { z } from 'zod';
import { readClassPredictions } from './class-predictions';
import { ConfusionCounts } from './confusion-counts';

export const ConfusionMatrixOptions = z.strictObject({
  threshold: z.number().default(0).describe('For binary scores ([batch] or [batch, 1]): positive above this.'),
});
export type ConfusionMatrixOptions = z.output<typeof ConfusionMatrixOptions>;

export interface ConfusionMatrixDetails {
  /** Class names in index order (the dataset's, else the indices as strings). */
  labels: string[];
  /** matrix[true][predicted] counts, as sklearn's confusion_matrix. */
  matrix: number[][];
}

/** Accumulates the confusion matrix; `result()` reports the accuracy it implies, `details()` the matrix. */
export class ConfusionMatrixMetric implements Metric<Tensor, Tensor> {
  readonly name = 'confusion-matrix';
  private readonly counts: ConfusionCounts;
  constructor(
    private readonly options: ConfusionMatrixOptions = { threshold: 0 },
    private readonly classNames: string[] = [],
  ) {
    this.counts = new ConfusionCounts(classNames.length);
  }

  update(predictions: Tensor, targets: Tensor): void {
    const { predicted, actual, classes } = readClassPredictions(predictions, targets, this.options.threshold);
    this.counts.ensureClasses(classes);
    this.counts.add(actual, predicted);
  }

  result(): Record<string, number> {
    const total = this.counts.total();
    return { accuracy: total === 0 ? 0 : this.counts.diagonal() / total };
  }

  details(): ConfusionMatrixDetails {
    const matrix = this.counts.matrix();
    return { labels: matrix.map((_, i) => this.classNames[i] ?? String(i)), matrix };
  }

  reset(): void {
    this.counts.reset();
  }
}
