import { z } from 'zod';
import { ConfigError, SeededRng } from '@kiln/core';
import type { Dataset, Rng, Sampler } from '@kiln/core';

/** The generator for one epoch: the same (seed, epoch) always gives the same order, so resumed runs match. */
export function epochRng(seed: number, epoch: number, label: string): Rng {
  return new SeededRng(seed).fork(`${label}:epoch:${epoch}`);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Indices in dataset order, every epoch. */
export class SequentialSampler implements Sampler {
  epochIndices(dataset: Dataset): number[] {
    return range(dataset.size);
  }
}

/** A fresh permutation per epoch, seeded by (seed, epoch). */
export class RandomSampler implements Sampler {
  epochIndices(dataset: Dataset, epoch: number, seed: number): number[] {
    return epochRng(seed, epoch, 'random').shuffle(range(dataset.size));
  }
}

/** Draws `count` indices with replacement, with probability proportional to `weights` (binary search on the CDF). */
export function drawWeighted(weights: readonly number[], count: number, rng: Rng): number[] {
  const cdf = new Float64Array(weights.length);
  let total = 0;
  weights.forEach((w, i) => {
    total += w;
    cdf[i] = total;
  });
  if (!(total > 0)) throw new ConfigError('sampling weights sum to zero', { where: 'sampler', hint: 'give at least one positive weight' });
  const out = new Array<number>(count);
  for (let k = 0; k < count; k++) {
    const u = rng.next() * total;
    let lo = 0;
    let hi = weights.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    out[k] = lo;
  }
  return out;
}

function labelsOf(dataset: Dataset, sampler: string): number[] {
  const labelOf = dataset.labelOf?.bind(dataset);
  if (!labelOf) {
    throw new ConfigError(`the '${sampler}' sampler needs class labels, which this dataset does not expose (labelOf)`, {
      where: 'sampler',
      hint: 'use a classification reader, or give per-example `weights`',
    });
  }
  return range(dataset.size).map((i) => labelOf(i));
}

export const WeightedSamplerOptions = z.strictObject({
  weights: z.array(z.number().min(0)).optional().describe('Per-example sampling weights, aligned to dataset indices'),
  classWeights: z
    .union([z.array(z.number().min(0)), z.record(z.string(), z.number().min(0))])
    .optional()
    .describe('Per-class weights, by class index (array) or class name (object); classes not named get weight 1'),
  numSamples: z.number().int().min(1).optional().describe('Draws per epoch (default: the dataset size)'),
});
export type WeightedSamplerOptions = z.output<typeof WeightedSamplerOptions>;

/** Sampling with replacement by per-example or per-class weights (PyTorch's WeightedRandomSampler). */
export class WeightedSampler implements Sampler {
  constructor(private readonly options: WeightedSamplerOptions) {
    if (!!options.weights === !!options.classWeights) {
      throw new ConfigError('give exactly one of `weights` and `classWeights`', { where: 'sampler', hint: 'per-example weights or per-class weights' });
    }
  }

  exampleWeights(dataset: Dataset): number[] {
    const { weights, classWeights } = this.options;
    if (weights) {
      if (weights.length !== dataset.size) {
        throw new ConfigError(`\`weights\` has ${weights.length} entries for ${dataset.size} examples`, { where: 'sampler.weights', hint: 'one weight per training example' });
      }
      return [...weights];
    }
    const names = dataset.info.classNames ?? [];
    let byClass: (c: number) => number;
    if (Array.isArray(classWeights)) {
      byClass = (c) => classWeights[c] ?? 1;
    } else {
      const unknown = Object.keys(classWeights!).find((k) => !names.includes(k));
      if (unknown) throw new ConfigError(`class '${unknown}' is not one of [${names.join(', ')}]`, { where: `sampler.classWeights.${unknown}` });
      byClass = (c) => (classWeights as Record<string, number>)[names[c]] ?? 1;
    }
    return labelsOf(dataset, 'weighted').map(byClass);
  }

  epochIndices(dataset: Dataset, epoch: number, seed: number): number[] {
    return drawWeighted(this.exampleWeights(dataset), this.options.numSamples ?? dataset.size, epochRng(seed, epoch, 'weighted'));
  }
}

export const ClassBalancedSamplerOptions = z.strictObject({
  numSamples: z.number().int().min(1).optional().describe('Draws per epoch (default: the dataset size)'),
});

/** Every class equally likely per draw (weight 1 / class count), with replacement. */
export class ClassBalancedSampler implements Sampler {
  private cached?: { dataset: Dataset; weights: number[] };

  constructor(private readonly options: z.output<typeof ClassBalancedSamplerOptions> = {}) {}

  epochIndices(dataset: Dataset, epoch: number, seed: number): number[] {
    if (this.cached?.dataset !== dataset) {
      const labels = labelsOf(dataset, 'class-balanced');
      const counts = new Map<number, number>();
      for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
      this.cached = { dataset, weights: labels.map((l) => 1 / counts.get(l)!) };
    }
    return drawWeighted(this.cached.weights, this.options.numSamples ?? dataset.size, epochRng(seed, epoch, 'class-balanced'));
  }
}

export const DistributedShardSamplerOptions = z.strictObject({
  rank: z.number().int().min(0).describe('This process’s rank, 0 … worldSize − 1'),
  worldSize: z.number().int().min(1).describe('Number of processes'),
  shuffle: z.boolean().default(true).describe('Shuffle (by seed and epoch) before sharding'),
  dropLast: z.boolean().default(false).describe('Drop the tail instead of padding with repeated indices'),
});
export type DistributedShardSamplerOptions = z.output<typeof DistributedShardSamplerOptions>;

/**
 * This rank's shard of the (shuffled) order, as PyTorch's DistributedSampler: the order is
 * padded by repeating its start to a multiple of worldSize (or truncated with dropLast), then
 * rank r takes positions r, r + worldSize, … — equal-size shards, disjoint before padding.
 */
export class DistributedShardSampler implements Sampler {
  constructor(private readonly options: DistributedShardSamplerOptions) {
    if (options.rank >= options.worldSize) {
      throw new ConfigError(`rank ${options.rank} is not below worldSize ${options.worldSize}`, { where: 'sampler.rank', hint: 'ranks go from 0 to worldSize - 1' });
    }
  }

  epochIndices(dataset: Dataset, epoch: number, seed: number): number[] {
    const { rank, worldSize, shuffle, dropLast } = this.options;
    // The same generator on every rank, so the shards partition one shared permutation.
    let order = range(dataset.size);
    if (shuffle) order = epochRng(seed, epoch, 'distributed').shuffle(order);
    const perRank = dropLast ? Math.floor(dataset.size / worldSize) : Math.ceil(dataset.size / worldSize);
    const total = perRank * worldSize;
    if (total > order.length && order.length > 0) {
      const padded = [...order];
      while (padded.length < total) padded.push(...order.slice(0, total - padded.length));
      order = padded;
    } else {
      order = order.slice(0, total);
    }
    const shard: number[] = [];
    for (let i = rank; i < total; i += worldSize) shard.push(order[i]);
    return shard;
  }
}
