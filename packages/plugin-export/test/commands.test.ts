/** @jest-environment ./packages/plugin-export/test/ort-environment.js */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import * as tf from '@tensorflow/tfjs-core';
import { Kernel, KilnError, MemoryLogger, train, type CommandContext, type ResolvedConfig } from '@kiln/core';
import { removeProject, tempProject } from '../../../test/helpers/project';
import { MlflowModelRegistry } from '@kiln/plugin-mlflow';
import plugin, { exportCommand, predictCommand, startServing } from '../src';

jest.setTimeout(60_000);

let cwd: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  // A project plugin that records onExport events, loaded through the run's config.
  cwd = tempProject({
    'probe.js': `module.exports = { name: 'probe', version: '1.0.0', register(ctx) { ctx.hooks.onExport.tapPromise('Probe', async ({ result }) => { require('fs').appendFileSync(require('path').join(__dirname, 'EXPORTS'), result.format + ' ' + result.files.join(',') + '\\n'); }); } };`,
  });
  await train({ extends: '@kiln/presets/tabular-classification', backend: 'cpu', plugins: ['./probe.js'], data: { type: 'synthetic-tabular', trainSize: 64, valSize: 16 }, callbacks: [{ type: 'checkpoint' }], trainer: { epochs: 1, batchSize: 32 }, output: { dir: 'runs', name: 'r' } } as never, { cwd, logger: new MemoryLogger() });
});
afterAll(() => removeProject(cwd));

function context(): { ctx: CommandContext; out: () => string } {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (d) => (text += String(d)));
  const ctx = { logger: new MemoryLogger(), cwd, globals: {}, stdout, kernel: new Kernel(), resolved: {} as ResolvedConfig } as CommandContext;
  return { ctx, out: () => text };
}

test('the plugin registers both exporters and the three commands', async () => {
  const kernel = new Kernel();
  await kernel.use(plugin);
  expect(kernel.names(Symbol.for('kiln.point.Exporter')).sort()).toEqual(['onnx', 'tfjs']);
  expect([...kernel.commands().keys()].sort()).toEqual(['export', 'predict', 'serve']);
});

