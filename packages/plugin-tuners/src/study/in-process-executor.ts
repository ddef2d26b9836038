import type { Logger } from '@kiln/core';
import type { EpochListener, TrialExecutor, TrialJob, TrialOutcome } from './executor';
import { runTrial } from './run-trial';

/** Trials one at a time in this process (the default; tfjs is process-wide, so one at a time). */
export class InProcessExecutor implements TrialExecutor {
  readonly name = 'in-process';
  readonly slots = 1;
  constructor(private readonly logger?: Logger) {}
  run(job: TrialJob, onEpoch: EpochListener): Promise<TrialOutcome> {
    return runTrial(job, onEpoch, this.logger);
  }
  async close(): Promise<void> {}
}
