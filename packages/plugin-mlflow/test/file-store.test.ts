import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { DataError, KilnError, UsageError } from '@kiln/core';
import { MlflowFileTracker, MlflowFileStore, systemTags } from '../src';
import { readExperiments, readRunFolder, readYamlFile } from './support/independent-mlruns-reader';

let dir: string;
let root: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-mlruns-'));
  root = path.join(dir, 'mlruns');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const EXPERIMENT_FIELDS = ['artifact_location', 'creation_time', 'experiment_id', 'last_update_time', 'lifecycle_stage', 'name'];
const RUN_FIELDS = [
  'artifact_uri', 'deleted_time', 'end_time', 'entry_point_name', 'experiment_id', 'lifecycle_stage', 'run_id', 'run_name',
  'run_uuid', 'source_name', 'source_type', 'source_version', 'start_time', 'status', 'tags', 'user_id',
];

async function trainedRun() {
  const tracker = new MlflowFileTracker({ root, tags: { 'mlflow.user': 'ada', 'mlflow.source.type': 'LOCAL' } });
  const started = await tracker.startRun({ experiment: 'mnist', runName: 'lr-0.01' });
  await tracker.logParams({ 'optimizer.lr': 0.01, 'model.widths': '[32,64]', shuffle: true });
  // Loss 1/(epoch+1) at epochs 0..3, timestamps 1000 + epoch.
  for (let epoch = 0; epoch < 4; epoch++) await tracker.logMetrics({ 'train/loss': 1 / (epoch + 1), 'val/accuracy': 0.5 + epoch / 10 }, epoch, 1000 + epoch);
  await tracker.setTags({ note: 'first try' });
  const weights = path.join(dir, 'weights.bin');
  fs.writeFileSync(weights, Buffer.from([7, 8, 9]));
  await tracker.logArtifact(weights, 'model');
  const folder = path.join(dir, 'plots');
  fs.mkdirSync(path.join(folder, 'roc'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'roc', 'a.csv'), 'x,y\n');
  await tracker.logArtifact(folder, 'plots');
  await tracker.endRun('FINISHED');
  return started;
}

test('writes the mlruns layout field by field: Default experiment 0, experiment and run meta.yaml, params, metric history, tags, artifacts', async () => {
  const { runId, location } = await trainedRun();
  const experiments = readExperiments(root);
  expect(Object.keys(experiments['0']).sort()).toEqual(EXPERIMENT_FIELDS);
  expect(experiments['0']).toMatchObject({ experiment_id: '0', name: 'Default', lifecycle_stage: 'active', artifact_location: pathToFileURL(path.join(root, '0')).href });
  expect(fs.existsSync(path.join(root, '.trash'))).toBe(true);
  const [mnistId, mnist] = Object.entries(experiments).find(([, e]) => e.name === 'mnist')!;
  expect(Object.keys(mnist).sort()).toEqual(EXPERIMENT_FIELDS);
  expect(mnist.experiment_id).toBe(mnistId);
  expect(typeof mnist.experiment_id).toBe('string');
  expect(mnistId).toMatch(/^\d+$/);

  expect(location).toBe(path.join(root, mnistId, runId));
  const run = readRunFolder(location);
  expect(Object.keys(run.meta).sort()).toEqual(RUN_FIELDS);
  expect(run.meta).toMatchObject({
    run_id: runId, run_uuid: runId, run_name: 'lr-0.01', experiment_id: mnistId, status: 3, lifecycle_stage: 'active',
    source_type: 4, source_name: '', entry_point_name: '', source_version: '', tags: [], user_id: 'ada', deleted_time: null,
    artifact_uri: pathToFileURL(path.join(location, 'artifacts')).href,
  });
  expect(run.meta.end_time as number).toBeGreaterThanOrEqual(run.meta.start_time as number);
  expect(run.params).toEqual({ 'optimizer.lr': '0.01', 'model.widths': '[32,64]', shuffle: 'true' });
  expect(run.metrics['train/loss']).toEqual([
    { timestamp: 1000, value: 1, step: 0 },
    { timestamp: 1001, value: 0.5, step: 1 },
    { timestamp: 1002, value: 1 / 3, step: 2 },
    { timestamp: 1003, value: 0.25, step: 3 },
  ]);
  expect(run.metrics['val/accuracy'].map((p) => p.value)).toEqual([0.5, 0.6, 0.7, 0.5 + 3 / 10]);
  expect(run.tags).toEqual({ 'mlflow.runName': 'lr-0.01', 'mlflow.user': 'ada', 'mlflow.source.type': 'LOCAL', note: 'first try' });
  expect(run.artifacts).toEqual(['model/weights.bin', 'plots/roc/a.csv']);
  expect([...fs.readFileSync(path.join(location, 'artifacts', 'model', 'weights.bin'))]).toEqual([7, 8, 9]);
  // No temp file left anywhere in the run.
  expect(fs.readdirSync(location).filter((f) => f.startsWith('.kiln-tmp'))).toEqual([]);
});

