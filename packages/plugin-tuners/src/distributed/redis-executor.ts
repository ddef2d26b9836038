import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@kiln/core';
import type { EpochListener, TrialExecutor, TrialJob, TrialOutcome } from '../study/executor';
import { aliveKey, connectRedis, decisionKey, DEFAULT_QUEUE, displayRedisUrl, KEY_PREFIX, type ProgressReport } from './redis-connection';

export interface RedisExecutorOptions {
  /** `redis://host:port`. */
  url: string;
  /** The study's unique id: job ids are `<studyId>.<trial>`. */
  studyId: string;
  queue?: string;
  /** Trials in flight; default: the workers listening on the queue (at least 1). */
  slots?: number;
  logger?: Logger;
  /** How often the number of live workers is read (ms). */
  pollMs?: number;
}

/** Seconds a decision stays in Redis for a worker that has not asked for it yet. */
const DECISION_TTL_S = 600;
/** The coordinator's alive key is renewed this often and lapses after ALIVE_TTL_MS without renewal. */
const ALIVE_EVERY_MS = 1000;
const ALIVE_TTL_MS = 4000;

/** A job's data: the trial, and the study whose coordinator answers its epoch reports. */
export type QueuedTrial = TrialJob & { studyId: string };
/** Finished jobs stay in Redis a week, so a coordinator restarted later still finds their results. */
const KEEP_S = 7 * 24 * 3600;

/**
 * The coordinator side of a distributed study: every trial becomes a BullMQ job on the queue
 * (job id `<study>.<trial>`, so a restarted coordinator attaches to the jobs it left behind);
 * `kiln worker` processes take them. A worker reports each epoch as job progress; the study
 * answers continue/prune on a Redis list the worker blocks on, so pruners work across machines,
 * and ASHA/Hyperband promote from results in the order they arrive. A worker that dies holds its job's lock until it expires; BullMQ's stalled-job check
 * then gives the job to another worker (or fails it after maxStalledCount), never dropping it.
 */
export class RedisExecutor implements TrialExecutor {
  readonly name = 'redis';
  readonly reattaches = true;
  readonly queueName: string;
  private readonly listeners = new Map<string, EpochListener>();
  private workers = 0;
  private poller?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private growth?: { promise: Promise<void>; resolve: () => void };

  private constructor(
    private readonly o: RedisExecutorOptions,
    private readonly redis: Redis,
    readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly connections: Redis[],
  ) {
    this.queueName = o.queue ?? DEFAULT_QUEUE;
    events.on('progress', ({ jobId, data }) => this.onProgress(jobId, data));
  }

  /** Connects (a clear error when Redis is not there), and starts counting the queue's workers. */
  static async connect(o: RedisExecutorOptions): Promise<RedisExecutor> {
    const redis = await connectRedis(o.url, '--redis');
    const name = o.queue ?? DEFAULT_QUEUE;
    // BullMQ leaves connections it is given open on close(): these are closed in close().
    const connections = [redis.duplicate(), redis.duplicate()];
    const queue = new Queue(name, { connection: connections[0], prefix: KEY_PREFIX });
    const events = new QueueEvents(name, { connection: connections[1], prefix: KEY_PREFIX });
    queue.on('error', (e) => o.logger?.warn(`queue ${name}: ${e.message}`));
    events.on('error', (e) => o.logger?.warn(`queue events ${name}: ${e.message}`));
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    const executor = new RedisExecutor(o, redis, queue, events, connections);
    await executor.countWorkers();
    if (executor.workers === 0) o.logger?.info(`queue ${name}: no worker listening yet; start some with kiln worker --redis ${displayRedisUrl(o.url)}${o.queue ? ` --queue ${o.queue}` : ''}`);
    executor.poller = setInterval(() => void executor.countWorkers(), o.pollMs ?? 1000);
    executor.poller.unref();
    // Workers wait for answers to epoch reports only while this key says the study is there.
    const alive = () => redis.set(aliveKey(name, o.studyId), '1', 'PX', ALIVE_TTL_MS).catch(() => undefined);
    await alive();
    executor.heartbeat = setInterval(() => void alive(), ALIVE_EVERY_MS);
    executor.heartbeat.unref();
    return executor;
  }

  get slots(): number {
    return this.o.slots ?? Math.max(1, this.workers);
  }

  private async countWorkers(): Promise<void> {
    let n: number;
    try {
      n = await this.queue.getWorkersCount();
    } catch {
      return; // CLIENT LIST may be disabled (managed Redis): keep the last count
    }
    if (n !== this.workers) this.o.logger?.info(`queue ${this.queueName}: ${n} worker${n === 1 ? '' : 's'} listening`);
    const grown = n > this.workers;
    this.workers = n;
    if (grown) this.wake();
  }

  private wake(): void {
    this.growth?.resolve();
    this.growth = undefined;
  }

  capacityChanged(): Promise<void> {
    if (!this.growth) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.growth = { promise, resolve };
    }
    return this.growth.promise;
  }

  jobId(trial: string): string {
    return `${this.o.studyId}.${trial}`;
  }

  private onProgress(jobId: string, data: unknown): void {
    const listener = this.listeners.get(jobId);
    const report = data as ProgressReport;
    if (!listener || typeof report !== 'object' || report === null || typeof report.epoch !== 'number') return;
    const key = decisionKey(this.queueName, jobId, report.attempt ?? 1, report.epoch);
    Promise.resolve()
      .then(() => listener({ epoch: report.epoch, value: report.value, logs: report.logs }))
      .catch(() => 'continue' as const)
      .then((decision) => this.redis.multi().del(key).lpush(key, decision).expire(key, DECISION_TTL_S).exec())
      .catch((e: Error) => this.o.logger?.warn(`trial job ${jobId}: could not send the decision for epoch ${report.epoch}: ${e.message}`));
  }

  async run(job: TrialJob, onEpoch: EpochListener): Promise<TrialOutcome> {
    const id = this.jobId(job.suggestion.id);
    this.listeners.set(id, onEpoch);
    try {
      let queued = await Job.fromId(this.queue, id);
      if (queued) {
        const state = await queued.getState();
        this.o.logger?.info(`trial ${job.suggestion.id}: attached to its job ${id} (${state})`);
        // Its worker may be waiting for the answer to a report sent while the study was down.
        if (state === 'active') this.onProgress(id, queued.progress);
      } else queued = await this.queue.add('trial', { ...job, studyId: this.o.studyId } satisfies QueuedTrial, { jobId: id, attempts: 2, removeOnComplete: { age: KEEP_S }, removeOnFail: { age: KEEP_S } });
      const outcome = (await queued.waitUntilFinished(this.events)) as TrialOutcome;
      return outcome;
    } catch (error) {
      return { status: 'failed', error: `trial job ${id} failed on its worker: ${(error as Error).message}`, runDir: job.runDir };
    } finally {
      this.listeners.delete(id);
    }
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.wake();
    // With Redis gone these would wait for it forever: 5 s, then the connections are cut.
    const patience = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
    await Promise.race([this.redis.del(aliveKey(this.queueName, this.o.studyId)).catch(() => undefined), patience]);
    await Promise.race([Promise.allSettled([this.events.close(), this.queue.close()]), patience]);
    for (const c of [...this.connections, this.redis]) c.disconnect();
  }
}
