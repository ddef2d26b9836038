import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DataError, MemoryLogger, resolveConfig, trainResolved } from '@kiln/core';
import { MlflowFileStore, MlflowModelRegistry, readModelFiles, retrain, retrainCommand, retrainOptionsFrom, RetrainOptionsSchema, swapDataFile } from '../src';
import { readRunFolder } from './support/independent-mlruns-reader';

const PLUGINS = ['@kiln/plugin-data', '@kiln/plugin-train-basics', '@kiln/plugin-mlflow'];

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-retrain-'));
  // Two independent uniform features; the label follows x1 in the old data and the "same" new
  // data, x2 in the drifted data. A model of the x1 rule is right about half the time on drift.
  writeCsv('old.csv', 1, 200, (x1) => x1);
  writeCsv('same.csv', 2, 200, (x1) => x1);
  writeCsv('drift.csv', 3, 200, (_x1, x2) => x2);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeCsv(name: string, seed: number, rows: number, decide: (x1: number, x2: number) => number): void {
  let s = seed * 0x9e3779b9;
  const rand = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const lines = ['x1,x2,y'];
  for (let i = 0; i < rows; i++) {
    const x1 = rand() * 2 - 1;
    const x2 = rand() * 2 - 1;
    lines.push(`${x1.toFixed(4)},${x2.toFixed(4)},${decide(x1, x2) > 0 ? 'pos' : 'neg'}`);
  }
  fs.writeFileSync(path.join(dir, name), `${lines.join('\n')}\n`);
}

async function userConfig(extra: Record<string, unknown> = {}) {
  return resolveConfig({
    cwd: dir,
    search: false,
    inline: {
      name: 'churn',
      extends: '@kiln/presets/tabular-classification',
      seed: 7,
      data: { type: 'csv', path: 'old.csv', label: 'y' },
      model: { type: 'mlp', hiddenUnits: [16] },
      optimizer: { type: 'adam', lr: 0.05 },
      metrics: [{ type: 'accuracy' }],
      callbacks: [{ type: 'checkpoint' }],
      trainer: { epochs: 12, batchSize: 32, monitor: 'val/accuracy', mode: 'max' },
      tracker: { type: 'mlflow', uri: 'mlruns', systemTags: false },
      output: { dir: 'runs' },
      ...extra,
    },
  });
}

const options = (o: Record<string, unknown>) => RetrainOptionsSchema.parse(o);

test('swapDataFile: all rows as validation, or a seeded holdout; pins the champion classes for csv/jsonl', () => {
  const block = { type: 'csv', path: 'a.csv', label: 'y', valSplit: 0.1, delimiter: ';' };
  expect(swapDataFile(block, '/n.csv', { kind: 'all' }, ['a', 'b'])).toEqual({ type: 'csv', label: 'y', delimiter: ';', train: '/n.csv', val: '/n.csv', classes: ['a', 'b'] });
  expect(swapDataFile({ type: 'jsonl', train: 't', val: 'v', classes: ['x', 'y'] }, '/n.jsonl', { kind: 'holdout', fraction: 0.25 }, ['a', 'b'])).toEqual({
    type: 'jsonl',
    path: '/n.jsonl',
    valSplit: 0.25,
    classes: ['x', 'y'],
  });
  const encoding = [{ name: 'x1', kind: 'numeric', mean: 0.1, std: 0.5 }];
  expect(swapDataFile(block, '/n.csv', { kind: 'all' }, undefined, encoding)).toMatchObject({ encoding });
  // jsonl has no fitted encodings to pin.
  expect(swapDataFile({ type: 'jsonl', path: 'a' }, '/n.jsonl', { kind: 'all' }, undefined, encoding)).not.toHaveProperty('encoding');
});

