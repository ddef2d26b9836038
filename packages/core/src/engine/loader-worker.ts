/**
 * A data loader worker thread (see WorkerLoader): builds the run's reader from the config it was
 * started with, loads the requested splits, then answers `{ id, split, indices }` requests with
 * collated typed arrays, transferring their buffers to the training thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TransferListItem } from 'node:worker_threads';
import { OriginMap } from '../config/origins';
import { createKernel } from '../kernel/bootstrap';
import { Tokens } from '../points';
import type { Dataset, Split } from '../points/data';
import type { Logger } from '../services/logger';
import { collateArrays } from './collate';
import { serializeError, type FromWorker, type ToWorker, type WorkerInit } from './loader';
import { SeededMathRandom } from './seeded-random';

const port = parentPort!;
const post = (message: FromWorker, transfer: TransferListItem[] = []) => port.postMessage(message, transfer);

const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => post({ type: 'log', level: 'warn', message }),
  error: (message) => post({ type: 'log', level: 'error', message }),
};

async function main(init: WorkerInit): Promise<void> {
  const resolved = {
    config: init.config,
    raw: init.raw,
    origins: OriginMap.fromEntries(init.origins),
    filepath: init.filepath,
    sources: init.sources,
    baseDir: init.baseDir,
  };
  const kernel = await createKernel(resolved, { logger, defaultPlugins: init.defaultPlugins });
  // Readers see the same seeded Math.random as on the training thread.
  new SeededMathRandom(kernel.config.seed).install();
  const reader = await kernel.build(Tokens.Reader, kernel.config.data, 'data');
  const datasets = new Map<Split, Dataset>();
  // The training thread loads train before val (a reader may fit encodings on train); so does this.
  for (const split of (['train', 'val', 'test'] as const).filter((s) => init.splits.includes(s))) datasets.set(split, await reader.load(split));
  port.on('message', (message: ToWorker) => {
    try {
      const dataset = datasets.get(message.split)!;
      const arrays = collateArrays(message.indices.map((i) => dataset.get(i)), dataset.info, message.indices);
      const buffers = [...Object.values(arrays.inputs), arrays.targets].map((a) => a.data.buffer as ArrayBuffer);
      post({ type: 'batch', id: message.id, arrays }, buffers);
    } catch (error) {
      post({ type: 'error', id: message.id, error: serializeError(error) });
    }
  });
  post({ type: 'ready', sizes: Object.fromEntries([...datasets].map(([split, d]) => [split, d.size])) });
}

main(workerData as WorkerInit).catch((error: unknown) => {
  const detail = serializeError(error);
  post({
    type: 'error',
    error: {
      ...detail,
      message: `could not build the reader in a worker thread: ${detail.message}`,
      hint: `${detail.hint ? `${detail.hint}; ` : ''}workers load plugins by name, so a reader from a plugin passed as an object cannot run there: set trainer.workers: 0`,
    },
  });
});