test('kiln export fires onExport; kiln predict writes CSV from the export alone', async () => {
  const { ctx, out } = context();
  expect(await exportCommand.run([], { checkpoint: 'runs/r', format: 'onnx', out: 'exported' }, ctx)).toBe(0);
  expect(out()).toMatch(/exported onnx to .*exported: model.onnx, kiln-model.json/);
  expect(fs.readFileSync(path.join(cwd, 'EXPORTS'), 'utf8')).toBe('onnx model.onnx,kiln-model.json\n');

  const card = JSON.parse(fs.readFileSync(path.join(cwd, 'exported', 'kiln-model.json'), 'utf8'));
  const width = card.inputs[0].shape[1];
  fs.writeFileSync(path.join(cwd, 'rows.jsonl'), `${JSON.stringify({ features: new Array(width).fill(0) })}\n${JSON.stringify(new Array(width).fill(1))}\n`);
  const second = context();
  expect(await predictCommand.run(['rows.jsonl'], { checkpoint: 'exported', out: 'preds.csv', batchSize: '1' }, second.ctx)).toBe(0);
  const csv = fs.readFileSync(path.join(cwd, 'preds.csv'), 'utf8').trim().split('\n');
  expect(csv[0]).toBe(['source', 'label', ...card.classNames.map((c: string) => `score_${c}`)].join(','));
  expect(csv).toHaveLength(3);
  expect(csv[1].startsWith(`${path.join(cwd, 'rows.jsonl')}:1,`)).toBe(true);
  const scores = csv[1].split(',').slice(2).map(Number);
  expect(scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
});

test('kiln export takes a .safetensors file as well as a run directory', async () => {
  const { ctx, out } = context();
  const file = path.join(cwd, 'runs', 'r', 'checkpoints', 'last.safetensors');
  expect(await exportCommand.run([], { checkpoint: file, format: 'tfjs', out: 'exported-tfjs' }, ctx)).toBe(0);
  expect(out()).toMatch(/model.json, group1-shard1of1.bin, kiln-model.json/);
  expect(fs.readFileSync(path.join(cwd, 'EXPORTS'), 'utf8').trim().split('\n').pop()).toBe('tfjs model.json,group1-shard1of1.bin,kiln-model.json');
});

test("without --format, kiln export follows the run config's exporter block (format and options)", async () => {
  const copy = path.join(cwd, 'runs', 'r-onnx');
  fs.cpSync(path.join(cwd, 'runs', 'r'), copy, { recursive: true });
  const config = JSON.parse(fs.readFileSync(path.join(copy, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(copy, 'config.json'), JSON.stringify({ ...config, exporter: { type: 'onnx', tolerance: 1e-5 } }));
  const { ctx, out } = context();
  expect(await exportCommand.run([], { checkpoint: copy, out: 'exported-from-block' }, ctx)).toBe(0);
  expect(out()).toMatch(/exported onnx to/);
  const card = JSON.parse(fs.readFileSync(path.join(cwd, 'exported-from-block', 'kiln-model.json'), 'utf8'));
  expect(card.onnx.tolerance).toBe(1e-5);
  expect(card.onnx.maxAbsDiff).toBeLessThanOrEqual(1e-5);
  // A flag still wins over the block.
  expect(await exportCommand.run([], { checkpoint: copy, out: 'exported-flag', tolerance: '0.001' }, context().ctx)).toBe(0);
  expect(JSON.parse(fs.readFileSync(path.join(cwd, 'exported-flag', 'kiln-model.json'), 'utf8')).onnx.tolerance).toBe(0.001);
});

test('usage errors are KilnErrors with where and hint', async () => {
  const { ctx } = context();
  const missing = await exportCommand.run([], { format: 'onnx', out: 'x' }, ctx).catch((e: unknown) => e);
  expect(KilnError.is(missing)).toBe(true);
  const badFormat = await exportCommand.run([], { checkpoint: path.join(cwd, 'runs', 'r'), format: 'pmml', out: path.join(cwd, 'x') }, ctx).catch((e: unknown) => e);
  expect(KilnError.is(badFormat) && badFormat.where).toBe('--format');
  expect((badFormat as KilnError).hint).toMatch(/tfjs, onnx/);
  const noCheckpoint = await predictCommand.run(['a.csv'], { checkpoint: path.join(cwd, 'nowhere') }, ctx).catch((e: unknown) => e);
  expect(KilnError.is(noCheckpoint) && noCheckpoint.where).toBe('--checkpoint');
});

test('kiln serve follows a registered Kiln run model (runs:/-style folder: config.json + checkpoint) across versions', async () => {
  const registry = new MlflowModelRegistry(path.join(cwd, 'mlruns'));
  const runDir = path.join(cwd, 'runs', 'r');
  registry.registerModel('tab', runDir);
  registry.registerModel('tab', runDir);
  registry.setAlias('tab', 'champion', 1);
  const { ctx } = context();
  const serving = await startServing({ model: 'models:/tab@champion', registry: 'mlruns', port: '0', pollMs: '100' }, ctx);
  const url = serving.address;
  const models = async () => ((await (await fetch(`${url}/v1/models`)).json()) as { models: { version: string; runtime: string; signature: { inputs: { shape: number[] }[] } }[] }).models[0];
  try {
    const first = await models();
    expect(first).toMatchObject({ version: '1', runtime: 'kiln' });
    const width = first.signature.inputs[0].shape[1];
    const ask = async () => (await (await fetch(`${url}/v1/models/tab/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [new Array(width).fill(0.5)] }) })).json()) as { version: string; predictions: { scores: Record<string, number> }[] };
    const before = await ask();
    registry.setAlias('tab', 'champion', 2);
    const deadline = Date.now() + 20_000;
    while ((await models()).version !== '2' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const after = await ask();
    expect(after.version).toBe('2');
    // Version 2 registers the same checkpoint: the same scores, now answered by version 2.
    for (const [k, v] of Object.entries(before.predictions[0].scores)) expect(after.predictions[0].scores[k]).toBeCloseTo(v, 6);
  } finally {
    await serving.close();
  }
});
