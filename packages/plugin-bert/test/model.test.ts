import * as tf from '@tensorflow/tfjs-core';
import { WasmBackend } from '@kiln/plugin-backend-wasm';
import { BertModel, bertConfig, buildBert, gelu, type BertConfig } from '../src';
import { perSliceMatMul } from '../src/attention-matmul';

beforeAll(async () => {
  await new WasmBackend().activate();
  expect(tf.getBackend()).toBe('wasm');
});

/** Parameters of BertModel by the definition: embeddings + L × layer + pooler. */
function expectedParams(c: { V: number; H: number; L: number; I: number; P: number; T: number }, pooler = true): number {
  const linear = (i: number, o: number) => i * o + o;
  const embeddings = c.V * c.H + c.P * c.H + c.T * c.H + 2 * c.H;
  const layer = 4 * linear(c.H, c.H) + 2 * c.H + linear(c.H, c.I) + linear(c.I, c.H) + 2 * c.H;
  return embeddings + c.L * layer + (pooler ? linear(c.H, c.H) : 0);
}

describe('BERT architecture', () => {
  it('bert-base with pooler has exactly 109,482,240 parameters', () => {
    expect(expectedParams({ V: 30522, H: 768, L: 12, I: 3072, P: 512, T: 2 })).toBe(109482240);
    const base = buildBert({ size: 'base', head: 'none' });
    try {
      expect(base.countParams()).toBe(109482240);
      expect(base.bertConfig).toMatchObject({ hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, vocab_size: 30522, layer_norm_eps: 1e-12 });
    } finally {
      base.dispose();
    }
  });

  it('sizes tiny/mini/small as the google/bert_uncased_L-*_H-*_A-* checkpoints, heads as Hugging Face', () => {
    const shapes = { tiny: [2, 128, 512], mini: [4, 256, 1024], small: [4, 512, 2048] } as const;
    for (const [size, [L, H, I]] of Object.entries(shapes)) {
      const m = buildBert({ size: size as 'tiny', head: 'none', vocabSize: 100 });
      expect(m.countParams()).toBe(expectedParams({ V: 100, H, L, I, P: 512, T: 2 }));
      m.dispose();
    }
    const dataset = { task: 'classification' as const, inputs: [], targetShape: [], targetDtype: 'int32' as const, classNames: ['a', 'b', 'c'] };
    const seq = buildBert({ size: 'tiny', vocabSize: 100 }, { dataset });
    expect(seq.name).toBe('BertForSequenceClassification');
    expect(seq.countParams()).toBe(expectedParams({ V: 100, H: 128, L: 2, I: 512, P: 512, T: 2 }) + 128 * 3 + 3);
    seq.dispose();
    // BertForTokenClassification has no pooler (add_pooling_layer=False).
    const tok = buildBert({ size: 'tiny', vocabSize: 100 }, { dataset: { ...dataset, task: 'token-classification' } });
    expect(tok.name).toBe('BertForTokenClassification');
    expect(tok.countParams()).toBe(expectedParams({ V: 100, H: 128, L: 2, I: 512, P: 512, T: 2 }, false) + 128 * 3 + 3);
    expect(Object.keys(tok.getWeights()).some((k) => k.includes('pooler'))).toBe(false);
    tok.dispose();
  });

  it('names and lays out weights as the Hugging Face state_dict (Linear [out, in])', () => {
    const m = new BertModel({ config: bertConfig({ vocab_size: 11, hidden_size: 4, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 6, max_position_embeddings: 8 }), head: 'sequence-classification', numLabels: 3 });
    const shapes = Object.fromEntries(Object.entries(m.getWeights()).map(([k, v]) => [k, v.shape]));
    expect(shapes).toEqual({
      'bert.embeddings.word_embeddings.weight': [11, 4],
      'bert.embeddings.position_embeddings.weight': [8, 4],
      'bert.embeddings.token_type_embeddings.weight': [2, 4],
      'bert.embeddings.LayerNorm.weight': [4],
      'bert.embeddings.LayerNorm.bias': [4],
      'bert.encoder.layer.0.attention.self.query.weight': [4, 4],
      'bert.encoder.layer.0.attention.self.query.bias': [4],
      'bert.encoder.layer.0.attention.self.key.weight': [4, 4],
      'bert.encoder.layer.0.attention.self.key.bias': [4],
      'bert.encoder.layer.0.attention.self.value.weight': [4, 4],
      'bert.encoder.layer.0.attention.self.value.bias': [4],
      'bert.encoder.layer.0.attention.output.dense.weight': [4, 4],
      'bert.encoder.layer.0.attention.output.dense.bias': [4],
      'bert.encoder.layer.0.attention.output.LayerNorm.weight': [4],
      'bert.encoder.layer.0.attention.output.LayerNorm.bias': [4],
      'bert.encoder.layer.0.intermediate.dense.weight': [6, 4],
      'bert.encoder.layer.0.intermediate.dense.bias': [6],
      'bert.encoder.layer.0.output.dense.weight': [4, 6],
      'bert.encoder.layer.0.output.dense.bias': [4],
      'bert.encoder.layer.0.output.LayerNorm.weight': [4],
      'bert.encoder.layer.0.output.LayerNorm.bias': [4],
      'bert.pooler.dense.weight': [4, 4],
      'bert.pooler.dense.bias': [4],
      'classifier.weight': [3, 4],
      'classifier.bias': [3],
    });
    // The padding row of the word embeddings starts at zero, as _init_weights does.
    expect(Array.from(m.getWeights()['bert.embeddings.word_embeddings.weight'].dataSync().slice(0, 4))).toEqual([0, 0, 0, 0]);
    expect(m.inputKeys).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    m.dispose();
  });

  it('computes exact erf-GELU', () => {
    // Φ(1) = 0.841344746…, Φ(−1) = 0.158655254…, Φ(2) = 0.977249868…
    const y = gelu(tf.tensor1d([1, -1, 2, 0])).dataSync();
    expect(y[0]).toBeCloseTo(0.8413447461, 5);
    expect(y[1]).toBeCloseTo(-0.1586552539, 5);
    expect(y[2]).toBeCloseTo(2 * 0.9772498681, 5);
    expect(y[3]).toBe(0);
  });

  it('matches a plain float64 reference of the BERT definition, with an attention mask and token types', () => {
    const config = bertConfig({ vocab_size: 7, hidden_size: 4, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 5, max_position_embeddings: 6, hidden_dropout_prob: 0.5, attention_probs_dropout_prob: 0.5 });
    const model = new BertModel({ config, head: 'sequence-classification', numLabels: 3 });
    // Deterministic weights: sin of a running index (no randomness in the expectation).
    let k = 0;
    const values: Record<string, Float64Array> = {};
    const assign: tf.NamedTensorMap = {};
    for (const [name, v] of Object.entries(model.getWeights())) {
      const data = Float64Array.from({ length: v.size }, () => 0.5 * Math.sin(++k * 0.7));
      if (/LayerNorm\.weight$/.test(name)) data.forEach((x, i) => (data[i] = 1 + 0.2 * x));
      values[name] = data;
      assign[name] = tf.tensor(Float32Array.from(data), v.shape);
    }
    model.setWeights(assign);
    tf.dispose(Object.values(assign));
    const ids = [[2, 5, 1, 0], [3, 6, 0, 0]];
    const mask = [[1, 1, 1, 0], [1, 1, 0, 0]];
    const types = [[0, 0, 1, 0], [0, 1, 0, 0]];
    const inputs = { input_ids: tf.tensor2d(ids, [2, 4], 'int32'), attention_mask: tf.tensor2d(mask, [2, 4], 'int32'), token_type_ids: tf.tensor2d(types, [2, 4], 'int32') };
    const logits = model.apply(inputs, { training: false });
    expect(logits.shape).toEqual([2, 3]);
    const got = logits.arraySync() as number[][];
    for (let b = 0; b < 2; b++) {
      const want = referenceLogits(config, values, ids[b], mask[b], types[b]);
      for (let c = 0; c < 3; c++) expect(got[b][c]).toBeCloseTo(want[c], 4);
    }
    // Masked positions do not influence the others: dropping the padding gives the same logits.
    const short = model.apply({ input_ids: tf.tensor2d([[3, 6]], [1, 2], 'int32'), attention_mask: tf.tensor2d([[1, 1]], [1, 2], 'int32'), token_type_ids: tf.tensor2d([[0, 1]], [1, 2], 'int32') }, { training: false });
    const shortRow = short.dataSync();
    for (let c = 0; c < 3; c++) expect(shortRow[c]).toBeCloseTo(got[1][c], 4);
    // Training mode applies dropout (rate 0.5 here), so outputs differ from inference.
    const dropped = model.apply(inputs, { training: true });
    expect(Math.max(...Array.from(tf.sub(dropped, logits).abs().dataSync()))).toBeGreaterThan(1e-3);
    tf.dispose([logits, short, dropped, ...Object.values(inputs)]);
    model.dispose();
  });
});

