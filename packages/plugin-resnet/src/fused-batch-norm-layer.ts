import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { BatchNormalization } from '@tensorflow/tfjs-layers/dist/layers/normalization';
import { batchNormTrain } from '@kiln/core';

// tfjs-layers does not export the class; its serialization registry holds it (no instance made, so no layer name used).
const BatchNormalizationBase = (tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization?.[0] ??
  (() => {
    throw new Error("@tensorflow/tfjs-layers' BatchNormalization is not registered: load @tensorflow/tfjs-layers first");
  })()) as unknown as typeof BatchNormalization;

/** The stock layer's state this subclass reads (private in tfjs-layers' typings). */
interface BatchNormState {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfl.LayerVariable;
  beta: tfl.LayerVariable;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

/**
 * tfjs-layers' BatchNormalization (same className, config, weights and inference path, so checkpoints and
 * exporters see the stock layer) whose training step over the last axis is core's fused batchNormTrain: one
 * kernel for statistics and normalisation and one for the whole gradient on backends that have them, tfjs's
 * moments + batchNorm composite elsewhere. The moving statistics follow tfjs-layers: moving − (moving −
 * batch)·(1 − momentum), with the biased batch variance.
 */
export class FusedBatchNormalization extends BatchNormalizationBase {
  static override className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { [key: string]: unknown }): tf.Tensor | tf.Tensor[] {
    const state = this as unknown as BatchNormState;
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const training = Boolean(kwargs.training);  // truthy, as the stock layer tests it
    const lastAxis = input !== undefined && (state.axis === -1 || state.axis === input.rank - 1);
    if (!training || !lastAxis || (Array.isArray(inputs) && inputs.length !== 1) || !state.center || !state.scale) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTrain(input, state.gamma.read() as tf.Tensor1D, state.beta.read() as tf.Tensor1D, state.epsilon);
      const decay = 1 - state.momentum;
      for (const [variable, batch] of [[state.movingMean, mean], [state.movingVariance, variance]] as const) {
        tf.tidy(() => {
          const moving = variable.read();
          variable.write(tf.sub(moving, tf.mul(tf.sub(moving, batch), decay)));
        });
      }
      return y;
    });
  }
}
