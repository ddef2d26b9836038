import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import type { Loss } from '@kiln/core';
import { z } from 'zod';
import { alignTargets, meanOverFeatures, weightedMean } from './reduce';

export const MseOptions = z.strictObject({});

/** Mean squared error; per example the mean over the outputs. */
export class MseLoss implements Loss {
  readonly name = 'mse';

  perExample(predictions: Tensor, targets: Tensor): Tensor {
    return tf.tidy(() => meanOverFeatures(tf.squaredDifference(tf.cast(predictions, 'float32'), alignTargets(predictions, targets))));
  }

  compute(predictions: Tensor, targets: Tensor, weights?: Tensor): Scalar {
    return tf.tidy(() => weightedMean(this.perExample(predictions, targets), weights));
  }
}
