import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { parseMlflowYaml, toMlflowYaml } from './mlflow-yaml';
import { DataError, UsageError } from '@kiln/core';
import { appendWhole, copyTreeAtomic, createFileExclusive, writeFileAtomic } from './atomic-files';
import {
  formatMetricValue,
  validateKey,
  validateParamValue,
  validateRunId,
  validateStep,
  validateTagValue,
  MLFLOW_LIMITS,
} from '../validation';

/** MLflow's `RunStatus` proto enum, the integer stored in a run's meta.yaml. */
export const RUN_STATUS_CODES = { RUNNING: 1, SCHEDULED: 2, FINISHED: 3, FAILED: 4, KILLED: 5 } as const;
export type MlflowRunStatus = keyof typeof RUN_STATUS_CODES;
/** MLflow's `SourceType.LOCAL`; the file store writes it into every run's meta.yaml. */
const SOURCE_TYPE_LOCAL = 4;
export const DEFAULT_EXPERIMENT_ID = '0';
export const DEFAULT_EXPERIMENT_NAME = 'Default';
const RESERVED_TOP_LEVEL = new Set(['.trash', 'models']);
const RESERVED_EXPERIMENT_FOLDERS = new Set(['tags', 'datasets', 'traces']);

export interface ExperimentInfo {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: string;
  creationTime: number;
  lastUpdateTime: number;
}

export interface RunInfo {
  runId: string;
  experimentId: string;
  runName: string;
  userId: string;
  status: MlflowRunStatus;
  startTime: number;
  endTime: number | null;
  artifactUri: string;
  lifecycleStage: string;
  /** Folder of the run in the store. */
  dir: string;
}

export interface MetricPoint {
  timestamp: number;
  value: number;
  step: number;
}

export interface RunRecord {
  info: RunInfo;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Full history per metric, in file order. */
  metricHistory: Record<string, MetricPoint[]>;
  /** The value MLflow shows: the point with the largest (step, timestamp, value). */
  metrics: Record<string, number>;
}

export interface CreateRunOptions {
  runName?: string;
  userId?: string;
  startTime?: number;
  tags?: Record<string, string>;
}

function readYaml(file: string): Record<string, unknown> {
  const parsed: unknown = parseMlflowYaml(fs.readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null) {
    throw new DataError('malformed MLflow meta.yaml', { where: file, hint: 'the file is empty or not a mapping; restore it or delete the folder' });
  }
  return parsed as Record<string, unknown>;
}

