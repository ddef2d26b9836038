import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { definePlugin, evaluate, KilnError, MemoryLogger, readSafetensors, train, type KilnConfigInput, TRAINING_HOOK_ORDER, Tokens } from '@kiln/core';
import { removeProject, tempProject } from '../../../test/helpers/project';
import { enginePlugin } from './engine-fixture';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeProject));

function project(): string {
  const dir = tempProject();
  dirs.push(dir);
  return dir;
}

const base = (over: Partial<KilnConfigInput> = {}): KilnConfigInput => ({
  seed: 5,
  backend: 'auto',
  data: { type: 'blobs' },
  model: { type: 'linear' },
  loss: { type: 'ce' },
  optimizer: { type: 'momentum', lr: 0.2, momentum: 0.9 },
  metrics: [{ type: 'acc' }],
  callbacks: [{ type: 'save-last' }],
  trainer: { epochs: 4, batchSize: 16 },
  ...over,
});

const run = (config: KilnConfigInput, cwd: string, extra: Parameters<typeof train>[1] = {}) =>
  train(config, { cwd, logger: new MemoryLogger(), defaultPlugins: [], plugins: [enginePlugin], ...extra });

function finalWeights(runDir: string): Record<string, number[]> {
  const { tensors } = readSafetensors(path.join(runDir, 'checkpoints', 'last.safetensors'));
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Array.from(t.data)]));
}

