import { Tokens, type ComponentBlock, type Logger, type ParamValue, type RunStatus, type Tracker } from '@kiln/core';
import type { PreparedStudy, StudyOutcome } from './study';
import type { StudyFile } from './study-file';

const param = (v: unknown): ParamValue => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v));

/**
 * The study's own run in the config's tracker: the parent of every trial's run (MLflow's
 * `mlflow.parentRunId`), holding the tuner, the space, and at the end the best value and params.
 */
export class StudyTrackerRun {
  private constructor(
    private readonly tracker: Tracker,
    readonly runId: string,
  ) {}

  /**
   * Starts the parent run of a new study (its id goes into the study file); a resumed study
   * reopens its run (Tracker.resumeRun) so the trials still nest under it and it gets the best.
   */
  static async open(p: PreparedStudy, study: StudyFile, logger: Logger): Promise<StudyTrackerRun | undefined> {
    const block = p.kernel.config.tracker;
    if (!block) return undefined;
    const tracker = await p.kernel.build(Tokens.Tracker, block as ComponentBlock, 'tracker');
    const previous = study.data.trackerRunId;
    if (previous) {
      if (tracker.resumeRun) return new StudyTrackerRun(tracker, (await tracker.resumeRun(previous)).runId);
      logger.warn(`study ${p.studyName}: tracker '${tracker.name}' cannot reopen run ${previous}; trials still nest under it, the best is not logged on it`);
      return undefined;
    }
    const { runId } = await tracker.startRun({
      experiment: p.kernel.config.name,
      runName: p.studyName,
      tags: { 'kiln.study': p.studyName, 'kiln.tuner': p.block.tuner.type, 'kiln.objective': p.objective, 'kiln.mode': p.mode },
    });
    const space = Object.fromEntries(Object.entries(p.space.toJSON()).map(([k, v]) => [`space.${k}`, param(v)]));
    await tracker.logParams({ 'tune.tuner': param(p.block.tuner), 'tune.objective': p.objective, 'tune.mode': p.mode, ...space });
    study.data.trackerRunId = runId;
    study.save();
    return new StudyTrackerRun(tracker, runId);
  }

  /** Logs the best value and params on the study run and ends it. */
  async finish(study: StudyFile, outcome: StudyOutcome): Promise<void> {
    const trials = study.data.trials;
    const metrics: Record<string, number> = { trials: trials.length, epochs_trained: outcome.epochsTrained };
    for (const status of ['completed', 'pruned', 'failed'] as const) metrics[`trials_${status}`] = trials.filter((t) => t.status === status).length;
    if (outcome.best) metrics.best_value = outcome.best.value;
    await this.tracker.logMetrics(metrics, trials.length);
    if (outcome.best) {
      const best = study.trial(outcome.best.trial);
      await this.tracker.logParams(Object.fromEntries(Object.entries(outcome.best.params).map(([k, v]) => [`best.${k}`, param(v)])));
      await this.tracker.setTags({ 'kiln.best_trial': outcome.best.trial, ...(best?.trackerRunId ? { 'kiln.best_run_id': best.trackerRunId } : {}) });
    }
    await this.end('FINISHED');
  }

  async end(status: RunStatus): Promise<void> {
    await this.tracker.endRun(status);
    await this.tracker.flush();
  }
}
