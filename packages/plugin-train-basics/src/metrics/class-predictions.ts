import type { Tensor } from '@tensorflow/tfjs-core';

export interface ClassPredictions {
  predicted: Int32Array;
  actual: Int32Array;
  /** Classes seen in the scores (columns), or 2 for binary scores. */
  classes: number;
}

/**
 * Reads predicted and true class indices. Scores [..., classes] take the argmax; scores
 * [batch] or [batch, 1] are binary, positive above `threshold`. Targets are indices (any
 * shape matching the scores without the class axis) or one-hot/probability rows (argmax).
 * Targets < 0 (ignored tokens, -100) are dropped, so token classification works too.
 */
export function readClassPredictions(predictions: Tensor, targets: Tensor, threshold: number): ClassPredictions {
  const scores = predictions.dataSync();
  const truth = targets.dataSync();
  const last = predictions.shape[predictions.rank - 1];
  const binary = predictions.rank === 1 || (last === 1 && targets.size === predictions.size);
  const rows = binary ? predictions.size : predictions.size / last;
  const oneHotTargets = !binary && targets.size === predictions.size;
  const predicted: number[] = [];
  const actual: number[] = [];
  for (let r = 0; r < rows; r++) {
    const label = oneHotTargets ? argmax(truth, r * last, last) : Math.round(truth[r]);
    if (label < 0) continue;
    actual.push(label);
    predicted.push(binary ? (scores[r] > threshold ? 1 : 0) : argmax(scores, r * last, last));
  }
  return { predicted: Int32Array.from(predicted), actual: Int32Array.from(actual), classes: binary ? 2 : last };
}

export function argmax(values: ArrayLike<number>, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}
