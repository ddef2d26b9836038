import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, definePlugin, KilnError, resolveConfig, trainResolved, type KilnPlugin, type Logger } from '@kiln/core';
import type { EpochListener, TrialJob, TrialOutcome } from './executor';

export const PROBE_PLUGIN_NAME = 'kiln-tune-probe';

/** The objective is not in the epoch logs: every trial would fail the same way. */
export class ObjectiveMissingError extends ConfigError {}

/**
 * A plugin object for one trial: after every epoch it makes sure `checkpoints/last.safetensors`
 * exists (promotions continue from it), hands the objective to the study, and stops the run
 * when the study says prune.
 */
export function probePlugin(job: TrialJob, onEpoch: EpochListener, state: { last?: number }): KilnPlugin {
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
        if ((await onEpoch({ epoch: epoch + 1, value, logs: { ...logs } })) === 'prune') trainer.requestStop('pruned');
      });
    },
  });
}

/** Trains one trial in this process through core's programmatic API. */
export async function runTrial(job: TrialJob, onEpoch: EpochListener, logger?: Logger): Promise<TrialOutcome> {
  const state: { last?: number } = {};
  try {
    const { source } = job;
    const resolved = await resolveConfig({
      cwd: source.cwd,
      configPath: source.configPath,
      presets: source.presets,
      set: [...(source.set ?? []), ...job.overrides],
      inline: source.inline,
      search: false,
    });
    const result = await trainResolved(resolved, { cwd: source.cwd, logger, resume: job.resume ? job.runDir : undefined, plugins: [probePlugin(job, onEpoch, state)] });
    return { status: result.stopReason === 'pruned' ? 'pruned' : 'completed', value: state.last, runDir: result.runDir };
  } catch (error) {
    const fatal = error instanceof ObjectiveMissingError || (KilnError.is(error) && error.name === 'ObjectiveMissingError');
    const k = KilnError.is(error) ? error : undefined;
    return {
      status: 'failed',
      value: state.last,
      error: k ? k.format() : (error as Error)?.message ?? String(error),
      fatal: fatal && k ? { code: k.code, message: k.message, where: k.where, hint: k.hint } : undefined,
      runDir: job.runDir,
    };
  }
}