test('retrain: first champion, then no retraining above the threshold, then fine-tune and promote on drift; every decision recorded', async () => {
  const resolved = await userConfig();
  const root = path.join(dir, 'mlruns');
  const registry = new MlflowModelRegistry(root);
  const store = new MlflowFileStore(root);
  const common = { resolved, cwd: dir, logger: new MemoryLogger(), defaultPlugins: PLUGINS };

  // 1. No champion yet: the config's model is trained on the data and becomes the champion.
  const first = await retrain({ ...common, data: 'old.csv', options: options({ threshold: 0.8 }) });
  expect(first.decision).toBe('first-champion');
  expect(registry.getAlias('churn', 'champion')).toBe(1);
  // 40 of 200 rows held out (round(200 * 0.2)), 160 trained on.
  expect(first.challenger).toMatchObject({ version: 1, holdoutRows: 40, trainRows: 160, fineTuned: false });
  expect(first.challenger!.holdoutValue).toBeGreaterThan(0.9);

  const tensorsBefore = tf.memory().numTensors;

  // 2. New data of the same concept: the champion stays above 0.8; nothing is trained or registered.
  const lines: string[] = [];
  const same = await retrain({ ...common, data: 'same.csv', options: options({ threshold: 0.8 }), onLine: (l) => lines.push(l) });
  expect(same.decision).toBe('keep');
  expect(same.champion!.rows).toBe(200);
  expect(same.champion!.value).toBeGreaterThanOrEqual(0.8);
  expect(same.challenger).toBeUndefined();
  expect(registry.listVersionNumbers('churn')).toEqual([1]);
  expect(lines.join('\n')).toContain(`champion on same.csv (200 rows): val/accuracy = ${same.champion!.value.toFixed(4)}; threshold 0.8 (higher is better)`);
  expect(lines[lines.length - 1]).toMatch(/^decision: keep \(val\/accuracy [\d.]+ is not below the threshold 0\.8; no retraining\)$/);

  // The decision run, read back with the independent reader.
  const keepRun = readRunFolder(store.locateRun(same.decisionRunId).dir);
  expect(keepRun.tags['kiln.retrain.decision']).toBe('keep');
  expect(keepRun.params).toMatchObject({ 'retrain.threshold': '0.8', 'retrain.monitor': 'val/accuracy', 'retrain.mode': 'max', 'retrain.champion.version': '1', 'retrain.holdout': '0.2' });
  expect(keepRun.metrics['champion.new/val/accuracy'].map((p) => p.value)).toEqual([same.champion!.value]);
  expect(keepRun.metrics['new.rows'][0].value).toBe(200);
  expect(keepRun.meta.status).toBe(3);
  const keepJson = JSON.parse(fs.readFileSync(path.join(store.locateRun(same.decisionRunId).dir, 'artifacts', 'decision.json'), 'utf8'));
  expect(keepJson).toMatchObject({ decision: 'keep', threshold: 0.8, champion: { version: 1 } });

  // 3. Drifted data: the x1 model is near chance, below 0.8 → fine-tune version 1, register 2, promote it.
  const drift = await retrain({ ...common, data: 'drift.csv', options: options({ threshold: 0.8 }) });
  expect(drift.champion!.value).toBeLessThan(0.75);
  expect(drift.decision).toBe('promoted');
  expect(drift.challenger).toMatchObject({ version: 2, fineTuned: true, holdoutRows: 40, trainRows: 160 });
  expect(drift.challenger!.holdoutValue).toBeGreaterThan(drift.championHoldoutValue!);
  expect(registry.getAlias('churn', 'champion')).toBe(2);
  const v2 = registry.getVersion('churn', 2);
  expect(v2.source).toBe(`runs:/${drift.challenger!.runId}/model`);
  expect(v2.tags).toMatchObject({ 'kiln.retrain.parent': drift.decisionRunId, 'kiln.retrain.base_version': '1', 'kiln.metric.val/accuracy': String(drift.challenger!.holdoutValue) });
  // The training run is nested under the decision run and carries the model.
  const trainingDir = store.locateRun(drift.challenger!.runId).dir;
  const training = readRunFolder(trainingDir);
  expect(training.tags['mlflow.parentRunId']).toBe(drift.decisionRunId);
  expect(training.tags['kiln.retrain.role']).toBe('fine-tune');
  expect(training.tags['kiln.data.classes']).toBe('["neg","pos"]');
  expect(fs.existsSync(path.join(trainingDir, 'artifacts', 'model', 'checkpoints', 'best.safetensors'))).toBe(true);
  expect(JSON.parse(fs.readFileSync(path.join(trainingDir, 'artifacts', 'model', 'dataset.json'), 'utf8')).classNames).toEqual(['neg', 'pos']);
  // The fine-tuned model reads its inputs exactly as version 1 does: the champion's standardization,
  // not statistics refitted on drift.csv (whose own column means differ).
  const columnsOf = (runDir: string) => JSON.parse(fs.readFileSync(path.join(runDir, 'artifacts', 'model', 'dataset.json'), 'utf8')).extra.columns;
  const v1Dir = store.locateRun(registry.getVersion('churn', 1).source.split('/')[1]).dir;
  expect(columnsOf(trainingDir)).toEqual(columnsOf(v1Dir));
  expect(columnsOf(v1Dir)[0]).toMatchObject({ name: 'x1', kind: 'numeric' });
  const decisionRun = readRunFolder(store.locateRun(drift.decisionRunId).dir);
  expect(decisionRun.tags).toMatchObject({ 'kiln.retrain.decision': 'promoted', 'kiln.retrain.version': '2', 'kiln.retrain.run': drift.challenger!.runId });
  expect(decisionRun.metrics['challenger.holdout/val/accuracy'][0].value).toBe(drift.challenger!.holdoutValue);
  expect(decisionRun.metrics['champion.holdout/val/accuracy'][0].value).toBe(drift.championHoldoutValue);
  expect(drift.lines.join('\n')).toContain(
    `held-out val/accuracy: challenger version 2 ${drift.challenger!.holdoutValue.toFixed(4)} vs champion version 1 ${drift.championHoldoutValue!.toFixed(4)}`,
  );
  expect(decisionRun.tags['kiln.retrain.reason']).toBe(
    `${drift.challenger!.holdoutValue.toFixed(4)} > ${drift.championHoldoutValue!.toFixed(4)}: champion moves from version 1 to 2`,
  );

  // 4. Fine-tuning starts from the champion's weights: with a learning rate of 1e-9 the challenger
  // is the champion, so their held-out losses agree (a fresh initialization would sit near ln 2).
  const frozen = await retrain({ ...common, data: 'drift.csv', options: options({ threshold: 0, monitor: 'val/loss', lr: 1e-9, epochs: 1 }) });
  expect(frozen.mode).toBe('min');
  expect(Math.abs(frozen.challenger!.holdoutValue - frozen.championHoldoutValue!)).toBeLessThan(1e-4);
  expect(frozen.championHoldoutValue!).toBeLessThan(0.5);
  expect(frozen.decision).toBe(frozen.challenger!.holdoutValue < frozen.championHoldoutValue! ? 'promoted' : 'rejected');
  expect(registry.listVersionNumbers('churn')).toEqual([1, 2, 3]);
  // Evaluations and trainings dispose their models: nothing accumulates across retrains.
  expect(tf.memory().numTensors).toBe(tensorsBefore);
});

