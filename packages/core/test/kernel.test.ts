import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { createKernel, definePlugin, Kernel, KilnError, MemoryLogger, resolveConfig, Tokens, type Model } from '@kiln/core';
import { removeProject, tempProject } from '../../../test/helpers/project';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeProject));

const PLUGIN_SOURCE = (name: string, version = '1.0.0', kiln = '^0.1.0') => `
const { definePlugin, Tokens } = require('@kiln/core');
const { z } = require('zod');
module.exports = definePlugin({
  name: '${name}', version: '${version}', kiln: '${kiln}',
  register(ctx) {
    ctx.provide(Tokens.Model, 'tiny', (options) => ({ name: 'tiny', options }),
      z.strictObject({ depth: z.number().int().default(2).describe('layers'), width: z.number().describe('units') }),
      { description: 'a tiny model' });
  },
});
`;

async function caught(promise: Promise<unknown>): Promise<KilnError> {
  try {
    await promise;
  } catch (error) {
    if (KilnError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a KilnError');
}

async function kernelFor(files: Record<string, string>): Promise<Kernel> {
  const dir = tempProject(files);
  dirs.push(dir);
  const resolved = await resolveConfig({ cwd: dir });
  return createKernel(resolved, { logger: new MemoryLogger() });
}

describe('plugins from a local folder', () => {
  const files = {
    'plugins/tiny.js': PLUGIN_SOURCE('tiny-plugin'),
    'kiln.config.yaml': 'plugins: [./plugins/tiny.js]\nmodel:\n  type: tiny\n  width: 8\n',
  };

  it('registers, lists its options, and builds from a config block', async () => {
    const kernel = await kernelFor(files);
    expect(kernel.plugins().map((p) => p.name)).toEqual(['tiny-plugin']);
    expect(kernel.names(Tokens.Model)).toEqual(['tiny']);
    const model = (await kernel.build(Tokens.Model, kernel.config.model, 'model')) as unknown as { options: unknown };
    expect(model.options).toEqual({ depth: 2, width: 8 });
  });

  it('unknown type lists the registered names with a suggestion', async () => {
    const kernel = await kernelFor({ ...files, 'kiln.config.yaml': 'plugins: [./plugins/tiny.js]\nmodel:\n  type: tiyn\n  width: 8\n' });
    const error = await caught(kernel.build(Tokens.Model, kernel.config.model, 'model'));
    expect(error.message).toBe("unknown Model type 'tiyn'");
    expect(error.where).toBe('kiln.config.yaml:3 model.type');
    expect(error.hint).toContain("did you mean 'tiny'?");
  });

  it('wrong option type and missing required option name the key path and line', async () => {
    let kernel = await kernelFor({ ...files, 'kiln.config.yaml': 'plugins: [./plugins/tiny.js]\nmodel:\n  type: tiny\n  width: 8\n  depth: deep\n' });
    let error = await caught(kernel.build(Tokens.Model, kernel.config.model, 'model'));
    expect(error.message).toContain('expected number, got "deep"');
    expect(error.where).toBe('kiln.config.yaml:5 model.depth');
    kernel = await kernelFor({ ...files, 'kiln.config.yaml': 'plugins: [./plugins/tiny.js]\nmodel:\n  type: tiny\n' });
    error = await caught(kernel.build(Tokens.Model, kernel.config.model, 'model'));
    expect(error.message).toContain('required option missing');
    expect(error.where).toBe('kiln.config.yaml:2 model.width');
    kernel = await kernelFor({ ...files, 'kiln.config.yaml': 'plugins: [./plugins/tiny.js]\nmodel:\n  type: tiny\n  width: 3\n  widht: 4\n' });
    error = await caught(kernel.build(Tokens.Model, kernel.config.model, 'model'));
    expect(error.message).toContain("unknown option 'widht' (did you mean 'width'?)");
    expect(error.where).toBe('kiln.config.yaml:5 model.widht');
  });

  it('unknown plugin package says how to install it', async () => {
    const dir = tempProject({ 'kiln.config.yaml': 'plugins:\n  - kiln-plugin-does-not-exist\n' });
    dirs.push(dir);
    const resolved = await resolveConfig({ cwd: dir });
    const error = await caught(createKernel(resolved));
    expect(error.message).toBe("cannot find plugin 'kiln-plugin-does-not-exist'");
    expect(error.where).toBe('kiln.config.yaml:2 plugins.0');
    expect(error.hint).toBe('install it with: npm install kiln-plugin-does-not-exist');
  });

  it('a plugin loaded twice from two places, and a version mismatch, are refused', async () => {
    let error = await caught(
      kernelFor({ 'a/p.js': PLUGIN_SOURCE('same'), 'b/p.js': PLUGIN_SOURCE('same', '2.0.0'), 'kiln.config.yaml': 'plugins: [./a/p.js, ./b/p.js]\n' }),
    );
    expect(error.message).toMatch(/^plugin 'same' is loaded twice: .*a\/p\.js \(v1\.0\.0\) and .*b\/p\.js \(v2\.0\.0\)$/);
    error = await caught(kernelFor({ 'p.js': PLUGIN_SOURCE('old', '1.0.0', '^9.0.0'), 'kiln.config.yaml': 'plugins: [./p.js]\n' }));
    expect(error.message).toBe("plugin 'old' v1.0.0 needs @kiln/core ^9.0.0, but this is 0.1.0");
  });

  it('the same plugin listed twice by one path loads once; a non-plugin module is refused', async () => {
    const kernel = await kernelFor({ 'p.js': PLUGIN_SOURCE('once'), 'kiln.config.yaml': 'plugins: [./p.js, ./p.js]\n' });
    expect(kernel.plugins()).toHaveLength(1);
    const error = await caught(kernelFor({ 'p.js': 'module.exports = { hello: 1 };', 'kiln.config.yaml': 'plugins: [./p.js]\n' }));
    expect(error.message).toContain('is not a Kiln plugin');
  });
});

describe('registrations', () => {
  it('two plugins providing one name for a point are refused', async () => {
    const kernel = new Kernel({ logger: new MemoryLogger() });
    const make = (name: string) =>
      definePlugin({ name, version: '1.0.0', register: (ctx) => ctx.provide(Tokens.Loss, 'mse', () => ({}) as never, z.strictObject({})) });
    await kernel.use(make('a'));
    const error = await caught(kernel.use(make('b')));
    expect(error.message).toBe("Loss 'mse' is provided by both a and b");
  });

  it('factories get validated options and a context with nested build and a forked rng', async () => {
    const kernel = new Kernel({ logger: new MemoryLogger(), seed: 3 });
    const seen: number[] = [];
    await kernel.use(
      definePlugin({
        name: 'p',
        version: '1.0.0',
        register(ctx) {
          ctx.provide(Tokens.Schedule, 'const', (o) => ({ lr: () => o.value }), z.strictObject({ value: z.number() }));
          ctx.provide(Tokens.Model, 'm', async (o, c) => {
            const schedule = await c.build(Tokens.Schedule, o.schedule, `${c.path}.schedule`);
            seen.push(schedule.lr(0, 1, 1), c.rng.next());
            return { name: 'm' } as unknown as Model;
          }, z.strictObject({ schedule: z.looseObject({ type: z.string() }) }));
        },
      }),
    );
    await kernel.build(Tokens.Model, { type: 'm', schedule: { type: 'const', value: 0.5 } }, 'model');
    const again = new Kernel({ seed: 3 }).rng.fork('model').next();
    expect(seen).toEqual([0.5, again]);
  });
});
