import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError, UsageError } from '@kiln/core';
import type { DatasetInfo, Logger, ResolvedConfig } from '@kiln/core';
import { MlflowFileStore } from '../file-store/mlflow-file-store';
import { MlflowFileTracker } from '../file-store/mlflow-file-tracker';
import { MlflowModelRegistry } from '../registry/mlflow-model-registry';
import { MlflowRestRegistry } from '../registry/mlflow-rest-registry';
import { aliasedModel, logModelArtifacts, MODEL_ARTIFACT_PATH, stageModelFolder, type ModelFiles } from '../registry/model-artifacts';
import { MlflowApiError } from '../rest/mlflow-http-client';
import { artifactRootPath, MlflowRestTracker } from '../rest/mlflow-rest-tracker';

export interface RetrainChampion {
  version: number;
  runId: string | null;
  files: ModelFiles;
  /** Class names in label order, from the champion run's `kiln.data.classes` tag. */
  classes?: string[];
}

/** Where `kiln retrain` finds the champion and records its runs and versions: a folder or a tracking server. */
export interface RetrainStore {
  /** The folder or server URI, for messages and the fine-tuning run's tracker block. */
  readonly uri: string;
  champion(name: string, alias: string): Promise<RetrainChampion | undefined>;
  decisionTracker(experiment: string, tags: Record<string, string>, logger?: Logger): MlflowFileTracker | MlflowRestTracker;
  /** Copies the model files into the run's artifacts; returns the artifact path. */
  saveModel(runId: string, checkpoint: string, config: Record<string, unknown>, baseDir: string, dataset?: DatasetInfo): Promise<string>;
  registerModel(name: string, source: string, runId: string, tags: Record<string, string>): Promise<number>;
  setAlias(name: string, alias: string, version: number): Promise<void>;
  /** Removes anything downloaded. */
  close(): void;
}

function parseClasses(tag: string | undefined): string[] | undefined {
  return tag ? (JSON.parse(tag) as string[]) : undefined;
}

/** An `mlruns/` folder: files read and written in place. */
export class FileRetrainStore implements RetrainStore {
  readonly store: MlflowFileStore;
  readonly registry: MlflowModelRegistry;

  constructor(readonly uri: string) {
    this.store = new MlflowFileStore(uri);
    this.registry = new MlflowModelRegistry(uri);
  }

  async champion(name: string, alias: string): Promise<RetrainChampion | undefined> {
    const found = aliasedModel(this.registry, this.store, name, alias);
    if (!found) return undefined;
    const classes = found.version.runId ? parseClasses(this.store.readRun(found.version.runId).tags['kiln.data.classes']) : undefined;
    return { version: found.version.version, runId: found.version.runId, files: found.files, classes };
  }

  decisionTracker(experiment: string, tags: Record<string, string>, logger?: Logger): MlflowFileTracker {
    return new MlflowFileTracker({ root: this.uri, experiment, tags, logger });
  }

  async saveModel(runId: string, checkpoint: string, config: Record<string, unknown>, baseDir: string, dataset?: DatasetInfo): Promise<string> {
    return logModelArtifacts(this.store, runId, checkpoint, config, baseDir, dataset);
  }

  async registerModel(name: string, source: string, runId: string, tags: Record<string, string>): Promise<number> {
    return this.registry.registerModel(name, source, runId, tags).version;
  }

  async setAlias(name: string, alias: string, version: number): Promise<void> {
    this.registry.setAlias(name, alias, version);
  }

  close(): void {}
}

interface RunJson {
  run: { info: { experiment_id: string; artifact_uri?: string }; data?: { tags?: { key: string; value: string }[] } };
}

/**
 * A tracking server: the champion's files come down through the artifact proxy
 * (`GET mlflow-artifacts/artifacts/…`) into a temp folder, new models go up the same way.
 */
export class RestRetrainStore implements RetrainStore {
  readonly registry: MlflowRestRegistry;
  private readonly downloads: string[] = [];

  constructor(
    readonly uri: string,
    private readonly spoolDir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.registry = new MlflowRestRegistry({ uri, env });
  }

  private async run(runId: string): Promise<{ root: string; tags: Record<string, string> }> {
    const got = await this.registry.client.request<RunJson>('GET', '/api/2.0/mlflow/runs/get', undefined, { run_id: runId });
    const tags = Object.fromEntries((got.run.data?.tags ?? []).map((t) => [t.key, t.value]));
    return { root: artifactRootPath(got.run.info.artifact_uri ?? '', got.run.info.experiment_id, runId), tags };
  }

  private route(root: string, rel: string): string {
    return `/api/2.0/mlflow-artifacts/artifacts/${root}/${rel}`.split('/').map(encodeURIComponent).join('/');
  }

