import { z } from 'zod';

export const monitorShape = {
  monitor: z.string().default('val/loss').describe('Epoch log key to watch (`val/loss`, `val/accuracy`, `val/f1/macro`…).'),
  mode: z.enum(['min', 'max', 'auto']).default('auto')
    .describe('Whether lower or higher is better; auto picks max for accuracy/f1/precision/recall/r2/auc/map keys, else min.'),
};

const HIGHER_IS_BETTER = /(acc|f1|precision|recall|r2|auc|map|iou|dice)/i;

export function resolveMode(monitor: string, mode: 'min' | 'max' | 'auto'): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return HIGHER_IS_BETTER.test(monitor) ? 'max' : 'min';
}

/** Whether `value` beats `best` by more than `minDelta` in the given direction. */
export function improves(value: number, best: number | undefined, mode: 'min' | 'max', minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === undefined) return true;
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}
