import { floorLog, hyperbandSchedule, scheduleEpochs, BracketTuner, RandomSampler, SearchSpace, type TuneEnvironment, createSuccessiveHalvingTuner, SuccessiveHalvingOptions } from '../src';
import type { TrialSuggestion } from '@kiln/core';

const space = SearchSpace.parse({ x: { type: 'uniform', min: 0, max: 1 } });
const env: TuneEnvironment = { space, mode: 'min', seed: 1, epochs: 81 };

describe('Hyperband schedule (Li et al. 2018, Table 1)', () => {
  it('computes s_max = ⌊log_η R⌋ without float error', () => {
    expect(floorLog(81, 3)).toBe(4);
    expect(Math.floor(Math.log(1000) / Math.log(10))).toBe(2); // the naive formula is wrong here
    expect(floorLog(1000, 10)).toBe(3);
    expect(floorLog(243, 3)).toBe(5);
    expect(floorLog(80, 3)).toBe(3);
    expect(floorLog(1, 3)).toBe(0);
  });

  it('matches the paper’s table for R = 81, η = 3', () => {
    const plan = hyperbandSchedule(81, 3).map((b) => ({ s: b.s, rungs: b.rungs.map((r) => [r.n, r.r]) }));
    expect(plan).toEqual([
      { s: 4, rungs: [[81, 1], [27, 3], [9, 9], [3, 27], [1, 81]] },
      { s: 3, rungs: [[34, 3], [11, 9], [3, 27], [1, 81]] },
      { s: 2, rungs: [[15, 9], [5, 27], [1, 81]] },
      { s: 1, rungs: [[8, 27], [2, 81]] },
      { s: 0, rungs: [[5, 81]] },
    ]);
  });

  it('counts epochs with promotions continuing from checkpoints', () => {
    // R=9, η=3: s=2: 9@1, 3@3, 1@9; s=1: ⌈3/2·3⌉=5@3, 1@9; s=0: 3@9.
    const plan = hyperbandSchedule(9, 3);
    expect(plan.map((b) => b.rungs.map((r) => [r.n, r.r]))).toEqual([[[9, 1], [3, 3], [1, 9]], [[5, 3], [1, 9]], [[3, 9]]]);
    // from scratch: 9·1+3·3+1·9 + 5·3+1·9 + 3·9 = 78; continuing: 9·1+3·2+1·6 + 5·3+1·6 + 3·9 = 69
    expect(scheduleEpochs(plan, false)).toBe(78);
    expect(scheduleEpochs(plan, true)).toBe(69);
  });
});

/** Drives a tuner to the end; the loss of a configuration is its x (so lower x is better). */
function drive(tuner: { ask(): TrialSuggestion | 'wait' | null; tell(r: { id: string; status: 'completed'; value: number }): void }) {
  const trials: TrialSuggestion[] = [];
  for (;;) {
    const s = tuner.ask();
    if (s === null) break;
    if (s === 'wait') throw new Error('a sequential driver never leaves a trial running');
    trials.push(s);
    tuner.tell({ id: s.id, status: 'completed', value: s.params.x as number });
  }
  return trials;
}

