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

interface BracketRun {
  /** Index into the plan. */
  bracket: number;
  rung: number;
  entries: Entry[];
}

interface BracketTunerState {
  active: BracketRun[];
  nextBracket: number;
  nextTrial: number;
  nextConfig: number;
  sampler: unknown;
}

/**
 * Runs successive-halving brackets rung by rung: a rung's configurations are all trained to
 * r_i epochs, then the best ⌊n_i/η⌋ continue from their checkpoints to r_{i+1}. Brackets are
 * independent, so when every open bracket is waiting at a rung barrier (parallel workers) the
 * next bracket is opened rather than leaving a worker idle; run one trial at a time and they
 * go strictly in order. New configurations are drawn lazily from the sampler so a model-based
 * sampler (TPE) learns from every result before the next draw. Failed and pruned trials rank last.
 */
export class BracketTuner implements Tuner {
  private active: BracketRun[] = [];
  private nextBracket = 0;
  private nextTrial = 0;
  private nextConfig = 0;

  constructor(
    readonly name: string,
    readonly plan: BracketPlan[],
    private readonly eta: number,
    private readonly sampler: ConfigSampler,
    private readonly env: TuneEnvironment,
  ) {}

  private open(): BracketRun | undefined {
    const b = this.plan[this.nextBracket];
    if (!b) return undefined;
    const run: BracketRun = { bracket: this.nextBracket++, rung: 0, entries: Array.from({ length: b.rungs[0].n }, () => ({ config: this.nextConfig++, status: 'todo' as const })) };
    this.active.push(run);
    return run;
  }

  /** Next trial of one bracket, 'wait' at its rung barrier, or null when it is finished. */
  private askIn(run: BracketRun): TrialSuggestion | 'wait' | null {
    const b = this.plan[run.bracket];
    for (;;) {
      const todo = run.entries.find((e) => e.status === 'todo');
      if (todo) {
        todo.params ??= this.sampler.suggest();
        todo.status = 'running';
        todo.trial = trialId(this.nextTrial++);
        return {
          id: todo.trial,
          params: todo.params,
          budget: { epochs: wholeEpochs(b.rungs[run.rung].r) },
          ...(todo.from !== undefined ? { resumeFrom: todo.from } : {}),
          tags: { bracket: b.s, rung: run.rung, config: todo.config },
        };
      }
      if (run.entries.some((e) => e.status === 'running')) return 'wait';
      // Li et al. keep the top ⌊n_i/η⌋ with n_i = ⌊n·η^(−i)⌋ from the plan (for a fractional η that can differ from ⌊|rung|/η⌋).
      const keep = Math.floor(b.rungs[run.rung].n / this.eta + 1e-9);
      const next = b.rungs[run.rung + 1];
      if (!next || keep === 0) return null;
      const ranked = [...run.entries].sort((x, y) => (x.loss ?? Infinity) - (y.loss ?? Infinity) || x.config - y.config);
      run.rung++;
      run.entries = ranked
        .slice(0, Math.min(keep, next.n))
        .filter((e) => Number.isFinite(e.loss))
        .map((e) => ({ config: e.config, params: e.params, status: 'todo' as const, from: e.trial }));
    }
  }

  ask(): TrialSuggestion | 'wait' | null {
    for (;;) {
      let waiting = false;
      for (const run of [...this.active]) {
        const s = this.askIn(run);
        if (s === null) this.active.splice(this.active.indexOf(run), 1);
        else if (s === 'wait') waiting = true;
        else return s;
      }
      if (!this.open()) return waiting ? 'wait' : null;
    }
  }

  tell(result: TrialResult): void {
    for (const run of this.active) {
      const entry = run.entries.find((e) => e.trial === result.id && e.status === 'running');
      if (!entry) continue;
      entry.status = 'done';
      entry.loss = result.status === 'completed' ? toLoss(result.value, this.env.mode) : Infinity;
      if (entry.params && Number.isFinite(entry.loss)) this.sampler.observe(entry.params, entry.loss, wholeEpochs(this.plan[run.bracket].rungs[run.rung].r));
      return;
    }
  }

  state(): BracketTunerState {
    return { active: this.active, nextBracket: this.nextBracket, nextTrial: this.nextTrial, nextConfig: this.nextConfig, sampler: this.sampler.state() };
  }

  restore(state: unknown): void {
    const s = state as BracketTunerState;
    this.active = s.active.map((r) => ({ ...r, entries: r.entries.map((e) => ({ ...e })) }));
    this.nextBracket = s.nextBracket;
    this.nextTrial = s.nextTrial;
    this.nextConfig = s.nextConfig;
    this.sampler.restore(s.sampler);
  }
}
