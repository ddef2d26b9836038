import { ConfigError, describeIssues, type Rng } from '@kiln/core';
import { SpaceSchema, type ParamSpec, type SpaceSpec } from './schema';

export type Params = Record<string, unknown>;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Number of values an int parameter can take. */
export function intCount(p: Extract<ParamSpec, { type: 'int' }>): number {
  return Math.floor((p.max - p.min) / (p.step ?? 1)) + 1;
}

/**
 * A validated search space: parameters by dotted config path, sampled in an order where
 * every condition's parent comes first, so `when` can look at already-drawn values.
 */
export class SearchSpace {
  readonly params: Readonly<SpaceSpec>;
  /** Parameter names, parents before the parameters conditioned on them. */
  readonly order: readonly string[];

  constructor(spec: SpaceSpec, private readonly at = 'tune.space') {
    this.params = spec;
    for (const [name, p] of Object.entries(spec)) SearchSpace.check(name, p, spec, at);
    this.order = SearchSpace.topological(spec, at);
  }

  /** Parses and validates a raw `tune.space` block; errors name `tune.space.<param>`. */
  static parse(raw: unknown, at = 'tune.space', locate: (p: string) => string = (p) => p): SearchSpace {
    const parsed = SpaceSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) throw describeIssues(parsed.error.issues, at, locate, 'search space');
    if (Object.keys(parsed.data).length === 0) {
      throw new ConfigError('the search space is empty', { where: locate(at), hint: "add parameters, e.g. { 'optimizer.lr': { type: 'loguniform', min: 1e-4, max: 1e-1 } }" });
    }
    return new SearchSpace(parsed.data, at);
  }

  private static check(name: string, p: ParamSpec, spec: SpaceSpec, at: string): void {
    const where = `${at}.${name}`;
    if (p.type === 'choice' || p.type === 'grid') {
      if (p.values.length === 0) throw new ConfigError(`${p.type} has no values`, { where, hint: 'list at least one value: values: [18, 34]' });
    } else {
      if (!Number.isFinite(p.min) || !Number.isFinite(p.max)) throw new ConfigError('min and max must be finite numbers', { where });
      if (p.min > p.max) throw new ConfigError(`min (${p.min}) is greater than max (${p.max})`, { where, hint: 'swap them' });
      const log = p.type === 'loguniform' || (p.type === 'int' && p.log);
      if (log && p.min <= 0) {
        throw new ConfigError(`a log-scale range must be above 0, got [${p.min}, ${p.max}]`, { where, hint: `use a small positive min such as ${p.type === 'int' ? 1 : 1e-6}, or type 'uniform'` });
      }
      if (p.type === 'int' && p.step !== undefined && p.log) throw new ConfigError('int: step and log cannot be combined', { where, hint: 'drop one of them' });
    }
    for (const [parent, value] of Object.entries(p.when ?? {})) {
      const q = spec[parent];
      if (!q) throw new ConfigError(`condition on '${parent}', which is not a parameter of the space`, { where: `${where}.when`, hint: `conditions refer to other parameters: ${Object.keys(spec).join(', ')}` });
      if ((q.type === 'choice' || q.type === 'grid') && !q.values.some((v) => same(v, value))) {
        throw new ConfigError(`condition ${parent} = ${JSON.stringify(value)} can never hold (values: ${JSON.stringify(q.values)})`, { where: `${where}.when` });
      }
    }
  }

  private static topological(spec: SpaceSpec, at: string): string[] {
    const out: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, chain: string[]) => {
      if (state.get(name) === 'done') return;
      if (state.get(name) === 'visiting') throw new ConfigError(`conditions form a cycle: ${[...chain, name].join(' → ')}`, { where: `${at}.${name}.when` });
      state.set(name, 'visiting');
      for (const parent of Object.keys(spec[name].when ?? {})) visit(parent, [...chain, name]);
      state.set(name, 'done');
      out.push(name);
    };
    for (const name of Object.keys(spec)) visit(name, []);
    return out;
  }

  get names(): string[] {
    return Object.keys(this.params);
  }

  /** Whether a parameter exists given the values drawn for its parents. */
  isActive(name: string, params: Params): boolean {
    return Object.entries(this.params[name].when ?? {}).every(([parent, value]) => parent in params && same(params[parent], value));
  }

  /** One value of one parameter, uniformly (in log space for log ranges). */
  sampleParam(name: string, rng: Rng): unknown {
    const p = this.params[name];
    switch (p.type) {
      case 'uniform':
        return p.min + (p.max - p.min) * rng.next();
      case 'loguniform':
        return Math.exp(Math.log(p.min) + (Math.log(p.max) - Math.log(p.min)) * rng.next());
      case 'int':
        if (p.log) {
          // Log-uniform over [min − ½, max + ½] then rounded, so every integer gets its log-width share.
          const lo = Math.log(Math.max(p.min - 0.5, p.min / 2));
          const hi = Math.log(p.max + 0.5);
          return this.snap(name, Math.exp(lo + (hi - lo) * rng.next()));
        }
        return p.min + (p.step ?? 1) * rng.int(0, intCount(p) - 1);
      case 'choice':
      case 'grid':
        return p.values[rng.int(0, p.values.length - 1)];
    }
  }

  /** Rounds and clamps a number onto an int parameter's lattice. */
  snap(name: string, x: number): number {
    const p = this.params[name];
    if (p.type !== 'int') return x;
    const step = p.step ?? 1;
    const k = Math.min(intCount(p) - 1, Math.max(0, Math.round((x - p.min) / step)));
    return p.min + k * step;
  }

  /** A full configuration: every active parameter drawn at random; `fixed` values are kept. */
  sample(rng: Rng, fixed: Params = {}): Params {
    const out: Params = {};
    for (const name of this.order) {
      if (!this.isActive(name, out)) continue;
      out[name] = name in fixed ? fixed[name] : this.sampleParam(name, rng);
    }
    return out;
  }

  /** `--set`-style assignments (`optimizer.lr=0.01`) for a configuration. */
  static assignments(params: Params): string[] {
    return Object.entries(params).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  }

  toJSON(): SpaceSpec {
    return this.params as SpaceSpec;
  }
}
