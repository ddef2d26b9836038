import fs from 'node:fs';
import path from 'node:path';
import type { Callback, Hooks } from '@kiln/core';
import { z } from 'zod';

export const MetricsLogOptions = z.strictObject({
  file: z.string().default('metrics.jsonl').describe('File name, relative to the run directory.'),
  everySteps: z.number().int().min(0).default(0).describe('Also write a line every N optimizer steps (0: epochs only).'),
});
export type MetricsLogOptions = z.output<typeof MetricsLogOptions>;

export interface EpochLine {
  kind: 'epoch';
  time: string;
  epoch: number;
  [key: string]: number | string | null;
}

/**
 * JSON lines in `<runDir>/metrics.jsonl`: one per epoch with its logs, and optionally one
 * every N steps. `epoch` is 1-based (as the engine's logs), `step` counts completed steps. Each line is appended synchronously, so a crash keeps every earlier line.
 */
export class MetricsLogCallback implements Callback {
  readonly name = 'metrics-log';
  constructor(private readonly options: MetricsLogOptions) {}

  apply(hooks: Hooks): void {
    hooks.afterEpoch.tap('MetricsLogCallback', ({ trainer, epoch, logs }) => {
      this.append(trainer.runDir, { kind: 'epoch', time: new Date().toISOString(), ...logs, epoch: epoch + 1 });
    });
    if (this.options.everySteps > 0) {
      hooks.afterTrainStep.tap('MetricsLogCallback', (r) => {
        const completed = r.step + 1;
        if (completed % this.options.everySteps !== 0) return;
        this.append(r.trainer.runDir, {
          kind: 'step',
          time: new Date().toISOString(),
          epoch: r.epoch + 1,
          step: completed,
          loss: r.loss,
          lr: r.lr,
          gradNorm: r.gradNorm,
          skipped: r.skipped,
          ...Object.fromEntries(Object.entries(r.logs).map(([k, v]) => [`running/${k}`, v])),
        });
      });
    }
  }

  private append(runDir: string, line: Record<string, unknown>): void {
    const file = path.resolve(runDir, this.options.file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // JSON has no NaN/Infinity; they become null rather than breaking the line.
    fs.appendFileSync(file, `${JSON.stringify(line, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
  }
}