  async champion(name: string, alias: string): Promise<RetrainChampion | undefined> {
    let number: number | undefined;
    try {
      number = await this.registry.getAlias(name, alias);
    } catch (error) {
      if (error instanceof MlflowApiError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
    if (number === undefined) return undefined;
    const version = await this.registry.getVersion(name, number);
    const source = /^runs:\/([^/]+)\/(.+)$/.exec(version.source);
    if (!source) {
      throw new DataError(`version ${number} of '${name}' comes from '${version.source}', not a run's artifacts`, {
        where: `${this.uri} registered model ${name}`,
        hint: 'kiln retrain downloads models registered as runs:/<runId>/<path> (as Kiln registers them)',
      });
    }
    const { root, tags } = await this.run(source[1]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-champion-'));
    this.downloads.push(dir);
    for (const rel of ['checkpoints/best.safetensors', 'config.json', 'run.json', 'dataset.json']) {
      try {
        const bytes = await this.registry.client.download(this.route(root, `${source[2]}/${rel}`));
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), bytes);
      } catch (error) {
        const optional = rel === 'run.json' || rel === 'dataset.json';
        if (!(optional && error instanceof MlflowApiError)) {
          throw new DataError(`cannot download ${rel} of version ${number} of '${name}' (${version.source}): ${(error as Error).message}`, {
            where: this.uri,
            hint: 'the server must serve artifacts (mlflow server --serve-artifacts, the default) and the version must have been registered by Kiln',
            cause: error,
          });
        }
      }
    }
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const recorded = fs.existsSync(path.join(dir, 'run.json')) ? (JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { baseDir?: string }).baseDir : undefined;
    const files: ModelFiles = { dir, checkpoint: path.join(dir, 'checkpoints', 'best.safetensors'), config, baseDir: recorded && fs.existsSync(recorded) ? recorded : process.cwd() };
    return { version: number, runId: version.runId, files, classes: parseClasses(tags['kiln.data.classes']) };
  }

  decisionTracker(experiment: string, tags: Record<string, string>, logger?: Logger): MlflowRestTracker {
    return new MlflowRestTracker({ uri: this.uri, experiment, tags, logger, spoolDir: this.spoolDir, env: this.env });
  }

  async saveModel(runId: string, checkpoint: string, config: Record<string, unknown>, baseDir: string, dataset?: DatasetInfo): Promise<string> {
    const { root } = await this.run(runId);
    const staging = stageModelFolder(checkpoint, config, baseDir, dataset);
    try {
      const walk = (rel: string): string[] =>
        fs.statSync(path.join(staging, rel)).isDirectory() ? fs.readdirSync(path.join(staging, rel)).flatMap((e) => walk(rel ? `${rel}/${e}` : e)) : [rel];
      for (const rel of walk('')) await this.registry.client.request('PUT', this.route(root, `${MODEL_ARTIFACT_PATH}/${rel}`), fs.readFileSync(path.join(staging, rel)));
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
    return MODEL_ARTIFACT_PATH;
  }

  async registerModel(name: string, source: string, runId: string, tags: Record<string, string>): Promise<number> {
    return (await this.registry.registerModel(name, source, runId, tags)).version;
  }

  async setAlias(name: string, alias: string, version: number): Promise<void> {
    await this.registry.setAlias(name, alias, version);
  }

  close(): void {
    for (const dir of this.downloads.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `store` (a folder, `file:` URI or http(s) URI), else the config's mlflow tracker uri, else ./mlruns. */
export function retrainStore(resolved: ResolvedConfig, store: string | undefined, cwd: string): RetrainStore {
  const tracker = resolved.config.tracker;
  const block = tracker && tracker.type === 'mlflow' ? (tracker as { uri?: unknown; spoolDir?: unknown }) : undefined;
  const uri = store ?? (typeof block?.uri === 'string' ? block.uri : undefined);
  const base = store ? cwd : resolved.baseDir;
  if (uri && /^https?:\/\//.test(uri)) return new RestRetrainStore(uri, path.resolve(base, typeof block?.spoolDir === 'string' ? block.spoolDir : '.kiln/mlflow-spool'));
  if (uri && /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file:')) {
    throw new UsageError(`kiln retrain cannot use the store '${uri}'`, { where: store ? '--store' : 'tracker.uri', hint: 'use a folder, a file: URI or an http(s) tracking server' });
  }
  return new FileRetrainStore(uri ? (uri.startsWith('file:') ? fileURLToPath(uri) : path.resolve(base, uri)) : path.resolve(resolved.baseDir, 'mlruns'));
}
