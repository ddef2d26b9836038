/**
 * Every error Kiln raises on purpose. `where` names the config path or file:line at
 * fault; `hint` says what to do. The CLI prints these as one paragraph, no stack.
 */
export interface KilnErrorOptions {
  where?: string;
  hint?: string;
  cause?: unknown;
}

const BRAND = Symbol.for('kiln.error');

export class KilnError extends Error {
  readonly code: string;
  readonly where?: string;
  readonly hint?: string;
  readonly [BRAND] = true;

  constructor(code: string, message: string, options: KilnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.where = options.where;
    this.hint = options.hint;
  }

  /** Works across duplicate copies of @kiln/core, where `instanceof` would not. */
  static is(value: unknown): value is KilnError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** One paragraph: where, what, hint. */
  format(): string {
    const head = this.where ? `${this.where}: ` : '';
    const hint = this.hint ? `\n  hint: ${this.hint}` : '';
    return `error ${this.code}: ${head}${this.message}${hint}`;
  }
}

export class ConfigError extends KilnError {
  constructor(message: string, options: KilnErrorOptions = {}) {
    super('E_CONFIG', message, options);
  }
}

export class PluginError extends KilnError {
  constructor(message: string, options: KilnErrorOptions = {}) {
    super('E_PLUGIN', message, options);
  }
}

export class DataError extends KilnError {
  constructor(message: string, options: KilnErrorOptions = {}) {
    super('E_DATA', message, options);
  }
}

export class BackendError extends KilnError {
  constructor(message: string, options: KilnErrorOptions = {}) {
    super('E_BACKEND', message, options);
  }
}

export class TrainingError extends KilnError {
  constructor(message: string, options: KilnErrorOptions = {}) {
    super('E_TRAIN', message, options);
  }
}

export class UsageError extends KilnError {
  constructor(message: string, options: KilnErrorOptions = {}) {
    super('E_USAGE', message, options);
  }
}

/** Formats any thrown value for a terminal: KilnErrors as a paragraph, others with their message. */
export function formatError(error: unknown, debug = false): string {
  if (KilnError.is(error)) {
    const text = error.format();
    return debug && error.stack ? `${text}\n${error.stack}` : text;
  }
  if (error instanceof Error) {
    return debug && error.stack ? `error: ${error.stack}` : `error: ${error.message}\n  hint: rerun with --debug for the stack trace`;
  }
  return `error: ${String(error)}`;
}
