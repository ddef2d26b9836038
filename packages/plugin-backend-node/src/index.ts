import { definePlugin, Tokens } from '@kiln/core';
import { nodeBackendOptions, TensorflowBackend, TensorflowGpuBackend } from './tfjs-node-backend';

export { TfjsNodeBackend, TensorflowBackend, TensorflowGpuBackend, nodeBackendOptions } from './tfjs-node-backend';

export default definePlugin({
  name: '@kiln/plugin-backend-node',
  version: '0.1.0',
  kiln: '^0.1.0',
  description: 'Native TensorFlow (tfjs-node / tfjs-node-gpu) when installed.',
  register(ctx) {
    ctx.provide(Tokens.Backend, 'tensorflow', () => new TensorflowBackend(), nodeBackendOptions, {
      description: 'native TensorFlow on CPU via @tensorflow/tfjs-node (optional; npm install @tensorflow/tfjs-node)',
    });
    ctx.provide(Tokens.Backend, 'tensorflow-gpu', () => new TensorflowGpuBackend(), nodeBackendOptions, {
      description: 'native TensorFlow on CUDA via @tensorflow/tfjs-node-gpu (optional; npm install @tensorflow/tfjs-node-gpu)',
    });
  },
});
