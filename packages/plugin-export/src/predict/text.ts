import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, DataError, type InputSpec } from '@kiln/core';
import type { TextPreprocessing } from '../card';

/** The part of plugin-bert's WordPiece `Encoding` predictions use. */
export interface TokenEncoding {
  ids: number[];
  typeIds: number[];
  attentionMask: number[];
  /** [start, end) character offsets in the (NFC) text; [0, 0] for specials and padding. */
  offsets: [number, number][];
  /** Word of each token; null for specials and padding. */
  wordIds: (number | null)[];
  /** The sub-word strings (`##` marks a continuation). */
  tokens?: string[];
}

interface WordPieceLike {
  encode(text: string, pair?: string, options?: { maxLength?: number }): TokenEncoding;
}
interface WordPieceModule {
  WordPieceTokenizer: {
    new (tokens: readonly string[], options?: { lowercase?: boolean }): WordPieceLike;
    fromFile(location: string, options?: { lowercase?: boolean }): WordPieceLike;
  };
}

/** A text to predict on, tokenized: the model inputs and what maps tokens back to characters. */
export interface EncodedText {
  text: string;
  pair?: string;
  encoding: TokenEncoding;
}

/** Training's tokenization for text models (plugin-bert's WordPiece tokenizer, from the export's vocab.txt). */
export class TextPreprocessor {
  constructor(
    private readonly tokenizer: WordPieceLike,
    readonly maxLength: number,
  ) {}

  /** From a card's text preprocessing: vocab.txt in `dir` (exports) or the vocabulary itself (runs). */
  static from(pre: Record<string, unknown> | undefined, dir?: string): TextPreprocessor | undefined {
    if (pre?.kind !== 'text') return undefined;
    const text = pre as unknown as TextPreprocessing;
    let bert: WordPieceModule;
    try {
      // Loaded only for text models: plugin-bert trained them, so it is installed where they are used.
      bert = require('@kiln/plugin-bert') as WordPieceModule;
    } catch (cause) {
      throw new ConfigError('this model tokenizes text with @kiln/plugin-bert, which is not installed', { where: 'kiln-model.json preprocessing', hint: 'npm install @kiln/plugin-bert', cause });
    }
    if (text.vocabulary) return new TextPreprocessor(new bert.WordPieceTokenizer(text.vocabulary, { lowercase: text.lowercase }), text.maxLength);
    const name = text.tokenizerJson ?? text.vocab;
    if (!dir || !name) throw new DataError('the text model has no vocabulary', { where: 'kiln-model.json preprocessing', hint: 'export it again: kiln export writes vocab.txt beside the model' });
    // tokenizer.json (when training read one) also carries the normalizer's accent and CJK settings.
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new DataError(`${name} is missing beside the model`, { where: file, hint: 'copy every file of the export directory' });
    return new TextPreprocessor(bert.WordPieceTokenizer.fromFile(file, { lowercase: text.lowercase }), text.maxLength);
  }

  /** [CLS] text [SEP] (pair [SEP]), padded/truncated to maxLength, as the model inputs by name. */
  encode(text: string, pair: string | undefined, specs: readonly InputSpec[]): { inputs: Record<string, Int32Array>; encoded: EncodedText } {
    const encoding = this.tokenizer.encode(text, pair, { maxLength: this.maxLength });
    const byName: Record<string, number[]> = { input_ids: encoding.ids, attention_mask: encoding.attentionMask, token_type_ids: encoding.typeIds, tokens: encoding.ids, mask: encoding.attentionMask };
    const inputs: Record<string, Int32Array> = {};
    for (const s of specs) {
      const values = byName[s.name];
      if (!values) throw new DataError(`a text model input "${s.name}" is not one a tokenizer gives`, { where: 'kiln-model.json inputs', hint: 'text models take input_ids, attention_mask, token_type_ids' });
      inputs[s.name] = Int32Array.from(values);
    }
    return { inputs, encoded: { text, pair, encoding } };
  }
}

/** `{ "text": …, "text_pair"?: … }` or a bare string → the text (and pair); undefined for other values. */
export function textOf(value: unknown): { text: string; pair?: string } | undefined {
  if (typeof value === 'string') return { text: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as { text?: unknown; text_pair?: unknown; textPair?: unknown };
  if (typeof v.text !== 'string') return undefined;
  const pair = v.text_pair ?? v.textPair;
  return { text: v.text, pair: typeof pair === 'string' ? pair : undefined };
}
