import { definePlugin, Tokens } from '@kiln/core';
import { NativeBackend, nativeBackendOptions } from './native-backend';

export { NativeBackend, nativeBackendOptions, nativeAddon, type NativeBackendOptions } from './native-backend';
export { loadAddon, type NativeAddon, type AddonLoad } from './addon';
export { registerNativeBackend, NATIVE_KERNELS, NATIVE_TF_BACKEND } from './kernels/register';
export { broadcastStrides } from './kernels/elementwise';

export default definePlugin({
  name: '@kiln/plugin-backend-native',
  version: '0.1.0',
  kiln: '^0.1.0',
  description: 'Native C++ CPU kernels (N-API addon built at install): multi-threaded AVX2/AVX-512 GEMM, convolutions, pooling, batch norm.',
  register(ctx) {
    ctx.provide(Tokens.Backend, 'native', (options) => new NativeBackend(options), nativeBackendOptions, {
      description: 'native C++ kernels on tfjs cpu tensors (AVX2/AVX-512, all cores); falls back to wasm under auto when the addon did not build',
    });
  },
});
