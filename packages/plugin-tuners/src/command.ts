import * as path from 'node:path';
import { UsageError, writeFileAtomic, type Command, type KilnPlugin } from '@kiln/core';
import { prepareStudy, runStudy, studyPlan } from './study/study';
import { StudyFile } from './study/study-file';
import { studyReportHtml, studyReportText } from './study/report';
import { formatLeaderboard } from './study/leaderboard';

const rel = (p: string, cwd: string) => path.relative(cwd, p) || '.';

function positiveInt(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} expects a positive integer, got '${String(value)}'`, { where: flag });
  return n;
}

/** `kiln tune`: runs (or resumes, plans, reports) the study the config's `tune` block describes. */
export function tuneCommand(plugin: KilnPlugin): Command {
  return {
    name: 'tune',
    description: 'search hyperparameters: run trials chosen by the tuner in tune.tuner',
    options: [
      { flags: '--resume', description: 'continue the interrupted study (same tune.study)' },
      { flags: '--dry-run', description: 'print the schedule (JSON on stdout) without training' },
      { flags: '--report', description: 'print the leaderboard of an existing study and write report.html' },
      { flags: '--workers <n>', description: 'trials at once, each in a child process (default: tune.workers, 1 = in this process)' },
      { flags: '--trials <n>', description: 'configurations to try (overrides tune.trials)' },
      { flags: '--study <name>', description: 'study name: its folder under output.dir (overrides tune.study)' },
      { flags: '--json', description: 'print the final leaderboard and best trial as JSON on stdout' },
      { flags: '--redis <url>', description: 'queue the trials on this Redis (BullMQ) for kiln worker processes, e.g. redis://127.0.0.1:6379' },
      { flags: '--queue <name>', description: 'queue name on that Redis (default: kiln-trials; kiln worker --queue must match)' },
      { flags: '--slots <n>', description: 'trials queued at once with --redis (default: as many as workers listen)' },
    ],
    async run(_args, options, { resolved, kernel, globals, cwd, stdout, logger }) {
      const source = { cwd, configPath: globals.config ?? resolved.filepath, presets: globals.preset, set: globals.set };
      const studyOptions = {
        resolved,
        source,
        kernel,
        logger,
        plugin,
        resume: Boolean(options.resume),
        workers: positiveInt(options.workers, '--workers'),
        trials: positiveInt(options.trials, '--trials'),
        study: options.study as string | undefined,
        redis: options.redis as string | undefined,
        queue: options.queue as string | undefined,
        slots: positiveInt(options.slots, '--slots'),
      };
      const prepared = await prepareStudy(studyOptions);
      if (options.dryRun) {
        stdout.write(`${JSON.stringify(studyPlan(prepared))}\n`);
        return 0;
      }
      if (options.report) {
        const study = StudyFile.load(prepared.studyDir);
        const html = path.join(prepared.studyDir, 'report.html');
        writeFileAtomic(html, studyReportHtml(study.data));
        stdout.write(`${studyReportText(study.data)}\n\nreport    ${rel(html, cwd)}\n`);
        return 0;
      }
      const outcome = await runStudy(studyOptions, prepared);
      if (options.json) {
        stdout.write(`${JSON.stringify({ study: outcome.studyFile, best: outcome.best, bestConfig: outcome.bestConfig, epochsTrained: outcome.epochsTrained, leaderboard: outcome.leaderboard }, null, 2)}\n`);
        return 0;
      }
      const lines = ['', formatLeaderboard(outcome.leaderboard, prepared.objective, 10), ''];
      if (outcome.best) {
        lines.push(
          `best      trial ${outcome.best.trial}: ${prepared.objective}=${outcome.best.value}`,
          `model     ${outcome.best.checkpoint ? rel(outcome.best.checkpoint, cwd) : rel(outcome.best.runDir, cwd)}`,
          `config    ${rel(outcome.bestConfig!, cwd)}  (kiln train --config ${rel(outcome.bestConfig!, cwd)})`,
        );
      } else {
        lines.push('no trial finished with a value');
      }
      lines.push(`study     ${rel(outcome.studyFile, cwd)}  (${outcome.epochsTrained} epochs trained)`);
      stdout.write(`${lines.join('\n')}\n`);
      return outcome.best ? 0 : 1;
    },
  };
}
