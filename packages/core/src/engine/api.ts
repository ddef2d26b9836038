import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, UsageError } from '../errors';
import { resolveConfig, type ResolvedConfig } from '../config/load';
import { flattenConfig } from '../config/paths';
import type { KilnConfig, KilnConfigInput } from '../config/schema';
import { createKernel, STANDARD_PLUGINS } from '../kernel/bootstrap';
import { activateBackend, backendBlock } from '../kernel/backend';
import type { Kernel } from '../kernel/kernel';
import { Tokens } from '../points';
import type { BackendInfo } from '../points/backend';
import type { Dataset, DatasetInfo } from '../points/data';
import type { Tracker } from '../points/tracker';
import type { Logger } from '../services/logger';
import type { KilnPlugin } from '../plugin';
import { KILN_VERSION } from '../version';
import { writeFileAtomic } from './atomic';
import { SeededMathRandom } from './seeded-random';
import { createLoader } from './loader';
import { inferMode, lastCheckpoint, Trainer, type FitResult } from './trainer';

export interface RunOptions {
  cwd?: string;
  /** Config file to read (else searched in cwd unless `config` is given). */
  configPath?: string;
  presets?: string[];
  set?: string[];
  logger?: Logger;
  /** Plugins loaded when installed, before the config's own (default: the standard set). */
  defaultPlugins?: string[];
  /** Plugin objects to register in addition to those the config lists. */
  plugins?: KilnPlugin[];
}

export interface TrainOptions extends RunOptions {
  /** `true`: continue the newest run in output.dir; a path: that run dir or checkpoint. */
  resume?: boolean | string;
  /**
   * The run directory to write (default: `output.dir/output.name`, or the resumed run's). With
   * `resume` naming a checkpoint elsewhere, training continues that checkpoint into this new
   * directory (a tuner's promoted trial), leaving the original run untouched.
   */
  runDir?: string;
  /** A checkpoint (or run dir: its best, else last) whose model weights start the training; the optimizer starts fresh (fine-tuning). */
  initWeights?: string;
  /** Passed to the tracker's startRun: a parent run (tuning trials), a run name, extra tags. */
  trackerRun?: { parentRunId?: string; runName?: string; tags?: Record<string, string> };
  /**
   * On SIGINT/SIGTERM, mark the run KILLED (run.json and tracker) before the process exits
   * with 128+signal. Checkpoints already written stay, so `--resume` continues. The CLI sets it.
   */
  handleSignals?: boolean;
}

export interface TrainResult extends FitResult {
  config: KilnConfig;
  backend?: BackendInfo;
  /** The monitored metric's best value and epoch. */
  best?: { monitor: string; value: number; epoch: number };
  checkpoints: { last?: string; best?: string };
  runRecord: string;
  /** The tracker's id for this run, when a tracker is configured. */
  trackerRunId?: string;
  /** What the model was built for: inputs, classes, and the reader's fitted encodings (`extra`). */
  dataset?: DatasetInfo;
}

