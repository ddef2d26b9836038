export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Token and interface of the logger service. */
export const Logger: unique symbol = Symbol.for('kiln.service.Logger');
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Writes to stderr so stdout stays clean for machine-readable output (`--json`). */
export class ConsoleLogger implements Logger {
  constructor(
    private readonly level: LogLevel = 'info',
    private readonly stream: NodeJS.WritableStream = process.stderr,
  ) {}
  private write(level: LogLevel, message: string): void {
    if (ORDER[level] >= ORDER[this.level]) this.stream.write(level === 'info' ? `${message}\n` : `${level}: ${message}\n`);
  }
  debug(message: string): void { this.write('debug', message); }
  info(message: string): void { this.write('info', message); }
  warn(message: string): void { this.write('warn', message); }
  error(message: string): void { this.write('error', message); }
}

/** Keeps messages in memory; for tests and for quiet programmatic runs. */
export class MemoryLogger implements Logger {
  readonly lines: { level: LogLevel; message: string }[] = [];
  debug(message: string): void { this.lines.push({ level: 'debug', message }); }
  info(message: string): void { this.lines.push({ level: 'info', message }); }
  warn(message: string): void { this.lines.push({ level: 'warn', message }); }
  error(message: string): void { this.lines.push({ level: 'error', message }); }
}
