import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '@kiln/core';
import type { Logger, ParamValue, RunStatus, StartRunOptions, Tracker } from '@kiln/core';
import { MlflowApiError, MlflowHttpClient, MlflowUnavailableError } from './mlflow-http-client';
import { applyNanPolicy, type NanPolicy } from '../nan-policy';
import { MLFLOW_LIMITS, paramToString, validateKey, validateParamValue, validateRunId, validateStep, validateTagValue } from '../validation';

export interface RetryOptions {
  /** Attempts of a blocking send (startRun, flush, endRun) before giving up for now. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface MlflowRestTrackerOptions {
  /** `http(s)://host:port` of an MLflow tracking server. */
  uri: string;
  experiment?: string;
  tags?: Record<string, string>;
  /** Parent of the runs this tracker starts when startRun names none (and no run is active). */
  parentRunId?: string;
  nan?: NanPolicy;
  logger?: Logger;
  /** Where unsent entities are kept when the server is still down at endRun. */
  spoolDir?: string;
  retry?: Partial<RetryOptions>;
  /** Buffered metrics+params+tags that trigger a send. */
  batchSize?: number;
  /** Longest time logged entities wait in the buffer before a send, so a live view stays current. */
  flushIntervalMs?: number;
  timeoutMs?: number;
  /** Environment the credentials are read from (MLFLOW_TRACKING_TOKEN, …); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

interface MetricJson { key: string; value: number | string; timestamp: number; step: number }
interface KeyValue { key: string; value: string }

export type SpooledOperation =
  | { kind: 'batch'; metrics: MetricJson[]; params: KeyValue[]; tags: KeyValue[] }
  | { kind: 'artifact'; file: string; artifactPath: string }
  | { kind: 'update'; status: RunStatus; endTime: number };

export interface SpoolFile {
  uri: string;
  runId: string;
  experimentId: string;
  artifactRoot: string;
  operations: SpooledOperation[];
}

interface ActiveRun {
  runId: string;
  experimentId: string;
  artifactRoot: string;
  parentRunId?: string;
  /** Reopened with resumeRun rather than created. */
  resumed?: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Splits buffered entities into log-batch requests within MLflow's per-request limits. */
export function chunkBatches(metrics: MetricJson[], params: KeyValue[], tags: KeyValue[]): SpooledOperation[] {
  const ops: SpooledOperation[] = [];
  let m = 0, p = 0, t = 0;
  while (m < metrics.length || p < params.length || t < tags.length) {
    const np = Math.min(MLFLOW_LIMITS.maxParamsPerBatch, params.length - p);
    const nt = Math.min(MLFLOW_LIMITS.maxTagsPerBatch, tags.length - t);
    const nm = Math.min(MLFLOW_LIMITS.maxMetricsPerBatch, MLFLOW_LIMITS.maxEntitiesPerBatch - np - nt, metrics.length - m);
    ops.push({ kind: 'batch', metrics: metrics.slice(m, m + nm), params: params.slice(p, p + np), tags: tags.slice(t, t + nt) });
    m += nm; p += np; t += nt;
  }
  return ops;
}

/** Proto3 JSON spells non-finite doubles as strings; MLflow's server parses them back. */
function metricValueJson(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

/** The server's path for a run's artifacts: `mlflow-artifacts:/<exp>/<run>/artifacts` → `<exp>/<run>/artifacts`. */
export function artifactRootPath(artifactUri: string, experimentId: string, runId: string): string {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(artifactUri);
  return match ? match[1].replace(/\/+$/, '') : `${experimentId}/${runId}/artifacts`;
}

/**
 * The Tracker point over an MLflow tracking server (REST API 2.0). Everything logged is buffered and
 * sent in log-batch calls; while the server is down the buffer grows and sends are retried with
 * exponential backoff; what is still unsent at endRun is written to a spool file (see
 * `MlflowRestTracker.replaySpool`).
 */
export class MlflowRestTracker implements Tracker {
  readonly name = 'mlflow';
  readonly client: MlflowHttpClient;
  private readonly retry: RetryOptions;
  private readonly batchSize: number;
  private run?: ActiveRun;
  /** Runs a nested run interrupted, each with the operations still queued for it. */
  private readonly parents: { run: ActiveRun; pending: SpooledOperation[] }[] = [];
  private metrics: MetricJson[] = [];
  private params: KeyValue[] = [];
  private tags: KeyValue[] = [];
  private pending: SpooledOperation[] = [];
  private readonly loggedParams = new Map<string, string>();
  private sending: Promise<void> = Promise.resolve();
  private offlineSince?: number;
  private nextAttemptAt = 0;
  private backoffMs: number;
  private stagedCount = 0;
  private lastSendAt = Date.now();
  /** Set when endRun left entities in a spool file. */
  lastSpoolFile?: string;

  constructor(private readonly options: MlflowRestTrackerOptions) {
    if (!/^https?:\/\//.test(options.uri)) {
      throw new UsageError(`'${options.uri}' is not an http(s) MLflow server URI`, { where: 'tracker.uri', hint: 'use http://host:5000, or a folder path for the local file store' });
    }
    this.client = new MlflowHttpClient({ uri: options.uri, timeoutMs: options.timeoutMs ?? 10_000, env: options.env ?? process.env });
    this.retry = { attempts: 5, initialDelayMs: 250, maxDelayMs: 8000, ...(options.retry ?? {}) };
    this.batchSize = options.batchSize ?? 200;
    this.backoffMs = this.retry.initialDelayMs;
  }

  get activeRunId(): string | undefined {
    return this.run?.runId;
  }

  /** The `mlflow.parentRunId` of the active run, when it is nested. */
  get activeParentRunId(): string | undefined {
    return this.run?.parentRunId;
  }

  /** Whether the active run was reopened with resumeRun. */
  get activeRunResumed(): boolean {
    return this.run?.resumed === true;
  }

  /** Environment the credentials come from (for a registry client on the same server). */
  get env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }

  /** Entities logged but not yet accepted by the server. */
  get unsentCount(): number {
    const inOps = this.pending.reduce((n, op) => n + (op.kind === 'batch' ? op.metrics.length + op.params.length + op.tags.length : 1), 0);
    return inOps + this.metrics.length + this.params.length + this.tags.length;
  }

  /** Retries a call that must succeed now (run creation); fails with a clear error after the last attempt. */
  private async callWithRetry<T>(what: string, call: () => Promise<T>): Promise<T> {
    let delay = this.retry.initialDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof MlflowUnavailableError)) throw error;
        if (attempt >= this.retry.attempts) {
          throw new UsageError(`cannot reach the MLflow server at ${this.client.base} (${what}: ${error.message}, ${attempt} attempts)`, {
            where: 'tracker.uri',
            hint: 'start the server (`mlflow server --host 127.0.0.1 --port 5000`), fix tracker.uri, or use a folder path for the local file store',
            cause: error,
          });
        }
        await sleep(delay);
        delay = Math.min(delay * 2, this.retry.maxDelayMs);
      }
    }
  }

  private async experimentId(name: string): Promise<string> {
    try {
      const found = await this.client.request<{ experiment: { experiment_id: string } }>('GET', '/api/2.0/mlflow/experiments/get-by-name', undefined, { experiment_name: name });
      return found.experiment.experiment_id;
    } catch (error) {
      if (!(error instanceof MlflowApiError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw error;
    }
    try {
      const created = await this.client.request<{ experiment_id: string }>('POST', '/api/2.0/mlflow/experiments/create', { name });
      return created.experiment_id;
    } catch (error) {
      // Another trial created it between our get and create.
      if (error instanceof MlflowApiError && error.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        const found = await this.client.request<{ experiment: { experiment_id: string } }>('GET', '/api/2.0/mlflow/experiments/get-by-name', undefined, { experiment_name: name });
        return found.experiment.experiment_id;
      }
      throw error;
    }
  }

  async startRun(options: StartRunOptions): Promise<{ runId: string; location: string }> {
    const tags: Record<string, string> = { ...(this.options.tags ?? {}), ...(options.tags ?? {}) };
    const parentRunId = options.parentRunId ?? (this.run ? undefined : this.options.parentRunId);
    if (parentRunId) {
      validateRunId(parentRunId, 'startRun parentRunId');
      tags['mlflow.parentRunId'] = parentRunId;
    }
    for (const [k, v] of Object.entries(tags)) {
      validateKey('tag', k, 'startRun');
      validateTagValue(k, v, 'startRun');
    }
    const experimentName = options.experiment ?? this.options.experiment ?? 'Default';
    const experimentId = await this.callWithRetry('get experiment', () => this.experimentId(experimentName));
    const body = {
      experiment_id: experimentId,
      user_id: tags['mlflow.user'] ?? '',
      run_name: options.runName ?? '',
      start_time: Date.now(),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    };
    const created = await this.callWithRetry('create run', () =>
      this.client.request<{ run: { info: { run_id: string; artifact_uri?: string } } }>('POST', '/api/2.0/mlflow/runs/create', body),
    );
    this.suspendActive();
    const runId = created.run.info.run_id;
    this.run = { runId, experimentId, artifactRoot: artifactRootPath(created.run.info.artifact_uri ?? '', experimentId, runId), parentRunId };
    this.loggedParams.clear();
    return { runId, location: `${this.client.base}/#/experiments/${experimentId}/runs/${runId}` };
  }

  /**
   * Continues logging to an existing run on the server (a resumed training): its status is RUNNING
   * again and its end time kept, as MLflow's `start_run(run_id=…)` does; a clear error when it does not exist.
   */
  async resumeRun(runId: string): Promise<{ runId: string; location: string }> {
    validateRunId(runId);
    const got = await this.callWithRetry('get run', () =>
      this.client.request<{
        run: { info: { run_id: string; experiment_id: string; artifact_uri?: string; status?: string; end_time?: number }; data?: { tags?: { key: string; value: string }[] } };
      }>(
        'GET',
        '/api/2.0/mlflow/runs/get',
        undefined,
        { run_id: runId },
      ),
    );
    const info = got.run.info;
    if (info.status !== 'RUNNING') {
      await this.callWithRetry('reopen run', () =>
        this.client.request('POST', '/api/2.0/mlflow/runs/update', { run_id: runId, status: 'RUNNING', ...(info.end_time !== undefined ? { end_time: info.end_time } : {}) }),
      );
    }
    this.suspendActive();
    const experimentId = info.experiment_id;
    const parentRunId = got.run.data?.tags?.find((t) => t.key === 'mlflow.parentRunId')?.value;
    this.run = { runId, experimentId, artifactRoot: artifactRootPath(info.artifact_uri ?? '', experimentId, runId), parentRunId, resumed: true };
    this.loggedParams.clear();
    return { runId, location: `${this.client.base}/#/experiments/${experimentId}/runs/${runId}` };
  }

  /** Sets the active run aside (with its own queue) while a nested run logs. */
  private suspendActive(): void {
    if (!this.run) return;
    this.drainBuffers();
    this.parents.push({ run: this.run, pending: this.pending });
    this.pending = [];
    this.loggedParams.clear();
  }

  private active(action: string): string {
    if (!this.run) throw new UsageError(`${action} called with no active MLflow run`, { hint: 'call startRun() first' });
    return this.run.runId;
  }

  async logParams(params: Record<string, ParamValue>): Promise<void> {
    const runId = this.active('logParams');
    const fresh: KeyValue[] = [];
    for (const [key, raw] of Object.entries(params)) {
      const value = paramToString(raw);
      validateKey('param', key, `run ${runId}`);
      validateParamValue(key, value, `run ${runId}`);
      const previous = this.loggedParams.get(key);
      if (previous !== undefined && previous !== value) {
        throw new UsageError(`param '${key}' was already logged as '${previous.slice(0, 200)}'; changing it to '${value.slice(0, 200)}' is not allowed`, {
          where: `run ${runId}`,
          hint: 'MLflow params are immutable: log values that change during training as metrics, or start a new (nested) run',
        });
      }
      if (previous === undefined) fresh.push({ key, value });
    }
    for (const p of fresh) this.loggedParams.set(p.key, p.value);
    this.params.push(...fresh);
    await this.maybeSend();
  }

  async logMetrics(metrics: Record<string, number>, step: number, timestampMs: number = Date.now()): Promise<void> {
    const runId = this.active('logMetrics');
    validateStep(step, `run ${runId}`);
    const kept = applyNanPolicy(metrics, this.options.nan ?? 'log', `run ${runId} step ${step}`, this.options.logger);
    for (const [key, value] of Object.entries(kept)) {
      validateKey('metric', key, `run ${runId}`);
      this.metrics.push({ key, value: metricValueJson(value), timestamp: Math.trunc(timestampMs), step });
    }
    await this.maybeSend();
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    const runId = this.active('setTags');
    for (const [key, value] of Object.entries(tags)) {
      validateKey('tag', key, `run ${runId}`);
      validateTagValue(key, value, `run ${runId}`);
      this.tags.push({ key, value });
    }
    await this.maybeSend();
  }

  async logArtifact(localPath: string, artifactPath = ''): Promise<void> {
    this.active('logArtifact');
    if (!fs.existsSync(localPath)) throw new UsageError(`artifact ${localPath} does not exist`, { where: localPath, hint: 'pass the path of a file or folder' });
    const files: { file: string; rel: string }[] = [];
    const walk = (abs: string, rel: string): void => {
      if (fs.statSync(abs).isDirectory()) for (const e of fs.readdirSync(abs).sort()) walk(path.join(abs, e), rel ? `${rel}/${e}` : e);
      else files.push({ file: abs, rel });
    };
    if (fs.statSync(localPath).isDirectory()) walk(localPath, '');
    else files.push({ file: localPath, rel: path.basename(localPath) });
    this.drainBuffers();
    const prefix = artifactPath.replace(/^\/+|\/+$/g, '');
    for (const f of files) this.pending.push({ kind: 'artifact', file: f.file, artifactPath: prefix ? `${prefix}/${f.rel}` : f.rel });
    await this.maybeSend(true);
    this.stageArtifacts();
  }

  private spoolRoot(): string {
    return path.resolve(this.options.spoolDir ?? path.join('.kiln', 'mlflow-spool'));
  }

  /** Copies queued artifact files into the spool folder: the originals may be temp files deleted before the server is back. */
  private stageArtifacts(run: ActiveRun | undefined = this.run, queue: SpooledOperation[] = this.pending): void {
    if (!run) return;
    const dir = path.join(this.spoolRoot(), run.runId);
    queue.forEach((op, i) => {
      if (op.kind !== 'artifact' || op.file.startsWith(dir + path.sep)) return;
      fs.mkdirSync(dir, { recursive: true });
      const copy = path.join(dir, `${this.stagedCount++}-${path.basename(op.file)}`);
      fs.copyFileSync(op.file, copy);
      queue[i] = { ...op, file: copy };
    });
  }

  private drainBuffers(): void {
    if (this.metrics.length + this.params.length + this.tags.length === 0) return;
    this.pending.push(...chunkBatches(this.metrics, this.params, this.tags));
    this.metrics = [];
    this.params = [];
    this.tags = [];
  }

  /** Sends when enough is buffered, but never waits out a backoff: training goes on while the server is down. */
  private async maybeSend(force = false): Promise<void> {
    const buffered = this.metrics.length + this.params.length + this.tags.length;
    const due = buffered > 0 && Date.now() - this.lastSendAt >= (this.options.flushIntervalMs ?? 5000);
    if (!force && !due && buffered < this.batchSize && this.pending.length === 0) return;
    if (Date.now() < this.nextAttemptAt) return;
    this.drainBuffers();
    this.lastSendAt = Date.now();
    const run = this.run;
    const queue = this.pending;
    if (run) await this.serialized(() => this.sendQueue(run, queue, 1));
  }

  private serialized(task: () => Promise<void>): Promise<void> {
    const next = this.sending.then(task, task);
    this.sending = next.catch(() => undefined);
    return next;
  }

  private async sendOperation(run: { runId: string; artifactRoot: string }, op: SpooledOperation): Promise<void> {
    const runId = run.runId;
    if (op.kind === 'batch') {
      await this.client.request('POST', '/api/2.0/mlflow/runs/log-batch', { run_id: runId, metrics: op.metrics, params: op.params, tags: op.tags });
    } else if (op.kind === 'artifact') {
      const route = `/api/2.0/mlflow-artifacts/artifacts/${run.artifactRoot}/${op.artifactPath}`.split('/').map(encodeURIComponent).join('/');
      await this.client.request('PUT', route, fs.readFileSync(op.file));
    } else {
      await this.client.request('POST', '/api/2.0/mlflow/runs/update', { run_id: runId, status: op.status, end_time: op.endTime });
    }
  }

  /**
   * Sends queued operations in order. Returns when all are sent, or when the server stayed
   * unavailable for `attempts` tries (the rest stay queued). A rejected request (4xx) is dropped
   * from the queue and thrown.
   */
  private async sendQueue(run: ActiveRun, queue: SpooledOperation[], attempts: number, keepGoing = false): Promise<void> {
    let delay = this.backoffMs;
    let rejected: unknown;
    for (let attempt = 1; queue.length > 0; ) {
      try {
        await this.sendOperation(run, queue[0]);
        queue.shift();
        if (this.offlineSince !== undefined) {
          this.options.logger?.info(`MLflow server at ${this.client.base} is back; sending ${this.unsentCount} buffered entities`);
          this.offlineSince = undefined;
        }
        this.backoffMs = this.retry.initialDelayMs;
        this.nextAttemptAt = 0;
      } catch (error) {
        if (!(error instanceof MlflowUnavailableError)) {
          queue.shift();
          if (!keepGoing) throw error;
          rejected ??= error;
          continue;
        }
        if (this.offlineSince === undefined) {
          this.offlineSince = Date.now();
          this.options.logger?.warn(`MLflow server at ${this.client.base} unavailable (${error.message}); buffering, retrying with backoff`);
        }
        this.backoffMs = Math.min(delay * 2, this.retry.maxDelayMs);
        this.nextAttemptAt = Date.now() + delay;
        if (attempt >= attempts) break;
        attempt++;
        await sleep(delay);
        delay = this.backoffMs;
      }
    }
    if (rejected !== undefined) throw rejected;
  }

  /**
   * Sends everything buffered in one attempt, without waiting out a backoff, so it is cheap enough
   * to call every epoch: while the server is down the entities stay queued (endRun retries and spools).
   */
  async flush(): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.drainBuffers();
    const queue = this.pending;
    await this.serialized(() => this.sendQueue(run, queue, 1));
  }

  /**
   * Ends the run. When the server is still down after the retries, every unsent entity (and the
   * final status) is written to `<spoolDir>/<runId>.json`, named in a warning, for `replaySpool`.
   * Safe on a signal path: the run is detached at once (a second endRun cannot end it twice), and
   * `KILLED` makes one attempt before spooling instead of waiting out the retries. With no
   * active run, `KILLED` and `FAILED` do nothing.
   */
  async endRun(status: RunStatus): Promise<void> {
    const run = this.run;
    if (!run) {
      if (status === 'KILLED' || status === 'FAILED') return;
      throw new UsageError('endRun called with no active MLflow run', { hint: 'call startRun() first' });
    }
    this.drainBuffers();
    const queue = this.pending;
    queue.push({ kind: 'update', status, endTime: Date.now() });
    const parent = this.parents.pop();
    this.run = parent?.run;
    this.pending = parent?.pending ?? [];
    this.nextAttemptAt = 0;
    // A rejected batch must not keep the final status (or later batches) from being sent.
    let rejected: unknown;
    await this.serialized(() => this.sendQueue(run, queue, status === 'KILLED' ? 1 : this.retry.attempts, true)).catch((error: unknown) => (rejected = error));
    if (queue.length > 0) this.lastSpoolFile = this.spool(run, queue);
    else fs.rmSync(path.join(this.spoolRoot(), run.runId), { recursive: true, force: true });
    if (rejected !== undefined) throw rejected;
  }

  private spool(run: ActiveRun, operations: SpooledOperation[]): string {
    const dir = this.spoolRoot();
    this.stageArtifacts(run, operations);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${run.runId}.json`);
    const spool: SpoolFile = { uri: this.client.base, runId: run.runId, experimentId: run.experimentId, artifactRoot: run.artifactRoot, operations };
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(spool, null, 1));
    fs.renameSync(temp, file);
    const count = operations.reduce((n, op) => n + (op.kind === 'batch' ? op.metrics.length + op.params.length + op.tags.length : 1), 0);
    this.options.logger?.warn(
      `MLflow server at ${this.client.base} still unavailable at the end of run ${run.runId}: ${count} unsent entities saved in ${file}; ` +
        `send them later with MlflowRestTracker.replaySpool('${file}')`,
    );
    return file;
  }

  /** Sends a spool file written by endRun, then deletes it. */
  static async replaySpool(file: string, options: Partial<MlflowRestTrackerOptions> = {}): Promise<number> {
    const spool = JSON.parse(fs.readFileSync(file, 'utf8')) as SpoolFile;
    const tracker = new MlflowRestTracker({ ...options, uri: options.uri ?? spool.uri });
    tracker.run = { runId: spool.runId, experimentId: spool.experimentId, artifactRoot: spool.artifactRoot };
    tracker.pending = [...spool.operations];
    await tracker.sendQueue(tracker.run, tracker.pending, tracker.retry.attempts);
    if (tracker.pending.length > 0) {
      throw new UsageError(`MLflow server at ${tracker.client.base} is still unavailable; ${file} kept`, { where: file, hint: 'retry when the server is up' });
    }
    fs.rmSync(file);
    fs.rmSync(path.join(path.dirname(file), spool.runId), { recursive: true, force: true });
    return spool.operations.length;
  }
}
