import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { DataError, KilnError, MemoryLogger, readSafetensors, writeSafetensors, type StoredTensor } from '@kiln/core';
import { WasmBackend } from '@kiln/plugin-backend-wasm';
import { buildBert, saveHuggingFace, type BertModel } from '../src';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bert-ckpt-'));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  await new WasmBackend().activate();
});

const vocabulary = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b', 'c', '##a', '##b'];
const dataset = (task: 'classification' | 'token-classification', classes = ['x', 'y', 'z']) => ({
  task,
  inputs: [],
  targetShape: task === 'classification' ? [] : [5],
  targetDtype: 'int32' as const,
  classNames: classes,
  extra: { vocabulary, vocabSize: vocabulary.length },
});
const small = { size: 'tiny' as const, hiddenSize: 16, numHeads: 2, intermediateSize: 24, numLayers: 2, maxPositions: 8 };

function inputs(): Record<string, tf.Tensor> {
  return {
    input_ids: tf.tensor2d([[2, 5, 9, 3, 0], [2, 6, 7, 8, 3]], [2, 5], 'int32'),
    attention_mask: tf.tensor2d([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], [2, 5], 'int32'),
    token_type_ids: tf.tensor2d([[0, 0, 0, 0, 0], [0, 0, 1, 1, 1]], [2, 5], 'int32'),
  };
}
function outputs(model: BertModel): Float32Array {
  const x = inputs();
  const y = model.apply(x, { training: false });
  const data = y.dataSync() as Float32Array;
  tf.dispose([y, ...Object.values(x)]);
  return data;
}

