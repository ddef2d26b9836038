import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small MLflow tracking server implementing the documented REST API 2.0 endpoints Kiln uses, with
 * MLflow's validation rules (names, value lengths, batch limits, immutable params, run existence).
 * Written from the API docs, not from the tracker's code.
 */
interface FakeRun {
  runId: string;
  experimentId: string;
  runName: string;
  status: string;
  startTime: number;
  endTime?: number;
  params: Map<string, string>;
  tags: Map<string, string>;
  metrics: { key: string; value: number | string; timestamp: number; step: number }[];
}

const NAME = /^[/\w.\- ]*$/;

class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function checkName(kind: string, key: unknown): void {
  if (typeof key !== 'string' || key === '') throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Missing value for required parameter '${kind} key'`);
  const parts = key.split('/');
  if (!NAME.test(key) || key.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Invalid ${kind} name: '${key}'`);
  }
  if (key.length > 250) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `${kind} key had length ${key.length}, which exceeded length limit of 250`);
}

interface FakeModel {
  name: string;
  versions: Map<number, { version: number; source: string; runId?: string; tags: Map<string, string>; created: number }>;
  aliases: Map<string, number>;
}

export class FakeMlflowServer {
  readonly models = new Map<string, FakeModel>();
  readonly experiments = new Map<string, { id: string; name: string }>([['0', { id: '0', name: 'Default' }]]);
  readonly runs = new Map<string, FakeRun>();
  readonly artifacts = new Map<string, Buffer>();
  readonly requests: { method: string; path: string; body: unknown; auth?: string }[] = [];
  private server: http.Server;
  port = 0;
  private nextId = 1;
  /** When set, every request must carry exactly this Authorization header. */
  requiredAuth?: string;

  constructor() {
    this.server = this.makeServer();
  }

