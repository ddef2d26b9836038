import * as path from 'node:path';
import * as fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { activateBackend, Tokens, UsageError, type Command, type CommandContext } from '@kiln/core';
import { exportModel } from './export-model';
import { readPredictInputs } from './predict/inputs';
import { predictAll, writePredictions } from './predict/predict';
import { loadPredictor, type Predictor } from './predict/predictor';
import { createServer, DEFAULT_SERVE_OPTIONS, servedModel } from './serve/server';
import { ChampionWatcher, DEFAULT_WATCH, parseModelUri, RegistryAlias } from './serve/champion-watcher';

/** Export dirs in the tfjs format run on tfjs: pick the best backend as training would. Runs activate their own. */
async function loadWithBackend(spec: string, context: CommandContext, as: { name?: string; version?: string } = {}): Promise<Predictor> {
  const dir = path.resolve(context.cwd, spec);
  const isExport = fs.existsSync(path.join(dir, 'kiln-model.json'));
  if (isExport && fs.existsSync(path.join(dir, 'model.json')) && context.kernel?.names(Tokens.Backend).length) await activateBackend(context.kernel);
  return loadPredictor(spec, { cwd: context.cwd, logger: context.logger, ...as });
}

function str(options: Record<string, unknown>, name: string, command: string, example: string): string {
  const v = options[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`${command} needs --${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, { where: `kiln ${command}`, hint: example });
  return v;
}

function positiveInt(value: unknown, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer, got "${String(value)}"`, { where: flag });
  return n;
}

/** `kiln export --checkpoint <run|file> --format tfjs|onnx --out <dir>` */
export const exportCommand: Command = {
  name: 'export',
  description: 'Export a trained model (tfjs layers format or ONNX, verified in ONNX Runtime) with its kiln-model.json.',
  options: [
    { flags: '--checkpoint <path>', description: 'run directory (its best, else last, checkpoint) or a .safetensors file' },
    { flags: '--format <format>', description: "tfjs or onnx (default: the run config's exporter block, else tfjs)" },
    { flags: '--out <dir>', description: 'output directory' },
    { flags: '--tolerance <n>', description: 'onnx: largest accepted |ONNX Runtime − Kiln| difference (default 1e-4, or the exporter block\'s)' },
  ],
  async run(_args, options, context) {
    const example = 'kiln export --checkpoint runs/<run> --format onnx --out exported/';
    const checkpoint = str(options, 'checkpoint', 'export', example);
    const out = str(options, 'out', 'export', example);
    const format = typeof options.format === 'string' ? options.format : undefined;
    const exporterOptions = options.tolerance !== undefined ? { tolerance: Number(options.tolerance) } : undefined;
    const result = await exportModel({ checkpoint, format, out, cwd: context.cwd, logger: context.logger, exporterOptions });
    context.stdout.write(`exported ${result.format} to ${result.dir}: ${result.files.join(', ')}\n`);
    return 0;
  },
};

/** `kiln predict <inputs...> --checkpoint <run|file|export dir> [--out preds.jsonl|csv] [--batch-size N]` */
export const predictCommand: Command = {
  name: 'predict',
  description: 'Predict labels/scores for images, folders, CSV or JSONL with a run checkpoint or an export directory.',
  arguments: [{ name: 'inputs', description: 'PNG/JPEG files, folders of images, .csv or .jsonl files; text models: .jsonl ({"text": …}), .csv (text column), .txt', required: true, variadic: true }],
  options: [
    { flags: '--checkpoint <path>', description: 'run directory, .safetensors checkpoint, or an export directory (kiln-model.json)' },
    { flags: '--out <file>', description: 'predictions file: .jsonl or .csv (default: JSONL on stdout)' },
    { flags: '--batch-size <n>', description: 'examples per forward pass', default: '64' },
  ],
  async run(args, options, context) {
    const checkpoint = str(options, 'checkpoint', 'predict', 'kiln predict images/ --checkpoint runs/<run> --out preds.csv');
    const inputs = args.flat();
    if (inputs.length === 0) throw new UsageError('predict needs at least one input', { where: 'kiln predict', hint: 'kiln predict images/ data.csv --checkpoint runs/<run>' });
    const batchSize = Math.max(1, positiveInt(options.batchSize ?? options['batch-size'], '--batch-size', 64));
    const predictor = await loadWithBackend(checkpoint, context);
    try {
      const examples = readPredictInputs(inputs, predictor.inputs, predictor.card.preprocessing, context.cwd, predictor.text);
      const rows = await predictAll(predictor, examples, { batchSize, progress: process.stderr.isTTY ? process.stderr : undefined });
      const out = typeof options.out === 'string' ? path.resolve(context.cwd, options.out) : undefined;
      writePredictions(rows, out, context.stdout);
      if (out) context.logger.info(`wrote ${rows.length} predictions to ${out}`);
    } finally {
      await predictor.dispose();
    }
    return 0;
  },
};

