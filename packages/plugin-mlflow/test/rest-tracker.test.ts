import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { KilnError, MemoryLogger } from '@kiln/core';
import { MlflowApiError, MlflowRestTracker } from '../src';
import { FakeMlflowServer } from './support/fake-mlflow-server';

const fast = { attempts: 3, initialDelayMs: 10, maxDelayMs: 40 };
let server: FakeMlflowServer;
let spoolDir: string;

beforeEach(async () => {
  server = new FakeMlflowServer();
  await server.start();
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-mlflow-spool-'));
});
afterEach(async () => {
  await server.stop();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

function tracker(extra: Partial<ConstructorParameters<typeof MlflowRestTracker>[0]> = {}) {
  return new MlflowRestTracker({ uri: server.uri, retry: fast, spoolDir, env: {}, ...extra });
}

function batches() {
  return server.requests.filter((r) => r.path.endsWith('/runs/log-batch')).map((r) => r.body as { metrics: unknown[]; params: unknown[]; tags: unknown[] });
}

test('logs params, full metric history, tags and artifacts in log-batch calls within MLflow limits, with a bearer token', async () => {
  server.requiredAuth = 'Bearer s3cret';
  const t = tracker({ env: { MLFLOW_TRACKING_TOKEN: 's3cret' }, batchSize: 1000 });
  const { runId } = await t.startRun({ experiment: 'study', runName: 'trial-1', tags: { team: 'vision' } });
  const params: Record<string, number> = {};
  for (let i = 0; i < 150; i++) params[`p${i}`] = i;
  await t.logParams(params);
  // 1200 points for one key: step s has value s/2.
  for (let s = 0; s < 1200; s++) await t.logMetrics({ 'val/loss': s / 2 }, s, 1_000 + s);
  await t.setTags({ stage: 'done' });
  const file = path.join(spoolDir, 'weights.bin');
  fs.writeFileSync(file, Buffer.from([1, 2, 3, 4]));
  await t.logArtifact(file, 'model');
  await t.endRun('FINISHED');

  const run = server.runs.get(runId)!;
  expect(server.experiments.get(run.experimentId)!.name).toBe('study');
  expect(run.runName).toBe('trial-1');
  expect(run.params.size).toBe(150);
  expect(run.params.get('p149')).toBe('149');
  expect(run.metrics).toHaveLength(1200);
  expect(run.metrics.map((m) => m.step)).toEqual(Array.from({ length: 1200 }, (_, i) => i));
  expect(run.metrics[1199]).toEqual({ key: 'val/loss', value: 599.5, timestamp: 2199, step: 1199 });
  expect(run.tags.get('team')).toBe('vision');
  expect(run.tags.get('stage')).toBe('done');
  expect(run.status).toBe('FINISHED');
  expect([...server.artifacts.get(`${run.experimentId}/${runId}/artifacts/model/weights.bin`)!]).toEqual([1, 2, 3, 4]);
  for (const b of batches()) {
    expect(b.metrics.length).toBeLessThanOrEqual(1000);
    expect(b.params.length).toBeLessThanOrEqual(100);
    expect(b.tags.length).toBeLessThanOrEqual(100);
    expect(b.metrics.length + b.params.length + b.tags.length).toBeLessThanOrEqual(1000);
  }
  // 150 params need two calls (100 + 50): more than one batch went out.
  expect(batches().length).toBeGreaterThanOrEqual(2);
  expect(server.requests.every((r) => r.auth === 'Bearer s3cret')).toBe(true);
});

test('a value waits in the buffer at most flushIntervalMs, even below batchSize', async () => {
  const t = tracker({ batchSize: 1000, flushIntervalMs: 0 });
  const { runId } = await t.startRun({});
  await t.logMetrics({ acc: 0.25 }, 0, 1);
  expect(server.runs.get(runId)!.metrics).toEqual([{ key: 'acc', value: 0.25, timestamp: 1, step: 0 }]);
  const slow = tracker({ batchSize: 1000, flushIntervalMs: 60_000 });
  const other = await slow.startRun({});
  await slow.logMetrics({ acc: 0.5 }, 0, 1);
  expect(server.runs.get(other.runId)!.metrics).toEqual([]);
  await slow.endRun('FINISHED');
  expect(server.runs.get(other.runId)!.metrics).toHaveLength(1);
  await t.endRun('FINISHED');
});

test('uses basic auth from MLFLOW_TRACKING_USERNAME/PASSWORD, and a wrong one is a clear error', async () => {
  server.requiredAuth = `Basic ${Buffer.from('ada:pw').toString('base64')}`;
  const ok = tracker({ env: { MLFLOW_TRACKING_USERNAME: 'ada', MLFLOW_TRACKING_PASSWORD: 'pw' } });
  await ok.startRun({});
  await ok.endRun('FINISHED');
  const bad = tracker({ env: { MLFLOW_TRACKING_USERNAME: 'ada', MLFLOW_TRACKING_PASSWORD: 'nope' } });
  await expect(bad.startRun({})).rejects.toThrow(/UNAUTHENTICATED/);
});

test('NaN and infinite metrics are sent as proto3 JSON strings the server accepts', async () => {
  const t = tracker();
  const { runId } = await t.startRun({});
  await t.logMetrics({ loss: NaN, gain: Infinity, low: -Infinity }, 3, 5);
  await t.endRun('FAILED');
  const values = Object.fromEntries(server.runs.get(runId)!.metrics.map((m) => [m.key, m.value]));
  expect(values).toEqual({ loss: 'NaN', gain: 'Infinity', low: '-Infinity' });
  expect(server.runs.get(runId)!.status).toBe('FAILED');
});

test('buffers while the server is down and sends everything, in order, once it is back', async () => {
  const logger = new MemoryLogger();
  const t = tracker({ batchSize: 5, logger });
  const { runId } = await t.startRun({ experiment: 'outage' });
  await t.logMetrics({ acc: 0 }, 0, 10);
  await server.stop();
  for (let s = 1; s < 40; s++) await t.logMetrics({ acc: s / 40 }, s, 10 + s);
  await t.logParams({ lr: 0.01 });
  expect(t.unsentCount).toBeGreaterThanOrEqual(39);
  await server.start(server.port);
  await t.flush();
  expect(t.unsentCount).toBe(0);
  const run = server.runs.get(runId)!;
  expect(run.metrics.map((m) => m.step)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  expect(run.metrics[20].value).toBe(0.5);
  expect(run.params.get('lr')).toBe('0.01');
  expect(logger.lines.some((l) => l.level === 'warn' && /unavailable/.test(l.message))).toBe(true);
  await t.endRun('FINISHED');
  expect(run.status).toBe('FINISHED');
});

test('still down at endRun: unsent entities go to a spool file named in a warning, and replaySpool delivers them', async () => {
  const logger = new MemoryLogger();
  const t = tracker({ logger });
  const { runId } = await t.startRun({ experiment: 'spool' });
  await server.stop();
  for (let s = 0; s < 10; s++) await t.logMetrics({ loss: 10 - s }, s, 100 + s);
  await t.setTags({ note: 'offline' });
  const file = path.join(spoolDir, 'report.txt');
  fs.writeFileSync(file, 'hello');
  await t.logArtifact(file);
  fs.rmSync(file);
  await t.endRun('FINISHED');
  const spool = path.join(spoolDir, `${runId}.json`);
  expect(t.lastSpoolFile).toBe(spool);
  expect(fs.existsSync(spool)).toBe(true);
  expect(logger.lines.some((l) => l.level === 'warn' && l.message.includes(spool))).toBe(true);

  await server.start(server.port);
  await MlflowRestTracker.replaySpool(spool, { retry: fast, env: {} });
  const run = server.runs.get(runId)!;
  expect(run.metrics.map((m) => m.value)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  expect(run.tags.get('note')).toBe('offline');
  expect(run.status).toBe('FINISHED');
  expect(server.artifacts.get(`${run.experimentId}/${runId}/artifacts/report.txt`)!.toString()).toBe('hello');
  expect(fs.existsSync(spool)).toBe(false);
});

test('a server-side 400 INVALID_PARAMETER_VALUE surfaces as a KilnError with the error code', async () => {
  const first = tracker();
  const { runId } = await first.startRun({});
  await first.logParams({ depth: 3 });
  await first.flush();
  // A second process resuming the run does not know 'depth' was logged; the server enforces immutability.
  const second = tracker();
  await second.resumeRun(runId);
  await second.logParams({ depth: 5 });
  const error = await second.flush().then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(MlflowApiError);
  expect(KilnError.is(error)).toBe(true);
  expect((error as MlflowApiError).errorCode).toBe('INVALID_PARAMETER_VALUE');
  expect((error as MlflowApiError).status).toBe(400);
  expect(server.runs.get(runId)!.params.get('depth')).toBe('3');
  // At endRun a rejected batch is reported, and the final status after it still arrives.
  const third = tracker({ batchSize: 1000 });
  await third.resumeRun(runId);
  await third.logParams({ depth: 7 });
  await expect(third.endRun('FINISHED')).rejects.toMatchObject({ errorCode: 'INVALID_PARAMETER_VALUE' });
  expect(server.runs.get(runId)!.status).toBe('FINISHED');
  expect(third.activeRunId).toBeUndefined();
});

test('bad input is rejected before it is sent: long param, bad name, changed param', async () => {
  const t = tracker();
  await t.startRun({});
  await expect(t.logParams({ big: 'x'.repeat(6001) })).rejects.toThrow(/6001 characters, over MLflow's limit of 6000/);
  await t.logParams({ ok: 'x'.repeat(6000) });
  await expect(t.logMetrics({ 'bad*name': 1 }, 0)).rejects.toThrow(/invalid metric name/);
  await expect(t.logMetrics({ '../up': 1 }, 0)).rejects.toThrow(/invalid metric name/);
  await t.logParams({ lr: 0.1 });
  await expect(t.logParams({ lr: 0.2 })).rejects.toThrow(/changing it to '0.2' is not allowed/);
  await t.endRun('FINISHED');
});

test('an unreachable URI fails startRun with a clear KilnError; an unknown run id too', async () => {
  const free = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
  const t = new MlflowRestTracker({ uri: `http://127.0.0.1:${free}`, retry: fast, env: {} });
  const error = await t.startRun({}).then(() => undefined, (e: unknown) => e);
  expect(KilnError.is(error)).toBe(true);
  expect((error as KilnError).message).toMatch(/cannot reach the MLflow server at http:\/\/127\.0\.0\.1:\d+ .*3 attempts/);
  expect((error as KilnError).where).toBe('tracker.uri');

  const missing = await tracker().resumeRun('0123456789abcdef0123456789abcdef').then(() => undefined, (e: unknown) => e);
  expect((missing as MlflowApiError).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
  expect(() => new MlflowRestTracker({ uri: 'ftp://x' })).toThrow(/not an http\(s\) MLflow server URI/);
});
