import { KilnError } from '@kiln/core';

/** The server answered with an error that retrying will not fix (4xx other than 429). */
export class MlflowApiError extends KilnError {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    where: string,
  ) {
    super('E_MLFLOW', `MLflow server rejected the request: ${errorCode}: ${message}`, {
      where,
      hint:
        errorCode === 'INVALID_PARAMETER_VALUE'
          ? 'fix the logged name or value (MLflow limits: names [\\w ./-], param values ≤ 6000 chars, params immutable)'
          : errorCode === 'RESOURCE_DOES_NOT_EXIST'
            ? 'check the run id / experiment name against the server (`kiln runs`)'
            : status === 401 || status === 403
              ? 'set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD'
              : 'see the MLflow server log',
    });
  }
}

/** The server could not be reached, or answered 5xx/429: worth retrying later. */
export class MlflowUnavailableError extends Error {}

export interface HttpClientOptions {
  uri: string;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
}

/** Authorization as MLflow's own client reads it from the environment. */
export function authorizationHeader(env: NodeJS.ProcessEnv): string | undefined {
  if (env.MLFLOW_TRACKING_TOKEN) return `Bearer ${env.MLFLOW_TRACKING_TOKEN}`;
  if (env.MLFLOW_TRACKING_USERNAME && env.MLFLOW_TRACKING_PASSWORD !== undefined) {
    return `Basic ${Buffer.from(`${env.MLFLOW_TRACKING_USERNAME}:${env.MLFLOW_TRACKING_PASSWORD}`).toString('base64')}`;
  }
  return undefined;
}

/** JSON over MLflow's REST API 2.0, on Node's built-in fetch. */
export class MlflowHttpClient {
  readonly base: string;
  private readonly auth?: string;

  constructor(private readonly options: HttpClientOptions) {
    this.base = options.uri.replace(/\/+$/, '');
    this.auth = authorizationHeader(options.env);
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT', route: string, body?: unknown, query?: Record<string, string>): Promise<T> {
    const text = (await this.send(method, route, body, query)).toString('utf8');
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** The raw bytes of a GET (an artifact through the server's artifact proxy). */
  async download(route: string): Promise<Buffer> {
    return this.send('GET', route);
  }

  private async send(method: 'GET' | 'POST' | 'PUT', route: string, body?: unknown, query?: Record<string, string>): Promise<Buffer> {
    const url = new URL(`${this.base}${route}`);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = {};
    if (this.auth) headers.authorization = this.auth;
    let payload: string | Buffer | undefined;
    if (Buffer.isBuffer(body)) {
      payload = body;
      headers['content-type'] = 'application/octet-stream';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    let response: Response;
    let bytes: Buffer;
    try {
      response = await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(this.options.timeoutMs) });
      bytes = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new MlflowUnavailableError(`${method} ${url.pathname}: ${cause}`);
    }
    if (response.ok) return bytes;
    if (response.status >= 500 || response.status === 429) {
      throw new MlflowUnavailableError(`${method} ${url.pathname}: HTTP ${response.status}`);
    }
    const text = bytes.toString('utf8');
    let errorCode = `HTTP_${response.status}`;
    let message = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { error_code?: string; message?: string };
      errorCode = parsed.error_code ?? errorCode;
      message = parsed.message ?? message;
    } catch {
      // not JSON: keep the raw text
    }
    throw new MlflowApiError(response.status, errorCode, message, `${method} ${url.pathname}`);
  }
}
