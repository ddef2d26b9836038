import { ConfigError, getPath, hasPath, isPlainObject, KilnConfigSchema, KilnError, parsePath, POINT_CONFIG_KEYS, setPath, type Kernel, type KilnConfig } from '@kiln/core';
import type { SearchSpace } from './search-space';

/** Option names the component at `block` accepts (from its registered schema), when known. */
function componentKeys(kernel: Kernel | undefined, blockKey: string, block: unknown): string[] {
  if (!kernel || !isPlainObject(block) || typeof block.type !== 'string') return [];
  const token = Object.getOwnPropertySymbols(POINT_CONFIG_KEYS).find((s) => POINT_CONFIG_KEYS[s as keyof typeof POINT_CONFIG_KEYS] === blockKey);
  if (!token) return [];
  const schema = kernel.registration(token, block.type)?.schema as unknown as { shape?: Record<string, unknown> } | undefined;
  return schema?.shape ? Object.keys(schema.shape) : [];
}

/**
 * Every parameter must name something the config has: a path present in the resolved config,
 * or an option the configured component accepts (`model.dropout` when the model's schema has
 * it). A conditional parameter only needs its parent object, since it may exist only in one branch.
 */
export function validateSpacePaths(space: SearchSpace, config: KilnConfig, kernel?: Kernel, at = 'tune.space'): void {
  for (const name of space.names) {
    const segments = parsePath(name);
    if (hasPath(config, segments)) continue;
    const parent = segments.slice(0, -1);
    const leaf = String(segments[segments.length - 1]);
    const parentValue = getPath(config, parent);
    if (parent.length === 1 && componentKeys(kernel, String(parent[0]), parentValue).includes(leaf)) continue;
    if (space.params[name].when && isPlainObject(parentValue)) continue;
    const siblings = isPlainObject(parentValue) ? [...new Set([...Object.keys(parentValue), ...componentKeys(kernel, String(parent[0]), parentValue)])] : [];
    throw new ConfigError(`'${name}' is not in the config`, {
      where: `${at}.${name}`,
      hint: siblings.length
        ? `'${parent.join('.')}' has: ${siblings.join(', ')}`
        : `the config has no '${parent.join('.') || name}'; top-level keys: ${Object.keys(config).join(', ')}`,
    });
  }
}

/** The values worth checking: a range's ends, every listed value. */
function probeValues(p: SearchSpace['params'][string]): unknown[] {
  return p.type === 'choice' || p.type === 'grid' ? p.values : [p.min, p.max];
}

/**
 * Every value the space can produce must be valid where it goes: each range end and each listed
 * value is put into a copy of the config and checked against the config schema and the
 * component's option schema (`model.dropout: 1` fails an MLP whose dropout must be < 1).
 * Blocks whose `type` is itself searched are skipped (their schema depends on the draw).
 */
export function validateSpaceValues(space: SearchSpace, config: KilnConfig, kernel?: Kernel, at = 'tune.space'): void {
  for (const name of space.names) {
    const segments = parsePath(name);
    const blockKey = String(segments[0]);
    if (space.names.includes(`${blockKey}.type`) && name !== `${blockKey}.type`) continue;
    if (space.params[name].when) continue;
    for (const value of probeValues(space.params[name])) {
      const copy = structuredClone(config) as unknown as Record<string, unknown>;
      setPath(copy, segments, value);
      const problem = (() => {
        const parsed = KilnConfigSchema.safeParse(copy);
        if (!parsed.success) return parsed.error.issues.map((i) => i.message).join('; ');
        const token = Object.getOwnPropertySymbols(POINT_CONFIG_KEYS).find((s) => POINT_CONFIG_KEYS[s as keyof typeof POINT_CONFIG_KEYS] === blockKey);
        const block = copy[blockKey];
        if (!kernel || !token || !isPlainObject(block) || typeof block.type !== 'string' || !kernel.has(token, block.type)) return undefined;
        const { schedule: _schedule, ...options } = block;
        try {
          kernel.validate(token, (blockKey === 'optimizer' ? options : block) as { type: string }, blockKey);
        } catch (error) {
          return KilnError.is(error) ? error.message : String(error);
        }
        return undefined;
      })();
      if (problem) {
        throw new ConfigError(`${JSON.stringify(value)} is not a valid value for '${name}': ${problem}`, {
          where: `${at}.${name}`,
          hint: 'narrow the range or remove the value so every draw is a valid config',
        });
      }
    }
  }
}
