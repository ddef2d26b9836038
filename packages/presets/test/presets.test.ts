import * as fs from 'node:fs';
import * as path from 'node:path';
import { createKernel, resolveConfig, STANDARD_PLUGINS, Tokens, MemoryLogger } from '@kiln/core';
import { PRESETS } from '../src';

it('PRESETS lists exactly the preset modules the package ships', () => {
  const files = fs.readdirSync(path.join(__dirname, '..', 'src', 'presets')).map((f) => f.replace(/\.ts$/, ''));
  expect([...PRESETS].sort()).toEqual(files.sort());
});

it.each(PRESETS.filter((p) => p !== 'base'))('preset %s resolves, and every block names an implementation the standard plugins provide', async (name) => {
  const resolved = await resolveConfig({ cwd: __dirname, presets: [name], search: false });
  const kernel = await createKernel(resolved, { logger: new MemoryLogger(), defaultPlugins: STANDARD_PLUGINS });
  const { config } = kernel;
  const { schedule, ...optimizer } = (config.optimizer ?? {}) as { type: string; schedule?: { type: string } };
  kernel.validate(Tokens.Reader, config.data, 'data');
  kernel.validate(Tokens.Model, config.model, 'model');
  kernel.validate(Tokens.Loss, config.loss, 'loss');
  kernel.validate(Tokens.Optimizer, optimizer, 'optimizer');
  if (schedule) kernel.validate(Tokens.Schedule, schedule, 'optimizer.schedule');
  config.metrics.forEach((b, i) => kernel.validate(Tokens.Metric, b, `metrics.${i}`));
  config.callbacks.forEach((b, i) => kernel.validate(Tokens.Callback, b, `callbacks.${i}`));
  if (config.tracker) kernel.validate(Tokens.Tracker, config.tracker, 'tracker');
  expect(config.data?.type).toBeTruthy();
  expect(config.model?.type).toBeTruthy();
  kernel.container.unbindAll();
});
