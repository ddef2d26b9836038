import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { KilnError, type InputSpec } from '@kiln/core';
import type { InputArray, Predictor } from '../predict/predictor';
import { decodeImageBytes, encodeRecord, imagePreprocessing, preprocessImage } from '../predict/inputs';
import { postprocess } from '../predict/postprocess';
import { textOf, type EncodedText } from '../predict/text';
import { ServedModel, type ReloadEvent } from './served-model';

export interface ServeOptions {
  host: string;
  port: number;
  /** Largest accepted request body in bytes (413 above). */
  bodyLimit: number;
  /** Largest number of instances in one request (400 above). */
  maxInstances: number;
  batching: boolean;
  maxBatch: number;
  /**
   * How long a request may wait for others before its batch runs. 0 (default): run at once when the
   * model is idle; requests arriving while it runs share the next batch (no added latency when idle).
   */
  maxWaitMs: number;
  /** A prediction not answered within this many ms gets a 503. */
  timeoutMs: number;
}

export const DEFAULT_SERVE_OPTIONS: ServeOptions = { host: '127.0.0.1', port: 8080, bodyLimit: 10 * 1024 * 1024, maxInstances: 1024, batching: true, maxBatch: 32, maxWaitMs: 0, timeoutMs: 30_000 };

class HttpError extends Error {
  constructor(readonly statusCode: number, message: string, readonly hint?: string) {
    super(message);
  }
}

const SERVED = new WeakMap<FastifyInstance, Map<string, ServedModel>>();

/** The served model `name` of a server made by createServer (to hot-reload it). */
export function servedModel(app: FastifyInstance, name: string): ServedModel {
  const m = SERVED.get(app)?.get(name);
  if (!m) throw new Error(`no served model "${name}"`);
  return m;
}

function signature(p: Predictor): Record<string, unknown> {
  return {
    inputs: p.card.inputs,
    outputs:
      p.card.task === 'classification'
        ? { label: 'string', scores: p.card.classNames ?? [] }
        : p.card.task === 'token-classification' && p.text
          ? { entities: '{ label, text, start, end, score }[]', words: '{ text, tag, score, start, end }[]', tags: p.card.classNames ?? [] }
          : { values: 'number[]' },
    text: p.text ? { instance: '{ "text": string, "text_pair"?: string }', maxLength: p.text.maxLength } : undefined,
    image: imagePreprocessing(p.card.preprocessing) ? { size: imagePreprocessing(p.card.preprocessing)!.size, channels: imagePreprocessing(p.card.preprocessing)!.channels } : undefined,
  };
}

/** Nested numeric arrays → values and their shape; throws HttpError on ragged or non-numeric data. */
function shapeOf(value: unknown, where: string, depth = 0): number[] {
  if (depth > 8) throw new HttpError(400, `${where}: arrays nested deeper than 8 levels`);
  if (!Array.isArray(value)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new HttpError(400, `${where}: expected a number, got ${JSON.stringify(value)?.slice(0, 40)}`);
    return [];
  }
  if (value.length === 0) return [0];
  const inner = shapeOf(value[0], `${where}[0]`, depth + 1);
  for (let i = 1; i < value.length; i++) {
    if (shapeOf(value[i], `${where}[${i}]`, depth + 1).join(',') !== inner.join(',')) throw new HttpError(400, `${where}: ragged array (row ${i} differs from row 0)`);
  }
  return [value.length, ...inner];
}

function checkShape(value: unknown, spec: InputSpec, where: string): void {
  const shape = shapeOf(value, where);
  const flat = shape.reduce((a, b) => a * b, 1);
  const want = spec.shape.reduce((a, b) => a * b, 1);
  // Either the exact per-example shape or a flat vector of the same size.
  if (shape.join(',') !== spec.shape.join(',') && !(shape.length === 1 && flat === want)) {
    throw new HttpError(400, `${where}: input "${spec.name}" must have shape [${spec.shape}], got [${shape}]`);
  }
}

