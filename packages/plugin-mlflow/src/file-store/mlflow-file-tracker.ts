import { UsageError } from '@kiln/core';
import type { Logger, ParamValue, RunStatus, StartRunOptions, Tracker } from '@kiln/core';
import { MlflowFileStore } from './mlflow-file-store';
import { applyNanPolicy, type NanPolicy } from '../nan-policy';
import { paramToString } from '../validation';

export interface MlflowFileTrackerOptions {
  /** The `mlruns` folder. */
  root: string;
  /** Experiment used when startRun names none. */
  experiment?: string;
  /** Tags added to every run (see `systemTags()`). */
  tags?: Record<string, string>;
  /** Parent of the runs this tracker starts when startRun names none (and no run is active). */
  parentRunId?: string;
  nan?: NanPolicy;
  logger?: Logger;
}

/** The Tracker point over an MLflow `mlruns/` folder: no server, readable by `mlflow ui`. */
export class MlflowFileTracker implements Tracker {
  readonly name = 'mlflow';
  readonly store: MlflowFileStore;
  private runId?: string;
  private readonly parents: string[] = [];

  constructor(private readonly options: MlflowFileTrackerOptions) {
    this.store = new MlflowFileStore(options.root);
  }

  get activeRunId(): string | undefined {
    return this.runId;
  }

  async startRun(options: StartRunOptions): Promise<{ runId: string; location: string }> {
    const experimentId = this.store.getOrCreateExperiment(options.experiment ?? this.options.experiment ?? 'Default');
    const tags: Record<string, string> = { ...(this.options.tags ?? {}), ...(options.tags ?? {}) };
    const parentRunId = options.parentRunId ?? (this.runId ? undefined : this.options.parentRunId);
    if (parentRunId) {
      this.store.locateRun(parentRunId);
      tags['mlflow.parentRunId'] = parentRunId;
    }
    const info = this.store.createRun(experimentId, { runName: options.runName, userId: tags['mlflow.user'], tags });
    if (this.runId) this.parents.push(this.runId);
    this.runId = info.runId;
    return { runId: info.runId, location: info.dir };
  }

  /**
   * Continues logging to an existing run (a resumed training): status RUNNING again, end time kept
   * (as MLflow's `start_run(run_id=…)` does), history kept; errors when the run does not exist.
   */
  async resumeRun(runId: string): Promise<{ runId: string; location: string }> {
    const info = this.store.getRunInfo(runId);
    if (info.status !== 'RUNNING') this.store.updateRun(runId, 'RUNNING', info.endTime);
    if (this.runId) this.parents.push(this.runId);
    this.runId = runId;
    return { runId, location: info.dir };
  }

  private active(action: string): string {
    if (!this.runId) throw new UsageError(`${action} called with no active MLflow run`, { hint: 'call startRun() first' });
    return this.runId;
  }

  async logParams(params: Record<string, ParamValue>): Promise<void> {
    const runId = this.active('logParams');
    const strings: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) strings[k] = paramToString(v);
    this.store.logParams(runId, strings);
  }

  async logMetrics(metrics: Record<string, number>, step: number, timestampMs: number = Date.now()): Promise<void> {
    const runId = this.active('logMetrics');
    const kept = applyNanPolicy(metrics, this.options.nan ?? 'log', `run ${runId} step ${step}`, this.options.logger);
    this.store.logMetrics(runId, Object.entries(kept).map(([key, value]) => ({ key, value, step, timestamp: timestampMs })));
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    this.store.setTags(this.active('setTags'), tags);
  }

  async logArtifact(localPath: string, artifactPath?: string): Promise<void> {
    this.store.logArtifact(this.active('logArtifact'), localPath, artifactPath);
  }

  /**
   * Ends the active run; a nested run hands the active slot back to its parent. Synchronous
   * underneath (one atomic rename of meta.yaml), so safe on a signal path; with no active run,
   * `KILLED` and `FAILED` do nothing (a second call from a signal handler is harmless).
   */
  async endRun(status: RunStatus): Promise<void> {
    if (!this.runId && (status === 'KILLED' || status === 'FAILED')) return;
    const runId = this.active('endRun');
    this.runId = this.parents.pop();
    this.store.updateRun(runId, status);
  }

  /** Every call is written through, so there is nothing buffered: free to call every epoch. */
  async flush(): Promise<void> {}
}