export function listFilesRecursive(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFilesRecursive(path.join(dir, entry.name), rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

/** Parses a `metrics/<key>` line as MLflow's `_get_metric_from_line` does (`timestamp value [step]`). */
export function parseMetricLine(line: string, where: string): MetricPoint {
  const parts = line.trim().split(' ');
  if (parts.length !== 2 && parts.length !== 3) {
    throw new DataError(`malformed metric line '${line}'`, { where, hint: 'each line must be "timestamp value step"' });
  }
  const raw = parts[1].toLowerCase();
  const value = raw === 'nan' ? NaN : raw === 'inf' || raw === 'infinity' ? Infinity : raw === '-inf' || raw === '-infinity' ? -Infinity : Number(parts[1]);
  return { timestamp: Number(parts[0]), value, step: parts.length === 3 ? Number(parts[2]) : 0 };
}

/** MLflow shows the last value as the max of (step, timestamp, value), like `_get_metric_from_file`. */
export function latestPoint(points: MetricPoint[]): MetricPoint | undefined {
  let best: MetricPoint | undefined;
  for (const p of points) {
    if (!best || p.step > best.step || (p.step === best.step && (p.timestamp > best.timestamp || (p.timestamp === best.timestamp && p.value > best.value)))) best = p;
  }
  return best;
}

/**
 * An MLflow `mlruns/` file store: the same folders, meta.yaml fields and line formats as
 * `mlflow.store.tracking.file_store.FileStore`, so MlflowClient and `mlflow ui` read what it writes.
 * Several processes may write to one store at once: every whole file is written to a temp name and
 * renamed, and metric points are appended with one write call.
 */
export class MlflowFileStore {
  readonly root: string;
  private readonly runDirs = new Map<string, { experimentId: string; dir: string }>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Creates the root, its `.trash` and the `0`/Default experiment, as MLflow's FileStore constructor does. */
  ensureRoot(): void {
    try {
      fs.mkdirSync(path.join(this.root, '.trash'), { recursive: true });
    } catch (error) {
      throw new UsageError(`cannot create the MLflow store at ${this.root}: ${(error as Error).message}`, {
        where: this.root,
        hint: 'point tracker.uri at a writable folder (e.g. ./mlruns) or an http(s):// MLflow server',
        cause: error,
      });
    }
    const defaultDir = path.join(this.root, DEFAULT_EXPERIMENT_ID);
    if (!fs.existsSync(path.join(defaultDir, 'meta.yaml'))) this.writeExperimentMeta(DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME);
  }

  private writeExperimentMeta(experimentId: string, name: string): void {
    const dir = path.join(this.root, experimentId);
    fs.mkdirSync(dir, { recursive: true });
    const now = Date.now();
    const meta = {
      artifact_location: pathToFileURL(dir).href,
      creation_time: now,
      experiment_id: experimentId,
      last_update_time: now,
      lifecycle_stage: 'active',
      name,
    };
    // Exclusive create: when trials in several processes create one experiment, the first meta wins.
    createFileExclusive(path.join(dir, 'meta.yaml'), toMlflowYaml(meta), dir);
  }

  listExperiments(): ExperimentInfo[] {
    if (!fs.existsSync(this.root)) return [];
    const out: ExperimentInfo[] = [];
    for (const entry of fs.readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || RESERVED_TOP_LEVEL.has(entry.name)) continue;
      const metaFile = path.join(this.root, entry.name, 'meta.yaml');
      if (!fs.existsSync(metaFile)) continue;
      const meta = readYaml(metaFile);
      out.push({
        experimentId: String(meta.experiment_id),
        name: String(meta.name),
        artifactLocation: String(meta.artifact_location),
        lifecycleStage: String(meta.lifecycle_stage ?? 'active'),
        creationTime: Number(meta.creation_time ?? 0),
        lastUpdateTime: Number(meta.last_update_time ?? 0),
      });
    }
    return out.sort((a, b) => a.experimentId.localeCompare(b.experimentId));
  }

  getExperimentByName(name: string): ExperimentInfo | undefined {
    return this.listExperiments().find((e) => e.name === name && e.lifecycleStage === 'active');
  }

  /**
   * Experiment ids are derived from the name (an integer, like MLflow's), so parallel trials that
   * create the same experiment agree on its folder without a lock.
   */
  getOrCreateExperiment(name: string): string {
    if (!name || name.length > MLFLOW_LIMITS.maxExperimentNameLength) {
      throw new UsageError(`invalid experiment name '${name.slice(0, 60)}'`, { hint: `use a non-empty name of at most ${MLFLOW_LIMITS.maxExperimentNameLength} characters` });
    }
    this.ensureRoot();
    const existing = this.getExperimentByName(name);
    if (existing) return existing.experimentId;
    let id = BigInt(`0x${createHash('sha256').update(name).digest('hex').slice(0, 15)}`).toString();
    for (let attempt = 0; ; attempt++) {
      const metaFile = path.join(this.root, id, 'meta.yaml');
      if (!fs.existsSync(metaFile)) this.writeExperimentMeta(id, name);
      if (String(readYaml(metaFile).name) === name) return id;
      if (attempt > 3) throw new DataError(`cannot allocate an experiment id for '${name}'`, { where: this.root });
      id = BigInt(`0x${createHash('sha256').update(`${name}#${attempt}`).digest('hex').slice(0, 15)}`).toString();
    }
  }

  createRun(experimentId: string, options: CreateRunOptions = {}): RunInfo {
    this.ensureRoot();
    const experimentDir = path.join(this.root, experimentId);
    if (!fs.existsSync(path.join(experimentDir, 'meta.yaml'))) {
      throw new UsageError(`MLflow experiment ${experimentId} does not exist in ${this.root}`, { hint: 'create it with getOrCreateExperiment(name)' });
    }
    const runId = randomUUID().replace(/-/g, '');
    const dir = path.join(experimentDir, runId);
    const info: RunInfo = {
      runId,
      experimentId,
      runName: options.runName ?? options.tags?.['mlflow.runName'] ?? `run-${runId.slice(0, 8)}`,
      userId: options.userId ?? '',
      status: 'RUNNING',
      startTime: options.startTime ?? Date.now(),
      endTime: null,
      artifactUri: pathToFileURL(path.join(dir, 'artifacts')).href,
      lifecycleStage: 'active',
      dir,
    };
    for (const sub of ['metrics', 'params', 'artifacts', 'tags']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    this.writeRunMeta(info);
    this.runDirs.set(runId, { experimentId, dir });
    this.setTags(runId, { 'mlflow.runName': info.runName, ...(options.tags ?? {}) });
    return info;
  }

  private writeRunMeta(info: RunInfo): void {
    const meta = {
      artifact_uri: info.artifactUri,
      deleted_time: null,
      end_time: info.endTime,
      entry_point_name: '',
      experiment_id: info.experimentId,
      lifecycle_stage: info.lifecycleStage,
      run_id: info.runId,
      run_name: info.runName,
      run_uuid: info.runId,
      source_name: '',
      source_type: SOURCE_TYPE_LOCAL,
      source_version: '',
      start_time: info.startTime,
      status: RUN_STATUS_CODES[info.status],
      tags: [],
      user_id: info.userId,
    };
    writeFileAtomic(path.join(info.dir, 'meta.yaml'), toMlflowYaml(meta), info.dir);
  }

  /** Finds a run in any experiment; a clear error when it does not exist. */
  locateRun(runId: string): { experimentId: string; dir: string } {
    validateRunId(runId);
    const cached = this.runDirs.get(runId);
    if (cached && fs.existsSync(cached.dir)) return cached;
    if (fs.existsSync(this.root)) {
      for (const entry of fs.readdirSync(this.root, { withFileTypes: true })) {
        if (!entry.isDirectory() || RESERVED_TOP_LEVEL.has(entry.name)) continue;
        const dir = path.join(this.root, entry.name, runId);
        if (fs.existsSync(path.join(dir, 'meta.yaml'))) {
          const found = { experimentId: entry.name, dir };
          this.runDirs.set(runId, found);
          return found;
        }
      }
    }
    throw new UsageError(`MLflow run '${runId}' does not exist in ${this.root}`, {
      where: this.root,
      hint: 'list the runs of this store with `kiln runs --store <dir>`',
    });
  }

  getRunInfo(runId: string): RunInfo {
    const { dir } = this.locateRun(runId);
    return this.runInfoFromDir(dir);
  }

  private runInfoFromDir(dir: string): RunInfo {
    const meta = readYaml(path.join(dir, 'meta.yaml'));
    const code = Number(meta.status ?? 1);
    const status = (Object.keys(RUN_STATUS_CODES) as MlflowRunStatus[]).find((k) => RUN_STATUS_CODES[k] === code) ?? 'RUNNING';
    return {
      runId: String(meta.run_id ?? meta.run_uuid),
      experimentId: String(meta.experiment_id),
      runName: String(meta.run_name ?? ''),
      userId: String(meta.user_id ?? ''),
      status,
      startTime: Number(meta.start_time ?? 0),
      endTime: meta.end_time === null || meta.end_time === undefined ? null : Number(meta.end_time),
      artifactUri: String(meta.artifact_uri ?? ''),
      lifecycleStage: String(meta.lifecycle_stage ?? 'active'),
      dir,
    };
  }

  updateRun(runId: string, status: MlflowRunStatus, endTime: number | null = Date.now()): RunInfo {
    const info = { ...this.getRunInfo(runId), status, endTime };
    this.writeRunMeta(info);
    return info;
  }

  /** Params are immutable, as in MLflow: re-logging the same value is fine, a different one is an error. */
  logParams(runId: string, params: Record<string, string>): void {
    const { dir } = this.locateRun(runId);
    for (const [key, value] of Object.entries(params)) {
      validateKey('param', key, `run ${runId}`);
      validateParamValue(key, value, `run ${runId}`);
    }
    for (const [key, value] of Object.entries(params)) {
      const file = path.join(dir, 'params', key);
      if (!createFileExclusive(file, value, dir)) {
        const current = fs.readFileSync(file, 'utf8');
        if (current !== value) {
          throw new DataError(`param '${key}' was already logged as '${current.slice(0, 200)}'; changing it to '${value.slice(0, 200)}' is not allowed`, {
            where: `run ${runId}`,
            hint: 'MLflow params are immutable: log values that change during training as metrics, or start a new (nested) run',
          });
        }
      }
    }
  }

  /** One append (one write call) per metric key, with every point of this call. */
  logMetrics(runId: string, points: { key: string; value: number; timestamp: number; step: number }[]): void {
    const { dir } = this.locateRun(runId);
    const byKey = new Map<string, string[]>();
    for (const p of points) {
      validateKey('metric', p.key, `run ${runId}`);
      validateStep(p.step, `metric '${p.key}' of run ${runId}`);
      if (typeof p.value !== 'number') throw new DataError(`metric '${p.key}' is not a number`, { where: `run ${runId}` });
      const lines = byKey.get(p.key) ?? [];
      lines.push(`${Math.trunc(p.timestamp)} ${formatMetricValue(p.value)} ${p.step}\n`);
      byKey.set(p.key, lines);
    }
    for (const [key, lines] of byKey) appendWhole(path.join(dir, 'metrics', key), lines.join(''));
  }

  setTags(runId: string, tags: Record<string, string>): void {
    const { dir } = this.locateRun(runId);
    for (const [key, value] of Object.entries(tags)) {
      validateKey('tag', key, `run ${runId}`);
      validateTagValue(key, value, `run ${runId}`);
    }
    for (const [key, value] of Object.entries(tags)) writeFileAtomic(path.join(dir, 'tags', key), value, dir);
    if (tags['mlflow.runName'] !== undefined) {
      const info = this.runInfoFromDir(dir);
      if (info.runName !== tags['mlflow.runName']) this.writeRunMeta({ ...info, runName: tags['mlflow.runName'] });
    }
  }

  /** Copies a file (kept under its own name) or a folder's contents into `artifacts/<artifactPath>`. */
  logArtifact(runId: string, localPath: string, artifactPath = ''): string[] {
    const { dir } = this.locateRun(runId);
    if (!fs.existsSync(localPath)) {
      throw new DataError(`artifact ${localPath} does not exist`, { where: localPath, hint: 'pass the path of a file or folder to copy into the run' });
    }
    if (artifactPath && (path.isAbsolute(artifactPath) || path.posix.normalize(artifactPath).startsWith('..'))) {
      throw new DataError(`artifact path '${artifactPath}' leaves the run's artifacts folder`, { hint: 'use a relative path such as "model" or "plots/roc"' });
    }
    const info = this.runInfoFromDir(dir);
    const artifactsDir = info.artifactUri.startsWith('file:') ? fileURLToPath(info.artifactUri) : path.join(dir, 'artifacts');
    const isDir = fs.statSync(localPath).isDirectory();
    const target = isDir ? path.join(artifactsDir, artifactPath) : path.join(artifactsDir, artifactPath, path.basename(localPath));
    return copyTreeAtomic(localPath, target, dir);
  }

  readRun(runId: string): RunRecord {
    const { dir } = this.locateRun(runId);
    return this.readRunDir(dir);
  }

  private readRunDir(dir: string): RunRecord {
    const info = this.runInfoFromDir(dir);
    const readAll = (sub: string): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const rel of listFilesRecursive(path.join(dir, sub))) out[rel] = fs.readFileSync(path.join(dir, sub, rel), 'utf8');
      return out;
    };
    const metricHistory: Record<string, MetricPoint[]> = {};
    const metrics: Record<string, number> = {};
    for (const [key, text] of Object.entries(readAll('metrics'))) {
      const points = text.split('\n').filter((l) => l.trim() !== '').map((l) => parseMetricLine(l, path.join(dir, 'metrics', key)));
      metricHistory[key] = points;
      const last = latestPoint(points);
      if (last) metrics[key] = last.value;
    }
    return { info, params: readAll('params'), tags: readAll('tags'), metricHistory, metrics };
  }

  /** Runs of one experiment (or all), skipping the experiment's reserved folders as MLflow does. */
  listRuns(experimentId?: string): RunRecord[] {
    const experiments = this.listExperiments().filter((e) => experimentId === undefined || e.experimentId === experimentId);
    const out: RunRecord[] = [];
    for (const experiment of experiments) {
      const experimentDir = path.join(this.root, experiment.experimentId);
      for (const entry of fs.readdirSync(experimentDir, { withFileTypes: true })) {
        if (!entry.isDirectory() || RESERVED_EXPERIMENT_FOLDERS.has(entry.name)) continue;
        const dir = path.join(experimentDir, entry.name);
        if (!fs.existsSync(path.join(dir, 'meta.yaml'))) continue;
        out.push(this.readRunDir(dir));
      }
    }
    return out;
  }
}
