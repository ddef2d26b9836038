import * as tf from '@tensorflow/tfjs-core';
import { GLOBAL_NORM_KERNEL } from '@kiln/core';
import { kilnWasm, type WasmBackendInternals } from './kiln-wasm';

/** What this kernel needs of tfjs-wasm's backend: where a tensor's floats live in the heap. */
interface WasmBackendLike {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/** What it needs of tfjs's `cpu` backend: the TypedArray behind a tensor. */
interface CpuBackendLike {
  data: { get(dataId: object): { values: ArrayLike<number> } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** Sum of squares with four float64 accumulators (a plain loop is bound by one add chain). */
function sumOfSquares(v: ArrayLike<number>): number {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  const n = v.length;
  const end = n - (n % 4);
  for (let i = 0; i < end; i += 4) {
    a += v[i] * v[i];
    b += v[i + 1] * v[i + 1];
    c += v[i + 2] * v[i + 2];
    d += v[i + 3] * v[i + 3];
  }
  for (let i = end; i < n; i++) a += v[i] * v[i];
  return a + b + c + d;
}

/**
 * The L2 norm of all inputs together, in one kernel: the Trainer's gradient-norm monitor runs
 * every step, and as a square + sum per variable it cost two kernel launches per variable,
 * which on a small model was most of the engine's overhead over a bare loop. Reads the floats
 * where they already are (the wasm heap, or the cpu backend's arrays); no copies.
 */
export const globalNormKernels: tf.KernelConfig[] = [
  {
    kernelName: GLOBAL_NORM_KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const wasm = backend as unknown as WasmBackendLike;
      // Kiln's SIMD kernel over tfjs-wasm's memory when it is there (≈10× the JS loop), else JS.
      const simd = kilnWasm(backend as unknown as WasmBackendInternals);
      let total = 0;
      for (const t of Object.values(inputs) as tf.TensorInfo[]) {
        const size = t.shape.reduce((p, s) => p * s, 1);
        const offset = wasm.dataIdMap.get(t.dataId)!.memoryOffset;
        total += simd ? simd.sumSquares(offset, size) : sumOfSquares(new Float32Array(wasm.wasm.HEAPU8.buffer, offset, size));
      }
      const out = wasm.makeOutput([], 'float32');
      wasm.typedArrayFromHeap(out)[0] = Math.sqrt(total);
      return out;
    },
  },
  {
    kernelName: GLOBAL_NORM_KERNEL,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend }) => {
      const cpu = backend as unknown as CpuBackendLike;
      let total = 0;
      for (const t of Object.values(inputs) as tf.TensorInfo[]) total += sumOfSquares(cpu.data.get(t.dataId)!.values);
      return cpu.makeTensorInfo([], 'float32', new Float32Array([Math.sqrt(total)]));
    },
  },
];

/** Registers the kernels for the backends that do not have them yet. */
export function registerGlobalNorm(): void {
  for (const config of globalNormKernels) {
    if (!tf.getKernel(config.kernelName, config.backendName)) tf.registerKernel(config);
  }
}
