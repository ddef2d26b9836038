import { Command as Commander, CommanderError, Option } from 'commander';
import { ConsoleLogger, formatError, KILN_VERSION, type Command, type CommandContext, type GlobalOptions } from '@kiln/core';
import { scanGlobals } from './globals';
import { openSession, type Session } from './session';
import { builtinCommands } from './commands';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function addCommand(program: Commander, spec: Command, context: () => CommandContext, setExit: (code: number) => void): void {
  const cmd = program.command(spec.name).description(spec.description);
  for (const arg of spec.arguments ?? []) {
    const name = arg.variadic ? `${arg.name}...` : arg.name;
    cmd.argument(arg.required ? `<${name}>` : `[${name}]`, arg.description);
  }
  for (const opt of spec.options ?? []) {
    const option = new Option(opt.flags, opt.description);
    if (opt.default !== undefined) option.default(opt.default);
    cmd.addOption(option);
  }
  cmd.action(async (...received: unknown[]) => {
    const command = received[received.length - 1] as Commander;
    const positional = received.slice(0, command.registeredArguments.length).flatMap((a) => (a === undefined ? [] : Array.isArray(a) ? a.map(String) : [String(a)]));
    const code = await spec.run(positional, command.opts(), context());
    setExit(typeof code === 'number' ? code : 0);
  });
}

/** Runs `kiln` with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() }): Promise<number> {
  const globals = scanGlobals(argv);
  let session: Session | undefined;
  const standalone = builtinCommands().find((c) => c.name === globals.command && c.needsConfig === false);
  try {
    if (!standalone || globals.help) session = await openSession(globals, io.cwd);
  } catch (error) {
    if (!globals.help && !globals.version) {
      io.stderr.write(`${formatError(error, globals.debug)}\n`);
      return 1;
    }
    io.stderr.write(`warning: config not loaded, plugin commands are not listed:\n${formatError(error)}\n`);
  }

  let exitCode = 0;
  const program = new Commander('kiln')
    .description('Kiln: train, evaluate, tune and export models in TypeScript, composed from plugins.')
    .version(KILN_VERSION, '-V, --version')
    .option('-c, --config <file>', 'config file (default: kiln.config.* or "kiln" in package.json, searched in the cwd)')
    .option('--preset <name>', 'extend a preset instead of reading a config file (repeatable)', collect)
    .option('--set <key=value>', 'override a config value, e.g. --set optimizer.lr=0.01 (repeatable)', collect)
    .option('--debug', 'print stack traces and debug logs')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  program.addHelpCommand('help [command]', 'show help for a command');

  const context = (): CommandContext => ({
    logger: session?.kernel.logger ?? new ConsoleLogger(globals.debug ? 'debug' : 'info', io.stderr),
    cwd: io.cwd,
    globals: globals as GlobalOptions,
    stdout: io.stdout,
    // Absent for commands declared `needsConfig: false`, which run without a project.
    kernel: session?.kernel as CommandContext['kernel'],
    resolved: session?.resolved as CommandContext['resolved'],
  });
  const specs = new Map<string, Command>();
  for (const spec of builtinCommands()) specs.set(spec.name, spec);
  if (session) for (const [name, spec] of session.kernel.commands()) if (!specs.has(name)) specs.set(name, spec);
  for (const spec of [...specs.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    addCommand(program, spec, context, (code) => (exitCode = code));
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    io.stderr.write(`${formatError(error, globals.debug)}\n`);
    return 1;
  }
  return exitCode;
}
