import * as os from 'node:os';
import { execFileSync } from 'node:child_process';
import { KILN_VERSION } from '@kiln/core';
import type { ParamValue } from '@kiln/core';

/**
 * Flattens a config into MLflow params: nested objects become dotted keys
 * (`optimizer.lr`), arrays become their JSON text, null becomes "null".
 */
export function flattenParams(config: unknown, prefix = ''): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  const visit = (value: unknown, key: string): void => {
    if (value === undefined || typeof value === 'function') return;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0 && key) out[key] = '{}';
      for (const [k, v] of entries) visit(v, key ? `${key}.${k}` : k);
      return;
    }
    if (!key) return;
    if (Array.isArray(value) || value === null) out[key] = JSON.stringify(value);
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
    else out[key] = String(value);
  };
  visit(config, prefix);
  return out;
}

/** The git commit of `cwd`, or undefined outside a git work tree (or without git). */
export function gitCommit(cwd: string = process.cwd()): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface SystemTagOptions {
  cwd?: string;
  /** Tensor backend name (`wasm`, `tensorflow`, `cpu`). */
  backend?: string;
  /** Entry script, for `mlflow.source.name`; defaults to the process's main script. */
  sourceName?: string;
}

/** Tags MLflow's own clients set (`mlflow.user`, `mlflow.source.*`), plus Kiln's (`kiln.version`, `kiln.backend`, `kiln.host`). */
export function systemTags(options: SystemTagOptions = {}): Record<string, string> {
  const tags: Record<string, string> = {
    'mlflow.user': safeUser(),
    'mlflow.source.name': options.sourceName ?? process.argv[1] ?? 'kiln',
    'mlflow.source.type': 'LOCAL',
    'kiln.version': KILN_VERSION,
    'kiln.host': os.hostname(),
    'kiln.node': process.version,
  };
  const commit = gitCommit(options.cwd);
  if (commit) tags['mlflow.source.git.commit'] = commit;
  if (options.backend) tags['kiln.backend'] = options.backend;
  return tags;
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
