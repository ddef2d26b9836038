import type { TrialSuggestion, Tuner } from '@kiln/core';
import { AshaOptions, AshaTuner, GridTuner, GridTunerOptions, MedianPruner, ParzenEstimator, SearchSpace, SequenceTuner, type TuneEnvironment } from '../src';
import { SeededRng } from '@kiln/core';

const space = SearchSpace.parse({ x: { type: 'uniform', min: 0, max: 1 } });
const env: TuneEnvironment = { space, mode: 'min', seed: 3, epochs: 9 };
const ask = (t: Tuner) => t.ask() as TrialSuggestion;

describe('ASHA promotion rule (Li et al. 2020)', () => {
  it('promotes a config once it is in the top ⌊n/η⌋ of its rung’s completed results, else grows the bottom rung', () => {
    const t = new AshaTuner(AshaOptions.parse({ minEpochs: 1, maxEpochs: 9, eta: 3, trials: 6 }), env);
    const [a, b, c] = [ask(t), ask(t), ask(t)];
    expect([a, b, c].map((s) => [s.tags?.rung, s.budget.epochs, s.resumeFrom])).toEqual([[0, 1, undefined], [0, 1, undefined], [0, 1, undefined]]);
    t.tell({ id: a.id, status: 'completed', value: 0.5 });
    t.tell({ id: b.id, status: 'completed', value: 0.2 });
    // 2 results: ⌊2/3⌋ = 0 promotable, so a new bottom-rung config
    const d = ask(t);
    expect(d.tags?.rung).toBe(0);
    expect(d.resumeFrom).toBeUndefined();
    t.tell({ id: c.id, status: 'completed', value: 0.9 });
    // 3 results: the best (b, 0.2) is promoted to rung 1 = 3 epochs, continuing b
    const p1 = ask(t);
    expect([p1.tags?.rung, p1.budget.epochs, p1.resumeFrom, p1.params]).toEqual([1, 3, b.id, b.params]);
    // b is already promoted: the next free worker grows the bottom again
    const e = ask(t);
    expect(e.tags?.rung).toBe(0);
    t.tell({ id: d.id, status: 'completed', value: 0.1 });
    // 4 results, ⌊4/3⌋ = 1: the top one is now d (0.1), not yet promoted
    const p2 = ask(t);
    expect([p2.tags?.rung, p2.resumeFrom]).toEqual([1, d.id]);
    t.tell({ id: p1.id, status: 'completed', value: 0.15 });
    t.tell({ id: p2.id, status: 'completed', value: 0.05 });
    t.tell({ id: e.id, status: 'completed', value: 0.7 });
    // rung 1 has 2 results (⌊2/3⌋ = 0); rung 0 has 5 (⌊5/3⌋ = 1, d, already promoted): a sixth config
    const f = ask(t);
    expect(f.tags?.rung).toBe(0);
    t.tell({ id: f.id, status: 'completed', value: 0.15 });
    // rung 0: 6 results, top 2 = d (0.1), f (0.15); f is promoted
    const p3 = ask(t);
    expect([p3.tags?.rung, p3.resumeFrom]).toEqual([1, f.id]);
    t.tell({ id: p3.id, status: 'completed', value: 0.3 });
    // rung 1: 3 results, top 1 = p2 (0.05) → rung 2 = 9 epochs
    const top = ask(t);
    expect([top.tags?.rung, top.budget.epochs, top.resumeFrom]).toEqual([2, 9, p2.id]);
    expect(ask(t)).toBe('wait');
    t.tell({ id: top.id, status: 'completed', value: 0.01 });
    expect(t.ask()).toBeNull();
  });
});

