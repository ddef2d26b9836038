import * as path from 'node:path';
import { JsonlReader, JsonlReaderOptions } from '../src/readers/jsonl-reader';
import { kilnError, tempDir, write } from './helpers';

const dir = tempDir();
const make = (options: Record<string, unknown>) => new JsonlReader(JsonlReaderOptions.parse(options), { baseDir: dir, seed: 3 });

test('numeric arrays with class labels', async () => {
  write(dir, 'a.jsonl', '{"input":[1,2],"label":"cat"}\n\n{"input":[3,4],"label":"dog"}\n{"input":[5,6],"label":"cat"}\n');
  const ds = await make({ path: 'a.jsonl', valSplit: 0 }).load('train');
  expect(ds.size).toBe(3);
  expect(ds.info.classNames).toEqual(['cat', 'dog']);
  expect(ds.info.inputs[0]).toEqual({ name: 'features', shape: [2], dtype: 'float32' });
  expect(Array.from(ds.get(1).inputs.features)).toEqual([3, 4]);
  expect(ds.get(1).target).toBe(1);
  // Blank line 2 is skipped but line numbers stay those of the file.
  expect(ds.get(1).source).toBe(`${path.join(dir, 'a.jsonl')}:3`);
});

test('flat numeric objects in sorted key order, regression targets', async () => {
  write(dir, 'b.jsonl', '{"x":{"b":2,"a":1},"y":0.5}\n{"x":{"a":3,"b":4},"y":-1}\n');
  const ds = await make({ path: 'b.jsonl', valSplit: 0, inputField: 'x', labelField: 'y', task: 'regression' }).load('train');
  expect(Array.from(ds.get(0).inputs.features)).toEqual([1, 2]);
  expect(ds.get(1).target).toBe(-1);
  expect(ds.info.extra).toEqual({ featureNames: ['a', 'b'] });
  expect(ds.info.targetDtype).toBe('float32');
});

test.each([
  ['{"input":[1,2],"label":"a"}\n{"input":[1,2],"label":"b"\n', 'invalid JSON'],
  ['{"input":[1,2],"label":"a"}\n{"input":[1,"x"],"label":"b"}\n', "'input[1]'"],
  ['{"input":[1,2],"label":"a"}\n{"label":"b"}\n', "missing field 'input'"],
  ['{"input":[1,2],"label":"a"}\n{"input":"some text","label":"b"}\n', 'expected a number array'],
  ['{"input":[1,2],"label":"a"}\n{"input":[1,2,3],"label":"b"}\n', 'has 3 values'],
])('malformed line 2 is a DataError at file:2 (%#)', async (text, message) => {
  const file = write(dir, 'bad.jsonl', text);
  const error = await kilnError(() => make({ path: 'bad.jsonl', valSplit: 0 }).load('train'));
  expect(error.code).toBe('E_DATA');
  expect(error.where).toBe(`${file}:2`);
  expect(error.message).toContain(message);
});

test('a label outside `classes` names the line', async () => {
  const file = write(dir, 'c.jsonl', '{"input":[1],"label":"a"}\n{"input":[2],"label":"z"}\n');
  const error = await kilnError(() => make({ path: 'c.jsonl', valSplit: 0, classes: ['a', 'b'] }).load('train'));
  expect(error.where).toBe(`${file}:2`);
});
