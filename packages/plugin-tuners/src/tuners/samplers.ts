import { SeededRng } from '@kiln/core';
import { z } from 'zod';
import type { Params, SearchSpace } from '../space/search-space';
import { TpeSampler, TpeOptions } from './tpe-sampler';
import { tunerRng } from './environment';

/** Where new configurations come from: uniformly at random, or a model of past results (TPE). */
export interface ConfigSampler {
  readonly name: string;
  suggest(): Params;
  /** A finished evaluation; `loss` is minimized, `budget` is the epochs it trained. */
  observe(params: Params, loss: number, budget: number): void;
  state(): unknown;
  restore(state: unknown): void;
}

export class RandomSampler implements ConfigSampler {
  readonly name = 'random';
  private readonly rng: SeededRng;
  constructor(private readonly space: SearchSpace, seed: number) {
    this.rng = tunerRng(seed, 'sampler');
  }
  suggest(): Params {
    return this.space.sample(this.rng);
  }
  observe(): void {}
  state(): unknown {
    return { rng: this.rng.getState() };
  }
  restore(state: unknown): void {
    this.rng.setState((state as { rng: number[] }).rng);
  }
}

export const SamplerOption = z
  .union([z.literal('random'), z.literal('tpe'), z.strictObject({ type: z.literal('random') }), TpeOptions.extend({ type: z.literal('tpe') })])
  .default('random')
  .describe("Where new configurations come from: 'random', or 'tpe' (a model of the results so far; with hyperband this is BOHB).");
export type SamplerOption = z.output<typeof SamplerOption>;

export function createSampler(option: SamplerOption, space: SearchSpace, seed: number): ConfigSampler {
  if (option === 'random' || (typeof option === 'object' && option.type === 'random')) return new RandomSampler(space, seed);
  if (option === 'tpe') return new TpeSampler(space, seed, TpeOptions.parse({}));
  const { type: _type, ...tpe } = option as z.output<typeof TpeOptions> & { type: 'tpe' };
  return new TpeSampler(space, seed, tpe);
}
