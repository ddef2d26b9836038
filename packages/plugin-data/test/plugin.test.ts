import * as path from 'node:path';
import { Kernel, KilnConfigSchema, Tokens } from '@kiln/core';
import plugin from '../src/index';
import { kilnError, tempDir, write } from './helpers';

async function kernel(baseDir: string): Promise<Kernel> {
  const k = new Kernel({ baseDir, config: KilnConfigSchema.parse({ seed: 4 }) });
  await k.use(plugin);
  return k;
}

test('registers every reader, sampler and augmentation', async () => {
  const k = await kernel(tempDir());
  expect(k.names(Tokens.Reader).sort()).toEqual(['csv', 'idx', 'image-folder', 'jsonl', 'synthetic-shapes', 'synthetic-tabular', 'synthetic-text']);
  expect(k.names(Tokens.Sampler).sort()).toEqual(['class-balanced', 'distributed-shard', 'hard-sample', 'random', 'sequential', 'weighted']);
  expect(k.names(Tokens.Callback).sort()).toEqual(['random-crop', 'random-flip']);
});

test('a csv reader built from config resolves paths against baseDir', async () => {
  const dir = tempDir();
  write(dir, 'data/t.csv', 'a,label\n1,x\n2,y\n3,x\n4,y\n5,x\n');
  const k = await kernel(dir);
  const reader = await k.build(Tokens.Reader, { type: 'csv', path: 'data/t.csv', label: 'label', valSplit: 0.4 });
  const train = await reader.load('train');
  const val = await reader.load('val');
  expect(train.size + val.size).toBe(5);
  expect(val.size).toBe(2);
  expect(train.get(0).source!.startsWith(path.join(dir, 'data/t.csv'))).toBe(true);
});

test('unknown options are config errors', async () => {
  const k = await kernel(tempDir());
  const error = await kilnError(() => k.build(Tokens.Sampler, { type: 'hard-sample', warmup: 3 }));
  expect(error.code).toBe('E_CONFIG');
});

test('synthetic-shapes from config uses the run seed', async () => {
  const k = await kernel(tempDir());
  const a = await (await k.build(Tokens.Reader, { type: 'synthetic-shapes', trainSize: 4, valSize: 2 })).load('train');
  const b = await (await (await kernel(tempDir())).build(Tokens.Reader, { type: 'synthetic-shapes', trainSize: 4, valSize: 2 })).load('train');
  expect(a.get(3)).toEqual(b.get(3));
});
