import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseMlflowYaml, toMlflowYaml } from '../file-store/mlflow-yaml';
import { DataError, UsageError } from '@kiln/core';
import { createFileExclusive, writeFileAtomic } from '../file-store/atomic-files';
import { listFilesRecursive } from '../file-store/mlflow-file-store';
import { validateAlias, validateKey, validateModelName } from '../validation';

export interface ModelVersionInfo {
  name: string;
  version: number;
  source: string;
  runId: string | null;
  currentStage: string;
  creationTimestamp: number;
  aliases: string[];
  tags: Record<string, string>;
}

export type PromoteMode = 'max' | 'min';

export interface PromoteResult {
  promoted: boolean;
  alias: string;
  /** Version the alias points at after the call. */
  champion: number | undefined;
  /** Version it pointed at before, if any. */
  previous?: number;
  /** The recorded metric value of `previous`. */
  previousValue?: number;
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * MLflow's model registry in its file-store layout (`mlruns/models/<name>/meta.yaml`,
 * `version-N/meta.yaml`, `version-N/tags/`, `aliases/<alias>` holding the version number), as
 * `mlflow.store.model_registry.file_store.FileStore` reads it.
 */
export class MlflowModelRegistry {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private modelDir(name: string): string {
    validateModelName(name);
    return path.join(this.root, 'models', name);
  }

  private requireModel(name: string): string {
    const dir = this.modelDir(name);
    if (!fs.existsSync(path.join(dir, 'meta.yaml'))) {
      throw new UsageError(`registered model '${name}' does not exist in ${this.root}`, { hint: 'register a version first with registerModel(name, source, runId)' });
    }
    return dir;
  }

