import * as tfl from '@tensorflow/tfjs-layers';
import type { DatasetInfo } from '@kiln/core';
import { z } from 'zod';
import { LayersModelAdapter } from './layers-model-adapter';
import { layerName, outputUnits, requireDataset } from './dataset-shapes';

export const ACTIVATIONS = ['relu', 'elu', 'selu', 'tanh', 'sigmoid', 'swish', 'mish', 'gelu', 'linear'] as const;

export const MlpOptions = z.strictObject({
  hiddenUnits: z.array(z.number().int().positive()).default([64]).describe('Units of each hidden dense layer, in order.'),
  activation: z.enum(ACTIVATIONS).default('relu').describe('Activation of the hidden layers (the output layer is linear: logits).'),
  dropout: z.number().min(0).lt(1).default(0).describe('Dropout rate after each hidden layer (active only in training).'),
});
export type MlpOptions = z.output<typeof MlpOptions>;

/**
 * Multi-layer perceptron sized by the dataset: input from its first InputSpec (flattened
 * when it has several axes), one logit per class or one output per regression target.
 */
export function buildMlp(options: MlpOptions, dataset: DatasetInfo | undefined, seed = 0, where = 'model'): LayersModelAdapter {
  const info = requireDataset(dataset, where);
  const spec = info.inputs[0];
  const units = outputUnits(info, where);
  const input = tfl.input({ shape: spec.shape, name: layerName(spec.name), dtype: 'float32' });
  let x = spec.shape.length > 1 ? (tfl.layers.flatten({ name: 'flatten' }).apply(input) as tfl.SymbolicTensor) : input;
  options.hiddenUnits.forEach((n, i) => {
    x = tfl.layers.dense({
      units: n,
      activation: options.activation,
      name: `dense_${i}`,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + i }),
    }).apply(x) as tfl.SymbolicTensor;
    if (options.dropout > 0) x = tfl.layers.dropout({ rate: options.dropout, seed: seed + 1000 + i, name: `dropout_${i}` }).apply(x) as tfl.SymbolicTensor;
  });
  const output = tfl.layers.dense({
    units,
    name: 'head',
    kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + options.hiddenUnits.length }),
  }).apply(x) as tfl.SymbolicTensor;
  return new LayersModelAdapter(tfl.model({ inputs: input, outputs: output, name: 'mlp' }), { name: 'mlp', inputKeys: [spec.name] });
}
