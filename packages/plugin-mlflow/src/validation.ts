import * as path from 'node:path';
import { DataError, UsageError } from '@kiln/core';

/** Limits of MLflow's `mlflow/utils/validation.py`, so a run Kiln accepts is one MLflow accepts. */
export const MLFLOW_LIMITS = {
  maxParamValueLength: 6000,
  maxTagValueLength: 5000,
  maxKeyLength: 250,
  maxExperimentNameLength: 500,
  maxMetricsPerBatch: 1000,
  maxParamsPerBatch: 100,
  maxTagsPerBatch: 100,
  maxEntitiesPerBatch: 1000,
} as const;

const VALID_NAME = /^[/\w.\- ]*$/;
const VALID_RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;
const VALID_ALIAS = /^[\w-]*$/;

export type EntityKind = 'param' | 'metric' | 'tag';

/** Same rule as MLflow's `_validate_param_name` / `_validate_metric_name` / `_validate_tag_name`. */
export function validateKey(kind: EntityKind, key: string, where?: string): void {
  const hint = 'MLflow names may only contain alphanumerics, underscores, dashes, periods, spaces and slashes, and must not be paths like "a//b", "./a" or "/a"';
  if (typeof key !== 'string' || key.length === 0) {
    throw new DataError(`empty ${kind} name`, { where, hint });
  }
  if (!VALID_NAME.test(key)) {
    throw new DataError(`invalid ${kind} name '${key}'`, { where, hint });
  }
  const norm = path.posix.normalize(key);
  if (norm !== key || norm === '.' || norm.startsWith('..') || norm.startsWith('/')) {
    throw new DataError(`invalid ${kind} name '${key}': it would resolve to the file '${norm}'`, { where, hint });
  }
  if (key.length > MLFLOW_LIMITS.maxKeyLength) {
    throw new DataError(`${kind} name '${key.slice(0, 40)}…' has ${key.length} characters, over MLflow's limit of ${MLFLOW_LIMITS.maxKeyLength}`, { where, hint: 'shorten the name' });
  }
}

export function validateParamValue(key: string, value: string, where?: string): void {
  if (value.length > MLFLOW_LIMITS.maxParamValueLength) {
    throw new DataError(
      `param '${key}' has a value of ${value.length} characters, over MLflow's limit of ${MLFLOW_LIMITS.maxParamValueLength}`,
      { where, hint: 'log long values (a whole config, a vocabulary) as an artifact with logArtifact() instead of a param' },
    );
  }
}

export function validateTagValue(key: string, value: string, where?: string): void {
  if (value.length > MLFLOW_LIMITS.maxTagValueLength) {
    throw new DataError(
      `tag '${key}' has a value of ${value.length} characters, over MLflow's limit of ${MLFLOW_LIMITS.maxTagValueLength}`,
      { where, hint: 'log long values as an artifact with logArtifact() instead of a tag' },
    );
  }
}

export function validateRunId(runId: string, where?: string): void {
  if (!VALID_RUN_ID.test(runId)) {
    throw new UsageError(`invalid MLflow run id '${runId}'`, { where, hint: 'run ids are 32 hex characters, as printed by `kiln runs`' });
  }
}

export function validateStep(step: number, where?: string): void {
  if (!Number.isSafeInteger(step)) {
    throw new DataError(`metric step ${step} is not an integer`, { where, hint: 'pass the global step or epoch number as an integer' });
  }
}

/** MLflow's `_validate_model_alias_name`. */
export function validateAlias(alias: string): void {
  const hint = 'aliases may only contain alphanumerics, underscores and dashes; "latest" and "v<number>" are reserved';
  if (!alias || !VALID_ALIAS.test(alias) || alias.length > 255 || alias.toLowerCase() === 'latest' || /^[vV]\d+$/.test(alias)) {
    throw new UsageError(`invalid model alias '${alias}'`, { hint });
  }
}

/** MLflow's registered-model name rule: non-empty, no path separator, no '%'. */
export function validateModelName(name: string): void {
  if (!name || /[/\\%]/.test(name) || name === '.' || name === '..') {
    throw new UsageError(`invalid registered model name '${name}'`, { hint: 'model names must be non-empty and contain no "/", "\\" or "%"' });
  }
}

/** How Python's `repr(float)` writes non-finite values, which MLflow's `float()` reads back. */
export function formatMetricValue(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return String(value);
}

export function paramToString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? 'null';
}