/** BERT by the paper and the Hugging Face code, in float64 loops. */
function referenceLogits(c: BertConfig, w: Record<string, Float64Array>, ids: number[], mask: number[], types: number[]): number[] {
  const H = c.hidden_size;
  const L = ids.length;
  const heads = c.num_attention_heads;
  const dh = H / heads;
  const row = (name: string, r: number, width: number) => Array.from(w[name].slice(r * width, (r + 1) * width));
  const linear = (x: number[], name: string, out: number) => {
    const W = w[`${name}.weight`];
    const b = w[`${name}.bias`];
    return Array.from({ length: out }, (_, o) => b[o] + x.reduce((s, xi, i) => s + W[o * x.length + i] * xi, 0));
  };
  const norm = (x: number[], name: string) => {
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const v = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
    return x.map((xi, i) => ((xi - mean) / Math.sqrt(v + c.layer_norm_eps)) * w[`${name}.weight`][i] + w[`${name}.bias`][i]);
  };
  const erf = (x: number) => {
    // Numerical Recipes' erfc fit (relative error < 1.2e-7 everywhere).
    const t = 1 / (1 + 0.5 * Math.abs(x));
    const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? y : -y;
  };
  const p = 'bert.';
  let x = ids.map((id, i) => {
    const e = row(`${p}embeddings.word_embeddings.weight`, id, H);
    const pos = row(`${p}embeddings.position_embeddings.weight`, i, H);
    const tt = row(`${p}embeddings.token_type_embeddings.weight`, types[i], H);
    return norm(e.map((v, j) => v + pos[j] + tt[j]), `${p}embeddings.LayerNorm`);
  });
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const n = `${p}encoder.layer.${l}`;
    const q = x.map((v) => linear(v, `${n}.attention.self.query`, H));
    const k = x.map((v) => linear(v, `${n}.attention.self.key`, H));
    const val = x.map((v) => linear(v, `${n}.attention.self.value`, H));
    const context = x.map(() => new Array<number>(H).fill(0));
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < L; i++) {
        const scores = Array.from({ length: L }, (_, j) => {
          let s = 0;
          for (let d = 0; d < dh; d++) s += q[i][h * dh + d] * k[j][h * dh + d];
          return s / Math.sqrt(dh) + (mask[j] ? 0 : -1e30);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < L; j++) for (let d = 0; d < dh; d++) context[i][h * dh + d] += (e[j] / z) * val[j][h * dh + d];
      }
    }
    const a = x.map((xi, i) => norm(linear(context[i], `${n}.attention.output.dense`, H).map((v, j) => v + xi[j]), `${n}.attention.output.LayerNorm`));
    x = a.map((ai) => {
      const inner = linear(ai, `${n}.intermediate.dense`, c.intermediate_size).map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
      return norm(linear(inner, `${n}.output.dense`, H).map((v, j) => v + ai[j]), `${n}.output.LayerNorm`);
    });
  }
  const pooled = linear(x[0], `${p}pooler.dense`, H).map(Math.tanh);
  return linear(pooled, 'classifier', 3);
}

