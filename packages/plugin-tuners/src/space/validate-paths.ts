import { ConfigError, getPath, hasPath, isPlainObject, parsePath, POINT_CONFIG_KEYS, type Kernel, type KilnConfig } from '@kiln/core';
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
