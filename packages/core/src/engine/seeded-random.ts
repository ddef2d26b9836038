import { SeededRng } from '../services/rng';

/**
 * tfjs draws the seeds of its unseeded random ops (initializers, dropout) from Math.random.
 * While a run is active, Math.random comes from a seeded generator so that one config seed
 * fixes initialization and dropout, and its state can be checkpointed for resume.
 */
export class SeededMathRandom {
  private original?: () => number;
  readonly rng: SeededRng;

  constructor(seed: number) {
    this.rng = new SeededRng(seed);
  }

  install(): void {
    if (this.original) return;
    this.original = Math.random;
    Math.random = () => this.rng.next();
  }

  uninstall(): void {
    if (!this.original) return;
    Math.random = this.original;
    this.original = undefined;
  }
}
