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
  /** The trial's run directory (emptied when the trial starts, so a retried attempt starts clean). */
  runDir: string;
  /** A promotion: the predecessor's last checkpoint, continued in `runDir`. */
  resumeFrom?: string;
  objective: string;
  /** The study may stop the trial after an epoch (a pruner): the worker waits for each epoch's answer. */
  pruning?: boolean;
  /** Nest the trial's tracker run under the study's (when the config has a tracker). */
  trackerRun?: TrialTrackerRun;
}

/** What core's Tracker.startRun gets for a trial: its parent (the study's run), name and tags. */
export interface TrialTrackerRun {
  parentRunId?: string;
  runName?: string;
  tags?: Record<string, string>;
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
  /** Every epoch the trial reported (a distributed study may have missed some while it was down). */
  epochs?: EpochReport[];
  /** The trial's run in the tracker. */
  trackerRunId?: string;
  /** Times the trial was started by its executor (> 1: a worker died and another took it over). */
  attempts?: number;
}

/** Per-epoch callback: the answer says whether the trial continues. */
export type EpochListener = (report: EpochReport) => Promise<'continue' | 'prune'> | 'continue' | 'prune';

/**
 * Runs trials. `slots` trials may be in flight at once (it may change: distributed workers
 * come and go). Implementations: in-process (sequential), local child processes, and BullMQ on
 * Redis, which enqueues the serializable TrialJob and relays epoch reports back.
 */
export interface TrialExecutor {
  readonly name: string;
  readonly slots: number;
  /**
   * A trial left running by an interrupted study is still running elsewhere (a queue job):
   * run() attaches to it instead of starting it over.
   */
  readonly reattaches?: boolean;
  run(job: TrialJob, onEpoch: EpochListener): Promise<TrialOutcome>;
  /** Resolves when `slots` may have grown (a worker joined). */
  capacityChanged?(): Promise<void>;
  close(): Promise<void>;
}
