import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { MemoryLogger, UsageError } from '@kiln/core';
import { MlflowFileTracker, flattenParams, runsCommand } from '../src';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-runs-cmd-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], options: Record<string, unknown>): Promise<string> {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (d: Buffer) => (text += d));
  await runsCommand.run(args, options, { logger: new MemoryLogger(), cwd: dir, globals: {}, stdout });
  return text;
}

async function makeRuns() {
  const tracker = new MlflowFileTracker({ root: path.join(dir, 'mlruns') });
  const ids: Record<string, string> = {};
  // Final accuracies: a 0.70, b 0.90, c 0.80; b's history first rises above its final value.
  const histories: Record<string, number[]> = { a: [0.5, 0.7], b: [0.6, 0.95, 0.9], c: [0.8] };
  for (const [name, history] of Object.entries(histories)) {
    const { runId } = await tracker.startRun({ experiment: name === 'c' ? 'other' : 'mnist', runName: name });
    ids[name] = runId;
    await tracker.logParams(flattenParams({ optimizer: { type: 'adam', lr: name === 'a' ? 0.01 : 0.001 }, epochs: 3, model: { widths: [32, 64] } }));
    for (const [step, value] of history.entries()) await tracker.logMetrics({ 'val/accuracy': value, 'train/loss': 1 - value }, step, 100 + step);
    await tracker.endRun('FINISHED');
  }
  return ids;
}

test('flattenParams: dotted keys, arrays and null as JSON', () => {
  expect(flattenParams({ a: { b: { c: 1 } }, list: [1, { x: 2 }], flag: false, none: null, s: 'x', empty: {}, skip: undefined })).toEqual({
    'a.b.c': 1,
    list: '[1,{"x":2}]',
    flag: false,
    none: 'null',
    s: 'x',
    empty: '{}',
  });
});

test('kiln runs lists runs sorted by a metric, filtered by experiment', async () => {
  const ids = await makeRuns();
  const all = await run([], { store: 'mlruns', sort: 'val/accuracy' });
  const order = all.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[1]);
  expect(order).toEqual(['b', 'c', 'a']);
  expect(all.split('\n')[1]).toContain(ids.b);
  expect(all.split('\n')[1].trim().endsWith('0.9')).toBe(true);
  // Losses sort lowest first without being told: train/loss finals are a 0.3, b 0.1, c 0.2.
  const losses = await run([], { store: 'mlruns', sort: 'train/loss' });
  expect(losses.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['b', 'c', 'a']);
  const worstFirst = await run([], { store: 'mlruns', sort: 'val/accuracy', order: 'asc' });
  expect(worstFirst.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[1])).toEqual(['a', 'c', 'b']);
  await expect(run([], { store: 'mlruns', sort: 'x', order: 'up' })).rejects.toThrow(/--order must be/);
  const mnist = await run([], { store: 'mlruns', experiment: 'mnist' });
  expect(mnist.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[1]).sort()).toEqual(['a', 'b']);
  await expect(run([], { store: 'mlruns', experiment: 'nope' })).rejects.toThrow(/no experiment 'nope'/);
});

test('kiln runs --compare prints only differing params and final metrics', async () => {
  const ids = await makeRuns();
  const text = await run([ids.a, ids.b], { store: 'mlruns', compare: true });
  expect(text).toContain('params that differ (1 of 4):');
  expect(text).toMatch(/optimizer\.lr\s+0\.01\s+0\.001/);
  expect(text).not.toMatch(/^epochs/m);
  expect(text).toMatch(/val\/accuracy\s+0\.7\s+0\.9\n/);
  expect(text).toMatch(/train\/loss\s+0\.3\s+0\.1/);
  await expect(run([ids.a], { store: 'mlruns', compare: true })).rejects.toBeInstanceOf(UsageError);
  await expect(run([ids.a, 'ffffffffffffffffffffffffffffffff'], { store: 'mlruns', compare: true })).rejects.toThrow(/does not exist/);
});
