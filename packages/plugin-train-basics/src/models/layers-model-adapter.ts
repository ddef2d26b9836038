import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensorMap, Tensor, Variable } from '@tensorflow/tfjs-core';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';
import { DataError, TrainingError, type Model } from '@kiln/core';

export interface LayersModelAdapterOptions {
  /** Name the model reports (`mlp`, `simple-cnn`, `resnet18`). */
  name: string;
  /** Batch input keys, one per model input in order; defaults to the model's input layer names. */
  inputKeys?: string[];
}

/**
 * Wraps any tf.LayersModel as a Kiln Model. Weights are keyed by their unscoped layer
 * weight names (`dense_0/kernel`), which do not carry tfjs's process-wide `_1` suffixes,
 * so two instances built from the same code share names; name layers explicitly for that.
 */
export class LayersModelAdapter implements Model {
  readonly name: string;
  readonly inputKeys: string[];
  private readonly byName: Map<string, LayerVariable>;

  constructor(readonly layersModel: LayersModel, options: LayersModelAdapterOptions) {
    this.name = options.name;
    this.inputKeys = options.inputKeys ?? layersModel.inputNames;
    if (this.inputKeys.length !== layersModel.inputs.length) {
      throw new TrainingError(`model ${options.name} has ${layersModel.inputs.length} inputs but ${this.inputKeys.length} input keys were given`);
    }
    this.byName = new Map();
    for (const w of layersModel.weights) {
      // A duplicate unscoped name (two unnamed layers in one model) falls back to the unique one.
      const key = this.byName.has(w.originalName) ? w.name : w.originalName;
      this.byName.set(key, w);
    }
  }

  apply(inputs: Record<string, Tensor>, options: { training: boolean }): Tensor {
    const xs = this.inputKeys.map((key) => {
      const x = inputs[key];
      if (x === undefined) {
        throw new DataError(`model ${this.name} needs input "${key}" but the batch has ${Object.keys(inputs).map((k) => `"${k}"`).join(', ') || 'no inputs'}`, {
          hint: 'the model is built for the dataset it was configured with; check the reader\'s input names',
        });
      }
      return x;
    });
    const out = this.layersModel.apply(xs.length === 1 ? xs[0] : xs, { training: options.training });
    if (Array.isArray(out)) throw new TrainingError(`model ${this.name} returned ${out.length} outputs; Kiln models have one`);
    return out as Tensor;
  }

  get trainableVariables(): Variable[] {
    return this.layersModel.trainableWeights.map((w) => w.read() as Variable);
  }

  /** The live variables by stable name (the trainer maps variables to names through this). */
  getWeights(): NamedTensorMap {
    const out: NamedTensorMap = {};
    for (const [key, w] of this.byName) out[key] = w.read();
    return out;
  }

  setWeights(weights: NamedTensorMap): void {
    const missing = [...this.byName.keys()].filter((k) => !(k in weights));
    const unknown = Object.keys(weights).filter((k) => !this.byName.has(k));
    if (missing.length > 0 || unknown.length > 0) {
      throw new TrainingError(`weights do not match model ${this.name}` +
        (missing.length ? `; missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? '…' : ''}` : '') +
        (unknown.length ? `; unknown: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? '…' : ''}` : ''), {
        hint: 'the checkpoint was saved from a model with different options; build the same model or start without it',
      });
    }
    for (const [key, w] of this.byName) {
      const value = weights[key];
      if (value.shape.join(',') !== w.shape.join(',')) {
        throw new TrainingError(`weight ${key} has shape [${value.shape}] but model ${this.name} expects [${w.shape}]`, {
          hint: 'the checkpoint was saved from a model with different options',
        });
      }
      (w.read() as Variable).assign(value.dtype === w.dtype ? value : tf.cast(value, w.dtype));
    }
  }

  countParams(): number {
    return this.layersModel.countParams();
  }

  dispose(): void {
    this.layersModel.dispose();
  }
}
