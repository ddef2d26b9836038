import { ConfigError } from '../errors';

export type PathSegment = string | number;

/** `metrics[0].type` and `metrics.0.type` both become ['metrics', 0, 'type']. */
export function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  for (const part of path.replace(/\[(\d+)\]/g, '.$1').split('.')) {
    if (part === '') throw new ConfigError(`empty segment in config path '${path}'`, { where: path, hint: 'write paths as a.b.c or a.list[0].b' });
    segments.push(/^\d+$/.test(part) ? Number(part) : part);
  }
  return segments;
}

export function formatPath(segments: readonly PathSegment[]): string {
  return segments.map(String).join('.');
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  // Any realm's Object.prototype (structuredClone and vm contexts make objects of another realm).
  return proto === null || Object.getPrototypeOf(proto) === null;
}

export function getPath(root: unknown, segments: readonly PathSegment[]): unknown {
  let node = root;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment as string];
  }
  return node;
}

export function hasPath(root: unknown, segments: readonly PathSegment[]): boolean {
  let node = root;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object' || !(String(segment) in (node as object))) return false;
    node = (node as Record<string, unknown>)[segment as string];
  }
  return true;
}

/** Sets a value, creating objects (or arrays, for numeric segments) on the way. */
export function setPath(root: Record<string, unknown>, segments: readonly PathSegment[], value: unknown): void {
  let node: Record<string | number, unknown> = root;
  segments.forEach((segment, i) => {
    if (i === segments.length - 1) {
      node[segment] = value;
      return;
    }
    const next = node[segment];
    if (next === null || typeof next !== 'object') {
      node[segment] = typeof segments[i + 1] === 'number' ? [] : {};
    }
    node = node[segment] as Record<string | number, unknown>;
  });
}

/** JSON-ish coercion for `--set` values: numbers, booleans, null, arrays and objects parse as JSON; the rest stay strings. */
export function coerceValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

/** Parses `a.b.c=value` into a path and a coerced value. */
export function parseAssignment(assignment: string): { path: PathSegment[]; value: unknown } {
  const eq = assignment.indexOf('=');
  if (eq <= 0) {
    throw new ConfigError(`--set expects key=value, got '${assignment}'`, {
      where: '--set',
      hint: "for example: --set optimizer.lr=0.01 --set 'model.widths=[32,64]'",
    });
  }
  return { path: parsePath(assignment.slice(0, eq).trim()), value: coerceValue(assignment.slice(eq + 1)) };
}

/** Every leaf path of a value (arrays index their elements; empty objects/arrays are leaves). */
export function leafPaths(value: unknown, prefix: PathSegment[] = []): PathSegment[][] {
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return [prefix];
    return keys.flatMap((k) => leafPaths(value[k], [...prefix, k]));
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return [prefix];
    return value.flatMap((v, i) => leafPaths(v, [...prefix, i]));
  }
  return [prefix];
}

/**
 * Dotted-key view of a config, for trackers: `{ 'optimizer.lr': 0.01, 'model.widths': '[32,64]' }`.
 * Arrays, null and empty objects become their JSON text; undefined and functions are skipped.
 */
export function flattenConfig(config: unknown, prefix = ''): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const visit = (value: unknown, key: string): void => {
    if (value === undefined || typeof value === 'function') return;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0 && key) out[key] = '{}';
      for (const [k, v] of entries) visit(v, key ? `${key}.${k}` : k);
      return;
    }
    if (!key) return;
    if (Array.isArray(value) || value === null) out[key] = JSON.stringify(value);
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
    else out[key] = String(value);
  };
  visit(config, prefix);
  return out;
}
