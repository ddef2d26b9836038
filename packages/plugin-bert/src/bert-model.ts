import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DataError, type Model } from '@kiln/core';
import { HF_ARCHITECTURE, sameShape, type BertConfig, type BertHead } from './config';
import { loadHuggingFaceWeights, saveHuggingFace, type LoadReport } from './huggingface';
import { attentionMatMul } from './attention-matmul';

export const BERT_INPUT_KEYS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
/** Accepted in place of the Hugging Face names (plugin-data's synthetic-text reader uses these). */
const INPUT_ALIASES: Record<string, string> = { input_ids: 'tokens', attention_mask: 'mask' };

export interface BertModelInit {
  config: BertConfig;
  head: BertHead;
  /** Classes of the head (ignored for head 'none'). */
  numLabels?: number;
  /** Class names, written to config.json as id2label. */
  labels?: string[];
  /** Seeds the normal(0, initializer_range) initialization. */
  seed?: number;
  /** Vocabulary (vocab.txt lines) saved beside the weights by saveHuggingFace. */
  vocabulary?: string[];
}

interface LinearWeights {
  weight: tf.Variable;
  bias: tf.Variable;
}
interface NormWeights {
  weight: tf.Variable;
  bias: tf.Variable;
}
interface LayerWeights {
  query: LinearWeights;
  key: LinearWeights;
  value: LinearWeights;
  attentionOutput: LinearWeights;
  attentionNorm: NormWeights;
  intermediate: LinearWeights;
  output: LinearWeights;
  outputNorm: NormWeights;
}

const FLOAT32_MIN = -3.4028234663852886e38;

/**
 * BERT (Devlin et al. 2019) laid out as Hugging Face's `BertModel`, optionally with the
 * `BertForSequenceClassification` or `BertForTokenClassification` head. Written with plain
 * tf ops on tf.Variables; weights are stored under the Hugging Face names and in their
 * layouts (Linear weights [out, in]), so `getWeights()` is a `state_dict`.
 */
export class BertModel implements Model {
  readonly name: string;
  readonly inputKeys: string[] = [...BERT_INPUT_KEYS];
  readonly bertConfig: BertConfig;
  readonly head: BertHead;
  readonly numLabels: number;
  readonly labels?: string[];
  vocabulary?: string[];
  /** `bert.` for models with a head, '' for the bare encoder (as in Hugging Face). */
  readonly prefix: string;
  readonly hasPooler: boolean;
  private readonly weights = new Map<string, tf.Variable>();
  private readonly embeddings: { word: tf.Variable; position: tf.Variable; tokenType: tf.Variable; norm: NormWeights };
  private readonly layers: LayerWeights[] = [];
  private readonly pooler?: LinearWeights;
  private readonly classifier?: LinearWeights;
  private seedCounter: number;
  private disposed = false;

