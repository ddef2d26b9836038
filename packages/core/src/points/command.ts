import type { Logger } from '../services/logger';
import type { Kernel } from '../kernel/kernel';
import type { ResolvedConfig } from '../config/load';

export interface CommandOption {
  /** Commander-style flags: `--gt <file>`, `--json`, `-n, --trials <n>`. */
  flags: string;
  description: string;
  default?: string | boolean | number;
}

export interface CommandArgument {
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
}

export interface CommandContext {
  logger: Logger;
  /** Working directory the command was run in. */
  cwd: string;
  /** Global flags (`--config`, `--set`, `--preset`, `--debug`). */
  globals: GlobalOptions;
  stdout: NodeJS.WritableStream;
  /** The kernel of this invocation, with every plugin loaded. */
  kernel: Kernel;
  /** The resolved config (with origins) of this invocation. */
  resolved: ResolvedConfig;
}

export interface GlobalOptions {
  config?: string;
  set?: string[];
  preset?: string[];
  debug?: boolean;
}

/** Token and interface of the Command point: a `kiln <name>` subcommand contributed by a plugin. */
export const Command: unique symbol = Symbol.for('kiln.point.Command');
export interface Command {
  name: string;
  description: string;
  arguments?: CommandArgument[];
  options?: CommandOption[];
  /**
   * `false` for commands that work without a project (`kiln init`): the CLI then loads no
   * config and no plugins, and the context's `kernel` and `resolved` are not available.
   */
  needsConfig?: boolean;
  /** Returns the process exit code (0 when omitted). */
  run(args: string[], options: Record<string, unknown>, context: CommandContext): Promise<number | void>;
}
