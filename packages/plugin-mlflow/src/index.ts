import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { definePlugin, Tokens } from '@kiln/core';
import type { DatasetInfo, Logger } from '@kiln/core';
import { MlflowFileTracker } from './file-store/mlflow-file-tracker';
import { MlflowRestTracker } from './rest/mlflow-rest-tracker';
import { runsCommand } from './command/runs-command';
import { retrainCommand } from './retrain/retrain-command';
import { reportCommand } from './report/report-command';
import { tapModelRegistration } from './registry/register-trained-model';
import { datasetTags, systemTags } from './tracked-params';

export * from './validation';
export * from './nan-policy';
export * from './tracked-params';
export * from './file-store/mlflow-file-store';
export * from './file-store/mlflow-file-tracker';
export * from './rest/mlflow-http-client';
export * from './rest/mlflow-rest-tracker';
export * from './registry/mlflow-model-registry';
export * from './command/runs-command';
export * from './registry/model-artifacts';
export * from './registry/register-trained-model';
export * from './registry/mlflow-rest-registry';
export * from './retrain/retrain';
export * from './retrain/retrain-store';
export * from './retrain/retrain-command';
export * from './report/svg-chart';
export * from './report/run-report';
export * from './report/report-command';

export const MlflowTrackerOptionsSchema = z.strictObject({
  uri: z
    .string()
    .min(1)
    .default('mlruns')
    .describe('http(s)://host:port of an MLflow tracking server, or a folder for the local mlruns/ file store (relative to the config file)'),
  experiment: z.string().min(1).optional().describe('MLflow experiment name; defaults to the config `name`, else "Default"'),
  nan: z
    .enum(['log', 'skip', 'error'])
    .default('log')
    .describe('NaN/±Infinity metric values: "log" them as MLflow does (nan/inf), "skip" them with a warning, or "error"'),
  systemTags: z.boolean().default(true).describe('add mlflow.user, mlflow.source.*, git commit, Kiln version and host tags to every run'),
  tags: z.record(z.string(), z.string()).default({}).describe('extra tags set on every run this tracker starts (team, dataset version, …)'),
  parentRunId: z
    .string()
    .optional()
    .describe('nest the runs this tracker starts under this run (the mlflow.parentRunId tag) unless startRun names another parent'),
  spoolDir: z
    .string()
    .default('.kiln/mlflow-spool')
    .describe('REST only: folder where entities still unsent at the end of a run are saved (replay with MlflowRestTracker.replaySpool)'),
  retryAttempts: z.number().int().min(1).default(5).describe('REST only: tries of a blocking send before buffering/spooling'),
  retryInitialDelayMs: z.number().int().min(1).default(250).describe('REST only: first backoff delay, doubled each retry'),
  retryMaxDelayMs: z.number().int().min(1).default(8000).describe('REST only: longest backoff delay'),
  batchSize: z.number().int().min(1).max(1000).default(200).describe('REST only: buffered metrics+params+tags that trigger a log-batch call'),
  flushIntervalMs: z.number().int().min(0).default(5000).describe('REST only: longest time a logged value waits in the buffer before a send'),
  timeoutMs: z.number().int().min(1).default(10000).describe('REST only: per-request timeout'),
  register: z
    .boolean()
    .default(true)
    .describe('register each top-level training\'s model as a new version of the use-case (config `name`) and move `champion` to it when it beats the champion on the same validation data'),
});
export type MlflowTrackerOptions = z.output<typeof MlflowTrackerOptionsSchema>;

/** Builds the file-store tracker for a folder URI (or `file:` URI), the REST tracker for http(s). */
export function createMlflowTracker(
  options: MlflowTrackerOptions,
  baseDir: string = process.cwd(),
  logger?: Logger,
  dataset?: DatasetInfo,
): MlflowFileTracker | MlflowRestTracker {
  const tags = { ...(options.systemTags ? systemTags({ cwd: baseDir }) : {}), ...datasetTags(dataset), ...options.tags };
  if (/^https?:\/\//.test(options.uri)) {
    return new MlflowRestTracker({
      uri: options.uri,
      experiment: options.experiment,
      tags,
      parentRunId: options.parentRunId,
      nan: options.nan,
      logger,
      spoolDir: path.resolve(baseDir, options.spoolDir),
      retry: { attempts: options.retryAttempts, initialDelayMs: options.retryInitialDelayMs, maxDelayMs: options.retryMaxDelayMs },
      batchSize: options.batchSize,
      flushIntervalMs: options.flushIntervalMs,
      timeoutMs: options.timeoutMs,
    });
  }
  const folder = options.uri.startsWith('file:') ? fileURLToPath(options.uri) : path.resolve(baseDir, options.uri);
  return new MlflowFileTracker({ root: folder, experiment: options.experiment, tags, parentRunId: options.parentRunId, nan: options.nan, logger });
}

export default definePlugin({
  name: '@kiln/plugin-mlflow',
  version: '0.1.0',
  kiln: '^0.1.0',
  description: 'MLflow-compatible tracker (mlruns/ file store or REST server), model registry, and `kiln runs`.',
  register(ctx) {
    ctx.provide(
      Tokens.Tracker,
      'mlflow',
      (options, context) => {
        const tracker = createMlflowTracker({ ...options, experiment: options.experiment ?? context.config.name }, context.baseDir, context.logger, context.dataset);
        if (options.register) tapModelRegistration(context.hooks, tracker, context.baseDir, context.logger, context.dataset);
        return tracker;
      },
      MlflowTrackerOptionsSchema,
      { description: 'Logs params, metric history, tags and artifacts to MLflow: a local mlruns/ folder (default) or a tracking server' },
    );
    ctx.command(runsCommand);
    ctx.command(retrainCommand);
    ctx.command(reportCommand);
  },
});
