import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ConsoleLogger, type Logger } from '@kiln/core';
import { runTrial } from '../study/run-trial';
import type { TrialOutcome } from '../study/executor';
import { aliveKey, connectRedis, decisionKey, DEFAULT_QUEUE, KEY_PREFIX, type ProgressReport } from './redis-connection';
import type { QueuedTrial } from './redis-executor';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface TrialWorkerOptions {
  url: string;
  queue?: string;
  /** ms a job stays locked without renewal before another worker may take it over (BullMQ lockDuration). */
  lockDuration?: number;
  /** ms between checks for jobs whose worker died (BullMQ stalledInterval). */
  stalledInterval?: number;
  /** Times a job may lose its worker before it is failed instead of retried (BullMQ maxStalledCount). */
  maxStalledCount?: number;
  /** Longest wait (s) for the study's continue/prune answer to an epoch report; shorter when the study is gone. */
  decisionTimeout?: number;
  /** Where the worker says what it does (trial started/finished). */
  logger?: Logger;
  /** The trainer's own logger (quiet by default). */
  trainLogger?: Logger;
}

/**
 * One trial at a time from a BullMQ queue, trained in this process through core's API
 * (tfjs and the seeded Math.random are process-wide, so more trials at once means more
 * processes: `kiln worker --concurrency N` forks N of these).
 */
export class TrialWorker {
  readonly done: Promise<void>;
  private finished!: () => void;

  private constructor(
    readonly worker: Worker,
    private readonly connections: Redis[],
    private readonly state: { busy: boolean },
  ) {
    this.done = new Promise((resolve) => (this.finished = resolve));
    worker.on('closed', () => this.finished());
  }

  static async start(o: TrialWorkerOptions): Promise<TrialWorker> {
    const redis = await connectRedis(o.url, '--redis');
    const queue = o.queue ?? DEFAULT_QUEUE;
    const logger = o.logger ?? new ConsoleLogger('info');
    const trainLogger = o.trainLogger ?? new ConsoleLogger('warn');
    /** The study's answer; 'continue' at once when its coordinator is gone (it may be restarting). */
    const decision = async (blocking: Redis, data: QueuedTrial, key: string): Promise<'continue' | 'prune'> => {
      const deadline = Date.now() + (o.decisionTimeout ?? 60) * 1000;
      while (Date.now() < deadline) {
        const answer = await blocking.blpop(key, 1);
        if (answer) return answer[1] === 'prune' ? 'prune' : 'continue';
        if (!data.studyId || !(await blocking.exists(aliveKey(queue, data.studyId)))) return 'continue';
      }
      return 'continue';
    };
    const state = { busy: false };
    const processor = async (job: Job<QueuedTrial, TrialOutcome>): Promise<TrialOutcome> => {
      const data = job.data;
      const t0 = Date.now();
      const attempt = job.attemptsStarted;
      logger.info(`trial ${data.suggestion.id} (job ${job.id}${attempt > 1 ? `, attempt ${attempt}` : ''}): ${data.suggestion.budget.epochs} epochs`);
      const blocking = redis.duplicate();
      blocking.on('error', () => undefined);
      state.busy = true;
      try {
        const outcome = await runTrial(
          data,
          async (report) => {
            await job.updateProgress({ ...report, attempt } satisfies ProgressReport);
            // Without a pruner the answer is always 'continue': no round trip through the coordinator.
            if (!data.pruning) return 'continue';
            return decision(blocking, data, decisionKey(queue, job.id!, attempt, report.epoch));
          },
          trainLogger,
        );
        logger.info(`trial ${data.suggestion.id} ${outcome.status}${outcome.value === undefined ? '' : `: ${data.objective}=${outcome.value}`} (${((Date.now() - t0) / 1000).toFixed(1)}s)${outcome.error ? `\n  ${outcome.error.split('\n')[0]}` : ''}`);
        return { ...outcome, attempts: attempt };
      } finally {
        state.busy = false;
        blocking.disconnect();
      }
    };
    // BullMQ leaves a connection it is given open on close(): close() below ends it.
    const connection = redis.duplicate();
    const worker = new Worker<QueuedTrial, TrialOutcome>(queue, processor, {
      connection,
      prefix: KEY_PREFIX,
      concurrency: 1,
      lockDuration: o.lockDuration ?? 30_000,
      stalledInterval: o.stalledInterval ?? 30_000,
      maxStalledCount: o.maxStalledCount ?? 1,
      autorun: false,
    });
    worker.on('error', (e) => logger.warn(`worker: ${e.message}`));
    const self = new TrialWorker(worker, [connection, redis], state);
    void worker.run();
    await worker.waitUntilReady();
    return self;
  }

  /** Stops taking jobs; finishes the running trial unless `force`. False when BullMQ could not close cleanly (Redis gone). */
  async close(force = false): Promise<boolean> {
    let closed = false;
    const closing = this.worker.close(force).finally(() => (closed = true));
    // With Redis gone, BullMQ's close waits for a reconnection that may never come: once no trial runs, give it 5 s.
    const patience = async () => {
      while (this.state.busy && !closed) await sleep(200);
      for (let waited = 0; waited < 5000 && !closed; waited += 100) await sleep(100);
    };
    await Promise.race([closing, patience()]);
    for (const c of this.connections) c.disconnect();
    this.finished();
    return closed;
  }
}
