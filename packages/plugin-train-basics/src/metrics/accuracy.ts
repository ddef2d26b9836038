import type { Tensor } from '@tensorflow/tfjs-core';
import type { Metric } from '@kiln/core';
import { z } from 'zod';
import { readClassPredictions } from './class-predictions';

export const AccuracyOptions = z.strictObject({
  threshold: z.number().default(0).describe('For binary scores ([batch] or [batch, 1]): positive above this (0 for logits, 0.5 for probabilities).'),
});
export type AccuracyOptions = z.output<typeof AccuracyOptions>;

/** Fraction of examples whose arg-max class (or thresholded binary score) equals the target. */
export class AccuracyMetric implements Metric<Tensor, Tensor> {
  readonly name = 'accuracy';
  private correct = 0;
  private total = 0;
  constructor(private readonly options: AccuracyOptions = { threshold: 0 }) {}

  update(predictions: Tensor, targets: Tensor): void {
    const { predicted, actual } = readClassPredictions(predictions, targets, this.options.threshold);
    for (let i = 0; i < actual.length; i++) if (predicted[i] === actual[i]) this.correct++;
    this.total += actual.length;
  }

  result(): Record<string, number> {
    return { accuracy: this.total === 0 ? 0 : this.correct / this.total };
  }

  reset(): void {
    this.correct = 0;
    this.total = 0;
  }
}
