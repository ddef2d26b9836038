import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { ensureGradients, BackendError, type Availability, type Backend, type BackendInfo } from '@kiln/core';
import { packageVersion } from './wasm-files';
import { registerGlobalNorm } from './kernels/global-norm';

export const cpuBackendOptions = z.strictObject({});

/**
 * tfjs-backend-cpu prints a "you are running TensorFlow.js in Node.js, install tfjs-node" banner
 * on its first write; Kiln reports the backend itself (and its hints name backend: tensorflow).
 */
export function silenceNodeBanner(): void {
  const cpu = tf.engine().findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;
}

/** tfjs's plain JavaScript backend: slow, but every kernel exists; the reference the others are tested against. */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly priority = 10;

  async availability(): Promise<Availability> {
    return { ok: true };
  }

  async activate(): Promise<BackendInfo> {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) {
      throw new BackendError('tfjs could not initialise the cpu backend', { where: 'backend: cpu' });
    }
    await tf.ready();
    silenceNodeBanner();
    registerGlobalNorm();
    const gradients = ensureGradients();
    return {
      name: this.name,
      tfBackend: 'cpu',
      version: packageVersion('@tensorflow/tfjs-backend-cpu') ?? tf.version_core,
      threads: 1,
      simd: false,
      details: { tfjsCore: tf.version_core, gradients },
    };
  }
}
