/** @jest-environment ./packages/plugin-export/test/ort-environment.js */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { KILN_VERSION, MemoryLogger, train } from '@kiln/core';
import { encodePng } from '@kiln/plugin-data';
import { removeProject, tempProject } from '../../../test/helpers/project';
import { exportModel } from '../src/export-model';
import { readModelCard } from '../src/card';
import { loadExportedPredictor, loadRunPredictor, type Predictor } from '../src/predict/predictor';
import { readPredictInputs } from '../src/predict/inputs';
import { formatPredictions, predictAll, stack } from '../src/predict/predict';

jest.setTimeout(60_000);

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeProject));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function trainRun(config: Record<string, unknown>): Promise<{ cwd: string; runDir: string }> {
  const cwd = tempProject();
  dirs.push(cwd);
  await train({ backend: 'cpu', output: { dir: path.join(cwd, 'runs'), name: 'run' }, callbacks: [{ type: 'checkpoint' }], ...config } as never, { cwd, logger: new MemoryLogger() });
  return { cwd, runDir: path.join(cwd, 'runs', 'run') };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Deterministic inputs for a predictor: a ramp per row so rows differ. */
function rows(p: Predictor, n: number): Float32Array[] {
  return p.inputs.map((s) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    return Float32Array.from({ length: size * n }, (_, i) => Math.sin(i * 0.37) * 1.5);
  });
}

