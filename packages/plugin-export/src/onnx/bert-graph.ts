import * as tf from '@tensorflow/tfjs-core';
import { onnx } from 'onnx-proto';
import { TrainingError } from '@kiln/core';
import { encodeModel, GraphBuilder, INT64, valueInfo } from './graph-builder';
import type { OnnxConversion } from './convert';

/** The Hugging Face BertConfig fields the graph needs (config.json names). */
export interface BertConfigLike {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  hidden_act?: string;
  position_embedding_type?: string;
}

/**
 * What the exporter needs of a BERT model (plugin-bert's BertModel has it): the HF config, the
 * state_dict under Hugging Face names with Linear weights [out, in], and the forward pass.
 */
export interface BertLikeModel {
  bertConfig: BertConfigLike;
  getWeights(): tf.NamedTensorMap;
  apply(inputs: Record<string, tf.Tensor>, options: { training: boolean }): tf.Tensor;
  head?: string;
  inputKeys?: readonly string[];
  labels?: string[];
  vocabulary?: string[];
}

export type BertHeadKind = 'sequence-classification' | 'token-classification' | 'none';

export const BERT_ONNX_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

/** Hugging Face's additive attention mask: (1 − mask) · finfo(float32).min. */
const FLOAT32_MIN = -3.4028234663852886e38;

export function isBertLike(model: unknown): model is BertLikeModel {
  const m = model as Partial<BertLikeModel> | null;
  return typeof m === 'object' && m !== null && typeof m.bertConfig === 'object' && m.bertConfig !== null && typeof m.getWeights === 'function';
}

/** The state_dict's prefix ('bert.' under a head, '' for a bare BertModel) and head. */
export function bertLayout(model: BertLikeModel): { prefix: string; head: BertHeadKind; weights: tf.NamedTensorMap } {
  const weights = model.getWeights();
  const prefix = 'bert.embeddings.word_embeddings.weight' in weights ? 'bert.' : '';
  let head: BertHeadKind = 'none';
  if ('classifier.weight' in weights) {
    head = model.head === 'token-classification' || model.head === 'sequence-classification' ? model.head : `${prefix}pooler.dense.weight` in weights ? 'sequence-classification' : 'token-classification';
  }
  return { prefix, head, weights };
}

class BertGraph {
  readonly g = new GraphBuilder();

  constructor(
    private readonly weights: tf.NamedTensorMap,
    private readonly prefix: string,
  ) {}

  private tensor(name: string): tf.Tensor {
    const t = this.weights[name];
    if (!t) throw new TrainingError(`BERT weight '${name}' is missing`, { hint: 'the model does not have the Hugging Face BertModel layout the ONNX writer expects' });
    return t;
  }

  private init(name: string, transform?: (t: tf.Tensor) => tf.Tensor): string {
    const t = this.tensor(name);
    const out = transform ? tf.tidy(() => transform(t)) : t;
    const data = out.dataSync();
    const dims = out.shape.slice();
    if (out !== t) out.dispose();
    return this.g.floatConst(name, dims, data);
  }

  /** torch.nn.Linear: x · Wᵀ + b, with Wᵀ stored [in, out] so MatMul broadcasts over leading axes. */
  linear(x: string, name: string): string {
    const w = this.init(`${name}.weight`, (t) => tf.transpose(t));
    const b = this.init(`${name}.bias`);
    return this.g.op('Add', [this.g.op('MatMul', [x, w]), b]);
  }

  layerNorm(x: string, name: string, eps: number): string {
    return this.g.op('LayerNormalization', [x, this.init(`${name}.weight`), this.init(`${name}.bias`)], { axis: -1, epsilon: { float: eps } });
  }

  /** Exact GELU as plugin-bert computes it: (x · ½) · (1 + erf(x · √½)). */
  gelu(x: string): string {
    const g = this.g;
    const erf = g.op('Erf', [g.op('Mul', [x, g.scalar('gelu_sqrt_half', Math.SQRT1_2)])]);
    return g.op('Mul', [g.op('Mul', [x, g.scalar('gelu_half', 0.5)]), g.op('Add', [erf, g.scalar('gelu_one', 1)])]);
  }

