import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { MemoryLogger } from '@kiln/core';
import { MlflowFileTracker, MlflowRestTracker, runsCommand } from '../src';
import { FakeMlflowServer } from './support/fake-mlflow-server';
import { readRunFolder } from './support/independent-mlruns-reader';

let dir: string;
let server: FakeMlflowServer;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-nested-'));
  server = new FakeMlflowServer();
  await server.start();
});
afterEach(async () => {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('file store: a child run carries the mlflow.parentRunId tag; ending it makes the parent active again; kiln runs nests it', async () => {
  const tracker = new MlflowFileTracker({ root: path.join(dir, 'mlruns') });
  const study = await tracker.startRun({ experiment: 'tune', runName: 'study' });
  const trials: string[] = [];
  for (const name of ['trial-0', 'trial-1']) {
    const trial = await tracker.startRun({ experiment: 'tune', runName: name, parentRunId: study.runId });
    trials.push(trial.runId);
    await tracker.logMetrics({ 'val/loss': name === 'trial-0' ? 0.5 : 0.3 }, 0, 1);
    await tracker.endRun('FINISHED');
    expect(tracker.activeRunId).toBe(study.runId);
  }
  const grandchild = await tracker.startRun({ experiment: 'tune', runName: 'fold-0', parentRunId: trials[1] });
  await tracker.endRun('FINISHED');
  await tracker.logMetrics({ best: 0.3, 'val/loss': 0.3 }, 0, 2);
  await tracker.endRun('FINISHED');
  const other = await tracker.startRun({ experiment: 'tune', runName: 'solo' });
  await tracker.logMetrics({ 'val/loss': 0.9 }, 0, 3);
  await tracker.endRun('FINISHED');

  // MLflow stores the parent as a plain tag file whose content is the parent's run id.
  const childDir = path.join(path.dirname(study.location), trials[0]);
  expect(fs.readFileSync(path.join(childDir, 'tags', 'mlflow.parentRunId'), 'utf8')).toBe(study.runId);
  expect(readRunFolder(study.location).tags['mlflow.parentRunId']).toBeUndefined();
  expect(readRunFolder(study.location).metrics.best[0].value).toBe(0.3);
  expect(readRunFolder(grandchild.location).tags['mlflow.parentRunId']).toBe(trials[1]);
  await expect(tracker.startRun({ parentRunId: 'ffffffffffffffffffffffffffffffff' })).rejects.toThrow(/does not exist/);

  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (d: Buffer) => (text += d));
  await runsCommand.run([], { store: 'mlruns', sort: 'val/loss' }, { stdout, cwd: dir, logger: new MemoryLogger(), globals: {} } as never);
  const [header, ...lines] = text.trimEnd().split('\n');
  const rows = lines.map((l) => [l.slice(0, 32), l.slice(header.indexOf('name'), header.indexOf('experiment')).trimEnd()]);
  // Sorted by val/loss among siblings: study 0.3 before solo 0.9, trial-1 0.3 before trial-0 0.5.
  expect(rows).toEqual([
    [study.runId, 'study'],
    [trials[1], '└ trial-1'],
    [grandchild.runId, '  └ fold-0'],
    [trials[0], '└ trial-0'],
    [other.runId, 'solo'],
  ]);
});

test('file store: resumeRun reopens a finished run, keeps its history and end time as MLflow does, and continues it', async () => {
  const root = path.join(dir, 'mlruns');
  const first = new MlflowFileTracker({ root });
  const { runId, location } = await first.startRun({ experiment: 'e' });
  for (let step = 0; step < 3; step++) await first.logMetrics({ loss: 1 / (step + 1) }, step, 100 + step);
  await first.endRun('KILLED');
  const killed = readRunFolder(location).meta;
  expect(killed.status).toBe(5);
  // A second KILLED (a signal arriving after the run ended) is harmless.
  await expect(first.endRun('KILLED')).resolves.toBeUndefined();
  await expect(first.endRun('FINISHED')).rejects.toThrow(/no active MLflow run/);

  const second = new MlflowFileTracker({ root });
  await second.resumeRun(runId);
  const reopened = readRunFolder(location).meta;
  expect(reopened.status).toBe(1);
  expect(reopened.end_time).toBe(killed.end_time);
  for (let step = 3; step < 5; step++) await second.logMetrics({ loss: 1 / (step + 1) }, step, 100 + step);
  await second.endRun('FINISHED');
  const done = readRunFolder(location);
  expect(done.meta.status).toBe(3);
  expect(done.metrics.loss.map((p) => [p.step, p.value])).toEqual([0, 1, 2, 3, 4].map((s) => [s, 1 / (s + 1)]));
  await expect(second.resumeRun('0123456789abcdef0123456789abcdef')).rejects.toThrow(/does not exist/);
});

const fast = { attempts: 3, initialDelayMs: 10, maxDelayMs: 40 };

test('REST: nested runs send mlflow.parentRunId at creation and keep each run\'s queue apart; resumeRun reopens', async () => {
  const t = new MlflowRestTracker({ uri: server.uri, retry: fast, env: {}, batchSize: 1000, flushIntervalMs: 60_000, spoolDir: dir });
  const parent = await t.startRun({ experiment: 'tune', runName: 'study' });
  await t.logMetrics({ a: 1 }, 0, 1);
  const child = await t.startRun({ experiment: 'tune', runName: 'trial-0', parentRunId: parent.runId });
  await t.logMetrics({ b: 2 }, 0, 2);
  await t.endRun('FINISHED');
  await t.logMetrics({ a: 3 }, 1, 3);
  await t.endRun('FINISHED');
  const create = server.requests.filter((r) => r.path.endsWith('/runs/create')).map((r) => r.body as { tags: { key: string; value: string }[] });
  expect(create[1].tags).toContainEqual({ key: 'mlflow.parentRunId', value: parent.runId });
  expect(create[0].tags.some((tag) => tag.key === 'mlflow.parentRunId')).toBe(false);
  expect(server.runs.get(parent.runId)!.metrics.map((m) => [m.key, m.value])).toEqual([['a', 1], ['a', 3]]);
  expect(server.runs.get(child.runId)!.metrics.map((m) => [m.key, m.value])).toEqual([['b', 2]]);

  const resumed = new MlflowRestTracker({ uri: server.uri, retry: fast, env: {}, spoolDir: dir });
  await resumed.resumeRun(parent.runId);
  expect(server.runs.get(parent.runId)!.status).toBe('RUNNING');
  await resumed.logMetrics({ a: 5 }, 2, 5);
  await resumed.endRun('FINISHED');
  expect(server.runs.get(parent.runId)!.metrics.map((m) => m.value)).toEqual([1, 3, 5]);
  expect(server.runs.get(parent.runId)!.status).toBe('FINISHED');
});

test('REST: flush is one attempt (cheap every epoch while the server is down); endRun(KILLED) does not wait out the retries', async () => {
  const slow = { attempts: 5, initialDelayMs: 5000, maxDelayMs: 8000 };
  const t = new MlflowRestTracker({ uri: server.uri, retry: slow, env: {}, batchSize: 1000, flushIntervalMs: 60_000, spoolDir: dir, logger: new MemoryLogger() });
  const { runId } = await t.startRun({ experiment: 'outage' });
  await server.stop();
  await t.logMetrics({ loss: 1 }, 0, 1);
  let started = Date.now();
  await t.flush();
  expect(Date.now() - started).toBeLessThan(2500);
  expect(t.unsentCount).toBe(1);
  await server.start(server.port);
  await t.flush();
  expect(t.unsentCount).toBe(0);
  expect(server.runs.get(runId)!.metrics).toHaveLength(1);

  await server.stop();
  await t.logMetrics({ loss: 0.5 }, 1, 2);
  started = Date.now();
  await Promise.all([t.endRun('KILLED'), t.endRun('KILLED')]);
  expect(Date.now() - started).toBeLessThan(2500);
  const spool = JSON.parse(fs.readFileSync(path.join(dir, `${runId}.json`), 'utf8')) as { operations: { kind: string; status?: string }[] };
  expect(spool.operations.map((op) => op.kind)).toEqual(['batch', 'update']);
  expect(spool.operations[1].status).toBe('KILLED');
  await server.start(server.port);
  await MlflowRestTracker.replaySpool(path.join(dir, `${runId}.json`), { retry: fast, env: {} });
  expect(server.runs.get(runId)!.status).toBe('KILLED');
  expect(server.runs.get(runId)!.metrics.map((m) => m.value)).toEqual([1, 0.5]);
});
