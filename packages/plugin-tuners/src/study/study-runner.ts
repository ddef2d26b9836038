import * as path from 'node:path';
import { ConfigError, TrainingError, type Hooks, type Logger, type TrialResult, type TrialSuggestion, type Tuner } from '@kiln/core';
import type { ConfigSource, TrialExecutor, TrialJob, TrialOutcome } from './executor';
import { formatParams, formatValue, leaderboard } from './leaderboard';
import { StudyFile, type TrialRecord } from './study-file';
import { SearchSpace } from '../space/search-space';

export interface StudyRunnerOptions {
  tuner: Tuner;
  executor: TrialExecutor;
  study: StudyFile;
  studyDir: string;
  /** Where trials' run directories go, relative to output.dir (`<study>`). */
  studyName: string;
  source: ConfigSource;
  objective: string;
  mode: 'min' | 'max';
  hooks?: Hooks;
  logger: Logger;
  /** The study's tracker run: each trial becomes a nested run under it. */
  parentRunId?: string;
}

/**
 * The ask → run → report → tell loop. Every event is written to study.json with the tuner's
 * state, so a study killed at any point resumes where it was: trials that were running are
 * run again under the same id (the tuner still expects their result), and no trial is told twice.
 */
export class StudyRunner {
  private fatal?: TrialOutcome['fatal'];
  private readonly started = Date.now();

  constructor(private readonly o: StudyRunnerOptions) {}

  private save(): void {
    this.o.study.data.tunerState = this.o.tuner.state();
    this.o.study.save();
  }

  async run(): Promise<StudyFile> {
    const { study, tuner, executor } = this.o;
    study.data.status = 'running';
    const reruns = study.data.trials.filter((t) => t.status === 'running');
    const active = new Map<string, Promise<void>>();
    let exhausted = false;
    const launch = (record: TrialRecord) => {
      const p = this.execute(record).finally(() => active.delete(record.id));
      active.set(record.id, p);
    };
    // Trials still running on a queue are attached to at once, whatever the slots: their workers may be waiting for answers.
    if (executor.reattaches) for (const rerun of reruns.splice(0)) launch(rerun);
    for (;;) {
      while (!this.fatal && active.size < executor.slots) {
        const rerun = reruns.shift();
        if (rerun) {
          rerun.attempts++;
          rerun.epochs = [];
          rerun.startedAt = new Date().toISOString();
          this.o.logger.info(`trial ${rerun.id}: interrupted earlier, running it again`);
          this.save();
          launch(rerun);
          continue;
        }
        if (exhausted) break;
        const asked = tuner.ask();
        if (asked === null) {
          exhausted = true;
          break;
        }
        if (asked === 'wait') break;
        const suggestion = this.o.hooks ? await this.o.hooks.modifyTrial.promise(asked) : asked;
        const record = this.newRecord(suggestion);
        study.data.trials.push(record);
        this.save();
        launch(record);
      }
      if (active.size === 0) {
        if (exhausted || this.fatal) break;
        throw new TrainingError(`tuner '${tuner.name}' is waiting for a trial but none is running`, { where: 'tune.tuner', hint: 'this is a tuner bug; the study file keeps every result so far' });
      }
      const grown = executor.capacityChanged?.();
      await Promise.race(grown ? [...active.values(), grown] : active.values());
    }
    await Promise.all(active.values());
    if (this.fatal) {
      study.data.status = 'failed';
      this.save();
      throw new ConfigError(this.fatal.message, { where: this.fatal.where, hint: this.fatal.hint });
    }
    study.data.status = 'completed';
    this.save();
    return study;
  }

  private newRecord(s: TrialSuggestion): TrialRecord {
    return {
      ...s,
      status: 'running',
      epochs: [],
      runDir: path.join(this.o.studyDir, `trial-${s.id}`),
      startedAt: new Date().toISOString(),
      attempts: 1,
    };
  }

  /** Trial overrides: its params, its epoch budget, its run directory, and the objective as the monitored metric. */
  overrides(record: TrialRecord): string[] {
    return [
      ...SearchSpace.assignments(record.params),
      `trainer.epochs=${record.budget.epochs}`,
      `trainer.monitor=${JSON.stringify(this.o.objective)}`,
      `trainer.mode=${JSON.stringify(this.o.mode)}`,
      `output.name=${JSON.stringify(`${this.o.studyName}/trial-${record.id}`)}`,
    ];
  }

