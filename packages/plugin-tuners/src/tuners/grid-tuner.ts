import { ConfigError, type TrialResult, type TrialSuggestion, type Tuner } from '@kiln/core';
import { z } from 'zod';
import { intCount, type Params } from '../space/search-space';
import { trialId, tunerRng, type TuneEnvironment } from './environment';

export const GridTunerOptions = z.strictObject({
  epochs: z.number().int().positive().optional().describe('Epochs per trial (default: trainer.epochs).'),
  repeat: z.number().int().positive().default(1).describe('Times the whole grid is run (continuous parameters are redrawn each time).'),
  maxPoints: z.number().int().positive().default(10000).describe('Refuse grids larger than this.'),
});
export type GridTunerOptions = z.output<typeof GridTunerOptions>;

/**
 * Every combination of the `grid` and `choice` parameters (and of `int` parameters with at
 * most 32 values), in order; `uniform`/`loguniform` parameters are drawn at random per point.
 * Conditional parameters multiply only the branches where they exist.
 */
export class GridTuner implements Tuner {
  readonly name = 'grid';
  readonly points: Params[];
  readonly epochs: number;
  private next = 0;
  private pending = new Set<string>();

  constructor(options: GridTunerOptions, env: TuneEnvironment) {
    this.epochs = options.epochs ?? env.epochs;
    const space = env.space;
    const rng = tunerRng(env.seed, 'grid');
    const levels = (name: string): unknown[] | undefined => {
      const p = space.params[name];
      if (p.type === 'grid' || p.type === 'choice') return p.values;
      if (p.type === 'int' && !p.log && intCount(p) <= 32) return Array.from({ length: intCount(p) }, (_, i) => p.min + i * (p.step ?? 1));
      return undefined;
    };
    let partial: Params[] = [{}];
    for (const name of space.order) {
      const values = levels(name);
      partial = partial.flatMap((params) => {
        if (!space.isActive(name, params)) return [params];
        return values ? values.map((v) => ({ ...params, [name]: v })) : [params];
      });
      if (partial.length > options.maxPoints) {
        throw new ConfigError(`the grid has more than ${options.maxPoints} points`, { where: 'tune.tuner', hint: 'use fewer values, or the random / tpe tuner' });
      }
    }
    this.points = [];
    for (let r = 0; r < options.repeat; r++) {
      for (const fixed of partial) this.points.push(space.sample(rng, fixed));
    }
  }

  ask(): TrialSuggestion | 'wait' | null {
    if (this.next < this.points.length) {
      const id = trialId(this.next);
      this.pending.add(id);
      return { id, params: this.points[this.next++], budget: { epochs: this.epochs } };
    }
    return this.pending.size ? 'wait' : null;
  }

  tell(result: TrialResult): void {
    this.pending.delete(result.id);
  }

  state(): unknown {
    return { next: this.next, pending: [...this.pending] };
  }

  restore(state: unknown): void {
    const s = state as { next: number; pending: string[] };
    this.next = s.next;
    this.pending = new Set(s.pending);
  }
}
