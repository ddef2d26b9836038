import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Hooks, MemoryLogger, type EpochEnd, type Logs, type StepResult, type TrainerHandle } from '@kiln/core';
import { CheckpointCallback, CheckpointOptions } from '../src/callbacks/checkpoint';
import { EarlyStoppingCallback, EarlyStoppingOptions } from '../src/callbacks/early-stopping';
import { ProgressBarCallback } from '../src/callbacks/progress-bar';
import { MetricsLogCallback, MetricsLogOptions } from '../src/callbacks/metrics-log';
import { GradNormMonitorCallback, GradNormMonitorOptions } from '../src/callbacks/grad-norm-monitor';
import { resolveMonitor } from '../src/callbacks/monitor';
import { KilnConfigSchema } from '@kiln/core';

/** A stand-in trainer: records checkpoint paths (writing a marker file) and stop requests. */
function fakeTrainer(runDir: string): TrainerHandle & { saved: string[]; stops: string[] } {
  const saved: string[] = [];
  const stops: string[] = [];
  return {
    saved,
    stops,
    runDir,
    model: undefined as never,
    optimizer: undefined as never,
    config: undefined as never,
    requestStop: (reason: string) => stops.push(reason),
    saveCheckpoint: async (p: string) => {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, String(saved.length));
      saved.push(p);
    },
  };
}

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-tb-'));

const runInfo = (trainer: TrainerHandle) => ({ trainer, epochs: 5, stepsPerEpoch: 3, totalSteps: 15, startEpoch: 0, startStep: 0 });
const epochEnd = (trainer: TrainerHandle, epoch: number, logs: Logs, epochs = 5): EpochEnd => ({ trainer, epoch, epochs, logs });
const stepResult = (trainer: TrainerHandle, epoch: number, stepInEpoch: number, extra: Partial<StepResult> = {}): StepResult => ({
  trainer,
  epoch,
  step: epoch * 3 + stepInEpoch,
  stepInEpoch,
  stepsPerEpoch: 3,
  batchSize: 4,
  loss: 1 / (1 + epoch * 3 + stepInEpoch),
  lr: 0.01,
  gradNorm: 1,
  skipped: false,
  logs: { loss: 0.5 },
  ...extra,
});

describe('checkpoint', () => {
  it('saves last every epoch and best when the monitored value improves (min)', async () => {
    const dir = tmp();
    const trainer = fakeTrainer(dir);
    const hooks = new Hooks();
    const cb = new CheckpointCallback(CheckpointOptions.parse({ monitor: 'val/loss' }));
    cb.apply(hooks);
    await hooks.beforeRun.promise(runInfo(trainer));
    const losses = [0.9, 0.7, 0.8, 0.6];
    for (const [epoch, loss] of losses.entries()) await hooks.afterEpoch.promise(epochEnd(trainer, epoch, { 'val/loss': loss }));
    const last = path.join(dir, 'checkpoints', 'last.safetensors');
    const best = path.join(dir, 'checkpoints', 'best.safetensors');
    // Order of saves: last, best (0.9), last, best (0.7), last, last, best (0.6).
    expect(trainer.saved).toEqual([last, best, last, best, last, last, best]);
    expect(cb.bestValue).toBe(0.6);
    expect(fs.readFileSync(best, 'utf8')).toBe('6');
  });

  it('mode auto maximises accuracy-like keys, and a missing key warns once without a best', async () => {
    const trainer = fakeTrainer(tmp());
    const hooks = new Hooks();
    new CheckpointCallback(CheckpointOptions.parse({ monitor: 'val/accuracy', saveLast: false })).apply(hooks);
    for (const [epoch, acc] of [0.5, 0.4, 0.55].entries()) await hooks.afterEpoch.promise(epochEnd(trainer, epoch, { 'val/accuracy': acc }));
    expect(trainer.saved.map((p) => path.basename(p))).toEqual(['best.safetensors', 'best.safetensors']);

    const logger = new MemoryLogger();
    const other = fakeTrainer(tmp());
    const h2 = new Hooks();
    new CheckpointCallback(CheckpointOptions.parse({ monitor: 'val/f1/macro' }), logger).apply(h2);
    await h2.afterEpoch.promise(epochEnd(other, 0, { 'val/loss': 1 }));
    await h2.afterEpoch.promise(epochEnd(other, 1, { 'val/loss': 1 }));
    expect(other.saved.map((p) => path.basename(p))).toEqual(['last.safetensors', 'last.safetensors']);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });
});

