import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, type Logger } from '@kiln/core';
import { MlflowFileStore, MlflowModelRegistry, modelSourceDir } from '@kiln/plugin-mlflow';
import type { Predictor } from '../predict/predictor';
import type { ReloadEvent, ServedModel } from './served-model';

/** A registered model followed through an alias: `models:/<name>@<alias>` in an MLflow file store. */
export interface RegisteredModelRef {
  /** The mlruns folder (file store root holding `models/`). */
  registry: string;
  name: string;
  alias: string;
}

/** Parses MLflow's `models:/<name>@<alias>` (alias defaults to `champion`); undefined for other specs. */
export function parseModelUri(spec: string, registry: string): RegisteredModelRef | undefined {
  const m = /^models:\/([^@/]+)(?:@([^/]+))?$/.exec(spec);
  if (!m) return undefined;
  return { registry: path.resolve(registry), name: m[1], alias: m[2] ?? 'champion' };
}

/** The version an alias points at and the folder its source resolves to. */
export interface AliasTarget {
  version: number;
  dir: string;
}

/** Reads an alias of a registered model (plugin-mlflow's registry layout) and resolves its version's files. */
export class RegistryAlias {
  private readonly registry: MlflowModelRegistry;
  private readonly store: MlflowFileStore;

  constructor(readonly ref: RegisteredModelRef) {
    this.registry = new MlflowModelRegistry(ref.registry);
    this.store = new MlflowFileStore(ref.registry);
  }

  /** The folder `aliases/` of the model, where MLflow's file store keeps one file per alias. */
  get aliasDir(): string {
    return path.join(this.registry.root, 'models', this.ref.name, 'aliases');
  }

  /** The alias's version now, or undefined when the model or alias does not exist (yet). */
  version(): number | undefined {
    if (this.registry.listVersionNumbers(this.ref.name).length === 0) return undefined;
    const v = this.registry.getAlias(this.ref.name, this.ref.alias);
    return v === undefined || !Number.isInteger(v) ? undefined : v;
  }

  target(version: number): AliasTarget {
    const info = this.registry.getVersion(this.ref.name, version);
    return { version, dir: modelSourceDir(this.store, info.source) };
  }

  /** The alias's current target; a UsageError that says how to register one when there is none. */
  require(): AliasTarget {
    const v = this.version();
    if (v === undefined) {
      throw new UsageError(`registered model '${this.ref.name}' has no '${this.ref.alias}' alias in ${this.ref.registry}`, {
        where: `models:/${this.ref.name}@${this.ref.alias}`,
        hint: 'train with the mlflow tracker (it registers and promotes), or set the alias with MlflowModelRegistry.setAlias',
      });
    }
    return this.target(v);
  }
}

export interface ChampionWatcherOptions {
  /** Loads the predictor of a version's folder (named after the registered model, versioned). */
  load(dir: string, version: number): Promise<Predictor>;
  logger?: Logger;
  /** Wait after the last file event before reading the alias (MLflow writes a temp file, then renames). */
  debounceMs: number;
  /** Re-read the alias this often even without file events (network file systems, a missing folder). */
  pollMs: number;
  /** Use fs.watch events (default true); false polls only, as on file systems without inotify. */
  fsWatch?: boolean;
}

export const DEFAULT_WATCH = { debounceMs: 200, pollMs: 2000 };

/**
 * Follows a registry alias for a served model: watches its `aliases/` folder (fs.watch, with
 * polling as the fallback), and when the alias moves to another version loads it in the background
 * and hands it to ServedModel.replace (verify, swap between batches, dispose the old one). A version
 * that fails to load or verify is refused once (logged) and the old one keeps serving; it is tried
 * again only if the alias moves away and back.
 */
export class ChampionWatcher {
  private watcher?: fs.FSWatcher;
  private poller?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private checking?: Promise<void>;
  private again = false;
  private closed = false;
  /** The version last seen on the alias (served or refused). */
  private seen: number;

  constructor(
    private readonly alias: RegistryAlias,
    private readonly served: ServedModel,
    initialVersion: number,
    private readonly options: ChampionWatcherOptions,
  ) {
    this.seen = initialVersion;
  }

  /** Whether file events are being watched now (else polling alone notices changes). */
  get watching(): boolean {
    return this.watcher !== undefined;
  }

  start(): this {
    this.watchFolder();
    // A poll never cuts short the debounce of a file event in progress.
    this.poller = setInterval(() => this.debounce === undefined && !this.closed && void this.check(), this.options.pollMs);
    this.poller.unref();
    return this;
  }

  private watchFolder(): void {
    if (this.watcher || this.closed || this.options.fsWatch === false) return;
    // The alias file is replaced by a rename, so watch its folder, not the file.
    try {
      this.watcher = fs.watch(this.alias.aliasDir, { persistent: false }, () => this.schedule(this.options.debounceMs));
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined; // no folder yet, or no inotify: polling covers it.
    }
  }

  private schedule(delay: number): void {
    if (this.closed) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.check();
    }, delay);
  }

  /** Reads the alias and reloads if it moved; resolves when any reload it started has finished. */
  check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = this.checkOnce().finally(() => {
      this.checking = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        void this.check();
      }
    });
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    this.watchFolder();
    let version: number | undefined;
    try {
      version = this.alias.version();
    } catch (error) {
      this.options.logger?.warn(`serve: cannot read models:/${this.alias.ref.name}@${this.alias.ref.alias}: ${(error as Error).message}`);
      return;
    }
    if (version === undefined || version === this.seen || this.closed) return;
    this.seen = version;
    // Back to the version still serving (after a refused one): nothing to load.
    if (String(version) === this.served.predictor.version) return;
    const { name, alias } = this.alias.ref;
    this.options.logger?.info(`serve: ${name}@${alias} moved to version ${version}; loading it`);
    let next: Predictor;
    try {
      next = await this.options.load(this.alias.target(version).dir, version);
    } catch (error) {
      const event: ReloadEvent = { model: this.served.name, outcome: 'refused', version: String(version), previousVersion: this.served.predictor.version, error: error as Error };
      this.report(event);
      this.served.emit('reload', event);
      return;
    }
    if (this.closed) {
      await next.dispose();
      return;
    }
    this.report(await this.served.replace(next));
  }

  private report(event: ReloadEvent): void {
    const { name, alias } = this.alias.ref;
    if (event.outcome === 'swapped') this.options.logger?.info(`serve: ${name} now serves version ${event.version} (was ${event.previousVersion})`);
    else this.options.logger?.error(`serve: refused version ${event.version} of ${name}@${alias}, still serving version ${event.previousVersion}: ${event.error?.message ?? 'unknown error'}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
    if (this.debounce) clearTimeout(this.debounce);
    await this.checking;
  }
}
