/** @jest-environment ./packages/plugin-export/test/ort-environment.js */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { KILN_VERSION, type ModelCard } from '@kiln/core';
import { BertModel, bertConfig, type BertHead } from '@kiln/plugin-bert';
import { OnnxExporter } from '../src/onnx/onnx-exporter';
import { loadExportedPredictor } from '../src/predict/predictor';
import { readModelCard } from '../src/card';
import { TextPreprocessor } from '../src/predict/text';

jest.setTimeout(60_000);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bert-onnx-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const config = bertConfig({ vocab_size: 40, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 16 });

function tinyBert(head: BertHead, seed: number): BertModel {
  const model = new BertModel({ config, head, numLabels: 3, labels: ['O', 'B-X', 'I-X'], seed });
  // Non-trivial LayerNorm affine and biases, so a swapped weight or transpose shows.
  tf.tidy(() => {
    const w = model.getWeights();
    for (const [name, v] of Object.entries(w)) if (name.endsWith('.bias') || name.includes('LayerNorm')) (v as tf.Variable).assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.1, 'float32', seed + name.length)));
  });
  return model;
}

function card(length: number): ModelCard {
  return { name: 'bert', task: 'classification', inputs: ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({ name, shape: [null, length], dtype: 'int32' as const })), classNames: ['O', 'B-X', 'I-X'], preprocessing: { kind: 'text', tokenizer: 'wordpiece', vocabulary: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b'], lowercase: true, maxLength: length }, kilnVersion: KILN_VERSION };
}

test.each([['sequence-classification', [2, 3]], ['token-classification', [2, 6, 3]], ['none', [2, 6, 32]]] as const)('%s BERT exports to ONNX that ONNX Runtime runs like plugin-bert (≤ 1e-4)', async (head, outShape) => {
  const model = tinyBert(head, 3);
  const dir = path.join(root, head);
  const exporter = new OnnxExporter();
  try {
    const result = await exporter.export(model, dir, card(8));
    expect(result.files).toEqual(expect.arrayContaining(['model.onnx', 'vocab.txt', 'kiln-model.json']));
    expect(exporter.lastVerification!.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    if (process.env.KILN_PRINT) console.log(head, exporter.lastVerification!.maxAbsDiff);
    const written = readModelCard(dir);
    expect(written.preprocessing).toEqual({ kind: 'text', tokenizer: 'wordpiece', vocab: 'vocab.txt', lowercase: true, maxLength: 8 });
    expect(fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8')).toBe('[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n');

    // An independent run: batch 2, length 6 (neither verification shape), second row padded after 4 tokens.
    const ids = [2, 7, 9, 30, 3, 11, 2, 5, 6, 3, 0, 0];
    const mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
    const types = [0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0];
    const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    const int64 = (a: number[]) => new ort.Tensor('int64', BigInt64Array.from(a.map(BigInt)), [2, 6]);
    const out = await session.run({ input_ids: int64(ids), attention_mask: int64(mask), token_type_ids: int64(types) });
    await session.release();
    const got = out[session.outputNames[0]];
    expect(got.dims).toEqual(outShape);
    const expected = tf.tidy(() => model.apply({ input_ids: tf.tensor2d(ids, [2, 6], 'int32'), attention_mask: tf.tensor2d(mask, [2, 6], 'int32'), token_type_ids: tf.tensor2d(types, [2, 6], 'int32') }, { training: false }).dataSync());
    let diff = 0;
    (got.data as Float32Array).forEach((v, i) => (diff = Math.max(diff, Math.abs(v - expected[i]))));
    expect(diff).toBeLessThanOrEqual(1e-4);

    // The export's predictor drops the padding columns all rows share (here 3 of 8), then pads token outputs back with zeros.
    const predictor = await loadExportedPredictor(dir);
    try {
      const rowIds = [2, 9, 17, 21, 3, 0, 0, 0, 2, 30, 3, 0, 0, 0, 0, 0];
      const rowMask = rowIds.map((id, i) => (id !== 0 || i % 8 === 0 ? 1 : 0));
      const zeros = new Int32Array(16);
      const { data, width } = await predictor.run([Int32Array.from(rowIds), Int32Array.from(rowMask), zeros], 2);
      const reference = tf.tidy(() => model.apply({ input_ids: tf.tensor2d(rowIds, [2, 8], 'int32'), attention_mask: tf.tensor2d(rowMask, [2, 8], 'int32'), token_type_ids: tf.tensor2d(zeros, [2, 8], 'int32') }, { training: false }).dataSync());
      expect(width * 2).toBe(reference.length);
      const perToken = head === 'sequence-classification' ? 0 : width / 8;
      let worst = 0;
      data.forEach((v, i) => {
        const t = perToken ? Math.floor((i % width) / perToken) : 0;
        if (perToken && t >= 5) expect(v).toBe(0);
        else worst = Math.max(worst, Math.abs(v - reference[i]));
      });
      expect(worst).toBeLessThanOrEqual(1e-4);
    } finally {
      await predictor.dispose();
    }
  } finally {
    model.dispose();
  }
});

test('a BERT whose forward differs from its weights fails the export loudly and writes no file', async () => {
  const model = tinyBert('sequence-classification', 5);
  // The Kiln forward shifts the logits by 1e-3 (10× the tolerance), which the weights do not say.
  const skewed = Object.assign(Object.create(Object.getPrototypeOf(model)), model, {
    apply: (inputs: Record<string, tf.Tensor>, o: { training: boolean }) => tf.tidy(() => tf.add(model.apply(inputs, o), 1e-3)),
  });
  const dir = path.join(root, 'skewed');
  try {
    await expect(new OnnxExporter().export(skewed, dir, card(8))).rejects.toThrow(/does not match it: max \|diff\| 1\.000e-3 > 0\.0001/);
    expect(fs.existsSync(path.join(dir, 'model.onnx'))).toBe(false);
  } finally {
    model.dispose();
  }
});

test('a tokenizer.json the run read is copied beside the model and named in kiln-model.json', async () => {
  const model = tinyBert('token-classification', 7);
  const source = path.join(root, 'tokenizer.json');
  const json = JSON.stringify({ model: { type: 'WordPiece', vocab: { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, '[MASK]': 4, a: 5, b: 6 } }, normalizer: { type: 'BertNormalizer', lowercase: true } });
  fs.writeFileSync(source, json);
  const dir = path.join(root, 'with-tokenizer-json');
  try {
    const given = card(8);
    const result = await new OnnxExporter().export(model, dir, { ...given, preprocessing: { ...given.preprocessing, tokenizerJson: source } });
    expect(result.files).toEqual(expect.arrayContaining(['model.onnx', 'vocab.txt', 'tokenizer.json', 'kiln-model.json']));
    expect(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')).toBe(json);
    expect(readModelCard(dir).preprocessing).toEqual({ kind: 'text', tokenizer: 'wordpiece', vocab: 'vocab.txt', tokenizerJson: 'tokenizer.json', lowercase: true, maxLength: 8 });
    // Inference tokenizes with that file: [CLS] a b [SEP] then padding to maxLength 8 (ids from its vocab).
    const text = TextPreprocessor.from(readModelCard(dir).preprocessing, dir)!;
    const { inputs } = text.encode('A b', undefined, [{ name: 'input_ids', shape: [8], dtype: 'int32' }, { name: 'attention_mask', shape: [8], dtype: 'int32' }]);
    expect(Array.from(inputs.input_ids)).toEqual([2, 5, 6, 3, 0, 0, 0, 0]);
    expect(Array.from(inputs.attention_mask)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
  } finally {
    model.dispose();
  }
});
