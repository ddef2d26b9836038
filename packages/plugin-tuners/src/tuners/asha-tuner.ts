import type { TrialResult, TrialSuggestion, Tuner } from '@kiln/core';
import { z } from 'zod';
import type { Params } from '../space/search-space';
import { createSampler, SamplerOption, type ConfigSampler } from './samplers';
import { floorLog, wholeEpochs } from './hyperband-schedule';
import { toLoss, trialId, type TuneEnvironment } from './environment';

export const AshaOptions = z.strictObject({
  minEpochs: z.number().positive().default(1).describe('r: epochs of the bottom rung.'),
  maxEpochs: z.number().positive().optional().describe('R: epochs of the top rung (default: trainer.epochs).'),
  eta: z.number().gt(1).default(3).describe('η: a result is promoted when it is in the top 1/η of its rung.'),
  trials: z.number().int().positive().optional().describe('Configurations to start in the bottom rung (default: tune.trials, else 3·η^rungs).'),
  sampler: SamplerOption,
});
export type AshaOptions = z.output<typeof AshaOptions>;

interface RungEntry {
  config: number;
  trial: string;
  loss?: number;
  promoted: boolean;
}

interface AshaState {
  rungs: RungEntry[][];
  configs: Record<number, Params>;
  running: Record<string, { config: number; rung: number }>;
  started: number;
  nextTrial: number;
  sampler: unknown;
}

/**
 * Asynchronous successive halving (Li et al., MLSys 2020, Algorithm 2). Whenever a worker is
 * free: look from the top rung down for a configuration in the top ⌊|rung k|/η⌋ of rung k's
 * completed results that has not been promoted; promote it to rung k+1 (continuing from its
 * checkpoint), otherwise start a new configuration in the bottom rung. Never waits for a rung.
 */
export class AshaTuner implements Tuner {
  readonly name = 'asha';
  private readonly sampler: ConfigSampler;
  private readonly maxRung: number;
  private readonly minEpochs: number;
  private readonly eta: number;
  readonly limit: number;
  private rungs: RungEntry[][];
  private configs = new Map<number, Params>();
  private running = new Map<string, { config: number; rung: number }>();
  private started = 0;
  private nextTrial = 0;

  constructor(options: AshaOptions, private readonly env: TuneEnvironment) {
    const R = options.maxEpochs ?? env.epochs;
    this.eta = options.eta;
    this.minEpochs = options.minEpochs;
    this.maxRung = floorLog(R / options.minEpochs, options.eta);
    this.limit = options.trials ?? env.trials ?? 3 * Math.round(options.eta ** this.maxRung);
    this.rungs = Array.from({ length: this.maxRung + 1 }, () => []);
    this.sampler = createSampler(options.sampler, env.space, env.seed);
  }

  /** Epochs of rung k: r·η^k. */
  rungEpochs(k: number): number {
    return wholeEpochs(this.minEpochs * this.eta ** k);
  }

  /** A completed, not yet promoted entry in the top ⌊|completed|/η⌋ of rung k. */
  promotable(k: number): RungEntry | undefined {
    const done = this.rungs[k].filter((e) => e.loss !== undefined && Number.isFinite(e.loss));
    const top = Math.floor(done.length / this.eta + 1e-9);
    return done
      .sort((a, b) => a.loss! - b.loss! || a.config - b.config)
      .slice(0, top)
      .find((e) => !e.promoted);
  }

  ask(): TrialSuggestion | 'wait' | null {
    for (let k = this.maxRung - 1; k >= 0; k--) {
      const entry = this.promotable(k);
      if (entry) {
        entry.promoted = true;
        return this.launch(entry.config, k + 1, entry.trial);
      }
    }
    if (this.started < this.limit) {
      const config = this.started++;
      this.configs.set(config, this.sampler.suggest());
      return this.launch(config, 0);
    }
    return this.running.size ? 'wait' : null;
  }

  private launch(config: number, rung: number, from?: string): TrialSuggestion {
    const id = trialId(this.nextTrial++);
    this.running.set(id, { config, rung });
    return {
      id,
      params: this.configs.get(config)!,
      budget: { epochs: this.rungEpochs(rung) },
      ...(from !== undefined ? { resumeFrom: from } : {}),
      tags: { rung, config },
    };
  }

  tell(result: TrialResult): void {
    const run = this.running.get(result.id);
    if (!run) return;
    this.running.delete(result.id);
    const loss = result.status === 'completed' ? toLoss(result.value, this.env.mode) : Infinity;
    this.rungs[run.rung].push({ config: run.config, trial: result.id, loss, promoted: run.rung === this.maxRung });
    if (Number.isFinite(loss)) this.sampler.observe(this.configs.get(run.config)!, loss, this.rungEpochs(run.rung));
  }

  state(): AshaState {
    return {
      rungs: this.rungs,
      configs: Object.fromEntries(this.configs),
      running: Object.fromEntries(this.running),
      started: this.started,
      nextTrial: this.nextTrial,
      sampler: this.sampler.state(),
    };
  }

  restore(state: unknown): void {
    const s = state as AshaState;
    this.rungs = s.rungs.map((r) => r.map((e) => ({ ...e, loss: e.loss ?? Infinity })));
    this.configs = new Map(Object.entries(s.configs).map(([k, v]) => [Number(k), v]));
    this.running = new Map(Object.entries(s.running));
    this.started = s.started;
    this.nextTrial = s.nextTrial;
    this.sampler.restore(s.sampler);
  }
}
