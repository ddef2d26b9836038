import path from 'node:path';
import type { Callback, EpochEnd, Hooks, Logger } from '@kiln/core';
import { z } from 'zod';
import { improves, monitorShape, resolveMode } from './monitor';

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
 * Saves the full training state through `trainer.saveCheckpoint`: `checkpoints/last.safetensors`
 * every epoch and `checkpoints/best.safetensors` when the monitored log value improves. The trainer writes atomically and fires
 * `onCheckpoint`; this callback emits nothing itself.
 */
export class CheckpointCallback implements Callback {
  readonly name = 'checkpoint';
  private best: number | undefined;
  private warnedMissing = false;
  private readonly mode: 'min' | 'max';

  constructor(private readonly options: CheckpointOptions, private readonly logger?: Logger) {
    this.mode = resolveMode(options.monitor, options.mode);
  }

  /** Best monitored value so far. */
  get bestValue(): number | undefined {
    return this.best;
  }

  apply(hooks: Hooks): void {
    hooks.beforeRun.tap('CheckpointCallback', () => {
      this.best = undefined;
      this.warnedMissing = false;
    });
    hooks.afterEpoch.tapPromise('CheckpointCallback', (end) => this.afterEpoch(end));
  }

  private async afterEpoch({ trainer, logs, epoch }: EpochEnd): Promise<void> {
    const dir = path.join(trainer.runDir, 'checkpoints');
    if (this.options.saveLast) await trainer.saveCheckpoint(path.join(dir, LAST));
    if (!this.options.saveBest) return;
    const value = logs[this.options.monitor];
    if (value === undefined) {
      if (!this.warnedMissing) {
        this.logger?.warn(`checkpoint: "${this.options.monitor}" is not in the epoch logs (${Object.keys(logs).join(', ')}); no best checkpoint is kept`);
        this.warnedMissing = true;
      }
      return;
    }
    if (improves(value, this.best, this.mode)) {
      this.best = value;
      await trainer.saveCheckpoint(path.join(dir, BEST));
      this.logger?.debug(`checkpoint: epoch ${epoch} is the best so far (${this.options.monitor} = ${value})`);
    }
  }
}
