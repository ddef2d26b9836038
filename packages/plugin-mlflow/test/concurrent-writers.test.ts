import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { MlflowFileStore, MlflowModelRegistry } from '../src';
import { readExperiments, readRunFolder } from './support/independent-mlruns-reader';

const WORKERS = 4;
const POINTS = 150;
const dist = path.join(__dirname, '..', 'dist', 'index.js');

function walk(dir: string): string[] {
  return fs.readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return fs.statSync(p).isDirectory() ? [p, ...walk(p)] : [p];
  });
}

test('parallel trial processes never corrupt a run: whole metric lines, whole tag files, one experiment, unique model versions', async () => {
  if (!fs.existsSync(dist)) throw new Error(`build first: npx tsc -b packages/plugin-mlflow (${dist} missing)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-mlruns-par-'));
  const root = path.join(dir, 'mlruns');
  try {
    const store = new MlflowFileStore(root);
    const shared = store.createRun(store.getOrCreateExperiment('shared'), { runName: 'shared' });
    const children = Array.from({ length: WORKERS }, (_, i) =>
      spawn(process.execPath, [path.join(__dirname, 'support', 'concurrent-writer.js'), root, shared.runId, String(i), String(POINTS)], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    const outputs = children.map((child) => {
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (err += d));
      return new Promise<string>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(err)))));
    });
    // Read the contended tag while the writers run: always one letter, 4000 times.
    const tagFile = path.join(shared.dir, 'tags', 'last');
    let reads = 0;
    let running = true;
    const all = Promise.allSettled(outputs).finally(() => (running = false));
    while (running) {
      if (fs.existsSync(tagFile)) {
        const value = fs.readFileSync(tagFile, 'utf8');
        expect(value).toMatch(/^([a-d])\1{3999}$/);
        reads++;
      }
      await new Promise((r) => setImmediate(r));
    }
    const settled = await all;
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const runIds = settled.map((r) => (r as PromiseFulfilledResult<string>).value);
    expect(reads).toBeGreaterThan(0);

    const experiments = Object.values(readExperiments(root)).map((e) => e.name).sort();
    expect(experiments).toEqual(['Default', 'shared', 'study']);

    const sharedRead = readRunFolder(shared.dir);
    const lines = fs.readFileSync(path.join(shared.dir, 'metrics', 'shared'), 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(WORKERS * POINTS);
    for (const line of lines) expect(line).toMatch(/^\d+ \d+ \d+$/);
    const expected = [];
    for (let i = 0; i < WORKERS; i++) for (let s = 0; s < POINTS; s++) expected.push(i * 1000 + s);
    expect(sharedRead.metrics.shared.map((p) => p.value).sort((a, b) => a - b)).toEqual(expected);
    expect(sharedRead.params).toEqual({ common: 'same' });

    for (const [i, runId] of runIds.entries()) {
      const run = store.readRun(runId);
      expect(run.info.status).toBe('FINISHED');
      expect(run.info.runName).toBe(`trial-${i}`);
      expect(run.metricHistory.loss).toHaveLength(POINTS);
      // Last point: step POINTS-1, value (POINTS-1) + i/10.
      expect(run.metrics.loss).toBeCloseTo(POINTS - 1 + i / 10, 12);
    }
    const registry = new MlflowModelRegistry(root);
    expect(registry.listVersionNumbers('classifier')).toEqual([1, 2, 3, 4]);
    const sources = [1, 2, 3, 4].map((v) => registry.getVersion('classifier', v).runId).sort();
    expect(sources).toEqual([...runIds].sort());
    expect(walk(root).filter((p) => path.basename(p).startsWith('.kiln-'))).toEqual([]);

    if (spawnSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' }).status === 0) {
      const parsed = JSON.parse(execFileSync('python3', [path.join(__dirname, 'support', 'mlflow_reader.py'), root]).toString()) as { runs: Record<string, { metrics: Record<string, unknown[]> }> };
      expect(parsed.runs[shared.runId].metrics.shared).toHaveLength(WORKERS * POINTS);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
