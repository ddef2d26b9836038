import * as tf from '@tensorflow/tfjs-core';
import { DataError } from '../errors';
import type { Batch, Dataset, DatasetInfo, Example } from '../points/data';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Stacks examples into a batch of tensors, one per input spec, checking every example's size. */
export function collate(examples: readonly Example[], info: DatasetInfo, indices: readonly number[] = examples.map((_, i) => i), weights?: number[]): Batch {
  const n = examples.length;
  if (indices.length !== n) throw new RangeError(`collate: ${n} examples but ${indices.length} indices`);
  const inputs: Record<string, tf.Tensor> = {};
  for (const spec of info.inputs) {
    const per = size(spec.shape);
    const data = spec.dtype === 'int32' ? new Int32Array(n * per) : new Float32Array(n * per);
    examples.forEach((ex, i) => {
      const value = ex.inputs[spec.name];
      if (!value || value.length !== per) {
        throw new DataError(`input '${spec.name}' has ${value ? value.length : 'no'} values, expected ${per} (shape [${spec.shape}])`, {
          where: ex.source ?? `example ${indices[i]}`,
          hint: 'every example of a dataset must have the same input shape',
        });
      }
      data.set(value, i * per);
    });
    inputs[spec.name] = tf.tensor(data, [n, ...spec.shape], spec.dtype);
  }
  const perTarget = size(info.targetShape);
  const targetData = info.targetDtype === 'int32' ? new Int32Array(n * perTarget) : new Float32Array(n * perTarget);
  examples.forEach((ex, i) => {
    if (typeof ex.target === 'number') targetData[i * perTarget] = ex.target;
    else targetData.set(ex.target, i * perTarget);
  });
  const targets = tf.tensor(targetData, [n, ...info.targetShape], info.targetDtype);
  return { inputs, targets, indices: [...indices], weights: weights ? tf.tensor1d(weights, 'float32') : undefined };
}

/** Disposes every tensor of a batch. */
export function disposeBatch(batch: Batch): void {
  tf.dispose([...Object.values(batch.inputs), batch.targets, ...(batch.weights ? [batch.weights] : [])]);
}

/** Batches of `indices` in order; the last batch may be smaller. */
export function* batchesOf(dataset: Dataset, indices: number[], batchSize: number, weightOf?: (i: number) => number): Generator<Batch> {
  for (let start = 0; start < indices.length; start += batchSize) {
    const chunk = indices.slice(start, start + batchSize);
    yield collate(chunk.map((i) => dataset.get(i)), dataset.info, chunk, weightOf ? chunk.map(weightOf) : undefined);
  }
}
