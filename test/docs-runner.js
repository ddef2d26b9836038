// Validates config snippets of the docs the way `kiln train` does before any work: resolves the
// config (extends, presets, --set), loads its plugins and the standard ones, and checks every
// block's type and options against the registered schemas (and `tune` against plugin-tuners').
//   node test/docs-runner.js <config file>     prints {"ok": true, "keys": [...]} or the KilnError
const path = require('node:path');
const { resolveConfig, createKernel, STANDARD_PLUGINS, MemoryLogger, formatError, validateBlocks } = require('@kiln/core');

async function validate(file) {
  const resolved = await resolveConfig({ cwd: path.dirname(file), configPath: file });
  const kernel = await createKernel(resolved, { logger: new MemoryLogger(), defaultPlugins: STANDARD_PLUGINS });
  const config = kernel.config;
  validateBlocks(kernel, config);
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
