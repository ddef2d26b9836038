export interface TrialSuggestion {
  id: string;
  /** Config overrides by dotted path (`optimizer.lr`). */
  params: Record<string, unknown>;
  /** Resource for this trial: epochs to train (from the start, or from `resumeFrom`). */
  budget: { epochs: number };
  /** A trial continued from an earlier one (successive-halving promotion). */
  resumeFrom?: string;
  /** Free-form placement info, e.g. `{ bracket: 2, rung: 1 }`. */
  tags?: Record<string, string | number>;
}

export interface TrialResult {
  id: string;
  status: 'completed' | 'pruned' | 'failed';
  /** The objective at the end of the trial (undefined when it failed). */
  value?: number;
  /** Objective per epoch, for learning curves and pruning. */
  history?: number[];
  error?: string;
}

/** Token and interface of the Tuner point: proposes trials and learns from their results. */
export const Tuner: unique symbol = Symbol.for('kiln.point.Tuner');
export interface Tuner {
  readonly name: string;
  /** Next trial to run, `'wait'` if one must finish first, or `null` when the study is done. */
  ask(): TrialSuggestion | 'wait' | null;
  tell(result: TrialResult): void;
  /** Intermediate objective of a running trial; returning `'prune'` stops it. */
  report?(trialId: string, epoch: number, value: number): 'continue' | 'prune';
  /** Serializable state for the study file (resume). */
  state(): unknown;
  restore(state: unknown): void;
}
