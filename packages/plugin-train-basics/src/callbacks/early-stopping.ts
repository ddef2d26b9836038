import type { Callback, Hooks, KilnConfig, Logger, Logs } from '@kiln/core';
import { z } from 'zod';
import { improves, monitorShape, resolveMonitor } from './monitor';

export const EarlyStoppingOptions = z.strictObject({
  ...monitorShape,
  patience: z.number().int().min(0).default(5).describe('Epochs without improvement before stopping.'),
  minDelta: z.number().min(0).default(0).describe('Smallest change that counts as an improvement.'),
});
export type EarlyStoppingOptions = z.output<typeof EarlyStoppingOptions>;

/**
 * Stops the run when the monitored value has not improved by more than `minDelta` for
 * `patience` epochs (Keras semantics). It reads the epoch logs from `afterEpoch` or from
 * the epoch-phase `shouldStop` check, whichever comes first, once per epoch.
 */
export class EarlyStoppingCallback implements Callback {
  readonly name = 'early-stopping';
  private best: number | undefined;
  private bestEpoch = -1;
  private wait = 0;
  private lastEpochSeen = -1;
  private warnedMissing = false;
  private readonly mode: 'min' | 'max';
  private readonly monitor: string;

  constructor(private readonly options: EarlyStoppingOptions, private readonly logger?: Logger, config?: KilnConfig) {
    ({ monitor: this.monitor, mode: this.mode } = resolveMonitor(options, config));
  }

  apply(hooks: Hooks): void {
    hooks.beforeRun.tap('EarlyStoppingCallback', () => {
      this.best = undefined;
      this.bestEpoch = -1;
      this.wait = 0;
      this.lastEpochSeen = -1;
    });
    hooks.afterEpoch.tap('EarlyStoppingCallback', ({ epoch, logs }) => this.observe(epoch, logs));
    hooks.shouldStop.tap('EarlyStoppingCallback', (check) => {
      if (check.phase !== 'epoch') return undefined;
      this.observe(check.epoch, check.logs);
      return this.stopReason();
    });
  }

  /** Why the run should stop, or undefined to go on. */
  stopReason(): string | undefined {
    if (this.best === undefined || this.wait < this.options.patience || this.wait === 0) return undefined;
    return `early stopping: ${this.monitor} did not improve for ${this.wait} epochs (best ${this.best} at epoch ${this.bestEpoch + 1})`;
  }

  private observe(epoch: number, logs: Logs): void {
    if (epoch <= this.lastEpochSeen) return;
    const value = logs[this.monitor];
    if (value === undefined) {
      if (!this.warnedMissing) {
        this.logger?.warn(`early-stopping: "${this.monitor}" is not in the epoch logs (${Object.keys(logs).join(', ')}); it will never stop the run`);
        this.warnedMissing = true;
      }
      return;
    }
    this.lastEpochSeen = epoch;
    if (improves(value, this.best, this.mode, this.options.minDelta)) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
    } else {
      this.wait++;
    }
  }
}
