import type { TrialResult, TrialSuggestion, Tuner } from '@kiln/core';
import type { Params } from '../space/search-space';
import type { ConfigSampler } from './samplers';
import { wholeEpochs, type BracketPlan } from './hyperband-schedule';
import { toLoss, trialId, type TuneEnvironment } from './environment';

interface Entry {
  /** Configuration number, stable across rungs. */
  config: number;
  params?: Params;
  status: 'todo' | 'running' | 'done';
  trial?: string;
  /** Trial of the previous rung this one continues. */
  from?: string;
  loss?: number;
}

interface BracketTunerState {
  bracket: number;
  rung: number;
  entries: Entry[];
  nextTrial: number;
  nextConfig: number;
  sampler: unknown;
}

/**
 * Runs successive-halving brackets one after another, rung by rung: a rung's configurations are
 * all trained to r_i epochs, then the best ⌊n_i/η⌋ continue from their checkpoints to r_{i+1}.
 * New configurations are drawn lazily from the sampler so a model-based sampler (TPE) learns
 * from every result before the next draw. Failed and pruned trials rank last.
 */
export class BracketTuner implements Tuner {
  private bracket = 0;
  private rung = 0;
  private entries: Entry[] = [];
  private nextTrial = 0;
  private nextConfig = 0;

  constructor(
    readonly name: string,
    readonly plan: BracketPlan[],
    private readonly eta: number,
    private readonly sampler: ConfigSampler,
    private readonly env: TuneEnvironment,
  ) {
    this.startBracket();
  }

  private startBracket(): void {
    this.rung = 0;
    const b = this.plan[this.bracket];
    this.entries = b ? Array.from({ length: b.rungs[0].n }, () => ({ config: this.nextConfig++, status: 'todo' as const })) : [];
  }

  ask(): TrialSuggestion | 'wait' | null {
    for (;;) {
      const b = this.plan[this.bracket];
      if (!b) return null;
      const todo = this.entries.find((e) => e.status === 'todo');
      if (todo) {
        todo.params ??= this.sampler.suggest();
        todo.status = 'running';
        todo.trial = trialId(this.nextTrial++);
        return {
          id: todo.trial,
          params: todo.params,
          budget: { epochs: wholeEpochs(b.rungs[this.rung].r) },
          ...(todo.from !== undefined ? { resumeFrom: todo.from } : {}),
          tags: { bracket: b.s, rung: this.rung, config: todo.config },
        };
      }
      if (this.entries.some((e) => e.status === 'running')) return 'wait';
      const keep = Math.floor(this.entries.length / this.eta + 1e-9);
      const next = b.rungs[this.rung + 1];
      if (!next || keep === 0) {
        this.bracket++;
        this.startBracket();
        continue;
      }
      const ranked = [...this.entries].sort((x, y) => (x.loss ?? Infinity) - (y.loss ?? Infinity) || x.config - y.config);
      this.rung++;
      this.entries = ranked
        .slice(0, Math.min(keep, next.n))
        .filter((e) => Number.isFinite(e.loss))
        .map((e) => ({ config: e.config, params: e.params, status: 'todo' as const, from: e.trial }));
    }
  }

  tell(result: TrialResult): void {
    const entry = this.entries.find((e) => e.trial === result.id);
    if (!entry) return;
    entry.status = 'done';
    entry.loss = result.status === 'completed' ? toLoss(result.value, this.env.mode) : Infinity;
    if (entry.params && Number.isFinite(entry.loss)) this.sampler.observe(entry.params, entry.loss, wholeEpochs(this.plan[this.bracket].rungs[this.rung].r));
  }

  state(): BracketTunerState {
    return { bracket: this.bracket, rung: this.rung, entries: this.entries, nextTrial: this.nextTrial, nextConfig: this.nextConfig, sampler: this.sampler.state() };
  }

  restore(state: unknown): void {
    const s = state as BracketTunerState;
    this.bracket = s.bracket;
    this.rung = s.rung;
    this.entries = s.entries.map((e) => ({ ...e }));
    this.nextTrial = s.nextTrial;
    this.nextConfig = s.nextConfig;
    this.sampler.restore(s.sampler);
  }
}
