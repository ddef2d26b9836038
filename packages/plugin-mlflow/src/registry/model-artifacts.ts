import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError, UsageError } from '@kiln/core';
import type { DatasetInfo } from '@kiln/core';
import type { MlflowFileStore } from '../file-store/mlflow-file-store';
import type { MlflowModelRegistry, ModelVersionInfo } from './mlflow-model-registry';

/** Where a registered model lives inside its run's artifacts (`runs:/<runId>/model`). */
export const MODEL_ARTIFACT_PATH = 'model';

/**
 * A model as Kiln registers it: `config.json` (the resolved config it was trained with),
 * `checkpoints/best.safetensors` and `run.json` (baseDir for the config's relative paths), so
 * `kiln evaluate --checkpoint <artifacts>/model` works on it as on a run directory.
 */
export interface ModelFiles {
  dir: string;
  checkpoint: string;
  config: Record<string, unknown>;
  /** Directory the config's relative paths (data files, local plugins) are resolved against. */
  baseDir: string;
}

/**
 * A temp folder laid out as a registered model: `checkpoints/best.safetensors`, `config.json`,
 * `run.json` and, when known, `dataset.json` (the DatasetInfo: inputs, classes, column encodings).
 * The caller removes it.
 */
export function stageModelFolder(checkpoint: string, config: Record<string, unknown>, baseDir: string, dataset?: DatasetInfo): string {
  if (!fs.existsSync(checkpoint)) throw new DataError(`checkpoint ${checkpoint} does not exist`, { where: checkpoint, hint: 'train with the checkpoint callback so a checkpoint is written' });
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-model-'));
  fs.mkdirSync(path.join(staging, 'checkpoints'));
  fs.copyFileSync(checkpoint, path.join(staging, 'checkpoints', 'best.safetensors'));
  fs.writeFileSync(path.join(staging, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  fs.writeFileSync(path.join(staging, 'run.json'), `${JSON.stringify({ baseDir, checkpoint }, null, 2)}\n`);
  if (dataset) fs.writeFileSync(path.join(staging, 'dataset.json'), `${JSON.stringify(dataset, null, 2)}\n`);
  return staging;
}

/**
 * Copies a checkpoint and its config (and dataset info) into `artifacts/model` of a run, or
 * `model-2`, `model-3`… when the run already holds a model (a resumed training registers again, and
 * a registered version's files must not change). Returns the artifact path used.
 */
export function logModelArtifacts(store: MlflowFileStore, runId: string, checkpoint: string, config: Record<string, unknown>, baseDir: string, dataset?: DatasetInfo): string {
  const artifacts = modelSourceDir(store, `runs:/${runId}/`);
  let artifactPath = MODEL_ARTIFACT_PATH;
  for (let n = 2; fs.existsSync(path.join(artifacts, artifactPath)); n++) artifactPath = `${MODEL_ARTIFACT_PATH}-${n}`;
  const staging = stageModelFolder(checkpoint, config, baseDir, dataset);
  try {
    store.logArtifact(runId, staging, artifactPath);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return artifactPath;
}

/** The folder a version's `source` points at: `runs:/<id>/<path>`, a `file:` URI, or a path. */
export function modelSourceDir(store: MlflowFileStore, source: string): string {
  const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
  if (runs) {
    const info = store.getRunInfo(runs[1]);
    const artifacts = info.artifactUri.startsWith('file:') ? fileURLToPath(info.artifactUri) : path.join(info.dir, 'artifacts');
    return path.join(artifacts, runs[2]);
  }
  if (source.startsWith('file:')) return fileURLToPath(source);
  if (/^[a-z][a-z0-9+.-]*:/i.test(source) && !/^[a-z]:[\\/]/i.test(source)) {
    throw new UsageError(`model source '${source}' is not in this file store`, { hint: 'kiln retrain reads models registered as runs:/<runId>/model or file paths' });
  }
  return path.resolve(store.root, source);
}

/** Reads the files of a registered version; a clear error when it was not registered by Kiln. */
export function readModelFiles(store: MlflowFileStore, version: ModelVersionInfo): ModelFiles {
  const dir = modelSourceDir(store, version.source);
  const checkpoint = path.join(dir, 'checkpoints', 'best.safetensors');
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(checkpoint) || !fs.existsSync(configFile)) {
    throw new DataError(`version ${version.version} of model '${version.name}' has no Kiln checkpoint and config at ${dir}`, {
      where: `models/${version.name}/version-${version.version}`,
      hint: 'register models with MlflowModelRegistry after logModelArtifacts (kiln train with the mlflow tracker does this)',
    });
  }
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  const runFile = path.join(dir, 'run.json');
  const recorded = fs.existsSync(runFile) ? (JSON.parse(fs.readFileSync(runFile, 'utf8')) as { baseDir?: string }).baseDir : undefined;
  return { dir, checkpoint, config, baseDir: recorded && fs.existsSync(recorded) ? recorded : process.cwd() };
}

/** The version an alias points at with its files, or undefined when the model or alias does not exist. */
export function aliasedModel(registry: MlflowModelRegistry, store: MlflowFileStore, name: string, alias: string): { version: ModelVersionInfo; files: ModelFiles } | undefined {
  if (registry.listVersionNumbers(name).length === 0) return undefined;
  const number = registry.getAlias(name, alias);
  if (number === undefined) return undefined;
  const version = registry.getVersion(name, number);
  return { version, files: readModelFiles(store, version) };
}
