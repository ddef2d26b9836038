import * as tf from '@tensorflow/tfjs-core';
import { DataError } from '@kiln/core';
import type { Batch, DatasetInfo, Example } from '@kiln/core';

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Stacks examples into one Batch: each input per its InputSpec, targets as `info.targetDtype`.
 * The caller owns (and must dispose) the returned tensors.
 */
export function collate(examples: readonly Example[], info: DatasetInfo, indices?: readonly number[]): Batch {
  const n = examples.length;
  if (indices && indices.length !== n) throw new RangeError(`collate: ${n} examples but ${indices.length} indices`);
  const inputs: Record<string, tf.Tensor> = {};
  const targetSize = sizeOf(info.targetShape);
  const targetBuf = info.targetDtype === 'int32' ? new Int32Array(n * targetSize) : new Float32Array(n * targetSize);
  const buffers = info.inputs.map((spec) => {
    const size = sizeOf(spec.shape);
    return { spec, size, data: spec.dtype === 'int32' ? new Int32Array(n * size) : new Float32Array(n * size) };
  });
  examples.forEach((example, row) => {
    for (const { spec, size, data } of buffers) {
      const value = example.inputs[spec.name];
      if (!value || value.length !== size) {
        throw new DataError(`input '${spec.name}' has ${value ? value.length : 'no'} values, expected ${size} (shape [${spec.shape.join(', ')}])`, {
          where: example.source ?? `example ${indices ? indices[row] : row}`,
          hint: 'every example must match the dataset InputSpec',
        });
      }
      data.set(value, row * size);
    }
    const target = example.target;
    if (typeof target === 'number') {
      if (targetSize !== 1) throw new DataError(`scalar target but targetShape is [${info.targetShape.join(', ')}]`, { where: example.source });
      targetBuf[row] = target;
    } else {
      if (target.length !== targetSize) {
        throw new DataError(`target has ${target.length} values, expected ${targetSize}`, { where: example.source });
      }
      targetBuf.set(target, row * targetSize);
    }
  });
  for (const { spec, data } of buffers) inputs[spec.name] = tf.tensor(data, [n, ...spec.shape], spec.dtype);
  const targets = tf.tensor(targetBuf, [n, ...info.targetShape], info.targetDtype);
  return { inputs, targets, indices: indices ? [...indices] : examples.map((_, i) => i) };
}
