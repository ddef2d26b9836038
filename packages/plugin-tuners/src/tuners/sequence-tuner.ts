import type { TrialResult, TrialSuggestion, Tuner } from '@kiln/core';
import { z } from 'zod';
import type { Params } from '../space/search-space';
import { createSampler, type ConfigSampler } from './samplers';
import { TpeOptions } from './tpe-sampler';
import { toLoss, trialId, type TuneEnvironment } from './environment';

export const RandomTunerOptions = z.strictObject({
  trials: z.number().int().positive().optional().describe('Configurations to try (default: tune.trials, else 20).'),
  epochs: z.number().int().positive().optional().describe('Epochs per trial (default: trainer.epochs).'),
});
export type RandomTunerOptions = z.output<typeof RandomTunerOptions>;

export const TpeTunerOptions = RandomTunerOptions.extend(TpeOptions.shape);
export type TpeTunerOptions = z.output<typeof TpeTunerOptions>;

interface SequenceState {
  issued: number;
  pending: Record<string, Params>;
  sampler: unknown;
}

/** Trials drawn one after another from a sampler, each trained for the full budget: random search, or TPE. */
export class SequenceTuner implements Tuner {
  readonly name: string;
  private readonly sampler: ConfigSampler;
  readonly trials: number;
  readonly epochs: number;
  private issued = 0;
  private pending = new Map<string, Params>();

  constructor(kind: 'random' | 'tpe', options: RandomTunerOptions & Partial<TpeOptions>, private readonly env: TuneEnvironment) {
    this.name = kind;
    const { trials, epochs, ...tpe } = options;
    this.sampler = createSampler(kind === 'tpe' ? { type: 'tpe', ...TpeOptions.parse(tpe) } : 'random', env.space, env.seed);
    this.trials = trials ?? env.trials ?? 20;
    this.epochs = epochs ?? env.epochs;
  }

  ask(): TrialSuggestion | 'wait' | null {
    if (this.issued < this.trials) {
      const id = trialId(this.issued++);
      const params = this.sampler.suggest();
      this.pending.set(id, params);
      return { id, params, budget: { epochs: this.epochs } };
    }
    return this.pending.size ? 'wait' : null;
  }

  tell(result: TrialResult): void {
    const params = this.pending.get(result.id);
    if (!params) return;
    this.pending.delete(result.id);
    this.sampler.observe(params, result.status === 'failed' ? Infinity : toLoss(result.value, this.env.mode), this.epochs);
  }

  state(): SequenceState {
    return { issued: this.issued, pending: Object.fromEntries(this.pending), sampler: this.sampler.state() };
  }

  restore(state: unknown): void {
    const s = state as SequenceState;
    this.issued = s.issued;
    this.pending = new Map(Object.entries(s.pending));
    this.sampler.restore(s.sampler);
  }
}
