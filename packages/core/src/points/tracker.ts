export type RunStatus = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';
export type ParamValue = string | number | boolean;

export interface StartRunOptions {
  experiment?: string;
  runName?: string;
  /** Makes this a nested run (a tuning trial under its study). */
  parentRunId?: string;
  tags?: Record<string, string>;
}

/** Token and interface of the Tracker point: where params, metrics and artifacts are recorded. */
export const Tracker: unique symbol = Symbol.for('kiln.point.Tracker');
export interface Tracker {
  readonly name: string;
  startRun(options: StartRunOptions): Promise<{ runId: string; location: string }>;
  /**
   * Reopens a run this tracker started earlier (status RUNNING again, history kept), so a
   * resumed training continues its run instead of starting a new one. Optional: without it a
   * resumed training starts a new run tagged with the old run's id.
   */
  resumeRun?(runId: string): Promise<{ runId: string; location: string }>;
  logParams(params: Record<string, ParamValue>): Promise<void>;
  logMetrics(metrics: Record<string, number>, step: number, timestampMs?: number): Promise<void>;
  setTags(tags: Record<string, string>): Promise<void>;
  /** Copies a local file or folder into the run's artifacts under `artifactPath`. */
  logArtifact(localPath: string, artifactPath?: string): Promise<void>;
  endRun(status: RunStatus): Promise<void>;
  /** Writes out anything buffered. Called after every epoch, so it must be cheap when nothing is. */
  flush(): Promise<void>;
}
