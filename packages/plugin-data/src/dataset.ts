import type { Dataset, DatasetInfo, Example } from '@kiln/core';

/** A dataset held in memory as decoded examples. */
export class InMemoryDataset implements Dataset {
  constructor(
    readonly info: DatasetInfo,
    private readonly examples: readonly Example[],
  ) {}

  get size(): number {
    return this.examples.length;
  }

  get(index: number): Example {
    const example = this.examples[index];
    if (!example) throw new RangeError(`index ${index} out of range [0, ${this.examples.length})`);
    return example;
  }

  labelOf(index: number): number {
    const target = this.get(index).target;
    return typeof target === 'number' ? target : target[0];
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