  /** A promotion continues from its predecessor's last checkpoint. */
  private resumeCheckpoint(record: TrialRecord): string | undefined {
    if (record.resumeFrom === undefined) return undefined;
    const from = this.o.study.trial(record.resumeFrom);
    return from && path.join(from.runDir, 'checkpoints', 'last.safetensors');
  }

  private trackerRun(record: TrialRecord): TrialJob['trackerRun'] {
    if (this.o.parentRunId === undefined) return undefined;
    const tags: Record<string, string> = { 'kiln.study': this.o.studyName, 'kiln.trial': record.id };
    for (const [k, v] of Object.entries(record.tags ?? {})) tags[`kiln.trial.${k}`] = String(v);
    return { parentRunId: this.o.parentRunId, runName: `${this.o.studyName}/trial-${record.id}`, tags };
  }

  private async execute(record: TrialRecord): Promise<void> {
    const { tuner, executor, hooks } = this.o;
    const t0 = Date.now();
    await hooks?.onTrial.promise({ phase: 'start', suggestion: record });
    const job: TrialJob = { suggestion: record, source: this.o.source, overrides: this.overrides(record), runDir: record.runDir, objective: this.o.objective, pruning: typeof tuner.report === 'function' };
    const resumeFrom = this.resumeCheckpoint(record);
    if (resumeFrom) job.resumeFrom = resumeFrom;
    const trackerRun = this.trackerRun(record);
    if (trackerRun) job.trackerRun = trackerRun;
    const outcome = await executor.run(
      job,
      async ({ epoch, value, logs }) => {
        record.epochs = record.epochs.filter((e) => e.epoch !== epoch);
        record.epochs.push({ epoch, value, metrics: logs });
        const decision = tuner.report?.(record.id, epoch, value) ?? 'continue';
        this.save();
        await hooks?.onTrial.promise({ phase: 'epoch', suggestion: record, epoch, value });
        return decision;
      },
    );
    if (outcome.fatal) this.fatal ??= outcome.fatal;
    record.status = outcome.status;
    record.value = outcome.value;
    record.error = outcome.error;
    if (outcome.epochs) record.epochs = outcome.epochs.map(({ epoch, value, logs }) => ({ epoch, value, metrics: logs }));
    if (outcome.attempts !== undefined) record.attempts = Math.max(record.attempts, outcome.attempts);
    if (outcome.trackerRunId) record.trackerRunId = outcome.trackerRunId;
    record.endedAt = new Date().toISOString();
    record.durationMs = Date.now() - t0;
    const result: TrialResult = { id: record.id, status: outcome.status, value: outcome.value, history: record.epochs.map((e) => e.value), error: outcome.error };
    if (!outcome.fatal) tuner.tell(result);
    this.save();
    await hooks?.onTrial.promise({ phase: 'end', suggestion: record, result });
    if (!outcome.fatal) this.announce(record);
  }

  /** One leaderboard line per finished trial on stderr. */
  private announce(record: TrialRecord): void {
    const rows = leaderboard(this.o.study.data.trials, this.o.mode);
    const best = rows[0];
    const done = this.o.study.data.trials.filter((t) => t.status !== 'running').length;
    const value = record.value === undefined ? '-' : formatValue(record.value);
    const where = record.tags ? ` [${Object.entries(record.tags).filter(([k]) => k !== 'config').map(([k, v]) => `${k} ${v}`).join(', ')}]` : '';
    const elapsed = ((Date.now() - this.started) / 1000).toFixed(1);
    const reached = record.epochs.length ? record.epochs[record.epochs.length - 1].epoch : 0;
    const line =
      `trial ${record.id} ${record.status}${where}: ${this.o.objective}=${value} at epoch ${reached}/${record.budget.epochs} (${((record.durationMs ?? 0) / 1000).toFixed(1)}s)` +
      ` | best: trial ${best?.trial ?? '-'} ${best?.value === undefined ? '-' : formatValue(best.value)} | ${done} done, ${elapsed}s | ${formatParams(record.params)}` +
      (record.status === 'failed' && record.error ? `\n  ${record.error.split('\n')[0]}` : '');
    this.o.logger.info(line);
  }
}
