import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  definePlugin,
  KilnError,
  MemoryLogger,
  readSafetensors,
  train,
  Tokens,
  type Availability,
  type KilnConfigInput,
  type ParamValue,
  type RunStatus,
  type StartRunOptions,
  type Tracker,
} from '@kiln/core';
import { removeProject, tempProject } from '../../../test/helpers/project';
import { enginePlugin } from './engine-fixture';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeProject));
function project(): string {
  const dir = tempProject();
  dirs.push(dir);
  return dir;
}

/** Everything a tracker is told, in order, kept in memory (runs survive across trainings). */
class RecordingTracker implements Tracker {
  readonly name = 'recording';
  static runs = new Map<string, { options: StartRunOptions; status: RunStatus | 'RUNNING'; events: string[] }>();
  private current?: string;
  async startRun(options: StartRunOptions) {
    const runId = `run${RecordingTracker.runs.size + 1}`;
    RecordingTracker.runs.set(runId, { options, status: 'RUNNING', events: ['start'] });
    this.current = runId;
    return { runId, location: `memory:${runId}` };
  }
  async resumeRun(runId: string) {
    const run = RecordingTracker.runs.get(runId)!;
    run.status = 'RUNNING';
    run.events.push('resume');
    this.current = runId;
    return { runId, location: `memory:${runId}` };
  }
  private push(event: string) {
    RecordingTracker.runs.get(this.current!)!.events.push(event);
  }
  async logParams(params: Record<string, ParamValue>) {
    this.push(`params:${Object.keys(params).length > 0}`);
  }
  async logMetrics(_metrics: Record<string, number>, step: number) {
    this.push(`metrics@${step}`);
  }
  async setTags() {}
  async logArtifact(_local: string, artifactPath?: string) {
    this.push(`artifact${artifactPath ? `:${artifactPath}` : ''}`);
  }
  async endRun(status: RunStatus) {
    RecordingTracker.runs.get(this.current!)!.status = status;
    this.push(`end:${status}`);
  }
  async flush() {
    this.push('flush');
  }
}

/** A real backend (tfjs cpu) whose options and availability the test chooses. */
const backendsPlugin = definePlugin({
  name: 'fixture-backends',
  version: '1.0.0',
  register(ctx) {
    ctx.provide(Tokens.Tracker, 'recording', () => new RecordingTracker(), z.strictObject({}));
    const make = (name: string, priority: number, availability: Availability) => (options: { label?: string }) => ({
      name,
      priority,
      availability: async () => availability,
      activate: async () => {
        await tf.setBackend('cpu');
        return { name, tfBackend: 'cpu', version: tf.version_core, threads: 1, details: { label: options.label ?? 'none' } };
      },
    });
    ctx.provide(Tokens.Backend, 'steady', make('steady', 1, { ok: true }), z.strictObject({ label: z.string().optional().describe('echoed in details') }));
    ctx.provide(Tokens.Backend, 'broken', make('broken', 9, { ok: false, reason: 'its addon did not build', warn: true }), z.strictObject({}));
  },
});

const base = (over: Partial<KilnConfigInput> = {}): KilnConfigInput => ({
  seed: 3,
  backend: 'steady',
  data: { type: 'blobs', train: 64, val: 32 },
  model: { type: 'linear' },
  loss: { type: 'ce' },
  optimizer: { type: 'momentum', lr: 0.2, momentum: 0.9 },
  metrics: [{ type: 'acc' }],
  callbacks: [{ type: 'save-last' }],
  trainer: { epochs: 4, batchSize: 16 },
  ...over,
});

const run = (config: KilnConfigInput, cwd: string, extra: Parameters<typeof train>[1] = {}) =>
  train(config, { cwd, logger: new MemoryLogger(), defaultPlugins: [], plugins: [enginePlugin, backendsPlugin], ...extra });

function weightsOf(file: string): Record<string, number[]> {
  const { tensors } = readSafetensors(file);
  return Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith('model/')).map(([k, t]) => [k, Array.from(t.data)]));
}
const last = (runDir: string) => path.join(runDir, 'checkpoints', 'last.safetensors');

describe('backend blocks', () => {
  it('passes a named backend the options of its block', async () => {
    const result = await run(base({ backend: { type: 'steady', label: 'from-config' }, trainer: { epochs: 1, batchSize: 16 } }), project());
    expect(result.backend).toMatchObject({ name: 'steady', details: { label: 'from-config' } });
  });

  it('checks those options against the backend schema', async () => {
    const error = await run(base({ backend: { type: 'steady', lable: 'typo' } }), project()).catch((e) => e);
    expect(KilnError.is(error)).toBe(true);
    expect(`${error.message} ${error.where}`).toMatch(/lable/);
    expect(error.where).toMatch(/backend/);
  });

  it('refuses options under auto, which cannot know whose they are', async () => {
    const error = await run(base({ backend: { type: 'auto', label: 'x' } }), project()).catch((e) => e);
    expect(KilnError.is(error)).toBe(true);
    expect(error.message).toMatch(/auto takes no options/);
  });

  it('auto says in one warning line why an installed backend was passed over', async () => {
    const logger = new MemoryLogger();
    const result = await run(base({ backend: 'auto', trainer: { epochs: 1, batchSize: 16 } }), project(), { logger });
    expect(result.backend?.name).toBe('steady');
    const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings).toEqual([expect.stringMatching(/'broken' is installed but cannot run: its addon did not build/)]);
  });
});

