import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { KilnError, MemoryLogger } from '@kiln/core';
import { RedisExecutor, runTrial, tune, type StudyData, type TrialJob, type TuneBlockInput } from '../src';
import { cleanup, kiln, mlflowRun, requireBuilt, SPACE, tempDir, tinyConfig } from './helpers';
import { freePort, spawnWorker, startRedis, type RedisServer, type WorkerProcess } from './redis';

// A real redis-server per file and `kiln worker` processes (the built CLI): trials cross process boundaries.
jest.setTimeout(60_000);

const DIST = path.resolve(__dirname, '..', 'dist', 'index.js');
const read = (file: string): StudyData => JSON.parse(fs.readFileSync(file, 'utf8')) as StudyData;
const byId = (s: StudyData) => Object.fromEntries(s.trials.map((t) => [t.id, t]));

let redis: RedisServer;
const workers: WorkerProcess[] = [];
let workDir: string;
/** The random-search study run in this process, the reference for the distributed ones. */
let local: StudyData;
const CRASH_QUEUE = 'crash';
const CRASH_WORKER = ['--queue', CRASH_QUEUE, '--lock-duration', '2500', '--stalled-interval', '700'];
let crashPair: WorkerProcess[] = [];

beforeAll(async () => {
  requireBuilt();
  redis = await startRedis();
  workDir = tempDir();
  // two workers on the default queue, shared by the studies below (each study has its own job ids)
  for (let i = 0; i < 2; i++) workers.push(spawnWorker(redis.url, workDir));
  // and two that give up a dead worker's job quickly, on their own queue, for the crash test
  crashPair = [0, 1].map(() => spawnWorker(redis.url, workDir, ...CRASH_WORKER));
  // while they start: the in-process reference study
  const dir = tempDir();
  const reference = tune(tinyConfig(dir, RANDOM), { cwd: dir, logger: new MemoryLogger() });
  await Promise.all([...workers, ...crashPair].map((w) => w.ready));
  local = read((await reference).studyFile);
});

afterAll(async () => {
  await Promise.all([...workers, ...crashPair].map((w) => w.kill()));
  await redis?.stop();
  cleanup();
});

const RANDOM: TuneBlockInput = { space: SPACE, objective: 'val/accuracy', mode: 'max', tuner: { type: 'random', trials: 4, epochs: 2 } };

