import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { inferMode } from '@kiln/core';
import type { DatasetInfo, Hooks, Logger, RunEnd } from '@kiln/core';
import { MlflowFileTracker } from '../file-store/mlflow-file-tracker';
import type { MlflowRestTracker } from '../rest/mlflow-rest-tracker';
import { MlflowModelRegistry, type ModelVersionInfo, type PromoteMode, type PromoteResult } from './mlflow-model-registry';
import { MlflowRestRegistry } from './mlflow-rest-registry';
import { logModelArtifacts, MODEL_ARTIFACT_PATH, stageModelFolder } from './model-artifacts';

/** Same data block and seed → same validation rows: only then are two versions' metrics comparable. */
export function validationFingerprint(config: { data?: unknown; seed?: number }): string {
  return createHash('sha256').update(JSON.stringify({ data: config.data ?? null, seed: config.seed ?? null })).digest('hex').slice(0, 16);
}

export interface RegisteredTraining {
  name: string;
  version: number;
  monitor: string;
  value?: number;
  promotion?: PromoteResult;
  /** Why the alias was not compared (champion measured on other validation data). */
  skipped?: string;
}

/** What registration needs of a registry; the file-store one answers synchronously, the REST one asynchronously. */
export interface TrainedModelRegistry {
  registerModel(name: string, source: string, runId: string | null, tags: Record<string, string>): ModelVersionInfo | Promise<ModelVersionInfo>;
  getAlias(name: string, alias: string): number | undefined | Promise<number | undefined>;
  getVersion(name: string, version: number): ModelVersionInfo | Promise<ModelVersionInfo>;
  setVersionTag(name: string, version: number, key: string, value: string): void | Promise<void>;
  promoteIfBetter(name: string, version: number, metric: string, value: number, mode: PromoteMode): PromoteResult | Promise<PromoteResult>;
}

/**
 * Registers `runs:/<runId>/model` as a new version of `name` and moves `champion` to it when its
 * value beats the champion's on the same validation data (same `kiln.validation` fingerprint).
 * Champions measured on other data are left alone: `kiln retrain` compares on new data.
 */
export async function registerAndPromote(
  registry: TrainedModelRegistry,
  run: { name: string; runId: string; artifactPath: string; fingerprint: string; monitor: string; mode: PromoteMode; value?: number },
  logger?: Logger,
): Promise<RegisteredTraining> {
  const { name, runId, fingerprint, monitor, mode, value } = run;
  const version = (await registry.registerModel(name, `runs:/${runId}/${run.artifactPath}`, runId, { 'kiln.validation': fingerprint, 'kiln.monitor': monitor })).version;
  const out: RegisteredTraining = { name, version, monitor, value };
  if (value === undefined) {
    out.skipped = `no '${monitor}' was logged`;
  } else {
    const current = await registry.getAlias(name, 'champion');
    const championData = current === undefined ? undefined : (await registry.getVersion(name, current)).tags['kiln.validation'];
    if (current !== undefined && championData !== fingerprint) {
      await registry.setVersionTag(name, version, `kiln.metric.${monitor}`, String(value));
      out.skipped = `champion version ${current} was measured on other validation data; compare with kiln retrain`;
    } else {
      out.promotion = await registry.promoteIfBetter(name, version, monitor, value, mode);
    }
  }
  const verdict = out.promotion
    ? out.promotion.promoted
      ? `now champion (${monitor} ${value}${out.promotion.previous !== undefined ? ` beats version ${out.promotion.previous}'s ${out.promotion.previousValue}` : ''})`
      : `champion stays version ${out.promotion.champion} (${monitor} ${value} does not beat ${out.promotion.previousValue})`
    : `champion unchanged: ${out.skipped}`;
  logger?.info(`mlflow: registered '${name}' version ${version} from run ${runId}; ${verdict}`);
  return out;
}

