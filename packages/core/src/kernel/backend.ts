import { BackendError, ConfigError } from '../errors';
import { Tokens } from '../points';
import type { BackendInfo } from '../points/backend';
import { knownNamesHint } from '../suggest';
import type { ComponentBlock } from '../config/schema';
import type { Kernel } from './kernel';

/** `backend: wasm` and `backend: { type: wasm, ...options }` as one block. */
export function backendBlock(requested: string | ComponentBlock): ComponentBlock {
  return typeof requested === 'string' ? { type: requested } : requested;
}

/**
 * Activates the configured backend. `auto` tries every registered backend by priority and
 * takes the first available one; a named backend that is missing fails with how to install it.
 * A named backend gets the options of its block (`backend: { type: native, threads: 2 }`).
 */
export async function activateBackend(kernel: Kernel, requested: string | ComponentBlock = kernel.config.backend): Promise<BackendInfo> {
  const names = kernel.names(Tokens.Backend);
  const block = backendBlock(requested);
  if (block.type === 'auto') {
    if (Object.keys(block).length > 1) {
      throw new ConfigError('backend: auto takes no options', {
        where: kernel.locate('backend'),
        hint: `name the backend the options are for, e.g. backend: { type: ${names[0] ?? 'wasm'}, ... }`,
      });
    }
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
      if (availability.warn) kernel.logger.warn(`backend auto: '${backend.name}' is installed but cannot run: ${availability.reason}; trying the next backend`);
    }
    throw new BackendError('no tensor backend is available', {
      where: kernel.locate('backend'),
      hint: names.length
        ? `tried: ${skipped.join('; ')}`
        : 'install @kiln/plugin-backend-wasm (the default backend) or list a backend plugin in `plugins`',
    });
  }
  if (!kernel.has(Tokens.Backend, block.type)) {
    throw new ConfigError(`unknown backend '${block.type}'`, {
      where: kernel.locate(typeof requested === 'string' ? 'backend' : 'backend.type'),
      hint: `${knownNamesHint(block.type, [...names, 'auto'])}`,
    });
  }
  const backend = await kernel.build(Tokens.Backend, block, 'backend');
  const availability = await backend.availability();
  if (!availability.ok) {
    throw new BackendError(`backend '${block.type}' is not available: ${availability.reason}`, {
      where: kernel.locate('backend'),
      hint: availability.install ? `install it with: ${availability.install} (or use backend: auto)` : 'use backend: auto to pick one that is installed',
    });
  }
  return backend.activate();
}
