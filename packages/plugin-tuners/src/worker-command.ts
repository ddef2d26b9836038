import * as fs from 'node:fs';
import * as path from 'node:path';
import { fork } from 'node:child_process';
import { UsageError, type Command } from '@kiln/core';
import { connectRedis, DEFAULT_QUEUE, displayRedisUrl } from './distributed/redis-connection';
import { TrialWorker, type TrialWorkerOptions } from './distributed/trial-worker';

function positiveInt(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} expects a positive integer, got '${String(value)}'`, { where: flag });
  return n;
}

/** The compiled per-process worker (dist/distributed/worker-process.js), also when running from sources. */
function workerProcessScript(): string {
  const candidates = [path.join(__dirname, 'distributed', 'worker-process.js'), path.join(__dirname, '..', 'dist', 'distributed', 'worker-process.js')];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) throw new UsageError('the worker process script is not built', { where: '--concurrency', hint: 'run npx tsc -b packages/plugin-tuners (or npm run build)' });
  return found;
}

/** `kiln worker --redis redis://host:port`: trains the trials that `kiln tune --redis` queues, until stopped (Ctrl-C finishes the running trial). */
export function workerCommand(): Command {
  return {
    name: 'worker',
    description: 'run tuning trials from a Redis queue (kiln tune --redis) until stopped',
    options: [
      { flags: '--redis <url>', description: 'Redis server of the study, e.g. redis://127.0.0.1:6379' },
      { flags: '--queue <name>', description: `queue name (default: ${DEFAULT_QUEUE}; the same as kiln tune --queue)` },
      { flags: '--concurrency <n>', description: 'trials at once, each in its own process (default: 1)' },
      { flags: '--lock-duration <ms>', description: 'ms without a sign of life before a trial is given to another worker (default: 30000)' },
      { flags: '--stalled-interval <ms>', description: 'ms between checks for trials whose worker died (default: 30000)' },
    ],
    async run(_args, options, { logger }) {
      if (typeof options.redis !== 'string') throw new UsageError('kiln worker needs --redis <url>', { where: '--redis', hint: 'pass the Redis server kiln tune --redis uses, e.g. --redis redis://127.0.0.1:6379' });
      const workerOptions: TrialWorkerOptions = {
        url: options.redis,
        queue: options.queue as string | undefined,
        lockDuration: positiveInt(options.lockDuration, '--lock-duration'),
        stalledInterval: positiveInt(options.stalledInterval, '--stalled-interval'),
      };
      const concurrency = positiveInt(options.concurrency, '--concurrency') ?? 1;
      const signals = ['SIGINT', 'SIGTERM'] as const;
      if (concurrency === 1) {
        const worker = await TrialWorker.start({ ...workerOptions, logger });
        logger.info(`worker: taking trials from queue ${workerOptions.queue ?? DEFAULT_QUEUE} at ${displayRedisUrl(workerOptions.url)} (Ctrl-C stops after the running trial)`);
        const stop = (signal: NodeJS.Signals) =>
          void worker.close().then((clean) => {
            // BullMQ's own Redis connections keep retrying when the server is gone: nothing else would end the process.
            if (!clean) process.exit(signal === 'SIGINT' ? 130 : 143);
          });
        for (const s of signals) process.once(s, stop);
        await worker.done;
        for (const s of signals) process.off(s, stop);
        return 0;
      }
      (await connectRedis(workerOptions.url, '--redis')).disconnect();
      const script = workerProcessScript();
      const children = Array.from({ length: concurrency }, () => fork(script, [JSON.stringify(workerOptions)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      logger.info(`worker: ${concurrency} processes taking trials from queue ${workerOptions.queue ?? DEFAULT_QUEUE} at ${displayRedisUrl(workerOptions.url)}`);
      const stop = (signal: NodeJS.Signals) => children.forEach((c) => c.kill(signal));
      for (const s of signals) process.on(s, stop);
      const codes = await Promise.all(children.map((c) => new Promise<number>((resolve) => c.on('exit', (code) => resolve(code ?? 1)))));
      for (const s of signals) process.off(s, stop);
      return codes.every((c) => c === 0) ? 0 : 1;
    },
  };
}
