import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  ConfigError,
  ConsoleLogger,
  createKernel,
  describeIssues,
  inferMode,
  resolveConfig,
  STANDARD_PLUGINS,
  Tokens,
  UsageError,
  writeFileAtomic,
  type Kernel,
  type KilnConfigInput,
  type KilnPlugin,
  type Logger,
  type ResolvedConfig,
  type Tuner,
} from '@kiln/core';
import { TuneBlockSchema, type TuneBlock, type TuneBlockInput } from '../space/schema';
import { SearchSpace } from '../space/search-space';
import { defaultSpaces, presetWithDefaultSpace } from '../space/default-spaces';
import { validateSpacePaths, validateSpaceValues } from '../space/validate-paths';
import { TuneEnvironmentToken, type TuneEnvironment } from '../tuners/environment';
import { BracketTuner } from '../tuners/bracket-tuner';
import { AshaTuner } from '../tuners/asha-tuner';
import { GridTuner } from '../tuners/grid-tuner';
import { SequenceTuner } from '../tuners/sequence-tuner';
import { MedianPruner } from '../tuners/median-pruner';
import { wholeEpochs } from '../tuners/hyperband-schedule';
import type { ConfigSource, TrialExecutor } from './executor';
import { InProcessExecutor } from './in-process-executor';
import { ProcessExecutor } from './process-executor';
import { StudyFile } from './study-file';
import { StudyRunner } from './study-runner';
import { leaderboard, type LeaderboardRow } from './leaderboard';
import { StudyTrackerRun } from './study-tracker-run';
import { RedisExecutor } from '../distributed/redis-executor';
import { connectRedis } from '../distributed/redis-connection';

export interface StudyOptions {
  resolved: ResolvedConfig;
  source: ConfigSource;
  /** A kernel with the plugins loaded (the CLI's); built from the config when absent. */
  kernel?: Kernel;
  logger?: Logger;
  resume?: boolean;
  workers?: number;
  trials?: number;
  study?: string;
  /** Replace the executor (in-process for 1 worker, child processes for more). */
  executor?: TrialExecutor;
  /** The tuners plugin itself, registered in a kernel that does not load it already. */
  plugin?: KilnPlugin;
  /** `redis://host:port`: queue the trials for `kiln worker` processes (BullMQ) instead of running them here. */
  redis?: string;
  /** Queue name on that Redis (default kiln-trials). */
  queue?: string;
  /** Trials in flight on the queue (default: as many as workers listen). */
  slots?: number;
}

export interface PreparedStudy {
  block: TuneBlock;
  space: SearchSpace;
  objective: string;
  mode: 'min' | 'max';
  env: TuneEnvironment;
  tuner: Tuner;
  studyName: string;
  studyDir: string;
  kernel: Kernel;
}

/** Parses `tune`, picks the space (or the preset's default), checks every path, and builds the tuner: all before any trial. */
export async function prepareStudy(options: StudyOptions): Promise<PreparedStudy> {
  const { resolved } = options;
  const config = resolved.config;
  const locate = (p: string) => resolved.origins.describe(p);
  const parsed = TuneBlockSchema.safeParse(config.tune ?? {}, { reportInput: true });
  if (!parsed.success) throw describeIssues(parsed.error.issues, 'tune', locate, 'tune block', (p) => (p === '' ? Object.keys(TuneBlockSchema.shape) : undefined));
  const block = parsed.data;
  let rawSpace: unknown = block.space;
  if (rawSpace === undefined) {
    const preset = presetWithDefaultSpace(resolved.sources);
    if (!preset) {
      throw new ConfigError('no search space: tune.space is missing and the config extends no preset with a default space', {
        where: 'tune.space',
        hint: `add tune.space, e.g. { 'optimizer.lr': { type: 'loguniform', min: 1e-4, max: 1e-1 } }; presets with default spaces: ${Object.keys(defaultSpaces).join(', ')}`,
      });
    }
    rawSpace = defaultSpaces[preset];
  }
  const space = SearchSpace.parse(rawSpace, 'tune.space', locate);
  let kernel = options.kernel;
  if (!kernel) kernel = await createKernel(resolved, { logger: options.logger, defaultPlugins: STANDARD_PLUGINS });
  if (!kernel.has(Tokens.Tuner, 'random') && options.plugin) await kernel.use(options.plugin);
  validateSpacePaths(space, config, kernel);
  validateSpaceValues(space, config, kernel);

  const objective = block.objective ?? config.trainer.monitor;
  const mode = block.mode ?? inferMode(objective, block.objective === undefined ? config.trainer.mode : undefined);
  const env: TuneEnvironment = { space, mode, seed: config.seed, trials: options.trials ?? block.trials, epochs: config.trainer.epochs ?? 10 };
  if (kernel.container.isBound(TuneEnvironmentToken)) kernel.container.unbind(TuneEnvironmentToken);
  kernel.container.bind(TuneEnvironmentToken).toConstantValue(env);
  let tuner = await kernel.build(Tokens.Tuner, block.tuner, 'tune.tuner');
  const pruner = block.pruner === undefined || block.pruner === 'none' ? undefined : block.pruner === 'median' ? { warmupEpochs: 0, minTrials: 1 } : block.pruner;
  if (pruner) tuner = new MedianPruner(tuner, mode, pruner);
  const studyName = options.study ?? block.study ?? 'tune';
  const studyDir = path.resolve(resolved.baseDir, config.output.dir, studyName);
  return { block, space, objective, mode, env, tuner, studyName, studyDir, kernel };
}

