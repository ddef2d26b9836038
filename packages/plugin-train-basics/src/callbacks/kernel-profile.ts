import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatKernelProfile, KernelProfiler, writeFileAtomic, type Callback, type Hooks, type KernelProfile, type Logger } from '@kiln/core';
import { z } from 'zod';

export const KernelProfileOptions = z.strictObject({
  skipSteps: z.number().int().min(0).default(5).describe('Steps to run before profiling (the first ones pay one-off setup: JIT, kernel plans).'),
  steps: z.number().int().positive().default(20).describe('Training steps to profile.'),
  top: z.number().int().positive().default(15).describe('Kernels listed in the printed table.'),
});
export type KernelProfileOptions = z.output<typeof KernelProfileOptions>;

/**
 * Per-kernel self time over a window of training steps: prints a table of where a step goes and
 * writes `<runDir>/kernel-profile.json`. For finding the kernel to speed up, or the backend to
 * switch to; it slows the profiled steps a little (a timer around each kernel).
 */
export class KernelProfileCallback implements Callback {
  readonly name = 'kernel-profile';
  private readonly profiler = new KernelProfiler();
  private profiled = 0;
  result?: KernelProfile & { steps: number; msPerStep: number };

  constructor(private readonly options: KernelProfileOptions, private readonly logger?: Logger) {}

  apply(hooks: Hooks): void {
    hooks.beforeTrainStep.tap('KernelProfileCallback', ({ step }) => {
      if (step === this.options.skipSteps && !this.result) this.profiler.start();
    });
    hooks.afterTrainStep.tap('KernelProfileCallback', ({ trainer }) => {
      if (!this.profiler.running) return;
      if (++this.profiled >= this.options.steps) this.finish(trainer.runDir);
    });
    // A run shorter than the window still reports what it saw.
    hooks.afterRun.tap('KernelProfileCallback', ({ trainer }) => {
      if (this.profiler.running) this.finish(trainer.runDir);
    });
    hooks.onError.tap('KernelProfileCallback', () => {
      if (this.profiler.running) this.profiler.stop();
    });
  }

  private finish(runDir: string): void {
    const profile = this.profiler.stop();
    this.result = { ...profile, steps: this.profiled, msPerStep: profile.totalMs / Math.max(1, this.profiled) };
    this.logger?.info(`kernel profile over ${this.profiled} steps (${this.result.msPerStep.toFixed(1)} ms/step):\n${formatKernelProfile(profile, this.options.top)}`);
    fs.mkdirSync(runDir, { recursive: true });
    writeFileAtomic(path.join(runDir, 'kernel-profile.json'), `${JSON.stringify(this.result, null, 2)}\n`);
  }
}
