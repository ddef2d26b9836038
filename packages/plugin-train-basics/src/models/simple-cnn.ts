import * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError, type DatasetInfo } from '@kiln/core';
import { z } from 'zod';
import { LayersModelAdapter } from './layers-model-adapter';
import { layerName, outputUnits, requireDataset } from './dataset-shapes';

export const SimpleCnnOptions = z.strictObject({
  filters: z.array(z.number().int().positive()).min(1).default([16, 32]).describe('Filters of each conv → batch-norm → relu → max-pool block, in order.'),
  kernelSize: z.number().int().positive().default(3).describe('Side of the square convolution kernels.'),
  pooling: z.enum(['global-average', 'flatten']).default('global-average').describe('How the last feature map becomes a vector: global average pooling (position-invariant) or flattening (keeps positions, memorizes them on small data).'),
  denseUnits: z.array(z.number().int().positive()).default([64]).describe('Hidden dense layers of the head, after pooling.'),
  dropout: z.number().min(0).lt(1).default(0).describe('Dropout rate before each dense layer of the head (training only).'),
});
export type SimpleCnnOptions = z.output<typeof SimpleCnnOptions>;

/**
 * A small image classifier/regressor: conv-bn-relu-pool blocks, then a dense head. Input is
 * the dataset's first InputSpec, [height, width, channels] (or [height, width], given a channel).
 */
export function buildSimpleCnn(options: SimpleCnnOptions, dataset: DatasetInfo | undefined, seed = 0, where = 'model'): LayersModelAdapter {
  const info = requireDataset(dataset, where);
  const spec = info.inputs[0];
  if (spec.shape.length !== 2 && spec.shape.length !== 3) {
    throw new ConfigError(`simple-cnn needs image inputs [height, width, channels], but input "${spec.name}" has shape [${spec.shape}]`, {
      where,
      hint: 'use the mlp model for flat feature vectors',
    });
  }
  const units = outputUnits(info, where);
  const input = tfl.input({ shape: spec.shape, name: layerName(spec.name), dtype: 'float32' });
  let x: tfl.SymbolicTensor = input;
  if (spec.shape.length === 2) x = tfl.layers.reshape({ targetShape: [...spec.shape, 1], name: 'add_channel' }).apply(x) as tfl.SymbolicTensor;
  let side = Math.min(spec.shape[0], spec.shape[1]);
  options.filters.forEach((filters, i) => {
    x = tfl.layers.conv2d({
      filters,
      kernelSize: options.kernelSize,
      padding: 'same',
      useBias: false,
      name: `conv_${i}`,
      kernelInitializer: tfl.initializers.heNormal({ seed: seed + i }),
    }).apply(x) as tfl.SymbolicTensor;
    // momentum 0.9 = PyTorch's 0.1: tfjs's 0.99 leaves inference statistics stale after a few hundred steps.
    x = tfl.layers.batchNormalization({ name: `bn_${i}`, momentum: 0.9, epsilon: 1e-5 }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.activation({ activation: 'relu', name: `relu_${i}` }).apply(x) as tfl.SymbolicTensor;
    // Stop pooling once the feature map is down to 1 pixel, so deep stacks work on small inputs.
    if (side >= 2) {
      x = tfl.layers.maxPooling2d({ poolSize: 2, name: `pool_${i}` }).apply(x) as tfl.SymbolicTensor;
      side = Math.floor(side / 2);
    }
  });
  x = (options.pooling === 'flatten' ? tfl.layers.flatten({ name: 'flatten' }) : tfl.layers.globalAveragePooling2d({ name: 'gap' })).apply(x) as tfl.SymbolicTensor;
  options.denseUnits.forEach((n, i) => {
    if (options.dropout > 0) x = tfl.layers.dropout({ rate: options.dropout, seed: seed + 1000 + i, name: `dropout_${i}` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dense({
      units: n,
      activation: 'relu',
      name: `dense_${i}`,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 100 + i }),
    }).apply(x) as tfl.SymbolicTensor;
  });
  const output = tfl.layers.dense({
    units,
    name: 'head',
    kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 200 }),
  }).apply(x) as tfl.SymbolicTensor;
  return new LayersModelAdapter(tfl.model({ inputs: input, outputs: output, name: 'simple_cnn' }), { name: 'simple-cnn', inputKeys: [spec.name] });
}
