import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, type DatasetInfo, type Model } from '@kiln/core';
import { z } from 'zod';

export const {{Id}}MlpOptions = z.strictObject({
  hiddenUnits: z.number().int().positive().default(32).describe('Units of the hidden layer.'),
  activation: z.enum(['relu', 'tanh']).default('relu').describe('Activation of the hidden layer (the output is linear: logits).'),
});
export type {{Id}}MlpOptions = z.output<typeof {{Id}}MlpOptions>;

/**
 * input → dense(hiddenUnits) → activation → dense(outputs), sized by the dataset: the input is
 * its first feature (flattened), the output one logit per class (or one value per regression
 * target). Written with tfjs-core variables to show the whole Model contract; a tfjs-layers
 * model wrapped in plugin-train-basics' LayersModelAdapter works as well (and exports).
 */
export class {{Id}}Mlp implements Model {
  readonly name = '{{id}}-mlp';
  private readonly inputKey: string;
  private readonly inputSize: number;
  private readonly weights: Map<string, tf.Variable>;

  constructor(private readonly options: {{Id}}MlpOptions, dataset: DatasetInfo | undefined, seed: number, where = 'model') {
    if (!dataset) {
      throw new ConfigError('{{id}}-mlp is sized by the training data, but no dataset is loaded', {
        where,
        hint: "configure a 'data' block (a reader) before the model",
      });
    }
    const input = dataset.inputs[0];
    this.inputKey = input.name;
    this.inputSize = input.shape.reduce((a, b) => a * b, 1);
    const outputs = dataset.classNames?.length ?? Math.max(1, dataset.targetShape.reduce((a, b) => a * b, 1));
    const glorot = (fanIn: number, fanOut: number, s: number) => {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return tf.randomUniform([fanIn, fanOut], -limit, limit, 'float32', s);
    };
    // Stable names (not tfjs's global variable names) key the weights in checkpoints.
    this.weights = new Map([
      ['hidden/kernel', tf.variable(glorot(this.inputSize, options.hiddenUnits, seed))],
      ['hidden/bias', tf.variable(tf.zeros([options.hiddenUnits]))],
      ['output/kernel', tf.variable(glorot(options.hiddenUnits, outputs, seed + 1))],
      ['output/bias', tf.variable(tf.zeros([outputs]))],
    ]);
  }

  apply(inputs: Record<string, tf.Tensor>, _options: { training: boolean }): tf.Tensor {
    const w = (key: string) => this.weights.get(key)!;
    return tf.tidy(() => {
      const x = tf.reshape(inputs[this.inputKey], [-1, this.inputSize]);
      const pre = tf.add(tf.matMul(x, w('hidden/kernel')), w('hidden/bias'));
      const hidden = this.options.activation === 'relu' ? tf.relu(pre) : tf.tanh(pre);
      return tf.add(tf.matMul(hidden, w('output/kernel')), w('output/bias'));
    });
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.weights.values()];
  }

  getWeights(): tf.NamedTensorMap {
    return Object.fromEntries(this.weights);
  }

  setWeights(weights: tf.NamedTensorMap): void {
    for (const [key, variable] of this.weights) {
      const value = weights[key];
      if (!value || value.shape.join(',') !== variable.shape.join(',')) {
        throw new ConfigError(`weight ${key} is missing or has another shape than [${variable.shape}]`, {
          where: this.name,
          hint: 'load a checkpoint saved from a {{id}}-mlp with the same options and data',
        });
      }
      variable.assign(value);
    }
  }

  countParams(): number {
    return [...this.weights.values()].reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    for (const variable of this.weights.values()) variable.dispose();
  }
}
