import { SeededRng } from '@kiln/core';

import type { SearchSpace } from '../space/search-space';

/** What every tuner is built against: the space, the objective's direction, a seed and the defaults of the study. */
export interface TuneEnvironment {
  space: SearchSpace;
  mode: 'min' | 'max';
  seed: number;
  /** `tune.trials`, when given. */
  trials?: number;
  /** The config's `trainer.epochs`: the budget of a full trial when the tuner has no maxEpochs of its own. */
  epochs: number;
}

/** Service token under which the study binds its TuneEnvironment in the kernel (tuner factories read it). */
export const TuneEnvironmentToken: unique symbol = Symbol.for('kiln.service.TuneEnvironment');

/** Tuners minimize internally; `max` objectives are negated. Missing values rank last. */
export function toLoss(value: number | undefined, mode: 'min' | 'max'): number {
  if (value === undefined || !Number.isFinite(value)) return Infinity;
  return mode === 'max' ? -value : value;
}

/** Trial ids are study-wide counters, printed as `trial-<id>`. */
export function trialId(n: number): string {
  return String(n);
}

/**
 * A seeded generator for a tuner component, forked by label. The 16 discarded draws once
 * worked around poorly mixed first outputs, which core's SeededRng now fixes by scrambling
 * the seed; they stay so that a seed keeps giving the same trials.
 */
export function tunerRng(seed: number, label: string): SeededRng {
  const rng = new SeededRng(seed).fork(label);
  for (let i = 0; i < 16; i++) rng.next();
  return rng;
}