const python = spawnSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' }).status === 0;
(python ? test : test.skip)('MLflow-style Python reader (PyYAML safe_load, int/float parsing) reads every field back', async () => {
  const { runId } = await trainedRun();
  // YAML 1.1 (PyYAML) reads unquoted yes/on/1_000 as bool/int: names like these must stay strings.
  const odd = new MlflowFileTracker({ root });
  const oddRun = await odd.startRun({ experiment: 'on', runName: 'yes' });
  await odd.endRun('KILLED');
  const out = execFileSync('python3', [path.join(__dirname, 'support', 'mlflow_reader.py'), root]).toString();
  const parsed = JSON.parse(out) as { experiments: Record<string, { name: string }>; runs: Record<string, { status: string; run_name: string; params: Record<string, string>; tags: Record<string, string>; metrics: Record<string, [number, number, number][]> }> };
  expect(parsed.experiments['0'].name).toBe('Default');
  const run = parsed.runs[runId];
  expect(run.status).toBe('FINISHED');
  expect(run.run_name).toBe('lr-0.01');
  expect(run.params['optimizer.lr']).toBe('0.01');
  expect(run.tags['mlflow.runName']).toBe('lr-0.01');
  expect(run.metrics['train/loss']).toEqual([[1000, 1, 0], [1001, 0.5, 1], [1002, 1 / 3, 2], [1003, 0.25, 3]]);
  expect(parsed.runs[oddRun.runId].run_name).toBe('yes');
  expect(parsed.runs[oddRun.runId].status).toBe('KILLED');
  expect(Object.values(parsed.experiments).map((e) => e.name).sort()).toEqual(['Default', 'mnist', 'on']);
});

test('nested runs carry mlflow.parentRunId and hand the active slot back to the parent', async () => {
  const tracker = new MlflowFileTracker({ root, experiment: 'study' });
  const parent = await tracker.startRun({ runName: 'study' });
  const child = await tracker.startRun({ runName: 'trial-0', parentRunId: parent.runId });
  await tracker.logMetrics({ score: 2 }, 0, 5);
  await tracker.endRun('FINISHED');
  expect(tracker.activeRunId).toBe(parent.runId);
  await tracker.endRun('KILLED');
  expect(readRunFolder(child.location).tags['mlflow.parentRunId']).toBe(parent.runId);
  expect(readRunFolder(parent.location).meta.status).toBe(5);
  expect(readRunFolder(child.location).metrics.score).toEqual([{ timestamp: 5, value: 2, step: 0 }]);
});

