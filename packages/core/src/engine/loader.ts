import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BackendError, ConfigError, DataError, KilnError, PluginError, TrainingError, UsageError, type KilnErrorOptions } from '../errors';
import type { ResolvedConfig } from '../config/load';
import type { Origin } from '../config/origins';
import type { KilnConfig } from '../config/schema';
import type { Batch, Dataset, Split } from '../points/data';
import type { Logger } from '../services/logger';
import { batchesOf, batchFromArrays, chunksOf, type BatchArrays } from './collate';

/**
 * Where a run's batches come from. `batches` yields the batches of `indices` in order; leaving
 * the loop early (a step budget, early stopping, an error) releases whatever was prepared ahead.
 */
export interface BatchLoader {
  readonly description: string;
  batches(dataset: Dataset, indices: readonly number[], batchSize: number, weightOf?: (index: number) => number): AsyncGenerator<Batch, void, undefined>;
  /** Stops any threads the loader started; the loader cannot be used afterwards. */
  close(): Promise<void>;
}

/** Reads and collates each batch on the training thread when it is asked for (`trainer.workers: 0`, PyTorch's `num_workers=0`). */
export class InlineLoader implements BatchLoader {
  readonly description = 'in-process (trainer.workers: 0)';

  async *batches(dataset: Dataset, indices: readonly number[], batchSize: number, weightOf?: (index: number) => number): AsyncGenerator<Batch, void, undefined> {
    yield* batchesOf(dataset, indices, batchSize, weightOf);
  }

  async close(): Promise<void> {}
}

/** A KilnError (or any error) as plain data, to cross a thread boundary. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  where?: string;
  hint?: string;
  stack?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (KilnError.is(error)) return { name: error.name, message: error.message, code: error.code, where: error.where, hint: error.hint, stack: error.stack };
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

const BY_CODE: Record<string, new (message: string, options?: KilnErrorOptions) => KilnError> = {
  E_CONFIG: ConfigError,
  E_PLUGIN: PluginError,
  E_DATA: DataError,
  E_BACKEND: BackendError,
  E_TRAIN: TrainingError,
  E_USAGE: UsageError,
};

/** The error a worker threw, as the same KilnError class (where and hint kept); other errors become TrainingErrors naming the worker. */
export function reviveError(error: SerializedError, worker: string): KilnError {
  const Kind = error.code ? BY_CODE[error.code] : undefined;
  if (Kind) return new Kind(error.message, { where: error.where, hint: error.hint });
  return new TrainingError(`${worker}: ${error.name}: ${error.message}`, {
    hint: 'the data loader worker failed while reading data; run with trainer.workers: 0 to see the full error on the training thread',
    cause: error.stack,
  });
}

/** What a loader worker is started with: the resolved config as plain data, and the splits to load. */
export interface WorkerInit {
  config: KilnConfig;
  raw: Record<string, unknown>;
  origins: [string, Origin][];
  filepath?: string;
  sources: string[];
  baseDir: string;
  defaultPlugins: string[];
  splits: Split[];
}

export type ToWorker = { type: 'batch'; id: number; split: Split; indices: number[] };
export type FromWorker =
  | { type: 'ready'; sizes: Partial<Record<Split, number>> }
  | { type: 'batch'; id: number; arrays: BatchArrays }
  | { type: 'error'; id?: number; error: SerializedError }
  | { type: 'log'; level: 'warn' | 'error'; message: string };

/** The compiled worker script: beside this file in dist, or in dist when this runs from sources (tests). */
function workerScript(): string {
  const beside = path.join(__dirname, 'loader-worker.js');
  if (fs.existsSync(beside)) return beside;
  const built = path.resolve(__dirname, '../../dist/engine/loader-worker.js');
  if (fs.existsSync(built)) return built;
  throw new TrainingError('the data loader worker script (dist/engine/loader-worker.js) is missing', {
    where: 'trainer.workers',
    hint: 'build @kiln/core first (npm run build), or set trainer.workers: 0',
  });
}