test('retrain: clear errors for a missing name, a missing data file and a missing threshold', async () => {
  const common = { cwd: dir, logger: new MemoryLogger(), defaultPlugins: PLUGINS, options: options({ threshold: 0.5 }) };
  await expect(retrain({ ...common, resolved: await userConfig({ name: undefined }), data: 'old.csv' })).rejects.toMatchObject({ where: 'name' });
  const missing = retrain({ ...common, resolved: await userConfig(), data: 'nope.csv' });
  await expect(missing).rejects.toBeInstanceOf(DataError);
  await expect(missing).rejects.toMatchObject({ where: '--data' });
  expect(() => retrainOptionsFrom(undefined, {})).toThrow(ConfigError);
  expect(() => retrainOptionsFrom(undefined, { threshold: 'high' })).toThrow(/--threshold must be a number/);
  expect(retrainOptionsFrom({ threshold: 0.9, holdout: 0.3 }, { threshold: '0.7' })).toMatchObject({ threshold: 0.7, holdout: 0.3, alias: 'champion' });
  expect(() => retrainOptionsFrom({ threshold: 0.9, holdout: 2 }, {})).toThrow(expect.objectContaining({ where: 'retrain.holdout' }));
  // The config's retrain: section is read through the same schema; flags override it.
  const withSection = await userConfig({ retrain: { threshold: 0.75, holdout: 0.25, epochs: 3 } });
  expect(retrainOptionsFrom(withSection.config.retrain, { epochs: '5' })).toEqual({ threshold: 0.75, holdout: 0.25, epochs: 5, alias: 'champion' });
  await expect(userConfig({ retrain: { threshold: 0.75, patience: 3 } }).then((r) => retrainOptionsFrom(r.config.retrain, {}))).rejects.toMatchObject({ where: 'retrain' });
  const stdout = new PassThrough();
  await expect(retrainCommand.run([], { threshold: '0.5' }, { stdout, cwd: dir, logger: new MemoryLogger(), globals: {}, resolved: await userConfig() } as never)).rejects.toMatchObject({
    where: '--data',
  });
});

