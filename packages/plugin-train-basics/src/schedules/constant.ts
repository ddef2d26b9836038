import { z } from 'zod';
import { WarmupSchedule, warmupShape } from './warmup';

export const ConstantScheduleOptions = z.strictObject({ ...warmupShape });
export type ConstantScheduleOptions = z.output<typeof ConstantScheduleOptions>;

/** The base rate after the warmup. */
export class ConstantSchedule extends WarmupSchedule {
  constructor(options: Partial<ConstantScheduleOptions> = {}) {
    super(ConstantScheduleOptions.parse(options));
  }
  protected decay(_t: number, _span: number, baseLr: number): number {
    return baseLr;
  }
}