test('system tags: git commit of the work tree (read from .git independently), Kiln version, host', () => {
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' } });
  git('init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(repo, 'f'), 'x');
  git('add', 'f');
  git('commit', '-q', '-m', 'x');
  const ref = fs.readFileSync(path.join(repo, '.git', 'HEAD'), 'utf8').trim().replace('ref: ', '');
  const commit = fs.readFileSync(path.join(repo, '.git', ref), 'utf8').trim();
  const tags = systemTags({ cwd: repo, backend: 'wasm' });
  expect(tags['mlflow.source.git.commit']).toBe(commit);
  expect(tags['kiln.backend']).toBe('wasm');
  expect(tags['kiln.host']).toBe(os.hostname());
  expect(tags['kiln.version']).toBe(JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'core', 'package.json'), 'utf8')).version);
  expect(tags['mlflow.source.type']).toBe('LOCAL');
  expect(systemTags({ cwd: dir })['mlflow.source.git.commit']).toBeUndefined();
});

test('bad input: NaN policy, long param, changed param, bad names, unknown run id', async () => {
  const tracker = new MlflowFileTracker({ root });
  const { location } = await tracker.startRun({});
  // MLflow's file store accepts NaN (Python writes float('nan') as "nan"); so does the default policy.
  await tracker.logMetrics({ loss: NaN, up: Infinity }, 0, 1);
  expect(fs.readFileSync(path.join(location, 'metrics', 'loss'), 'utf8')).toBe('1 nan 0\n');
  expect(fs.readFileSync(path.join(location, 'metrics', 'up'), 'utf8')).toBe('1 inf 0\n');
  const strict = new MlflowFileTracker({ root, nan: 'error' });
  await strict.startRun({});
  await expect(strict.logMetrics({ loss: NaN }, 0)).rejects.toBeInstanceOf(DataError);

  await expect(tracker.logParams({ big: 'y'.repeat(6001) })).rejects.toThrow(/6001 characters, over MLflow's limit of 6000/);
  await tracker.logParams({ edge: 'y'.repeat(6000) });
  expect(fs.readFileSync(path.join(location, 'params', 'edge'), 'utf8')).toHaveLength(6000);
  await tracker.logParams({ depth: 3 });
  await tracker.logParams({ depth: 3 });
  const changed = await tracker.logParams({ depth: 5 }).then(() => undefined, (e: unknown) => e);
  expect(changed).toBeInstanceOf(DataError);
  expect((changed as KilnError).hint).toMatch(/immutable/);
  expect(fs.readFileSync(path.join(location, 'params', 'depth'), 'utf8')).toBe('3');
  for (const bad of ['a*b', '../x', '/abs', 'a//b', 'a/./b', '']) {
    await expect(tracker.logMetrics({ [bad]: 1 }, 0)).rejects.toBeInstanceOf(DataError);
  }
  await tracker.logMetrics({ 'ok name-1.x/y_z': 1 }, 0, 2);
  expect(fs.readFileSync(path.join(location, 'metrics', 'ok name-1.x', 'y_z'), 'utf8')).toBe('2 1 0\n');
  await expect(tracker.logMetrics({ a: 1 }, 1.5)).rejects.toThrow(/not an integer/);

  await expect(tracker.resumeRun('0123456789abcdef0123456789abcdef')).rejects.toBeInstanceOf(UsageError);
  await expect(tracker.resumeRun('bad id!')).rejects.toThrow(/invalid MLflow run id/);
  await expect(new MlflowFileTracker({ root }).startRun({ parentRunId: 'ffffffffffffffffffffffffffffffff' })).rejects.toThrow(/does not exist/);
  await expect(new MlflowFileTracker({ root }).logMetrics({ a: 1 }, 0)).rejects.toThrow(/no active MLflow run/);
});

test('resumeRun reopens a finished run and keeps appending its history', async () => {
  const { runId, location } = await trainedRun();
  const tracker = new MlflowFileTracker({ root });
  await tracker.resumeRun(runId);
  expect(readRunFolder(location).meta.status).toBe(1);
  await tracker.logMetrics({ 'train/loss': 0.2 }, 4, 1004);
  await tracker.endRun('FINISHED');
  const store = new MlflowFileStore(root);
  expect(store.readRun(runId).metrics['train/loss']).toBe(0.2);
  expect(store.readRun(runId).metricHistory['train/loss']).toHaveLength(5);
  expect(readYamlFile(path.join(location, 'meta.yaml')).status).toBe(3);
});
