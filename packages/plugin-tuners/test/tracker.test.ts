import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemoryLogger } from '@kiln/core';
import { tune, type StudyData } from '../src';
import { cleanup, mlflowRun, SPACE, tempDir, tinyConfig } from './helpers';

afterAll(cleanup);

describe('a study with a tracker', () => {
  it('opens a parent run; every trial is a nested run under it; the best is logged on the parent', async () => {
    const dir = tempDir();
    const mlruns = path.join(dir, 'mlruns');
    const config = { ...tinyConfig(dir, { space: SPACE, objective: 'val/accuracy', mode: 'max', tuner: { type: 'random', trials: 3, epochs: 2 } }), tracker: { type: 'mlflow', uri: mlruns, register: false, systemTags: false } };
    const outcome = await tune(config, { cwd: dir, logger: new MemoryLogger() });
    const study = JSON.parse(fs.readFileSync(outcome.studyFile, 'utf8')) as StudyData;
    const parentId = study.trackerRunId!;
    const parent = mlflowRun(mlruns, parentId);
    expect(parent.tag('mlflow.parentRunId')).toBeUndefined();
    expect(parent.tag('mlflow.runName')).toBe('tune');
    for (const t of study.trials) {
      const child = mlflowRun(mlruns, t.trackerRunId!);
      expect(child.tag('mlflow.parentRunId')).toBe(parentId);
      expect(child.tag('mlflow.runName')).toBe(`tune/trial-${t.id}`);
      expect(child.tag('kiln.trial')).toBe(t.id);
      expect(child.metric('val/accuracy')).toBe(t.value);
    }
    expect(new Set(study.trials.map((t) => t.trackerRunId)).size).toBe(3);
    const best = [...study.trials].sort((a, b) => b.value! - a.value! || Number(a.id) - Number(b.id))[0];
    expect(parent.metric('best_value')).toBe(best.value);
    expect(parent.metric('trials_completed')).toBe(3);
    expect(Number(parent.param('best.optimizer.lr'))).toBe(best.params['optimizer.lr']);
    expect(parent.tag('kiln.best_trial')).toBe(best.id);
    expect(parent.tag('kiln.best_run_id')).toBe(best.trackerRunId);
    expect(parent.status()).toBe('3'); // FINISHED

    // --resume reopens the same parent run (Tracker.resumeRun) instead of starting another
    const again = await tune(config, { cwd: dir, resume: true, logger: new MemoryLogger() });
    expect(again.best!.value).toBe(best.value);
    const runs = fs.readdirSync(path.join(mlruns, '0')).filter((r) => fs.existsSync(path.join(mlruns, '0', r, 'meta.yaml')));
    expect(runs.filter((r) => mlflowRun(mlruns, r).tag('mlflow.parentRunId') === undefined)).toEqual([parentId]);
    expect(runs).toHaveLength(4);
    expect(mlflowRun(mlruns, parentId).status()).toBe('3');
  });
});
