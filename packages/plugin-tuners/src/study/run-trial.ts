import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import {
  ConfigError,
  definePlugin,
  KilnError,
  resolveConfig,
  Tokens,
  trainResolved,
  type ComponentBlock,
  type KilnPlugin,
  type Logger,
  type StartRunOptions,
  type Tracker,
  type TrainOptions,
} from '@kiln/core';
import type { EpochListener, EpochReport, TrialJob, TrialOutcome, TrialTrackerRun } from './executor';

export const PROBE_PLUGIN_NAME = 'kiln-tune-probe';
/** The tracker a trial's config is switched to so that its run nests under the study's (see nestedTrackerBlock). */
export const NESTED_TRACKER_TYPE = 'kiln-tune-nested';

/** The objective is not in the epoch logs: every trial would fail the same way. */
export class ObjectiveMissingError extends ConfigError {}

const NestedTrackerOptions = z.strictObject({
  inner: z.looseObject({ type: z.string() }).describe('The tracker block of the config, which does the recording.'),
  parentRunId: z.string().optional().describe("The study's run: the trial becomes its nested run."),
  runName: z.string().optional().describe('Name of the trial run.'),
  tags: z.record(z.string(), z.string()).default({}).describe('Tags set on the trial run.'),
});

/** Longest stretch of synchronous training before the event loop gets a turn (queue lock renewals, IPC). */
const YIELD_EVERY_MS = 50;

/**
 * A plugin object for one trial: after every epoch it makes sure `checkpoints/last.safetensors`
 * exists (promotions continue from it), hands the objective to the study, and stops the run
 * when the study says prune. With `trackerRun`, it nests the trial's tracker run under the study's.
 */
export function probePlugin(job: TrialJob, onEpoch: EpochListener, state: { last?: number; epochs: EpochReport[]; trackerRunId?: string }): KilnPlugin {
  return definePlugin({
    name: PROBE_PLUGIN_NAME,
    version: '0.1.0',
    register(ctx) {
      let epochStart = Date.now();
      let lastYield = Date.now();
      ctx.hooks.beforeEpoch.tap('TuneProbe', () => {
        epochStart = Date.now();
      });
      // Training steps resolve as microtasks only; a timer-driven lock renewal would starve without this.
      ctx.hooks.afterTrainStep.tapPromise('TuneProbe', async () => {
        if (Date.now() - lastYield < YIELD_EVERY_MS) return;
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = Date.now();
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
        lastYield = Date.now();
      });
      if (job.trackerRun) {
        // Until core passes TrainOptions.trackerRun to Tracker.startRun: wrap the configured tracker.
        ctx.provide(
          Tokens.Tracker,
          NESTED_TRACKER_TYPE,
          async (options, context) => {
            const inner = await context.build(Tokens.Tracker, options.inner as ComponentBlock, 'tracker.inner');
            return nestedTracker(inner, { parentRunId: options.parentRunId, runName: options.runName, tags: options.tags }, (id) => (state.trackerRunId = id));
          },
          NestedTrackerOptions,
          { description: 'Internal: the configured tracker, with the trial run nested under the study run.' },
        );
        const run = job.trackerRun;
        ctx.hooks.modifyConfig.tap('TuneProbe', (config) =>
          config.tracker ? { ...config, tracker: { type: NESTED_TRACKER_TYPE, inner: config.tracker, ...run, tags: run.tags ?? {} } } : config,
        );
      }
    },
  });
}

/** A tracker whose startRun always carries the trial's parent run, name and tags. */
function nestedTracker(inner: Tracker, run: TrialTrackerRun, onRunId: (id: string) => void): Tracker {
  return {
    name: inner.name,
    async startRun(options: StartRunOptions) {
      const started = await inner.startRun({ ...options, parentRunId: run.parentRunId, runName: run.runName ?? options.runName, tags: { ...options.tags, ...run.tags } });
      onRunId(started.runId);
      return started;
    },
    logParams: (p) => inner.logParams(p),
    logMetrics: (m, step, ts) => inner.logMetrics(m, step, ts),
    setTags: (t) => inner.setTags(t),
    logArtifact: (p, a) => inner.logArtifact(p, a),
    endRun: (s) => inner.endRun(s),
    flush: () => inner.flush(),
  };
}

/**
 * A fresh run directory for the trial (an earlier attempt's files go); a promotion gets a copy
 * of its predecessor's last checkpoint to continue. Returns whether there is one to resume.
 */
export function prepareTrialDir(job: TrialJob, logger?: Logger): boolean {
  fs.rmSync(job.runDir, { recursive: true, force: true });
  if (job.resumeFrom === undefined) return false;
  if (!fs.existsSync(job.resumeFrom)) {
    logger?.warn(`trial ${job.suggestion.id}: no checkpoint ${job.resumeFrom} to continue; training from scratch`);
    return false;
  }
  fs.mkdirSync(path.join(job.runDir, 'checkpoints'), { recursive: true });
  fs.copyFileSync(job.resumeFrom, path.join(job.runDir, 'checkpoints', 'last.safetensors'));
  return true;
}

/** Trains one trial in this process through core's programmatic API. */
export async function runTrial(job: TrialJob, onEpoch: EpochListener, logger?: Logger): Promise<TrialOutcome> {
  const state: { last?: number; epochs: EpochReport[]; trackerRunId?: string } = { epochs: [] };
  const ended = (outcome: Omit<TrialOutcome, 'epochs' | 'trackerRunId'>): TrialOutcome => ({ ...outcome, epochs: state.epochs, ...(state.trackerRunId ? { trackerRunId: state.trackerRunId } : {}) });
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
    const options: TrainOptions = { cwd: source.cwd, logger, resume: resume ? job.runDir : undefined, plugins: [probePlugin(job, onEpoch, state)] };
    const result = await trainResolved(resolved, options);
    return ended({ status: result.stopReason === 'pruned' ? 'pruned' : 'completed', value: state.last, runDir: result.runDir });
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
