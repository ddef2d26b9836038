import { isPlainObject, leafPaths, type PathSegment } from './paths';
import type { Origin, OriginMap } from './origins';

/** Keys whose arrays accumulate across layers instead of replacing (plugins from every preset are needed). */
const UNION_KEYS = new Set(['plugins']);

function clone<T>(value: T): T {
  return structuredClone(value);
}

/**
 * Merges `layer` into `target`: objects deep-merge, later wins, arrays replace.
 * `originOf` tells where each leaf of the layer came from; `origins` is updated to match.
 */
export function mergeLayer(
  target: Record<string, unknown>,
  layer: Record<string, unknown>,
  originOf: (path: PathSegment[]) => Origin,
  origins: OriginMap,
  prefix: PathSegment[] = [],
): void {
  for (const [key, value] of Object.entries(layer)) {
    if (prefix.length === 0 && key === 'extends') continue;
    if (value === undefined) continue;
    const path = [...prefix, key];
    const existing = target[key];
    // A block that switches implementation drops the old one's options instead of merging them.
    const switchesType = isPlainObject(value) && isPlainObject(existing) && 'type' in value && value.type !== existing.type;
    if (isPlainObject(value) && isPlainObject(existing) && !switchesType) {
      mergeLayer(existing, value, originOf, origins, path);
      origins.set(path, originOf(path));
      continue;
    }
    if (prefix.length === 0 && UNION_KEYS.has(key) && Array.isArray(value) && Array.isArray(existing)) {
      for (const item of value) {
        if (!existing.includes(item)) {
          origins.set([...path, existing.length], originOf([...path, value.indexOf(item)]));
          existing.push(clone(item));
        }
      }
      continue;
    }
    origins.clear(path);
    target[key] = clone(value);
    for (const leaf of leafPaths(value, path)) origins.set(leaf, originOf(leaf));
    origins.set(path, originOf(path));
  }
}
