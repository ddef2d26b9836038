import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, KILN_VERSION, writeFileAtomic, type DatasetInfo, type Model, type ModelCard } from '@kiln/core';

export const MODEL_CARD_FILE = 'kiln-model.json';

/** Image preprocessing an exported model expects, as training applied it (from DatasetInfo.extra). */
export interface ImagePreprocessing {
  kind: 'image';
  /** [height, width] the image is resized to (bilinear, half-pixel centers). */
  size: [number, number];
  channels: 1 | 3;
  /** x → (x / 255 − mean[k]) / std[k]. */
  mean: number[];
  std: number[];
}

export interface TablePreprocessing {
  kind: 'table';
  /** Feature names in input order (one-hot columns as `name=value`). */
  featureNames?: string[];
  columns?: unknown[];
}

/** WordPiece tokenization of text models (plugin-bert's readers); the vocabulary is written as vocab.txt beside the model. */
export interface TextPreprocessing {
  kind: 'text';
  tokenizer: 'wordpiece';
  /** vocab.txt beside kiln-model.json (in memory, before the card is written: `vocabulary`). */
  vocab?: string;
  vocabulary?: string[];
  /** tokenizer.json copied beside the model when training read one. */
  tokenizerJson?: string;
  lowercase: boolean;
  /** Tokens per sequence (specials included), padded and truncated as in training. */
  maxLength: number;
}

export const VOCAB_FILE = 'vocab.txt';

/** What preprocessing the dataset implies, so inference reproduces it without the reader. */
export function preprocessingOf(info: DatasetInfo): Record<string, unknown> {
  const extra = info.extra ?? {};
  if (extra.tokenizer === 'wordpiece' && Array.isArray(extra.vocabulary)) {
    const pre: TextPreprocessing = { kind: 'text', tokenizer: 'wordpiece', vocabulary: extra.vocabulary as string[], lowercase: extra.lowercase !== false, maxLength: Number(extra.maxLength ?? info.inputs[0]?.shape[0] ?? 128) };
    return { ...pre };
  }
  const input = info.inputs[0];
  if (input && input.shape.length >= 2 && input.shape.length <= 3 && Array.isArray(extra.mean) && Array.isArray(extra.std)) {
    const channels = (input.shape[2] ?? 1) as 1 | 3;
    const pre: ImagePreprocessing = { kind: 'image', size: [input.shape[0], input.shape[1]], channels, mean: extra.mean as number[], std: extra.std as number[] };
    return { ...pre };
  }
  if (input && input.shape.length === 1 && (extra.featureNames || extra.columns)) {
    const pre: TablePreprocessing = { kind: 'table', featureNames: extra.featureNames as string[] | undefined, columns: extra.columns as unknown[] | undefined };
    return { ...pre };
  }
  return { kind: 'none', ...extra };
}

/** The ModelCard of a model trained on `info`. */
export function buildModelCard(options: { name: string; info: DatasetInfo; metrics?: Record<string, number>; config?: unknown }): ModelCard {
  const { info } = options;
  return {
    name: options.name,
    task: info.task,
    inputs: info.inputs.map((s) => ({ name: s.name, shape: [null, ...s.shape], dtype: s.dtype })),
    classNames: info.classNames,
    preprocessing: preprocessingOf(info),
    metrics: options.metrics,
    kilnVersion: KILN_VERSION,
    config: options.config,
  };
}

/**
 * The card with its inputs in the model's input order. LayersModelAdapter feeds batch keys to the
 * layers model in its own order (`inputKeys`, not part of the Model interface), which exports keep.
 */
export function cardInModelOrder(card: ModelCard, model: Model): ModelCard {
  const keys = (model as unknown as { inputKeys?: unknown }).inputKeys;
  if (!Array.isArray(keys) || keys.length !== card.inputs.length || !keys.every((k) => card.inputs.some((i) => i.name === k))) return card;
  return { ...card, inputs: (keys as string[]).map((k) => card.inputs.find((i) => i.name === k)!) };
}

/**
 * Writes the tokenizer files of a text model beside it (vocab.txt from the vocabulary; tokenizer.json
 * copied when given) and returns the preprocessing that names them instead of holding the vocabulary.
 */
export function writeTokenizerFiles(dir: string, pre: Record<string, unknown> | undefined, fallbackVocabulary?: string[]): { preprocessing: Record<string, unknown> | undefined; files: string[] } {
  if (pre?.kind !== 'text') return { preprocessing: pre, files: [] };
  const { vocabulary, tokenizerJson, ...rest } = pre as unknown as TextPreprocessing;
  const tokens = vocabulary ?? fallbackVocabulary;
  const files: string[] = [];
  const out: Record<string, unknown> = { ...rest };
  if (tokens) {
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(path.join(dir, VOCAB_FILE), `${tokens.join('\n')}\n`);
    out.vocab = VOCAB_FILE;
    files.push(VOCAB_FILE);
  }
  if (tokenizerJson && fs.existsSync(tokenizerJson) && path.resolve(tokenizerJson) !== path.resolve(dir, 'tokenizer.json')) {
    writeFileAtomic(path.join(dir, 'tokenizer.json'), fs.readFileSync(tokenizerJson));
    out.tokenizerJson = 'tokenizer.json';
    files.push('tokenizer.json');
  }
  return { preprocessing: out, files };
}

export function writeModelCard(dir: string, card: ModelCard, format: string, files: string[], vocabulary?: string[]): string {
  const file = path.join(dir, MODEL_CARD_FILE);
  const tokenizer = writeTokenizerFiles(dir, card.preprocessing, vocabulary);
  writeFileAtomic(file, `${JSON.stringify({ ...card, preprocessing: tokenizer.preprocessing, format, files: [...files, ...tokenizer.files] }, null, 2)}\n`);
  return file;
}

export type StoredModelCard = ModelCard & { format: string; files: string[] };

export function readModelCard(dir: string): StoredModelCard {
  const file = path.join(dir, MODEL_CARD_FILE);
  if (!fs.existsSync(file)) throw new DataError(`no ${MODEL_CARD_FILE} in ${dir}`, { where: dir, hint: 'pass a directory written by `kiln export`' });
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredModelCard;
  } catch (cause) {
    throw new DataError(`${MODEL_CARD_FILE} is not valid JSON`, { where: file, cause });
  }
}
