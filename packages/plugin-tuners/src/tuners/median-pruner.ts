import type { TrialResult, TrialSuggestion, Tuner } from '@kiln/core';
import { toLoss } from './environment';

export interface MedianPrunerOptions {
  warmupEpochs: number;
  minTrials: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Median stopping rule: at epoch e, a trial whose best value so far is worse than the median
 * of the completed trials' values at epoch e is stopped. Wraps any tuner; the inner tuner's
 * own report() (if any) is asked too, and either may prune.
 */
export class MedianPruner implements Tuner {
  private curves = new Map<string, Record<number, number>>();
  private completed: string[] = [];

  constructor(readonly inner: Tuner, private readonly mode: 'min' | 'max', private readonly options: MedianPrunerOptions = { warmupEpochs: 0, minTrials: 1 }) {}

  get name(): string {
    return this.inner.name;
  }

  ask(): TrialSuggestion | 'wait' | null {
    return this.inner.ask();
  }

  /** Should a trial at `epoch` with these losses so far stop? (losses are minimized) */
  shouldPrune(trialId: string, epoch: number): boolean {
    if (epoch <= this.options.warmupEpochs) return false;
    const curve = this.curves.get(trialId) ?? {};
    const bestSoFar = Math.min(...Object.entries(curve).filter(([e]) => Number(e) <= epoch).map(([, v]) => v));
    const others = this.completed.map((id) => this.curves.get(id)?.[epoch]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (others.length < this.options.minTrials) return false;
    return bestSoFar > median(others);
  }

  report(trialId: string, epoch: number, value: number): 'continue' | 'prune' {
    const curve = this.curves.get(trialId) ?? {};
    curve[epoch] = toLoss(value, this.mode);
    this.curves.set(trialId, curve);
    const inner = this.inner.report?.(trialId, epoch, value) ?? 'continue';
    return inner === 'prune' || this.shouldPrune(trialId, epoch) ? 'prune' : 'continue';
  }

  tell(result: TrialResult): void {
    // A promoted trial continues another's curve; both count their epochs as run.
    if (result.status === 'completed') this.completed.push(result.id);
    this.inner.tell(result);
  }

  state(): unknown {
    return { inner: this.inner.state(), curves: Object.fromEntries(this.curves), completed: this.completed };
  }

  restore(state: unknown): void {
    const s = state as { inner: unknown; curves: Record<string, Record<number, number>>; completed: string[] };
    this.inner.restore(s.inner);
    this.curves = new Map(Object.entries(s.curves));
    this.completed = s.completed;
  }
}
