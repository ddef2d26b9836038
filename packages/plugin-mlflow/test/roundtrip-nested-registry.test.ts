import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { MlflowFileStore, MlflowFileTracker, MlflowModelRegistry, logModelArtifacts, readModelFiles } from '../src';
import { readExperiments, readRegistry, readRunFolder } from './support/independent-mlruns-reader';

let dir: string;
let root: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-roundtrip-'));
  root = path.join(dir, 'mlruns');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A study run with two trials (one killed, then resumed), and two registered versions of one model. */
async function buildStore() {
  const tracker = new MlflowFileTracker({ root, tags: { 'mlflow.user': 'ada' } });
  const study = await tracker.startRun({ experiment: 'churn', runName: 'study' });
  await tracker.logParams({ 'tune.tuner': 'random' });
  const trial0 = await tracker.startRun({ experiment: 'churn', runName: 'trial-0', parentRunId: study.runId });
  await tracker.logParams({ lr: 0.1 });
  for (let step = 0; step < 2; step++) await tracker.logMetrics({ 'val/accuracy': 0.5 + step / 10 }, step, 1000 + step);
  await tracker.endRun('KILLED');
  await tracker.resumeRun(trial0.runId);
  await tracker.logMetrics({ 'val/accuracy': 0.8 }, 2, 1002);
  await tracker.endRun('FINISHED');
  expect(tracker.activeRunId).toBe(study.runId);
  const trial1 = await tracker.startRun({ experiment: 'churn', runName: 'trial-1', parentRunId: study.runId });
  await tracker.logParams({ lr: 0.01 });
  await tracker.logMetrics({ 'val/accuracy': 0.9 }, 0, 2000);
  await tracker.endRun('FINISHED');
  await tracker.endRun('FINISHED');

  const checkpoint = path.join(dir, 'weights.safetensors');
  fs.writeFileSync(checkpoint, Buffer.from([1, 2, 3]));
  const registry = new MlflowModelRegistry(root);
  for (const trial of [trial0, trial1]) logModelArtifacts(tracker.store, trial.runId, checkpoint, { name: 'churn', seed: 1 }, dir);
  const v1 = registry.registerModel('churn', `runs:/${trial0.runId}/model`, trial0.runId, { 'kiln.validation': 'abc' });
  const v2 = registry.registerModel('churn', `runs:/${trial1.runId}/model`, trial1.runId, { 'kiln.validation': 'abc' });
  registry.promoteIfBetter('churn', v1.version, 'val/accuracy', 0.8, 'max');
  registry.promoteIfBetter('churn', v2.version, 'val/accuracy', 0.9, 'max');
  return { tracker, study, trial0, trial1 };
}

test('independent TS reader: nested runs (parent tags, resumed history and status) and the registry (versions, tags, aliases) read back', async () => {
  const { study, trial0, trial1 } = await buildStore();
  const experiments = readExperiments(root);
  const churnId = Object.keys(experiments).find((id) => experiments[id].name === 'churn')!;
  const run = (id: string) => readRunFolder(path.join(root, churnId, id));
  expect(run(trial0.runId).tags['mlflow.parentRunId']).toBe(study.runId);
  expect(run(trial1.runId).tags['mlflow.parentRunId']).toBe(study.runId);
  expect(run(study.runId).tags['mlflow.parentRunId']).toBeUndefined();
  expect(run(trial0.runId).meta.status).toBe(3);
  expect(run(trial0.runId).metrics['val/accuracy'].map((p) => [p.timestamp, p.value, p.step])).toEqual([
    [1000, 0.5, 0],
    [1001, 0.6, 1],
    [1002, 0.8, 2],
  ]);
  expect(run(study.runId).meta.status).toBe(3);
  expect(run(trial0.runId).artifacts).toEqual(['model/checkpoints/best.safetensors', 'model/config.json', 'model/run.json']);

  const registry = readRegistry(root);
  expect(Object.keys(registry)).toEqual(['churn']);
  const churn = registry.churn;
  expect(churn.meta).toMatchObject({ name: 'churn', description: null });
  expect(churn.aliases).toEqual({ champion: 2 });
  expect(churn.versions[1].meta).toMatchObject({ name: 'churn', version: 1, run_id: trial0.runId, source: `runs:/${trial0.runId}/model`, status: 'READY', current_stage: 'None' });
  expect(churn.versions[2].meta).toMatchObject({ version: 2, run_id: trial1.runId });
  expect(churn.versions[2].aliases).toEqual(['champion']);
  expect(churn.versions[1].aliases).toEqual([]);
  expect(churn.versions[1].tags).toEqual({ 'kiln.validation': 'abc', 'kiln.metric.val/accuracy': '0.8' });
  expect(churn.versions[2].tags['kiln.metric.val/accuracy']).toBe('0.9');
  // The registered source resolves to the files Kiln logged, as kiln retrain reads them.
  const files = readModelFiles(new MlflowFileStore(root), new MlflowModelRegistry(root).getVersion('churn', 2));
  expect(fs.readFileSync(files.checkpoint)).toEqual(Buffer.from([1, 2, 3]));
  expect(files.config).toEqual({ name: 'churn', seed: 1 });
});

const python = spawnSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' }).status === 0;
(python ? test : test.skip)('MLflow-style Python reader reads the nested runs and the registry back', async () => {
  const { study, trial0, trial1 } = await buildStore();
  const out = JSON.parse(execFileSync('python3', [path.join(__dirname, 'support', 'mlflow_reader.py'), root]).toString()) as {
    runs: Record<string, { status: string; tags: Record<string, string>; metrics: Record<string, [number, number, number][]> }>;
    registry: Record<string, { aliases: Record<string, number>; versions: Record<string, { run_id: string; source: string; status: string; current_stage: string; aliases: string[]; tags: Record<string, string> }> }>;
  };
  expect(out.runs[trial0.runId].tags['mlflow.parentRunId']).toBe(study.runId);
  expect(out.runs[trial1.runId].tags['mlflow.parentRunId']).toBe(study.runId);
  expect(out.runs[trial0.runId].status).toBe('FINISHED');
  expect(out.runs[trial0.runId].metrics['val/accuracy']).toEqual([
    [1000, 0.5, 0],
    [1001, 0.6, 1],
    [1002, 0.8, 2],
  ]);
  expect(out.registry.churn.aliases).toEqual({ champion: 2 });
  expect(out.registry.churn.versions['1']).toMatchObject({ run_id: trial0.runId, source: `runs:/${trial0.runId}/model`, status: 'READY', current_stage: 'None', aliases: [] });
  expect(out.registry.churn.versions['2']).toMatchObject({ run_id: trial1.runId, aliases: ['champion'], tags: { 'kiln.metric.val/accuracy': '0.9', 'kiln.validation': 'abc' } });
});