/** One instance of a request → model inputs (numeric arrays, `{ b64 }` images, `{ text }` or named inputs). */
function encodeInstance(p: Predictor, value: unknown, index: number): { inputs: InputArray[]; text?: EncodedText } {
  const where = `instances[${index}]`;
  if (p.text) {
    const t = textOf(value);
    if (!t) throw new HttpError(400, `${where}: this text model takes { "text": "…" } (optionally "text_pair") or a string`);
    try {
      const { inputs, encoded } = p.text.encode(t.text, t.pair, p.inputs);
      return { inputs: p.inputs.map((s) => inputs[s.name]), text: encoded };
    } catch (error) {
      throw new HttpError(400, `${where}: ${(error as Error).message}`);
    }
  }
  const image = imagePreprocessing(p.card.preprocessing);
  const b64 = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { b64?: unknown }).b64 : undefined;
  if (b64 !== undefined) {
    if (!image) throw new HttpError(400, `${where}: this model does not take images`);
    if (typeof b64 !== 'string') throw new HttpError(400, `${where}.b64 must be a base64 string`);
    try {
      return { inputs: [preprocessImage(decodeImageBytes(Buffer.from(b64, 'base64'), `${where}.b64`), image)] };
    } catch (error) {
      throw new HttpError(400, `${where}.b64: ${(error as Error).message}`, 'send a base64-encoded PNG or JPEG');
    }
  }
  if (Array.isArray(value)) {
    if (p.inputs.length !== 1) throw new HttpError(400, `${where}: the model has ${p.inputs.length} inputs; send an object keyed by ${p.inputs.map((s) => s.name).join(', ')}`);
    checkShape(value, p.inputs[0], where);
  } else if (typeof value === 'object' && value !== null) {
    for (const spec of p.inputs) if (spec.name in value) checkShape((value as Record<string, unknown>)[spec.name], spec, `${where}.${spec.name}`);
  } else {
    throw new HttpError(400, `${where}: expected an array of numbers, an object of inputs, or { "b64": … }`);
  }
  try {
    const inputs = encodeRecord(value, p.inputs, p.card.preprocessing, where);
    return { inputs: p.inputs.map((s) => inputs[s.name]) };
  } catch (error) {
    throw new HttpError(400, (error as Error).message);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new HttpError(503, `prediction timed out after ${ms} ms`, 'the server is overloaded; retry later')), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

function isMultipart(body: unknown): body is { multipart: FormData } {
  return typeof body === 'object' && body !== null && 'multipart' in body;
}

/**
 * A multipart form as a JSON body: every file part is an image instance (`{ b64 }`), in order; a field
 * `instances` holds a JSON array of instances, a field `text` one text instance.
 */
async function instancesOfForm(form: FormData): Promise<{ instances: unknown[] }> {
  const instances: unknown[] = [];
  for (const [name, value] of form.entries()) {
    if (typeof value !== 'string') {
      instances.push({ b64: Buffer.from(await value.arrayBuffer()).toString('base64') });
    } else if (name === 'instances') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch (error) {
        throw new HttpError(400, `multipart field "instances" is not JSON: ${(error as Error).message}`);
      }
      if (!Array.isArray(parsed)) throw new HttpError(400, 'multipart field "instances" must be a JSON array');
      instances.push(...parsed);
    } else if (name === 'text') {
      instances.push({ text: value });
    } else {
      throw new HttpError(400, `unexpected multipart field "${name}"`, 'send image files, or fields "instances" (JSON array) or "text"');
    }
  }
  return { instances };
}

