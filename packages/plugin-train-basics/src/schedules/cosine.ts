import { z } from 'zod';
import { WarmupSchedule, warmupShape } from './warmup';

export const CosineScheduleOptions = z.strictObject({
  minLr: z.number().min(0).default(0).describe('Rate reached at the last step.'),
  ...warmupShape,
});
export type CosineScheduleOptions = z.output<typeof CosineScheduleOptions>;

/** minLr + (base − minLr)·½(1 + cos(π·t/T)) after the warmup; minLr once t ≥ T. */
export class CosineSchedule extends WarmupSchedule {
  private readonly options: CosineScheduleOptions;
  constructor(options: Partial<CosineScheduleOptions> = {}) {
    const parsed = CosineScheduleOptions.parse(options);
    super(parsed);
    this.options = parsed;
  }
  protected decay(t: number, span: number, baseLr: number): number {
    const { minLr } = this.options;
    if (span <= 0) return baseLr;
    const progress = Math.min(1, t / span);
    return minLr + (baseLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
  }
}