test('kiln train with the file-store tracker registers every model; champion moves only on the same validation data', async () => {
  const root = path.join(dir, 'mlruns-train');
  const registry = new MlflowModelRegistry(root);
  const store = new MlflowFileStore(root);
  const run = async (extra: Record<string, unknown>) => {
    const base = await userConfig({ tracker: { type: 'mlflow', uri: 'mlruns-train', systemTags: false }, ...extra });
    return trainResolved(base, { cwd: dir, logger: new MemoryLogger(), defaultPlugins: PLUGINS });
  };
  const best = (r: { history: Record<string, number>[] }) => Math.max(...r.history.map((h) => h['val/accuracy']));
  const trained = await run({ output: { dir: 'runs', name: 'train-1' } });
  expect(registry.getAlias('churn', 'champion')).toBe(1);
  const v1 = registry.getVersion('churn', 1);
  expect(v1.tags['kiln.metric.val/accuracy']).toBe(String(best(trained)));
  const modelDir = path.join(store.locateRun(v1.runId!).dir, 'artifacts', 'model');
  expect(fs.existsSync(path.join(modelDir, 'checkpoints', 'best.safetensors'))).toBe(true);
  // The dataset info travels with the model: classes in label order, the columns' encodings.
  const dataset = JSON.parse(fs.readFileSync(path.join(modelDir, 'dataset.json'), 'utf8'));
  expect(dataset.classNames).toEqual(['neg', 'pos']);
  expect(dataset.extra.columns.map((c: { name: string; kind: string }) => [c.name, c.kind])).toEqual([['x1', 'numeric'], ['x2', 'numeric']]);
  // A barely trained model on the same data and seed: registered, promoted only if it is better.
  const weak = await run({ output: { dir: 'runs', name: 'train-2' }, optimizer: { type: 'adam', lr: 1e-9 }, trainer: { epochs: 1, batchSize: 32, monitor: 'val/accuracy', mode: 'max' } });
  expect(registry.listVersionNumbers('churn')).toEqual([1, 2]);
  expect(registry.getAlias('churn', 'champion')).toBe(best(weak) > best(trained) ? 2 : 1);
  expect(best(weak)).toBeLessThan(best(trained));
  // Another seed holds out other rows: not comparable, so the champion stays whatever the value.
  await run({ output: { dir: 'runs', name: 'train-3' }, seed: 8 });
  expect(registry.listVersionNumbers('churn')).toEqual([1, 2, 3]);
  expect(registry.getAlias('churn', 'champion')).toBe(1);
  expect(registry.getVersion('churn', 3).tags['kiln.validation']).not.toBe(v1.tags['kiln.validation']);
});

