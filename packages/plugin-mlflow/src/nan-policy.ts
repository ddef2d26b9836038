import { DataError } from '@kiln/core';
import type { Logger } from '@kiln/core';

/**
 * What to do with NaN/±Infinity metric values. MLflow's file store and REST API accept them
 * (stored as `nan`/`inf`, sent as "NaN"/"Infinity"), so `log` is the default.
 */
export type NanPolicy = 'log' | 'skip' | 'error';

export function applyNanPolicy(
  metrics: Record<string, number>,
  policy: NanPolicy,
  where: string,
  logger?: Logger,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics)) {
    if (typeof value !== 'number') {
      throw new DataError(`metric '${key}' is ${typeof value}, not a number`, { where, hint: 'pass plain numbers (call .dataSync()[0] on a scalar tensor)' });
    }
    if (!Number.isFinite(value)) {
      if (policy === 'error') {
        throw new DataError(`metric '${key}' is ${value}`, { where, hint: 'the loss diverged: lower the learning rate or clip gradients; or set tracker.nan to "log" or "skip"' });
      }
      if (policy === 'skip') {
        logger?.warn(`${where}: metric '${key}' is ${value}; not logged (tracker.nan = "skip")`);
        continue;
      }
    }
    out[key] = value;
  }
  return out;
}
