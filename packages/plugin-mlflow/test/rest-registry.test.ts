import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryLogger, resolveConfig, trainResolved, UsageError } from '@kiln/core';
import { MlflowApiError, MlflowRestRegistry, retrain, RetrainOptionsSchema } from '../src';
import { FakeMlflowServer } from './support/fake-mlflow-server';

let dir: string;
let server: FakeMlflowServer;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-rest-registry-'));
  server = new FakeMlflowServer();
  await server.start();
});
afterEach(async () => {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('MlflowRestRegistry: versions, tags and the champion alias through the registry endpoints', async () => {
  const registry = new MlflowRestRegistry({ uri: server.uri, env: {} });
  const v1 = await registry.registerModel('churn', 's3://bucket/m1', null, { team: 'risk' });
  const v2 = await registry.registerModel('churn', 's3://bucket/m2');
  expect([v1.version, v2.version]).toEqual([1, 2]);
  expect(v1.tags).toEqual({ team: 'risk' });
  expect(await registry.getAlias('churn', 'champion')).toBeUndefined();
  expect(await registry.promoteIfBetter('churn', 1, 'val/accuracy', 0.8, 'max')).toMatchObject({ promoted: true, champion: 1 });
  expect(await registry.promoteIfBetter('churn', 2, 'val/accuracy', 0.75, 'max')).toEqual({ promoted: false, alias: 'champion', champion: 1, previous: 1, previousValue: 0.8 });
  expect(await registry.promoteIfBetter('churn', 2, 'val/accuracy', 0.85, 'max')).toMatchObject({ promoted: true, champion: 2, previous: 1 });
  expect(await registry.getAlias('churn', 'champion')).toBe(2);
  expect((await registry.getVersion('churn', 2)).aliases).toEqual(['champion']);
  expect((await registry.getVersion('churn', 1)).tags['kiln.metric.val/accuracy']).toBe('0.8');
  // Versions go over the wire as strings, as MLflow's API has them.
  const setAlias = server.requests.filter((r) => r.path.endsWith('/registered-models/alias') && r.method === 'POST').map((r) => r.body);
  expect(setAlias).toEqual([{ name: 'churn', alias: 'champion', version: '1' }, { name: 'churn', alias: 'champion', version: '2' }]);
  await expect(registry.setAlias('churn', 'v3', 1)).rejects.toBeInstanceOf(UsageError);
  await expect(registry.getVersion('churn', 9)).rejects.toMatchObject({ errorCode: 'RESOURCE_DOES_NOT_EXIST' });
  await expect(registry.registerModel('churn', 'x', 'ffffffffffffffffffffffffffffffff')).rejects.toBeInstanceOf(MlflowApiError);
});

function writeCsv(file: string, rows: number, offset: number, label: (x1: number, x2: number) => number): void {
  const lines = ['x1,x2,y'];
  for (let i = offset; i < offset + rows; i++) {
    const x1 = Math.sin(i * 12.9898) * 0.9;
    const x2 = Math.cos(i * 78.233) * 0.9;
    lines.push(`${x1.toFixed(4)},${x2.toFixed(4)},${label(x1, x2) > 0 ? 'pos' : 'neg'}`);
  }
  fs.writeFileSync(path.join(dir, file), `${lines.join('\n')}\n`);
}

test('kiln retrain against a tracking server: the champion comes down through the artifact proxy, the new version goes up', async () => {
  writeCsv('old.csv', 160, 0, (x1) => x1);
  writeCsv('drift.csv', 160, 1000, (_x1, x2) => x2);
  const resolved = await resolveConfig({
    cwd: dir,
    search: false,
    inline: {
      name: 'churn',
      seed: 3,
      data: { type: 'csv', path: 'old.csv', label: 'y' },
      model: { type: 'mlp', hiddenUnits: [16] },
      loss: { type: 'cross-entropy' },
      optimizer: { type: 'adam', lr: 0.05 },
      metrics: [{ type: 'accuracy' }],
      callbacks: [{ type: 'checkpoint' }],
      trainer: { epochs: 10, batchSize: 32, monitor: 'val/accuracy', mode: 'max' },
      tracker: { type: 'mlflow', uri: server.uri, systemTags: false, spoolDir: 'spool' },
      output: { dir: 'runs' },
    },
  });
  const common = { resolved, cwd: dir, logger: new MemoryLogger(), defaultPlugins: ['@kiln/plugin-data', '@kiln/plugin-train-basics', '@kiln/plugin-mlflow'] };
  const first = await retrain({ ...common, data: 'old.csv', options: RetrainOptionsSchema.parse({ threshold: 0.8 }) });
  expect(first.decision).toBe('first-champion');
  const model = server.models.get('churn')!;
  expect(model.aliases.get('champion')).toBe(1);
  const v1 = model.versions.get(1)!;
  const run1 = server.runs.get(v1.runId!)!;
  expect(run1.tags.get('mlflow.parentRunId')).toBe(first.decisionRunId);
  expect(server.artifacts.has(`${run1.experimentId}/${run1.runId}/artifacts/model/checkpoints/best.safetensors`)).toBe(true);

  const drift = await retrain({ ...common, data: 'drift.csv', options: RetrainOptionsSchema.parse({ threshold: 0.8 }) });
  const downloads = server.requests.filter((r) => r.method === 'GET' && r.path.includes('/mlflow-artifacts/artifacts/')).map((r) => r.path.split('/artifacts/model/')[1]);
  expect(downloads).toEqual(['checkpoints/best.safetensors', 'config.json', 'run.json', 'dataset.json']);
  expect(drift.champion).toMatchObject({ version: 1, rows: 160 });
  expect(drift.champion!.value).toBeLessThan(0.8);
  expect(drift.challenger).toMatchObject({ version: 2, fineTuned: true, holdoutRows: 32, trainRows: 128 });
  expect(drift.decision).toBe(drift.challenger!.holdoutValue > drift.championHoldoutValue! ? 'promoted' : 'rejected');
  expect(model.aliases.get('champion')).toBe(drift.decision === 'promoted' ? 2 : 1);
  const decisionRun = server.runs.get(drift.decisionRunId)!;
  expect(decisionRun.status).toBe('FINISHED');
  expect(decisionRun.tags.get('kiln.retrain.decision')).toBe(drift.decision);
  expect(decisionRun.params.get('retrain.champion.version')).toBe('1');
  expect(decisionRun.metrics.find((m) => m.key === 'champion.new/val/accuracy')!.value).toBe(drift.champion!.value);
  expect(model.versions.get(2)!.tags.get('kiln.retrain.base_version')).toBe('1');
});

test('kiln train with a REST tracker uploads the model and registers it on the server; champion moves on a win', async () => {
  const lines = ['x1,x2,y'];
  for (let i = 0; i < 120; i++) {
    const x1 = Math.sin(i * 12.9898) * 0.9;
    const x2 = Math.cos(i * 78.233) * 0.9;
    lines.push(`${x1.toFixed(4)},${x2.toFixed(4)},${x1 > 0 ? 'pos' : 'neg'}`);
  }
  fs.writeFileSync(path.join(dir, 'old.csv'), `${lines.join('\n')}\n`);
  const train = async (lr: number, name: string) => {
    const resolved = await resolveConfig({
      cwd: dir,
      search: false,
      inline: {
        name: 'churn',
        seed: 3,
        data: { type: 'csv', path: 'old.csv', label: 'y' },
        model: { type: 'mlp', hiddenUnits: [8] },
        loss: { type: 'cross-entropy' },
        optimizer: { type: 'adam', lr },
        metrics: [{ type: 'accuracy' }],
        callbacks: [{ type: 'checkpoint' }],
        trainer: { epochs: 6, batchSize: 32, monitor: 'val/accuracy', mode: 'max' },
        tracker: { type: 'mlflow', uri: server.uri, systemTags: false, spoolDir: 'spool' },
        output: { dir: 'runs', name },
      },
    });
    return trainResolved(resolved, { cwd: dir, logger: new MemoryLogger(), defaultPlugins: ['@kiln/plugin-data', '@kiln/plugin-train-basics', '@kiln/plugin-mlflow'] });
  };
  const best = (r: { history: Record<string, number>[] }) => Math.max(...r.history.map((h) => h['val/accuracy']));
  const good = await train(0.05, 'good');
  const model = server.models.get('churn')!;
  expect([...model.versions.keys()]).toEqual([1]);
  const v1 = model.versions.get(1)!;
  expect(v1.source).toBe(`runs:/${v1.runId}/model`);
  expect(v1.tags.get('kiln.metric.val/accuracy')).toBe(String(best(good)));
  expect(model.aliases.get('champion')).toBe(1);
  const run = server.runs.get(v1.runId!)!;
  const uploaded = server.artifacts.get(`${run.experimentId}/${run.runId}/artifacts/model/checkpoints/best.safetensors`)!;
  expect(uploaded.equals(fs.readFileSync(path.join(dir, 'runs', 'good', 'checkpoints', 'best.safetensors')))).toBe(true);
  expect(JSON.parse(server.artifacts.get(`${run.experimentId}/${run.runId}/artifacts/model/config.json`)!.toString()).name).toBe('churn');

  const weak = await train(1e-9, 'weak');
  expect([...model.versions.keys()]).toEqual([1, 2]);
  expect(model.aliases.get('champion')).toBe(best(weak) > best(good) ? 2 : 1);
});
