import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, KilnError, MemoryLogger, resolveConfig, trainResolved } from '@kiln/core';
import { runTrial, tune, type StudyData, type TrialJob } from '../src';
import { cleanup, SPACE, tempDir, tinyConfig } from './helpers';

afterAll(cleanup);

async function errorOf(p: Promise<unknown>): Promise<KilnError> {
  try {
    await p;
  } catch (error) {
    if (KilnError.is(error)) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('a Hyperband study on the tiny tabular preset', () => {
  const dir = tempDir();
  const logger = new MemoryLogger();
  let outcome: Awaited<ReturnType<typeof tune>>;
  let study: StudyData;

  beforeAll(async () => {
    outcome = await tune(tinyConfig(dir, { space: SPACE, objective: 'val/accuracy', mode: 'max', tuner: { type: 'hyperband', maxEpochs: 3, eta: 3 }, study: 'hb' }), { cwd: dir, logger });
    study = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'hb', 'study.json'), 'utf8'));
  });

  it('runs the R = 3, η = 3 schedule: 3 configs at 1 epoch, the best continued to 3, then 2 at 3', () => {
    // s_max = 1; s = 1: n = ⌈2/2·3⌉ = 3 at r = 1, keep ⌊3/3⌋ = 1 at 3; s = 0: n = ⌈2/1·1⌉ = 2 at 3
    expect(study.trials.map((t) => [t.id, t.budget.epochs, t.tags?.bracket, t.tags?.rung])).toEqual([
      ['0', 1, 1, 0],
      ['1', 1, 1, 0],
      ['2', 1, 1, 0],
      ['3', 3, 1, 1],
      ['4', 3, 0, 0],
      ['5', 3, 0, 0],
    ]);
    expect(study.trials.every((t) => t.status === 'completed')).toBe(true);
    expect(study.status).toBe('completed');
  });

  it('promotes the best rung-0 trial and continues it from its checkpoint', () => {
    const rung0 = study.trials.slice(0, 3);
    const best = [...rung0].sort((a, b) => b.value! - a.value! || Number(a.id) - Number(b.id))[0];
    const promoted = study.trials[3];
    expect(promoted.resumeFrom).toBe(best.id);
    expect(promoted.params).toEqual(best.params);
    // continues at epoch 2: only epochs 2 and 3 are run
    expect(promoted.epochs.map((e) => e.epoch)).toEqual([2, 3]);
    expect(fs.existsSync(path.join(promoted.runDir, 'checkpoints', 'last.safetensors'))).toBe(true);
    // 3·1 + (3 − 1) + 2·3 epochs
    expect(outcome.epochsTrained).toBe(11);
  });

  it('records per-epoch metrics, timing, and the objective as the value', () => {
    for (const t of study.trials) {
      expect(t.value).toBe(t.epochs[t.epochs.length - 1].value);
      expect(t.epochs[t.epochs.length - 1].metrics['val/accuracy']).toBe(t.value);
      expect(t.durationMs).toBeGreaterThan(0);
      expect(t.attempts).toBe(1);
    }
  });

  it('returns the leaderboard and the best trial, and writes best.config.json', () => {
    const values = study.trials.map((t) => t.value!);
    expect(outcome.best!.value).toBe(Math.max(...values));
    expect(outcome.leaderboard.map((r) => r.value)).toEqual([...values].sort((a, b) => b - a));
    const config = JSON.parse(fs.readFileSync(outcome.bestConfig!, 'utf8'));
    expect(config.optimizer.lr).toBe(outcome.best!.params['optimizer.lr']);
    expect(config.model.dropout).toBe(outcome.best!.params['model.dropout']);
    expect(config.tune).toBeUndefined();
    expect(config.output.name).toBeUndefined();
    expect(config.trainer.monitor).toBe('val/accuracy');
    expect(fs.existsSync(outcome.best!.checkpoint!)).toBe(true);
    expect(logger.lines.filter((l) => /^trial \d+ completed/.test(l.message))).toHaveLength(6);
  });

  it('the best config trains as it is', async () => {
    const resolved = await resolveConfig({ configPath: outcome.bestConfig, cwd: dir, set: ['trainer.epochs=1', 'output.name="retrain"'] });
    expect(resolved.config.optimizer).toMatchObject({ lr: outcome.best!.params['optimizer.lr'] });
    const result = await trainResolved(resolved, { cwd: dir, logger: new MemoryLogger() });
    expect(result.epochsRun).toBe(1);
    expect(result.logs['val/accuracy']).toBeGreaterThanOrEqual(0);
  });

  it('refuses to start over an existing study', async () => {
    const e = await errorOf(tune(tinyConfig(dir, { space: SPACE, tuner: { type: 'hyperband', maxEpochs: 3 }, study: 'hb' }), { cwd: dir, logger }));
    expect(e.where).toBe('tune.study');
  });
});