/** One worker thread with its own copy of the reader; requests are answered in any order, matched by id. */
class LoaderThread {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (arrays: BatchArrays) => void; reject: (error: Error) => void }>();
  private failure?: Error;
  /** Example count of each split the worker loaded. */
  sizes: Partial<Record<Split, number>> = {};

  private constructor(private readonly worker: Worker, readonly label: string) {}

  static start(index: number, init: WorkerInit, logger: Logger): Promise<LoaderThread> {
    const label = `data loader worker ${index}`;
    const worker = new Worker(workerScript(), { workerData: init, stdout: false, stderr: false });
    const thread = new LoaderThread(worker, label);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'log') logger[message.level](`${label}: ${message.message}`);
        else if (message.type === 'ready') {
          ready = true;
          thread.sizes = message.sizes;
          resolve(thread);
        } else if (message.type === 'batch') thread.settle(message.id, message.arrays);
        else if (message.id !== undefined) thread.settle(message.id, undefined, reviveError(message.error, label));
        else {
          const error = reviveError(message.error, label);
          if (!ready) reject(error);
          thread.fail(error);
        }
      });
      worker.on('error', (error) => {
        if (!ready) reject(error);
        thread.fail(new TrainingError(`${label} crashed: ${error.message}`, { hint: 'set trainer.workers: 0 to read data on the training thread', cause: error }));
      });
      worker.on('exit', (code) => {
        const error = new TrainingError(`${label} exited (code ${code})`, { hint: 'set trainer.workers: 0 to read data on the training thread' });
        if (!ready) reject(error);
        thread.fail(error);
      });
    });
  }

  /** Collated arrays of `indices` of `split`. */
  request(split: Split, indices: number[]): Promise<BatchArrays> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'batch', id, split, indices } satisfies ToWorker);
    });
  }

  private settle(id: number, arrays?: BatchArrays, error?: Error): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    if (error) entry.reject(error);
    else entry.resolve(arrays!);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const entry of this.pending.values()) entry.reject(this.failure);
    this.pending.clear();
  }

  async stop(): Promise<void> {
    this.failure ??= new TrainingError(`${this.label} was stopped`);
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

export interface WorkerLoaderOptions {
  resolved: ResolvedConfig;
  /** Plugins loaded by name when installed (the run's default plugins). */
  defaultPlugins: string[];
  /** Which split each of the run's datasets is: a worker loads the same split from its own reader. */
  splits: Map<Dataset, Split>;
  workers: number;
  /** Batches each worker prepares ahead of the one training (PyTorch's `prefetch_factor`). */
  prefetch: number;
  logger: Logger;
}

/**
 * Reads and collates batches in worker threads (`trainer.workers: N`, PyTorch's
 * `DataLoader(num_workers=N)`): each worker builds the run's reader from the same config and
 * loads the same splits, the training thread sends it index lists and receives collated typed
 * arrays (transferred, not copied), so decoding the next batches overlaps with the current step.
 * Batches come back in order, so a run gives the same weights with any number of workers.
 * Plugins given as objects (not by name) are not loaded in workers.
 */
export class WorkerLoader implements BatchLoader {
  private pool?: Promise<LoaderThread[]>;
  private closed = false;

  constructor(private readonly options: WorkerLoaderOptions) {}

  get description(): string {
    return `${this.options.workers} worker thread${this.options.workers === 1 ? '' : 's'}, ${this.options.prefetch} batch${this.options.prefetch === 1 ? '' : 'es'} ahead each`;
  }

  /** Starts the workers (they load their readers while the model is built); batches() waits for them. */
  start(): Promise<LoaderThread[]> {
    if (this.closed) return Promise.reject(new TrainingError('the data loader was closed'));
    if (!this.pool) {
      const { resolved, defaultPlugins, splits, workers, logger } = this.options;
      const init: WorkerInit = {
        config: resolved.config,
        raw: resolved.raw,
        origins: resolved.origins.entries(),
        filepath: resolved.filepath,
        sources: resolved.sources,
        baseDir: resolved.baseDir,
        defaultPlugins,
        splits: [...new Set(splits.values())],
      };
      const started = Array.from({ length: workers }, (_, i) => LoaderThread.start(i, init, logger));
      this.pool = Promise.all(started).then((threads) => {
        for (const [dataset, split] of splits) {
          const size = threads[0].sizes[split];
          if (size !== dataset.size) {
            throw new TrainingError(`a data loader worker built the ${split} split with ${size ?? 'no'} examples, the training thread with ${dataset.size}`, {
              where: 'trainer.workers',
              hint: 'the reader builds a different dataset in a worker thread (does it depend on state outside its config?); set trainer.workers: 0',
            });
          }
        }
        return threads;
      }).catch(async (error: unknown) => {
        // Stop the ones that did start, then report the first failure.
        const settled = await Promise.allSettled(started);
        await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
        throw error;
      });
      this.pool.catch(() => undefined);
    }
    return this.pool;
  }

  async *batches(dataset: Dataset, indices: readonly number[], batchSize: number, weightOf?: (index: number) => number): AsyncGenerator<Batch, void, undefined> {
    const split = this.options.splits.get(dataset);
    if (split === undefined) {
      // A dataset the workers do not have (built programmatically): collate it here.
      yield* batchesOf(dataset, indices, batchSize, weightOf);
      return;
    }
    const threads = await this.start();
    const chunks = chunksOf(indices, batchSize);
    const depth = threads.length * this.options.prefetch;
    const inFlight: Promise<BatchArrays>[] = [];
    let sent = 0;
    const send = () => {
      const promise = threads[sent % threads.length].request(split, chunks[sent]);
      promise.catch(() => undefined); // awaited in order below; a batch never awaited (early exit) must not be an unhandled rejection
      inFlight.push(promise);
      sent++;
    };
    while (sent < chunks.length && sent < depth) send();
    for (let k = 0; k < chunks.length; k++) {
      const arrays = await inFlight.shift()!;
      if (sent < chunks.length) send();
      checkArrays(arrays, chunks[k], dataset, split);
      yield batchFromArrays(arrays, chunks[k], weightOf ? chunks[k].map(weightOf) : undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.pool) return;
    const threads = await this.pool.catch(() => [] as LoaderThread[]);
    await Promise.all(threads.map((t) => t.stop()));
  }
}

/** A worker's batch must be the one asked for: same example count and input shapes as the training thread's dataset. */
function checkArrays(arrays: BatchArrays, indices: readonly number[], dataset: Dataset, split: Split): void {
  for (const spec of dataset.info.inputs) {
    const got = arrays.inputs[spec.name];
    const want = [indices.length, ...spec.shape];
    if (!got || got.shape.join(',') !== want.join(',')) {
      throw new TrainingError(`a data loader worker returned input '${spec.name}' of the ${split} split with shape [${got?.shape ?? 'none'}], expected [${want}]`, {
        where: 'trainer.workers',
        hint: 'the reader builds a different dataset in a worker thread (does it depend on state outside its config?); set trainer.workers: 0',
      });
    }
  }
}

/** The loader `trainer.workers` asks for. */
export function createLoader(options: Omit<WorkerLoaderOptions, 'workers' | 'prefetch'> & { config: KilnConfig }): BatchLoader {
  const { workers, prefetch } = options.config.trainer;
  if (!workers) return new InlineLoader();
  if (!options.resolved.config.data) {
    throw new ConfigError('trainer.workers needs a `data` block: each worker builds the reader from it', { where: 'trainer.workers', hint: 'set trainer.workers: 0' });
  }
  const loader = new WorkerLoader({ ...options, workers, prefetch });
  loader.start().catch(() => undefined);
  return loader;
}