describe('run options', () => {
  it('continues a checkpoint into a new run dir to the weights of an uninterrupted run, leaving the source untouched', async () => {
    const cwd = project();
    const full = await run(base({ output: { name: 'full' } }), cwd);
    const first = await run(base({ output: { name: 'rung0' }, trainer: { epochs: 2, batchSize: 16 } }), cwd);
    const before = fs.readFileSync(last(first.runDir));
    const promoted = await run(base(), cwd, { resume: last(first.runDir), runDir: path.join(cwd, 'runs', 'rung1') });
    expect(promoted.runDir).toBe(path.join(cwd, 'runs', 'rung1'));
    expect(promoted.epochsRun).toBe(4);
    expect(weightsOf(last(promoted.runDir))).toEqual(weightsOf(last(full.runDir)));
    expect(fs.readFileSync(last(first.runDir)).equals(before)).toBe(true);
    const record = JSON.parse(fs.readFileSync(promoted.runRecord, 'utf8'));
    expect(record.resumedFrom).toBe(last(first.runDir));
  });

  it('initWeights starts from saved weights with a fresh optimizer and epoch count', async () => {
    const cwd = project();
    const source = await run(base({ output: { name: 'source' } }), cwd);
    let atStart: Record<string, number[]> = {};
    const probe = definePlugin({
      name: 'probe',
      version: '1.0.0',
      register(ctx) {
        ctx.hooks.beforeRun.tap('Probe', ({ trainer, startEpoch, startStep }) => {
          atStart = Object.fromEntries(Object.entries(trainer.model.getWeights()).map(([k, t]) => [`model/${k}`, Array.from(t.dataSync())]));
          expect([startEpoch, startStep]).toEqual([0, 0]);
        });
      },
    });
    const tuned = await train(base({ output: { name: 'tuned' }, trainer: { epochs: 1, batchSize: 16 } }), {
      cwd,
      logger: new MemoryLogger(),
      defaultPlugins: [],
      plugins: [enginePlugin, backendsPlugin, probe],
      initWeights: source.runDir,
    });
    expect(atStart).toEqual(weightsOf(last(source.runDir)));
    expect(tuned.epochsRun).toBe(1);
    expect(tuned.dataset?.classNames).toEqual(['a', 'b', 'c', 'd']);
    const { metadata } = readSafetensors(last(tuned.runDir));
    expect(JSON.parse(metadata.kiln).optimizer.iterations).toBe(4); // 64 rows / 16: this run's steps only
  });

  it('two runs started in the same second get their own directories', async () => {
    const cwd = project();
    const config = base({ trainer: { epochs: 1, batchSize: 16 } });
    const [a, b, c] = [await run(config, cwd), await run(config, cwd), await run(config, cwd)];
    expect(new Set([a.runDir, b.runDir, c.runDir]).size).toBe(3);
    const names = [a, b, c].map((r) => path.basename(r.runDir));
    // <yyyymmdd-hhmmss>-<model>, then -2, -3 when that name is taken.
    for (const name of names) expect(name).toMatch(/^\d{8}-\d{6}-linear(-\d+)?$/);
  });

  it('refuses resume together with initWeights', async () => {
    const cwd = project();
    const error = await run(base(), cwd, { resume: true, initWeights: 'x' }).catch((e) => e);
    expect(KilnError.is(error)).toBe(true);
    expect(error.where).toBe('--init-weights');
  });
});

describe('tracking', () => {
  it('nests a run under a parent, flushes after every epoch, and continues the same run on resume', async () => {
    const cwd = project();
    const config = base({ tracker: { type: 'recording' }, output: { name: 'tracked' }, trainer: { epochs: 2, batchSize: 16 } });
    const first = await run(config, cwd, { trackerRun: { parentRunId: 'study-1', runName: 'trial-7', tags: { 'kiln.trial': '7' } } });
    const id = first.trackerRunId!;
    const tracked = RecordingTracker.runs.get(id)!;
    expect(tracked.options).toMatchObject({ parentRunId: 'study-1', runName: 'trial-7', tags: expect.objectContaining({ 'kiln.trial': '7', 'kiln.runDir': first.runDir }) });
    // 64 rows / batch 16 = 4 steps per epoch.
    expect(tracked.events.filter((e) => e.startsWith('metrics') || e === 'flush')).toEqual(['metrics@4', 'flush', 'metrics@8', 'flush']);
    expect(tracked.status).toBe('FINISHED');
    expect(JSON.parse(fs.readFileSync(first.runRecord, 'utf8')).trackerRunId).toBe(id);

    const resumed = await run(base({ tracker: { type: 'recording' }, output: { name: 'tracked' }, trainer: { epochs: 3, batchSize: 16 } }), cwd, { resume: first.runDir });
    expect(resumed.trackerRunId).toBe(id);
    expect(tracked.events.slice(tracked.events.indexOf('resume'))).toEqual(['resume', 'metrics@12', 'flush', 'artifact', 'artifact', 'end:FINISHED']);
  });
});
