import * as tf from '@tensorflow/tfjs-core';
import { DataError } from '../errors';
import type { Batch, Dataset, DatasetInfo, Example } from '../points/data';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** One batched array: what a tensor is made from (and what crosses a worker-thread boundary). */
export interface BatchArray {
  data: Float32Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** A batch before it becomes tensors: one array per input spec, and the targets. */
export interface BatchArrays {
  inputs: Record<string, BatchArray>;
  targets: BatchArray;
}

/** Stacks examples into one typed array per input spec and one for the targets, checking every example's size. */
export function collateArrays(examples: readonly Example[], info: DatasetInfo, indices: readonly number[] = examples.map((_, i) => i)): BatchArrays {
  const n = examples.length;
  if (indices.length !== n) throw new RangeError(`collate: ${n} examples but ${indices.length} indices`);
  const inputs: Record<string, BatchArray> = {};
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
    inputs[spec.name] = { data, shape: [n, ...spec.shape], dtype: spec.dtype === 'int32' ? 'int32' : 'float32' };
  }
  const perTarget = size(info.targetShape);
  const targetData = info.targetDtype === 'int32' ? new Int32Array(n * perTarget) : new Float32Array(n * perTarget);
  examples.forEach((ex, i) => {
    if (typeof ex.target === 'number') targetData[i * perTarget] = ex.target;
    else targetData.set(ex.target, i * perTarget);
  });
  return { inputs, targets: { data: targetData, shape: [n, ...info.targetShape], dtype: info.targetDtype === 'int32' ? 'int32' : 'float32' } };
}

/** The tensors of a collated batch. */
export function batchFromArrays(arrays: BatchArrays, indices: readonly number[], weights?: number[]): Batch {
  const inputs: Record<string, tf.Tensor> = {};
  for (const [name, a] of Object.entries(arrays.inputs)) inputs[name] = tf.tensor(a.data, a.shape, a.dtype);
  const t = arrays.targets;
  return { inputs, targets: tf.tensor(t.data, t.shape, t.dtype), indices: [...indices], weights: weights ? tf.tensor1d(weights, 'float32') : undefined };
}

/** Stacks examples into a batch of tensors, one per input spec, checking every example's size. */
export function collate(examples: readonly Example[], info: DatasetInfo, indices: readonly number[] = examples.map((_, i) => i), weights?: number[]): Batch {
  return batchFromArrays(collateArrays(examples, info, indices), indices, weights);
}

/** Disposes every tensor of a batch. */
export function disposeBatch(batch: Batch): void {
  tf.dispose([...Object.values(batch.inputs), batch.targets, ...(batch.weights ? [batch.weights] : [])]);
}

/** `indices` cut into consecutive chunks of `batchSize`; the last may be smaller. */
export function chunksOf(indices: readonly number[], batchSize: number): number[][] {
  const out: number[][] = [];
  for (let start = 0; start < indices.length; start += batchSize) out.push(indices.slice(start, start + batchSize));
  return out;
}

/** Batches of `indices` in order, collated on this thread; the last batch may be smaller. */
export function* batchesOf(dataset: Dataset, indices: readonly number[], batchSize: number, weightOf?: (i: number) => number): Generator<Batch> {
  for (const chunk of chunksOf(indices, batchSize)) {
    yield collate(chunk.map((i) => dataset.get(i)), dataset.info, chunk, weightOf ? chunk.map(weightOf) : undefined);
  }
}