describe('kiln worker processes on one Redis', () => {
  it('finish a random-search study with the in-process study’s trials, values and best', async () => {
    const dir = tempDir();
    const logger = new MemoryLogger();
    const outcome = await tune(tinyConfig(dir, RANDOM), { cwd: dir, redis: redis.url, logger });
    const remote = read(outcome.studyFile);
    expect(remote.trials.map((t) => t.status)).toEqual(local.trials.map(() => 'completed'));
    const localById = byId(local);
    for (const t of remote.trials) {
      // random search draws the same configurations whatever order they finish in; training is seeded
      expect(t.params).toEqual(localById[t.id].params);
      expect(t.value).toBe(localById[t.id].value);
      expect(t.epochs.map((e) => e.epoch)).toEqual([1, 2]);
      expect(t.attempts).toBe(1);
    }
    const best = [...local.trials].sort((a, b) => b.value! - a.value! || Number(a.id) - Number(b.id))[0];
    expect(outcome.best).toMatchObject({ trial: best.id, value: best.value, params: best.params });
    // the worker processes trained every trial; the study kept two in flight, one per listening worker
    for (const t of remote.trials) expect(workers.some((w) => w.log().includes(`trial ${t.id} (job ${remote.id}.${t.id})`))).toBe(true);
    expect(logger.lines.some((l) => l.message.includes('2 workers listening'))).toBe(true);
  });

  it('survives a restart of the coordinator: the running trial’s job is attached to, not run again', async () => {
    const dir = tempDir();
    // The first coordinator kills itself (SIGKILL) right after trial 2 reports its first epoch, while its worker waits for the answer.
    const killer = path.join(dir, 'kill-coordinator.js');
    fs.writeFileSync(
      killer,
      `module.exports = { name: 'kill-coordinator', version: '0.1.0', register(ctx) { ctx.hooks.onTrial.tapPromise('kill', async (e) => { if (process.env.KILN_KILL_AT && e.phase === 'epoch' && e.suggestion.id === process.env.KILN_KILL_AT) process.kill(process.pid, 'SIGKILL'); }); } };\n`,
    );
    // a median pruner that never prunes 2-epoch trials (warm-up 2): the workers wait for each epoch's answer
    const config = tinyConfig(dir, { ...RANDOM, pruner: { type: 'median', warmupEpochs: 2, minTrials: 1 } });
    const script = path.join(dir, 'coordinator.js');
    fs.writeFileSync(script, `require(${JSON.stringify(DIST)}).tune(${JSON.stringify({ ...config, plugins: [killer] })}, { cwd: ${JSON.stringify(dir)}, redis: ${JSON.stringify(redis.url)} });\n`);
    const child = spawn(process.execPath, [script], { stdio: 'ignore', env: { ...process.env, KILN_KILL_AT: '2' } });
    const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    const studyFile = path.join(dir, 'runs', 'tune', 'study.json');
    const before = read(studyFile);
    // the worker sees the study's alive key lapse and finishes trial 2 without an answer (not after its 60 s timeout)
    const finished = (log: string) => {
      const start = log.indexOf(`trial 2 (job ${before.id}.2)`);
      return start >= 0 && log.indexOf('trial 2 completed', start) > start;
    };
    const t0 = Date.now();
    while (!workers.some((w) => finished(w.log())) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 50));
    expect(Date.now() - t0).toBeLessThan(30_000);
    const running = before.trials.filter((t) => t.status === 'running').map((t) => t.id);
    expect(running).toContain('2');

    const logger = new MemoryLogger();
    const outcome = await tune(config, { cwd: dir, redis: redis.url, resume: true, logger });
    const after = read(outcome.studyFile);
    expect(after.id).toBe(before.id);
    expect(after.trials.map((t) => t.id)).toEqual(local.trials.map((t) => t.id));
    const localById = byId(local);
    for (const t of after.trials) {
      expect(t.status).toBe('completed');
      expect(t.value).toBe(localById[t.id].value);
      // attached to, never started over: one attempt, both epochs recorded
      expect(t.attempts).toBe(1);
      expect(t.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    }
    // trial 2 had reported an epoch, so its job existed (another running trial may have died before it was enqueued)
    expect(logger.lines.some((l) => l.message.startsWith(`trial 2: attached to its job ${before.id}.2`))).toBe(true);
  });

  it('a coordinator that attaches to a job whose worker waits for an answer gives it (from the job’s last progress)', async () => {
    const dir = tempDir();
    const job: TrialJob = {
      suggestion: { id: '0', params: {}, budget: { epochs: 2 } },
      source: { cwd: dir, inline: tinyConfig(dir, {}) as Record<string, unknown> },
      overrides: ['trainer.epochs=2', 'output.name="attach/trial-0"'],
      runDir: path.join(dir, 'runs', 'attach', 'trial-0'),
      objective: 'val/accuracy',
      pruning: true,
    };
    // the first coordinator gets epoch 1 and never answers (as if it hung or died right then)
    const first = await RedisExecutor.connect({ url: redis.url, studyId: 'attach-test' });
    let reported!: () => void;
    const firstReport = new Promise<void>((resolve) => (reported = resolve));
    void first.run(job, () => {
      reported();
      return new Promise<'continue'>(() => undefined);
    });
    await firstReport;
    const second = await RedisExecutor.connect({ url: redis.url, studyId: 'attach-test' });
    const seen: number[] = [];
    try {
      const outcome = await second.run(job, ({ epoch }) => {
        seen.push(epoch);
        return 'continue';
      });
      expect(seen).toEqual([1, 2]);
      expect(outcome).toMatchObject({ status: 'completed', attempts: 1 });
      expect(outcome.epochs!.map((e) => e.epoch)).toEqual([1, 2]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('prunes across processes: median stopping gives the in-process statuses (one trial at a time)', async () => {
    const block: TuneBlockInput = { ...RANDOM, tuner: { type: 'random', trials: 4, epochs: 3 }, pruner: 'median' };
    const a = tempDir();
    const inProcess = read((await tune(tinyConfig(a, block), { cwd: a, logger: new MemoryLogger() })).studyFile);
    const b = tempDir();
    const remote = read((await tune(tinyConfig(b, block), { cwd: b, redis: redis.url, slots: 1, logger: new MemoryLogger() })).studyFile);
    // the decision for each epoch went from the study to the worker through Redis
    expect(inProcess.trials.some((t) => t.status === 'pruned')).toBe(true);
    expect(remote.trials.map((t) => [t.id, t.status, t.epochs.length, t.value])).toEqual(inProcess.trials.map((t) => [t.id, t.status, t.epochs.length, t.value]));
  });

  it('ASHA on two workers: same configurations and rung-0 values as in-process; every promotion continues its own checkpoint', async () => {
    const block: TuneBlockInput = { ...RANDOM, tuner: { type: 'asha', minEpochs: 1, maxEpochs: 4, eta: 2, trials: 6 } };
    const a = tempDir();
    const inProcess = read((await tune(tinyConfig(a, block), { cwd: a, logger: new MemoryLogger() })).studyFile);
    const b = tempDir();
    const mlruns = path.join(b, 'mlruns');
    const tracked = { ...tinyConfig(b, block), tracker: { type: 'mlflow', uri: mlruns, register: false, systemTags: false } };
    const outcome = await tune(tracked, { cwd: b, redis: redis.url, logger: new MemoryLogger() });
    const remote = read(outcome.studyFile);
    // trials trained on the workers are nested runs under the study's run
    for (const t of remote.trials) expect(mlflowRun(mlruns, t.trackerRunId!).tag('mlflow.parentRunId')).toBe(remote.trackerRunId);
    const rung0 = (s: StudyData) => Object.fromEntries(s.trials.filter((t) => t.tags!.rung === 0).map((t) => [t.tags!.config, [t.params, t.value]]));
    // which configurations are drawn, and what they score after r epochs, does not depend on the finishing order
    expect(Object.keys(rung0(remote))).toHaveLength(6);
    expect(rung0(remote)).toEqual(rung0(inProcess));
    const remoteById = byId(remote);
    for (const t of remote.trials.filter((x) => x.resumeFrom !== undefined)) {
      const from = remoteById[t.resumeFrom!];
      expect(from.tags!.config).toBe(t.tags!.config);
      expect(t.tags!.rung).toBe(Number(from.tags!.rung) + 1);
      // rung k trains 1·2^k epochs; a promotion continues at the next epoch
      expect(t.epochs.map((e) => e.epoch)).toEqual(Array.from({ length: 2 ** Number(t.tags!.rung) - 2 ** Number(from.tags!.rung) }, (_, i) => 2 ** Number(from.tags!.rung) + i + 1));
    }
    // a promotion needs ⌊completed/η⌋ ≥ 1 results in its rung: at least one config reached rung 1
    expect(remote.trials.some((t) => t.tags!.rung === 1)).toBe(true);
    const completed = remote.trials.filter((t) => t.status === 'completed');
    expect(outcome.best!.value).toBe(Math.max(...completed.map((t) => t.value!)));
  });

  it('waits for workers when none listens yet, then runs on the one that joins', async () => {
    const dir = tempDir();
    const logger = new MemoryLogger();
    const study = tune(tinyConfig(dir, { ...RANDOM, tuner: { type: 'random', trials: 2, epochs: 1 } }), { cwd: dir, redis: redis.url, queue: 'late', logger });
    for (let i = 0; i < 2000 && !logger.lines.some((l) => l.message.includes('no worker listening yet')); i++) await new Promise((r) => setTimeout(r, 10));
    const late = spawnWorker(redis.url, dir, '--queue', 'late');
    workers.push(late);
    const outcome = await study;
    expect(logger.lines.some((l) => l.message === `queue late: no worker listening yet; start some with kiln worker --redis ${redis.url} --queue late`)).toBe(true);
    expect(read(outcome.studyFile).trials.map((t) => t.status)).toEqual(['completed', 'completed']);
    expect(late.log()).toMatch(/trial 1 completed/);
  });

  it('reports a trial that fails on the worker with its error; the study goes on', async () => {
    const dir = tempDir();
    const config = { ...tinyConfig(dir, { ...RANDOM, tuner: { type: 'random', trials: 2, epochs: 1 } }), data: { type: 'csv', path: 'no-such.csv', label: 'y' } };
    const outcome = await tune(config, { cwd: dir, redis: redis.url, logger: new MemoryLogger() });
    const study = read(outcome.studyFile);
    expect(study.trials.map((t) => t.status)).toEqual(['failed', 'failed']);
    for (const t of study.trials) expect(t.error).toContain(`cannot read ${path.join(dir, 'no-such.csv')}`);
    expect(outcome.best).toBeUndefined();
  });
});

describe('the CLI', () => {
  it('kiln tune --redis runs the study on the workers; kiln worker without --redis says what it needs', async () => {
    const dir = tempDir();
    const { output: _output, ...config } = tinyConfig(dir, { ...RANDOM, tuner: { type: 'random', trials: 3, epochs: 1 } });
    fs.writeFileSync(path.join(dir, 'kiln.config.json'), JSON.stringify({ ...config, plugins: ['@kiln/plugin-tuners'] }));
    const run = await kiln(dir, 'tune', '--redis', redis.url, '--json');
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { leaderboard: { status: string; value: number }[]; best: { value: number } };
    expect(result.leaderboard.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
    expect(result.best.value).toBe(Math.max(...result.leaderboard.map((r) => r.value)));
    const study = read(path.join(dir, 'runs', 'tune', 'study.json'));
    // trained by the worker processes, not here
    for (const t of study.trials) expect(workers.some((w) => w.log().includes(`(job ${study.id}.${t.id})`))).toBe(true);
    const worker = await kiln(dir, 'worker');
    expect(worker.code).toBe(1);
    expect(worker.stderr).toMatch(/error E_USAGE: --redis: kiln worker needs --redis <url>/);
  });
});

describe('a worker that dies mid-trial', () => {
  it('loses its job to another worker (BullMQ stalled-job check); the trial completes once, from the start', async () => {
    const dir = tempDir();
    const pair = crashPair;
    const job: TrialJob = {
      suggestion: { id: '0', params: {}, budget: { epochs: 3 } },
      source: { cwd: dir, inline: tinyConfig(dir, {}) as Record<string, unknown> },
      overrides: ['trainer.epochs=3', 'output.name="crash/trial-0"'],
      runDir: path.join(dir, 'runs', 'crash', 'trial-0'),
      objective: 'val/accuracy',
      pruning: true,
    };
    const executor = await RedisExecutor.connect({ url: redis.url, queue: CRASH_QUEUE, studyId: 'crash-test' });
    const seen: number[] = [];
    let survivor: WorkerProcess | undefined;
    try {
      const outcome = await executor.run(job, async ({ epoch }) => {
        seen.push(epoch);
        if (!survivor) {
          // whichever worker took the job is blocked on this very answer: kill it mid-trial
          let holder: WorkerProcess | undefined;
          for (let i = 0; i < 1000 && !holder; i++) {
            holder = pair.find((w) => w.log().includes('(job crash-test.0)'));
            if (!holder) await new Promise((r) => setTimeout(r, 10));
          }
          survivor = pair.find((w) => w !== holder)!;
          await holder!.kill();
        }
        return 'continue';
      });
      expect(outcome.status).toBe('completed');
      expect(outcome.attempts).toBe(2);
      expect(outcome.epochs!.map((e) => e.epoch)).toEqual([1, 2, 3]);
      // epoch 1 of the dead attempt, then the whole second attempt
      expect(seen).toEqual([1, 1, 2, 3]);
      expect(survivor!.log()).toContain('(job crash-test.0, attempt 2)');
      const reference = await runTrial({ ...job, runDir: path.join(dir, 'runs', 'reference'), overrides: ['trainer.epochs=3', 'output.name="reference"'] }, () => 'continue');
      expect(outcome.value).toBe(reference.value);
    } finally {
      await executor.close();
    }
  });
});

describe('an unreachable Redis', () => {
  it('fails before the study starts, naming the URL and how to fix it', async () => {
    const dir = tempDir();
    const url = `redis://127.0.0.1:${await freePort()}`;
    let error: unknown;
    try {
      await tune(tinyConfig(dir, RANDOM), { cwd: dir, redis: url });
    } catch (e) {
      error = e;
    }
    expect(KilnError.is(error)).toBe(true);
    const k = error as KilnError;
    expect(k.where).toBe('--redis');
    expect(k.message).toContain(`cannot reach Redis at ${url}`);
    expect(k.message).toContain('ECONNREFUSED');
    expect(k.hint).toContain('redis-server');
    expect(fs.existsSync(path.join(dir, 'runs'))).toBe(false);
  });
});
