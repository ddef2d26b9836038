import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Container } from 'inversify';
import semver from 'semver';
import { z, type ZodType } from 'zod';
import { ConfigError, KilnError, PluginError } from '../errors';
import { Hooks } from '../hooks';
import { pointName, POINT_CONFIG_KEYS, type PointToken, type PointTypes } from '../points';
import type { Command } from '../points/command';
import type { DatasetInfo } from '../points/data';
import type { ComponentContext, Factory, KilnPlugin, PluginContext, ProvideMeta } from '../plugin';
import { ConsoleLogger, Logger } from '../services/logger';
import { Rng, SeededRng } from '../services/rng';
import { Clock, systemClock } from '../services/clock';
import { knownNamesHint } from '../suggest';
import { describeIssues } from '../config/issues';
import type { ComponentBlock, KilnConfig } from '../config/schema';
import { KilnConfigSchema } from '../config/schema';
import { KILN_VERSION } from '../version';

export const HooksToken: unique symbol = Symbol.for('kiln.service.Hooks');
export const KernelToken: unique symbol = Symbol.for('kiln.service.Kernel');

export interface Registration {
  point: symbol;
  name: string;
  plugin: string;
  schema?: ZodType;
  description?: string;
}

export interface LoadedPlugin {
  name: string;
  version: string;
  description?: string;
  /** Resolved file, or `inline` for plugins passed as objects. */
  source: string;
}

export interface KernelOptions {
  logger?: Logger;
  seed?: number;
  clock?: Clock;
  config?: KilnConfig;
  /** Describes a config path with its origin, for error messages. */
  locate?: (path: string) => string;
  baseDir?: string;
}

type AnyFactory = Factory<unknown, unknown>;

function isPlugin(value: unknown): value is KilnPlugin {
  const v = value as Partial<KilnPlugin> | null;
  return !!v && typeof v === 'object' && typeof v.name === 'string' && typeof v.version === 'string' && typeof v.register === 'function';
}

/** Keys a zod object schema accepts (for "did you mean" on unknown options). */
function schemaKeys(schema: ZodType | undefined): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

/**
 * One per run: an inversify container holding the named factories plugins provide,
 * the services they share, and the lifecycle hooks.
 */
export class Kernel {
  readonly container = new Container();
  readonly hooks = new Hooks();
  readonly logger: Logger;
  readonly rng: SeededRng;
  readonly clock: Clock;
  config: KilnConfig;
  baseDir: string;
  dataset?: DatasetInfo;
  private readonly registrations = new Map<symbol, Map<string, Registration>>();
  private readonly loaded = new Map<string, LoadedPlugin>();
  private readonly commandMap = new Map<string, { command: Command; plugin: string }>();
  private readonly locateFn: (path: string) => string;

  constructor(options: KernelOptions = {}) {
    this.logger = options.logger ?? new ConsoleLogger();
    this.config = options.config ?? KilnConfigSchema.parse({});
    this.rng = new SeededRng(options.seed ?? this.config.seed);
    this.clock = options.clock ?? systemClock;
    this.locateFn = options.locate ?? ((p) => p);
    this.baseDir = options.baseDir ?? process.cwd();
    this.container.bind(Logger).toConstantValue(this.logger);
    this.container.bind(Rng).toConstantValue(this.rng);
    this.container.bind(Clock).toConstantValue(this.clock);
    this.container.bind(HooksToken).toConstantValue(this.hooks);
    this.container.bind(KernelToken).toConstantValue(this);
  }

  get version(): string {
    return KILN_VERSION;
  }

  locate(configPath: string): string {
    return this.locateFn(configPath);
  }

