import IORedis, { type Redis } from 'ioredis';
import { UsageError } from '@kiln/core';

/** Queue the coordinator and the workers share unless `--queue` says otherwise. */
export const DEFAULT_QUEUE = 'kiln-trials';
/** Key prefix of every BullMQ and Kiln key in Redis. */
export const KEY_PREFIX = 'kiln';

/** Redis key holding the study's answer (continue/prune) to one epoch report of one attempt of a job. */
export function decisionKey(queue: string, jobId: string, attempt: number, epoch: number): string {
  return `${KEY_PREFIX}:${queue}:decision:${jobId}:${attempt}:${epoch}`;
}

/** Set by a live coordinator (expiring): a worker waits for answers only while it exists. */
export function aliveKey(queue: string, studyId: string): string {
  return `${KEY_PREFIX}:${queue}:alive:${studyId}`;
}

/** What a worker sends as job progress after each epoch: the report, and which attempt of the job made it. */
export interface ProgressReport {
  epoch: number;
  value: number;
  logs: Record<string, number>;
  attempt: number;
}

/** Checks a `--redis` value: `redis://[user:pass@]host[:port][/db]` or `rediss://…`. */
export function checkRedisUrl(url: string, where: string): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || !parsed.hostname) {
    throw new UsageError(`'${displayRedisUrl(url)}' is not a Redis URL`, { where, hint: 'pass redis://host:port, e.g. --redis redis://127.0.0.1:6379' });
  }
  return parsed;
}

/** The URL for messages: a password in it is masked. */
export function displayRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Opens a connection and PINGs it, failing fast with a clear error when nobody answers; the
 * connection then reconnects on its own (BullMQ needs maxRetriesPerRequest: null).
 */
export async function connectRedis(url: string, where: string, timeoutMs = 5000): Promise<Redis> {
  checkRedisUrl(url, where);
  let connected = false;
  const client = new IORedis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    connectTimeout: timeoutMs,
    retryStrategy: (times) => (connected ? Math.min(times * 200, 2000) : null),
  });
  let lastError: Error | undefined;
  client.on('error', (e: Error) => (lastError = e));
  try {
    await client.connect();
    await client.ping();
    connected = true;
    return client;
  } catch (error) {
    client.disconnect();
    const reason = (lastError ?? (error as Error)).message;
    throw new UsageError(`cannot reach Redis at ${displayRedisUrl(url)}: ${reason}`, {
      where,
      hint: 'start a server (redis-server, or redis-server --port <port> for another port) or check the host and port given to --redis',
    });
  }
}
