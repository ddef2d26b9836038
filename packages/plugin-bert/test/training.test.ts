import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { definePlugin, MemoryLogger, NoOptions, readSafetensors, Tokens, train, type KilnConfigInput } from '@kiln/core';
import backendWasm from '@kiln/plugin-backend-wasm';
import data from '@kiln/plugin-data';
import trainBasics from '@kiln/plugin-train-basics';
import bert, { buildBert } from '../src';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bert-train-'));
  dirs.push(dir);
  return dir;
};

const tensorsAfterEpoch: number[] = [];
const probe = definePlugin({
  name: 'bert-test-probe',
  version: '0.1.0',
  register(ctx) {
    ctx.provide(Tokens.Callback, 'tensor-count', () => ({
      name: 'tensor-count',
      apply(hooks) {
        hooks.afterEpoch.tap('TensorCount', () => void tensorsAfterEpoch.push(tf.memory().numTensors));
      },
    }), NoOptions);
  },
});

const run = (config: KilnConfigInput, cwd: string) =>
  train(config, { cwd, logger: new MemoryLogger(), defaultPlugins: [], plugins: [backendWasm, data, trainBasics, bert, probe] });

const shape = { size: 'tiny' as const, hiddenSize: 32, numHeads: 2, intermediateSize: 64, numLayers: 1, maxPositions: 32 };
const small = { type: 'bert', ...shape };

describe('BERT training through train()', () => {
  it('text-classification preset: a few steps on wasm, no tensor growth across epochs, a Hugging Face directory at the end', async () => {
    tensorsAfterEpoch.length = 0;
    const cwd = tmp();
    const result = await run(
      {
        extends: '@kiln/presets/text-classification',
        backend: 'wasm',
        data: { trainSize: 64, valSize: 32, maxLength: 16 },
        model: small,
        callbacks: [{ type: 'checkpoint', monitor: 'val/accuracy', mode: 'max' }, { type: 'save-huggingface' }, { type: 'tensor-count' }],
        trainer: { epochs: 3, batchSize: 32 },
      },
      cwd,
    );
    expect(tf.getBackend()).toBe('wasm');
    expect(result.stepsRun).toBe(6);
    expect(result.config.trainer.clipNorm).toBe(1);
    expect(Number.isFinite(result.logs['val/accuracy'])).toBe(true);
    expect(tensorsAfterEpoch).toHaveLength(3);
    expect(tensorsAfterEpoch[2]).toBe(tensorsAfterEpoch[1]);
    // The Kiln checkpoint holds the Hugging Face names under model/.
    const { tensors } = readSafetensors(path.join(result.runDir, 'checkpoints', 'best.safetensors'));
    expect(tensors['model/bert.encoder.layer.0.attention.self.query.weight'].shape).toEqual([32, 32]);
    // The exported directory is the best checkpoint's weights, in Hugging Face layout.
    const hf = path.join(result.runDir, 'huggingface');
    const exported = readSafetensors(path.join(hf, 'model.safetensors')).tensors;
    expect(Array.from(exported['classifier.weight'].data)).toEqual(Array.from(tensors['model/classifier.weight'].data));
    const config = JSON.parse(fs.readFileSync(path.join(hf, 'config.json'), 'utf8'));
    expect(config.id2label).toEqual({ '0': 'sports', '1': 'tech', '2': 'food', '3': 'travel' });
    expect(fs.readFileSync(path.join(hf, 'vocab.txt'), 'utf8').split('\n').slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    const reloaded = buildBert({ pretrained: hf }, { dataset: { task: 'classification', inputs: [], targetShape: [], targetDtype: 'int32', classNames: ['sports', 'tech', 'food', 'travel'] } });
    expect(reloaded.loadReport!.missingKeys).toEqual([]);
    reloaded.dispose();

    // Fine-tuning that directory through the config: its config.json, weights and vocab.txt.
    const logger = new MemoryLogger();
    const tuned = await train(
      {
        extends: '@kiln/presets/text-classification',
        backend: 'wasm',
        data: { trainSize: 32, valSize: 32, maxLength: 16, vocab: hf },
        model: { type: 'bert', pretrained: hf },
        callbacks: [],
        trainer: { epochs: 1, batchSize: 32 },
      },
      { cwd, logger, defaultPlugins: [], plugins: [backendWasm, data, trainBasics, bert] },
    );
    expect(tuned.stepsRun).toBe(1);
    expect(logger.lines.filter((l) => /Some weights/.test(l.message))).toEqual([]);
    expect(Number.isFinite(tuned.logs['val/loss'])).toBe(true);
  });

  it('ner preset: token classification with seqeval for a few steps', async () => {
    const result = await run(
      {
        extends: '@kiln/presets/ner',
        backend: 'wasm',
        data: { trainSize: 64, valSize: 32, maxLength: 24 },
        model: small,
        callbacks: [],
        trainer: { epochs: 1, batchSize: 32 },
      },
      tmp(),
    );
    expect(result.stepsRun).toBe(2);
    expect(result.config.loss).toEqual({ type: 'token-cross-entropy' });
    for (const key of ['val/seqeval/precision', 'val/seqeval/recall', 'val/seqeval/f1']) {
      expect(result.logs[key]).toBeGreaterThanOrEqual(0);
      expect(result.logs[key]).toBeLessThanOrEqual(1);
    }
  });

  it('learns: the loss of a tiny classifier falls on a fixed batch (gradients reach every weight on wasm)', () => {
    const model = buildBert({ ...shape, hiddenDropout: 0, attentionDropout: 0 }, {
      dataset: { task: 'classification', inputs: [], targetShape: [], targetDtype: 'int32', classNames: ['a', 'b'], extra: { vocabSize: 20 } },
      seed: 5,
    });
    const inputs = {
      input_ids: tf.tensor2d([[2, 5, 6, 3], [2, 7, 8, 3], [2, 5, 8, 3], [2, 7, 6, 3]], [4, 4], 'int32'),
      attention_mask: tf.ones([4, 4], 'int32'),
      token_type_ids: tf.zeros([4, 4], 'int32'),
    };
    const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
    const optimizer = tf.train.adam(0.01);
    const lossFn = () => tf.losses.softmaxCrossEntropy(y, model.apply(inputs, { training: true })) as tf.Scalar;
    const { grads, value } = tf.variableGrads(lossFn, model.trainableVariables);
    const zero = Object.entries(grads).filter(([, g]) => tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) === 0).map(([k]) => k);
    // Every variable gets a non-zero gradient through gather, attention, erf-GELU and LayerNorm on wasm.
    expect(Object.keys(grads)).toHaveLength(model.trainableVariables.length);
    expect(zero).toEqual([]);
    const first = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    for (let i = 0; i < 30; i++) tf.dispose(optimizer.minimize(lossFn, true, model.trainableVariables));
    const last = tf.tidy(() => lossFn().dataSync()[0]);
    expect(last).toBeLessThan(first * 0.2);
    optimizer.dispose();
    tf.dispose([y, ...Object.values(inputs)]);
    model.dispose();
  });
});