  /** Registers a plugin object. `source` is where it was loaded from. */
  async use(plugin: KilnPlugin, source = 'inline'): Promise<void> {
    if (!isPlugin(plugin)) {
      throw new PluginError(`${source} is not a Kiln plugin`, {
        where: source,
        hint: 'a plugin module must default-export { name, version, register(ctx) } (use definePlugin)',
      });
    }
    const previous = this.loaded.get(plugin.name);
    if (previous) {
      if (previous.source === source) return;
      throw new PluginError(`plugin '${plugin.name}' is loaded twice: ${previous.source} (v${previous.version}) and ${source} (v${plugin.version})`, {
        where: source,
        hint: 'list each plugin once; if two packages depend on different copies, dedupe them (npm dedupe)',
      });
    }
    if (plugin.kiln && !semver.satisfies(KILN_VERSION, plugin.kiln, { includePrerelease: true })) {
      throw new PluginError(`plugin '${plugin.name}' v${plugin.version} needs @kiln/core ${plugin.kiln}, but this is ${KILN_VERSION}`, {
        where: source,
        hint: `install a version of ${plugin.name} built for @kiln/core ${KILN_VERSION}`,
      });
    }
    this.loaded.set(plugin.name, { name: plugin.name, version: plugin.version, description: plugin.description, source });
    try {
      await plugin.register(this.pluginContext(plugin.name));
    } catch (error) {
      if (KilnError.is(error)) throw error;
      throw new PluginError(`plugin '${plugin.name}' failed to register: ${(error as Error).message}`, { where: source, cause: error });
    }
  }

  /**
   * Loads a plugin by npm package name (resolved from `fromDir`, then from Kiln's own install)
   * or by a relative/absolute path.
   */
  async load(spec: string, fromDir: string, where = spec): Promise<void> {
    const isPath = spec.startsWith('.') || path.isAbsolute(spec);
    let resolved: string | undefined;
    const bases = isPath ? [path.join(fromDir, 'noop.js')] : [path.join(fromDir, 'noop.js'), __filename];
    const target = isPath ? path.resolve(fromDir, spec) : spec;
    for (const base of bases) {
      try {
        resolved = createRequire(base).resolve(target);
        break;
      } catch {
        // try the next base
      }
    }
    if (!resolved) {
      throw new PluginError(`cannot find plugin '${spec}'`, {
        where,
        hint: isPath ? `no module at ${target}` : `install it with: npm install ${spec}`,
      });
    }
    let mod: unknown;
    try {
      mod = resolved.endsWith('.mjs') ? await import(pathToFileURL(resolved).href) : require(resolved);
    } catch (error) {
      throw new PluginError(`plugin '${spec}' failed to load: ${(error as Error).message.split('\n')[0]}`, {
        where: `${where} (${resolved})`,
        hint: 'run with --debug for the stack trace',
        cause: error,
      });
    }
    const exported = (mod as { default?: unknown }).default ?? mod;
    await this.use(exported as KilnPlugin, fs.realpathSync(resolved));
  }

  private pluginContext(pluginName: string): PluginContext {
    return {
      hooks: this.hooks,
      logger: this.logger,
      kilnVersion: KILN_VERSION,
      provide: (point: symbol, name: string, factory: AnyFactory, schema?: ZodType, meta?: ProvideMeta) =>
        this.provide(pluginName, point, name, factory, schema, meta),
      bindService: (token: symbol, value: unknown) => {
        if (this.container.isBound(token)) this.container.unbind(token);
        this.container.bind(token).toConstantValue(value);
      },
      command: (command: Command) => {
        const existing = this.commandMap.get(command.name);
        if (existing && existing.plugin !== pluginName) {
          throw new PluginError(`command '${command.name}' is contributed by both ${existing.plugin} and ${pluginName}`, { where: pluginName });
        }
        this.commandMap.set(command.name, { command, plugin: pluginName });
      },
    } as PluginContext;
  }

  private provide(plugin: string, point: symbol, name: string, factory: AnyFactory, schema?: ZodType, meta?: ProvideMeta): void {
    let named = this.registrations.get(point);
    if (!named) this.registrations.set(point, (named = new Map()));
    const existing = named.get(name);
    if (existing) {
      throw new PluginError(`${pointName(point)} '${name}' is provided by both ${existing.plugin} and ${plugin}`, {
        where: plugin,
        hint: 'rename one of them, or load only one of the two plugins',
      });
    }
    named.set(name, { point, name, plugin, schema, description: meta?.description });
    this.container
      .bind<AnyFactory>(point)
      .toConstantValue(factory)
      .whenTargetNamed(name);
  }

