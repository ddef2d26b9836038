import { ConfigError } from '@kiln/core';
import { z } from 'zod';
import { createSampler, SamplerOption } from './samplers';
import { BracketTuner } from './bracket-tuner';
import { floorLog, hyperbandSchedule, successiveHalvingRungs, type BracketPlan } from './hyperband-schedule';
import type { TuneEnvironment } from './environment';

export const HyperbandOptions = z.strictObject({
  maxEpochs: z.number().positive().optional().describe('R: the most epochs any configuration gets (default: trainer.epochs).'),
  eta: z.number().gt(1).default(3).describe('η: each rung keeps the best 1/η and trains them η times longer.'),
  repeat: z.number().int().positive().default(1).describe('Runs of the whole set of brackets (Hyperband iterations).'),
  sampler: SamplerOption,
});
export type HyperbandOptions = z.output<typeof HyperbandOptions>;

export const SuccessiveHalvingOptions = z.strictObject({
  configs: z.number().int().positive().optional().describe('n: configurations in the first rung (default: tune.trials, else η^rungs).'),
  minEpochs: z.number().positive().default(1).describe('r: epochs of the first rung.'),
  maxEpochs: z.number().positive().optional().describe('R: epochs of the last rung (default: trainer.epochs).'),
  eta: z.number().gt(1).default(3).describe('η: keep the best 1/η of each rung, train them η times longer.'),
  sampler: SamplerOption,
});
export type SuccessiveHalvingOptions = z.output<typeof SuccessiveHalvingOptions>;

export function hyperbandPlan(options: Pick<HyperbandOptions, 'maxEpochs' | 'eta' | 'repeat'>, env: Pick<TuneEnvironment, 'epochs'>): BracketPlan[] {
  const R = options.maxEpochs ?? env.epochs;
  if (R < 1) throw new ConfigError(`maxEpochs must be at least 1, got ${R}`, { where: 'tune.tuner.maxEpochs' });
  const once = hyperbandSchedule(R, options.eta);
  return Array.from({ length: options.repeat }, () => once).flat();
}

export function successiveHalvingPlan(options: SuccessiveHalvingOptions, env: Pick<TuneEnvironment, 'epochs' | 'trials'>): BracketPlan[] {
  const R = options.maxEpochs ?? env.epochs;
  if (options.minEpochs > R) throw new ConfigError(`minEpochs (${options.minEpochs}) is above maxEpochs (${R})`, { where: 'tune.tuner.minEpochs' });
  const s = floorLog(R / options.minEpochs, options.eta);
  const n = options.configs ?? env.trials ?? Math.round(options.eta ** s);
  return [{ s, rungs: successiveHalvingRungs(n, options.minEpochs, options.eta, s + 1) }];
}

/** Hyperband: successive halving over every trade-off between many short and few long trials. */
export function createHyperbandTuner(options: HyperbandOptions, env: TuneEnvironment): BracketTuner {
  return new BracketTuner('hyperband', hyperbandPlan(options, env), options.eta, createSampler(options.sampler, env.space, env.seed), env);
}

/** One successive-halving bracket (Jamieson & Talwalkar 2016). */
export function createSuccessiveHalvingTuner(options: SuccessiveHalvingOptions, env: TuneEnvironment): BracketTuner {
  return new BracketTuner('successive-halving', successiveHalvingPlan(options, env), options.eta, createSampler(options.sampler, env.space, env.seed), env);
}
