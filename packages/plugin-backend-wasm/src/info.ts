import * as tf from '@tensorflow/tfjs-core';
import { packageVersion } from './wasm-files';

export interface TensorEngineInfo {
  /** Active tfjs backend (`wasm`, `cpu`, `tensorflow`), or undefined before one is set. */
  backend: string | undefined;
  tfjsVersion: string;
  tfjsWasmVersion?: string;
  tfjsCpuVersion?: string;
  /** Threads XNNPACK uses on wasm; 1 elsewhere in this package. */
  threads: number;
  simd: boolean;
  /** Kernels Kiln added to the active backend. */
  addedKernels: string[];
}

let added: string[] = [];

export function noteAddedKernels(names: string[]): void {
  added = [...new Set([...added, ...names])];
}

interface WasmModuleTfjs {
  getThreadsCount(): number;
}

function wasmThreads(): number {
  const backend = tf.findBackend('wasm') as unknown as { wasm?: { tfjs?: WasmModuleTfjs } } | null;
  return backend?.wasm?.tfjs?.getThreadsCount() ?? 1;
}

/** Details for `kiln info`: tfjs versions, the active backend, threads and SIMD. */
export function backendInfo(): TensorEngineInfo {
  const backend = tf.getBackend() as string | undefined;
  const onWasm = backend === 'wasm';
  return {
    backend,
    tfjsVersion: tf.version_core,
    tfjsWasmVersion: packageVersion('@tensorflow/tfjs-backend-wasm'),
    tfjsCpuVersion: packageVersion('@tensorflow/tfjs-backend-cpu'),
    threads: onWasm ? wasmThreads() : 1,
    simd: onWasm ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : false,
    addedKernels: onWasm ? [...added] : [],
  };
}
