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
  logParams(params: Record<string, ParamValue>): Promise<void>;
  logMetrics(metrics: Record<string, number>, step: number, timestampMs?: number): Promise<void>;
  setTags(tags: Record<string, string>): Promise<void>;
  /** Copies a local file or folder into the run's artifacts under `artifactPath`. */
  logArtifact(localPath: string, artifactPath?: string): Promise<void>;
  endRun(status: RunStatus): Promise<void>;
  /** Writes out anything buffered. */
  flush(): Promise<void>;
}
