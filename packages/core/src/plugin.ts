import type { ZodType, z } from 'zod';
import type { Hooks } from './hooks';
import type { Command } from './points/command';
import type { PointToken, PointTypes } from './points';
import type { DatasetInfo } from './points/data';
import type { Logger } from './services/logger';
import type { Rng } from './services/rng';
import type { KilnConfig } from './config/schema';
import type { ComponentBlock } from './config/schema';

/** What a factory gets besides its validated options. */
export interface ComponentContext {
  /** Config path of the block being built (`model`, `metrics.1`), for error messages. */
  path: string;
  /** Describes a config path with its origin (`kiln.config.yaml:4 model.depth`). */
  locate(path: string): string;
  /** Builds a nested block (an optimizer's `schedule`, a sampler's inner sampler). */
  build<P extends PointToken>(point: P, block: ComponentBlock, path: string): Promise<PointTypes[P]>;
  hooks: Hooks;
  logger: Logger;
  /** A generator forked for this component from the run seed. */
  rng: Rng;
  seed: number;
  config: KilnConfig;
  /** Directory relative paths in the config are resolved against. */
  baseDir: string;
  /** Info of the training dataset, for models and losses sized by it (when data is loaded). */
  dataset?: DatasetInfo;
  /** Any other service bound in the run's container. */
  get<T>(token: symbol): T;
}

export type Factory<T, O> = (options: O, context: ComponentContext) => T | Promise<T>;

export interface ProvideMeta {
  description?: string;
}

export interface PluginContext {
  readonly hooks: Hooks;
  readonly logger: Logger;
  /** Version of @kiln/core this plugin is being registered with. */
  readonly kilnVersion: string;
  /** Binds a named implementation of a point; `schema` validates and documents its options. */
  provide<P extends PointToken, S extends ZodType = ZodType<Record<string, never>>>(
    point: P,
    name: string,
    factory: Factory<PointTypes[P], z.output<S>>,
    schema?: S,
    meta?: ProvideMeta,
  ): void;
  /** Binds a service (logger replacement, a clock, a registry) under a token. */
  bindService<T>(token: symbol, value: T): void;
  /** Contributes a `kiln <name>` subcommand. */
  command(command: Command): void;
}

export interface KilnPlugin {
  /** npm package name, by convention (`@kiln/plugin-resnet`, `kiln-plugin-foo`). */
  name: string;
  version: string;
  /** semver range of @kiln/core this plugin works with. */
  kiln?: string;
  description?: string;
  register(context: PluginContext): void | Promise<void>;
}

/** Identity helper that gives plugin authors types. */
export function definePlugin(plugin: KilnPlugin): KilnPlugin {
  return plugin;
}
