import { Presets, SingleBar } from 'cli-progress';
import type { Callback, EpochEnd, Hooks, Logs, StepResult } from '@kiln/core';
import { z } from 'zod';

export const ProgressBarOptions = z.strictObject({
  force: z.boolean().default(false).describe('Draw the bar even when stderr is not a terminal (CI logs get one line per redraw).'),
});
export type ProgressBarOptions = z.output<typeof ProgressBarOptions>;

type Stream = NodeJS.WritableStream & { isTTY?: boolean };

const formatNumber = (x: number | undefined): string => {
  if (x === undefined || Number.isNaN(x)) return '-';
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e4)) return x.toExponential(2);
  return x.toFixed(4);
};

/** `val/loss 0.3012 val/accuracy 0.9100` from the validation entries of the epoch logs. */
export function formatValidation(logs: Logs): string {
  return Object.entries(logs)
    .filter(([key]) => key.startsWith('val/'))
    .map(([key, value]) => `${key} ${formatNumber(value)}`)
    .join(' ');
}

/**
 * One cli-progress bar per epoch on stderr: step/total, running loss, lr, ETA, and the
 * validation metrics once the epoch ends. When stderr is not a terminal (and `force` is
 * off) it prints one summary line per epoch instead.
 */
export class ProgressBarCallback implements Callback {
  readonly name = 'progress-bar';
  private bar: SingleBar | undefined;
  private epochStarted = 0;
  private lastStep: StepResult | undefined;
  private readonly interactive: boolean;

  constructor(options: ProgressBarOptions, private readonly stream: Stream = process.stderr) {
    this.interactive = options.force || stream.isTTY === true;
  }

  apply(hooks: Hooks): void {
    hooks.beforeEpoch.tap('ProgressBarCallback', ({ epoch, epochs, stepsPerEpoch }) => {
      this.epochStarted = Date.now();
      this.lastStep = undefined;
      if (!this.interactive) return;
      this.bar = new SingleBar(
        {
          format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} loss {loss} lr {lr} eta {eta_formatted} {validation}',
          stream: this.stream,
          noTTYOutput: true,
          hideCursor: this.stream.isTTY === true,
          clearOnComplete: false,
          etaBuffer: 50,
        },
        Presets.shades_classic,
      );
      this.bar.start(stepsPerEpoch, 0, { epoch: epoch + 1, epochs, loss: '-', lr: '-', validation: '' });
    });
    hooks.afterTrainStep.tap('ProgressBarCallback', (result) => {
      this.lastStep = result;
      this.bar?.update(result.stepInEpoch + 1, { loss: formatNumber(result.logs.loss ?? result.loss), lr: formatNumber(result.lr) });
    });
    hooks.afterEpoch.tap('ProgressBarCallback', (end) => this.endEpoch(end));
    hooks.afterRun.tap('ProgressBarCallback', () => this.stopBar());
    hooks.onError.tap('ProgressBarCallback', () => this.stopBar());
  }

  private endEpoch({ epoch, epochs, logs }: EpochEnd): void {
    const validation = formatValidation(logs);
    if (this.bar) {
      this.bar.update({ validation });
      this.stopBar();
      return;
    }
    const seconds = ((Date.now() - this.epochStarted) / 1000).toFixed(1);
    const steps = this.lastStep ? this.lastStep.stepInEpoch + 1 : 0;
    const trainLoss = logs['train/loss'] ?? this.lastStep?.logs.loss ?? this.lastStep?.loss;
    const lr = logs.lr ?? this.lastStep?.lr;
    const parts = [`epoch ${epoch + 1}/${epochs}`, `${steps} steps`, `loss ${formatNumber(trainLoss)}`, `lr ${formatNumber(lr)}`];
    if (validation) parts.push(validation);
    parts.push(`${seconds}s`);
    this.stream.write(`${parts.join('  ')}\n`);
  }

  private stopBar(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
