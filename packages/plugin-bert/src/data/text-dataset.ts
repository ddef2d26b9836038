import type { Dataset, DatasetInfo, Example } from '@kiln/core';
import type { WordPieceTokenizer } from '../tokenizer';

/** Label value of tokens the loss and metrics skip (special tokens, padding, sub-word continuations), as PyTorch's ignore_index. */
export const IGNORE_INDEX = -100;

export interface ClassificationRow {
  text: string;
  textPair?: string;
  label: number;
  source: string;
}

export interface TokenRow {
  words: string[];
  /** Tag index per word. */
  tags: number[];
  source: string;
}

/** Examples built on first access and kept (tokenizing is cheap beside a training step, but done once). */
export class EncodedDataset implements Dataset {
  readonly labelOf?: (index: number) => number;
  private readonly cache: (Example | undefined)[];

  constructor(
    readonly info: DatasetInfo,
    private readonly count: number,
    private readonly make: (index: number) => Example,
    labels?: readonly number[],
  ) {
    this.cache = new Array(count);
    if (labels) this.labelOf = (i) => labels[i];
  }

  get size(): number {
    return this.count;
  }

  get(index: number): Example {
    if (index < 0 || index >= this.count) throw new RangeError(`index ${index} out of range [0, ${this.count})`);
    return (this.cache[index] ??= this.make(index));
  }
}

function inputsOf(enc: { ids: number[]; attentionMask: number[]; typeIds: number[] }): Record<string, Int32Array> {
  return { input_ids: Int32Array.from(enc.ids), attention_mask: Int32Array.from(enc.attentionMask), token_type_ids: Int32Array.from(enc.typeIds) };
}

export function textInputs(maxLength: number): DatasetInfo['inputs'] {
  return ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({ name, shape: [maxLength], dtype: 'int32' as const }));
}

function extraOf(tokenizer: WordPieceTokenizer, maxLength: number): Record<string, unknown> {
  return {
    vocabulary: [...tokenizer.tokens],
    vocabSize: tokenizer.size,
    maxLength,
    lowercase: tokenizer.options.lowercase,
    tokenizer: 'wordpiece',
    padId: tokenizer.padId,
    unkId: tokenizer.unkId,
  };
}

/** Sequence classification: [CLS] text [SEP] (pair [SEP]) → class index. */
export function classificationDataset(rows: readonly ClassificationRow[], tokenizer: WordPieceTokenizer, maxLength: number, classNames: string[]): EncodedDataset {
  const info: DatasetInfo = { task: 'classification', inputs: textInputs(maxLength), targetShape: [], targetDtype: 'int32', classNames, extra: extraOf(tokenizer, maxLength) };
  return new EncodedDataset(
    info,
    rows.length,
    (i) => {
      const row = rows[i];
      return { inputs: inputsOf(tokenizer.encode(row.text, row.textPair, { maxLength })), target: row.label, source: row.source };
    },
    rows.map((r) => r.label),
  );
}

/**
 * Token classification of pre-split words: each word's tag goes on its first sub-word; later
 * sub-words, specials and padding get IGNORE_INDEX (-100), which token-cross-entropy and
 * seqeval skip (transformers' `label_all_tokens=False` alignment).
 */
export function tokenClassificationDataset(rows: readonly TokenRow[], tokenizer: WordPieceTokenizer, maxLength: number, classNames: string[]): EncodedDataset {
  const info: DatasetInfo = { task: 'token-classification', inputs: textInputs(maxLength), targetShape: [maxLength], targetDtype: 'int32', classNames, extra: extraOf(tokenizer, maxLength) };
  return new EncodedDataset(info, rows.length, (i) => {
    const row = rows[i];
    const enc = tokenizer.encodeWords(row.words, undefined, { maxLength });
    return { inputs: inputsOf(enc), target: alignLabels(enc.wordIds, row.tags), source: row.source };
  });
}

/** Labels per token from labels per word: the first sub-word of each word, IGNORE_INDEX elsewhere. */
export function alignLabels(wordIds: readonly (number | null)[], wordLabels: readonly number[]): Int32Array {
  const out = new Int32Array(wordIds.length).fill(IGNORE_INDEX);
  let previous: number | null = null;
  wordIds.forEach((w, k) => {
    if (w !== null && w !== previous) out[k] = wordLabels[w];
    previous = w;
  });
  return out;
}