function checkpointOf(end: RunEnd): string | undefined {
  const dir = path.join(end.trainer.runDir, 'checkpoints');
  return ['best.safetensors', 'last.safetensors'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
}

function best(values: number[], mode: PromoteMode): number | undefined {
  const finite = values.filter((v) => !Number.isNaN(v));
  return finite.length ? (mode === 'max' ? Math.max(...finite) : Math.min(...finite)) : undefined;
}

/**
 * Registers the model of a finished training tracked in a file store (best checkpoint, else last)
 * as a new version of the use-case `name`. Nested runs (tuning trials) are not registered.
 */
export async function registerTrainedModel(
  tracker: MlflowFileTracker,
  end: RunEnd,
  baseDir: string,
  logger?: Logger,
  dataset?: DatasetInfo,
): Promise<RegisteredTraining | undefined> {
  const runId = tracker.activeRunId;
  const config = end.trainer.config;
  if (!runId || !config.name) return undefined;
  const record = tracker.store.readRun(runId);
  // Nested runs are tuning trials (or retraining's own runs): registering each would flood the registry.
  if (record.tags['mlflow.parentRunId']) return undefined;
  const checkpoint = checkpointOf(end);
  if (!checkpoint) {
    logger?.warn(`mlflow: run ${runId} wrote no checkpoint; model '${config.name}' not registered (add the checkpoint callback)`);
    return undefined;
  }
  const artifactPath = logModelArtifacts(tracker.store, runId, checkpoint, config as unknown as Record<string, unknown>, baseDir, dataset);
  const monitor = config.trainer.monitor;
  const mode = inferMode(monitor, config.trainer.mode);
  const value = best(record.metricHistory[monitor]?.map((p) => p.value) ?? [], mode);
  return registerAndPromote(new MlflowModelRegistry(tracker.store.root), { name: config.name, runId, artifactPath, fingerprint: validationFingerprint(config), monitor, mode, value }, logger);
}

/** The same over REST: the model files go up through the artifact proxy, the version through the registry endpoints. */
export async function registerTrainedModelRest(
  tracker: MlflowRestTracker,
  registry: MlflowRestRegistry,
  end: RunEnd,
  monitored: number[],
  baseDir: string,
  logger?: Logger,
  dataset?: DatasetInfo,
): Promise<RegisteredTraining | undefined> {
  const runId = tracker.activeRunId;
  const config = end.trainer.config;
  if (!runId || !config.name || tracker.activeParentRunId) return undefined;
  const checkpoint = checkpointOf(end);
  if (!checkpoint) {
    logger?.warn(`mlflow: run ${runId} wrote no checkpoint; model '${config.name}' not registered (add the checkpoint callback)`);
    return undefined;
  }
  // A resumed run registers again: its new model goes beside the first one, never over it.
  const artifactPath = tracker.activeRunResumed ? `${MODEL_ARTIFACT_PATH}-${Date.now()}` : MODEL_ARTIFACT_PATH;
  const staging = stageModelFolder(checkpoint, config as unknown as Record<string, unknown>, baseDir, dataset);
  try {
    await tracker.logArtifact(staging, artifactPath);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const monitor = config.trainer.monitor;
  const mode = inferMode(monitor, config.trainer.mode);
  return registerAndPromote(registry, { name: config.name, runId, artifactPath, fingerprint: validationFingerprint(config), monitor, mode, value: best(monitored, mode) }, logger);
}

/** Taps `afterRun` so every top-level training registers its model; a registry failure is a warning, not a failed training. */
export function tapModelRegistration(hooks: Hooks, tracker: MlflowFileTracker | MlflowRestTracker, baseDir: string, logger?: Logger, dataset?: DatasetInfo): void {
  if (tracker instanceof MlflowFileTracker) {
    hooks.afterRun.tapPromise('MlflowModelRegistration', async (end) => {
      await registerTrainedModel(tracker, end, baseDir, logger, dataset);
    });
    return;
  }
  const monitored: number[] = [];
  hooks.beforeRun.tap('MlflowModelRegistration', () => void monitored.splice(0));
  hooks.afterEpoch.tap('MlflowModelRegistration', ({ trainer, logs }) => {
    const value = logs[trainer.config.trainer.monitor];
    if (value !== undefined) monitored.push(value);
  });
  const registry = new MlflowRestRegistry({ uri: tracker.client.base, env: tracker.env });
  hooks.afterRun.tapPromise('MlflowModelRegistration', async (end) => {
    try {
      await registerTrainedModelRest(tracker, registry, end, monitored, baseDir, logger, dataset);
    } catch (error) {
      logger?.warn(`mlflow: model '${end.trainer.config.name}' not registered on ${tracker.client.base}: ${(error as Error).message}`);
    }
  });
}
