import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { cosmiconfig } from 'cosmiconfig';
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { ConfigError, KilnError } from '../errors';
import { mergeLayer } from './merge';
import { OriginMap, type Origin } from './origins';
import { formatPath, hasPath, isPlainObject, leafPaths, parseAssignment, setPath, type PathSegment } from './paths';
import { KilnConfigSchema, type KilnConfig } from './schema';
import { describeIssues } from './issues';

export const CONFIG_SEARCH_PLACES = [
  'package.json',
  'kiln.config.json',
  'kiln.config.yaml',
  'kiln.config.yml',
  'kiln.config.js',
  'kiln.config.cjs',
  'kiln.config.mjs',
  'kiln.config.ts',
  '.kilnrc',
  '.kilnrc.json',
  '.kilnrc.yaml',
  '.kilnrc.yml',
];

export interface ResolveOptions {
  cwd?: string;
  /** Explicit config file (`--config`). */
  configPath?: string;
  /** Presets to extend (`--preset`); when given without configPath, no config file is searched. */
  presets?: string[];
  /** `a.b.c=value` overrides (`--set`). */
  set?: string[];
  /** An in-memory config (programmatic API), merged after any file. */
  inline?: Record<string, unknown>;
  /** Search the cwd for a config file when none is named (default true). */
  search?: boolean;
}

export interface ResolvedConfig {
  config: KilnConfig;
  /** The merged config before defaults and validation. */
  raw: Record<string, unknown>;
  origins: OriginMap;
  /** The user's config file, if any. */
  filepath?: string;
  /** Every file and preset that contributed, in merge order. */
  sources: string[];
  /** Directory that relative paths in the config are resolved against. */
  baseDir: string;
}

interface Layer {
  value: Record<string, unknown>;
  originOf: (p: PathSegment[]) => Origin;
  label: string;
}

/** Line of every node in a YAML/JSON text, by dotted path. */
function lineIndex(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const doc = parseDocument(text, { keepSourceTokens: false });
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  const walk = (node: YamlNode | null | undefined, prefix: string[]) => {
    if (!node) return;
    if (isMap(node)) {
      for (const item of node.items) {
        const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
        const keyNode = item.key as YamlNode | undefined;
        const p = [...prefix, key];
        if (keyNode?.range) lines.set(p.join('.'), lineOf(keyNode.range[0]));
        walk(item.value as YamlNode, p);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const p = [...prefix, String(i)];
        const n = item as YamlNode;
        if (n?.range) lines.set(p.join('.'), lineOf(n.range[0]));
        walk(n, p);
      });
    }
  };
  walk(doc.contents as YamlNode, []);
  return lines;
}

function displayName(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel.startsWith('..') ? file : rel;
}

function explorer() {
  return cosmiconfig('kiln', { searchPlaces: CONFIG_SEARCH_PLACES, searchStrategy: 'none' });
}

function wrapLoadError(error: unknown, file: string, cwd: string): never {
  if (KilnError.is(error)) throw error;
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  throw new ConfigError(`cannot read config: ${message}`, {
    where: displayName(file, cwd),
    hint: 'check the file syntax (JSON, YAML, or a JS/TS module exporting the config object)',
    cause: error,
  });
}

async function loadFile(file: string, cwd: string): Promise<Layer> {
  if (!fs.existsSync(file)) {
    throw new ConfigError(`config file not found`, { where: displayName(file, cwd), hint: 'check the path given to --config or extends' });
  }
  let loaded: { config: unknown; filepath: string } | null;
  try {
    loaded = await explorer().load(file);
  } catch (error) {
    wrapLoadError(error, file, cwd);
  }
  const raw = loaded?.config ?? {};
  const value = (isPlainObject((raw as { default?: unknown }).default) ? (raw as { default: unknown }).default : raw) as Record<string, unknown>;
  if (!isPlainObject(value)) {
    throw new ConfigError('a config must be an object', { where: displayName(file, cwd), hint: 'export or write an object like { model: { type: ... } }' });
  }
  const name = displayName(file, cwd);
  const ext = path.extname(file).toLowerCase();
  const structured = ['.json', '.yaml', '.yml', ''].includes(ext) || path.basename(file).startsWith('.kilnrc');
  let lines = new Map<string, number>();
  if (structured) {
    try {
      lines = lineIndex(fs.readFileSync(file, 'utf8'));
    } catch {
      lines = new Map();
    }
  }
  const inPackageJson = path.basename(file) === 'package.json';
  return {
    value,
    label: file,
    originOf: (p) => {
      const key = inPackageJson ? ['kiln', ...p.map(String)].join('.') : formatPath(p);
      return { source: name, file, line: lines.get(key) };
    },
  };
}

function shippedPresets(): string[] {
  const index = resolveModule('@kiln/presets', __filename);
  if (!index) return [];
  const dir = path.join(path.dirname(index), 'presets');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort() : [];
}

function resolveModule(spec: string, fromFile: string): string | undefined {
  for (const base of [fromFile, __filename]) {
    try {
      return createRequire(base).resolve(spec);
    } catch {
      // try the next base
    }
  }
  return undefined;
}