  /** Serializes read-modify-write of one model across processes (a mkdir lock, stale after 30 s). */
  private withLock<T>(name: string, task: () => T): T {
    const dir = this.modelDir(name);
    fs.mkdirSync(dir, { recursive: true });
    const lock = path.join(dir, '.kiln-lock');
    for (let waited = 0; ; waited += 20) {
      try {
        fs.mkdirSync(lock);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = Date.now() - fs.statSync(lock, { throwIfNoEntry: false })!.mtimeMs;
        if (age > 30_000) fs.rmSync(lock, { recursive: true, force: true });
        else if (waited > 60_000) throw new DataError(`timed out waiting for the registry lock ${lock}`, { where: lock, hint: 'delete the folder if no Kiln process is running' });
        else sleepSync(20);
      }
    }
    try {
      return task();
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }

  private touchModel(dir: string, name: string, now: number): void {
    const metaFile = path.join(dir, 'meta.yaml');
    const existing = fs.existsSync(metaFile) ? (parseMlflowYaml(fs.readFileSync(metaFile, 'utf8')) as Record<string, unknown>) : undefined;
    const meta = {
      creation_timestamp: existing?.creation_timestamp ?? now,
      description: existing?.description ?? null,
      last_updated_timestamp: now,
      name,
    };
    if (existing) writeFileAtomic(metaFile, toMlflowYaml(meta), dir);
    else createFileExclusive(metaFile, toMlflowYaml(meta), dir);
  }

  /** Creates the registered model if needed and a new version pointing at `source` (e.g. `runs:/<id>/model`). */
  registerModel(name: string, source: string, runId: string | null = null, tags: Record<string, string> = {}): ModelVersionInfo {
    if (!source) throw new UsageError('registerModel needs a source URI', { hint: 'pass e.g. runs:/<runId>/model or a file:// URI of the exported model' });
    const dir = this.modelDir(name);
    return this.withLock(name, () => {
      const now = Date.now();
      this.touchModel(dir, name, now);
      let version = this.listVersionNumbers(name).reduce((a, b) => Math.max(a, b), 0) + 1;
      for (;;) {
        try {
          fs.mkdirSync(path.join(dir, `version-${version}`));
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          version++;
        }
      }
      const versionDir = path.join(dir, `version-${version}`);
      const meta = {
        aliases: [],
        creation_timestamp: now,
        current_stage: 'None',
        description: null,
        last_updated_timestamp: now,
        name,
        run_id: runId,
        run_link: null,
        source,
        status: 'READY',
        status_message: null,
        storage_location: source,
        user_id: null,
        version,
      };
      writeFileAtomic(path.join(versionDir, 'meta.yaml'), toMlflowYaml(meta), versionDir);
      for (const [k, v] of Object.entries(tags)) this.writeVersionTag(versionDir, k, v);
      return this.getVersion(name, version);
    });
  }

  private writeVersionTag(versionDir: string, key: string, value: string): void {
    validateKey('tag', key);
    writeFileAtomic(path.join(versionDir, 'tags', key), value, versionDir);
  }

  setVersionTag(name: string, version: number, key: string, value: string): void {
    this.getVersion(name, version);
    this.writeVersionTag(path.join(this.modelDir(name), `version-${version}`), key, value);
  }

  listVersionNumbers(name: string): number[] {
    const dir = this.modelDir(name);
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .map((e) => /^version-(\d+)$/.exec(e))
      .filter((m): m is RegExpExecArray => m !== null && fs.existsSync(path.join(dir, m[0], 'meta.yaml')))
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  getVersion(name: string, version: number): ModelVersionInfo {
    const dir = this.requireModel(name);
    const versionDir = path.join(dir, `version-${version}`);
    if (!fs.existsSync(path.join(versionDir, 'meta.yaml'))) {
      throw new UsageError(`model '${name}' has no version ${version}`, { hint: `known versions: ${this.listVersionNumbers(name).join(', ') || 'none'}` });
    }
    const meta = parseMlflowYaml(fs.readFileSync(path.join(versionDir, 'meta.yaml'), 'utf8')) as Record<string, unknown>;
    const tags: Record<string, string> = {};
    const tagsDir = path.join(versionDir, 'tags');
    for (const t of listFilesRecursive(tagsDir)) tags[t] = fs.readFileSync(path.join(tagsDir, t), 'utf8');
    const aliases = Object.entries(this.aliases(name)).filter(([, v]) => v === version).map(([a]) => a);
    return {
      name,
      version: Number(meta.version),
      source: String(meta.source),
      runId: meta.run_id === null || meta.run_id === undefined ? null : String(meta.run_id),
      currentStage: String(meta.current_stage),
      creationTimestamp: Number(meta.creation_timestamp),
      aliases,
      tags,
    };
  }

  aliases(name: string): Record<string, number> {
    const dir = path.join(this.requireModel(name), 'aliases');
    const out: Record<string, number> = {};
    if (fs.existsSync(dir)) for (const a of fs.readdirSync(dir)) if (!a.startsWith('.')) out[a] = Number(fs.readFileSync(path.join(dir, a), 'utf8'));
    return out;
  }

  getAlias(name: string, alias: string): number | undefined {
    validateAlias(alias);
    return this.aliases(name)[alias];
  }

  setAlias(name: string, alias: string, version: number): void {
    validateAlias(alias);
    this.getVersion(name, version);
    const dir = this.requireModel(name);
    writeFileAtomic(path.join(dir, 'aliases', alias), String(version), dir);
    this.touchModel(dir, name, Date.now());
  }

  /**
   * Records `value` of `metric` on the version (tag `kiln.metric.<metric>`) and moves `alias` to it
   * only if it beats the current holder's recorded value (`max`: greater, `min`: smaller). A NaN
   * never wins; a holder without a recorded value always loses.
   */
  promoteIfBetter(name: string, version: number, metric: string, value: number, mode: PromoteMode = 'max', alias = 'champion'): PromoteResult {
    validateAlias(alias);
    validateKey('tag', `kiln.metric.${metric}`);
    if (mode !== 'max' && mode !== 'min') throw new UsageError(`promote mode '${String(mode)}' is not 'max' or 'min'`);
    return this.withLock(name, () => {
      this.setVersionTag(name, version, `kiln.metric.${metric}`, String(value));
      const previous = this.getAlias(name, alias);
      let previousValue: number | undefined;
      if (previous !== undefined) {
        const recorded = this.getVersion(name, previous).tags[`kiln.metric.${metric}`];
        previousValue = recorded === undefined ? undefined : Number(recorded);
      }
      const beats =
        !Number.isNaN(value) &&
        (previous === undefined || previousValue === undefined || Number.isNaN(previousValue) || (mode === 'max' ? value > previousValue : value < previousValue));
      if (beats && previous !== version) this.setAlias(name, alias, version);
      return { promoted: beats && previous !== version, alias, champion: beats ? version : previous, previous, previousValue };
    });
  }
}
