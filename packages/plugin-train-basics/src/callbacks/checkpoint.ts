import path from 'node:path';
import type { Callback, EpochEnd, Hooks, KilnConfig, Logger } from '@kiln/core';
import { z } from 'zod';
import { improves, monitorShape, resolveMonitor } from './monitor';

// The engine's --resume and export look for these exact names (safetensors files).
export const LAST = 'last.safetensors';
export const BEST = 'best.safetensors';

export const CheckpointOptions = z.strictObject({
  ...monitorShape,
  saveLast: z.boolean().default(true).describe('Save `<runDir>/checkpoints/last.safetensors` after every epoch.'),
  saveBest: z.boolean().default(true).describe('Save `<runDir>/checkpoints/best.safetensors` whenever the monitored value improves.'),
});
export type CheckpointOptions = z.output<typeof CheckpointOptions>;

/**
 * Saves the full training state through `trainer.saveCheckpoint`:
 * `checkpoints/last.safetensors` every epoch and `checkpoints/best.safetensors` when the
 * monitored log value improves. The trainer writes atomically; after each save the
 * `onCheckpoint` hook tells other plugins (a registry, an uploader) what was written.
 */
export class CheckpointCallback implements Callback {
  readonly name = 'checkpoint';
  private best: number | undefined;
  private warnedMissing = false;
  private readonly mode: 'min' | 'max';
  private readonly monitor: string;
  private hooks?: Hooks;

  constructor(private readonly options: CheckpointOptions, private readonly logger?: Logger, config?: KilnConfig) {
    ({ monitor: this.monitor, mode: this.mode } = resolveMonitor(options, config));
  }

  /** Best monitored value so far. */
  get bestValue(): number | undefined {
    return this.best;
  }

  apply(hooks: Hooks): void {
    this.hooks = hooks;
    hooks.beforeRun.tap('CheckpointCallback', () => {
      this.best = undefined;
      this.warnedMissing = false;
    });
    hooks.afterEpoch.tapPromise('CheckpointCallback', (end) => this.afterEpoch(end));
  }

  private async afterEpoch({ trainer, logs, epoch }: EpochEnd): Promise<void> {
    const dir = path.join(trainer.runDir, 'checkpoints');
    const save = async (file: string, kind: 'last' | 'best') => {
      await trainer.saveCheckpoint(file);
      await this.hooks?.onCheckpoint.promise({ path: file, kind, epoch, step: trainer.currentStep, logs });
    };
    if (this.options.saveLast) await save(path.join(dir, LAST), 'last');
    if (!this.options.saveBest) return;
    const value = logs[this.monitor];
    if (value === undefined) {
      if (!this.warnedMissing) {
        this.logger?.warn(`checkpoint: "${this.monitor}" is not in the epoch logs (${Object.keys(logs).join(', ')}); no best checkpoint is kept`);
        this.warnedMissing = true;
      }
      return;
    }
    if (improves(value, this.best, this.mode)) {
      this.best = value;
      await save(path.join(dir, BEST), 'best');
      this.logger?.debug(`checkpoint: epoch ${epoch + 1} is the best so far (${this.monitor} = ${value})`);
    }
  }
}
