import type { Schedule } from '@kiln/core';
import { z } from 'zod';

export const warmupShape = {
  warmupSteps: z.number().int().min(0).default(0).describe('Steps of linear warmup from 0 to the base rate (lr = base·step/W).'),
  warmupRatio: z.number().min(0).max(1).default(0).describe('Warmup as a fraction of the total steps; the larger of the two wins.'),
};

export interface WarmupOptions {
  warmupSteps: number;
  warmupRatio: number;
}

/**
 * Linear warmup in front of a decay. Step s < W gives base·s/W (as Hugging Face's
 * schedules); after it the subclass decays over t = s − W of T = total − W steps.
 */
export abstract class WarmupSchedule implements Schedule {
  constructor(protected readonly warmup: WarmupOptions) {}

  warmupStepsFor(totalSteps: number): number {
    return Math.max(this.warmup.warmupSteps, Math.ceil(this.warmup.warmupRatio * totalSteps));
  }

  lr(step: number, baseLr: number, totalSteps: number): number {
    const w = this.warmupStepsFor(totalSteps);
    if (step < w) return (baseLr * step) / w;
    return this.decay(step - w, Math.max(0, totalSteps - w), baseLr);
  }

  /** Rate `t` steps after warmup, of `span` decay steps. */
  protected abstract decay(t: number, span: number, baseLr: number): number;
}
