import type { Dataset, DatasetInfo } from '@kiln/core';
import { ClassBalancedSampler, DistributedShardSampler, DistributedShardSamplerOptions, RandomSampler, SequentialSampler, WeightedSampler, WeightedSamplerOptions } from '../src/samplers/basic';
import { HardSampleSampler, HardSampleSamplerOptions } from '../src/samplers/hard-sample';
import { InMemoryDataset } from '../src/dataset';

/** A dataset with the given labels (class i has labels.filter(l => l === i).length examples). */
function labeled(labels: number[], classNames = ['a', 'b', 'c']): Dataset {
  const info: DatasetInfo = { task: 'classification', inputs: [{ name: 'x', shape: [1], dtype: 'float32' }], targetShape: [], targetDtype: 'int32', classNames };
  return new InMemoryDataset(info, labels.map((l, i) => ({ inputs: { x: Float32Array.of(i) }, target: l })));
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('sequential', () => {
  expect(new SequentialSampler().epochIndices(labeled([0, 1, 2, 0]))).toEqual([0, 1, 2, 3]);
});

test('random: a permutation, same for the same (seed, epoch), different across epochs', () => {
  const ds = labeled(range(100).map((i) => i % 3));
  const s = new RandomSampler();
  const e0 = s.epochIndices(ds, 0, 42);
  expect(sorted(e0)).toEqual(range(100));
  expect(new RandomSampler().epochIndices(ds, 0, 42)).toEqual(e0);
  expect(s.epochIndices(ds, 1, 42)).not.toEqual(e0);
  expect(s.epochIndices(ds, 0, 43)).not.toEqual(e0);
});

test('weighted by example: frequencies follow the weights', () => {
  const ds = labeled([0, 0, 0, 0]);
  const s = new WeightedSampler(WeightedSamplerOptions.parse({ weights: [1, 2, 0, 7], numSamples: 20000 }));
  const draws = s.epochIndices(ds, 0, 1);
  expect(draws).toHaveLength(20000);
  const freq = [0, 1, 2, 3].map((i) => draws.filter((d) => d === i).length / 20000);
  // Expected 0.1, 0.2, 0, 0.7; binomial sd ≤ 0.0033, so ±0.015 is > 4 sigma.
  expect(freq[0]).toBeCloseTo(0.1, 1);
  expect(Math.abs(freq[0] - 0.1)).toBeLessThan(0.015);
  expect(Math.abs(freq[1] - 0.2)).toBeLessThan(0.015);
  expect(freq[2]).toBe(0);
  expect(Math.abs(freq[3] - 0.7)).toBeLessThan(0.015);
  expect(s.epochIndices(ds, 0, 1)).toEqual(draws);
});

test('weighted by class name: class c (weight 0) is never drawn, a and b per weight × count', () => {
  // Class a: 2 examples × weight 1, b: 1 example × weight 6 → P(a) = 2/8, P(b) = 6/8.
  const ds = labeled([0, 0, 1, 2]);
  const draws = new WeightedSampler(WeightedSamplerOptions.parse({ classWeights: { b: 6, c: 0 }, numSamples: 16000 })).epochIndices(ds, 3, 9);
  const classA = draws.filter((d) => d < 2).length / draws.length;
  expect(Math.abs(classA - 0.25)).toBeLessThan(0.015);
  expect(draws).not.toContain(3);
});

test('class-balanced: every class drawn equally often from imbalanced data', () => {
  const labels = [...Array(90).fill(0), ...Array(9).fill(1), 2];
  const ds = labeled(labels);
  const s = new ClassBalancedSampler({ numSamples: 30000 });
  const draws = s.epochIndices(ds, 0, 5);
  const freq = [0, 1, 2].map((c) => draws.filter((i) => labels[i] === c).length / draws.length);
  for (const f of freq) expect(Math.abs(f - 1 / 3)).toBeLessThan(0.015);
  // Default size is the dataset size.
  expect(new ClassBalancedSampler().epochIndices(ds, 0, 5)).toHaveLength(100);
});

test('distributed-shard: equal, disjoint shards covering the data, padded like PyTorch', () => {
  const ds = labeled(range(10).map(() => 0));
  const shards = [0, 1, 2].map((rank) => new DistributedShardSampler(DistributedShardSamplerOptions.parse({ rank, worldSize: 3 })).epochIndices(ds, 2, 7));
  // ceil(10 / 3) = 4 per rank, 12 in all: the 10 indices plus 2 repeated from the start of the shuffled order.
  for (const s of shards) expect(s).toHaveLength(4);
  const all = shards.flat();
  expect(new Set(all).size).toBe(10);
  // Without padding they are disjoint: the first 10 positions of the interleaved order are distinct.
  const order = range(12).map((p) => shards[p % 3][Math.floor(p / 3)]);
  expect(new Set(order.slice(0, 10)).size).toBe(10);
  expect(order.slice(10)).toEqual(order.slice(0, 2));
  const dropped = [0, 1, 2].map((rank) => new DistributedShardSampler(DistributedShardSamplerOptions.parse({ rank, worldSize: 3, dropLast: true })).epochIndices(ds, 2, 7));
  for (const s of dropped) expect(s).toHaveLength(3);
  expect(new Set(dropped.flat()).size).toBe(9);
  const unshuffled = new DistributedShardSampler(DistributedShardSamplerOptions.parse({ rank: 1, worldSize: 4, shuffle: false })).epochIndices(ds, 0, 0);
  expect(unshuffled).toEqual([1, 5, 9]);
});

describe('hard-sample', () => {
  const ds = labeled(range(200).map((i) => i % 2));
  const options = HardSampleSamplerOptions.parse({ warmupEpochs: 1, easyFraction: 0.5, keepProbability: 0.1, momentum: 0.5 });
  // Even indices are easy (loss 0.01), odd ones hard (loss 2).
  const feed = (s: HardSampleSampler) => {
    const idx = range(200);
    s.observe(idx, idx.map((i) => (i % 2 === 0 ? 0.01 : 2)), 0);
  };

  test('visits everything during warmup, then mostly hard examples', () => {
    const s = new HardSampleSampler(options);
    feed(s);
    expect(sorted(s.epochIndices(ds, 0, 1))).toEqual(range(200));
    expect(s.easyIndices()).toEqual(new Set(range(100).map((i) => 2 * i)));
    let easy = 0;
    let hard = 0;
    for (let epoch = 1; epoch <= 20; epoch++) {
      const order = s.epochIndices(ds, epoch, 1);
      expect(new Set(order).size).toBe(order.length);
      easy += order.filter((i) => i % 2 === 0).length;
      hard += order.filter((i) => i % 2 === 1).length;
    }
    expect(hard).toBe(20 * 100);
    // Easy examples are kept with probability 0.1: 2000 trials, mean 200, sd ≈ 13.4.
    expect(Math.abs(easy - 200)).toBeLessThan(60);
  });

  test('running loss is an exponential average; threshold mode', () => {
    const s = new HardSampleSampler(HardSampleSamplerOptions.parse({ momentum: 0.5, threshold: 0.5 }));
    s.observe([3], [1], 0);
    s.observe([3], Float32Array.of(0), 0);
    s.observe([4], [NaN], 0);
    expect(s.runningLoss(3)).toBe(0.5);
    expect(s.runningLoss(4)).toBeUndefined();
    s.observe([3], [0], 1);
    expect(s.runningLoss(3)).toBe(0.25);
    expect(s.easyIndices()).toEqual(new Set([3]));
  });

  test('state/restore reproduces the order of the uninterrupted sampler', () => {
    const a = new HardSampleSampler(options);
    feed(a);
    const saved = JSON.parse(JSON.stringify(a.state()));
    const b = new HardSampleSampler(options);
    b.restore(saved);
    expect(b.epochIndices(ds, 5, 3)).toEqual(a.epochIndices(ds, 5, 3));
    expect(() => b.restore({ nope: true })).toThrow(/state/);
  });
});

test('class-aware samplers refuse datasets without single class labels', () => {
  const info: DatasetInfo = { task: 'regression', inputs: [{ name: 'x', shape: [1], dtype: 'float32' }], targetShape: [], targetDtype: 'float32' };
  const ds = new InMemoryDataset(info, [{ inputs: { x: Float32Array.of(0) }, target: 0.5 }]);
  expect(ds.labelOf).toBeUndefined();
  expect(() => new ClassBalancedSampler().epochIndices(ds, 0, 0)).toThrow(/class labels/);
});