/** Fastify app serving predictors under /v1/models/:name, with dynamic batching and Prometheus metrics. */
export function createServer(predictors: Predictor[], options: Partial<ServeOptions> = {}): FastifyInstance {
  const opts = { ...DEFAULT_SERVE_OPTIONS, ...options };
  const app = Fastify({ bodyLimit: opts.bodyLimit, requestTimeout: opts.timeoutMs + 5_000, logger: false });
  const registry = new Registry();
  const requests = new Counter({ name: 'kiln_requests_total', help: 'HTTP requests by route and status code.', labelNames: ['route', 'code'], registers: [registry] });
  const latency = new Histogram({ name: 'kiln_request_duration_seconds', help: 'Request latency in seconds.', labelNames: ['route'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] });
  const batchSizes = new Histogram({ name: 'kiln_batch_size', help: 'Rows per model invocation.', labelNames: ['model', 'version'], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [registry] });
  const predictionsTotal = new Counter({ name: 'kiln_predictions_total', help: 'Predicted rows by model version.', labelNames: ['model', 'version'], registers: [registry] });
  const reloads = new Counter({ name: 'kiln_model_reloads_total', help: 'Hot reloads by outcome (swapped, refused).', labelNames: ['model', 'outcome'], registers: [registry] });
  const models = new Map<string, ServedModel>();
  new Gauge({
    name: 'kiln_model_info',
    help: 'The version each model is serving (value 1).',
    labelNames: ['model', 'version', 'runtime'],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of models.values()) this.set({ model: m.name, version: m.predictor.version, runtime: m.predictor.runtime }, 1);
    },
  });
  for (const predictor of predictors) {
    const served = new ServedModel(predictor, {
      maxBatch: opts.batching ? opts.maxBatch : 1,
      maxWaitMs: opts.batching ? opts.maxWaitMs : 0,
      onBatch: (n, p) => {
        batchSizes.observe({ model: p.name, version: p.version }, n);
        predictionsTotal.inc({ model: p.name, version: p.version }, n);
      },
    });
    served.on('reload', (event: ReloadEvent) => reloads.inc({ model: event.model, outcome: event.outcome }));
    models.set(predictor.name, served);
  }
  SERVED.set(app, models);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    requests.inc({ route, code: String(reply.statusCode) });
    latency.observe({ route }, reply.elapsedTime / 1000);
  });

  // multipart/form-data: parsed by Node's own fetch implementation (undici's Response.formData), no extra dependency.
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: opts.bodyLimit }, async (request: { headers: Record<string, unknown> }, body: Buffer) => {
    try {
      return { multipart: await new Response(body, { headers: { 'content-type': String(request.headers['content-type']) } }).formData() };
    } catch (error) {
      throw new HttpError(400, `malformed multipart body: ${(error as Error).message}`, 'send multipart/form-data with image files (any field name), or fields "instances" (JSON) or "text"');
    }
  });

  app.setErrorHandler((error: FastifyError | HttpError, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    let message = error.message;
    if ((error as FastifyError).code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) message = `malformed JSON body: ${error.message}`;
    if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body larger than ${opts.bodyLimit} bytes`;
    const hint = error instanceof HttpError ? error.hint : KilnError.is(error) ? error.hint : undefined;
    void reply.status(status).send({ error: message, ...(hint ? { hint } : {}) });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: `no route ${request.method} ${request.url}`, hint: 'routes: GET /healthz, GET /metrics, GET /v1/models, POST /v1/models/:name/predict' });
  });

  app.get('/healthz', async () => ({ status: 'ok', models: [...models.keys()] }));
  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  app.get('/v1/models', async () => ({
    models: [...models.values()].map(({ predictor: p }) => ({ name: p.name, version: p.version, runtime: p.runtime, task: p.card.task, signature: signature(p) })),
  }));
  app.get<{ Params: { name: string } }>('/v1/models/:name', async (request) => {
    const m = models.get(request.params.name);
    if (!m) throw new HttpError(404, `unknown model "${request.params.name}"`, `served models: ${[...models.keys()].join(', ')}`);
    return { name: m.predictor.name, version: m.predictor.version, signature: signature(m.predictor) };
  });
  app.post<{ Params: { name: string }; Body: unknown }>('/v1/models/:name/predict', async (request) => {
    const m = models.get(request.params.name);
    if (!m) throw new HttpError(404, `unknown model "${request.params.name}"`, `served models: ${[...models.keys()].join(', ')}`);
    const body = (isMultipart(request.body) ? await instancesOfForm(request.body.multipart) : request.body) as { instances?: unknown } | undefined;
    if (typeof body !== 'object' || body === null || !Array.isArray(body.instances)) {
      throw new HttpError(400, 'body must be a JSON object { "instances": [...] }', 'Content-Type: application/json; each instance a numeric array or { "b64": "<image>" }');
    }
    if (body.instances.length === 0) throw new HttpError(400, '"instances" is empty');
    if (body.instances.length > opts.maxInstances) throw new HttpError(413, `${body.instances.length} instances; at most ${opts.maxInstances} per request`);
    const instances = body.instances;
    const encodedFor = m.predictor;
    let encoded = instances.map((v, i) => encodeInstance(encodedFor, v, i));
    const reencode = (p: Predictor) => {
      encoded = instances.map((v, i) => encodeInstance(p, v, i));
      return encoded.map((e) => e.inputs);
    };
    const { outputs, predictor } = await withTimeout(m.submit({ rows: encoded.map((e) => e.inputs), encodedFor, reencode }), opts.timeoutMs);
    const { task, classNames } = predictor.card;
    return { model: predictor.name, version: predictor.version, predictions: outputs.map((o, i) => postprocess(o, task, classNames, encoded[i].text)) };
  });

  app.addHook('onClose', async () => {
    for (const m of models.values()) await m.dispose();
  });
  return app;
}
