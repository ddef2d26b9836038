/** @jest-environment ./packages/plugin-export/test/ort-environment.js */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { FastifyInstance } from 'fastify';
import { KILN_VERSION, type Model, type ModelCard } from '@kiln/core';
import { encodePng } from '@kiln/plugin-data';
import { TfjsExporter } from '../src/tfjs/tfjs-exporter';
import { OnnxExporter } from '../src/onnx/onnx-exporter';
import { loadExportedPredictor } from '../src/predict/predictor';
import { createServer } from '../src/serve/server';

jest.setTimeout(30_000);

/** Just enough of a Kiln Model for the exporters, which read `layersModel`. */
function asModel(layersModel: tfl.LayersModel): Model {
  return { name: layersModel.name, layersModel, apply: () => { throw new Error('unused'); }, trainableVariables: [], getWeights: () => ({}), setWeights: () => undefined, countParams: () => layersModel.countParams(), dispose: () => layersModel.dispose() };
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-serve-'));
let app: FastifyInstance;
let twoInputs: tfl.LayersModel;
let base: string;

/** logits = [x0 + x2, x1 + x2 + 1]: class "b" wins when x1 + 1 > x0. */
function linearLogits(x: number[]): number[] {
  return [x[0] + x[2], x[1] + x[2] + 1];
}

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  const input = tfl.input({ shape: [3], name: 'features' });
  const dense = tfl.layers.dense({ units: 2, name: 'head' });
  const lm = tfl.model({ inputs: input, outputs: dense.apply(input) as tfl.SymbolicTensor, name: 'linear' });
  dense.setWeights([tf.tensor2d([[1, 0], [0, 1], [1, 1]]), tf.tensor1d([0, 1])]);
  const card: ModelCard = { name: 'linear', task: 'classification', inputs: [{ name: 'features', shape: [null, 3], dtype: 'float32' }], classNames: ['a', 'b'], preprocessing: { kind: 'none' }, kilnVersion: KILN_VERSION };
  await new TfjsExporter().export(asModel(lm), path.join(root, 'linear'), card);
  await new OnnxExporter().export(asModel(lm), path.join(root, 'linear-onnx'), card);

  // Image model: mean over the normalized 2×2×3 pixels (flatten → dense of 1/12) vs a constant 0.5.
  const img = tfl.input({ shape: [2, 2, 3], name: 'image' });
  const flat = tfl.layers.flatten().apply(img) as tfl.SymbolicTensor;
  const head = tfl.layers.dense({ units: 2, name: 'img_head' });
  const imgModel = tfl.model({ inputs: img, outputs: head.apply(flat) as tfl.SymbolicTensor, name: 'shapes' });
  head.setWeights([tf.tensor2d(Array.from({ length: 12 }, () => [1 / 12, 0])), tf.tensor1d([0, 0.5])]);
  const imgCard: ModelCard = { name: 'shapes', task: 'classification', inputs: [{ name: 'image', shape: [null, 2, 2, 3], dtype: 'float32' }], classNames: ['bright', 'dark'], preprocessing: { kind: 'image', size: [2, 2], channels: 3, mean: [0, 0, 0], std: [1, 1, 1] }, kilnVersion: KILN_VERSION };
  await new TfjsExporter().export(asModel(imgModel), path.join(root, 'shapes'), imgCard);

  // Two inputs; the dataset lists them as [ids, features] but the model takes [features, ids].
  const feats = tfl.input({ shape: [3], name: 'features_in' });
  const ids = tfl.input({ shape: [4], name: 'ids_in', dtype: 'int32' });
  const pooled = tfl.layers.globalAveragePooling1d({}).apply(tfl.layers.embedding({ inputDim: 5, outputDim: 2, name: 'emb' }).apply(ids) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
  const summed = tfl.layers.add().apply([tfl.layers.dense({ units: 2, name: 'fd' }).apply(feats) as tfl.SymbolicTensor, pooled]) as tfl.SymbolicTensor;
  twoInputs = tfl.model({ inputs: [feats, ids], outputs: summed, name: 'two' });
  const twoCard: ModelCard = { name: 'two', task: 'regression', inputs: [{ name: 'ids', shape: [null, 4], dtype: 'int32' }, { name: 'features', shape: [null, 3], dtype: 'float32' }], preprocessing: { kind: 'none' }, kilnVersion: KILN_VERSION };
  const twoModel = Object.assign(asModel(twoInputs), { inputKeys: ['features', 'ids'] });
  await new TfjsExporter().export(twoModel, path.join(root, 'two'), twoCard);
  await new OnnxExporter().export(twoModel, path.join(root, 'two-onnx'), twoCard);
  lm.dispose();
  imgModel.dispose();

  const predictors = [await loadExportedPredictor(path.join(root, 'linear')), await loadExportedPredictor(path.join(root, 'linear-onnx')), await loadExportedPredictor(path.join(root, 'shapes')), await loadExportedPredictor(path.join(root, 'two')), await loadExportedPredictor(path.join(root, 'two-onnx'))];
  app = createServer(predictors, { bodyLimit: 16 * 1024, maxBatch: 16, maxWaitMs: 5 });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  twoInputs?.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

async function post(model: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/v1/models/${model}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

type Pred = { label: string; scores: Record<string, number> };

test('health, model list with signatures', async () => {
  const health = await fetch(`${base}/healthz`);
  expect(health.status).toBe(200);
  const list = (await (await fetch(`${base}/v1/models`)).json()) as { models: { name: string; version: string; runtime: string; signature: { inputs: unknown[] } }[] };
  expect(list.models.map((m) => m.name).sort()).toEqual(['linear', 'linear-onnx', 'shapes', 'two', 'two-onnx']);
  expect(list.models.find((m) => m.name === 'linear-onnx')!.runtime).toBe('onnxruntime');
  expect(list.models.find((m) => m.name === 'linear')!.signature.inputs).toEqual([{ name: 'features', shape: [null, 3], dtype: 'float32' }]);
});

test.each(['linear', 'linear-onnx'])('%s: predictions equal the hand-computed softmax of the linear logits', async (model) => {
  const instances = [[1, 2, 3], [5, 0, -1], [0.5, -0.5, 2]];
  const { status, json } = await post(model, JSON.stringify({ instances }));
  expect(status).toBe(200);
  const preds = json.predictions as Pred[];
  instances.forEach((x, i) => {
    const p = softmax(linearLogits(x));
    expect(preds[i].label).toBe(p[1] > p[0] ? 'b' : 'a');
    expect(preds[i].scores.a).toBeCloseTo(p[0], 5);
    expect(preds[i].scores.b).toBeCloseTo(p[1], 5);
  });
});

test('images as base64 get the training preprocessing', async () => {
  // Solid colours: the mean of the normalized pixels is the mean of rgb / 255; logit0 = that, logit1 = 0.5.
  const colours = [[250, 240, 230], [10, 20, 30]];
  const instances = colours.map((c) => {
    const px = new Uint8Array(4 * 4 * 3);
    for (let k = 0; k < 16; k++) px.set(c, k * 3);
    return { b64: encodePng(px, 4, 4, 3).toString('base64') };
  });
  const { status, json } = await post('shapes', JSON.stringify({ instances }));
  expect(status).toBe(200);
  const preds = json.predictions as Pred[];
  colours.forEach((c, i) => {
    const mean = (c[0] + c[1] + c[2]) / 3 / 255;
    expect(preds[i].scores.bright).toBeCloseTo(softmax([mean, 0.5])[0], 5);
  });
  expect(preds.map((p) => p.label)).toEqual(['bright', 'dark']);
  const bad = await post('shapes', JSON.stringify({ instances: [{ b64: Buffer.from('not an image').toString('base64') }] }));
  expect(bad.status).toBe(400);
  expect(String(bad.json.error)).toMatch(/PNG or JPEG/);
});

test('images as multipart/form-data files get the same answers as base64', async () => {
  const colours = [[250, 240, 230], [10, 20, 30]];
  const form = new FormData();
  colours.forEach((c, i) => {
    const px = new Uint8Array(4 * 4 * 3);
    for (let k = 0; k < 16; k++) px.set(c, k * 3);
    form.append(`image${i}`, new Blob([encodePng(px, 4, 4, 3)], { type: 'image/png' }), `c${i}.png`);
  });
  const res = await fetch(`${base}/v1/models/shapes/predict`, { method: 'POST', body: form });
  expect(res.status).toBe(200);
  const preds = ((await res.json()) as { predictions: Pred[] }).predictions;
  colours.forEach((c, i) => expect(preds[i].scores.bright).toBeCloseTo(softmax([(c[0] + c[1] + c[2]) / 3 / 255, 0.5])[0], 5));
  // Numeric instances as a JSON field of a form.
  const fields = new FormData();
  fields.append('instances', JSON.stringify([[1, 2, 3]]));
  const numeric = await fetch(`${base}/v1/models/linear/predict`, { method: 'POST', body: fields });
  expect(((await numeric.json()) as { predictions: Pred[] }).predictions[0].scores.b).toBeCloseTo(softmax(linearLogits([1, 2, 3]))[1], 5);
  const malformed = await fetch(`${base}/v1/models/shapes/predict`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=xyz' }, body: 'no parts here' });
  expect(malformed.status).toBe(400);
  expect(((await malformed.json()) as { error: string }).error).toMatch(/malformed multipart/);
  const big = new FormData();
  big.append('image', new Blob([new Uint8Array(20 * 1024)]), 'big.png');
  expect((await fetch(`${base}/v1/models/shapes/predict`, { method: 'POST', body: big })).status).toBe(413);
});

test('bad requests get clear 4xx answers and the server keeps serving', async () => {
  const malformed = await post('linear', '{"instances": [[1, 2, 3]');
  expect(malformed.status).toBe(400);
  expect(String(malformed.json.error)).toMatch(/malformed JSON/i);
  const shape = await post('linear', JSON.stringify({ instances: [[1, 2]] }));
  expect(shape.status).toBe(400);
  expect(String(shape.json.error)).toMatch(/shape \[3\], got \[2\]/);
  const ragged = await post('shapes', JSON.stringify({ instances: [[[[1, 2, 3], [1, 2, 3]], [[1, 2, 3]]]] }));
  expect(ragged.status).toBe(400);
  const notNumber = await post('linear', JSON.stringify({ instances: [[1, 'x', 3]] }));
  expect(notNumber.status).toBe(400);
  const deep = await post('linear', `{"instances": [${'['.repeat(5000)}${']'.repeat(5000)}]}`);
  expect(deep.status).toBe(400);
  const nulls = await post('linear', JSON.stringify({ instances: [null] }));
  expect(nulls.status).toBe(400);
  const noInstances = await post('linear', JSON.stringify({ inputs: [[1, 2, 3]] }));
  expect(noInstances.status).toBe(400);
  expect(String(noInstances.json.error)).toMatch(/instances/);
  const big = await post('linear', JSON.stringify({ instances: Array.from({ length: 5000 }, () => [1, 2, 3]) }));
  expect(big.status).toBe(413);
  expect(String(big.json.error)).toMatch(/larger than 16384 bytes/);
  const unknown = await post('nope', JSON.stringify({ instances: [[1, 2, 3]] }));
  expect(unknown.status).toBe(404);
  expect(String(unknown.json.hint)).toMatch(/linear/);
  const ok = await post('linear', JSON.stringify({ instances: [[1, 2, 3]] }));
  expect(ok.status).toBe(200);
});

test('100 concurrent requests are batched and each gets its own answer; metrics count them', async () => {
  const xs = Array.from({ length: 100 }, (_, i) => [i / 10, (100 - i) / 25, ((i % 7) - 3) / 2]);
  const results = await Promise.all(xs.map((x) => post('linear', JSON.stringify({ instances: [x] }))));
  results.forEach((r, i) => {
    expect(r.status).toBe(200);
    const p = softmax(linearLogits(xs[i]));
    expect((r.json.predictions as Pred[])[0].scores.b).toBeCloseTo(p[1], 5);
  });
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const count = Number(/kiln_batch_size_count\{model="linear",version="1"\} (\d+)/.exec(metrics)![1]);
  const sum = Number(/kiln_batch_size_sum\{model="linear",version="1"\} (\d+)/.exec(metrics)![1]);
  // Fewer model calls than rows: concurrent requests shared batches.
  expect(sum).toBeGreaterThanOrEqual(100);
  expect(count).toBeLessThan(sum);
  expect(metrics).toMatch(/kiln_requests_total\{route="\/v1\/models\/:name\/predict",code="200"\} \d+/);
  expect(metrics).toMatch(/kiln_request_duration_seconds_bucket/);
});

test.each(['two', 'two-onnx'])('%s: named inputs reach the right model inputs whatever the dataset order', async (model) => {
  const instances = [{ ids: [0, 1, 2, 3], features: [1, -1, 0.5] }, { features: [0, 2, 1], ids: [4, 4, 0, 1] }];
  const { status, json } = await post(model, JSON.stringify({ instances }));
  expect(status).toBe(200);
  const expected = tf.tidy(() => (twoInputs.predict([tf.tensor2d(instances.map((i) => i.features)), tf.tensor2d(instances.map((i) => i.ids), undefined, 'int32')]) as tf.Tensor).arraySync() as number[][]);
  (json.predictions as { values: number[] }[]).forEach((p, i) => p.values.forEach((v, k) => expect(v).toBeCloseTo(expected[i][k], 5)));
  const card = JSON.parse(fs.readFileSync(path.join(root, model, 'kiln-model.json'), 'utf8'));
  expect(card.inputs.map((i: { name: string }) => i.name)).toEqual(['features', 'ids']);
});

test('serving a tfjs model does not leak tensors', async () => {
  await post('linear', JSON.stringify({ instances: [[1, 2, 3]] }));
  const before = tf.memory().numTensors;
  await Promise.all(Array.from({ length: 20 }, (_, i) => post('linear', JSON.stringify({ instances: [[i, 1, 2], [0, 0, i]] }))));
  expect(tf.memory().numTensors).toBe(before);
});
