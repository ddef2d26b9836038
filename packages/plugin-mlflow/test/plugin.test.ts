import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kernel, MemoryLogger, Tokens } from '@kiln/core';
import plugin, { MlflowFileTracker, MlflowRestTracker } from '../src';
import { FakeMlflowServer } from './support/fake-mlflow-server';

test('the kernel builds tracker { type: "mlflow" } as a file store by default and for paths, REST for http URIs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-mlflow-plugin-'));
  const server = new FakeMlflowServer();
  await server.start();
  try {
    const kernel = new Kernel({ logger: new MemoryLogger(), baseDir: dir });
    await kernel.use(plugin);
    expect([...kernel.commands().keys()]).toContain('runs');

    const byDefault = await kernel.build(Tokens.Tracker, { type: 'mlflow' }, 'tracker');
    expect(byDefault).toBeInstanceOf(MlflowFileTracker);
    expect((byDefault as MlflowFileTracker).store.root).toBe(path.join(dir, 'mlruns'));
    const { location } = await byDefault.startRun({ experiment: 'exp' });
    await byDefault.endRun('FINISHED');
    expect(location.startsWith(path.join(dir, 'mlruns'))).toBe(true);
    // System tags are on by default.
    expect(fs.readFileSync(path.join(location, 'tags', 'kiln.host'), 'utf8')).toBe(os.hostname());

    const relative = await kernel.build(Tokens.Tracker, { type: 'mlflow', uri: 'out/store', systemTags: false }, 'tracker');
    expect((relative as MlflowFileTracker).store.root).toBe(path.join(dir, 'out', 'store'));

    const rest = await kernel.build(Tokens.Tracker, { type: 'mlflow', uri: server.uri, experiment: 'remote' }, 'tracker');
    expect(rest).toBeInstanceOf(MlflowRestTracker);
    const { runId } = await rest.startRun({});
    await rest.logMetrics({ acc: 0.5 }, 1, 7);
    await rest.endRun('FINISHED');
    expect(server.runs.get(runId)!.metrics).toEqual([{ key: 'acc', value: 0.5, timestamp: 7, step: 1 }]);
    expect([...server.experiments.values()].map((e) => e.name)).toContain('remote');

    await expect(kernel.build(Tokens.Tracker, { type: 'mlflow', nan: 'sometimes' }, 'tracker')).rejects.toMatchObject({ where: 'tracker.nan' });
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
