import { inferMode, type KilnConfig } from '@kiln/core';
import { z } from 'zod';

export const monitorShape = {
  monitor: z.string().optional().describe('Epoch log key to watch (`val/loss`, `val/accuracy`, `val/f1/macro`…); default: the config\'s `trainer.monitor`.'),
  mode: z.enum(['min', 'max', 'auto']).default('auto')
    .describe('Whether lower or higher is better; auto uses `trainer.mode` for the default monitor, else min for loss/error/mae/mse/rmse/perplexity keys and max otherwise (as the engine).'),
};

export interface MonitorOptions {
  monitor?: string;
  mode: 'min' | 'max' | 'auto';
}

/** The key and direction to watch: explicit options first, then the run's `trainer.monitor`/`trainer.mode`. */
export function resolveMonitor(options: MonitorOptions, config?: KilnConfig): { monitor: string; mode: 'min' | 'max' } {
  const monitor = options.monitor ?? config?.trainer.monitor ?? 'val/loss';
  if (options.mode !== 'auto') return { monitor, mode: options.mode };
  return { monitor, mode: inferMode(monitor, options.monitor === undefined ? config?.trainer.mode : undefined) };
}

/** Whether `value` beats `best` by more than `minDelta` in the given direction. */
export function improves(value: number, best: number | undefined, mode: 'min' | 'max', minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === undefined) return true;
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}
