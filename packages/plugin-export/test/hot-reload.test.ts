/** @jest-environment ./packages/plugin-export/test/ort-environment.js */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { FastifyInstance } from 'fastify';
import { PassThrough } from 'node:stream';
import { KILN_VERSION, MemoryLogger, type CommandContext, type Model, type ModelCard, type ResolvedConfig } from '@kiln/core';
import { startServing } from '../src/commands';
import { MlflowModelRegistry } from '@kiln/plugin-mlflow';
import { TfjsExporter } from '../src/tfjs/tfjs-exporter';
import { loadExportedPredictor } from '../src/predict/predictor';
import { createServer, servedModel } from '../src/serve/server';
import { ChampionWatcher, parseModelUri, RegistryAlias } from '../src/serve/champion-watcher';
import type { ReloadEvent, ServedModel } from '../src/serve/served-model';

jest.setTimeout(30_000);

function asModel(layersModel: tfl.LayersModel): Model {
  return { name: layersModel.name, layersModel, apply: () => { throw new Error('unused'); }, trainableVariables: [], getWeights: () => ({}), setWeights: () => undefined, countParams: () => layersModel.countParams(), dispose: () => layersModel.dispose() };
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-reload-'));
const mlruns = path.join(root, 'mlruns');
const logger = new MemoryLogger();
let app: FastifyInstance;
let base: string;
let served: ServedModel;
let watcher: ChampionWatcher;
let registry: MlflowModelRegistry;

/** Exports a dense layer features[width] → 2 logits with weight `w` ([width][2]) and zero bias. */
async function exportLinear(dir: string, w: number[][]): Promise<string> {
  const input = tfl.input({ shape: [w.length], name: 'features' });
  const dense = tfl.layers.dense({ units: 2, name: 'head' });
  const lm = tfl.model({ inputs: input, outputs: dense.apply(input) as tfl.SymbolicTensor, name: 'linear' });
  dense.setWeights([tf.tensor2d(w), tf.tensor1d([0, 0])]);
  const card: ModelCard = { name: 'linear', task: 'classification', inputs: [{ name: 'features', shape: [null, w.length], dtype: 'float32' }], classNames: ['a', 'b'], preprocessing: { kind: 'none' }, kilnVersion: KILN_VERSION };
  const out = path.join(root, dir);
  await new TfjsExporter().export(asModel(lm), out, card);
  lm.dispose();
  return out;
}

/** v1: logits [x0, x1]; v2: logits [x1, x0] (the labels flip); both on x = [x0, x1, x2]. */
const logitsOf: Record<string, (x: number[]) => number[]> = { '1': (x) => [x[0], x[1]], '2': (x) => [x[1], x[0]] };

function probA(z: number[]): number {
  return 1 / (1 + Math.exp(z[1] - z[0]));
}

function nextReload(): Promise<ReloadEvent> {
  return new Promise((resolve) => served.once('reload', resolve));
}

interface Answer {
  status: number;
  version?: string;
  x: number[];
  afterSwap: boolean;
  label?: string;
  scoreA?: number;
}

async function predict(x: number[]): Promise<{ status: number; body: { version?: string; predictions?: { label: string; scores: Record<string, number> }[] } }> {
  const res = await fetch(`${base}/v1/models/linear/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [x] }) });
  return { status: res.status, body: (await res.json()) as never };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  const v1 = await exportLinear('v1', [[1, 0], [0, 1], [0, 0]]);
  const v2 = await exportLinear('v2', [[0, 1], [1, 0], [0, 0]]);
  // v3: v2 with its weight shard cut in half (a corrupt upload).
  const v3 = path.join(root, 'v3');
  fs.cpSync(v2, v3, { recursive: true });
  const shard = path.join(v3, 'group1-shard1of1.bin');
  fs.writeFileSync(shard, fs.readFileSync(shard).subarray(0, 10));
  // v4: a model of 4 features, which cannot replace one of 3.
  const v4 = await exportLinear('v4', [[1, 0], [0, 1], [0, 0], [0, 0]]);
  registry = new MlflowModelRegistry(mlruns);
  for (const dir of [v1, v2, v3, v4]) registry.registerModel('linear', pathToFileURL(dir).href);
  registry.setAlias('linear', 'champion', 1);

  const ref = parseModelUri('models:/linear@champion', mlruns)!;
  const alias = new RegistryAlias(ref);
  const target = alias.require();
  const load = (dir: string, v: number) => loadExportedPredictor(dir, { name: 'linear', version: String(v) });
  app = createServer([await load(target.dir, target.version)], { maxBatch: 8 });
  served = servedModel(app, 'linear');
  watcher = new ChampionWatcher(alias, served, target.version, { load, logger, debounceMs: 20, pollMs: 300 }).start();
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await watcher?.close();
  await app?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

test('models:/ specs parse with champion as the default alias', () => {
  expect(parseModelUri('models:/shapes', '/r')).toEqual({ registry: path.resolve('/r'), name: 'shapes', alias: 'champion' });
  expect(parseModelUri('models:/shapes@staging', '/r')?.alias).toBe('staging');
  expect(parseModelUri('exported/shapes', '/r')).toBeUndefined();
});

test('promoting v2 during a stream of requests: all answered, each by one version, later ones by v2', async () => {
  let swapped = false;
  let stop = false;
  const answers: Answer[] = [];
  const worker = async (k: number) => {
    for (let i = 0; !stop; i++) {
      const x = [((i + k) % 5) - 2, ((i * 3 + k) % 7) - 3, k];
      const afterSwap = swapped;
      const { status, body } = await predict(x);
      const p = body.predictions?.[0];
      answers.push({ status, version: body.version, x, afterSwap, label: p?.label, scoreA: p?.scores.a });
    }
  };
  expect(watcher.watching).toBe(true);
  const workers = [0, 1, 2, 3].map(worker);
  while (answers.length < 40) await new Promise((r) => setTimeout(r, 5));
  const tensorsBefore = tf.memory().numTensors;
  const reloaded = nextReload();
  registry.setAlias('linear', 'champion', 2);
  const event = await reloaded;
  swapped = true;
  const afterSwapCount = () => answers.filter((a) => a.afterSwap).length;
  while (afterSwapCount() < 40) await new Promise((r) => setTimeout(r, 5));
  stop = true;
  await Promise.all(workers);

  expect(event).toMatchObject({ outcome: 'swapped', version: '2', previousVersion: '1' });
  // v1 disposed, v2 loaded: the same number of weights, so the same number of tensors.
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  expect(answers.every((a) => a.status === 200)).toBe(true);
  for (const a of answers) {
    const z = logitsOf[a.version!](a.x);
    expect(a.scoreA).toBeCloseTo(probA(z), 5);
    expect(a.label).toBe(z[0] >= z[1] ? 'a' : 'b');
  }
  expect(answers.filter((a) => a.version === '1').length).toBeGreaterThanOrEqual(40);
  expect(answers.filter((a) => a.afterSwap).every((a) => a.version === '2')).toBe(true);

  const list = (await (await fetch(`${base}/v1/models`)).json()) as { models: { name: string; version: string }[] };
  expect(list.models).toEqual([expect.objectContaining({ name: 'linear', version: '2' })]);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  expect(metrics).toMatch(/kiln_model_info\{model="linear",version="2",runtime="tfjs"\} 1/);
  expect(metrics).not.toMatch(/kiln_model_info\{model="linear",version="1"/);
  expect(metrics).toMatch(/kiln_model_reloads_total\{model="linear",outcome="swapped"\} 1/);
  expect(metrics).toMatch(/kiln_predictions_total\{model="linear",version="2"\} \d+/);
});

test('a corrupt v3 and an incompatible v4 are refused; v2 keeps serving', async () => {
  const tensors = tf.memory().numTensors;
  let refused = nextReload();
  registry.setAlias('linear', 'champion', 3);
  const corrupt = await refused;
  expect(corrupt).toMatchObject({ outcome: 'refused', version: '3', previousVersion: '2' });
  expect(logger.lines.some((e) => e.level === 'error' && /refused version 3 of linear@champion, still serving version 2/.test(e.message))).toBe(true);

  refused = nextReload();
  registry.setAlias('linear', 'champion', 4);
  const incompatible = await refused;
  expect(incompatible).toMatchObject({ outcome: 'refused', version: '4', previousVersion: '2' });
  expect(incompatible.error?.message).toMatch(/incompatible signature: inputs features float32\[4\] instead of features float32\[3\]/);

  // Back to the serving version: nothing is reloaded.
  let reloads = 0;
  served.on('reload', () => reloads++);
  registry.setAlias('linear', 'champion', 2);
  await watcher.check();
  expect(reloads).toBe(0);

  expect(tf.memory().numTensors).toBe(tensors);
  const { status, body } = await predict([3, 1, 0]);
  expect(status).toBe(200);
  expect(body.version).toBe('2');
  // v2's logits on [3, 1, 0] are [x1, x0] = [1, 3]: "b", with P(a) = σ(1 − 3).
  expect(body.predictions![0].label).toBe('b');
  expect(body.predictions![0].scores.a).toBeCloseTo(1 / (1 + Math.exp(2)), 5);
});

test('kiln serve --model models:/<name>@champion serves the champion and follows it', async () => {
  const v1 = await exportLinear('c1', [[1, 0], [0, 1], [0, 0]]);
  const v2 = await exportLinear('c2', [[0, 1], [1, 0], [0, 0]]);
  registry.registerModel('clf', pathToFileURL(v1).href);
  registry.registerModel('clf', pathToFileURL(v2).href);
  registry.setAlias('clf', 'champion', 1);
  const ctx = { logger: new MemoryLogger(), cwd: root, globals: {}, stdout: new PassThrough(), resolved: {} as ResolvedConfig } as CommandContext;
  const serving = await startServing({ model: 'models:/clf', registry: 'mlruns', port: '0', pollMs: '100' }, ctx);
  expect(serving.names).toEqual(['clf']);
  const url = serving.address;
  const version = async () => ((await (await fetch(`${url}/v1/models`)).json()) as { models: { version: string }[] }).models[0].version;
  try {
    expect(await version()).toBe('1');
    registry.setAlias('clf', 'champion', 2);
    const deadline = Date.now() + 10_000;
    while ((await version()) !== '2' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await version()).toBe('2');
    const res = await fetch(`${url}/v1/models/clf/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [[3, 1, 0]] }) });
    expect(((await res.json()) as { predictions: { label: string }[] }).predictions[0].label).toBe('b');
  } finally {
    await serving.close();
  }
});