describe('TPE (Bergstra et al. 2011)', () => {
  it('Parzen estimators are densities on their range', () => {
    const est = new ParzenEstimator([0.1, 0.15, 0.7], 0, 1);
    let integral = 0;
    const steps = 20000;
    for (let i = 0; i < steps; i++) integral += est.pdf((i + 0.5) / steps) / steps;
    expect(integral).toBeCloseTo(1, 3);
    const rng = new SeededRng(5);
    for (let i = 0; i < 500; i++) {
      const x = est.sample(rng);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(1);
    }
  });

  it('beats random search on a 1-D quadratic over 40 seeded repetitions', () => {
    const quad = SearchSpace.parse({ x: { type: 'uniform', min: -2, max: 2 } });
    const f = (x: number) => (x - 0.3) ** 2;
    const bestOf = (kind: 'tpe' | 'random', seed: number) => {
      const t = new SequenceTuner(kind, { trials: 30 }, { space: quad, mode: 'min', seed, epochs: 1 });
      let best = Infinity;
      for (let s = t.ask(); s && s !== 'wait'; s = t.ask()) {
        const v = f(s.params.x as number);
        best = Math.min(best, v);
        t.tell({ id: s.id, status: 'completed', value: v });
      }
      return best;
    };
    const reps = 40;
    let wins = 0;
    let gap = 0;
    for (let seed = 0; seed < reps; seed++) {
      const tpe = bestOf('tpe', seed);
      const random = bestOf('random', 1000 + seed);
      if (tpe < random) wins++;
      gap += (Math.log10(random) - Math.log10(tpe)) / reps;
    }
    // Under "no better than random" wins ~ Binomial(40, 1/2): P(wins ≥ 28) ≈ 0.008.
    expect(wins).toBeGreaterThanOrEqual(28);
    // and on average at least 3× closer to the optimum
    expect(gap).toBeGreaterThan(Math.log10(3));
  });

  it('keeps max objectives the right way round (maximizing −f is minimizing f)', () => {
    const quad = SearchSpace.parse({ x: { type: 'uniform', min: -2, max: 2 } });
    const t = new SequenceTuner('tpe', { trials: 40 }, { space: quad, mode: 'max', seed: 11, epochs: 1 });
    const xs: number[] = [];
    for (let s = t.ask(); s && s !== 'wait'; s = t.ask()) {
      xs.push(s.params.x as number);
      t.tell({ id: s.id, status: 'completed', value: -(((s.params.x as number) - 0.3) ** 2) });
    }
    const late = xs.slice(20);
    const near = late.filter((x) => Math.abs(x - 0.3) < 0.5).length;
    // uniform sampling would put 1/4 of them within ±0.5 of the optimum
    expect(near / late.length).toBeGreaterThan(0.5);
  });
});

describe('median pruner', () => {
  it('stops a trial whose best value so far is worse than the median of completed trials at that epoch', () => {
    const inner = new SequenceTuner('random', { trials: 10 }, { ...env, mode: 'max' });
    const pruner = new MedianPruner(inner, 'max');
    const [a, b, c, d] = [ask(pruner), ask(pruner), ask(pruner), ask(pruner)];
    [0.5, 0.6, 0.7].forEach((v, i) => pruner.report(a.id, i + 1, v));
    pruner.tell({ id: a.id, status: 'completed', value: 0.7 });
    [0.3, 0.4, 0.5].forEach((v, i) => pruner.report(b.id, i + 1, v));
    pruner.tell({ id: b.id, status: 'completed', value: 0.5 });
    // epoch 1 median (0.5 + 0.3)/2 = 0.4; epoch 2 median (0.6 + 0.4)/2 = 0.5
    expect(pruner.report(c.id, 1, 0.45)).toBe('continue');
    expect(pruner.report(c.id, 2, 0.46)).toBe('prune');
    expect(pruner.report(d.id, 1, 0.35)).toBe('prune');
    const patient = new MedianPruner(new SequenceTuner('random', { trials: 10 }, { ...env, mode: 'max' }), 'max', { warmupEpochs: 1, minTrials: 1 });
    patient.restore(JSON.parse(JSON.stringify(pruner.state())));
    expect(patient.report(d.id, 1, 0.35)).toBe('continue');
    // best so far (0.55 at epoch 1) counts at epoch 2 even though epoch 2 dropped to 0.3
    expect(patient.report('9', 1, 0.55)).toBe('continue');
    expect(patient.report('9', 2, 0.3)).toBe('continue');
  });
});

describe('grid tuner', () => {
  it('enumerates choice × grid × small int values, conditionals only in their branch', () => {
    const g = SearchSpace.parse({
      'model.type': { type: 'grid', values: ['mlp', 'resnet'] },
      'model.depth': { type: 'choice', values: [18, 34], when: { 'model.type': 'resnet' } },
      'trainer.batchSize': { type: 'int', min: 16, max: 48, step: 16 },
      'optimizer.lr': { type: 'loguniform', min: 1e-3, max: 1e-1 },
    });
    const t = new GridTuner(GridTunerOptions.parse({}), { space: g, mode: 'min', seed: 1, epochs: 2 });
    // mlp: 3 batch sizes; resnet: 2 depths × 3 batch sizes
    expect(t.points.length).toBe(3 + 6);
    expect(t.points.filter((p) => p['model.type'] === 'mlp').every((p) => !('model.depth' in p))).toBe(true);
    const keys = new Set(t.points.map((p) => JSON.stringify([p['model.type'], p['model.depth'], p['trainer.batchSize']])));
    expect(keys.size).toBe(9);
  });
});
