import * as path from 'node:path';
import { ConfigError, KilnError, resolveConfig, formatOrigin } from '@kiln/core';
import { removeProject, tempProject } from '../../../test/helpers/project';

const dirs: string[] = [];
const project = (files: Record<string, string>) => {
  const dir = tempProject(files);
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach(removeProject));

async function expectConfigError(promise: Promise<unknown>): Promise<KilnError> {
  try {
    await promise;
  } catch (error) {
    expect(KilnError.is(error)).toBe(true);
    return error as KilnError;
  }
  throw new Error('expected a KilnError');
}

describe('config discovery (cosmiconfig)', () => {
  const formats: Record<string, string> = {
    'kiln.config.json': '{ "seed": 7 }',
    'kiln.config.yaml': 'seed: 7\n',
    'kiln.config.yml': 'seed: 7\n',
    'kiln.config.js': 'module.exports = { seed: 7 };\n',
    'kiln.config.cjs': 'module.exports = { seed: 7 };\n',
    '.kilnrc': '{ "seed": 7 }',
    'package.json': '{ "name": "x", "kiln": { "seed": 7 } }',
  };
  it.each(Object.keys(formats))('finds %s', async (file) => {
    const dir = project({ [file]: formats[file] });
    const resolved = await resolveConfig({ cwd: dir });
    expect(resolved.filepath).toBe(path.join(dir, file));
    expect(resolved.config.seed).toBe(7);
  });

  it('reads --config from any path and fills defaults', async () => {
    const dir = project({ 'configs/exp.yaml': 'trainer:\n  epochs: 3\n' });
    const { config } = await resolveConfig({ cwd: dir, configPath: 'configs/exp.yaml' });
    expect(config.trainer.epochs).toBe(3);
    expect(config.trainer.batchSize).toBe(32);
    expect(config.seed).toBe(42);
  });
});

describe('composition', () => {
  it('merges extends depth-first, later wins, arrays replace, and records every origin', async () => {
    const dir = project({
      'base.yaml': 'seed: 1\nmodel:\n  type: mlp\n  hiddenUnits: [8, 8]\n  dropout: 0.5\nmetrics:\n  - type: accuracy\n  - type: top-k\n',
      'mid.yaml': 'extends: ./base.yaml\nmodel:\n  dropout: 0.2\n',
      'kiln.config.yaml': 'extends:\n  - ./mid.yaml\nmodel:\n  hiddenUnits: [4]\nmetrics:\n  - type: f1\n',
    });
    const { config, origins } = await resolveConfig({ cwd: dir, set: ['model.dropout=0.3', 'optimizer.type=sgd', 'optimizer.lr=1e-2'] });
    expect(config.seed).toBe(1);
    expect(config.model).toEqual({ type: 'mlp', hiddenUnits: [4], dropout: 0.3 });
    expect(config.metrics).toEqual([{ type: 'f1' }]);
    expect(config.optimizer).toEqual({ type: 'sgd', lr: 0.01 });
    expect(formatOrigin(origins.get('seed')!)).toBe('base.yaml:1');
    expect(formatOrigin(origins.get('model.type')!)).toBe('base.yaml:3');
    expect(formatOrigin(origins.get('model.hiddenUnits.0')!)).toBe('kiln.config.yaml:4');
    expect(origins.get('model.hiddenUnits.1')).toBeUndefined();
    expect(origins.get('model.dropout')!.source).toBe('--set model.dropout=0.3');
    expect(formatOrigin(origins.get('metrics.0.type')!)).toBe('kiln.config.yaml:6');
    expect(origins.get('metrics.1.type')).toBeUndefined();
  });

  it('drops the old options when a later layer switches a block to another type', async () => {
    const dir = project({
      'base.yaml': 'model:\n  type: mlp\n  hiddenUnits: [8]\n',
      'kiln.config.yaml': 'extends: ./base.yaml\nmodel:\n  type: cnn\n  filters: [4]\n',
    });
    const { config } = await resolveConfig({ cwd: dir });
    expect(config.model).toEqual({ type: 'cnn', filters: [4] });
  });

  it('composes shipped presets, one built on another, and --preset needs no config file', async () => {
    const dir = project({ 'kiln.config.yaml': 'seed: 99\n' });
    const { config, origins, filepath } = await resolveConfig({ cwd: dir, presets: ['@kiln/presets/tabular-classification'] });
    expect(filepath).toBeUndefined();
    expect(config.seed).toBe(42);
    expect(config.model?.type).toBe('mlp');
    expect(origins.get('callbacks.0.type')!.source).toBe('@kiln/presets/base');
    expect(origins.get('model.type')!.source).toBe('@kiln/presets/tabular-classification');
  });

  it('unions plugins across layers', async () => {
    const dir = project({
      'base.yaml': 'plugins: [a-plugin]\n',
      'kiln.config.yaml': 'extends: ./base.yaml\nplugins: [b-plugin, a-plugin]\n',
    });
    const { config } = await resolveConfig({ cwd: dir });
    expect(config.plugins).toEqual(['a-plugin', 'b-plugin']);
  });

  it('coerces --set values JSON-style', async () => {
    const dir = project({});
    const { config } = await resolveConfig({
      cwd: dir,
      search: false,
      set: ['trainer.epochs=5', 'tracker=false', 'name=exp-1', 'model={"type":"mlp","hiddenUnits":[3,2]}', 'metrics[0].type=accuracy'],
    });
    expect(config.trainer.epochs).toBe(5);
    expect(config.tracker).toBe(false);
    expect(config.name).toBe('exp-1');
    expect(config.model).toEqual({ type: 'mlp', hiddenUnits: [3, 2] });
    expect(config.metrics).toEqual([{ type: 'accuracy' }]);
  });
});

