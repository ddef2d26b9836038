import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { inferMode } from '@kiln/core';
import type { Hooks, Logger, RunEnd } from '@kiln/core';
import type { MlflowFileTracker } from '../file-store/mlflow-file-tracker';
import { MlflowModelRegistry, type PromoteResult } from './mlflow-model-registry';
import { logModelArtifacts } from './model-artifacts';

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

/**
 * Registers the model of a finished training (best checkpoint, else last) as a new version of the
 * use-case `name`, and moves `champion` to it when its best monitored value beats the champion's on
 * the same validation data (same data block and seed). Champions measured on other data are left
 * alone: `kiln retrain` compares on new data. Nested runs (tuning trials) are not registered.
 */
export function registerTrainedModel(tracker: MlflowFileTracker, end: RunEnd, baseDir: string, logger?: Logger): RegisteredTraining | undefined {
  const runId = tracker.activeRunId;
  const config = end.trainer.config;
  const name = config.name;
  if (!runId || !name) return undefined;
  const store = tracker.store;
  const record = store.readRun(runId);
  // Nested runs are tuning trials (or retraining's own runs): registering each would flood the registry.
  if (record.tags['mlflow.parentRunId']) return undefined;
  const dir = path.join(end.trainer.runDir, 'checkpoints');
  const checkpoint = ['best.safetensors', 'last.safetensors'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!checkpoint) {
    logger?.warn(`mlflow: run ${runId} wrote no checkpoint; model '${name}' not registered (add the checkpoint callback)`);
    return undefined;
  }
  logModelArtifacts(store, runId, checkpoint, config as unknown as Record<string, unknown>, baseDir);
  const registry = new MlflowModelRegistry(store.root);
  const fingerprint = validationFingerprint(config);
  const monitor = config.trainer.monitor;
  const mode = inferMode(monitor, config.trainer.mode);
  const history = record.metricHistory[monitor]?.map((p) => p.value).filter((v) => !Number.isNaN(v)) ?? [];
  const value = history.length ? (mode === 'max' ? Math.max(...history) : Math.min(...history)) : undefined;
  const version = registry.registerModel(name, `runs:/${runId}/model`, runId, { 'kiln.validation': fingerprint, 'kiln.monitor': monitor }).version;
  const out: RegisteredTraining = { name, version, monitor, value };
  if (value === undefined) {
    out.skipped = `no '${monitor}' was logged`;
  } else {
    const current = registry.getAlias(name, 'champion');
    const championData = current === undefined ? undefined : registry.getVersion(name, current).tags['kiln.validation'];
    if (current !== undefined && championData !== fingerprint) {
      registry.setVersionTag(name, version, `kiln.metric.${monitor}`, String(value));
      out.skipped = `champion version ${current} was measured on other validation data; compare with kiln retrain`;
    } else {
      out.promotion = registry.promoteIfBetter(name, version, monitor, value, mode);
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

/** Taps `afterRun` so every training tracked in a file store registers its model. */
export function tapModelRegistration(hooks: Hooks, tracker: MlflowFileTracker, baseDir: string, logger?: Logger): void {
  hooks.afterRun.tapPromise('MlflowModelRegistration', async (end) => {
    registerTrainedModel(tracker, end, baseDir, logger);
  });
}
