import { z } from 'zod';
import { WarmupSchedule, warmupShape } from './warmup';

export const PolynomialScheduleOptions = z.strictObject({
  power: z.number().positive().default(1).describe('Exponent of the decay; 1 is linear decay.'),
  endLr: z.number().min(0).default(0).describe('Rate reached at the last step.'),
  ...warmupShape,
});
export type PolynomialScheduleOptions = z.output<typeof PolynomialScheduleOptions>;

/** (base − endLr)·(1 − t/T)^power + endLr after the warmup (Hugging Face's polynomial decay). */
export class PolynomialSchedule extends WarmupSchedule {
  private readonly options: PolynomialScheduleOptions;
  constructor(options: Partial<PolynomialScheduleOptions> = {}) {
    const parsed = PolynomialScheduleOptions.parse(options);
    super(parsed);
    this.options = parsed;
  }
  protected decay(t: number, span: number, baseLr: number): number {
    const { power, endLr } = this.options;
    if (span <= 0) return baseLr;
    const remaining = Math.max(0, 1 - t / span);
    return (baseLr - endLr) * remaining ** power + endLr;
  }
}
