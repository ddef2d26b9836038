import { SeededRng } from '@kiln/core';
import { z } from 'zod';
import type { Params, SearchSpace } from '../space/search-space';
import type { ConfigSampler } from './samplers';
import { tunerRng } from './environment';

export const TpeOptions = z.strictObject({
  gamma: z.number().gt(0).lt(1).default(0.25).describe('Quantile that splits observations into good (below) and bad (above).'),
  candidates: z.number().int().positive().default(24).describe('n_EI: candidates drawn from l(x); the one maximizing l(x)/g(x) is suggested.'),
  startup: z.number().int().nonnegative().default(10).describe('Random configurations before the model is used.'),
  priorWeight: z.number().positive().default(1).describe('Weight of the flat prior component in each Parzen estimator.'),
});
export type TpeOptions = z.output<typeof TpeOptions>;

interface Observation {
  params: Params;
  loss: number;
  budget: number;
}

const SQRT2 = Math.SQRT2;
/** erf with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26). */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
const cdf = (z: number) => 0.5 * (1 + erf(z / SQRT2));

/** A truncated-Gaussian mixture on [lo, hi] (Bergstra et al. 2011, adaptive Parzen estimator). */
export class ParzenEstimator {
  readonly mus: number[];
  readonly sigmas: number[];
  readonly weights: number[];

  constructor(points: number[], readonly lo: number, readonly hi: number, priorWeight = 1) {
    const range = hi - lo || 1;
    const prior = (lo + hi) / 2;
    const all = [...points.map((p) => ({ mu: p, w: 1, prior: false })), { mu: prior, w: priorWeight, prior: true }].sort((a, b) => a.mu - b.mu);
    const minSigma = range / Math.min(100, all.length + 1);
    this.mus = all.map((c) => c.mu);
    // Each point's bandwidth is the larger gap to its neighbours; the prior spans the whole range.
    this.sigmas = all.map((c, i) => {
      if (c.prior) return range;
      const left = i > 0 ? c.mu - all[i - 1].mu : c.mu - lo;
      const right = i < all.length - 1 ? all[i + 1].mu - c.mu : hi - c.mu;
      return Math.min(range, Math.max(minSigma, left, right));
    });
    const total = all.reduce((s, c) => s + c.w, 0);
    this.weights = all.map((c) => c.w / total);
  }

  pdf(x: number): number {
    let p = 0;
    for (let i = 0; i < this.mus.length; i++) {
      const mu = this.mus[i];
      const s = this.sigmas[i];
      const mass = cdf((this.hi - mu) / s) - cdf((this.lo - mu) / s);
      const z = (x - mu) / s;
      p += (this.weights[i] * Math.exp(-0.5 * z * z)) / (s * Math.sqrt(2 * Math.PI) * Math.max(mass, 1e-12));
    }
    return p;
  }

  sample(rng: SeededRng): number {
    let u = rng.next();
    let i = 0;
    while (i < this.weights.length - 1 && u >= this.weights[i]) u -= this.weights[i++];
    for (let tries = 0; tries < 100; tries++) {
      const x = this.mus[i] + this.sigmas[i] * rng.normal();
      if (x >= this.lo && x <= this.hi) return x;
    }
    return Math.min(this.hi, Math.max(this.lo, this.mus[i]));
  }
}

/** Smoothed category frequencies. */
class CategoricalEstimator {
  private readonly probs: number[];
  constructor(indices: number[], k: number, prior: number) {
    const counts = new Array<number>(k).fill(prior);
    for (const i of indices) counts[i]++;
    const total = counts.reduce((a, b) => a + b, 0);
    this.probs = counts.map((c) => c / total);
  }
  pdf(i: number): number {
    return this.probs[i];
  }
  sample(rng: SeededRng): number {
    let u = rng.next();
    for (let i = 0; i < this.probs.length; i++) {
      if (u < this.probs[i]) return i;
      u -= this.probs[i];
    }
    return this.probs.length - 1;
  }
}

/**
 * Tree-structured Parzen Estimator (Bergstra et al. 2011): observations are split at the γ
 * quantile of the loss; per parameter, l(x) models the good ones and g(x) the rest; n_EI
 * candidates are drawn from l and the one with the largest Π l(x)/g(x) is suggested (which
 * maximizes expected improvement). Log-scale parameters are modelled in log space.
 * Conditional parameters use only the observations where they were active.
 * With several budgets (Hyperband brackets), the model uses the largest budget that has
 * enough observations, as BOHB does.
 */
