import * as path from 'node:path';
import type { SpaceSpecInput } from './schema';

/** Search spaces used when a config extends one of these presets and has no `tune.space`. */
export const defaultSpaces: Record<string, SpaceSpecInput> = {
  'tabular-classification': {
    'optimizer.lr': { type: 'loguniform', min: 1e-4, max: 1e-1 },
    'model.hiddenUnits': { type: 'choice', values: [[32], [64], [64, 64], [128, 64]] },
    'model.dropout': { type: 'uniform', min: 0, max: 0.5 },
  },
  'tabular-regression': {
    'optimizer.lr': { type: 'loguniform', min: 1e-4, max: 1e-1 },
    'model.hiddenUnits': { type: 'choice', values: [[32], [64], [64, 64], [128, 64]] },
  },
  // AdamW (the preset's optimizer): lr around its 3e-3, decoupled decay around its 0.01.
  'image-classification': {
    'optimizer.lr': { type: 'loguniform', min: 3e-4, max: 3e-2 },
    'optimizer.weightDecay': { type: 'loguniform', min: 1e-3, max: 1e-1 },
    'trainer.batchSize': { type: 'choice', values: [32, 64, 128] },
  },
};

/** The preset a config extends last among those with a default space (`@kiln/presets/x`, `x`, or the preset's file). */
export function presetWithDefaultSpace(sources: readonly string[]): string | undefined {
  for (const source of [...sources].reverse()) {
    const base = path.basename(source).replace(/\.(js|ts|json|ya?ml)$/, '');
    if (base in defaultSpaces) return base;
  }
  return undefined;
}
