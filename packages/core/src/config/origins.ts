import { formatPath, type PathSegment } from './paths';

/** Where a config value came from: a file (with its line when known), a preset, or a flag. */
export interface Origin {
  /** `kiln.config.yaml`, `@kiln/presets/image-classification`, `--set`, `default`. */
  source: string;
  file?: string;
  line?: number;
}

export function formatOrigin(origin: Origin): string {
  return origin.line !== undefined ? `${origin.source}:${origin.line}` : origin.source;
}

/** Origins of every leaf, by dotted path. */
export class OriginMap {
  private readonly map = new Map<string, Origin>();

  set(path: readonly PathSegment[], origin: Origin): void {
    this.map.set(formatPath(path), origin);
  }

  /** Forgets `path` and everything below it (a value replaced wholesale). */
  clear(path: readonly PathSegment[]): void {
    const key = formatPath(path);
    for (const existing of [...this.map.keys()]) {
      if (key === '' || existing === key || existing.startsWith(`${key}.`)) this.map.delete(existing);
    }
  }

  get(path: string): Origin | undefined {
    return this.map.get(path);
  }

  /** The best origin for a path: exact, else its `type` key, else a parent, else any child. */
  locate(path: string): Origin | undefined {
    const exact = this.map.get(path) ?? this.map.get(`${path}.type`);
    if (exact) return exact;
    const parts = path.split('.');
    for (let n = parts.length - 1; n > 0; n--) {
      const parent = parts.slice(0, n).join('.');
      const found = this.map.get(parent) ?? this.map.get(`${parent}.type`);
      if (found) return found;
    }
    for (const [key, origin] of this.map) if (key.startsWith(`${path}.`)) return origin;
    return undefined;
  }

  describe(path: string): string {
    const origin = this.locate(path);
    return origin ? `${formatOrigin(origin)} ${path}` : path;
  }

  entries(): [string, Origin][] {
    return [...this.map.entries()];
  }

  /** Rebuilds a map from `entries()` (e.g. after crossing to a worker thread). */
  static fromEntries(entries: Iterable<[string, Origin]>): OriginMap {
    const map = new OriginMap();
    for (const [key, origin] of entries) map.map.set(key, origin);
    return map;
  }
}
