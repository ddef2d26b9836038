import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '@kiln/core';
import { MlflowModelRegistry } from '../src';
import { readYamlFile } from './support/independent-mlruns-reader';

let dir: string;
let root: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-registry-'));
  root = path.join(dir, 'mlruns');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const VERSION_FIELDS = [
  'aliases', 'creation_timestamp', 'current_stage', 'description', 'last_updated_timestamp', 'name', 'run_id', 'run_link',
  'source', 'status', 'status_message', 'storage_location', 'user_id', 'version',
];

test('registerModel writes models/<name>/meta.yaml and version-N/meta.yaml in MLflow layout', () => {
  const registry = new MlflowModelRegistry(root);
  const v1 = registry.registerModel('digits', 'runs:/aaaa/model', 'aaaa');
  const v2 = registry.registerModel('digits', 'runs:/bbbb/model', 'bbbb', { framework: 'kiln' });
  expect([v1.version, v2.version]).toEqual([1, 2]);
  const model = readYamlFile(path.join(root, 'models', 'digits', 'meta.yaml'));
  expect(Object.keys(model).sort()).toEqual(['creation_timestamp', 'description', 'last_updated_timestamp', 'name']);
  expect(model.name).toBe('digits');
  const meta = readYamlFile(path.join(root, 'models', 'digits', 'version-2', 'meta.yaml'));
  expect(Object.keys(meta).sort()).toEqual(VERSION_FIELDS);
  expect(meta).toMatchObject({ name: 'digits', version: 2, source: 'runs:/bbbb/model', storage_location: 'runs:/bbbb/model', run_id: 'bbbb', current_stage: 'None', status: 'READY', aliases: [] });
  expect(fs.readFileSync(path.join(root, 'models', 'digits', 'version-2', 'tags', 'framework'), 'utf8')).toBe('kiln');
});

test('promoteIfBetter moves the champion alias only when the value beats the current champion', () => {
  const registry = new MlflowModelRegistry(root);
  for (const run of ['r1', 'r2', 'r3', 'r4']) registry.registerModel('digits', `runs:/${run}/model`, run);
  const aliasFile = path.join(root, 'models', 'digits', 'aliases', 'champion');

  expect(registry.promoteIfBetter('digits', 1, 'val/accuracy', 0.8, 'max')).toMatchObject({ promoted: true, champion: 1, previous: undefined });
  expect(fs.readFileSync(aliasFile, 'utf8')).toBe('1');
  // 0.75 < 0.80: stays on 1.
  expect(registry.promoteIfBetter('digits', 2, 'val/accuracy', 0.75, 'max')).toEqual({ promoted: false, alias: 'champion', champion: 1, previous: 1, previousValue: 0.8 });
  expect(fs.readFileSync(aliasFile, 'utf8')).toBe('1');
  // A tie is not better.
  expect(registry.promoteIfBetter('digits', 3, 'val/accuracy', 0.8, 'max').promoted).toBe(false);
  expect(registry.promoteIfBetter('digits', 4, 'val/accuracy', 0.85, 'max')).toMatchObject({ promoted: true, champion: 4, previous: 1, previousValue: 0.8 });
  expect(fs.readFileSync(aliasFile, 'utf8')).toBe('4');
  expect(registry.getVersion('digits', 4).aliases).toEqual(['champion']);
  expect(registry.getVersion('digits', 2).tags['kiln.metric.val/accuracy']).toBe('0.75');
  // NaN never wins.
  expect(registry.promoteIfBetter('digits', 3, 'val/accuracy', NaN, 'max').promoted).toBe(false);
});

test('min mode for losses, a separate alias per use, and clear errors', () => {
  const registry = new MlflowModelRegistry(root);
  registry.registerModel('reg', 'file:///m1', null);
  registry.registerModel('reg', 'file:///m2', null);
  expect(registry.promoteIfBetter('reg', 1, 'val/loss', 0.5, 'min', 'best-loss').promoted).toBe(true);
  expect(registry.promoteIfBetter('reg', 2, 'val/loss', 0.7, 'min', 'best-loss').promoted).toBe(false);
  expect(registry.promoteIfBetter('reg', 2, 'val/loss', 0.4, 'min', 'best-loss').promoted).toBe(true);
  expect(registry.getAlias('reg', 'best-loss')).toBe(2);
  expect(registry.getAlias('reg', 'champion')).toBeUndefined();
  registry.setAlias('reg', 'staging', 1);
  expect(registry.aliases('reg')).toEqual({ 'best-loss': 2, staging: 1 });

  expect(() => registry.setAlias('reg', 'latest', 1)).toThrow(UsageError);
  expect(() => registry.setAlias('reg', 'v2', 1)).toThrow(/invalid model alias/);
  expect(() => registry.setAlias('reg', 'x', 9)).toThrow(/has no version 9/);
  expect(() => registry.getVersion('nope', 1)).toThrow(/does not exist/);
  expect(() => registry.registerModel('a/b', 'x', null)).toThrow(/invalid registered model name/);
});
