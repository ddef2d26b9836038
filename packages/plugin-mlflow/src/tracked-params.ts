import * as os from 'node:os';
import { execFileSync } from 'node:child_process';
import { flattenConfig, KILN_VERSION } from '@kiln/core';
import type { DatasetInfo, ParamValue } from '@kiln/core';

/** Config → MLflow params (dotted keys; arrays, null and empty objects as JSON): core's flattening. */
export const flattenParams: (config: unknown, prefix?: string) => Record<string, ParamValue> = flattenConfig;

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

/**
 * What the trained model expects of its data: the class names in label-index order
 * (`kiln.data.classes`, JSON) and the task, so `kiln retrain` can pin them when it reads new data.
 */
export function datasetTags(dataset: DatasetInfo | undefined): Record<string, string> {
  if (!dataset) return {};
  const tags: Record<string, string> = { 'kiln.data.task': dataset.task };
  const classes = dataset.classNames ? JSON.stringify(dataset.classNames) : undefined;
  if (classes && classes.length <= 5000) tags['kiln.data.classes'] = classes;
  return tags;
}