describe('export round trips from a trained run', () => {
  let mlp: { cwd: string; runDir: string };
  let cnn: { cwd: string; runDir: string };

  beforeAll(async () => {
    mlp = await trainRun({ extends: '@kiln/presets/tabular-classification', data: { type: 'synthetic-tabular', trainSize: 120, valSize: 30, numClasses: 3 }, trainer: { epochs: 2, batchSize: 32 } });
    cnn = await trainRun({
      extends: '@kiln/presets/image-classification',
      data: { type: 'synthetic-shapes', size: 16, trainSize: 48, valSize: 16 },
      model: { type: 'simple-cnn', filters: [4, 8], denseUnits: [8] },
      trainer: { epochs: 1, batchSize: 16 },
    });
  });

  test.each([
    ['mlp', 'tfjs'],
    ['mlp', 'onnx'],
    ['cnn', 'tfjs'],
    ['cnn', 'onnx'],
  ])('%s → %s → load gives the run model\'s predictions', async (which, format) => {
    const run = which === 'mlp' ? mlp : cnn;
    const out = path.join(run.cwd, `export-${format}`);
    const result = await exportModel({ checkpoint: run.runDir, format, out, cwd: run.cwd, logger: new MemoryLogger() });
    expect(result.files).toContain('kiln-model.json');
    for (const f of result.files) expect(fs.existsSync(path.join(out, f))).toBe(true);
    if (format === 'tfjs') {
      const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
      expect(json.format).toBe('layers-model');
      expect(json.weightsManifest[0].paths).toEqual(['./group1-shard1of1.bin']);
      const bytes = json.weightsManifest[0].weights.reduce((n: number, w: { shape: number[] }) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
      expect(fs.statSync(path.join(out, 'group1-shard1of1.bin')).size).toBe(bytes);
    }
    const card = readModelCard(out);
    expect(card.kilnVersion).toBe(KILN_VERSION);
    expect(card.format).toBe(format);
    expect(card.task).toBe('classification');
    expect(card.inputs[0].shape[0]).toBeNull();
    expect(Object.keys(card.metrics ?? {})).toContain('val/accuracy');
    if (which === 'cnn') {
      expect(card.classNames).toHaveLength(4);
      expect(card.preprocessing).toEqual({ kind: 'image', size: [16, 16], channels: 3, mean: [0, 0, 0], std: [1, 1, 1] });
    } else {
      expect(card.classNames).toHaveLength(3);
      expect(card.preprocessing?.kind).toBe('table');
    }

    const fromRun = await loadRunPredictor(run.runDir, { cwd: run.cwd, logger: new MemoryLogger() });
    const fromExport = await loadExportedPredictor(out);
    expect(fromExport.runtime).toBe(format === 'onnx' ? 'onnxruntime' : 'tfjs');
    for (const n of [1, 5]) {
      const xs = rows(fromRun, n);
      const a = await fromRun.run(xs, n);
      const b = await fromExport.run(xs, n);
      expect(a.width).toBe(card.classNames!.length);
      expect(maxDiff(a.data, b.data)).toBeLessThan(format === 'tfjs' ? 1e-6 : 1e-4);
    }
    await fromRun.dispose();
    await fromExport.dispose();
  });

  test('predict from an export dir: images get training preprocessing; JSONL/CSV outputs; no tensor leak', async () => {
    const out = path.join(cnn.cwd, 'export-tfjs');
    const predictor = await loadExportedPredictor(out);
    const imgDir = path.join(cnn.cwd, 'images', 'sub');
    fs.mkdirSync(imgDir, { recursive: true });
    // A solid 20×20 colour stays solid when resized to 16×16; normalized it is (v / 255 − 0) / 1.
    const colours = [[255, 0, 0], [0, 128, 255], [10, 20, 30]];
    colours.forEach((c, i) => {
      const px = new Uint8Array(20 * 20 * 3);
      for (let k = 0; k < 400; k++) px.set(c, k * 3);
      fs.writeFileSync(path.join(imgDir, `img${i}.png`), encodePng(px, 20, 20, 3));
    });
    const examples = readPredictInputs([path.join(cnn.cwd, 'images')], predictor.inputs, predictor.card.preprocessing, cnn.cwd);
    expect(examples.map((e) => path.basename(e.source))).toEqual(['img0.png', 'img1.png', 'img2.png']);
    examples.forEach((e, i) => {
      const x = e.inputs.image;
      expect(x.length).toBe(16 * 16 * 3);
      for (let k = 0; k < 3; k++) expect(x[(7 * 16 + 9) * 3 + k]).toBeCloseTo(colours[i][k] / 255, 6);
    });
    const before = tf.memory().numTensors;
    const preds = await predictAll(predictor, examples, { batchSize: 2 });
    const again = await predictAll(predictor, examples, { batchSize: 3 });
    expect(tf.memory().numTensors).toBe(before);
    const direct = await predictor.run(stack(predictor, examples), 3);
    preds.forEach((p, i) => {
      const logits = Array.from(direct.data.subarray(i * 4, i * 4 + 4));
      const top = logits.indexOf(Math.max(...logits));
      expect(p.label).toBe(predictor.card.classNames![top]);
      const z = logits.map((v) => Math.exp(v - logits[top]));
      const sum = z.reduce((a, b) => a + b, 0);
      predictor.card.classNames!.forEach((name, k) => expect(p.scores![name]).toBeCloseTo(z[k] / sum, 5));
      expect(again[i].scores).toEqual(p.scores);
    });
    const jsonl = formatPredictions(preds, 'jsonl').trim().split('\n').map((l) => JSON.parse(l));
    expect(jsonl).toHaveLength(3);
    const csv = formatPredictions(preds, 'csv').trim().split('\n');
    expect(csv[0]).toBe(['source', 'label', ...predictor.card.classNames!.map((c) => `score_${c}`)].join(','));
    expect(csv).toHaveLength(4);
    await predictor.dispose();
  });

  test('predict CSV rows through the table encoding of the training data', async () => {
    const out = path.join(mlp.cwd, 'export-onnx');
    const predictor = await loadExportedPredictor(out);
    type Column = { name: string; kind: 'numeric' | 'categorical'; mean?: number; std?: number; categories?: string[] };
    const columns = (predictor.card.preprocessing as { columns: Column[] }).columns;
    expect(columns.some((c) => c.kind === 'numeric')).toBe(true);
    const csvFile = path.join(mlp.cwd, 'rows.csv');
    // Row 1: numeric cells at mean + std (→ 1), categoricals at their last category (one-hot at the end).
    // Row 2: numeric cells at the mean (→ 0), categoricals at their first category.
    const row1 = columns.map((c) => (c.kind === 'numeric' ? c.mean! + c.std! : c.categories![c.categories!.length - 1]));
    const row2 = columns.map((c) => (c.kind === 'numeric' ? c.mean! : c.categories![0]));
    fs.writeFileSync(csvFile, `${columns.map((c) => c.name).join(',')}\n${row1.join(',')}\n${row2.join(',')}\n`);
    const expected1 = columns.flatMap((c) => (c.kind === 'numeric' ? [1] : c.categories!.map((_, k) => (k === c.categories!.length - 1 ? 1 : 0))));
    const expected2 = columns.flatMap((c) => (c.kind === 'numeric' ? [0] : c.categories!.map((_, k) => (k === 0 ? 1 : 0))));
    const examples = readPredictInputs([csvFile], predictor.inputs, predictor.card.preprocessing, mlp.cwd);
    expect(Array.from(examples[0].inputs.features)).toEqual(expected1.map((v) => expect.closeTo(v, 5)));
    expect(Array.from(examples[1].inputs.features)).toEqual(expected2.map((v) => expect.closeTo(v, 5)));
    expect(examples[0].source).toBe(`${csvFile}:2`);
    const preds = await predictAll(predictor, examples, { batchSize: 8 });
    expect(preds).toHaveLength(2);
    expect(Object.values(preds[0].scores!).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    await predictor.dispose();
  });
});