describe('monitor resolution', () => {
  const mode = (monitor: string) => resolveMonitor({ monitor, mode: 'auto' }).mode;
  it('auto: min for losses and errors, max for other scores (the engine\'s rule)', () => {
    expect(['val/loss', 'val/mae', 'val/rmse', 'train/loss'].map(mode)).toEqual(['min', 'min', 'min', 'min']);
    expect(['val/accuracy', 'val/top5_accuracy', 'val/f1/macro', 'val/r2'].map(mode)).toEqual(['max', 'max', 'max', 'max']);
    expect(resolveMonitor({ monitor: 'val/accuracy', mode: 'min' }).mode).toBe('min');
  });
  it('defaults to the config\'s trainer.monitor and trainer.mode', () => {
    const config = KilnConfigSchema.parse({ trainer: { monitor: 'val/custom', mode: 'min' } });
    expect(resolveMonitor({ mode: 'auto' }, config)).toEqual({ monitor: 'val/custom', mode: 'min' });
    expect(resolveMonitor({ monitor: 'val/other', mode: 'auto' }, config)).toEqual({ monitor: 'val/other', mode: 'max' });
    expect(resolveMonitor({ mode: 'auto' })).toEqual({ monitor: 'val/loss', mode: 'min' });
  });
});

describe('early-stopping', () => {
  const check = (epoch: number, logs: Logs) => ({ phase: 'epoch' as const, epoch, step: (epoch + 1) * 3, logs });

  it('stops after `patience` epochs without an improvement larger than minDelta', async () => {
    const trainer = fakeTrainer(tmp());
    const hooks = new Hooks();
    new EarlyStoppingCallback(EarlyStoppingOptions.parse({ monitor: 'val/loss', patience: 2, minDelta: 0.05 })).apply(hooks);
    await hooks.beforeRun.promise(runInfo(trainer));
    // 1.0 best; 0.97 is within minDelta (wait 1); 0.90 improves (wait 0); 0.88, 0.89 do not (wait 1, 2 → stop).
    const series = [1.0, 0.97, 0.9, 0.88, 0.89];
    const decisions: (string | undefined)[] = [];
    for (const [epoch, loss] of series.entries()) {
      await hooks.afterEpoch.promise(epochEnd(trainer, epoch, { 'val/loss': loss }));
      decisions.push(hooks.shouldStop.call(check(epoch, { 'val/loss': loss })));
    }
    expect(decisions.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
    expect(decisions[4]).toMatch(/val\/loss did not improve for 2 epochs \(best 0\.9 at epoch 3\)/);
  });

  it('works when shouldStop comes before afterEpoch, counts each epoch once, and ignores step checks', async () => {
    const hooks = new Hooks();
    new EarlyStoppingCallback(EarlyStoppingOptions.parse({ monitor: 'val/accuracy', patience: 1 })).apply(hooks);
    const trainer = fakeTrainer(tmp());
    expect(hooks.shouldStop.call(check(0, { 'val/accuracy': 0.8 }))).toBeUndefined();
    await hooks.afterEpoch.promise(epochEnd(trainer, 0, { 'val/accuracy': 0.8 }));
    expect(hooks.shouldStop.call({ phase: 'step', epoch: 1, step: 4, logs: {} })).toBeUndefined();
    expect(hooks.shouldStop.call(check(1, { 'val/accuracy': 0.85 }))).toBeUndefined();
    await hooks.afterEpoch.promise(epochEnd(trainer, 1, { 'val/accuracy': 0.85 }));
    expect(hooks.shouldStop.call(check(2, { 'val/accuracy': 0.85 }))).toMatch(/early stopping/);
  });

  it('patience 0 stops at the first epoch that does not improve', () => {
    const hooks = new Hooks();
    new EarlyStoppingCallback(EarlyStoppingOptions.parse({ monitor: 'val/loss', patience: 0 })).apply(hooks);
    expect(hooks.shouldStop.call(check(0, { 'val/loss': 1 }))).toBeUndefined();
    expect(hooks.shouldStop.call(check(1, { 'val/loss': 0.5 }))).toBeUndefined();
    expect(hooks.shouldStop.call(check(2, { 'val/loss': 0.5 }))).toMatch(/did not improve for 1 epochs/);
  });
});

describe('metrics-log', () => {
  it('appends one JSON line per epoch and one every N steps, keeping earlier lines', async () => {
    const dir = tmp();
    const trainer = fakeTrainer(dir);
    const hooks = new Hooks();
    new MetricsLogCallback(MetricsLogOptions.parse({ everySteps: 2 })).apply(hooks);
    for (let epoch = 0; epoch < 2; epoch++) {
      for (let s = 0; s < 3; s++) await hooks.afterTrainStep.promise(stepResult(trainer, epoch, s));
      await hooks.afterEpoch.promise(epochEnd(trainer, epoch, { 'train/loss': 0.5 - epoch / 10, 'val/loss': Number.NaN }));
    }
    const lines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // Steps completed: 1..6; lines at 2, 4, 6, interleaved with the two epochs.
    expect(lines.map((l) => `${l.kind}:${l.kind === 'step' ? l.step : l.epoch}`)).toEqual(['step:2', 'epoch:1', 'step:4', 'step:6', 'epoch:2']);
    expect(lines[1]['train/loss']).toBe(0.5);
    expect(lines[1]['val/loss']).toBeNull();
    expect(lines[0].loss).toBeCloseTo(1 / 2, 12);
    expect(lines[0]['running/loss']).toBe(0.5);
  });
});

describe('grad-norm-monitor', () => {
  it('reports per-epoch statistics and warns on spikes and non-finite norms', async () => {
    const trainer = fakeTrainer(tmp());
    const logger = new MemoryLogger();
    const hooks = new Hooks();
    const cb = new GradNormMonitorCallback(GradNormMonitorOptions.parse({ warmupSteps: 3, spikeFactor: 5, window: 4 }), logger);
    cb.apply(hooks);
    const norms = [1, 2, 1, 2, 30, Number.NaN];
    await hooks.beforeEpoch.promise({ trainer, epoch: 0, epochs: 1, stepsPerEpoch: norms.length });
    for (const [i, gradNorm] of norms.entries()) await hooks.afterTrainStep.promise(stepResult(trainer, 0, i, { gradNorm }));
    const logs: Logs = {};
    await hooks.afterEpoch.promise(epochEnd(trainer, 0, logs));
    const finite = [1, 2, 1, 2, 30];
    const mean = finite.reduce((a, b) => a + b) / 5;
    const std = Math.sqrt(finite.reduce((s, x) => s + (x - mean) ** 2, 0) / 5);
    const stats = cb.history[0];
    expect(stats).toMatchObject({ steps: 5, min: 1, max: 30, spikes: 1, nonFinite: 1 });
    expect(stats.mean).toBeCloseTo(mean, 12);
    expect(stats.std).toBeCloseTo(std, 12);
    // 30 > 5 × mean(1, 2, 1, 2) = 7.5 is a spike; 2 after warmup is not.
    const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/spike at step 5/);
    expect(warnings[1]).toMatch(/NaN/);
    expect(logs['grad_norm/max']).toBe(30);
  });
});

