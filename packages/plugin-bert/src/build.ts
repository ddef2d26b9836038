import { z } from 'zod';
import { ConfigError, type DatasetInfo, type Logger } from '@kiln/core';
import { BertModel } from './bert-model';
import { BERT_SIZES, bertConfig, type BertConfig, type BertHead } from './config';
import { labelsFromConfig, loadHuggingFaceWeights, readHuggingFaceConfig, type LoadReport } from './huggingface';
import { readVocabulary } from './tokenizer';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const BertOptions = z.strictObject({
  size: z.enum(['tiny', 'mini', 'small', 'base']).default('tiny')
    .describe('Named shape: tiny = L2/H128/A2, mini = L4/H256/A4, small = L4/H512/A8, base = L12/H768/A12 (the google/bert_uncased_L-*_H-*_A-* family)'),
  hiddenSize: z.number().int().positive().optional().describe('Overrides the size: hidden width (hidden_size)'),
  numLayers: z.number().int().positive().optional().describe('Overrides the size: transformer layers (num_hidden_layers)'),
  numHeads: z.number().int().positive().optional().describe('Overrides the size: attention heads (num_attention_heads)'),
  intermediateSize: z.number().int().positive().optional().describe('Overrides the size: feed-forward width (intermediate_size)'),
  maxPositions: z.number().int().positive().default(512).describe('Position embeddings (max_position_embeddings)'),
  vocabSize: z.number().int().positive().optional().describe("Word embeddings; default: the dataset's vocabulary size, else 30522"),
  typeVocabSize: z.number().int().positive().default(2).describe('Token-type (segment) embeddings (type_vocab_size)'),
  hiddenDropout: z.number().min(0).max(1).default(0.1).describe('Dropout on embeddings and sub-layer outputs (hidden_dropout_prob)'),
  attentionDropout: z.number().min(0).max(1).default(0.1).describe('Dropout on attention probabilities (attention_probs_dropout_prob)'),
  classifierDropout: z.number().min(0).max(1).optional().describe('Dropout before the classifier (classifier_dropout); default: hiddenDropout'),
  initializerRange: z.number().positive().default(0.02).describe('Std of the normal initialization (initializer_range)'),
  head: z.enum(['auto', 'sequence-classification', 'token-classification', 'none']).default('auto')
    .describe("Task head: auto follows the dataset's task (classification → sequence, token-classification → token); none is the bare encoder"),
  numLabels: z.number().int().min(1).optional().describe("Classes of the head; default: the dataset's class names"),
  pretrained: z.string().optional()
    .describe('A local Hugging Face BERT directory (config.json, model.safetensors): its config gives the architecture and its weights are loaded; nothing is downloaded'),
});
export type BertOptions = z.output<typeof BertOptions>;
export type BertOptionsInput = z.input<typeof BertOptions>;

export interface BertBuildContext {
  dataset?: DatasetInfo;
  seed?: number;
  where?: string;
  baseDir?: string;
  logger?: Logger;
}

function headFor(option: BertOptions['head'], dataset: DatasetInfo | undefined, where: string): BertHead {
  if (option !== 'auto') return option;
  if (!dataset) return 'none';
  if (dataset.task === 'classification') return 'sequence-classification';
  if (dataset.task === 'token-classification') return 'token-classification';
  throw new ConfigError(`bert has no head for a '${dataset.task}' task`, { where: `${where}.head`, hint: 'set head: none for the bare encoder, or use a classification dataset' });
}

/** The model a config block describes, with the pretrained weights loaded (and the load report). */
export function buildBert(input: BertOptionsInput, context: BertBuildContext = {}): BertModel & { loadReport?: LoadReport } {
  const where = context.where ?? 'model';
  const options = BertOptions.parse(input);
  const dataset = context.dataset;
  const head = headFor(options.head, dataset, where);
  const extra = (dataset?.extra ?? {}) as { vocabulary?: string[]; vocabSize?: number };
  let config: BertConfig;
  let pretrainedLabels: string[] | undefined;
  let pretrainedDir: string | undefined;
  let vocabulary = extra.vocabulary;
  if (options.pretrained) {
    pretrainedDir = path.resolve(context.baseDir ?? process.cwd(), options.pretrained);
    const read = readHuggingFaceConfig(pretrainedDir);
    config = read.config;
    pretrainedLabels = labelsFromConfig(read.json);
    const vocabFile = path.join(pretrainedDir, 'vocab.txt');
    const checkpointVocabulary = fs.existsSync(vocabFile) ? readVocabulary(vocabFile).tokens : undefined;
    // Ids from another vocabulary would index the pretrained embeddings meaninglessly.
    if (vocabulary && checkpointVocabulary && !sameTokens(vocabulary, checkpointVocabulary)) {
      throw new ConfigError(`the data was tokenized with another vocabulary (${vocabulary.length} tokens) than the checkpoint's vocab.txt (${checkpointVocabulary.length})`, {
        where: `${where}.pretrained`,
        hint: `tokenize with the checkpoint's vocabulary: set data.vocab to ${options.pretrained}`,
      });
    }
    vocabulary ??= checkpointVocabulary;
  } else {
    const shape = BERT_SIZES[options.size];
    config = bertConfig(
      {
        vocab_size: options.vocabSize ?? extra.vocabSize ?? extra.vocabulary?.length ?? 30522,
        hidden_size: options.hiddenSize ?? shape.hidden_size,
        num_hidden_layers: options.numLayers ?? shape.num_hidden_layers,
        num_attention_heads: options.numHeads ?? shape.num_attention_heads,
        intermediate_size: options.intermediateSize ?? shape.intermediate_size,
        max_position_embeddings: options.maxPositions,
        type_vocab_size: options.typeVocabSize,
        hidden_dropout_prob: options.hiddenDropout,
        attention_probs_dropout_prob: options.attentionDropout,
        classifier_dropout: options.classifierDropout ?? null,
        initializer_range: options.initializerRange,
      },
      where,
    );
  }
  const datasetVocab = extra.vocabSize ?? extra.vocabulary?.length;
  if (datasetVocab !== undefined && datasetVocab > config.vocab_size) {
    throw new ConfigError(`the dataset's vocabulary has ${datasetVocab} tokens but the model's embeddings only ${config.vocab_size}`, {
      where: options.pretrained ? `${where}.pretrained` : `${where}.vocabSize`,
      hint: options.pretrained ? "tokenize with the checkpoint's own vocab.txt (data.vocab: <the pretrained dir>)" : 'leave vocabSize unset so it follows the dataset',
    });
  }
  const labels = head === 'none' ? undefined : dataset?.classNames ?? pretrainedLabels;
  const numLabels = options.numLabels ?? labels?.length ?? pretrainedLabels?.length ?? 2;
  const model: BertModel & { loadReport?: LoadReport } = new BertModel({ config, head, numLabels, labels, seed: context.seed, vocabulary });
  if (pretrainedDir) {
    try {
      model.loadReport = loadHuggingFaceWeights(model, pretrainedDir);
    } catch (error) {
      model.dispose();
      throw error;
    }
    for (const message of model.loadReport.messages) context.logger?.warn(message);
  }
  return model;
}

function sameTokens(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}