async function loadExtends(spec: string, fromFile: string, cwd: string, where: string): Promise<Layer & { file: string }> {
  const isRelative = spec.startsWith('.') || path.isAbsolute(spec);
  if (isRelative) {
    const file = path.resolve(path.dirname(fromFile), spec);
    if (!fs.existsSync(file)) {
      throw new ConfigError(`extends '${spec}': no such file (${file})`, { where, hint: 'relative extends are resolved from the file that names them' });
    }
    return { ...(await loadFile(file, cwd)), file };
  }
  // A bare name (`image-classification`) is one of Kiln's shipped presets unless a package of that name exists.
  const file = resolveModule(spec, fromFile) ?? (/^[\w-]+$/.test(spec) ? resolveModule(`@kiln/presets/${spec}`, fromFile) : undefined);
  if (!file) {
    throw new ConfigError(`extends '${spec}': preset not found`, {
      where,
      hint: spec.startsWith('@kiln/presets') || /^[\w-]+$/.test(spec) ? `shipped presets: ${shippedPresets().join(', ')}` : `install the package that provides it (npm install ${spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/')})`,
    });
  }
  if (/\.(json|ya?ml)$/i.test(file)) return { ...(await loadFile(file, cwd)), file };
  let mod: unknown;
  try {
    mod = require(file);
  } catch (error) {
    wrapLoadError(error, file, cwd);
  }
  const value = (isPlainObject((mod as { default?: unknown }).default) ? (mod as { default: unknown }).default : mod) as Record<string, unknown>;
  if (!isPlainObject(value)) throw new ConfigError(`preset '${spec}' does not export a config object`, { where });
  return { value, file, label: spec, originOf: () => ({ source: spec, file }) };
}

/** Expands a layer's `extends` (depth first, in order), then the layer itself. */
async function expand(layer: Layer, file: string, chain: string[], cwd: string, out: Layer[]): Promise<void> {
  const ext = layer.value.extends;
  const specs = ext === undefined ? [] : Array.isArray(ext) ? ext : [ext];
  for (const [i, spec] of specs.entries()) {
    if (typeof spec !== 'string') {
      throw new ConfigError('extends entries must be strings', { where: `${layer.originOf(['extends'])?.source ?? file} extends` });
    }
    const at = layer.originOf(Array.isArray(ext) ? ['extends', i] : ['extends']);
    const where = `${at.line !== undefined ? `${at.source}:${at.line}` : at.source} extends`;
    const child = await loadExtends(spec, file, cwd, where);
    if (chain.includes(child.file)) {
      const cycle = [...chain, child.file].map((f) => displayName(f, cwd)).join(' → ');
      throw new ConfigError(`extends cycle: ${cycle}`, { where, hint: 'remove one of the extends entries so the chain ends' });
    }
    await expand(child, child.file, [...chain, child.file], cwd, out);
  }
  out.push(layer);
}

/**
 * Finds, loads, composes and validates a config: file (or presets) → extends, recursively →
 * inline → `--set` overrides → schema defaults. Every leaf remembers its origin.
 */
export async function resolveConfig(options: ResolveOptions = {}): Promise<ResolvedConfig> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const layers: Layer[] = [];
  let filepath: string | undefined;

  for (const preset of options.presets ?? []) {
    const virtual = path.join(cwd, '<--preset>');
    const root: Layer = { value: { extends: preset }, label: '--preset', originOf: () => ({ source: `--preset ${preset}` }) };
    await expand(root, virtual, [], cwd, layers);
  }

  if (options.configPath) {
    filepath = path.resolve(cwd, options.configPath);
  } else if (options.search !== false && !options.presets?.length) {
    try {
      const found = await explorer().search(cwd);
      filepath = found?.filepath;
    } catch (error) {
      const file = (error as { filepath?: string }).filepath ?? cwd;
      wrapLoadError(error, file, cwd);
    }
  }
  if (filepath) {
    const layer = await loadFile(filepath, cwd);
    await expand(layer, filepath, [filepath], cwd, layers);
  }
  if (options.inline) {
    const inlineFile = path.join(cwd, '<inline>');
    await expand({ value: options.inline, label: 'inline', originOf: () => ({ source: 'inline config' }) }, inlineFile, [], cwd, layers);
  }

  const origins = new OriginMap();
  const merged: Record<string, unknown> = {};
  for (const layer of layers) mergeLayer(merged, layer.value, layer.originOf, origins);

  for (const assignment of options.set ?? []) {
    const { path: p, value } = parseAssignment(assignment);
    origins.clear(p);
    setPath(merged, p, value);
    for (const leaf of leafPaths(value, p)) origins.set(leaf, { source: `--set ${assignment}` });
    if (!hasPath(merged, p)) throw new ConfigError(`--set could not place '${formatPath(p)}'`, { where: '--set' });
  }

  const parsed = KilnConfigSchema.safeParse(merged, { reportInput: true });
  if (!parsed.success) {
    throw describeIssues(parsed.error.issues, '', (p) => origins.describe(p), 'config', (p) => (p === '' ? Object.keys(KilnConfigSchema.shape) : undefined));
  }
  return {
    config: parsed.data,
    raw: merged,
    origins,
    filepath,
    sources: layers.map((l) => l.label),
    baseDir: filepath ? path.dirname(filepath) : cwd,
  };
}