  build(c: BertConfigLike, head: BertHeadKind): { output: string; outputShape: (number | null)[] } {
    const g = this.g;
    const p = this.prefix;
    const H = c.hidden_size;
    const heads = c.num_attention_heads;
    const dh = H / heads;
    const [ids, mask, types] = BERT_ONNX_INPUTS;
    for (const name of BERT_ONNX_INPUTS) g.reserve(name);

    const word = g.op('Gather', [this.init(`${p}embeddings.word_embeddings.weight`), ids], { axis: 0 });
    const type = g.op('Gather', [this.init(`${p}embeddings.token_type_embeddings.weight`), types], { axis: 0 });
    // position_ids = arange(seq_len): the first seq_len rows of the position table.
    const length = g.op('Shape', [ids], { start: 1, end: 2 });
    const position = g.op('Slice', [this.init(`${p}embeddings.position_embeddings.weight`), g.int64Const('zero', [0]), length, g.int64Const('axis0', [0])]);
    let x = g.op('Add', [g.op('Add', [word, type]), position]);
    x = this.layerNorm(x, `${p}embeddings.LayerNorm`, c.layer_norm_eps);

    const keep = g.op('Cast', [mask], { to: onnx.TensorProto.DataType.FLOAT });
    const additive = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [g.scalar('mask_one', 1), keep]), g.scalar('mask_min', FLOAT32_MIN)]), g.int64Const('mask_axes', [1, 2])]);
    const headShape = g.int64Const('head_shape', [0, 0, heads, dh]);
    const hiddenShape = g.int64Const('hidden_shape', [0, 0, H]);
    const scale = g.scalar('attention_scale', 1 / Math.sqrt(dh));
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const l = `${p}encoder.layer.${i}`;
      const split = (name: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [this.linear(x, `${l}.attention.self.${name}`), headShape])], { perm });
      const q = split('query', [0, 2, 1, 3]);
      const kT = split('key', [0, 2, 3, 1]);
      const v = split('value', [0, 2, 1, 3]);
      const scores = g.op('Add', [g.op('MatMul', [g.op('Mul', [q, scale]), kT]), additive]);
      const probs = g.op('Softmax', [scores], { axis: -1 });
      const context = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), hiddenShape]);
      const attended = this.linear(context, `${l}.attention.output.dense`);
      const a = this.layerNorm(g.op('Add', [attended, x]), `${l}.attention.output.LayerNorm`, c.layer_norm_eps);
      const inner = this.gelu(this.linear(a, `${l}.intermediate.dense`));
      const out = this.linear(inner, `${l}.output.dense`);
      x = this.layerNorm(g.op('Add', [out, a]), `${l}.output.LayerNorm`, c.layer_norm_eps);
    }
    if (head === 'token-classification') return { output: this.linear(x, 'classifier'), outputShape: [null, null, this.tensor('classifier.weight').shape[0]] };
    if (head === 'none') return { output: x, outputShape: [null, null, H] };
    const first = g.op('Gather', [x, g.int64Const('cls_index', [0])], { axis: 1 });
    const pooled = g.op('Tanh', [this.linear(g.op('Squeeze', [first, g.int64Const('cls_axis', [1])]), `${p}pooler.dense`)]);
    return { output: this.linear(pooled, 'classifier'), outputShape: [null, this.tensor('classifier.weight').shape[0]] };
  }
}

/**
 * Writes a Hugging Face-layout BERT (embeddings, post-LN encoder layers with exact-GELU FFNs,
 * pooler, sequence or token classification head) as an ONNX graph with int64 inputs input_ids,
 * attention_mask, token_type_ids and dynamic batch and sequence axes, as Hugging Face's exports.
 * Output: `logits` ([batch, labels] or [batch, sequence, labels]) or `last_hidden_state`.
 */
export function convertBertToOnnx(model: BertLikeModel, options: { opset?: number; producerVersion?: string; name?: string } = {}): OnnxConversion & { head: BertHeadKind } {
  const c = model.bertConfig;
  if ((c.hidden_act ?? 'gelu') !== 'gelu') throw new TrainingError(`BERT hidden_act '${c.hidden_act}' has no ONNX conversion`, { hint: 'only the exact erf gelu is converted' });
  if ((c.position_embedding_type ?? 'absolute') !== 'absolute') throw new TrainingError(`BERT position_embedding_type '${c.position_embedding_type}' has no ONNX conversion`, { hint: 'only absolute positions are converted' });
  const { prefix, head, weights } = bertLayout(model);
  const graph = new BertGraph(weights, prefix);
  const { output, outputShape } = graph.build(c, head);
  const outputName = head === 'none' ? 'last_hidden_state' : 'logits';
  graph.g.op('Identity', [output], {}, outputName);
  const dims = (shape: (string | number)[]) => ({ dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) });
  const inputs = BERT_ONNX_INPUTS.map((name) => ({ name, type: { tensorType: { elemType: INT64, shape: dims(['batch', 'sequence']) } } }));
  const out = valueInfo(outputName, onnx.TensorProto.DataType.FLOAT, outputShape);
  out.type!.tensorType!.shape = dims(outputShape.map((d, i) => d ?? (i === 0 ? 'batch' : 'sequence')));
  const bytes = encodeModel(graph.g, inputs, [out], options.opset ?? 17, options.name ?? 'bert', options.producerVersion ?? '0');
  return { bytes, inputNames: [...BERT_ONNX_INPUTS], outputName, opset: options.opset ?? 17, head };
}
