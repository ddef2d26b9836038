import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { ResolvedConfig } from '../config/load';
import type { Logger } from '../services/logger';
import { Kernel } from './kernel';
import type { KilnPlugin } from '../plugin';

export interface BootstrapOptions {
  logger?: Logger;
  /** Plugins loaded before the config's own when they are installed (the CLI's standard set). */
  defaultPlugins?: string[];
  /** Plugin objects registered before anything else (programmatic use and tests). */
  plugins?: KilnPlugin[];
}

function installed(spec: string, fromDir: string): boolean {
  for (const base of [path.join(fromDir, 'noop.js'), __filename]) {
    try {
      createRequire(base).resolve(spec);
      return true;
    } catch {
      // not resolvable from here
    }
  }
  return false;
}

/** A kernel for a resolved config: the config's plugins (relative to the file naming them), then the defaults. */
export async function createKernel(resolved: ResolvedConfig, options: BootstrapOptions = {}): Promise<Kernel> {
  const kernel = new Kernel({
    config: resolved.config,
    logger: options.logger,
    locate: (p) => resolved.origins.describe(p),
    baseDir: resolved.baseDir,
  });
  for (const plugin of options.plugins ?? []) await kernel.use(plugin);
  const listed = resolved.config.plugins;
  for (const [i, spec] of listed.entries()) {
    const origin = resolved.origins.get(`plugins.${i}`);
    const fromDir = origin?.file && !origin.file.startsWith('<') ? path.dirname(origin.file) : resolved.baseDir;
    await kernel.load(spec, fromDir, resolved.origins.describe(`plugins.${i}`));
  }
  for (const spec of options.defaultPlugins ?? []) {
    if (listed.includes(spec) || !installed(spec, resolved.baseDir)) continue;
    await kernel.load(spec, resolved.baseDir, `default plugin ${spec}`);
  }
  kernel.config = kernel.hooks.modifyConfig.call(kernel.config);
  return kernel;
}

/** Plugins Kiln loads by default when they are installed (the config's `plugins` add to these). */
export const STANDARD_PLUGINS = [
  '@kiln/plugin-backend-wasm',
  '@kiln/plugin-backend-node',
  '@kiln/plugin-data',
  '@kiln/plugin-train-basics',
  '@kiln/plugin-coco',
  '@kiln/plugin-mlflow',
  '@kiln/plugin-tuners',
  '@kiln/plugin-export',
  '@kiln/plugin-resnet',
  '@kiln/plugin-bert',
  '@kiln/plugin-backend-native',
];