describe('config errors name the file, line and key', () => {
  it('extends cycle', async () => {
    const dir = project({ 'a.yaml': 'extends: ./b.yaml\n', 'b.yaml': 'extends: ./a.yaml\n', 'kiln.config.yaml': 'extends: ./a.yaml\n' });
    const error = await expectConfigError(resolveConfig({ cwd: dir }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('extends cycle: kiln.config.yaml → a.yaml → b.yaml → a.yaml');
    expect(error.where).toBe('b.yaml:1 extends');
  });

  it('unknown top-level key with a suggestion', async () => {
    const dir = project({ 'kiln.config.yaml': 'seed: 1\nmodle:\n  type: mlp\n' });
    const error = await expectConfigError(resolveConfig({ cwd: dir }));
    expect(error.message).toContain("unknown option 'modle' (did you mean 'model'?)");
    expect(error.where).toBe('kiln.config.yaml:2 modle');
  });

  it('wrong type of a core option', async () => {
    const dir = project({ 'kiln.config.json': '{\n  "trainer": {\n    "epochs": "many"\n  }\n}\n' });
    const error = await expectConfigError(resolveConfig({ cwd: dir }));
    expect(error.message).toContain('expected number, got "many"');
    expect(error.where).toBe('kiln.config.json:3 trainer.epochs');
  });

  it('missing preset and missing relative file', async () => {
    const dir = project({ 'kiln.config.yaml': 'extends:\n  - "@kiln/presets/nope"\n' });
    const error = await expectConfigError(resolveConfig({ cwd: dir }));
    expect(error.message).toContain("extends '@kiln/presets/nope': preset not found");
    expect(error.where).toBe('kiln.config.yaml:2 extends');
    const dir2 = project({ 'kiln.config.yaml': 'extends: ./missing.yaml\n' });
    const error2 = await expectConfigError(resolveConfig({ cwd: dir2 }));
    expect(error2.message).toContain("extends './missing.yaml': no such file");
  });

  it('malformed YAML names the file', async () => {
    const dir = project({ 'kiln.config.yaml': 'seed: [1, 2\n' });
    const error = await expectConfigError(resolveConfig({ cwd: dir }));
    expect(error.code).toBe('E_CONFIG');
    expect(error.where).toBe('kiln.config.yaml');
  });

  it('malformed --set', async () => {
    const error = await expectConfigError(resolveConfig({ cwd: project({}), set: ['novalue'] }));
    expect(error.where).toBe('--set');
  });
});