describe('bracket tuner', () => {
  it('runs the R = 81, η = 3 schedule rung by rung, promoting the best ⌊n_i/η⌋ from their checkpoints', () => {
    const tuner = new BracketTuner('hyperband', hyperbandSchedule(81, 3), 3, new RandomSampler(space, 1), env);
    const trials = drive(tuner);
    const count = (s: number, rung: number) => trials.filter((t) => t.tags?.bracket === s && t.tags?.rung === rung).length;
    expect([0, 1, 2, 3, 4].map((i) => count(4, i))).toEqual([81, 27, 9, 3, 1]);
    expect([0, 1, 2, 3].map((i) => count(3, i))).toEqual([34, 11, 3, 1]);
    expect([count(2, 0), count(2, 1), count(2, 2), count(1, 0), count(1, 1), count(0, 0)]).toEqual([15, 5, 1, 8, 2, 5]);
    expect(trials.length).toBe(81 + 27 + 9 + 3 + 1 + 34 + 11 + 3 + 1 + 15 + 5 + 1 + 8 + 2 + 5);
    // rung 1 of bracket 4 holds exactly the 27 smallest x of rung 0, each continuing its own rung-0 trial
    const rung0 = trials.filter((t) => t.tags?.bracket === 4 && t.tags?.rung === 0);
    const rung1 = trials.filter((t) => t.tags?.bracket === 4 && t.tags?.rung === 1);
    const best27 = [...rung0].sort((a, b) => (a.params.x as number) - (b.params.x as number)).slice(0, 27);
    expect(new Set(rung1.map((t) => t.resumeFrom))).toEqual(new Set(best27.map((t) => t.id)));
    for (const t of rung1) {
      expect(t.budget.epochs).toBe(3);
      expect(t.params).toEqual(rung0.find((r) => r.id === t.resumeFrom)!.params);
    }
    // the single config of the last rung is the best of bracket 4
    const last = trials.find((t) => t.tags?.bracket === 4 && t.tags?.rung === 4)!;
    expect(last.params.x).toBe(Math.min(...rung0.map((t) => t.params.x as number)));
    expect(last.budget.epochs).toBe(81);
  });

  it('keeps ⌊n_i/η⌋ with n_i = ⌊n·η^(−i)⌋ from the plan, also for a fractional η', () => {
    // n = 19, η = 2.5: n_i = 19, 7, 3, 1. Rung 2 trains the ⌊7/2.5⌋ = 2 kept from rung 1, and keeps ⌊n_2/η⌋ = ⌊3/2.5⌋ = 1
    // (⌊2/2.5⌋ would be 0 and end the bracket a rung early).
    const plan = [{ s: 3, rungs: [19, 7, 3, 1].map((n, i) => ({ n, r: 2.5 ** i })) }];
    const tuner = new BracketTuner('hyperband', plan, 2.5, new RandomSampler(space, 1), env);
    const trials = drive(tuner);
    expect([0, 1, 2, 3].map((i) => trials.filter((t) => t.tags?.rung === i).length)).toEqual([19, 7, 2, 1]);
    const rung0 = trials.filter((t) => t.tags?.rung === 0);
    expect(trials[trials.length - 1].params.x).toBe(Math.min(...rung0.map((t) => t.params.x as number)));
  });

  it('successive halving: n = 9, r = 1, η = 3 up to R = 9', () => {
    const tuner = createSuccessiveHalvingTuner(SuccessiveHalvingOptions.parse({ configs: 9, minEpochs: 1, maxEpochs: 9, eta: 3 }), env);
    const trials = drive(tuner);
    expect(trials.map((t) => t.budget.epochs)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 9]);
  });

  it('waits at a rung barrier while trials run, and resumes from its state', () => {
    const tuner = createSuccessiveHalvingTuner(SuccessiveHalvingOptions.parse({ configs: 3, minEpochs: 1, maxEpochs: 3, eta: 3 }), env);
    const a = tuner.ask() as TrialSuggestion;
    const b = tuner.ask() as TrialSuggestion;
    const c = tuner.ask() as TrialSuggestion;
    expect(tuner.ask()).toBe('wait');
    tuner.tell({ id: a.id, status: 'completed', value: 0.5 });
    tuner.tell({ id: b.id, status: 'completed', value: 0.2 });
    const saved = JSON.parse(JSON.stringify(tuner.state()));
    const copy = createSuccessiveHalvingTuner(SuccessiveHalvingOptions.parse({ configs: 3, minEpochs: 1, maxEpochs: 3, eta: 3 }), env);
    copy.restore(saved);
    expect(copy.ask()).toBe('wait');
    copy.tell({ id: c.id, status: 'completed', value: 0.9 });
    const promoted = copy.ask() as TrialSuggestion;
    expect(promoted.resumeFrom).toBe(b.id);
    expect(promoted.budget.epochs).toBe(3);
    expect(promoted.id).toBe('3');
  });
});

describe('hyperband with parallel workers and with the TPE sampler', () => {
  it('opens the next bracket instead of idling when every open bracket waits at a rung barrier', () => {
    const tuner = new BracketTuner('hyperband', hyperbandSchedule(9, 3), 3, new RandomSampler(space, 1), { ...env, epochs: 9 });
    const first = Array.from({ length: 9 }, () => tuner.ask() as TrialSuggestion);
    expect(first.every((t) => t.tags?.bracket === 2 && t.budget.epochs === 1)).toBe(true);
    // bracket s=2 waits for its 9 results; bracket s=1 (5 configs at 3 epochs) starts
    const next = tuner.ask() as TrialSuggestion;
    expect([next.tags?.bracket, next.tags?.rung, next.budget.epochs]).toEqual([1, 0, 3]);
    for (const t of first) tuner.tell({ id: t.id, status: 'completed', value: t.params.x as number });
    // bracket s=2's rung 1 now comes first again
    const promoted = tuner.ask() as TrialSuggestion;
    expect([promoted.tags?.bracket, promoted.tags?.rung, promoted.budget.epochs]).toEqual([2, 1, 3]);
    const best3 = [...first].sort((a, b) => (a.params.x as number) - (b.params.x as number)).slice(0, 3).map((t) => t.id);
    expect(best3).toContain(promoted.resumeFrom);
  });

  it('BOHB-style: TPE inside the brackets keeps the schedule and moves new draws toward the optimum', async () => {
    const { TpeSampler } = await import('../src');
    const draws: number[] = [];
    const tuner = new BracketTuner('hyperband', hyperbandSchedule(81, 3), 3, new TpeSampler(space, 4), env);
    const trials = drive(tuner);
    for (const t of trials) if (t.resumeFrom === undefined) draws.push(t.params.x as number);
    expect(trials.length).toBe(81 + 27 + 9 + 3 + 1 + 34 + 11 + 3 + 1 + 15 + 5 + 1 + 8 + 2 + 5);
    expect(draws.length).toBe(81 + 34 + 15 + 8 + 5);
    // loss = x on [0, 1]: uniform draws average 0.5; the model-guided later brackets stay well below
    const late = draws.slice(81);
    expect(late.reduce((a, b) => a + b, 0) / late.length).toBeLessThan(0.3);
  });
});