/** Everything a run is made of, built from a resolved config. */
export interface RunSetup {
  kernel: Kernel;
  config: KilnConfig;
  resolved: ResolvedConfig;
  backend?: BackendInfo;
  train?: Dataset;
  val?: Dataset;
  trainer: Trainer;
  mathRandom: SeededMathRandom;
  tracker?: Tracker;
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** `<outputDir>/<base>`, or `<base>-2`, `-3`… when runs started in the same second already took it. */
function freshRunDir(outputDir: string, base: string): string {
  let dir = path.join(outputDir, base);
  for (let n = 2; fs.existsSync(dir); n++) dir = path.join(outputDir, `${base}-${n}`);
  return dir;
}

function newestRun(outputDir: string): string | undefined {
  if (!fs.existsSync(outputDir)) return undefined;
  return fs
    .readdirSync(outputDir)
    .map((d) => path.join(outputDir, d))
    .filter((d) => lastCheckpoint(d))
    .sort((a, b) => fs.statSync(lastCheckpoint(b)!).mtimeMs - fs.statSync(lastCheckpoint(a)!).mtimeMs)[0];
}

/**
 * Every configured block's type and options, checked before any data is read or tensor made
 * (what `kiln train` does first; tools and doc tests call it to check a config).
 */
export function validateBlocks(kernel: Kernel, config: KilnConfig): void {
  const { schedule, ...optimizer } = (config.optimizer ?? {}) as { type: string; schedule?: { type: string } };
  kernel.validate(Tokens.Reader, config.data, 'data');
  kernel.validate(Tokens.Model, config.model, 'model');
  kernel.validate(Tokens.Loss, config.loss, 'loss');
  if (config.optimizer) kernel.validate(Tokens.Optimizer, optimizer, 'optimizer');
  kernel.validate(Tokens.Schedule, schedule, 'optimizer.schedule');
  kernel.validate(Tokens.Sampler, config.sampler, 'sampler');
  config.metrics.forEach((b, i) => kernel.validate(Tokens.Metric, b, `metrics.${i}`));
  config.callbacks.forEach((b, i) => kernel.validate(Tokens.Callback, b, `callbacks.${i}`));
  if (config.tracker) kernel.validate(Tokens.Tracker, config.tracker, 'tracker');
  if (config.exporter) kernel.validate(Tokens.Exporter, config.exporter, 'exporter');
  const backend = backendBlock(config.backend);
  if (backend.type !== 'auto' && kernel.names(Tokens.Backend).length) kernel.validate(Tokens.Backend, backend, 'backend');
}

/** Builds kernel, backend, data, model, loss, optimizer, schedule, sampler, metrics, callbacks, tracker. */
export async function setupRun(resolved: ResolvedConfig, options: RunOptions & { runDir: string; splits: ('train' | 'val')[] }): Promise<RunSetup> {
  const kernel = await createKernel(resolved, { logger: options.logger, defaultPlugins: options.defaultPlugins ?? STANDARD_PLUGINS, plugins: options.plugins });
  const config = kernel.config;
  const backend = kernel.names(Tokens.Backend).length ? await activateBackend(kernel) : undefined;
  validateBlocks(kernel, config);
  // Production mode silences tfjs's console banners (e.g. "install tfjs-node") during runs.
  if (!process.env.KILN_TFJS_DEBUG) tf.env().set('PROD', true);
  const mathRandom = new SeededMathRandom(config.seed);
  mathRandom.install();
  let loader: ReturnType<typeof createLoader> | undefined;
  try {
    const reader = await kernel.build(Tokens.Reader, config.data, 'data');
    const train = options.splits.includes('train') || !reader.splits.includes('val') ? await reader.load('train') : undefined;
    const val = options.splits.includes('val') && reader.splits.includes('val') ? await reader.load('val') : undefined;
    kernel.dataset = (train ?? val)!.info;
    const model = await kernel.build(Tokens.Model, config.model, 'model');
    const loss = await kernel.build(Tokens.Loss, config.loss, 'loss');
    const { schedule: scheduleBlock, ...optimizerBlock } = (config.optimizer ?? {}) as { type: string; schedule?: { type: string }; lr?: number };
    const optimizer = await kernel.build(Tokens.Optimizer, config.optimizer ? (optimizerBlock as { type: string }) : undefined, 'optimizer');
    const schedule = scheduleBlock ? await kernel.build(Tokens.Schedule, scheduleBlock, 'optimizer.schedule') : undefined;
    const samplerBlock = config.sampler ?? (kernel.has(Tokens.Sampler, 'random') ? { type: 'random' } : undefined);
    const sampler = samplerBlock ? await kernel.build(Tokens.Sampler, samplerBlock, 'sampler') : undefined;
    const metrics = [];
    for (const [i, block] of config.metrics.entries()) metrics.push(await kernel.build(Tokens.Metric, block, `metrics.${i}`));
    for (const [i, block] of config.callbacks.entries()) (await kernel.build(Tokens.Callback, block, `callbacks.${i}`)).apply(kernel.hooks);
    const tracker = config.tracker ? await kernel.build(Tokens.Tracker, config.tracker, 'tracker') : undefined;
    const splits = new Map<Dataset, 'train' | 'val'>();
    if (train) splits.set(train, 'train');
    if (val) splits.set(val, 'val');
    loader = createLoader({ config, resolved, defaultPlugins: options.defaultPlugins ?? STANDARD_PLUGINS, splits, logger: kernel.logger });
    const trainer = new Trainer({
      config,
      hooks: kernel.hooks,
      logger: kernel.logger,
      model,
      loss,
      optimizer,
      baseLr: optimizerBlock.lr ?? 1e-3,
      schedule,
      sampler,
      metrics,
      tracker,
      train: train ?? val!,
      val,
      runDir: options.runDir,
      mathRandom,
      rngs: () => kernel.rng.forks,
      loader,
    });
    return { kernel, config, resolved, backend, train, val, trainer, mathRandom, tracker };
  } catch (error) {
    mathRandom.uninstall();
    await loader?.close();
    throw error;
  }
}

function resolveResume(resume: boolean | string, outputDir: string, cwd: string): { runDir: string; checkpoint: string } {
  if (resume === true) {
    const runDir = newestRun(outputDir);
    if (!runDir) throw new UsageError(`--resume: no run with a checkpoint under ${outputDir}`, { where: '--resume', hint: 'train once first, or pass the run directory: --resume runs/<name>' });
    return { runDir, checkpoint: lastCheckpoint(runDir)! };
  }
  const target = path.resolve(cwd, resume as string);
  if (fs.existsSync(target) && fs.statSync(target).isFile()) return { runDir: path.dirname(path.dirname(target)), checkpoint: target };
  const checkpoint = lastCheckpoint(target);
  if (!checkpoint) throw new UsageError(`--resume: no checkpoints/last.safetensors in ${target}`, { where: '--resume', hint: 'pass a run directory written by kiln train, or a checkpoint file' });
  return { runDir: target, checkpoint };
}

/** A checkpoint file, or a run directory's best (else last) checkpoint. */
export function checkpointOf(target: string, cwd: string, where: string): string {
  let file = path.resolve(cwd, target);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    const best = path.join(file, 'checkpoints', 'best.safetensors');
    file = fs.existsSync(best) ? best : lastCheckpoint(file) ?? file;
  }
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    throw new UsageError(`checkpoint not found: ${target}`, { where, hint: 'pass a .safetensors file or a run directory written by kiln train' });
  }
  return file;
}

