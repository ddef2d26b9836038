import { z } from 'zod';
import { WarmupSchedule, warmupShape } from './warmup';

export const StepScheduleOptions = z.strictObject({
  stepSize: z.number().int().positive().describe('Optimizer steps between decays.'),
  gamma: z.number().positive().default(0.1).describe('Factor applied every stepSize steps.'),
  ...warmupShape,
});
export type StepScheduleOptions = z.output<typeof StepScheduleOptions>;

/** base·γ^⌊t/stepSize⌋, t counted from the end of the warmup (PyTorch StepLR, in steps). */
export class StepSchedule extends WarmupSchedule {
  private readonly options: StepScheduleOptions;
  constructor(options: Partial<StepScheduleOptions> & { stepSize: number }) {
    const parsed = StepScheduleOptions.parse(options);
    super(parsed);
    this.options = parsed;
  }
  protected decay(t: number, _span: number, baseLr: number): number {
    return baseLr * this.options.gamma ** Math.floor(t / this.options.stepSize);
  }
}
