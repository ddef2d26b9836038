/** @jest-environment ./packages/plugin-export/test/ort-environment.js */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PassThrough } from 'node:stream';
import { KILN_VERSION, MemoryLogger, train, type CommandContext, type ModelCard, type ResolvedConfig } from '@kiln/core';
import { predictCommand } from '../src/commands';
import { BertModel, bertConfig, buildWordPieceVocabulary, WordPieceTokenizer } from '@kiln/plugin-bert';
import { OnnxExporter } from '../src/onnx/onnx-exporter';
import { removeProject, tempProject } from '../../../test/helpers/project';
import { exportModel } from '../src/export-model';
import { readModelCard } from '../src/card';
import { loadExportedPredictor, loadRunPredictor } from '../src/predict/predictor';
import { readPredictInputs } from '../src/predict/inputs';
import { formatPredictions, predictAll } from '../src/predict/predict';
import { tokenPrediction } from '../src/predict/postprocess';
import { createServer } from '../src/serve/server';

jest.setTimeout(60_000);

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeProject));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A tiny BERT trained for one short epoch on plugin-bert's synthetic sentences. */
async function trainBert(preset: 'ner'): Promise<{ cwd: string; runDir: string }> {
  const cwd = tempProject();
  dirs.push(cwd);
  await train(
    {
      extends: `@kiln/presets/${preset}`,
      backend: 'cpu',
      output: { dir: path.join(cwd, 'runs'), name: 'run' },
      data: { type: 'bert-synthetic-text', task: 'ner', trainSize: 16, valSize: 8, maxLength: 24 },
      model: { type: 'bert', hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 32 },
      callbacks: [{ type: 'checkpoint' }],
      trainer: { epochs: 1, batchSize: 16 },
    } as never,
    { cwd, logger: new MemoryLogger() },
  );
  return { cwd, runDir: path.join(cwd, 'runs', 'run') };
}

test('word tags and entities from token logits, by hand', () => {
  // "Ann lives in New York": [CLS] ann lives in new yo ##rk [SEP]
  const text = 'Ann lives in New York';
  const encoding = {
    ids: [], typeIds: [], attentionMask: [],
    offsets: [[0, 0], [0, 3], [4, 9], [10, 12], [13, 16], [17, 19], [19, 21], [0, 0]] as [number, number][],
    wordIds: [null, 0, 1, 2, 3, 4, 4, null],
    tokens: ['[CLS]', 'ann', 'lives', 'in', 'new', 'yo', '##rk', '[SEP]'],
  };
  const tags = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
  // Per token, logit 2 on the winning tag and 0 elsewhere; ##rk (not a first sub-word) votes I-PER, which is ignored.
  const winners = [0, 1, 0, 0, 3, 4, 2, 0];
  const row = new Float32Array(winners.length * tags.length);
  winners.forEach((w, t) => (row[t * tags.length + w] = 2));
  const p = tokenPrediction(row, tags, { text, encoding });
  const top = Math.exp(2) / (Math.exp(2) + 4);
  expect(p.words!.map((w) => [w.text, w.tag])).toEqual([['Ann', 'B-PER'], ['lives', 'O'], ['in', 'O'], ['New', 'B-LOC'], ['York', 'I-LOC']]);
  expect(p.entities).toHaveLength(2);
  expect(p.entities![0]).toMatchObject({ label: 'PER', text: 'Ann', start: 0, end: 3 });
  expect(p.entities![1]).toMatchObject({ label: 'LOC', text: 'New York', start: 13, end: 21 });
  for (const e of p.entities!) expect(e.score).toBeCloseTo(top, 6);
  // I-LOC after O opens an entity; B-LOC after I-LOC starts a second one.
  const winners2 = [0, 4, 0, 0, 4, 3, 0, 0];
  const row2 = new Float32Array(winners2.length * tags.length);
  winners2.forEach((w, t) => (row2[t * tags.length + w] = 2));
  expect(tokenPrediction(row2, tags, { text, encoding }).entities!.map((e) => e.text)).toEqual(['Ann', 'New', 'York']);

  // "Bob." is one whitespace word but two words for tagging (punctuation splits), so the entity is "Bob".
  const bob = { ids: [], typeIds: [], attentionMask: [], offsets: [[0, 0], [0, 3], [3, 4], [0, 0]] as [number, number][], wordIds: [null, 0, 0, null], tokens: ['[CLS]', 'bob', '.', '[SEP]'] };
  const row3 = new Float32Array(4 * tags.length);
  [0, 1, 0, 0].forEach((w, t) => (row3[t * tags.length + w] = 2));
  const p3 = tokenPrediction(row3, tags, { text: 'Bob.', encoding: bob });
  expect(p3.words!.map((w) => [w.text, w.tag, w.start, w.end])).toEqual([['Bob', 'B-PER', 0, 3], ['.', 'O', 3, 4]]);
  expect(p3.entities!.map((e) => e.text)).toEqual(['Bob']);
});