/** What `--dry-run` prints: the Hyperband/SH brackets, ASHA's rungs, or the trial count. */
export function studyPlan(prepared: PreparedStudy): Record<string, unknown> {
  const tuner = prepared.tuner instanceof MedianPruner ? prepared.tuner.inner : prepared.tuner;
  if (tuner instanceof BracketTuner) return { brackets: tuner.plan.map((b) => ({ s: b.s, rungs: b.rungs.map((r) => ({ n: r.n, r: wholeEpochs(r.r) })) })) };
  if (tuner instanceof AshaTuner) {
    return { tuner: 'asha', configs: tuner.limit, rungs: tuner.state().rungs.map((_, k) => ({ rung: k, r: tuner.rungEpochs(k) })) };
  }
  if (tuner instanceof GridTuner) return { tuner: 'grid', trials: tuner.points.length, epochs: tuner.epochs, points: tuner.points };
  if (tuner instanceof SequenceTuner) return { tuner: tuner.name, trials: tuner.trials, epochs: tuner.epochs };
  return { tuner: tuner.name };
}

export interface BestTrial {
  trial: string;
  value: number;
  params: Record<string, unknown>;
  runDir: string;
  /** The trial's best checkpoint, else its last. */
  checkpoint?: string;
  epochs: number;
}

export interface StudyOutcome {
  studyDir: string;
  studyFile: string;
  leaderboard: LeaderboardRow[];
  best?: BestTrial;
  /** `<study>/best.config.json`: the resolved config with the best params. */
  bestConfig?: string;
  epochsTrained: number;
}