describe('Hugging Face checkpoints', () => {
  it('saves config.json + model.safetensors + vocab.txt that load back to identical outputs', () => {
    const dir = tmp();
    const a = buildBert(small, { dataset: dataset('classification'), seed: 1 });
    const b = buildBert(small, { dataset: dataset('classification'), seed: 2 });
    a.saveHuggingFace(dir);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architectures: ['BertForSequenceClassification'],
      model_type: 'bert',
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 24,
      max_position_embeddings: 8,
      vocab_size: 10,
      type_vocab_size: 2,
      hidden_act: 'gelu',
      layer_norm_eps: 1e-12,
      id2label: { '0': 'x', '1': 'y', '2': 'z' },
      label2id: { x: 0, y: 1, z: 2 },
    });
    expect(fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').split('\n').slice(0, 10)).toEqual(vocabulary);
    const { tensors, metadata } = readSafetensors(path.join(dir, 'model.safetensors'));
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors['bert.encoder.layer.1.intermediate.dense.weight'].shape).toEqual([24, 16]);
    expect(tensors['classifier.weight'].shape).toEqual([3, 16]);
    expect(Array.from(outputs(a))).not.toEqual(Array.from(outputs(b)));
    const report = b.loadHuggingFace(dir);
    expect(report.missingKeys).toEqual([]);
    expect(report.unexpectedKeys).toEqual([]);
    expect(report.messages).toEqual([]);
    expect(Array.from(outputs(b))).toEqual(Array.from(outputs(a)));
    // And through the model option, which takes the architecture from config.json.
    const c = buildBert({ pretrained: dir }, { dataset: dataset('classification') });
    expect(c.bertConfig.hidden_size).toBe(16);
    expect(Array.from(outputs(c))).toEqual(Array.from(outputs(a)));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('reports missing and unexpected tensors as Hugging Face does', () => {
    const dir = tmp();
    const source = buildBert(small, { dataset: dataset('classification'), seed: 1 });
    saveHuggingFace(source, dir);
    const file = path.join(dir, 'model.safetensors');
    const { tensors } = readSafetensors(file);
    delete tensors['bert.encoder.layer.0.attention.self.key.bias'];
    tensors['cls.predictions.bias'] = { dtype: 'float32', shape: [10], data: new Float32Array(10) };
    // TF-era names (LayerNorm.gamma/beta, as in bert-base-uncased's files) load as weight/bias.
    tensors['bert.embeddings.LayerNorm.gamma'] = tensors['bert.embeddings.LayerNorm.weight'];
    delete tensors['bert.embeddings.LayerNorm.weight'];
    writeSafetensors(file, tensors, { format: 'pt' });
    const logger = new MemoryLogger();
    const target = buildBert({ pretrained: dir }, { dataset: dataset('classification'), logger });
    const report = target.loadReport!;
    expect(report.missingKeys).toEqual(['bert.encoder.layer.0.attention.self.key.bias']);
    expect(report.unexpectedKeys).toEqual(['cls.predictions.bias']);
    expect(report.messages[0]).toMatch(/^Some weights of the model checkpoint at .* were not used when initializing BertForSequenceClassification: \['cls\.predictions\.bias'\]/);
    expect(report.messages[1]).toMatch(/^Some weights of BertForSequenceClassification were not initialized from the model checkpoint at .* and are newly initialized: \['bert\.encoder\.layer\.0\.attention\.self\.key\.bias'\]\nYou should probably TRAIN this model/);
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(report.messages);
    // Everything that was present is loaded: the other weights equal the source's.
    const w = target.getWeights();
    const s = source.getWeights();
    expect(Array.from(w['bert.encoder.layer.1.output.dense.weight'].dataSync())).toEqual(Array.from(s['bert.encoder.layer.1.output.dense.weight'].dataSync()));
    source.dispose();
    target.dispose();
  });

  it('loads a bare BertModel checkpoint into a token classifier: adds bert., ignores the pooler as transformers does, reports the classifier missing', () => {
    const dir = tmp();
    const encoder = buildBert({ ...small, head: 'none' }, { dataset: dataset('classification'), seed: 4 });
    saveHuggingFace(encoder, dir);
    expect(Object.keys(readSafetensors(path.join(dir, 'model.safetensors')).tensors)[0]).toBe('embeddings.word_embeddings.weight');
    const tagger = buildBert({ pretrained: dir }, { dataset: dataset('token-classification', ['O', 'B-X', 'I-X']) });
    expect(tagger.name).toBe('BertForTokenClassification');
    // BertForTokenClassification has no pooler and ignores one in checkpoints (_keys_to_ignore_on_load_unexpected).
    expect(tagger.loadReport!.unexpectedKeys).toEqual([]);
    expect(tagger.loadReport!.missingKeys).toEqual(['classifier.weight', 'classifier.bias']);
    expect(Array.from(tagger.getWeights()['bert.embeddings.word_embeddings.weight'].dataSync())).toEqual(Array.from(encoder.getWeights()['embeddings.word_embeddings.weight'].dataSync()));
    encoder.dispose();
    tagger.dispose();
  });

  it('refuses a tensor of the wrong shape, naming it and both shapes', () => {
    const dir = tmp();
    const source = buildBert(small, { dataset: dataset('classification'), seed: 1 });
    saveHuggingFace(source, dir);
    source.dispose();
    const file = path.join(dir, 'model.safetensors');
    const { tensors } = readSafetensors(file);
    tensors['bert.encoder.layer.1.attention.output.dense.weight'] = { dtype: 'float32', shape: [16, 12], data: new Float32Array(16 * 12) } as StoredTensor;
    writeSafetensors(file, tensors, { format: 'pt' });
    const before = tf.memory().numTensors;
    let error: unknown;
    try {
      buildBert({ pretrained: dir }, { dataset: dataset('classification') });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataError);
    const e = error as KilnError;
    expect(e.message).toBe('size mismatch for bert.encoder.layer.1.attention.output.dense.weight: copying a param with shape [16, 12] from checkpoint, the shape in current model is [16, 16]');
    expect(e.where).toBe(`${file}: bert.encoder.layer.1.attention.output.dense.weight`);
    expect(e.hint).toMatch(/config\.json/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses data tokenized with another vocabulary than the checkpoint', () => {
    const dir = tmp();
    const source = buildBert(small, { dataset: dataset('classification'), seed: 1 });
    source.saveHuggingFace(dir);
    source.dispose();
    const other = { ...dataset('classification'), extra: { vocabulary: [...vocabulary.slice(0, 9), 'zz'], vocabSize: 10 } };
    let error: unknown;
    try {
      buildBert({ pretrained: dir }, { dataset: other });
    } catch (e) {
      error = e;
    }
    expect(KilnError.is(error)).toBe(true);
    expect((error as KilnError).where).toBe('model.pretrained');
    expect((error as KilnError).hint).toMatch(/set data\.vocab to/);
  });

  it('says where to put the files when the directory has no checkpoint', () => {
    const dir = tmp();
    let error: unknown;
    try {
      buildBert({ pretrained: dir }, { dataset: dataset('classification') });
    } catch (e) {
      error = e;
    }
    expect(KilnError.is(error)).toBe(true);
    expect((error as KilnError).where).toBe(path.join(dir, 'config.json'));
    expect((error as KilnError).hint).toMatch(/config\.json, model\.safetensors, vocab\.txt/);
  });
});
