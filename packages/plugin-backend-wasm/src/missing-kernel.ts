import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '@kiln/core';

const PATTERNS = [/Kernel '([^']+)' not registered for backend '([^']+)'/, /Cannot find registered kernel '([^']+)' for backend '([^']+)'/];

/** Where each backend comes from, for the hint. */
const INSTALL: Record<string, string> = {
  cpu: 'backend: cpu (bundled with @kiln/plugin-backend-wasm)',
  wasm: 'backend: wasm (bundled with @kiln/plugin-backend-wasm)',
  tensorflow: 'backend: tensorflow after `npm install @tensorflow/tfjs-node`',
};

/** Backends that have a kernel for `op`, among the registered ones and tfjs-node's (which implements every op). */
function backendsWith(op: string, except: string): string[] {
  const names = ['cpu', 'wasm'].filter((name) => name !== except && tf.getKernel(op, name) !== undefined);
  if (except !== 'tensorflow') names.push('tensorflow');
  return names;
}

/**
 * Turns tfjs's "Kernel 'X' not registered for backend 'Y'" into a BackendError naming
 * the backend, the op and where the op is available. Any other error is returned unchanged.
 */
export function explainMissingKernel(error: unknown): unknown {
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : undefined;
  if (message === undefined) return error;
  for (const pattern of PATTERNS) {
    const match = pattern.exec(message);
    if (!match) continue;
    const [, op, backend] = match;
    const alternatives = backendsWith(op, backend).map((name) => INSTALL[name] ?? `backend: ${name}`);
    return new BackendError(`the '${backend}' tensor backend has no kernel for op '${op}', which this model needs`, {
      where: `backend: ${backend}`,
      hint: alternatives.length > 0
        ? `use ${alternatives.join(', or ')}; or report the op to Kiln so @kiln/plugin-backend-wasm can add it`
        : 'report the op to Kiln so @kiln/plugin-backend-wasm can add it',
      cause: error,
    });
  }
  return error;
}

/** Runs `fn`, rethrowing a missing-kernel error as the BackendError explainMissingKernel makes. */
export async function withKernelErrors<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw explainMissingKernel(error);
  }
}
