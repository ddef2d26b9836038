import { ConsoleLogger } from '@kiln/core';
import { TrialWorker, type TrialWorkerOptions } from './trial-worker';

// One of the N processes of `kiln worker --concurrency N`: argv[2] holds its TrialWorkerOptions as JSON.
const options = JSON.parse(process.argv[2] ?? '{}') as TrialWorkerOptions;
TrialWorker.start({ ...options, logger: new ConsoleLogger('info') }).then(
  (worker) => {
    let stopping = false;
    const stop = () => {
      if (stopping) process.exit(130);
      stopping = true;
      void worker.close();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('disconnect', stop);
    void worker.done.then(() => process.exit(0));
  },
  (error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  },
);
