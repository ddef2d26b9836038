import type { Tensor } from '@tensorflow/tfjs-core';
import { ConfigError, type Metric } from '@kiln/core';
import { z } from 'zod';

export const RegressionOptions = z.strictObject({});

/**
 * MAE, MSE, RMSE and R² over the whole evaluation set, accumulated in float64. With several
 * outputs per example, MAE/MSE average every element and R² is the uniform average of the
 * per-output scores (sklearn's default). R² = 1 − SS_res/SS_tot; a constant target gives
 * 1 when predicted exactly, else 0 (sklearn's `force_finite`).
 */
export class RegressionMetric implements Metric<Tensor, Tensor> {
  readonly name = 'regression';
  private count = 0;
  private absError: number[] = [];
  private sqError: number[] = [];
  // Welford's running mean and M2 of the targets, per output, for a stable SS_tot.
  private mean: number[] = [];
  private m2: number[] = [];

  update(predictions: Tensor, targets: Tensor): void {
    const p = predictions.dataSync();
    const t = targets.dataSync();
    if (p.length !== t.length) {
      throw new ConfigError(`the regression metric got ${p.length} predictions for ${t.length} targets (shapes [${predictions.shape}] and [${targets.shape}])`, {
        where: 'metrics[regression]',
        hint: 'use the regression metric with a regression model whose outputs match the target shape; use accuracy or f1 for classifiers',
      });
    }
    const batch = predictions.shape[0] ?? 1;
    const outputs = p.length / batch;
    if (this.count === 0 && this.absError.length === 0) {
      this.absError = new Array<number>(outputs).fill(0);
      this.sqError = new Array<number>(outputs).fill(0);
      this.mean = new Array<number>(outputs).fill(0);
      this.m2 = new Array<number>(outputs).fill(0);
    }
    for (let r = 0; r < batch; r++) {
      this.count++;
      for (let o = 0; o < outputs; o++) {
        const y = t[r * outputs + o];
        const e = p[r * outputs + o] - y;
        this.absError[o] += Math.abs(e);
        this.sqError[o] += e * e;
        const delta = y - this.mean[o];
        this.mean[o] += delta / this.count;
        this.m2[o] += delta * (y - this.mean[o]);
      }
    }
  }

  result(): Record<string, number> {
    const outputs = this.absError.length;
    if (this.count === 0 || outputs === 0) return { mae: 0, mse: 0, rmse: 0, r2: 0 };
    const n = this.count * outputs;
    const mae = this.absError.reduce((a, b) => a + b, 0) / n;
    const mse = this.sqError.reduce((a, b) => a + b, 0) / n;
    const r2PerOutput = this.sqError.map((ssRes, o) => {
      const ssTot = this.m2[o];
      if (ssTot === 0) return ssRes === 0 ? 1 : 0;
      return 1 - ssRes / ssTot;
    });
    return { mae, mse, rmse: Math.sqrt(mse), r2: r2PerOutput.reduce((a, b) => a + b, 0) / outputs };
  }

  reset(): void {
    this.count = 0;
    this.absError = [];
    this.sqError = [];
    this.mean = [];
    this.m2 = [];
  }
}