function checkpointOf(runDir: string): string | undefined {
  const dir = path.join(runDir, 'checkpoints');
  return ['best.safetensors', 'best', 'last.safetensors', 'last'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
}

/** Epochs actually trained by the study (a promotion counts only the epochs it adds). */
export function epochsTrained(study: StudyFile): number {
  return study.data.trials.reduce((sum, t) => {
    const prev = t.resumeFrom !== undefined ? study.trial(t.resumeFrom) : undefined;
    const start = prev?.epochs.length ? prev.epochs[prev.epochs.length - 1].epoch : 0;
    const end = t.epochs.length ? t.epochs[t.epochs.length - 1].epoch : start;
    return sum + Math.max(0, end - start);
  }, 0);
}

/** Runs (or resumes) a study to the end; writes study.json and best.config.json. */
export async function runStudy(options: StudyOptions, prepared?: PreparedStudy): Promise<StudyOutcome> {
  const logger = options.logger ?? new ConsoleLogger();
  const p = prepared ?? (await prepareStudy(options));
  // An unreachable Redis fails here, before the study file exists.
  if (options.redis && !options.executor) await (await connectRedis(options.redis, '--redis')).quit();
  let study: StudyFile;
  if (options.resume) {
    study = StudyFile.load(p.studyDir);
    const tunerType = String((study.data.tuner as { type?: string }).type);
    if (tunerType !== p.block.tuner.type || study.data.objective !== p.objective) {
      throw new UsageError(`the study in ${p.studyDir} used tuner '${tunerType}' on '${study.data.objective}', the config now says '${p.block.tuner.type}' on '${p.objective}'`, {
        where: '--resume',
        hint: 'resume with the config the study was started with, or start a new study (tune.study)',
      });
    }
    p.tuner.restore(study.data.tunerState);
    study.data.id ??= newStudyId(p.studyName);
    logger.info(`resuming study ${p.studyName}: ${study.data.trials.filter((t) => t.status !== 'running').length} trials done`);
  } else {
    if (fs.existsSync(StudyFile.pathOf(p.studyDir))) {
      throw new UsageError(`a study already exists in ${p.studyDir}`, { where: 'tune.study', hint: 'continue it with kiln tune --resume, or choose another tune.study (--study <name>)' });
    }
    const now = new Date().toISOString();
    study = new StudyFile(StudyFile.pathOf(p.studyDir), {
      format: 'kiln-study/1',
      name: p.studyName,
      id: newStudyId(p.studyName),
      objective: p.objective,
      mode: p.mode,
      tuner: p.block.tuner,
      pruner: p.block.pruner,
      space: p.space.toJSON(),
      status: 'running',
      createdAt: now,
      updatedAt: now,
      tunerState: p.tuner.state(),
      trials: [],
    });
    study.save();
  }
  study.save();
  const workers = options.workers ?? p.block.workers;
  const executor =
    options.executor ??
    (options.redis
      ? await RedisExecutor.connect({ url: options.redis, queue: options.queue, studyId: study.data.id!, slots: options.slots, logger })
      : workers > 1
        ? new ProcessExecutor(workers)
        : new InProcessExecutor(logger));
  const parent = await StudyTrackerRun.open(p, study, logger);
  let failed = true;
  try {
    await new StudyRunner({
      tuner: p.tuner,
      executor,
      study,
      studyDir: p.studyDir,
      studyName: p.studyName,
      source: options.source,
      objective: p.objective,
      mode: p.mode,
      hooks: p.kernel.hooks,
      logger,
      parentRunId: study.data.trackerRunId,
    }).run();
    failed = false;
  } finally {
    await executor.close();
    if (failed) await parent?.end('FAILED');
  }
  const rows = leaderboard(study.data.trials, p.mode);
  const top = rows.find((r) => r.status === 'completed' && r.value !== undefined) ?? rows.find((r) => r.value !== undefined);
  const outcome: StudyOutcome = { studyDir: p.studyDir, studyFile: study.file, leaderboard: rows, epochsTrained: epochsTrained(study) };
  if (top) {
    const best: BestTrial = { trial: top.trial, value: top.value!, params: top.params, runDir: top.runDir, checkpoint: checkpointOf(top.runDir), epochs: top.epochs };
    outcome.best = best;
    outcome.bestConfig = await writeBestConfig(options.source, p, best);
    study.data.best = { trial: best.trial, value: best.value, params: best.params, runDir: best.runDir, checkpoint: best.checkpoint };
    study.save();
  }
  await parent?.finish(study, outcome);
  return outcome;
}

/** `<study>-<8 hex>`: unique, and free of ':' (BullMQ job ids may not hold one). */
function newStudyId(name: string): string {
  return `${name.replace(/[^A-Za-z0-9_-]+/g, '_')}-${randomBytes(4).toString('hex')}`;
}

/** The config the study started from with the best params, ready for `kiln train --config`. */
async function writeBestConfig(source: ConfigSource, p: PreparedStudy, best: BestTrial): Promise<string> {
  const resolved = await resolveConfig({
    cwd: source.cwd,
    configPath: source.configPath,
    presets: source.presets,
    set: [...(source.set ?? []), ...SearchSpace.assignments(best.params), `trainer.epochs=${best.epochs}`, `trainer.monitor=${JSON.stringify(p.objective)}`, `trainer.mode=${JSON.stringify(p.mode)}`],
    inline: source.inline,
    search: false,
  });
  const config: Record<string, unknown> = { ...resolved.config, output: { dir: resolved.config.output.dir } };
  delete config.tune;
  delete config.extends;
  const file = path.join(p.studyDir, 'best.config.json');
  writeFileAtomic(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

export interface TuneOptions {
  cwd?: string;
  configPath?: string;
  presets?: string[];
  set?: string[];
  logger?: Logger;
  resume?: boolean;
  workers?: number;
  trials?: number;
  study?: string;
  /** `redis://host:port`: run the trials on `kiln worker` processes through BullMQ. */
  redis?: string;
  queue?: string;
  /** Trials queued at once with `redis` (default: as many as workers listen). */
  slots?: number;
}

export type TuneConfigInput = KilnConfigInput & { tune?: TuneBlockInput };

/**
 * `await tune({ extends: 'tabular-classification', tune: { objective: 'val/accuracy', tuner: { type: 'hyperband', maxEpochs: 9 } } })`:
 * runs a whole study and returns its leaderboard and best trial.
 */
export async function tuneWith(plugin: KilnPlugin, config: TuneConfigInput | undefined, options: TuneOptions = {}): Promise<StudyOutcome> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const source: ConfigSource = { cwd, configPath: options.configPath, presets: options.presets, set: options.set, inline: config as Record<string, unknown> | undefined };
  const resolved = await resolveConfig({ ...source, search: config === undefined && !options.configPath });
  if (!source.configPath && resolved.filepath) source.configPath = resolved.filepath;
  return runStudy({ resolved, source, logger: options.logger, resume: options.resume, workers: options.workers, trials: options.trials, study: options.study, redis: options.redis, queue: options.queue, slots: options.slots, plugin });
}
