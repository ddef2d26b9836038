import { ConsoleLogger, createKernel, resolveConfig, STANDARD_PLUGINS, type GlobalOptions, type Kernel, type Logger, type ResolvedConfig } from '@kiln/core';

/** A resolved config and a kernel with its plugins, for one CLI invocation. */
export interface Session {
  resolved: ResolvedConfig;
  kernel: Kernel;
}

export async function openSession(globals: GlobalOptions, cwd: string, logger: Logger = new ConsoleLogger(globals.debug ? 'debug' : 'info')): Promise<Session> {
  const resolved = await resolveConfig({ cwd, configPath: globals.config, presets: globals.preset, set: globals.set });
  const kernel = await createKernel(resolved, { logger, defaultPlugins: STANDARD_PLUGINS });
  return { resolved, kernel };
}