export class TpeSampler implements ConfigSampler {
  readonly name = 'tpe';
  private readonly rng: SeededRng;
  private observations: Observation[] = [];

  constructor(private readonly space: SearchSpace, seed: number, private readonly options: TpeOptions = TpeOptions.parse({})) {
    this.rng = tunerRng(seed, 'sampler');
  }

  observe(params: Params, loss: number, budget: number): void {
    if (Number.isFinite(loss)) this.observations.push({ params, loss, budget });
  }

  private modelData(): Observation[] | undefined {
    const minPoints = Math.max(this.options.startup, 2);
    const budgets = [...new Set(this.observations.map((o) => o.budget))].sort((a, b) => b - a);
    for (const b of budgets) {
      const at = this.observations.filter((o) => o.budget === b);
      if (at.length >= minPoints) return at;
    }
    return undefined;
  }

  suggest(): Params {
    const data = this.modelData();
    if (!data) return this.space.sample(this.rng);
    const sorted = [...data].sort((a, b) => a.loss - b.loss);
    const nGood = Math.max(1, Math.ceil(this.options.gamma * sorted.length));
    const good = sorted.slice(0, nGood);
    const bad = sorted.slice(nGood);
    let best: { params: Params; score: number } | undefined;
    const models = new Map<string, { l: (x: unknown) => number; g: (x: unknown) => number; draw: () => unknown }>();
    const modelOf = (name: string) => {
      let m = models.get(name);
      if (!m) models.set(name, (m = this.buildModel(name, good, bad)));
      return m;
    };
    for (let c = 0; c < this.options.candidates; c++) {
      const params: Params = {};
      let score = 0;
      for (const name of this.space.order) {
        if (!this.space.isActive(name, params)) continue;
        const m = modelOf(name);
        const x = m.draw();
        params[name] = x;
        score += Math.log(m.l(x) + 1e-300) - Math.log(m.g(x) + 1e-300);
      }
      if (!best || score > best.score) best = { params, score };
    }
    return best!.params;
  }

  private buildModel(name: string, good: Observation[], bad: Observation[]) {
    const p = this.space.params[name];
    const valuesOf = (obs: Observation[]) => obs.filter((o) => name in o.params).map((o) => o.params[name]);
    const prior = this.options.priorWeight;
    if (p.type === 'choice' || p.type === 'grid') {
      const key = (v: unknown) => p.values.findIndex((w) => JSON.stringify(w) === JSON.stringify(v));
      const l = new CategoricalEstimator(valuesOf(good).map(key).filter((i) => i >= 0), p.values.length, prior);
      const g = new CategoricalEstimator(valuesOf(bad).map(key).filter((i) => i >= 0), p.values.length, prior);
      return { l: (x: unknown) => l.pdf(key(x)), g: (x: unknown) => g.pdf(key(x)), draw: () => p.values[l.sample(this.rng)] };
    }
    const log = p.type === 'loguniform' || (p.type === 'int' && p.log);
    const to = (v: number) => (log ? Math.log(v) : v);
    const from = (v: number) => (log ? Math.exp(v) : v);
    const pad = p.type === 'int' ? (p.step ?? 1) / 2 : 0;
    const lo = log ? Math.log(Math.max(p.min - pad, p.min / 2)) : p.min - pad;
    const hi = to(p.max + pad);
    const l = new ParzenEstimator(valuesOf(good).map((v) => to(v as number)), lo, hi, prior);
    const g = new ParzenEstimator(valuesOf(bad).map((v) => to(v as number)), lo, hi, prior);
    return {
      l: (x: unknown) => l.pdf(to(x as number)),
      g: (x: unknown) => g.pdf(to(x as number)),
      draw: () => {
        const v = from(l.sample(this.rng));
        return p.type === 'int' ? this.space.snap(name, v) : Math.min(p.max, Math.max(p.min, v));
      },
    };
  }

  state(): unknown {
    return { rng: this.rng.getState(), observations: this.observations };
  }
  restore(state: unknown): void {
    const s = state as { rng: number[]; observations: Observation[] };
    this.rng.setState(s.rng);
    this.observations = s.observations;
  }
}
