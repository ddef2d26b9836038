import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { ConfigError, DataError, inferMode, resolveConfig, setupRun, trainResolved, type DatasetInfo, type KilnPlugin, type Logger, type ResolvedConfig } from '@kiln/core';
import type { MlflowFileTracker } from '../file-store/mlflow-file-tracker';
import type { MlflowRestTracker } from '../rest/mlflow-rest-tracker';
import { retrainStore, type RetrainStore } from './retrain-store';
import { validationFingerprint } from '../registry/register-trained-model';
import { systemTags } from '../tracked-params';

/** The `retrain:` config section (and `kiln retrain` flags): when and how a champion is retrained. */
export const RetrainOptionsSchema = z.strictObject({
  threshold: z.number().describe('Retrain when the champion\'s monitored metric on the new data is worse than this (below it for accuracies, above it for losses)'),
  monitor: z.string().min(1).optional().describe('Metric that decides (default: the champion\'s trainer.monitor, e.g. val/accuracy)'),
  mode: z.enum(['min', 'max']).optional().describe('Whether the monitor improves downward or upward (default: the champion\'s trainer.mode, else inferred from the name)'),
  holdout: z.number().gt(0).max(0.9).default(0.2).describe('Fraction of the new data held out (chosen by the seed) to compare the retrained model with the champion'),
  epochs: z.number().int().positive().optional().describe('Fine-tuning epochs (default: the champion\'s trainer.epochs)'),
  lr: z.number().positive().optional().describe('Fine-tuning learning rate (default: the champion\'s optimizer.lr)'),
  alias: z.string().min(1).default('champion').describe('Registry alias of the model in production'),
  store: z.string().min(1).optional().describe('The mlruns folder, or an http(s) tracking server, holding runs and registry (default: tracker.uri, else ./mlruns)'),
});
export type RetrainOptions = z.output<typeof RetrainOptionsSchema>;

export type RetrainDecision = 'keep' | 'promoted' | 'rejected' | 'first-champion';

export interface RetrainRequest {
  /** The current config: its `name` is the use-case (registered model), its data block and preset train the first model. */
  resolved: ResolvedConfig;
  /** The new data file (CSV/TSV or JSON lines, read like the champion's data block). */
  data: string;
  options: RetrainOptions;
  cwd?: string;
  logger?: Logger;
  /** Passed on to the runs (default: core's standard plugins). */
  defaultPlugins?: string[];
  plugins?: KilnPlugin[];
  /** Receives each line of the decision log as it is decided (default: logger.info). */
  onLine?: (line: string) => void;
}

export interface RetrainResult {
  decision: RetrainDecision;
  model: string;
  monitor: string;
  mode: 'min' | 'max';
  threshold: number;
  /** Version the alias pointed at before, and its metric on all the new data. */
  champion?: { version: number; runId: string | null; value: number; rows: number };
  /** The retrained model (absent when no retraining was needed). */
  challenger?: { version: number; runId: string; runDir: string; holdoutValue: number; trainRows: number; holdoutRows: number; fineTuned: boolean };
  /** The champion's metric on the same held-out rows. */
  championHoldoutValue?: number;
  /** Version the alias points at afterwards. */
  aliasVersion?: number;
  /** The tracked run that records this decision. */
  decisionRunId: string;
  /** The decision log, as printed. */
  lines: string[];
}

type ConfigObject = Record<string, unknown>;

const PATH_READERS = new Set(['csv', 'tsv', 'jsonl']);

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

function fmt(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : String(value);
}

/** True when `value` is worse than `reference` for this mode; NaN is always worse. */
function isWorse(value: number, reference: number, mode: 'min' | 'max'): boolean {
  if (Number.isNaN(value)) return true;
  return mode === 'max' ? value < reference : value > reference;
}

function isPathReader(block: ConfigObject | undefined): block is ConfigObject & { type: string } {
  return !!block && typeof block.type === 'string' && (PATH_READERS.has(block.type) || 'path' in block || 'train' in block);
}

/** The data block with its files swapped: all rows as validation (`all`) or a seeded train/holdout split. */
export function swapDataFile(
  block: ConfigObject,
  file: string,
  split: { kind: 'all' } | { kind: 'holdout'; fraction: number },
  classes?: string[],
  encoding?: unknown[],
): ConfigObject {
  const { path: _p, train: _t, val: _v, test: _s, valSplit: _vs, ...rest } = block;
  const out: ConfigObject = split.kind === 'all' ? { ...rest, train: file, val: file } : { ...rest, path: file, valSplit: split.fraction };
  if (classes && out.classes === undefined && PATH_READERS.has(String(block.type))) out.classes = classes;
  // The champion's own standardization and categories, not statistics refitted on the new rows
  // (which would hide exactly the drift retraining is looking for).
  if (encoding && out.encoding === undefined && block.type === 'csv') out.encoding = encoding;
  return out;
}

