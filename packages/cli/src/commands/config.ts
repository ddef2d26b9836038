import { formatOrigin, leafPaths, getPath, formatPath, type Command } from '@kiln/core';

/** `kiln config`: the resolved config, each value with the file or flag it came from. */
export const configCommand: Command = {
  name: 'config',
  description: 'print the resolved config with the origin of every value',
  options: [{ flags: '--json', description: 'print { config, origins } as JSON' }],
  async run(_args, options, { resolved, kernel, stdout }) {
    const config = kernel.config;
    const origins = Object.fromEntries(resolved.origins.entries().map(([k, o]) => [k, formatOrigin(o)]));
    if (options.json) {
      stdout.write(`${JSON.stringify({ sources: resolved.sources, config, origins }, null, 2)}\n`);
      return 0;
    }
    const rows = leafPaths(config).map((p) => {
      const key = formatPath(p);
      const origin = resolved.origins.get(key);
      return [key, JSON.stringify(getPath(config, p)), origin ? formatOrigin(origin) : 'default'];
    });
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.min(40, Math.max(...rows.map((r) => r[1].length)));
    const lines = rows.map(([k, v, o]) => `${k.padEnd(w0)}  ${v.padEnd(w1)}  # ${o}`);
    stdout.write(`${resolved.filepath ? `# config: ${resolved.filepath}\n` : '# no config file\n'}${lines.join('\n')}\n`);
    return 0;
  },
};