  constructor(init: BertModelInit) {
    const c = init.config;
    this.bertConfig = { ...c };
    this.head = init.head;
    this.name = HF_ARCHITECTURE[init.head];
    this.labels = init.labels;
    this.vocabulary = init.vocabulary;
    this.numLabels = init.head === 'none' ? 0 : init.numLabels ?? init.labels?.length ?? 2;
    this.prefix = init.head === 'none' ? '' : 'bert.';
    // BertForTokenClassification builds its BertModel with add_pooling_layer=False.
    this.hasPooler = init.head !== 'token-classification';
    this.seedCounter = (init.seed ?? 0) * 7919;
    const H = c.hidden_size;
    const p = this.prefix;
    const word = this.normal(`${p}embeddings.word_embeddings.weight`, [c.vocab_size, H], c.pad_token_id);
    this.embeddings = {
      word,
      position: this.normal(`${p}embeddings.position_embeddings.weight`, [c.max_position_embeddings, H]),
      tokenType: this.normal(`${p}embeddings.token_type_embeddings.weight`, [c.type_vocab_size, H]),
      norm: this.norm(`${p}embeddings.LayerNorm`, H),
    };
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const l = `${p}encoder.layer.${i}`;
      this.layers.push({
        query: this.linear(`${l}.attention.self.query`, H, H),
        key: this.linear(`${l}.attention.self.key`, H, H),
        value: this.linear(`${l}.attention.self.value`, H, H),
        attentionOutput: this.linear(`${l}.attention.output.dense`, H, H),
        attentionNorm: this.norm(`${l}.attention.output.LayerNorm`, H),
        intermediate: this.linear(`${l}.intermediate.dense`, H, c.intermediate_size),
        output: this.linear(`${l}.output.dense`, c.intermediate_size, H),
        outputNorm: this.norm(`${l}.output.LayerNorm`, H),
      });
    }
    if (this.hasPooler) this.pooler = this.linear(`${p}pooler.dense`, H, H);
    if (init.head !== 'none') this.classifier = this.linear('classifier', H, this.numLabels);
  }

  private nextSeed(): number {
    return (this.seedCounter = (this.seedCounter + 1) % 2147483647);
  }

  private add(name: string, value: tf.Tensor): tf.Variable {
    const v = tf.variable(value, true);
    value.dispose();
    this.weights.set(name, v);
    return v;
  }

  /** normal(0, initializer_range) as `BertPreTrainedModel._init_weights`; the padding row of an embedding is zero. */
  private normal(name: string, shape: [number, number], paddingIdx?: number): tf.Variable {
    const data = normalSamples(shape[0] * shape[1], this.bertConfig.initializer_range, this.nextSeed());
    if (paddingIdx !== undefined && paddingIdx >= 0 && paddingIdx < shape[0]) data.fill(0, paddingIdx * shape[1], (paddingIdx + 1) * shape[1]);
    return this.add(name, tf.tensor2d(data, shape));
  }

  private linear(name: string, inFeatures: number, outFeatures: number): LinearWeights {
    return { weight: this.normal(`${name}.weight`, [outFeatures, inFeatures]), bias: this.add(`${name}.bias`, tf.zeros([outFeatures])) };
  }

  private norm(name: string, size: number): NormWeights {
    return { weight: this.add(`${name}.weight`, tf.ones([size])), bias: this.add(`${name}.bias`, tf.zeros([size])) };
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.weights.values()];
  }

  /** Every weight under its Hugging Face name (the variables themselves, not copies). */
  getWeights(): tf.NamedTensorMap {
    return Object.fromEntries(this.weights);
  }

  /** Names and shapes of every weight, in state_dict order. */
  weightShapes(): Map<string, number[]> {
    return new Map([...this.weights].map(([k, v]) => [k, v.shape.slice()]));
  }

  /** Assigns every given weight; unknown names and wrong shapes are errors (see loadHuggingFace for partial loads). */
  setWeights(weights: tf.NamedTensorMap): void {
    for (const [name, t] of Object.entries(weights)) {
      const v = this.weights.get(name);
      if (!v) throw new DataError(`no weight named '${name}' in ${this.name}`, { where: name, hint: `expected names such as ${[...this.weights.keys()].slice(0, 3).join(', ')}` });
      if (!sameShape(v.shape, t.shape)) {
        throw new DataError(`size mismatch for ${name}: copying a param with shape [${t.shape}], the shape in the current model is [${v.shape}]`, {
          where: name,
          hint: 'the checkpoint was made for another model size or number of labels',
        });
      }
      v.assign(t.dtype === 'float32' ? t : tf.cast(t, 'float32'));
    }
  }

  /** Writes config.json + model.safetensors (+ vocab.txt) that `transformers` loads (see saveHuggingFace). */
  saveHuggingFace(dir: string, options: { lowercase?: boolean; maxLength?: number } = {}): void {
    saveHuggingFace(this, dir, options);
  }

  /** Loads a Hugging Face checkpoint directory or .safetensors file as `from_pretrained` does, returning its report. */
  loadHuggingFace(dir: string): LoadReport {
    return loadHuggingFaceWeights(this, dir);
  }

  countParams(): number {
    let n = 0;
    for (const v of this.weights.values()) n += v.size;
    return n;
  }

  private input(inputs: Record<string, tf.Tensor>, key: string): tf.Tensor | undefined {
    return inputs[key] ?? (INPUT_ALIASES[key] ? inputs[INPUT_ALIASES[key]] : undefined);
  }

  /**
   * Sequence classification: logits [batch, labels]; token classification: logits
   * [batch, length, labels]; bare encoder: last hidden state [batch, length, hidden].
   */
  apply(inputs: Record<string, tf.Tensor>, options: { training: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const { sequence, pooled } = this.encode(inputs, options);
      const [B, L, H] = sequence.shape;
      const dropout = this.bertConfig.classifier_dropout ?? this.bertConfig.hidden_dropout_prob;
      if (this.head === 'sequence-classification') return this.dense(this.dropout(pooled!, dropout, options.training), this.classifier!);
      if (this.head === 'token-classification') {
        const flat = this.dropout(tf.reshape(sequence, [B * L, H]), dropout, options.training);
        return tf.reshape(this.dense(flat, this.classifier!), [B, L, this.numLabels]);
      }
      return sequence;
    });
  }

  /** The encoder: last hidden state [batch, length, hidden] and, with a pooler, tanh(dense(h[CLS])) [batch, hidden]. */
  encode(inputs: Record<string, tf.Tensor>, options: { training: boolean }): { sequence: tf.Tensor3D; pooled?: tf.Tensor2D } {
    if (this.disposed) throw new Error('BertModel used after dispose()');
    const ids = this.input(inputs, 'input_ids');
    if (!ids) {
      throw new DataError(`${this.name} needs an 'input_ids' input, got [${Object.keys(inputs).join(', ')}]`, {
        where: 'model',
        hint: 'use a text reader that tokenizes for BERT (bert-text, bert-synthetic-text, conll)',
      });
    }
    const c = this.bertConfig;
    const [B, L] = ids.shape as [number, number];
    if (L > c.max_position_embeddings) {
      throw new ConfigError(`sequences of ${L} tokens exceed max_position_embeddings ${c.max_position_embeddings}`, { where: 'data.maxLength', hint: `truncate to at most ${c.max_position_embeddings} tokens` });
    }
    return tf.tidy(() => {
      const training = options.training;
      const H = c.hidden_size;
      const heads = c.num_attention_heads;
      const dh = H / heads;
      const idsInt = tf.cast(ids, 'int32');
      const maskIn = this.input(inputs, 'attention_mask');
      const typesIn = this.input(inputs, 'token_type_ids');
      const word = tf.gather(this.embeddings.word, tf.reshape(idsInt, [B * L]));
      const position = tf.slice(this.embeddings.position, [0, 0], [L, H]);
      const types = typesIn
        ? tf.gather(this.embeddings.tokenType, tf.reshape(tf.cast(typesIn, 'int32'), [B * L]))
        : tf.slice(this.embeddings.tokenType, [0, 0], [1, H]);
      let x: tf.Tensor = tf.reshape(tf.add(tf.reshape(tf.add(word, types), [B, L, H]), position), [B * L, H]);
      x = this.dropout(this.layerNorm(x, this.embeddings.norm), c.hidden_dropout_prob, training);
      // Additive mask as Hugging Face builds it: (1 − mask) · float32 min, broadcast over heads and queries.
      const additive = maskIn ? tf.reshape(tf.mul(tf.sub(1, tf.cast(maskIn, 'float32')), FLOAT32_MIN), [B, 1, 1, L]) : undefined;
      const scale = 1 / Math.sqrt(dh);
      for (const layer of this.layers) {
        const q = tf.transpose(tf.reshape(this.dense(x, layer.query), [B, L, heads, dh]), [0, 2, 1, 3]);
        const kT = tf.transpose(tf.reshape(this.dense(x, layer.key), [B, L, heads, dh]), [0, 2, 3, 1]);
        const v = tf.transpose(tf.reshape(this.dense(x, layer.value), [B, L, heads, dh]), [0, 2, 1, 3]);
        let scores: tf.Tensor = attentionMatMul(tf.mul(q, scale), kT);
        if (additive) scores = tf.add(scores, additive);
        const probs = this.dropout(tf.softmax(scores), c.attention_probs_dropout_prob, training);
        const context = tf.reshape(tf.transpose(attentionMatMul(probs, v), [0, 2, 1, 3]), [B * L, H]);
        const attended = this.dropout(this.dense(context, layer.attentionOutput), c.hidden_dropout_prob, training);
        const a = this.layerNorm(tf.add(attended, x), layer.attentionNorm);
        const inner = gelu(this.dense(a, layer.intermediate));
        const out = this.dropout(this.dense(inner, layer.output), c.hidden_dropout_prob, training);
        x = this.layerNorm(tf.add(out, a), layer.outputNorm);
      }
      const sequence = tf.reshape(x, [B, L, H]) as tf.Tensor3D;
      if (!this.pooler) return { sequence };
      const first = tf.reshape(tf.slice(sequence, [0, 0, 0], [B, 1, H]), [B, H]);
      const pooled = tf.tanh(this.dense(first, this.pooler)) as tf.Tensor2D;
      return { sequence, pooled };
    });
  }

  /** torch.nn.Linear: x·Wᵀ + b with W [out, in]. */
  private dense(x: tf.Tensor, w: LinearWeights): tf.Tensor2D {
    return tf.fused.matMul({ a: x as tf.Tensor2D, b: w.weight as tf.Tensor as tf.Tensor2D, transposeB: true, bias: w.bias }) as tf.Tensor2D;
  }

  private layerNorm(x: tf.Tensor, w: NormWeights): tf.Tensor {
    const { mean, variance } = tf.moments(x, -1, true);
    const normalized = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.bertConfig.layer_norm_eps)));
    return tf.add(tf.mul(normalized, w.weight), w.bias);
  }

  private dropout<T extends tf.Tensor>(x: T, rate: number, training: boolean): T {
    return training && rate > 0 ? (tf.dropout(x, rate) as T) : x;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.weights.values()) v.dispose();
    this.weights.clear();
  }
}

/** Seeded N(0, std²) samples (mulberry32 + Box–Muller): tfjs's randomNormal takes ~20 s for bert-base's 110M values. */
export function normalSamples(n: number, std: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  // Local aliases: a global lookup per call is slow inside vm contexts (Jest).
  const { imul, sqrt, log, cos, sin, PI } = Math;
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  for (let i = 0; i < n; i += 2) {
    const r = std * sqrt(-2 * log(uniform()));
    const theta = 2 * PI * uniform();
    out[i] = r * cos(theta);
    if (i + 1 < n) out[i + 1] = r * sin(theta);
  }
  return out;
}

/** The exact GELU of BERT: x·Φ(x) = x/2 · (1 + erf(x/√2)). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))));
}
