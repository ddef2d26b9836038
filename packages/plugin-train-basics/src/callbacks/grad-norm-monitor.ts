import type { Callback, Hooks, Logger } from '@kiln/core';
import { z } from 'zod';

export const GradNormMonitorOptions = z.strictObject({
  spikeFactor: z.number().gt(1).default(10).describe('A step is a spike when its norm exceeds this many times the recent mean.'),
  window: z.number().int().positive().default(50).describe('Steps in the recent mean a norm is compared with.'),
  warmupSteps: z.number().int().min(0).default(10).describe('Steps seen before spikes are looked for.'),
  maxWarningsPerEpoch: z.number().int().min(0).default(3).describe('Spike and non-finite warnings printed per epoch (all are counted).'),
  addToLogs: z.boolean().default(true).describe('Add `grad_norm/mean`, `grad_norm/max`… to the epoch logs (seen by later callbacks and trackers).'),
});
export type GradNormMonitorOptions = z.output<typeof GradNormMonitorOptions>;

export interface GradNormStats {
  epoch: number;
  steps: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  spikes: number;
  nonFinite: number;
}

/** Gradient-norm statistics per epoch from `afterTrainStep`'s `gradNorm`, with warnings on spikes. */
export class GradNormMonitorCallback implements Callback {
  readonly name = 'grad-norm-monitor';
  readonly history: GradNormStats[] = [];
  private recent: number[] = [];
  private seen = 0;
  private epochNorms: number[] = [];
  private spikes = 0;
  private nonFinite = 0;
  private warnings = 0;

  constructor(private readonly options: GradNormMonitorOptions, private readonly logger?: Logger) {}

  apply(hooks: Hooks): void {
    hooks.beforeEpoch.tap('GradNormMonitorCallback', () => {
      this.epochNorms = [];
      this.spikes = 0;
      this.nonFinite = 0;
      this.warnings = 0;
    });
    hooks.afterTrainStep.tap('GradNormMonitorCallback', ({ gradNorm, step, epoch }) => this.observe(gradNorm, step, epoch));
    // An early stage, so callbacks listed before this one (metrics-log, checkpoint) see the stats too.
    hooks.afterEpoch.tap({ name: 'GradNormMonitorCallback', stage: -10 }, ({ epoch, logs }) => {
      const stats = this.summarize(epoch);
      this.history.push(stats);
      this.logger?.info(
        `grad norm, epoch ${epoch + 1}: mean ${stats.mean.toPrecision(4)} std ${stats.std.toPrecision(4)} ` +
          `min ${stats.min.toPrecision(4)} max ${stats.max.toPrecision(4)} over ${stats.steps} steps` +
          (stats.spikes ? `, ${stats.spikes} spikes` : '') + (stats.nonFinite ? `, ${stats.nonFinite} non-finite` : ''),
      );
      if (this.options.addToLogs) {
        Object.assign(logs, { 'grad_norm/mean': stats.mean, 'grad_norm/max': stats.max, 'grad_norm/spikes': stats.spikes });
      }
    });
  }

  private observe(norm: number, step: number, epoch: number): void {
    if (!Number.isFinite(norm)) {
      this.nonFinite++;
      this.warn(`grad norm is ${norm} at step ${step + 1} (epoch ${epoch + 1})`);
      return;
    }
    if (this.seen >= this.options.warmupSteps && this.recent.length > 0) {
      const mean = this.recent.reduce((a, b) => a + b, 0) / this.recent.length;
      if (norm > this.options.spikeFactor * mean) {
        this.spikes++;
        this.warn(`grad norm spike at step ${step + 1} (epoch ${epoch + 1}): ${norm.toPrecision(4)}, ${(norm / mean).toFixed(1)}× the mean of the last ${this.recent.length} steps`);
      }
    }
    this.seen++;
    this.epochNorms.push(norm);
    this.recent.push(norm);
    if (this.recent.length > this.options.window) this.recent.shift();
  }

  private warn(message: string): void {
    if (this.warnings++ < this.options.maxWarningsPerEpoch) this.logger?.warn(message);
  }

  private summarize(epoch: number): GradNormStats {
    const xs = this.epochNorms;
    const n = xs.length;
    const mean = n ? xs.reduce((a, b) => a + b, 0) / n : 0;
    const variance = n ? xs.reduce((s, x) => s + (x - mean) ** 2, 0) / n : 0;
    return {
      epoch,
      steps: n,
      mean,
      std: Math.sqrt(variance),
      min: n ? Math.min(...xs) : 0,
      max: n ? Math.max(...xs) : 0,
      spikes: this.spikes,
      nonFinite: this.nonFinite,
    };
  }
}
