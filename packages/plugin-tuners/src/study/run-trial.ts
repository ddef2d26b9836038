import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, definePlugin, KilnError, resolveConfig, trainResolved, type KilnPlugin, type Logger } from '@kiln/core';
import type { EpochListener, EpochReport, TrialJob, TrialOutcome } from './executor';

export const PROBE_PLUGIN_NAME = 'kiln-tune-probe';

/** The objective is not in the epoch logs: every trial would fail the same way. */
export class ObjectiveMissingError extends ConfigError {}

/**
 * A plugin object for one trial: after every epoch it makes sure `checkpoints/last.safetensors`
 * exists (promotions continue from it), hands the objective to the study, and stops the run
 * when the study says prune.
 */
export function probePlugin(job: TrialJob, onEpoch: EpochListener, state: { last?: number; epochs: EpochReport[] }): KilnPlugin {
  return definePlugin({
    name: PROBE_PLUGIN_NAME,
    version: '0.1.0',
    register(ctx) {
      let epochStart = Date.now();
      ctx.hooks.beforeEpoch.tap('TuneProbe', () => {
        epochStart = Date.now();
      });
      // Stage 100: after the checkpoint callback, so its file is seen.
      ctx.hooks.afterEpoch.tapPromise({ name: 'TuneProbe', stage: 100 }, async ({ trainer, epoch, logs }) => {
        const last = path.join(trainer.runDir, 'checkpoints', 'last.safetensors');
        if (!fs.existsSync(last) || fs.statSync(last).mtimeMs < epochStart) await trainer.saveCheckpoint(last);
        const value = logs[job.objective];
        if (value === undefined) {
          if ((trainer.config.trainer.validateEvery ?? 1) > 1) return;
          const keys = Object.keys(logs).filter((k) => k !== 'epoch');
          throw new ObjectiveMissingError(`the objective '${job.objective}' is not among the metrics the run logs (${keys.join(', ')})`, {
            where: 'tune.objective',
            hint: `set tune.objective to one of: ${keys.join(', ')}; or add the metric that logs it to 'metrics'`,
          });
        }
        state.last = value;
        const report: EpochReport = { epoch: epoch + 1, value, logs: { ...logs } };
        state.epochs = state.epochs.filter((e) => e.epoch !== report.epoch).concat(report);
        if ((await onEpoch(report)) === 'prune') trainer.requestStop('pruned');
      });
    },
  });
}

/**
 * Empties the trial's run directory (an earlier attempt's files go). Returns the checkpoint a
 * promotion continues (into this new directory: the predecessor's run stays as it was).
 */
export function prepareTrialDir(job: TrialJob, logger?: Logger): string | undefined {
  fs.rmSync(job.runDir, { recursive: true, force: true });
  if (job.resumeFrom === undefined) return undefined;
  if (!fs.existsSync(job.resumeFrom)) {
    logger?.warn(`trial ${job.suggestion.id}: no checkpoint ${job.resumeFrom} to continue; training from scratch`);
    return undefined;
  }
  return job.resumeFrom;
}

/** The tracker run id core recorded in the trial's run.json (also when the trial failed). */
function recordedTrackerRun(runDir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { trackerRunId?: string }).trackerRunId;
  } catch {
    return undefined;
  }
}

/** Trains one trial in this process through core's programmatic API. */
export async function runTrial(job: TrialJob, onEpoch: EpochListener, logger?: Logger): Promise<TrialOutcome> {
  const state: { last?: number; epochs: EpochReport[] } = { epochs: [] };
  const ended = (outcome: Omit<TrialOutcome, 'epochs' | 'trackerRunId'>, trackerRunId = recordedTrackerRun(job.runDir)): TrialOutcome => ({
    ...outcome,
    epochs: state.epochs,
    ...(trackerRunId ? { trackerRunId } : {}),
  });
  try {
    const { source } = job;
    const resume = prepareTrialDir(job, logger);
    const resolved = await resolveConfig({
      cwd: source.cwd,
      configPath: source.configPath,
      presets: source.presets,
      set: [...(source.set ?? []), ...job.overrides],
      inline: source.inline,
      search: false,
    });
    const result = await trainResolved(resolved, {
      cwd: source.cwd,
      logger,
      runDir: job.runDir,
      resume,
      trackerRun: job.trackerRun,
      plugins: [probePlugin(job, onEpoch, state)],
    });
    return ended({ status: result.stopReason === 'pruned' ? 'pruned' : 'completed', value: state.last, runDir: result.runDir }, result.trackerRunId);
  } catch (error) {
    const fatal = error instanceof ObjectiveMissingError || (KilnError.is(error) && error.name === 'ObjectiveMissingError');
    const k = KilnError.is(error) ? error : undefined;
    return ended({
      status: 'failed',
      value: state.last,
      error: k ? k.format() : (error as Error)?.message ?? String(error),
      fatal: fatal && k ? { code: k.code, message: k.message, where: k.where, hint: k.hint } : undefined,
      runDir: job.runDir,
    });
  }
}
