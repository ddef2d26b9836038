import { describeOptions, pointName, type Command } from '@kiln/core';

function formatDefault(value: unknown): string {
  return value === undefined ? '' : ` = ${JSON.stringify(value)}`;
}

/** `kiln plugins`: every loaded plugin, and every point's registered names with their options. */
export const pluginsCommand: Command = {
  name: 'plugins',
  description: 'list loaded plugins and every registered implementation with its options',
  options: [{ flags: '--json', description: 'print as JSON' }],
  async run(_args, options, { kernel, stdout }) {
    const points = [...kernel.allRegistrations().entries()]
      .map(([point, regs]) => ({
        point: pointName(point),
        implementations: regs
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((r) => ({ name: r.name, plugin: r.plugin, description: r.description, options: describeOptions(r.schema) })),
      }))
      .sort((a, b) => a.point.localeCompare(b.point));
    if (options.json) {
      stdout.write(`${JSON.stringify({ plugins: kernel.plugins(), points }, null, 2)}\n`);
      return 0;
    }
    const lines: string[] = ['Plugins:'];
    for (const p of kernel.plugins()) lines.push(`  ${p.name}@${p.version}  ${p.source}`);
    for (const { point, implementations } of points) {
      lines.push('', `${point}:`);
      for (const impl of implementations) {
        lines.push(`  ${impl.name}  (${impl.plugin})${impl.description ? `  ${impl.description}` : ''}`);
        for (const o of impl.options) {
          lines.push(`      ${o.name}${o.required ? ' (required)' : ''}: ${o.type}${formatDefault(o.default)}${o.description ? `  ${o.description}` : ''}`);
        }
      }
    }
    const commands = [...kernel.commands().keys()].sort();
    if (commands.length) lines.push('', `Commands from plugins: ${commands.join(', ')}`);
    stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
};
