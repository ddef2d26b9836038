import * as os from 'node:os';
import { activateBackend, backendBlock, KILN_VERSION, Tokens, type Command } from '@kiln/core';

/** `kiln info`: versions, the backend `backend:` selects, threads and SIMD. */
export const infoCommand: Command = {
  name: 'info',
  description: 'show the Kiln version and the tensor backend the config selects',
  options: [{ flags: '--json', description: 'print as JSON' }],
  async run(_args, options, { kernel, stdout }) {
    const backends = await Promise.all(
      kernel.names(Tokens.Backend).map(async (name) => {
        const b = await kernel.build(Tokens.Backend, { type: name }, 'backend');
        return { name, priority: b.priority, availability: await b.availability() };
      }),
    );
    const selected = await activateBackend(kernel);
    const info = {
      kiln: KILN_VERSION,
      node: process.version,
      platform: `${os.platform()}-${os.arch()}`,
      cpus: os.cpus().length,
      requested: kernel.config.backend,
      backend: selected,
      backends,
    };
    if (options.json) {
      stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `kiln      ${info.kiln}`,
      `node      ${info.node} (${info.platform}, ${info.cpus} cpus)`,
      `backend   ${selected.name} (tfjs '${selected.tfBackend}' ${selected.version}; requested: ${backendBlock(info.requested).type})`,
      `threads   ${selected.threads}`,
      `simd      ${selected.simd === undefined ? 'n/a' : selected.simd ? 'on' : 'off'}`,
      ...Object.entries(selected.details ?? {}).map(([k, v]) => `${k.padEnd(9)} ${v}`),
      'available:',
      ...backends.map((b) => `  ${b.name.padEnd(16)} ${b.availability.ok ? 'yes' : `no (${b.availability.reason})`}`),
    ];
    stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
