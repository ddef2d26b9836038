import prand from 'pure-rand';

/** Token and interface of the seeded random-number service. */
export const Rng: unique symbol = Symbol.for('kiln.service.Rng');
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[];
  /** An independent generator derived from this one's seed and a label (same label, same stream). */
  fork(label: string): Rng;
  /** Serializable position, for resume. */
  getState(): number[];
  setState(state: readonly number[]): void;
}

/**
 * mulberry32: a tiny, fast 32-bit generator, uniform in [0, 1), for filling large arrays
 * reproducibly (test and verification inputs). Not for anything a run checkpoints: SeededRng
 * has a serializable state and forks.
 */
export function mulberry32(seed: number): () => number {
  // A local alias: a global lookup per call is slow inside vm contexts (Jest).
  const { imul } = Math;
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` values uniform in [low, high) from mulberry32(seed). */
export function uniformArray(size: number, seed: number, low = 0, high = 1): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(size);
  const span = high - low;
  for (let i = 0; i < size; i++) out[i] = low + next() * span;
  return out;
}

/** splitmix32 finalizer: spreads nearby seeds over the whole 32-bit range. */
function splitmix32(seed: number): number {
  let z = (seed + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

function hashLabel(seed: number, label: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h | 0;
}

/** xoroshiro128+ from pure-rand: fast, serializable, identical across platforms. */
export class SeededRng implements Rng {
  private gen: prand.RandomGenerator;
  constructor(readonly seed: number) {
    // xoroshiro's first outputs are poor for small seeds (seed 1 draws ~0.99999 first): scramble it.
    this.gen = prand.xoroshiro128plus(splitmix32(seed | 0));
  }
  next(): number {
    // 53 random bits from two 32-bit draws, as in pure-rand's double distribution.
    const [hi, g1] = prand.uniformIntDistribution(0, (1 << 26) - 1, this.gen);
    const [lo, g2] = prand.uniformIntDistribution(0, (1 << 27) - 1, g1);
    this.gen = g2;
    return (hi * 134217728 + lo) / 9007199254740992;
  }
  int(min: number, max: number): number {
    const [value, gen] = prand.uniformIntDistribution(min, max, this.gen);
    this.gen = gen;
    return value;
  }
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
  /** Generators forked from this one, by label; forking a label twice returns the same stream. */
  readonly forks = new Map<string, SeededRng>();

  fork(label: string): SeededRng {
    let child = this.forks.get(label);
    if (!child) this.forks.set(label, (child = new SeededRng(hashLabel(this.seed, label))));
    return child;
  }
  getState(): number[] {
    const gen = this.gen as prand.RandomGenerator & { getState?: () => readonly number[] };
    if (!gen.getState) throw new Error('pure-rand generator has no getState');
    return [...gen.getState()];
  }
  setState(state: readonly number[]): void {
    this.gen = prand.xoroshiro128plus.fromState(state);
  }
}
