import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { DatasetInfo, Example } from '@kiln/core';
import { collate } from '../src/collate';
import { kilnError } from './helpers';

const info: DatasetInfo = {
  task: 'classification',
  inputs: [
    { name: 'x', shape: [2, 2], dtype: 'float32' },
    { name: 'ids', shape: [3], dtype: 'int32' },
  ],
  targetShape: [],
  targetDtype: 'int32',
};

const examples: Example[] = [
  { inputs: { x: Float32Array.of(1, 2, 3, 4), ids: Int32Array.of(7, 8, 9) }, target: 1 },
  { inputs: { x: Float32Array.of(5, 6, 7, 8), ids: Int32Array.of(1, 0, 0) }, target: 0 },
];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('stacks inputs per InputSpec and targets by targetDtype', () => {
  const before = tf.memory().numTensors;
  const batch = collate(examples, info, [10, 4]);
  expect(batch.inputs.x.shape).toEqual([2, 2, 2]);
  expect(batch.inputs.x.dtype).toBe('float32');
  expect(Array.from(batch.inputs.x.dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(batch.inputs.ids.dtype).toBe('int32');
  expect(Array.from(batch.inputs.ids.dataSync())).toEqual([7, 8, 9, 1, 0, 0]);
  expect(batch.targets.dtype).toBe('int32');
  expect(batch.targets.shape).toEqual([2]);
  expect(Array.from(batch.targets.dataSync())).toEqual([1, 0]);
  expect(batch.indices).toEqual([10, 4]);
  tf.dispose([batch.inputs.x, batch.inputs.ids, batch.targets]);
  expect(tf.memory().numTensors).toBe(before);
});

test('vector float targets keep their shape', () => {
  const reg: DatasetInfo = { task: 'regression', inputs: [{ name: 'x', shape: [1], dtype: 'float32' }], targetShape: [2], targetDtype: 'float32' };
  const batch = collate(
    [
      { inputs: { x: Float32Array.of(1) }, target: Float32Array.of(0.5, 1.5) },
      { inputs: { x: Float32Array.of(2) }, target: Float32Array.of(-1, 2) },
    ],
    reg,
  );
  expect(batch.targets.shape).toEqual([2, 2]);
  expect(Array.from(batch.targets.dataSync())).toEqual([0.5, 1.5, -1, 2]);
  expect(batch.indices).toEqual([0, 1]);
  tf.dispose([batch.inputs.x, batch.targets]);
});

test('an example with the wrong input size is a DataError naming its source', async () => {
  const bad: Example = { inputs: { x: Float32Array.of(1, 2, 3), ids: Int32Array.of(1, 2, 3) }, target: 0, source: 'data.csv:7' };
  const error = await kilnError(() => collate([examples[0], bad], info));
  expect(error.code).toBe('E_DATA');
  expect(error.where).toBe('data.csv:7');
  expect(error.message).toContain("'x'");
});
