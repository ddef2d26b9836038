import { ConfigError, KilnError, KilnConfigSchema, SeededRng } from '@kiln/core';
import { SearchSpace, validateSpacePaths, intCount } from '../src';

function errorOf(fn: () => unknown): KilnError {
  try {
    fn();
  } catch (error) {
    if (KilnError.is(error)) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('search space validation', () => {
  it('rejects an empty choice, naming tune.space.<param>', () => {
    const e = errorOf(() => SearchSpace.parse({ 'model.depth': { type: 'choice', values: [] } }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.where).toBe('tune.space.model.depth');
    expect(e.message).toMatch(/no values/);
  });

  it('rejects min > max', () => {
    const e = errorOf(() => SearchSpace.parse({ 'model.dropout': { type: 'uniform', min: 0.5, max: 0.1 } }));
    expect(e.where).toBe('tune.space.model.dropout');
    expect(e.message).toContain('min (0.5) is greater than max (0.1)');
  });

  it('rejects a log range touching 0, for loguniform and log ints', () => {
    const e = errorOf(() => SearchSpace.parse({ 'optimizer.lr': { type: 'loguniform', min: 0, max: 0.1 } }));
    expect(e.where).toBe('tune.space.optimizer.lr');
    expect(e.message).toMatch(/log-scale range must be above 0/);
    expect(errorOf(() => SearchSpace.parse({ 'trainer.batchSize': { type: 'int', min: 0, max: 64, log: true } })).where).toBe('tune.space.trainer.batchSize');
  });

  it('rejects an unknown type and unknown keys through zod, with the path', () => {
    const e = errorOf(() => SearchSpace.parse({ 'optimizer.lr': { type: 'gaussian', min: 0, max: 1 } }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(`${e.where} ${e.message}`).toContain('optimizer.lr');
  });

  it('rejects conditions on missing parameters, impossible values and cycles', () => {
    expect(errorOf(() => SearchSpace.parse({ 'model.depth': { type: 'choice', values: [18], when: { 'model.type': 'resnet' } } })).where).toBe('tune.space.model.depth.when');
    expect(
      errorOf(() =>
        SearchSpace.parse({ 'model.type': { type: 'choice', values: ['mlp'] }, 'model.depth': { type: 'choice', values: [18], when: { 'model.type': 'resnet' } } }),
      ).message,
    ).toMatch(/can never hold/);
    expect(
      errorOf(() =>
        SearchSpace.parse({ a: { type: 'choice', values: [1], when: { b: 1 } }, b: { type: 'choice', values: [1], when: { a: 1 } } }),
      ).message,
    ).toMatch(/cycle/);
  });

  it('flags a path that is not in the config', () => {
    const config = KilnConfigSchema.parse({ optimizer: { type: 'adam', lr: 0.01 }, model: { type: 'mlp', hiddenUnits: [8] } });
    const space = SearchSpace.parse({ 'optimizer.lr': { type: 'loguniform', min: 1e-4, max: 1e-1 }, 'optimizer.lrr': { type: 'uniform', min: 0, max: 1 } });
    const e = errorOf(() => validateSpacePaths(space, config));
    expect(e.where).toBe('tune.space.optimizer.lrr');
    expect(e.hint).toContain('lr');
    // trainer.batchSize exists through the schema default
    expect(() => validateSpacePaths(SearchSpace.parse({ 'trainer.batchSize': { type: 'int', min: 16, max: 128, step: 16 } }), config)).not.toThrow();
  });
});

describe('search space sampling', () => {
  const space = SearchSpace.parse({
    'optimizer.lr': { type: 'loguniform', min: 1e-4, max: 1e-1 },
    'trainer.batchSize': { type: 'int', min: 16, max: 128, step: 16 },
    'model.type': { type: 'choice', values: ['mlp', 'resnet'] },
    'model.depth': { type: 'choice', values: [18, 34], when: { 'model.type': 'resnet' } },
    'model.dropout': { type: 'uniform', min: 0, max: 0.5 },
  });

  it('draws every value inside its range, ints on the step lattice, conditionals only in their branch', () => {
    const rng = new SeededRng(7);
    let resnet = 0;
    let logBelow = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const p = space.sample(rng);
      const lr = p['optimizer.lr'] as number;
      expect(lr).toBeGreaterThanOrEqual(1e-4);
      expect(lr).toBeLessThanOrEqual(1e-1);
      if (lr < 10 ** -2.5) logBelow++;
      const bs = p['trainer.batchSize'] as number;
      expect((bs - 16) % 16).toBe(0);
      expect(bs).toBeGreaterThanOrEqual(16);
      expect(bs).toBeLessThanOrEqual(128);
      if (p['model.type'] === 'resnet') {
        resnet++;
        expect([18, 34]).toContain(p['model.depth']);
      } else {
        expect('model.depth' in p).toBe(false);
      }
    }
    // log-uniform: P(lr < 10^-2.5) = (−2.5 − (−4)) / 3 = 0.5
    expect(logBelow / n).toBeGreaterThan(0.45);
    expect(logBelow / n).toBeLessThan(0.55);
    expect(resnet / n).toBeGreaterThan(0.45);
    expect(resnet / n).toBeLessThan(0.55);
  });

  it('counts and snaps int values', () => {
    expect(intCount({ type: 'int', min: 16, max: 128, step: 16, log: false })).toBe(8);
    expect(space.snap('trainer.batchSize', 41)).toBe(48);
    expect(space.snap('trainer.batchSize', 1000)).toBe(128);
    expect(SearchSpace.assignments({ 'optimizer.lr': 0.01, 'model.hiddenUnits': [64, 64], 'model.type': 'mlp' })).toEqual(['optimizer.lr=0.01', 'model.hiddenUnits=[64,64]', 'model.type="mlp"']);
  });
});

describe('log-scale ints', () => {
  it('give each integer its share of log space', () => {
    const s = SearchSpace.parse({ width: { type: 'int', min: 1, max: 8, log: true } });
    const rng = new SeededRng(3);
    const counts = new Map<number, number>();
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const v = s.sampleParam('width', rng) as number;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // P(1) = (ln 1.5 − ln 0.5) / (ln 8.5 − ln 0.5), P(8) = (ln 8.5 − ln 7.5) / (ln 8.5 − ln 0.5)
    const total = Math.log(8.5) - Math.log(0.5);
    // within ~4 standard errors of the expected frequencies (0.388 and 0.044)
    expect(Math.abs(counts.get(1)! / n - (Math.log(1.5) - Math.log(0.5)) / total)).toBeLessThan(0.015);
    expect(Math.abs(counts.get(8)! / n - (Math.log(8.5) - Math.log(7.5)) / total)).toBeLessThan(0.006);
  });
});