interface RunRecord {
  status?: string;
  trackerRunId?: string;
}

function readRecord(file: string): RunRecord {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord;
  } catch {
    return {};
  }
}

const SIGNAL_CODES: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

/** Trains from a resolved config; writes the run directory (config.json, checkpoints, run.json). */
export async function trainResolved(resolved: ResolvedConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const outputDir = path.resolve(resolved.baseDir, resolved.config.output.dir);
  if (options.resume && options.initWeights) {
    throw new UsageError('--resume and --init-weights cannot be combined', { where: '--init-weights', hint: 'resume continues a run (optimizer included); init-weights starts a new one from saved weights' });
  }
  const resume = options.resume ? resolveResume(options.resume, outputDir, cwd) : undefined;
  const initWeights = options.initWeights ? checkpointOf(options.initWeights, cwd, '--init-weights') : undefined;
  const modelType = resolved.config.model?.type ?? 'model';
  const runDir = options.runDir
    ? path.resolve(cwd, options.runDir)
    : resume?.runDir ?? (resolved.config.output.name ? path.join(outputDir, resolved.config.output.name) : freshRunDir(outputDir, `${stamp(new Date())}-${modelType}`));
  const continuing = resume !== undefined && path.resolve(resume.runDir) === runDir;
  if (!continuing && fs.existsSync(lastCheckpoint(runDir) ?? '\0')) {
    throw new UsageError(`run directory ${runDir} already has checkpoints`, { where: options.runDir ? 'runDir' : 'output.name', hint: 'use --resume to continue it, or choose another output.name' });
  }
  fs.mkdirSync(runDir, { recursive: true });
  const setup = await setupRun(resolved, { ...options, runDir, splits: ['train', 'val'] });
  const { config, trainer, tracker, kernel } = setup;
  const runRecord = path.join(runDir, 'run.json');
  const previous = continuing ? readRecord(runRecord) : resume ? readRecord(path.join(resume.runDir, 'run.json')) : {};
  const startedAt = new Date().toISOString();
  const monitor = config.trainer.monitor;
  const mode = inferMode(monitor, config.trainer.mode);
  let trackerRunId: string | undefined;
  const record = (status: string, extra: Record<string, unknown> = {}) =>
    writeFileAtomic(
      runRecord,
      `${JSON.stringify({ kilnVersion: KILN_VERSION, status, startedAt, runDir, baseDir: resolved.baseDir, configFile: resolved.filepath, sources: resolved.sources, backend: setup.backend, trackerRunId, resumedFrom: resume?.checkpoint, initWeights, ...extra }, null, 2)}\n`,
    );
  writeFileAtomic(path.join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  record('RUNNING');
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(128 + (SIGNAL_CODES[signal] ?? 1));
    interrupted = signal;
    kernel.logger.warn(`${signal}: marking the run KILLED; checkpoints written so far stay (resume with --resume ${path.relative(cwd, runDir) || '.'})`);
    record('KILLED', { endedAt: new Date().toISOString(), signal });
    const done = tracker ? tracker.endRun('KILLED').then(() => tracker.flush()) : Promise.resolve();
    void done.catch(() => undefined).finally(() => process.exit(128 + (SIGNAL_CODES[signal] ?? 1)));
  };
  if (options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    if (tracker) {
      const tags: Record<string, string> = { 'kiln.version': KILN_VERSION, 'kiln.backend': setup.backend?.name ?? 'unknown', 'kiln.host': os.hostname(), 'kiln.runDir': runDir, ...options.trackerRun?.tags };
      let started: { runId: string } | undefined;
      if (continuing && previous.trackerRunId && tracker.resumeRun) {
        started = await tracker.resumeRun(previous.trackerRunId);
      } else {
        if (resume && previous.trackerRunId) tags['kiln.resumedFromRun'] = previous.trackerRunId;
        started = await tracker.startRun({ experiment: config.name, runName: options.trackerRun?.runName ?? path.basename(runDir), parentRunId: options.trackerRun?.parentRunId, tags });
        await tracker.logParams(flattenConfig(config));
      }
      trackerRunId = started.runId;
      record('RUNNING');
    }
    if (initWeights) {
      trainer.loadCheckpoint(initWeights, true);
      kernel.logger.info(`initial weights from ${path.relative(cwd, initWeights) || initWeights}`);
    }
    const fit = await trainer.fit({ resumeFrom: resume?.checkpoint });
    let best: TrainResult['best'];
    fit.history.forEach((logs, i) => {
      const value = logs[monitor];
      if (value === undefined || Number.isNaN(value)) return;
      if (!best || (mode === 'max' ? value > best.value : value < best.value)) best = { monitor, value, epoch: i + 1 };
    });
    const checkpoints = {
      last: lastCheckpoint(runDir),
      best: fs.existsSync(path.join(runDir, 'checkpoints', 'best.safetensors')) ? path.join(runDir, 'checkpoints', 'best.safetensors') : undefined,
    };
    record('FINISHED', { endedAt: new Date().toISOString(), epochs: fit.epochsRun, steps: fit.stepsRun, logs: fit.logs, best, checkpoints, stopReason: fit.stopReason, skippedSteps: fit.skippedSteps });
    if (tracker) {
      await tracker.logArtifact(path.join(runDir, 'config.json'));
      await tracker.logArtifact(runRecord);
      await tracker.endRun('FINISHED');
    }
    return { ...fit, config, backend: setup.backend, best, checkpoints, runRecord, trackerRunId, dataset: kernel.dataset };
  } catch (error) {
    record('FAILED', { endedAt: new Date().toISOString(), error: (error as Error).message });
    if (tracker) await tracker.endRun('FAILED').catch(() => undefined);
    const rel = path.relative(cwd, runDir) || '.';
    kernel.logger.warn(lastCheckpoint(runDir)
      ? `run ${rel} FAILED; its checkpoints are kept: after fixing the cause, continue with --resume ${rel}`
      : `run ${rel} FAILED before its first checkpoint`);
    throw error;
  } finally {
    if (options.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    setup.mathRandom.uninstall();
    await trainer.loader.close();
    trainer.model.dispose();
    trainer.optimizer.dispose();
    kernel.container.unbindAll();
  }
}

/** `await train({ extends: '@kiln/presets/tabular-classification', trainer: { epochs: 5 } })`. */
export async function train(config?: KilnConfigInput, options: TrainOptions = {}): Promise<TrainResult> {
  const resolved = await resolveConfig({
    cwd: options.cwd,
    configPath: options.configPath,
    presets: options.presets,
    set: options.set,
    inline: config as Record<string, unknown> | undefined,
    search: config === undefined,
  });
  return trainResolved(resolved, options);
}

export interface EvaluateOptions extends RunOptions {
  /** Checkpoint file, or a run directory (its best, else last, checkpoint). */
  checkpoint: string;
}

export interface EvaluateResult {
  checkpoint: string;
  logs: Record<string, number>;
  size: number;
}

/** Validation metrics of a saved checkpoint; uses the run's saved config unless one is given. */
export async function evaluate(options: EvaluateOptions): Promise<EvaluateResult> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const checkpoint = checkpointOf(options.checkpoint, cwd, '--checkpoint');
  const runDir = path.dirname(path.dirname(checkpoint));
  let resolved: ResolvedConfig;
  if (options.configPath || options.presets?.length) {
    resolved = await resolveConfig({ cwd, configPath: options.configPath, presets: options.presets, set: options.set });
  } else {
    const saved = path.join(runDir, 'config.json');
    if (!fs.existsSync(saved)) throw new ConfigError(`no config.json beside the checkpoint (${saved})`, { where: '--checkpoint', hint: 'pass --config with the config the model was trained with' });
    const recordFile = path.join(runDir, 'run.json');
    const baseDir = fs.existsSync(recordFile) ? (JSON.parse(fs.readFileSync(recordFile, 'utf8')) as { baseDir?: string }).baseDir ?? cwd : cwd;
    const config = JSON.parse(fs.readFileSync(saved, 'utf8')) as Record<string, unknown>;
    delete config.extends;
    resolved = await resolveConfig({ cwd: baseDir, inline: config, set: options.set, search: false });
  }
  const setup = await setupRun(resolved, { ...options, runDir, splits: ['val'] });
  try {
    setup.trainer.loadCheckpoint(checkpoint, true);
    const logs = await setup.trainer.validate();
    return { checkpoint, logs, size: setup.val?.size ?? 0 };
  } finally {
    setup.mathRandom.uninstall();
    await setup.trainer.loader.close();
    setup.trainer.model.dispose();
    setup.trainer.optimizer.dispose();
  }
}
