import { BackendError, ConfigError } from '../errors';
import { Tokens } from '../points';
import type { BackendInfo } from '../points/backend';
import { knownNamesHint } from '../suggest';
import type { Kernel } from './kernel';

/**
 * Activates the configured backend. `auto` tries every registered backend by priority and
 * takes the first available one; a named backend that is missing fails with how to install it.
 */
export async function activateBackend(kernel: Kernel, requested = kernel.config.backend): Promise<BackendInfo> {
  const names = kernel.names(Tokens.Backend);
  if (requested === 'auto') {
    const candidates = await Promise.all(names.map((name) => kernel.build(Tokens.Backend, { type: name }, 'backend')));
    candidates.sort((a, b) => b.priority - a.priority);
    const skipped: string[] = [];
    for (const backend of candidates) {
      const availability = await backend.availability();
      if (availability.ok) {
        if (skipped.length) kernel.logger.debug(`backend auto: skipped ${skipped.join('; ')}`);
        return backend.activate();
      }
      skipped.push(`${backend.name} (${availability.reason})`);
    }
    throw new BackendError('no tensor backend is available', {
      where: kernel.locate('backend'),
      hint: names.length
        ? `tried: ${skipped.join('; ')}`
        : 'install @kiln/plugin-backend-wasm (the default backend) or list a backend plugin in `plugins`',
    });
  }
  if (!kernel.has(Tokens.Backend, requested)) {
    throw new ConfigError(`unknown backend '${requested}'`, {
      where: kernel.locate('backend'),
      hint: `${knownNamesHint(requested, [...names, 'auto'])}`,
    });
  }
  const backend = await kernel.build(Tokens.Backend, { type: requested }, 'backend');
  const availability = await backend.availability();
  if (!availability.ok) {
    throw new BackendError(`backend '${requested}' is not available: ${availability.reason}`, {
      where: kernel.locate('backend'),
      hint: availability.install ? `install it with: ${availability.install} (or use backend: auto)` : 'use backend: auto to pick one that is installed',
    });
  }
  return backend.activate();
}