describe('attention products on wasm', () => {
  it('per-(sequence, head) matmuls give the batched matmul and its gradients', () => {
    const a = tf.tensor3d(Array.from({ length: 3 * 4 * 5 }, (_, i) => Math.sin(i)), [3, 4, 5]);
    const b = tf.tensor3d(Array.from({ length: 3 * 5 * 2 }, (_, i) => Math.cos(i)), [3, 5, 2]);
    const w = tf.tensor3d(Array.from({ length: 3 * 4 * 2 }, (_, i) => i / 10), [3, 4, 2]);
    const before = tf.memory().numTensors;
    const [gaRef, gbRef] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D), w)))([a, b]);
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(perSliceMatMul(x, y), w)))([a, b]);
    const close = (x: tf.Tensor, y: tf.Tensor) => Array.from(x.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(y.dataSync()[i], 5));
    const [y, yRef] = [perSliceMatMul(a, b), tf.matMul(a, b)];
    close(y, yRef);
    close(ga, gaRef);
    close(gb, gbRef);
    tf.dispose([y, yRef, ga, gb, gaRef, gbRef]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, w]);
  });

  it('the model gives the same logits with split and batched attention products (sequence 64, head 64)', () => {
    const model = buildBert({ size: 'tiny', numLayers: 1, vocabSize: 50, maxPositions: 64 }, { dataset: { task: 'classification', inputs: [], targetShape: [], targetDtype: 'int32', classNames: ['a', 'b'] }, seed: 3 });
    const ids = tf.tensor2d(Array.from({ length: 2 * 64 }, (_, i) => (i * 7) % 50), [2, 64], 'int32');
    const mask = tf.tensor2d(Array.from({ length: 2 * 64 }, (_, i) => (i % 64 < 50 ? 1 : 0)), [2, 64], 'int32');
    const split = model.apply({ input_ids: ids, attention_mask: mask }, { training: false });
    process.env.KILN_BERT_BATCHED_MATMUL = '1';
    const batched = model.apply({ input_ids: ids, attention_mask: mask }, { training: false });
    delete process.env.KILN_BERT_BATCHED_MATMUL;
    Array.from(split.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(batched.dataSync()[i], 5));
    tf.dispose([ids, mask, split, batched]);
    model.dispose();
  });
});
