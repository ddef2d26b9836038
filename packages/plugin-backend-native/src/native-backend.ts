import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { ensureGradients, BackendError, type Availability, type Backend, type BackendInfo } from '@kiln/core';
import { loadAddon, type NativeAddon } from './addon';
import { NATIVE_TF_BACKEND, registerNativeBackend } from './kernels/register';
import { registerBatchNormGradient, registerReluGradient } from './kernels/batch-norm-grad';

export const nativeBackendOptions = z.strictObject({
  isa: z
    .enum(['auto', 'avx512', 'avx2', 'fallback'])
    .default('auto')
    .describe('GEMM micro-kernel: auto picks the best the CPU has (AVX-512, else AVX2+FMA, else portable C++); an ISA the CPU lacks falls back to auto.'),
  threads: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Threads for native kernels (default: KILN_NUM_THREADS, else one per core). Fixed at the first kernel call in a process.'),
});
export type NativeBackendOptions = z.output<typeof nativeBackendOptions>;

/** Native C++ kernels (N-API addon, built at install) on a copy of tfjs's cpu backend. */
export class NativeBackend implements Backend {
  readonly name = 'native';
  /** Above wasm (50), below tfjs-node (80) whose install the user chose deliberately. */
  readonly priority = 70;
  private readonly options: NativeBackendOptions;

  constructor(options: Partial<NativeBackendOptions> = {}) {
    this.options = nativeBackendOptions.parse(options);
  }

  async availability(): Promise<Availability> {
    const load = loadAddon();
    // Installed but not loadable (the addon did not build): `auto` says so in one line as it falls back.
    if (!load.ok) return { ok: false, reason: load.reason, install: 'npm rebuild @kiln/plugin-backend-native', warn: true };
    return { ok: true };
  }

  async activate(): Promise<BackendInfo> {
    const load = loadAddon();
    if (!load.ok) {
      throw new BackendError(`backend 'native' is not available: ${load.reason}`, {
        where: 'backend: native',
        hint: 'run `npm rebuild @kiln/plugin-backend-native` with a C++ compiler on PATH, or use backend: wasm',
      });
    }
    const addon = load.addon;
    if (this.options.threads !== undefined && process.env.KILN_NUM_THREADS === undefined) process.env.KILN_NUM_THREADS = String(this.options.threads);
    if (this.options.isa !== 'auto') addon.selectIsa(this.options.isa);
    await import('@tensorflow/tfjs-backend-cpu');
    const kernels = registerNativeBackend(addon);
    const gradients = ensureGradients();
    if (gradients) {
      registerBatchNormGradient(NATIVE_TF_BACKEND);
      registerReluGradient(NATIVE_TF_BACKEND);
    }
    if (!(await tf.setBackend(NATIVE_TF_BACKEND))) {
      throw new BackendError('tfjs could not initialise the native backend', { where: 'backend: native', hint: 'use backend: wasm' });
    }
    await tf.ready();
    const info = addon.info();
    return {
      name: this.name,
      tfBackend: NATIVE_TF_BACKEND,
      version: packageVersion(),
      threads: info.threads,
      simd: info.isa !== 'fallback',
      details: {
        isa: info.isa,
        cpu: [info.avx512 ? 'avx512' : '', info.avx2 ? 'avx2+fma' : ''].filter(Boolean).join(', ') || 'baseline x86-64 or other',
        binary: `${load.origin} (${load.binary})`,
        tfjsCore: tf.version_core,
        kernels: `native: ${kernels.join(', ')}; one-pass FusedBatchNorm and Relu gradients; core's fused training batch norm (KilnBatchNormTrain and its gradient); every other op runs tfjs's cpu kernel`,
        gradients,
      },
    };
  }
}

function packageVersion(): string {
  return (require('../package.json') as { version: string }).version;
}

/** The loaded addon, for benchmarks and tests; throws when it did not build. */
export function nativeAddon(): NativeAddon {
  const load = loadAddon();
  if (!load.ok) throw new BackendError(load.reason, { where: 'backend: native', hint: 'use backend: wasm' });
  return load.addon;
}
