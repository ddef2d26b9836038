import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Callback, Hooks, Logger } from '@kiln/core';
import { z } from 'zod';

export const {{Id}}TimerOptions = z.strictObject({
  file: z.string().default('timing.jsonl').describe('File in the run directory that gets one line per epoch ("" to only log).'),
});
export type {{Id}}TimerOptions = z.output<typeof {{Id}}TimerOptions>;

export interface EpochTiming {
  epoch: number;
  seconds: number;
  /** The epoch's logs (`train/loss`, `val/accuracy`, …). */
  logs: Record<string, number>;
}

/** Times every epoch: taps `beforeEpoch` and `afterEpoch`, logs the duration, appends a JSON line. */
export class {{Id}}TimerCallback implements Callback {
  readonly name = '{{id}}-timer';
  readonly timings: EpochTiming[] = [];
  private started = 0;

  constructor(private readonly options: {{Id}}TimerOptions, private readonly logger?: Logger) {}

  apply(hooks: Hooks): void {
    hooks.beforeEpoch.tap('{{Id}}TimerCallback', () => {
      this.started = performance.now();
    });
    hooks.afterEpoch.tap('{{Id}}TimerCallback', ({ trainer, epoch, logs }) => {
      const timing: EpochTiming = { epoch: epoch + 1, seconds: (performance.now() - this.started) / 1000, logs: { ...logs } };
      this.timings.push(timing);
      this.logger?.info(`epoch ${timing.epoch} took ${timing.seconds.toFixed(2)} s`);
      if (this.options.file) fs.appendFileSync(path.join(trainer.runDir, this.options.file), `${JSON.stringify(timing)}\n`);
    });
  }
}