describe('progress-bar', () => {
  const collect = (stream: PassThrough): (() => string) => {
    const chunks: string[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c.toString()));
    return () => chunks.join('');
  };

  async function runTwoEpochs(cb: ProgressBarCallback): Promise<void> {
    const trainer = fakeTrainer(tmp());
    const hooks = new Hooks();
    cb.apply(hooks);
    for (let epoch = 0; epoch < 2; epoch++) {
      await hooks.beforeEpoch.promise({ trainer, epoch, epochs: 2, stepsPerEpoch: 3 });
      for (let s = 0; s < 3; s++) await hooks.afterTrainStep.promise(stepResult(trainer, epoch, s, { lr: 0.125 }));
      await hooks.afterEpoch.promise(epochEnd(trainer, epoch, { 'train/loss': 0.25, 'val/loss': 0.5, 'val/accuracy': 0.75 }, 2));
    }
    await hooks.afterRun.promise({ trainer, logs: {}, epochsRun: 2, stepsRun: 6 });
  }

  it('prints one line per epoch when stderr is not a terminal', async () => {
    const stream = new PassThrough();
    const output = collect(stream);
    await runTwoEpochs(new ProgressBarCallback({ force: false }, stream));
    const lines = output().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^epoch 1\/2 {2}3 steps {2}loss 0\.2500 {2}lr 0\.1250 {2}val\/loss 0\.5000 val\/accuracy 0\.7500 {2}\d+\.\ds$/);
    expect(lines[1]).toMatch(/^epoch 2\/2 /);
  });

  it('draws a bar with step/total, loss, lr and the validation metrics when forced', async () => {
    const stream = new PassThrough();
    const output = collect(stream);
    await runTwoEpochs(new ProgressBarCallback({ force: true }, stream));
    const text = output();
    expect(text).toContain('epoch 1/2');
    expect(text).toContain('3/3 loss 0.5000 lr 0.1250');
    expect(text).toContain('val/loss 0.5000 val/accuracy 0.7500');
    expect(text).toContain('epoch 2/2');
  });
});
