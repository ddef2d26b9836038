import type { TrialSuggestion } from '@kiln/core';

/** Where a trial's config comes from: the same inputs `kiln train` takes, plus the trial's own assignments. */
export interface ConfigSource {
  cwd: string;
  configPath?: string;
  presets?: string[];
  /** The user's `--set` assignments. */
  set?: string[];
  /** An in-memory config (programmatic `tune()`). */
  inline?: Record<string, unknown>;
}

/** Everything needed to run one trial, serializable so it can cross a process (or, later, a queue). */
export interface TrialJob {
  suggestion: TrialSuggestion;
  source: ConfigSource;
  /** `--set` assignments of the trial: its params, epochs, output.name, monitor. */
  overrides: string[];
  /** The trial's run directory (already holding the checkpoint to continue when `resume`). */
  runDir: string;
  resume: boolean;
  objective: string;
}

export interface EpochReport {
  /** 1-based epoch of the run (a promoted trial continues its predecessor's count). */
  epoch: number;
  value: number;
  logs: Record<string, number>;
}

export interface TrialOutcome {
  status: 'completed' | 'pruned' | 'failed';
  /** The objective at the last epoch that reported it. */
  value?: number;
  error?: string;
  /** Set when the failure is the study's fault, not the trial's (objective never logged): the study stops. */
  fatal?: { code: string; message: string; where?: string; hint?: string };
  runDir: string;
}

/** Per-epoch callback: the answer says whether the trial continues. */
export type EpochListener = (report: EpochReport) => Promise<'continue' | 'prune'> | 'continue' | 'prune';

/**
 * Runs trials. `slots` trials may be in flight at once. Implementations: in-process
 * (sequential), local child processes; a BullMQ/Redis executor would implement the same
 * interface by enqueuing the serializable TrialJob and relaying epoch reports back.
 */
export interface TrialExecutor {
  readonly name: string;
  readonly slots: number;
  run(job: TrialJob, onEpoch: EpochListener): Promise<TrialOutcome>;
  close(): Promise<void>;
}
