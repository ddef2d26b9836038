import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { ensureGradients, BackendError, type Availability, type Backend, type BackendInfo } from '@kiln/core';
import { registerTrainingKernels } from './kernels/register';
import { registerGlobalNorm } from './kernels/global-norm';
import { backendInfo, noteAddedKernels } from './info';
import { packageVersion, wasmBinaryDir } from './wasm-files';

export const wasmBackendOptions = z.strictObject({
  simd: z.boolean().default(true).describe('Use the SIMD build of tfjs-wasm (about 2-3x faster); false forces the plain build. Takes effect on the first activation in a process.'),
  wasmDir: z.string().optional().describe("Directory holding tfjs-backend-wasm's .wasm files; defaults to the installed package's dist/."),
});
export type WasmBackendOptions = z.output<typeof wasmBackendOptions>;

let initialising: Promise<void> | undefined;

/** Loads tfjs-wasm once per process; later calls share the same promise. */
function initWasm(options: WasmBackendOptions): Promise<void> {
  initialising ??= (async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (tf.findBackend('wasm') === null) {
      wasm.setWasmPaths(options.wasmDir ? ensureTrailingSeparator(options.wasmDir) : wasmBinaryDir());
      if (!options.simd) tf.env().set('WASM_HAS_SIMD_SUPPORT', false);
    }
  })();
  return initialising;
}

function ensureTrailingSeparator(dir: string): string {
  return dir.endsWith('/') || dir.endsWith('\\') ? dir : `${dir}/`;
}

/** tfjs on WebAssembly (XNNPACK, SIMD), plus the gradient kernels tfjs-wasm lacks. */
export class WasmBackend implements Backend {
  readonly name = 'wasm';
  readonly priority = 50;
  private readonly options: WasmBackendOptions;

  constructor(options: Partial<WasmBackendOptions> = {}) {
    this.options = wasmBackendOptions.parse(options);
  }

  async availability(): Promise<Availability> {
    if (typeof (globalThis as { WebAssembly?: unknown }).WebAssembly !== 'object') return { ok: false, reason: 'this JavaScript runtime has no WebAssembly' };
    if (packageVersion('@tensorflow/tfjs-backend-wasm') === undefined) {
      return { ok: false, reason: '@tensorflow/tfjs-backend-wasm is not installed', install: 'npm install @tensorflow/tfjs-backend-wasm' };
    }
    return { ok: true };
  }

  async activate(): Promise<BackendInfo> {
    await initWasm(this.options);
    noteAddedKernels(registerTrainingKernels('wasm'));
    registerGlobalNorm();
    const gradients = ensureGradients();
    let selected: boolean;
    try {
      selected = await tf.setBackend('wasm');
      await tf.ready();
    } catch (error) {
      selected = false;
      initialising = undefined;
      throw new BackendError(`could not start the wasm backend: ${error instanceof Error ? error.message : String(error)}`, {
        where: 'backend: wasm',
        hint: `check that ${this.options.wasmDir ?? wasmBinaryDir()} holds tfjs-backend-wasm*.wasm, or use backend: cpu`,
        cause: error,
      });
    }
    if (!selected) {
      throw new BackendError('tfjs could not initialise the wasm backend', {
        where: 'backend: wasm',
        hint: `check that ${this.options.wasmDir ?? wasmBinaryDir()} holds tfjs-backend-wasm*.wasm, or use backend: cpu`,
      });
    }
    const info = backendInfo();
    return {
      name: this.name,
      tfBackend: 'wasm',
      version: info.tfjsWasmVersion ?? tf.version_core,
      threads: info.threads,
      simd: info.simd,
      details: {
        tfjsCore: info.tfjsVersion,
        binary: info.simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm',
        kernels: `Kiln-added or fixed: ${info.addedKernels.join(', ')}`,
        gradients,
      },
    };
  }
}