describe('Trainer', () => {
  it('learns, writes the run directory, and does not grow the tensor count across epochs', async () => {
    const counts: number[] = [];
    const probe = definePlugin({
      name: 'probe',
      version: '1.0.0',
      register(ctx) {
        ctx.hooks.afterEpoch.tap('Probe', () => void counts.push(tf.memory().numTensors));
      },
    });
    const cwd = project();
    const result = await run(base({ trainer: { epochs: 5, batchSize: 16 }, output: { name: 'first' } }), cwd, { plugins: [enginePlugin, probe] });
    expect(result.logs['val/accuracy']).toBeGreaterThan(0.9);
    expect(result.history).toHaveLength(5);
    expect(result.stepsRun).toBe(5 * 16);
    expect(new Set(counts).size).toBe(1);
    const record = JSON.parse(fs.readFileSync(result.runRecord, 'utf8'));
    expect(record.status).toBe('FINISHED');
    expect(JSON.parse(fs.readFileSync(path.join(cwd, 'runs', 'first', 'config.json'), 'utf8')).model.type).toBe('linear');
    const evaluated = await evaluate({ checkpoint: path.join(cwd, 'runs', 'first'), cwd, logger: new MemoryLogger(), defaultPlugins: [], plugins: [enginePlugin] });
    expect(evaluated.logs['val/accuracy']).toBeCloseTo(result.logs['val/accuracy'], 10);
    expect(evaluated.logs['val/loss']).toBeCloseTo(result.logs['val/loss'], 6);
  });

  it('fires the hooks in the documented order', async () => {
    const seen: string[] = [];
    const recorder = definePlugin({
      name: 'recorder',
      version: '1.0.0',
      register(ctx) {
        for (const name of TRAINING_HOOK_ORDER) {
          (ctx.hooks[name] as { tap: (n: string, f: () => void) => void }).tap('Recorder', () => {
            if (seen[seen.length - 1] !== name) seen.push(name);
          });
        }
      },
    });
    await run(base({ trainer: { epochs: 2, batchSize: 128 }, data: { type: 'blobs', train: 256, val: 256 } }), project(), { plugins: [enginePlugin, recorder] });
    const epoch = ['beforeEpoch', 'beforeTrainStep', 'afterTrainStep', 'beforeTrainStep', 'afterTrainStep', 'beforeValidate', 'afterValStep', 'afterValidate', 'afterEpoch'];
    // Consecutive repeats are collapsed, so two steps show as step pairs and two val steps as one.
    expect(seen).toEqual(['beforeRun', ...epoch, ...epoch, 'afterRun'].filter((n, i, a) => n !== a[i - 1]));
  });

  it('a bail tap stops the run early', async () => {
    const stopper = definePlugin({
      name: 'stopper',
      version: '1.0.0',
      register(ctx) {
        ctx.hooks.shouldStop.tap('Stopper', (c) => (c.phase === 'epoch' && c.epoch === 1 ? 'enough' : undefined));
      },
    });
    const result = await run(base({ trainer: { epochs: 6, batchSize: 32 } }), project(), { plugins: [enginePlugin, stopper] });
    expect(result.stopReason).toBe('enough');
    expect(result.history).toHaveLength(2);
  });

  it('resumes to the same final weights as an uninterrupted run', async () => {
    const cwd = project();
    await run(base({ output: { name: 'full' } }), cwd);
    await run(base({ output: { name: 'cut' }, trainer: { epochs: 2, batchSize: 16 } }), cwd);
    await run(base({ output: { name: 'cut' } }), cwd, { resume: path.join(cwd, 'runs', 'cut') });
    const full = finalWeights(path.join(cwd, 'runs', 'full'));
    const resumed = finalWeights(path.join(cwd, 'runs', 'cut'));
    expect(Object.keys(resumed).sort()).toEqual(Object.keys(full).sort());
    for (const key of Object.keys(full)) expect(resumed[key]).toEqual(full[key]);
  });

  it('gradient accumulation over 2 micro-batches equals one batch twice the size', async () => {
    const cwd = project();
    const common = { sampler: undefined, optimizer: { type: 'momentum', lr: 0.1 } };
    await run(base({ ...common, output: { name: 'big' }, trainer: { epochs: 1, batchSize: 32 } }), cwd);
    await run(base({ ...common, output: { name: 'accum' }, trainer: { epochs: 1, batchSize: 16, gradAccumulation: 2 } }), cwd);
    const big = finalWeights(path.join(cwd, 'runs', 'big'));
    const accum = finalWeights(path.join(cwd, 'runs', 'accum'));
    for (const key of Object.keys(big)) big[key].forEach((v, i) => expect(accum[key][i]).toBeCloseTo(v, 5));
  });

  it('clips by global norm, and the schedule sets the learning rate per step', async () => {
    const lrs: number[] = [];
    const norms: number[] = [];
    const spy = definePlugin({
      name: 'spy',
      version: '1.0.0',
      register(ctx) {
        ctx.hooks.afterTrainStep.tap('Spy', (r) => void (lrs.push(r.lr), norms.push(r.gradNorm)));
      },
    });
    const before = new Map<string, Float32Array>();
    const capture = definePlugin({
      name: 'capture',
      version: '1.0.0',
      register(ctx) {
        ctx.hooks.beforeTrainStep.tap('Capture', (s) => {
          if (s.step === 0) for (const v of s.trainer.model.trainableVariables) before.set(v.name, v.dataSync().slice() as Float32Array);
        });
        ctx.hooks.afterTrainStep.tap('Check', (r) => {
          if (r.step !== 0) return;
          let sq = 0;
          for (const v of r.trainer.model.trainableVariables) {
            const now = v.dataSync();
            before.get(v.name)!.forEach((b, i) => (sq += (now[i] - b) ** 2));
          }
          // With momentum 0 the first update is lr · clipped gradient, whose norm is the clip value.
          expect(Math.sqrt(sq)).toBeCloseTo(0.1 * 0.01, 4);
        });
      },
    });
    await run(
      base({ optimizer: { type: 'momentum', lr: 0.1, schedule: { type: 'halving', every: 4 } }, trainer: { epochs: 1, batchSize: 32, clipNorm: 0.01 } }),
      project(),
      { plugins: [enginePlugin, spy, capture] },
    );
    expect(lrs).toEqual([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05]);
    expect(norms[0]).toBeGreaterThan(0.01);
  });

  it('skips NaN steps and stops with a clear error after maxBadSteps', async () => {
    const cwd = project();
    let error: unknown;
    try {
      await run(base({ model: { type: 'linear', nanAfter: 3 }, trainer: { epochs: 2, batchSize: 16, maxBadSteps: 2 }, output: { name: 'nan' } }), cwd);
    } catch (e) {
      error = e;
    }
    expect(KilnError.is(error)).toBe(true);
    expect((error as KilnError).message).toBe('3 steps had a NaN/Inf loss or gradient; training stopped at epoch 1, step 6');
    expect((error as KilnError).where).toBe('trainer.maxBadSteps');
    expect(JSON.parse(fs.readFileSync(path.join(cwd, 'runs', 'nan', 'run.json'), 'utf8')).status).toBe('FAILED');
  });

  it('says how to resume a run that failed after writing checkpoints', async () => {
    const cwd = project();
    const logger = new MemoryLogger();
    // 16 steps an epoch: NaN from step 21, in epoch 2, after epoch 1's checkpoint.
    const failed = run(base({ model: { type: 'linear', nanAfter: 20 }, trainer: { epochs: 3, batchSize: 16, maxBadSteps: 0 }, output: { name: 'late' } }), cwd, { logger });
    await expect(failed).rejects.toThrow('training stopped at epoch 2, step 21');
    expect(fs.existsSync(path.join(cwd, 'runs', 'late', 'checkpoints', 'last.safetensors'))).toBe(true);
    const rel = path.join('runs', 'late');
    expect(logger.lines).toContainEqual({ level: 'warn', message: `run ${rel} FAILED; its checkpoints are kept: after fixing the cause, continue with --resume ${rel}` });
  });

  it('refuses to overwrite a run that has checkpoints', async () => {
    const cwd = project();
    await run(base({ output: { name: 'x' }, trainer: { epochs: 1, batchSize: 64 } }), cwd);
    await expect(run(base({ output: { name: 'x' }, trainer: { epochs: 1, batchSize: 64 } }), cwd)).rejects.toThrow('already has checkpoints');
    expect(Tokens.Model).toBe(Symbol.for('kiln.point.Model'));
  });
});
