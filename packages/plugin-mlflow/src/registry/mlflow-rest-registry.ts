import { UsageError } from '@kiln/core';
import { MlflowApiError, MlflowHttpClient } from '../rest/mlflow-http-client';
import { validateAlias, validateKey, validateModelName } from '../validation';
import type { ModelVersionInfo, PromoteMode, PromoteResult } from './mlflow-model-registry';

interface ModelVersionJson {
  name: string;
  version: string;
  source?: string;
  run_id?: string;
  current_stage?: string;
  creation_timestamp?: number;
  aliases?: string[];
  tags?: { key: string; value: string }[];
}

export interface MlflowRestRegistryOptions {
  /** `http(s)://host:port` of the tracking server (its registry). */
  uri: string;
  timeoutMs?: number;
  /** Environment the credentials are read from (MLFLOW_TRACKING_TOKEN, …); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * MLflow's model registry over REST (`registered-models/*`, `model-versions/*`,
 * `registered-models/alias`), with the same `promoteIfBetter` rule as the file-store registry.
 * Unlike the file store there is no lock: two concurrent promotions can both read the old champion.
 */
export class MlflowRestRegistry {
  readonly client: MlflowHttpClient;

  constructor(options: MlflowRestRegistryOptions) {
    if (!/^https?:\/\//.test(options.uri)) throw new UsageError(`'${options.uri}' is not an http(s) MLflow server URI`, { where: 'tracker.uri' });
    this.client = new MlflowHttpClient({ uri: options.uri, timeoutMs: options.timeoutMs ?? 10_000, env: options.env ?? process.env });
  }

  private static info(json: ModelVersionJson): ModelVersionInfo {
    return {
      name: json.name,
      version: Number(json.version),
      source: json.source ?? '',
      runId: json.run_id || null,
      currentStage: json.current_stage ?? 'None',
      creationTimestamp: Number(json.creation_timestamp ?? 0),
      aliases: json.aliases ?? [],
      tags: Object.fromEntries((json.tags ?? []).map((t) => [t.key, t.value])),
    };
  }

  /** Creates the registered model if needed and a new version pointing at `source`. */
  async registerModel(name: string, source: string, runId: string | null = null, tags: Record<string, string> = {}): Promise<ModelVersionInfo> {
    validateModelName(name);
    for (const key of Object.keys(tags)) validateKey('tag', key);
    try {
      await this.client.request('POST', '/api/2.0/mlflow/registered-models/create', { name });
    } catch (error) {
      if (!(error instanceof MlflowApiError && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
    }
    const created = await this.client.request<{ model_version: ModelVersionJson }>('POST', '/api/2.0/mlflow/model-versions/create', {
      name,
      source,
      ...(runId ? { run_id: runId } : {}),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    return MlflowRestRegistry.info(created.model_version);
  }

  async getVersion(name: string, version: number): Promise<ModelVersionInfo> {
    const got = await this.client.request<{ model_version: ModelVersionJson }>('GET', '/api/2.0/mlflow/model-versions/get', undefined, { name, version: String(version) });
    return MlflowRestRegistry.info(got.model_version);
  }

  async setVersionTag(name: string, version: number, key: string, value: string): Promise<void> {
    validateKey('tag', key);
    await this.client.request('POST', '/api/2.0/mlflow/model-versions/set-tag', { name, version: String(version), key, value });
  }

  /** The version an alias points at; undefined when the model or the alias does not exist. */
  async getAlias(name: string, alias: string): Promise<number | undefined> {
    validateAlias(alias);
    try {
      const got = await this.client.request<{ model_version: ModelVersionJson }>('GET', '/api/2.0/mlflow/registered-models/alias', undefined, { name, alias });
      return Number(got.model_version.version);
    } catch (error) {
      // MLflow answers a missing alias with INVALID_PARAMETER_VALUE (file backend) or RESOURCE_DOES_NOT_EXIST (SQL backend).
      if (error instanceof MlflowApiError && (error.errorCode === 'RESOURCE_DOES_NOT_EXIST' || error.errorCode === 'INVALID_PARAMETER_VALUE')) return undefined;
      throw error;
    }
  }

  async setAlias(name: string, alias: string, version: number): Promise<void> {
    validateAlias(alias);
    await this.client.request('POST', '/api/2.0/mlflow/registered-models/alias', { name, alias, version: String(version) });
  }

  /** Same rule as MlflowModelRegistry.promoteIfBetter: record `kiln.metric.<metric>`, move the alias only on a strict win. */
  async promoteIfBetter(name: string, version: number, metric: string, value: number, mode: PromoteMode = 'max', alias = 'champion'): Promise<PromoteResult> {
    validateAlias(alias);
    await this.setVersionTag(name, version, `kiln.metric.${metric}`, String(value));
    const previous = await this.getAlias(name, alias);
    let previousValue: number | undefined;
    if (previous !== undefined) {
      const recorded = (await this.getVersion(name, previous)).tags[`kiln.metric.${metric}`];
      previousValue = recorded === undefined ? undefined : Number(recorded);
    }
    const beats =
      !Number.isNaN(value) &&
      (previous === undefined || previousValue === undefined || Number.isNaN(previousValue) || (mode === 'max' ? value > previousValue : value < previousValue));
    if (beats && previous !== version) await this.setAlias(name, alias, version);
    return { promoted: beats && previous !== version, alias, champion: beats ? version : previous, previous, previousValue };
  }
}
