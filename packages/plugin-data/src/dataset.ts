import type { Dataset, DatasetInfo, Example } from '@kiln/core';

/** A dataset held in memory as decoded examples. */
export class InMemoryDataset implements Dataset {
  /** Present only for single-label classification, so class-aware samplers refuse other tasks. */
  readonly labelOf?: (index: number) => number;

  constructor(
    readonly info: DatasetInfo,
    private readonly examples: readonly Example[],
  ) {
    if (info.task === 'classification' && info.targetShape.length === 0) this.labelOf = (index) => this.get(index).target as number;
  }

  get size(): number {
    return this.examples.length;
  }

  get(index: number): Example {
    const example = this.examples[index];
    if (!example) throw new RangeError(`index ${index} out of range [0, ${this.examples.length})`);
    return example;
  }
}

/** Deterministic train/val partition of `n` row positions by `fraction` for validation. */
export function splitIndices(n: number, fraction: number, rng: { shuffle<T>(items: T[]): T[] }): { train: number[]; val: number[] } {
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const nVal = Math.round(n * fraction);
  const val = order.slice(0, nVal).sort((a, b) => a - b);
  const train = order.slice(nVal).sort((a, b) => a - b);
  return { train, val };
}