/** `kiln serve --model <export dir> [--port N]` */
export const serveCommand: Command = {
  name: 'serve',
  description: 'Serve exported models over HTTP (/v1/models/:name/predict) with dynamic batching and /metrics.',
  options: [
    { flags: '--model <specs>', description: 'export directory (name = folder name) or models:/<name>@<alias> of the registry (hot-reloaded when the alias moves); several separated by commas' },
    { flags: '--registry <dir>', description: 'MLflow file store (mlruns folder) holding the registered models of models:/ specs', default: 'mlruns' },
    { flags: '--poll-ms <n>', description: 'models:/ specs: re-read the alias this often besides file-system events', default: String(DEFAULT_WATCH.pollMs) },
    { flags: '--port <n>', description: 'port (0 = any free port)', default: String(DEFAULT_SERVE_OPTIONS.port) },
    { flags: '--host <host>', description: 'interface to listen on', default: DEFAULT_SERVE_OPTIONS.host },
    { flags: '--max-batch <n>', description: 'largest dynamic batch', default: String(DEFAULT_SERVE_OPTIONS.maxBatch) },
    { flags: '--max-wait-ms <n>', description: 'longest wait for a batch to fill', default: String(DEFAULT_SERVE_OPTIONS.maxWaitMs) },
    { flags: '--no-batching', description: 'run every request on its own' },
  ],
  async run(_args, options, context) {
    const serving = await startServing(options, context);
    context.stdout.write(`serving ${serving.names.join(', ')} at ${serving.address}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void serving.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};

/** A running `kiln serve`: its address, served model names, and close() (watchers first, then the server and models). */
export interface Serving {
  app: FastifyInstance;
  address: string;
  names: string[];
  watchers: ChampionWatcher[];
  close(): Promise<void>;
}

/** What `kiln serve` does before it waits for a signal: load the models, follow registry aliases, listen. */
export async function startServing(options: Record<string, unknown>, context: CommandContext): Promise<Serving> {
  const specs = str(options, 'model', 'serve', 'kiln serve --model exported/ --port 8080').split(',').filter(Boolean);
  const registry = path.resolve(context.cwd, String(options.registry ?? 'mlruns'));
  const predictors: Predictor[] = [];
  const followed: { alias: RegistryAlias; version: number }[] = [];
  try {
    for (const spec of specs) {
      const ref = parseModelUri(spec, registry);
      if (!ref) {
        predictors.push(await loadWithBackend(spec, context));
        continue;
      }
      const alias = new RegistryAlias(ref);
      const target = alias.require();
      predictors.push(await loadWithBackend(target.dir, context, { name: ref.name, version: String(target.version) }));
      followed.push({ alias, version: target.version });
    }
  } catch (error) {
    for (const p of predictors) await p.dispose();
    throw error;
  }
  const host = String(options.host ?? DEFAULT_SERVE_OPTIONS.host);
  const port = positiveInt(options.port, '--port', DEFAULT_SERVE_OPTIONS.port);
  const app = createServer(predictors, {
    host,
    port,
    maxBatch: Math.max(1, positiveInt(options.maxBatch ?? options['max-batch'], '--max-batch', DEFAULT_SERVE_OPTIONS.maxBatch)),
    maxWaitMs: positiveInt(options.maxWaitMs ?? options['max-wait-ms'], '--max-wait-ms', DEFAULT_SERVE_OPTIONS.maxWaitMs),
    batching: options.batching !== false,
  });
  const pollMs = Math.max(50, positiveInt(options.pollMs ?? options['poll-ms'], '--poll-ms', DEFAULT_WATCH.pollMs));
  const watchers = followed.map(({ alias, version }) =>
    new ChampionWatcher(alias, servedModel(app, alias.ref.name), version, {
      load: (dir, v) => loadWithBackend(dir, context, { name: alias.ref.name, version: String(v) }),
      logger: context.logger,
      debounceMs: DEFAULT_WATCH.debounceMs,
      pollMs,
    }).start(),
  );
  const closeWatchers = async () => {
    for (const w of watchers) await w.close();
  };
  app.addHook('onClose', closeWatchers);
  const address = await app.listen({ host, port });
  return {
    app,
    address,
    names: predictors.map((p) => p.name),
    watchers,
    async close() {
      await closeWatchers();
      await app.close();
    },
  };
}