describe('bad input fails before (or at the first epoch of) the first trial', () => {
  it('an objective the run never logs', async () => {
    const dir = tempDir();
    const e = await errorOf(tune(tinyConfig(dir, { space: SPACE, objective: 'val/auc', tuner: { type: 'random', trials: 3 } }), { cwd: dir, logger: new MemoryLogger() }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.where).toBe('tune.objective');
    expect(e.message).toContain("'val/auc'");
    expect(e.hint).toContain('val/accuracy');
    const study: StudyData = JSON.parse(fs.readFileSync(path.join(dir, 'runs', 'tune', 'study.json'), 'utf8'));
    expect(study.trials).toHaveLength(1);
    expect(study.status).toBe('failed');
  });

  it('a space path the config does not have, with no trial started', async () => {
    const dir = tempDir();
    const e = await errorOf(tune(tinyConfig(dir, { space: { ...SPACE, 'model.depthh': { type: 'choice', values: [1, 2] } } }), { cwd: dir }));
    expect(e.where).toBe('tune.space.model.depthh');
    expect(e.hint).toContain('hiddenUnits');
    expect(fs.existsSync(path.join(dir, 'runs'))).toBe(false);
  });

  it('a value the component would reject, checked at the range ends', async () => {
    const dir = tempDir();
    const dropout = await errorOf(tune(tinyConfig(dir, { space: { 'model.dropout': { type: 'uniform', min: 0, max: 1 } } }), { cwd: dir }));
    expect(dropout.where).toBe('tune.space.model.dropout');
    expect(dropout.message).toMatch(/^1 is not a valid value for 'model.dropout'/);
    const batch = await errorOf(tune(tinyConfig(dir, { space: { 'trainer.batchSize': { type: 'choice', values: [32, 0] } } }), { cwd: dir }));
    expect(batch.where).toBe('tune.space.trainer.batchSize');
    expect(batch.message).toMatch(/^0 is not a valid value/);
    expect(fs.existsSync(path.join(dir, 'runs'))).toBe(false);
  });

  it('an unknown tuner, an invalid option, a bad mode', async () => {
    const dir = tempDir();
    const unknown = await errorOf(tune(tinyConfig(dir, { space: SPACE, tuner: { type: 'hyperbandd' } }), { cwd: dir }));
    expect(unknown.hint).toContain('hyperband');
    const option = await errorOf(tune(tinyConfig(dir, { space: SPACE, tuner: { type: 'hyperband', eta: 1 } }), { cwd: dir }));
    expect(option.where).toContain('tune.tuner.eta');
    const mode = await errorOf(tune(tinyConfig(dir, { space: SPACE, mode: 'up' as 'max' }), { cwd: dir }));
    expect(mode.where).toContain('tune.mode');
  });
});

describe('default search spaces', () => {
  it('uses the preset’s space when tune.space is absent', async () => {
    const dir = tempDir();
    const outcome = await tune(tinyConfig(dir, { tuner: { type: 'random', trials: 2, epochs: 1 } }), { cwd: dir, logger: new MemoryLogger() });
    expect(Object.keys(outcome.best!.params).sort()).toEqual(['model.dropout', 'model.hiddenUnits', 'optimizer.lr']);
  });
});

describe('a trial pruned through report()', () => {
  it('stops at the epoch the study says prune', async () => {
    const dir = tempDir();
    const runDir = path.join(dir, 'runs', 's', 'trial-0');
    const job: TrialJob = {
      suggestion: { id: '0', params: {}, budget: { epochs: 4 } },
      source: { cwd: dir, inline: tinyConfig(dir, {}) as Record<string, unknown> },
      overrides: ['trainer.epochs=4', 'output.name="s/trial-0"'],
      runDir,
      objective: 'val/accuracy',
    };
    const seen: number[] = [];
    const outcome = await runTrial(job, ({ epoch }) => {
      seen.push(epoch);
      return epoch === 2 ? 'prune' : 'continue';
    });
    expect(outcome.status).toBe('pruned');
    expect(seen).toEqual([1, 2]);
  });
});

describe('in-process trials', () => {
  it('leave no tensors behind', async () => {
    const tf = await import('@tensorflow/tfjs-core');
    const dir = tempDir();
    const config = (study: string, trials: number) => tinyConfig(dir, { space: SPACE, tuner: { type: 'random', trials, epochs: 2 }, study });
    await tune(config('warmup', 1), { cwd: dir, logger: new MemoryLogger() });
    const before = tf.memory().numTensors;
    await tune(config('three', 3), { cwd: dir, logger: new MemoryLogger() });
    expect(tf.memory().numTensors).toBe(before);
  });
});