  private makeServer(): http.Server {
    return http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const url = new URL(req.url ?? '/', 'http://x');
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        try {
          if (this.requiredAuth !== undefined && req.headers.authorization !== this.requiredAuth) throw new ApiError(401, 'UNAUTHENTICATED', 'bad credentials');
          const isArtifact = url.pathname.startsWith('/api/2.0/mlflow-artifacts/artifacts/');
          const body = isArtifact || raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
          this.requests.push({ method: req.method ?? '', path: url.pathname, body: isArtifact ? raw.length : body, auth: req.headers.authorization });
          if (isArtifact && req.method === 'PUT') {
            this.artifacts.set(decodeURIComponent(url.pathname.slice('/api/2.0/mlflow-artifacts/artifacts/'.length)), raw);
            return send(200, {});
          }
          if (isArtifact && req.method === 'GET') {
            const stored = this.artifacts.get(decodeURIComponent(url.pathname.slice('/api/2.0/mlflow-artifacts/artifacts/'.length)));
            if (!stored) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `File not found: ${url.pathname}`);
            res.writeHead(200, { 'content-type': 'application/octet-stream' });
            return res.end(stored);
          }
          send(200, this.handle(req.method ?? 'GET', url, body as Record<string, unknown>));
        } catch (error) {
          if (error instanceof ApiError) send(error.status, { error_code: error.code, message: error.message });
          else send(500, { error_code: 'INTERNAL_ERROR', message: String(error) });
        }
      });
    });
  }

  private run(runId: unknown): FakeRun {
    const run = typeof runId === 'string' ? this.runs.get(runId) : undefined;
    if (!run) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Run '${String(runId)}' not found`);
    return run;
  }

  private model(name: unknown): FakeModel {
    const model = typeof name === 'string' ? this.models.get(name) : undefined;
    if (!model) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${String(name)} not found`);
    return model;
  }

  /** Versions travel as strings in MLflow's API ("1"). */
  private versionNumber(value: unknown): number {
    if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Parameter 'version' must be an integer, got '${String(value)}'.`);
    return Number(value);
  }

  private versionJson(model: FakeModel, version: number) {
    const v = model.versions.get(version);
    if (!v) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${model.name}, version=${version}) not found`);
    return {
      name: model.name, version: String(version), source: v.source, run_id: v.runId, current_stage: 'None', status: 'READY', creation_timestamp: v.created,
      aliases: [...model.aliases].filter(([, n]) => n === version).map(([a]) => a),
      tags: [...v.tags].map(([key, value]) => ({ key, value })),
    };
  }

  private runJson(run: FakeRun) {
    return {
      info: {
        run_id: run.runId, run_uuid: run.runId, run_name: run.runName, experiment_id: run.experimentId, status: run.status,
        start_time: run.startTime, end_time: run.endTime, artifact_uri: `mlflow-artifacts:/${run.experimentId}/${run.runId}/artifacts`, lifecycle_stage: 'active',
      },
      data: { params: [...run.params].map(([key, value]) => ({ key, value })), tags: [...run.tags].map(([key, value]) => ({ key, value })) },
    };
  }

  private handle(method: string, url: URL, body: Record<string, unknown>): unknown {
    const route = `${method} ${url.pathname}`;
    switch (route) {
      case 'POST /api/2.0/mlflow/registered-models/create': {
        const name = body.name;
        if (typeof name !== 'string' || name === '') throw new ApiError(400, 'INVALID_PARAMETER_VALUE', "Missing value for required parameter 'name'.");
        if (this.models.has(name)) throw new ApiError(400, 'RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
        this.models.set(name, { name, versions: new Map(), aliases: new Map() });
        return { registered_model: { name } };
      }
      case 'POST /api/2.0/mlflow/model-versions/create': {
        const model = this.model(body.name);
        if (typeof body.source !== 'string' || body.source === '') throw new ApiError(400, 'INVALID_PARAMETER_VALUE', "Missing value for required parameter 'source'.");
        if (body.run_id !== undefined) this.run(body.run_id);
        const version = Math.max(0, ...model.versions.keys()) + 1;
        const tags = new Map<string, string>();
        for (const t of (body.tags as { key: string; value: string }[]) ?? []) {
          checkName('tag', t.key);
          tags.set(t.key, t.value);
        }
        model.versions.set(version, { version, source: body.source, runId: body.run_id as string | undefined, tags, created: Date.now() });
        return { model_version: this.versionJson(model, version) };
      }
      case 'GET /api/2.0/mlflow/model-versions/get':
        return { model_version: this.versionJson(this.model(url.searchParams.get('name')), this.versionNumber(url.searchParams.get('version'))) };
      case 'POST /api/2.0/mlflow/model-versions/set-tag': {
        const model = this.model(body.name);
        const version = this.versionNumber(body.version);
        this.versionJson(model, version);
        checkName('tag', body.key);
        model.versions.get(version)!.tags.set(String(body.key), String(body.value));
        return {};
      }
      case 'POST /api/2.0/mlflow/registered-models/alias': {
        const model = this.model(body.name);
        const alias = String(body.alias ?? '');
        if (!/^[\w-]+$/.test(alias) || alias.toLowerCase() === 'latest' || /^v\d+$/i.test(alias)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Invalid alias name: '${alias}'`);
        const version = this.versionNumber(body.version);
        this.versionJson(model, version);
        model.aliases.set(alias, version);
        return {};
      }
      case 'GET /api/2.0/mlflow/registered-models/alias': {
        const model = this.model(url.searchParams.get('name'));
        const version = model.aliases.get(url.searchParams.get('alias') ?? '');
        if (version === undefined) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Registered model alias ${url.searchParams.get('alias')} not found.`);
        return { model_version: this.versionJson(model, version) };
      }
      case 'GET /api/2.0/mlflow/experiments/get-by-name': {
        const name = url.searchParams.get('experiment_name');
        const found = [...this.experiments.values()].find((e) => e.name === name);
        if (!found) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${name}'`);
        return { experiment: { experiment_id: found.id, name: found.name, lifecycle_stage: 'active' } };
      }
      case 'POST /api/2.0/mlflow/experiments/create': {
        const name = body.name;
        if (typeof name !== 'string' || name === '') throw new ApiError(400, 'INVALID_PARAMETER_VALUE', 'Invalid experiment name');
        if ([...this.experiments.values()].some((e) => e.name === name)) throw new ApiError(400, 'RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
        const id = String(100 + this.nextId++);
        this.experiments.set(id, { id, name });
        return { experiment_id: id };
      }
      case 'POST /api/2.0/mlflow/runs/create': {
        const experimentId = String(body.experiment_id ?? '0');
        if (!this.experiments.has(experimentId)) throw new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `No experiment ${experimentId}`);
        const runId = `run${String(this.nextId++).padStart(29, '0')}`;
        const tags = new Map<string, string>();
        for (const t of (body.tags as { key: string; value: string }[]) ?? []) {
          checkName('tag', t.key);
          tags.set(t.key, t.value);
        }
        const runName = (body.run_name as string) || tags.get('mlflow.runName') || `fake-${runId.slice(-4)}`;
        tags.set('mlflow.runName', runName);
        const run: FakeRun = { runId, experimentId, runName, status: 'RUNNING', startTime: Number(body.start_time), params: new Map(), tags, metrics: [] };
        this.runs.set(runId, run);
        return { run: this.runJson(run) };
      }
      case 'GET /api/2.0/mlflow/runs/get':
        return { run: this.runJson(this.run(url.searchParams.get('run_id'))) };
      case 'POST /api/2.0/mlflow/runs/update': {
        const run = this.run(body.run_id);
        if (!['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(String(body.status))) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `bad status ${String(body.status)}`);
        run.status = String(body.status);
        run.endTime = Number(body.end_time);
        return { run_info: this.runJson(run).info };
      }
      case 'POST /api/2.0/mlflow/runs/set-tag': {
        const run = this.run(body.run_id);
        checkName('tag', body.key);
        run.tags.set(String(body.key), String(body.value));
        return {};
      }
      case 'POST /api/2.0/mlflow/runs/log-batch': {
        const run = this.run(body.run_id);
        const metrics = (body.metrics as FakeRun['metrics']) ?? [];
        const params = (body.params as { key: string; value: string }[]) ?? [];
        const tags = (body.tags as { key: string; value: string }[]) ?? [];
        const limit = (what: string, n: number, max: number) => {
          if (n > max) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `A batch logging request can contain at most ${max} ${what}. Got ${n} ${what}.`);
        };
        limit('metrics', metrics.length, 1000);
        limit('params', params.length, 100);
        limit('tags', tags.length, 100);
        limit('metrics, params, and tags', metrics.length + params.length + tags.length, 1000);
        for (const m of metrics) {
          checkName('metric', m.key);
          const ok = typeof m.value === 'number' || ['NaN', 'Infinity', '-Infinity'].includes(String(m.value));
          if (!ok || !Number.isInteger(m.timestamp) || !Number.isInteger(m.step)) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Got invalid value ${String(m.value)} for metric '${m.key}'`);
        }
        for (const p of params) {
          checkName('param', p.key);
          if (p.value.length > 6000) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Param value had length ${p.value.length}, which exceeded length limit of 6000`);
          const old = run.params.get(p.key);
          if (old !== undefined && old !== p.value) throw new ApiError(400, 'INVALID_PARAMETER_VALUE', `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${old}'`);
        }
        for (const t of tags) checkName('tag', t.key);
        for (const p of params) run.params.set(p.key, p.value);
        for (const t of tags) run.tags.set(t.key, t.value);
        run.metrics.push(...metrics);
        return {};
      }
      default:
        throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `no route ${route}`);
    }
  }

  async start(port = 0): Promise<void> {
    if (this.server.listening) return;
    this.server = this.makeServer();
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Goes down (refusing connections) until `start(this.port)` again. */
  async stop(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get uri(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}
