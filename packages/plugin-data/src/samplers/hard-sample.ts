import { z } from 'zod';
import { ConfigError } from '@kiln/core';
import type { Dataset, Sampler } from '@kiln/core';
import { epochRng } from './basic';

export const HardSampleSamplerOptions = z.strictObject({
  warmupEpochs: z.number().int().min(0).default(2).describe('Epochs that visit every example before easy ones are down-weighted'),
  easyFraction: z.number().min(0).max(1).default(0.5).describe('Share of observed examples, lowest running loss first, that count as easy'),
  threshold: z.number().min(0).optional().describe('Running loss below which an example is easy (replaces `easyFraction`)'),
  keepProbability: z.number().min(0).max(1).default(0.2).describe('Chance an easy example is still visited in an epoch'),
  momentum: z.number().min(0).max(0.999).default(0.9).describe('Running loss = momentum · previous + (1 − momentum) · new'),
});
export type HardSampleSamplerOptions = z.output<typeof HardSampleSamplerOptions>;

interface HardSampleState {
  version: 1;
  /** [index, running loss] pairs. */
  losses: [number, number][];
}

/**
 * Adaptive hard-sample mining (after ml-cvnets' find_easy_samples): keeps a running loss per
 * example from `observe`; after the warmup, examples that stay easy are visited only with
 * probability `keepProbability`, so epochs spend their steps on the hard ones.
 */
export class HardSampleSampler implements Sampler {
  private readonly losses = new Map<number, number>();

  constructor(private readonly options: HardSampleSamplerOptions) {}

  observe(indices: readonly number[], losses: Float32Array | number[], _epoch?: number): void {
    const m = this.options.momentum;
    indices.forEach((index, k) => {
      const loss = losses[k];
      if (!Number.isFinite(loss)) return;
      const previous = this.losses.get(index);
      this.losses.set(index, previous === undefined ? loss : m * previous + (1 - m) * loss);
    });
  }

  /** Running loss of an example, if it was observed. */
  runningLoss(index: number): number | undefined {
    return this.losses.get(index);
  }

  /** Examples currently counted as easy. */
  easyIndices(): Set<number> {
    const { threshold, easyFraction } = this.options;
    const entries = [...this.losses];
    if (threshold !== undefined) return new Set(entries.filter(([, l]) => l < threshold).map(([i]) => i));
    entries.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    return new Set(entries.slice(0, Math.floor(entries.length * easyFraction)).map(([i]) => i));
  }

  epochIndices(dataset: Dataset, epoch: number, seed: number): number[] {
    const rng = epochRng(seed, epoch, 'hard-sample');
    const order = rng.shuffle(Array.from({ length: dataset.size }, (_, i) => i));
    if (epoch < this.options.warmupEpochs || this.losses.size === 0) return order;
    const easy = this.easyIndices();
    // One draw per example whether easy or not, so the order depends only on (seed, epoch, state).
    const kept = order.filter((i) => rng.next() < this.options.keepProbability || !easy.has(i));
    return kept.length > 0 ? kept : order;
  }

  state(): HardSampleState {
    return { version: 1, losses: [...this.losses].sort((a, b) => a[0] - b[0]) };
  }

  restore(state: unknown): void {
    const s = state as Partial<HardSampleState> | null;
    if (!s || s.version !== 1 || !Array.isArray(s.losses)) {
      throw new ConfigError('hard-sample sampler state is not one this version wrote', { where: 'checkpoint', hint: 'resume with the same Kiln version, or start the run afresh' });
    }
    this.losses.clear();
    for (const [index, loss] of s.losses) this.losses.set(index, loss);
  }
}