test('without fs.watch, polling notices the alias move (debounced reads, one reload)', async () => {
  const v1 = await exportLinear('p1', [[1, 0], [0, 1], [0, 0]]);
  const v2 = await exportLinear('p2', [[0, 1], [1, 0], [0, 0]]);
  registry.registerModel('polled', pathToFileURL(v1).href);
  registry.registerModel('polled', pathToFileURL(v2).href);
  registry.setAlias('polled', 'champion', 1);
  const alias = new RegistryAlias(parseModelUri('models:/polled', mlruns)!);
  const load = (dir: string, v: number) => loadExportedPredictor(dir, { name: 'polled', version: String(v) });
  const polledApp = createServer([await load(alias.require().dir, 1)]);
  const model = servedModel(polledApp, 'polled');
  const events: ReloadEvent[] = [];
  model.on('reload', (e: ReloadEvent) => events.push(e));
  const polling = new ChampionWatcher(alias, model, 1, { load, debounceMs: 20, pollMs: 50, fsWatch: false }).start();
  try {
    expect(polling.watching).toBe(false);
    registry.setAlias('polled', 'champion', 2);
    const deadline = Date.now() + 10_000;
    while (model.predictor.version !== '2' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(model.predictor.version).toBe('2');
    await new Promise((r) => setTimeout(r, 200)); // several more polls: the same version is not reloaded again
    expect(events.map((e) => [e.outcome, e.version])).toEqual([['swapped', '2']]);
  } finally {
    await polling.close();
    await polledApp.close();
  }
});
