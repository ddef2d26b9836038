import * as fs from 'node:fs';
import * as path from 'node:path';
// A different YAML library than the writer's (`yaml`), so a quirk of one does not hide in both.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jsYaml = require('js-yaml') as { load(text: string): unknown };

/**
 * Reads an mlruns/ folder by MLflow's documented file-store layout only:
 * <root>/<experiment_id>/meta.yaml, <root>/<experiment_id>/<run_id>/{meta.yaml,params,metrics,tags,artifacts}.
 */
export interface ReadRun {
  meta: Record<string, unknown>;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, { timestamp: number; value: number; step: number }[]>;
  artifacts: string[];
}

function walk(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    return fs.statSync(full).isDirectory() ? walk(full, rel) : [rel];
  });
}

export function readYamlFile(file: string): Record<string, unknown> {
  return jsYaml.load(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

export function readExperiments(root: string): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of fs.readdirSync(root)) {
    if (name === '.trash' || name === 'models') continue;
    const meta = path.join(root, name, 'meta.yaml');
    if (fs.existsSync(meta)) out[name] = readYamlFile(meta);
  }
  return out;
}

export function readRunFolder(runDir: string): ReadRun {
  const files = (sub: string) => Object.fromEntries(walk(path.join(runDir, sub)).map((rel) => [rel, fs.readFileSync(path.join(runDir, sub, rel), 'utf8')]));
  const metrics: ReadRun['metrics'] = {};
  for (const [key, text] of Object.entries(files('metrics'))) {
    metrics[key] = text
      .split('\n')
      .filter((l) => l !== '')
      .map((line) => {
        const [ts, value, step] = line.split(' ');
        if (step === undefined || line.split(' ').length !== 3) throw new Error(`bad metric line '${line}' in ${key}`);
        return { timestamp: parseInt(ts, 10), value: value === 'nan' ? NaN : value === 'inf' ? Infinity : value === '-inf' ? -Infinity : parseFloat(value), step: parseInt(step, 10) };
      });
  }
  return { meta: readYamlFile(path.join(runDir, 'meta.yaml')), params: files('params'), tags: files('tags'), metrics, artifacts: walk(path.join(runDir, 'artifacts')).sort() };
}

export interface ReadModelVersion {
  meta: Record<string, unknown>;
  tags: Record<string, string>;
  aliases: string[];
}

/**
 * The model registry by MLflow's file-store layout: models/<name>/meta.yaml,
 * models/<name>/version-<N>/{meta.yaml,tags/}, models/<name>/aliases/<alias> holding the version number.
 */
export function readRegistry(root: string): Record<string, { meta: Record<string, unknown>; aliases: Record<string, number>; versions: Record<number, ReadModelVersion> }> {
  const modelsDir = path.join(root, 'models');
  const out: ReturnType<typeof readRegistry> = {};
  if (!fs.existsSync(modelsDir)) return out;
  for (const name of fs.readdirSync(modelsDir)) {
    const modelDir = path.join(modelsDir, name);
    const aliases: Record<string, number> = {};
    for (const alias of walk(path.join(modelDir, 'aliases'))) aliases[alias] = parseInt(fs.readFileSync(path.join(modelDir, 'aliases', alias), 'utf8'), 10);
    const versions: Record<number, ReadModelVersion> = {};
    for (const entry of fs.readdirSync(modelDir)) {
      const match = /^version-(\d+)$/.exec(entry);
      if (!match) continue;
      const meta = readYamlFile(path.join(modelDir, entry, 'meta.yaml'));
      const tags = Object.fromEntries(walk(path.join(modelDir, entry, 'tags')).map((rel) => [rel, fs.readFileSync(path.join(modelDir, entry, 'tags', rel), 'utf8')]));
      const version = Number(match[1]);
      versions[version] = { meta, tags, aliases: Object.keys(aliases).filter((a) => aliases[a] === version).sort() };
    }
    out[name] = { meta: readYamlFile(path.join(modelDir, 'meta.yaml')), aliases, versions };
  }
  return out;
}