  /** Names registered for a point. */
  names(point: symbol): string[] {
    return [...(this.registrations.get(point)?.keys() ?? [])];
  }

  has(point: symbol, name: string): boolean {
    return this.registrations.get(point)?.has(name) ?? false;
  }

  registration(point: symbol, name: string): Registration | undefined {
    return this.registrations.get(point)?.get(name);
  }

  /** Every registration, grouped by point. */
  allRegistrations(): Map<symbol, Registration[]> {
    const out = new Map<symbol, Registration[]>();
    for (const [point, named] of this.registrations) out.set(point, [...named.values()]);
    return out;
  }

  plugins(): LoadedPlugin[] {
    return [...this.loaded.values()];
  }

  commands(): Map<string, Command> {
    const map = new Map<string, Command>();
    for (const [name, { command }] of this.commandMap) map.set(name, command);
    this.hooks.registerCommands.call(map);
    return map;
  }

  get<T>(token: symbol): T {
    return this.container.get<T>(token);
  }

  /**
   * Builds a component from a config block `{ type, ...options }`: finds the named factory,
   * validates the options against its schema, and calls it.
   */
  async build<P extends PointToken>(point: P, block: ComponentBlock | undefined, configPath?: string): Promise<PointTypes[P]>;
  async build<T>(point: symbol, block: ComponentBlock | undefined, configPath?: string): Promise<T>;
  async build(point: symbol, block: ComponentBlock | undefined, configPath?: string): Promise<unknown> {
    const at = configPath ?? POINT_CONFIG_KEYS[point as PointToken] ?? pointName(point);
    if (!block || typeof block !== 'object') {
      throw new ConfigError(`no ${pointName(point)} configured`, {
        where: this.locate(at),
        hint: `add a '${at}' block with a type (known: ${this.names(point).sort().join(', ') || 'none'}) or extend a preset`,
      });
    }
    const options = this.checkedOptions(point, block, at);
    const factory = this.container.getNamed<AnyFactory>(point, block.type);
    return factory(options, this.componentContext(at));
  }

  /** Checks a block's type and options without building it (so a run fails before any work). */
  validate(point: symbol, block: ComponentBlock | undefined, configPath: string): void {
    if (block) this.checkedOptions(point, block, configPath);
  }

  /** The registered type of a block, and its options validated against that type's schema. */
  private checkedOptions(point: symbol, block: ComponentBlock, at: string): unknown {
    const kind = pointName(point);
    if (typeof block.type !== 'string') {
      throw new ConfigError(`${kind} block has no 'type'`, { where: this.locate(at), hint: knownNamesHint('', this.names(point)) });
    }
    if (!this.registration(point, block.type)) {
      throw new ConfigError(`unknown ${kind} type '${block.type}'`, {
        where: this.locate(`${at}.type`),
        hint: `${knownNamesHint(block.type, this.names(point))}; a plugin may be missing from 'plugins'`,
      });
    }
    return this.validateOptions(point, block, at);
  }

  private validateOptions(point: symbol, block: ComponentBlock, at: string): unknown {
    const registration = this.registration(point, block.type)!;
    const { type: _type, ...rawOptions } = block;
    if (!registration.schema) return rawOptions;
    const parsed = registration.schema.safeParse(rawOptions, { reportInput: true });
    if (!parsed.success) {
      throw describeIssues(parsed.error.issues, at, (p) => this.locate(p), `options for ${pointName(point)} '${block.type}'`, () => schemaKeys(registration.schema));
    }
    return parsed.data;
  }

  componentContext(at: string): ComponentContext {
    return {
      path: at,
      locate: (p) => this.locate(p),
      build: (p: symbol, b: ComponentBlock, where: string) => this.build(p, b, where),
      hooks: this.hooks,
      logger: this.logger,
      rng: this.rng.fork(at),
      seed: this.config.seed,
      config: this.config,
      baseDir: this.baseDir,
      dataset: this.dataset,
      get: <T>(token: symbol) => this.container.get<T>(token),
    } as ComponentContext;
  }
}

/** A zod schema that accepts no options (for implementations without any). */
export const NoOptions = z.strictObject({});