test('retrain reads JSON lines the same way: the jsonl block keeps its fields, its files are swapped', async () => {
  // The CSV rows as JSON lines: { input: [x1, x2], label }.
  for (const name of ['old', 'drift']) {
    const [, ...rows] = fs.readFileSync(path.join(dir, `${name}.csv`), 'utf8').trim().split('\n');
    const lines = rows.map((r) => r.split(',')).map(([x1, x2, y]) => JSON.stringify({ input: [Number(x1), Number(x2)], label: y }));
    fs.writeFileSync(path.join(dir, `${name}.jsonl`), `${lines.join('\n')}\n`);
  }
  const resolved = await userConfig({ name: 'churn-jsonl', data: { type: 'jsonl', path: 'old.jsonl' }, tracker: { type: 'mlflow', uri: 'mlruns-jsonl', systemTags: false } });
  const common = { resolved, cwd: dir, logger: new MemoryLogger(), defaultPlugins: PLUGINS };
  const first = await retrain({ ...common, data: 'old.jsonl', options: options({ threshold: 0.8 }) });
  expect(first.decision).toBe('first-champion');
  expect(first.challenger).toMatchObject({ holdoutRows: 40, trainRows: 160 });
  const drift = await retrain({ ...common, data: 'drift.jsonl', options: options({ threshold: 0.8 }) });
  expect(drift.champion!.rows).toBe(200);
  expect(drift.champion!.value).toBeLessThan(0.8);
  expect(drift.decision).toBe(drift.challenger!.holdoutValue > drift.championHoldoutValue! ? 'promoted' : 'rejected');
  const registry = new MlflowModelRegistry(path.join(dir, 'mlruns-jsonl'));
  expect(registry.getAlias('churn-jsonl', 'champion')).toBe(drift.decision === 'promoted' ? 2 : 1);
  const trainedWith = JSON.parse(fs.readFileSync(path.join(new MlflowFileStore(path.join(dir, 'mlruns-jsonl')).locateRun(drift.challenger!.runId).dir, 'artifacts', 'model', 'config.json'), 'utf8'));
  expect(trainedWith.data).toMatchObject({ type: 'jsonl', path: path.join(dir, 'drift.jsonl'), valSplit: 0.2, classes: ['neg', 'pos'] });
});

test('kiln train --resume continues the same tracked run: RUNNING again, history extended, one registration per finished training', async () => {
  const root = path.join(dir, 'mlruns-resume');
  const run = async (epochs: number, resume?: string) => {
    const resolved = await userConfig({
      name: 'resumed',
      tracker: { type: 'mlflow', uri: 'mlruns-resume', systemTags: false },
      trainer: { epochs, batchSize: 32, monitor: 'val/accuracy', mode: 'max' },
      output: { dir: 'runs-resume', name: 'r' },
    });
    return trainResolved(resolved, { cwd: dir, logger: new MemoryLogger(), defaultPlugins: PLUGINS, resume });
  };
  const first = await run(2);
  const store = new MlflowFileStore(root);
  expect(store.getRunInfo(first.trackerRunId!).status).toBe('FINISHED');
  const firstWeights = fs.readFileSync(first.checkpoints.best!);
  const second = await run(4, path.join(dir, 'runs-resume', 'r'));
  expect(second.trackerRunId).toBe(first.trackerRunId);
  const record = store.readRun(first.trackerRunId!);
  expect(record.info.status).toBe('FINISHED');
  // Epoch logs at global steps 5, 10 (first training) then 15, 20 (resumed): 160 rows / 32 = 5 steps an epoch.
  expect(record.metricHistory.epoch.map((p) => [p.step, p.value])).toEqual([[5, 1], [10, 2], [15, 3], [20, 4]]);
  const registry = new MlflowModelRegistry(root);
  expect(registry.listVersionNumbers('resumed')).toEqual([1, 2]);
  // The resumed model is registered beside the first one, whose files stay as they were.
  const [v1, v2] = [registry.getVersion('resumed', 1), registry.getVersion('resumed', 2)];
  expect([v1.source, v2.source]).toEqual([`runs:/${first.trackerRunId}/model`, `runs:/${first.trackerRunId}/model-2`]);
  const weights = (v: typeof v1) => fs.readFileSync(readModelFiles(store, v).checkpoint);
  expect(weights(v1).equals(firstWeights)).toBe(true);
  expect(weights(v2).equals(fs.readFileSync(second.checkpoints.best!))).toBe(true);
});