/** The column encodings a registered model was trained with (its dataset.json `extra.columns`). */
export function championEncoding(modelDir: string): unknown[] | undefined {
  const file = path.join(modelDir, 'dataset.json');
  if (!fs.existsSync(file)) return undefined;
  const info = JSON.parse(fs.readFileSync(file, 'utf8')) as { extra?: { columns?: unknown[] } };
  return Array.isArray(info.extra?.columns) && info.extra.columns.length ? info.extra.columns : undefined;
}

/** Validation metrics of a checkpoint under `config` (its data block already swapped). */
async function evaluateCheckpoint(
  config: ConfigObject,
  baseDir: string,
  checkpoint: string,
  dataFile: string,
  request: RetrainRequest,
): Promise<{ logs: Record<string, number>; rows: number; trainRows: number; dataset?: DatasetInfo }> {
  const resolved = await resolveConfig({ cwd: baseDir, inline: { ...config, tracker: false, callbacks: [] }, search: false });
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-retrain-eval-'));
  const setup = await setupRun(resolved, { runDir, splits: ['train', 'val'], logger: request.logger, defaultPlugins: request.defaultPlugins, plugins: request.plugins });
  try {
    try {
      setup.trainer.loadCheckpoint(checkpoint, true);
    } catch (cause) {
      throw new DataError(`the model in ${checkpoint} does not fit the model built for ${dataFile}: ${(cause as Error).message}`, {
        where: dataFile,
        hint: 'the new data needs the same feature columns (and categories) as the data the model was trained on',
        cause,
      });
    }
    const logs = await setup.trainer.validate();
    return { logs, rows: setup.val?.size ?? 0, trainRows: setup.train?.size ?? 0, dataset: (setup.train ?? setup.val)?.info };
  } finally {
    setup.mathRandom.uninstall();
    await setup.trainer.loader.close();
    setup.trainer.model.dispose();
    setup.trainer.optimizer.dispose();
    setup.kernel.container.unbindAll();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

function metricOf(logs: Record<string, number>, monitor: string): number {
  const value = logs[monitor];
  if (value === undefined) {
    throw new ConfigError(`the evaluation has no metric '${monitor}'`, {
      where: 'retrain.monitor',
      hint: `pass --monitor with one of: ${Object.keys(logs).join(', ')}`,
    });
  }
  return value;
}

/**
 * `kiln retrain`: evaluates the champion on new data; when its metric is worse than the threshold,
 * fine-tunes it (or trains the config's model when there is no champion) on the new data minus a
 * held-out split, registers the result, and moves the alias only if it beats the champion on the
 * held-out rows. Every step is logged with its numbers and recorded in a tracked run.
 */
export async function retrain(request: RetrainRequest): Promise<RetrainResult> {
  const { resolved, options } = request;
  const cwd = path.resolve(request.cwd ?? process.cwd());
  const name = resolved.config.name;
  if (!name) throw new ConfigError('kiln retrain needs the use-case name', { where: 'name', hint: 'set `name: <use-case>` in the config: the registry keeps the versions of that model' });
  const dataFile = path.resolve(cwd, request.data);
  if (!fs.existsSync(dataFile) || !fs.statSync(dataFile).isFile()) {
    throw new DataError(`new data file ${dataFile} does not exist`, { where: '--data', hint: 'pass a CSV/TSV or JSON-lines file with the same columns as the training data' });
  }
  const backend = retrainStore(resolved, options.store, cwd);
  try {
    return await retrainWith(backend, request, name, dataFile, cwd);
  } finally {
    backend.close();
  }
}

async function retrainWith(backend: RetrainStore, request: RetrainRequest, name: string, dataFile: string, cwd: string): Promise<RetrainResult> {
  const { resolved, options } = request;
  const champion = await backend.champion(name, options.alias);

  const current = clone(resolved.config) as unknown as ConfigObject;
  const base = champion ? clone(champion.files.config) : current;
  delete base.extends;
  const baseDir = champion ? champion.files.baseDir : resolved.baseDir;
  const trainerBlock = (base.trainer ?? {}) as { monitor?: string; mode?: 'min' | 'max'; epochs?: number; steps?: number };
  const monitor = options.monitor ?? trainerBlock.monitor ?? 'val/loss';
  const mode = inferMode(monitor, options.mode ?? (options.monitor ? undefined : trainerBlock.mode));
  const dataBlock = [base.data, current.data].find((b) => isPathReader(b as ConfigObject)) as ConfigObject | undefined;
  if (!dataBlock) {
    throw new ConfigError(`kiln retrain reads new data through a csv or jsonl data block; the config has '${String((base.data as ConfigObject | undefined)?.type ?? 'none')}'`, {
      where: 'data',
      hint: "set data: { type: 'csv', label: '<column>', path: '<file>' } (or jsonl) in the config",
    });
  }
  const classes = champion?.classes;
  const encoding = champion ? championEncoding(champion.files.dir) : undefined;
  const worseWord = mode === 'max' ? 'below' : 'above';
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    if (request.onLine) request.onLine(line);
    else request.logger?.info(`retrain: ${line}`);
  };

  const tracker = backend.decisionTracker(name, systemTags({ cwd: resolved.baseDir }), request.logger);
  const started = new Date();
  const { runId: decisionRunId } = await tracker.startRun({ runName: `retrain-${stamp(started)}`, tags: { 'kiln.retrain': 'true' } });
  const epochs = options.epochs ?? trainerBlock.epochs ?? 10;
  await tracker.logParams({
    'retrain.data': dataFile,
    'retrain.threshold': options.threshold,
    'retrain.monitor': monitor,
    'retrain.mode': mode,
    'retrain.holdout': options.holdout,
    'retrain.epochs': epochs,
    ...(options.lr !== undefined ? { 'retrain.lr': options.lr } : {}),
    'retrain.alias': options.alias,
    'retrain.champion.version': champion ? champion.version : 'none',
  });
  const result: RetrainResult = { decision: 'keep', model: name, monitor, mode, threshold: options.threshold, decisionRunId, lines };
  const decide = async (decision: RetrainDecision, reason: string) => {
    result.decision = decision;
    say(`decision: ${decision} (${reason})`);
    await tracker.setTags({ 'kiln.retrain.decision': decision, 'kiln.retrain.reason': reason.slice(0, 5000) });
  };

  try {
    if (champion) {
      say(`champion: version ${champion.version} of '${name}' (run ${champion.runId ?? 'unknown'})`);
      const { logs, rows } = await evaluateCheckpoint({ ...base, data: swapDataFile(dataBlock, dataFile, { kind: 'all' }, classes, encoding) }, baseDir, champion.files.checkpoint, dataFile, request);
      const value = metricOf(logs, monitor);
      result.champion = { version: champion.version, runId: champion.runId, value, rows };
      await tracker.logMetrics({ [`champion.new/${monitor}`]: value, threshold: options.threshold, 'new.rows': rows }, 0);
      say(`champion on ${path.basename(dataFile)} (${rows} rows): ${monitor} = ${fmt(value)}; threshold ${String(options.threshold)} (${mode === 'max' ? 'higher' : 'lower'} is better)`);
      if (!isWorse(value, options.threshold, mode)) {
        await decide('keep', `${monitor} ${fmt(value)} is not ${worseWord} the threshold ${String(options.threshold)}; no retraining`);
        result.aliasVersion = champion.version;
        await finish(tracker, result);
        return result;
      }
      say(`${monitor} ${fmt(value)} is ${worseWord} the threshold ${String(options.threshold)}: fine-tuning version ${champion.version} for ${epochs} epochs`);
    } else {
      say(`no '${options.alias}' version of '${name}' in ${backend.uri}: training the config's model on ${path.basename(dataFile)} for ${epochs} epochs`);
    }

    const holdoutData = swapDataFile(dataBlock, dataFile, { kind: 'holdout', fraction: options.holdout }, classes, encoding);
    const callbacks = Array.isArray(base.callbacks) ? (base.callbacks as ConfigObject[]) : [];
    const trainer: ConfigObject = { ...(base.trainer as ConfigObject), epochs };
    delete trainer.steps;
    const outputDir = path.resolve(resolved.baseDir, resolved.config.output.dir);
    const trainConfig: ConfigObject = {
      ...base,
      data: holdoutData,
      trainer,
      ...(options.lr !== undefined ? { optimizer: { ...(base.optimizer as ConfigObject), lr: options.lr } } : {}),
      callbacks: callbacks.some((c) => c.type === 'checkpoint') ? callbacks : [...callbacks, { type: 'checkpoint' }],
      tracker: { type: 'mlflow', uri: backend.uri, experiment: name, register: false },
    };
    const trainResolvedConfig = await resolveConfig({ cwd: baseDir, inline: trainConfig, search: false });
    const runName = `retrain-${name}-${stamp(started)}-${decisionRunId}`;
    const trained = await trainResolved(trainResolvedConfig, {
      cwd,
      logger: request.logger,
      defaultPlugins: request.defaultPlugins,
      plugins: request.plugins,
      runDir: path.join(outputDir, runName),
      // The champion's model weights start the training; the optimizer starts fresh.
      initWeights: champion?.files.checkpoint,
      trackerRun: { parentRunId: decisionRunId, runName, tags: { 'kiln.retrain.role': champion ? 'fine-tune' : 'base' } },
    });
    const runId = trained.trackerRunId;
    if (!runId) throw new DataError(`the retraining run ${trained.runDir} was not tracked`, { where: backend.uri, hint: 'the mlflow plugin must be loaded (it is a standard plugin)' });
    // The last checkpoint, not the best: the best was picked on the held-out rows it is compared on.
    const checkpoint = trained.checkpoints.last ?? trained.checkpoints.best;
    if (!checkpoint) throw new DataError(`the retraining run ${trained.runDir} wrote no checkpoint`, { where: trained.runDir, hint: 'keep the checkpoint callback in callbacks' });
    const holdoutConfig = { ...trainResolvedConfig.config, data: holdoutData } as unknown as ConfigObject;
    const challengerEval = await evaluateCheckpoint(holdoutConfig, baseDir, checkpoint, dataFile, request);
    const challengerValue = metricOf(challengerEval.logs, monitor);
    // The evaluation read the data exactly as the training did (same block and seed): its DatasetInfo goes with the model.
    const artifactPath = await backend.saveModel(runId, checkpoint, trainResolvedConfig.config as unknown as ConfigObject, baseDir, challengerEval.dataset);
    const version = await backend.registerModel(name, `runs:/${runId}/${artifactPath}`, runId, {
      'kiln.retrain.parent': decisionRunId,
      'kiln.validation': validationFingerprint({ data: holdoutData, seed: trainResolvedConfig.config.seed }),
      'kiln.monitor': monitor,
      [`kiln.metric.${monitor}`]: String(challengerValue),
      ...(champion ? { 'kiln.retrain.base_version': String(champion.version) } : {}),
    });
    const trainRows = challengerEval.trainRows;
    result.challenger = {
      version,
      runId,
      runDir: trained.runDir,
      holdoutValue: challengerValue,
      trainRows,
      holdoutRows: challengerEval.rows,
      fineTuned: !!champion,
    };
    await tracker.setTags({ 'kiln.retrain.version': String(version), 'kiln.retrain.run': runId });
    await tracker.logMetrics({ [`challenger.holdout/${monitor}`]: challengerValue, 'holdout.rows': challengerEval.rows }, 0);
    say(`registered version ${version} (run ${runId}); trained on ${trainRows} rows, held out ${challengerEval.rows}`);

    if (!champion) {
      await backend.setAlias(name, options.alias, version);
      result.aliasVersion = version;
      say(`held-out ${monitor}: version ${version} ${fmt(challengerValue)}`);
      await decide('first-champion', `no previous ${options.alias}; version ${version} (held-out ${monitor} ${fmt(challengerValue)}) becomes ${options.alias}`);
    } else {
      const championEval = await evaluateCheckpoint(holdoutConfig, baseDir, champion.files.checkpoint, dataFile, request);
      const championValue = metricOf(championEval.logs, monitor);
      result.championHoldoutValue = championValue;
      await tracker.logMetrics({ [`champion.holdout/${monitor}`]: championValue }, 0);
      say(`held-out ${monitor}: challenger version ${version} ${fmt(challengerValue)} vs champion version ${champion.version} ${fmt(championValue)}`);
      const beats = !Number.isNaN(challengerValue) && isWorse(championValue, challengerValue, mode);
      if (beats) {
        await backend.setAlias(name, options.alias, version);
        result.aliasVersion = version;
        await decide('promoted', `${fmt(challengerValue)} ${mode === 'max' ? '>' : '<'} ${fmt(championValue)}: ${options.alias} moves from version ${champion.version} to ${version}`);
      } else {
        result.aliasVersion = champion.version;
        await decide('rejected', `${fmt(challengerValue)} does not beat ${fmt(championValue)}: ${options.alias} stays at version ${champion.version}; version ${version} is kept in the registry`);
      }
    }
    await finish(tracker, result);
    return result;
  } catch (error) {
    await tracker.setTags({ 'kiln.retrain.error': String((error as Error).message).slice(0, 5000) }).catch(() => undefined);
    await tracker.endRun('FAILED').catch(() => undefined);
    throw error;
  }
}

async function finish(tracker: MlflowFileTracker | MlflowRestTracker, result: RetrainResult): Promise<void> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-retrain-')), 'decision.json');
  try {
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    await tracker.logArtifact(file);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
  await tracker.endRun('FINISHED');
}
