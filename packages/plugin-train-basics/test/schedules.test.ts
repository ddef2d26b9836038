import { ConstantSchedule } from '../src/schedules/constant';
import { StepSchedule } from '../src/schedules/step';
import { CosineSchedule } from '../src/schedules/cosine';
import { PolynomialSchedule } from '../src/schedules/polynomial';

const base = 0.1;
const total = 100;
const close = (a: number, b: number): void => expect(Math.abs(a - b)).toBeLessThan(1e-12);

describe('schedules', () => {
  it('constant: base rate, with linear warmup base·s/W', () => {
    const s = new ConstantSchedule({ warmupSteps: 10 });
    close(s.lr(0, base, total), 0);
    close(s.lr(5, base, total), 0.05);
    close(s.lr(9, base, total), 0.09);
    close(s.lr(10, base, total), base);
    close(s.lr(99, base, total), base);
    close(new ConstantSchedule().lr(0, base, total), base);
  });

  it('warmupRatio is a fraction of the total steps and the larger warmup wins', () => {
    const s = new ConstantSchedule({ warmupRatio: 0.2, warmupSteps: 5 });
    expect(s.warmupStepsFor(total)).toBe(20);
    close(s.lr(10, base, total), 0.05);
    expect(new ConstantSchedule({ warmupRatio: 0.01, warmupSteps: 5 }).warmupStepsFor(total)).toBe(5);
  });

  it('step: base·γ^⌊t/stepSize⌋ after warmup', () => {
    const s = new StepSchedule({ stepSize: 30, gamma: 0.5 });
    close(s.lr(0, base, total), 0.1);
    close(s.lr(29, base, total), 0.1);
    close(s.lr(30, base, total), 0.05);
    close(s.lr(65, base, total), 0.025);
    const w = new StepSchedule({ stepSize: 10, gamma: 0.1, warmupSteps: 4 });
    close(w.lr(2, base, total), 0.05);
    close(w.lr(13, base, total), 0.1);
    close(w.lr(14, base, total), 0.1 * 0.1);
  });

  it('cosine: minLr + (base − minLr)·½(1 + cos(π t/T))', () => {
    const s = new CosineSchedule({ minLr: 0.001, warmupSteps: 20 });
    const T = 80;
    for (const step of [20, 30, 60, 99]) {
      const t = step - 20;
      close(s.lr(step, base, total), 0.001 + (base - 0.001) * 0.5 * (1 + Math.cos((Math.PI * t) / T)));
    }
    close(s.lr(60, base, total), (base + 0.001) / 2);
    close(s.lr(100, base, total), 0.001);
    close(s.lr(150, base, total), 0.001);
    close(s.lr(10, base, total), 0.05);
  });

  it('polynomial: (base − end)·(1 − t/T)^power + end; power 1 is linear', () => {
    const linear = new PolynomialSchedule({ power: 1, endLr: 0 });
    close(linear.lr(0, base, total), base);
    close(linear.lr(25, base, total), 0.075);
    close(linear.lr(100, base, total), 0);
    const quad = new PolynomialSchedule({ power: 2, endLr: 0.01, warmupRatio: 0.1 });
    close(quad.lr(5, base, total), 0.05);
    const t = 40 - 10;
    close(quad.lr(40, base, total), (base - 0.01) * (1 - t / 90) ** 2 + 0.01);
    close(quad.lr(200, base, total), 0.01);
  });
});
