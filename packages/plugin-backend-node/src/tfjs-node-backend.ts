import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { BackendError, type Availability, type Backend, type BackendInfo } from '@kiln/core';

export const nodeBackendOptions = z.strictObject({});

/** Resolves a package without loading it; undefined when it is not installed. */
function resolvePackage(name: string): string | undefined {
  try {
    return require.resolve(`${name}/package.json`);
  } catch {
    return undefined;
  }
}

/**
 * Native TensorFlow through tfjs-node(-gpu), an optional peer dependency: required only
 * when activated, so Kiln runs without it and says how to install it.
 */
export class TfjsNodeBackend implements Backend {
  constructor(
    readonly name: 'tensorflow' | 'tensorflow-gpu',
    readonly priority: number,
    readonly packageName: string,
  ) {}

  async availability(): Promise<Availability> {
    if (resolvePackage(this.packageName) === undefined) {
      return { ok: false, reason: `${this.packageName} is not installed`, install: `npm install ${this.packageName}` };
    }
    try {
      require(this.packageName);
    } catch (error) {
      return {
        ok: false,
        reason: `${this.packageName} is installed but failed to load: ${error instanceof Error ? error.message : String(error)}`,
        install: `npm rebuild ${this.packageName}`,
      };
    }
    return { ok: true };
  }

  async activate(): Promise<BackendInfo> {
    const available = await this.availability();
    if (!available.ok) {
      throw new BackendError(`backend '${this.name}' is not available: ${available.reason}`, {
        where: `backend: ${this.name}`,
        hint: available.install ? `run \`${available.install}\`, or use backend: wasm` : 'use backend: wasm',
      });
    }
    const binding = require(this.packageName) as { version?: { 'tfjs-node'?: string } };
    if (!(await tf.setBackend('tensorflow'))) {
      throw new BackendError(`tfjs could not initialise the '${this.name}' backend`, { where: `backend: ${this.name}`, hint: 'use backend: wasm' });
    }
    await tf.ready();
    const version = (require(`${this.packageName}/package.json`) as { version: string }).version;
    return {
      name: this.name,
      tfBackend: 'tensorflow',
      version,
      threads: require('os').cpus().length,
      details: { tfjsCore: tf.version_core, package: this.packageName, binding: binding.version?.['tfjs-node'] ?? version },
    };
  }
}

export class TensorflowBackend extends TfjsNodeBackend {
  constructor() {
    super('tensorflow', 80, '@tensorflow/tfjs-node');
  }
}

export class TensorflowGpuBackend extends TfjsNodeBackend {
  constructor() {
    super('tensorflow-gpu', 90, '@tensorflow/tfjs-node-gpu');
  }
}
