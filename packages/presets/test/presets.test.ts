import * as fs from 'node:fs';
import * as path from 'node:path';
import { createKernel, resolveConfig, STANDARD_PLUGINS, MemoryLogger, validateBlocks } from '@kiln/core';
import { PRESETS } from '../src';

it('PRESETS lists exactly the preset modules the package ships', () => {
  const files = fs.readdirSync(path.join(__dirname, '..', 'src', 'presets')).map((f) => f.replace(/\.ts$/, ''));
  expect([...PRESETS].sort()).toEqual(files.sort());
});

it.each(PRESETS.filter((p) => p !== 'base'))('preset %s resolves, and every block names an implementation the standard plugins provide', async (name) => {
  const resolved = await resolveConfig({ cwd: __dirname, presets: [name], search: false });
  const kernel = await createKernel(resolved, { logger: new MemoryLogger(), defaultPlugins: STANDARD_PLUGINS });
  const { config } = kernel;
  validateBlocks(kernel, config);
  expect(config.data?.type).toBeTruthy();
  expect(config.model?.type).toBeTruthy();
  kernel.container.unbindAll();
});
