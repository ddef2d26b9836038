import { ConfigError } from '@kiln/core';

/** The fields of Hugging Face's `BertConfig` (config.json), with its names. */
export interface BertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: 'gelu';
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
  position_embedding_type: 'absolute';
  classifier_dropout: number | null;
}

/** Named shapes of Google's BERT release (Turc et al. 2019 for the small ones). */
export const BERT_SIZES = {
  /** google/bert_uncased_L-2_H-128_A-2 */
  tiny: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 },
  /** google/bert_uncased_L-4_H-256_A-4 */
  mini: { hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024 },
  /** google/bert_uncased_L-4_H-512_A-8 */
  small: { hidden_size: 512, num_hidden_layers: 4, num_attention_heads: 8, intermediate_size: 2048 },
  /** bert-base-uncased (google/bert_uncased_L-12_H-768_A-12) */
  base: { hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 },
} as const;
export type BertSize = keyof typeof BERT_SIZES;

/** BertConfig's defaults (bert-base-uncased). */
export const DEFAULT_BERT_CONFIG: BertConfig = {
  vocab_size: 30522,
  ...BERT_SIZES.base,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  classifier_dropout: null,
};

/** A full config from a partial one; checks that heads divide the hidden size. */
export function bertConfig(partial: Partial<BertConfig> = {}, where = 'model'): BertConfig {
  const config = { ...DEFAULT_BERT_CONFIG, ...partial };
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new ConfigError(`hidden size ${config.hidden_size} is not a multiple of the number of attention heads ${config.num_attention_heads}`, {
      where,
      hint: 'choose numHeads dividing hiddenSize (e.g. hidden 256 with 4 heads)',
    });
  }
  return config;
}

/** Reads the architecture fields of a Hugging Face config.json object (other fields are ignored). */
export function bertConfigFromJson(json: Record<string, unknown>, where: string): BertConfig {
  if (json.model_type !== undefined && json.model_type !== 'bert') {
    throw new ConfigError(`config.json has model_type '${String(json.model_type)}', not 'bert'`, { where, hint: 'point pretrained at a BERT checkpoint directory' });
  }
  const act = json.hidden_act ?? 'gelu';
  if (act !== 'gelu') {
    throw new ConfigError(`hidden_act '${String(act)}' is not supported (only the exact erf 'gelu')`, { where, hint: 'use a BERT checkpoint with hidden_act: gelu' });
  }
  const pos = json.position_embedding_type ?? 'absolute';
  if (pos !== 'absolute') {
    throw new ConfigError(`position_embedding_type '${String(pos)}' is not supported`, { where, hint: 'only absolute position embeddings are implemented' });
  }
  const partial: Partial<BertConfig> = {};
  for (const key of Object.keys(DEFAULT_BERT_CONFIG) as (keyof BertConfig)[]) {
    if (json[key] !== undefined) (partial as Record<string, unknown>)[key] = json[key];
  }
  return bertConfig(partial, where);
}

export type BertHead = 'none' | 'sequence-classification' | 'token-classification';

/** Hugging Face class names, used in load reports and config.json `architectures`. */
export const HF_ARCHITECTURE: Record<BertHead, string> = {
  none: 'BertModel',
  'sequence-classification': 'BertForSequenceClassification',
  'token-classification': 'BertForTokenClassification',
};

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
