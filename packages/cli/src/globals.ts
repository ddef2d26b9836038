import type { GlobalOptions } from '@kiln/core';

/**
 * Reads the global flags before commander runs, because the config (and so the plugins,
 * and so the list of commands) depends on them.
 */
export function scanGlobals(argv: string[]): GlobalOptions & { help: boolean; version: boolean; command?: string } {
  const out: GlobalOptions & { help: boolean; version: boolean; command?: string } = { set: [], preset: [], help: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--config' || flag === '-c') out.config = value();
    else if (flag === '--set') out.set!.push(value());
    else if (flag === '--preset') out.preset!.push(value());
    else if (flag === '--debug') out.debug = true;
    else if (flag === '--help' || flag === '-h' || (flag === 'help' && i === 0)) out.help = true;
    else if (flag === '--version' || flag === '-V') out.version = true;
    else if (out.command === undefined && !arg.startsWith('-')) out.command = arg;
  }
  if (argv.length === 0) out.help = true;
  return out;
}