test('NER BERT: train → ONNX export → kiln predict on JSONL text gives the run model\'s entities with character offsets', async () => {
  let t0 = Date.now();
  const run = await trainBert('ner');
  if (process.env.KILN_PRINT) console.log('train', Date.now() - t0), (t0 = Date.now());
  const out = path.join(run.cwd, 'export-onnx');
  const result = await exportModel({ checkpoint: run.runDir, format: 'onnx', out, cwd: run.cwd, logger: new MemoryLogger() });
  expect(result.files).toEqual(expect.arrayContaining(['model.onnx', 'vocab.txt', 'kiln-model.json']));
  if (process.env.KILN_PRINT) console.log('export', Date.now() - t0), (t0 = Date.now());
  const card = readModelCard(out) as ReturnType<typeof readModelCard> & { onnx: { maxAbsDiff: number; inputDtypes: string[]; head: string } };
  expect(card.task).toBe('token-classification');
  expect(card.classNames).toEqual(['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG']);
  expect(card.onnx).toMatchObject({ head: 'token-classification', inputDtypes: ['int64', 'int64', 'int64'] });
  expect(card.onnx.maxAbsDiff).toBeLessThanOrEqual(1e-4);
  expect(card.preprocessing).toEqual({ kind: 'text', tokenizer: 'wordpiece', vocab: 'vocab.txt', lowercase: true, maxLength: 24 });
  const vocab = fs.readFileSync(path.join(out, 'vocab.txt'), 'utf8').trimEnd().split('\n');
  expect(vocab.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);

  const texts = ['Alice visited Paris with Bob.', 'the meeting in Berlin was long'];
  const file = path.join(run.cwd, 'texts.jsonl');
  fs.writeFileSync(file, texts.map((t) => JSON.stringify({ text: t })).join('\n'));
  const fromExport = await loadExportedPredictor(out);
  const fromRun = await loadRunPredictor(run.runDir, { cwd: run.cwd, logger: new MemoryLogger() });
  try {
    if (process.env.KILN_PRINT) console.log('load', Date.now() - t0), (t0 = Date.now());
    const examples = readPredictInputs([file], fromExport.inputs, fromExport.card.preprocessing, run.cwd, fromExport.text);
    // The export's tokenizer (vocab.txt) encodes as plugin-bert's tokenizer over the same vocabulary.
    const reference = new WordPieceTokenizer(vocab, { lowercase: true }).encode(texts[0], undefined, { maxLength: 24 });
    expect(Array.from(examples[0].inputs.input_ids)).toEqual(reference.ids);
    expect(Array.from(examples[0].inputs.attention_mask)).toEqual(reference.attentionMask);
    const a = await predictAll(fromExport, examples, { batchSize: 8 });
    const b = await predictAll(fromRun, readPredictInputs([file], fromRun.inputs, fromRun.card.preprocessing, run.cwd, fromRun.text), { batchSize: 8 });
    expect(a.map((r) => r.words!.map((w) => w.tag))).toEqual(b.map((r) => r.words!.map((w) => w.tag)));
    expect(a.map((r) => r.entities!.map((e) => [e.label, e.start, e.end]))).toEqual(b.map((r) => r.entities!.map((e) => [e.label, e.start, e.end])));
    a.forEach((r, i) => {
      // Every word of the text, in order, with its own span.
      // Words split on whitespace and punctuation, as Hugging Face's BERT pre-tokenizer.
      expect(r.words!.map((w) => w.text)).toEqual(texts[i].match(/\w+|[^\s\w]/g));
      for (const w of r.words!) expect(texts[i].slice(w.start, w.end)).toBe(w.text);
      for (const e of r.entities!) expect(texts[i].slice(e.start, e.end)).toBe(e.text);
      r.words!.forEach((w, k) => expect(w.score).toBeCloseTo(b[i].words![k].score, 4));
    });
    const jsonl = formatPredictions(a, 'jsonl').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(jsonl[0].source).toBe(`${file}:1`);
    expect(Array.isArray(jsonl[0].entities)).toBe(true);

    // kiln predict (the command) on the export dir writes the same predictions as JSONL.
    const stdout = new PassThrough();
    const ctx = { logger: new MemoryLogger(), cwd: run.cwd, globals: {}, stdout, resolved: {} as ResolvedConfig } as CommandContext;
    expect(await predictCommand.run([['texts.jsonl']], { checkpoint: 'export-onnx', out: 'preds.jsonl' }, ctx)).toBe(0);
    const written = fs.readFileSync(path.join(run.cwd, 'preds.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(written.map((r) => r.entities)).toEqual(JSON.parse(JSON.stringify(a.map((r) => r.entities))));
    expect(written.map((r) => r.words.map((w: { tag: string }) => w.tag))).toEqual(a.map((r) => r.words!.map((w) => w.tag)));

    // kiln serve: { "text" } instances get the same words and entities.
    const app = createServer([fromExport], { maxBatch: 4 });
    try {
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      const res = await fetch(`${base}/v1/models/export-onnx/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: texts.map((text) => ({ text })) }) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { predictions: { words: unknown[]; entities: unknown[] }[] };
      expect(body.predictions.map((p) => p.words)).toEqual(JSON.parse(JSON.stringify(a.map((r) => r.words))));
      expect(body.predictions.map((p) => p.entities)).toEqual(JSON.parse(JSON.stringify(a.map((r) => r.entities))));
      const bad = await fetch(`${base}/v1/models/export-onnx/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [[1, 2, 3]] }) });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/text model takes \{ "text"/);
    } finally {
      await app.close(); // disposes fromExport
    }
  } finally {
    await fromRun.dispose();
  }
});

