// Validates config snippets of the docs the way `kiln train` does before any work: resolves the
// config (extends, presets, --set), loads its plugins and the standard ones, and checks every
// block's type and options against the registered schemas (and `tune` against plugin-tuners').
//   node test/docs-runner.js <config file>     prints {"ok": true, "keys": [...]} or the KilnError
const path = require('node:path');
const { resolveConfig, createKernel, STANDARD_PLUGINS, Tokens, MemoryLogger, formatError } = require('@kiln/core');

async function validate(file) {
  const resolved = await resolveConfig({ cwd: path.dirname(file), configPath: file });
  const kernel = await createKernel(resolved, { logger: new MemoryLogger(), defaultPlugins: STANDARD_PLUGINS });
  const config = kernel.config;
  const { schedule, ...optimizer } = config.optimizer ?? {};
  kernel.validate(Tokens.Reader, config.data, 'data');
  kernel.validate(Tokens.Model, config.model, 'model');
  kernel.validate(Tokens.Loss, config.loss, 'loss');
  if (config.optimizer) kernel.validate(Tokens.Optimizer, optimizer, 'optimizer');
  kernel.validate(Tokens.Schedule, schedule, 'optimizer.schedule');
  kernel.validate(Tokens.Sampler, config.sampler, 'sampler');
  config.metrics.forEach((b, i) => kernel.validate(Tokens.Metric, b, `metrics.${i}`));
  config.callbacks.forEach((b, i) => kernel.validate(Tokens.Callback, b, `callbacks.${i}`));
  if (config.tracker) kernel.validate(Tokens.Tracker, config.tracker, 'tracker');
  if (config.exporter) kernel.validate(Tokens.Exporter, config.exporter, 'exporter');
  if (typeof config.backend === 'object' || !['auto'].includes(config.backend)) {
    const type = typeof config.backend === 'object' ? config.backend.type : config.backend;
    if (!kernel.has(Tokens.Backend, type)) throw new Error(`unknown backend '${type}' (known: ${kernel.names(Tokens.Backend).join(', ')})`);
  }
  if (config.tune) {
    const { TuneBlockSchema } = require('@kiln/plugin-tuners');
    TuneBlockSchema.parse(config.tune);
  }
  return Object.keys(resolved.raw);
}

validate(path.resolve(process.argv[2])).then(
  (keys) => process.stdout.write(`${JSON.stringify({ ok: true, keys })}\n`),
  (error) => {
    process.stderr.write(`${formatError(error, true)}\n`);
    process.exitCode = 1;
  },
);
