import { definePlugin, Tokens } from '@kiln/core';
import { WasmBackend, wasmBackendOptions } from './wasm-backend';
import { CpuBackend, cpuBackendOptions } from './cpu-backend';

export { WasmBackend, wasmBackendOptions, type WasmBackendOptions } from './wasm-backend';
export { CpuBackend, cpuBackendOptions } from './cpu-backend';
export { backendInfo, type TensorEngineInfo } from './info';
export { explainMissingKernel, withKernelErrors } from './missing-kernel';
export { registerTrainingKernels, KILN_WASM_KERNELS } from './kernels/register';
export { wasmBinaryDir } from './wasm-files';
export { KILN_FORWARD_CONV, KILN_INPUT_GRAD, KILN_MATMUL } from './kernels/kiln-wasm';

export default definePlugin({
  name: '@kiln/plugin-backend-wasm',
  version: '0.1.0',
  kiln: '^0.1.0',
  description: 'tfjs on WebAssembly (SIMD, XNNPACK) with the gradient kernels tfjs-wasm lacks, and the plain cpu backend.',
  register(ctx) {
    ctx.provide(Tokens.Backend, 'wasm', (options) => new WasmBackend(options), wasmBackendOptions, {
      description: 'tfjs-wasm (SIMD, XNNPACK), ~30x the cpu backend; trains conv, depthwise and embedding models',
    });
    ctx.provide(Tokens.Backend, 'cpu', () => new CpuBackend(), cpuBackendOptions, {
      description: "tfjs's plain JavaScript backend: slow, every kernel exists",
    });
  },
});