test('text-classification BERT: ONNX export → predict on a .txt file gives softmax(plugin-bert logits) of the tokenized texts', async () => {
  const texts = ['the team won the final match', 'stocks fell as markets closed'];
  const vocabulary = buildWordPieceVocabulary(texts);
  const classNames = ['sports', 'business', 'science'];
  const model = new BertModel({ config: bertConfig({ vocab_size: vocabulary.length, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 16 }), head: 'sequence-classification', labels: classNames, seed: 9 });
  const root = tempProject();
  dirs.push(root);
  const out = path.join(root, 'export');
  const card: ModelCard = { name: 'topics', task: 'classification', inputs: ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({ name, shape: [null, 12], dtype: 'int32' as const })), classNames, preprocessing: { kind: 'text', tokenizer: 'wordpiece', vocabulary, lowercase: true, maxLength: 12 }, kilnVersion: KILN_VERSION };
  await new OnnxExporter().export(model, out, card);
  const file = path.join(root, 'texts.txt');
  fs.writeFileSync(file, `${texts.join('\n')}\n`);
  const predictor = await loadExportedPredictor(out);
  try {
    const rows = await predictAll(predictor, readPredictInputs([file], predictor.inputs, predictor.card.preprocessing, root, predictor.text), { batchSize: 8 });
    const tokenizer = new WordPieceTokenizer(vocabulary, { lowercase: true });
    expect(rows.map((r) => r.source)).toEqual([`${file}:1`, `${file}:2`]);
    texts.forEach((text, i) => {
      const enc = tokenizer.encode(text, undefined, { maxLength: 12 });
      const logits = tf.tidy(() => Array.from(model.apply({ input_ids: tf.tensor2d([enc.ids], [1, 12], 'int32'), attention_mask: tf.tensor2d([enc.attentionMask], [1, 12], 'int32'), token_type_ids: tf.tensor2d([enc.typeIds], [1, 12], 'int32') }, { training: false }).dataSync()));
      const exps = logits.map((z) => Math.exp(z - Math.max(...logits)));
      const sum = exps.reduce((a, b) => a + b, 0);
      classNames.forEach((c, k) => expect(rows[i].scores![c]).toBeCloseTo(exps[k] / sum, 5));
      expect(rows[i].label).toBe(classNames[logits.indexOf(Math.max(...logits))]);
    });
  } finally {
    await predictor.dispose();
    model.dispose();
  }
});
