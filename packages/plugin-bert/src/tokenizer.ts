import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '@kiln/core';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export interface WordPieceOptions {
  /** Lower-case before WordPiece (uncased models). */
  lowercase: boolean;
  /** Strip accents (NFD, drop Mn); default: follows `lowercase`, as BertTokenizer's strip_accents=None. */
  stripAccents?: boolean;
  /** Put spaces around CJK ideographs. */
  tokenizeChineseChars: boolean;
  /** Words longer than this (in code points) become [UNK]. */
  maxInputCharsPerWord: number;
  unkToken: string;
  clsToken: string;
  sepToken: string;
  padToken: string;
  continuingSubwordPrefix: string;
}

export const DEFAULT_WORDPIECE: WordPieceOptions = {
  lowercase: true,
  tokenizeChineseChars: true,
  maxInputCharsPerWord: 100,
  unkToken: '[UNK]',
  clsToken: '[CLS]',
  sepToken: '[SEP]',
  padToken: '[PAD]',
  continuingSubwordPrefix: '##',
};

export interface EncodeOptions {
  /** Pad and/or truncate to this many tokens (specials included). */
  maxLength?: number;
  /** Pad to maxLength (default true when maxLength is given). */
  padding?: boolean;
  /** Truncate to maxLength, longest sequence first for pairs (default true when maxLength is given). */
  truncation?: boolean;
  /** Add [CLS] … [SEP] (… [SEP]). Default true. */
  addSpecialTokens?: boolean;
}

/** An encoded sequence or pair, as a Hugging Face `Encoding`. */
export interface Encoding {
  ids: number[];
  tokens: string[];
  typeIds: number[];
  attentionMask: number[];
  specialTokensMask: number[];
  /** [start, end) character offsets in the (NFC-normalized) input; [0, 0] for special and padding tokens. */
  offsets: [number, number][];
  /** Index of the word (whitespace-separated for text, list index for pre-split words) each token came from; null for specials and padding. */
  wordIds: (number | null)[];
  /** Sequence (0 or 1) each token came from; null for specials and padding. */
  sequenceIds: (number | null)[];
}

interface Piece {
  token: string;
  start: number;
  end: number;
  word: number;
}

interface BasicToken {
  text: string;
  /** Source offset of each code point of `text` (start, end). */
  starts: number[];
  ends: number[];
  word: number;
}

const isWhitespace = (ch: string) => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || /\p{Zs}/u.test(ch);
const isControl = (ch: string) => !(ch === '\t' || ch === '\n' || ch === '\r') && /\p{C}/u.test(ch);
/** BERT's punctuation: every non-alphanumeric ASCII symbol plus Unicode category P*. */
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /\p{P}/u.test(ch);
}
/** The CJK Unified Ideographs blocks of BasicTokenizer._is_chinese_char. */
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}
const stripAccents = (s: string) => s.normalize('NFD').replace(/\p{Mn}/gu, '');

/** vocab.txt: one token per line, id = line number. */
export function readVocabulary(file: string): { tokens: string[]; options: Partial<WordPieceOptions> } {
  if (!fs.existsSync(file)) throw new DataError(`vocabulary file not found: ${file}`, { where: file, hint: 'give a vocab.txt or tokenizer.json, or a directory holding one' });
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.json')) return parseTokenizerJson(text, file);
  const tokens = text.split('\n');
  if (tokens[tokens.length - 1] === '') tokens.pop();
  return { tokens: tokens.map((t) => t.replace(/\r$/, '')), options: tokenizerConfigOptions(path.join(path.dirname(file), 'tokenizer_config.json')) };
}

/** do_lower_case / strip_accents / tokenize_chinese_chars of a tokenizer_config.json beside vocab.txt (cased checkpoints set do_lower_case: false). */
function tokenizerConfigOptions(file: string): Partial<WordPieceOptions> {
  if (!fs.existsSync(file)) return {};
  let json: { do_lower_case?: boolean; strip_accents?: boolean | null; tokenize_chinese_chars?: boolean };
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DataError(`tokenizer_config.json is not valid JSON: ${(error as Error).message}`, { where: file });
  }
  const options: Partial<WordPieceOptions> = {};
  if (typeof json.do_lower_case === 'boolean') options.lowercase = json.do_lower_case;
  if (typeof json.strip_accents === 'boolean') options.stripAccents = json.strip_accents;
  if (typeof json.tokenize_chinese_chars === 'boolean') options.tokenizeChineseChars = json.tokenize_chinese_chars;
  return options;
}

/** The WordPiece vocabulary and BERT normalizer settings of a Hugging Face tokenizer.json. */
function parseTokenizerJson(text: string, file: string): { tokens: string[]; options: Partial<WordPieceOptions> } {
  let json: {
    model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; max_input_chars_per_word?: number; continuing_subword_prefix?: string };
    normalizer?: { type?: string; lowercase?: boolean; strip_accents?: boolean | null; handle_chinese_chars?: boolean } | null;
  };
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DataError(`tokenizer.json is not valid JSON: ${(error as Error).message}`, { where: file });
  }
  const model = json.model;
  if (!model || model.type !== 'WordPiece' || !model.vocab) {
    throw new DataError(`tokenizer.json holds a ${model?.type ?? 'unknown'} model, not WordPiece`, { where: file, hint: 'BERT needs a WordPiece tokenizer (or its vocab.txt)' });
  }
  const tokens: string[] = [];
  for (const [token, id] of Object.entries(model.vocab)) tokens[id] = token;
  const options: Partial<WordPieceOptions> = {};
  if (model.unk_token) options.unkToken = model.unk_token;
  if (model.max_input_chars_per_word) options.maxInputCharsPerWord = model.max_input_chars_per_word;
  if (model.continuing_subword_prefix) options.continuingSubwordPrefix = model.continuing_subword_prefix;
  const n = json.normalizer;
  if (n && n.type === 'BertNormalizer') {
    if (n.lowercase !== undefined) options.lowercase = n.lowercase;
    if (n.strip_accents !== undefined && n.strip_accents !== null) options.stripAccents = n.strip_accents;
    if (n.handle_chinese_chars !== undefined) options.tokenizeChineseChars = n.handle_chinese_chars;
  }
  return { tokens, options };
}

/** Finds vocab.txt or tokenizer.json given either file or a directory holding one. */
export function resolveVocabularyFile(location: string): string {
  if (fs.existsSync(location) && fs.statSync(location).isDirectory()) {
    for (const name of ['vocab.txt', 'tokenizer.json']) {
      const file = path.join(location, name);
      if (fs.existsSync(file)) return file;
    }
    throw new DataError(`no vocab.txt or tokenizer.json in ${location}`, { where: location, hint: 'place the tokenizer files of the checkpoint there' });
  }
  return location;
}

/**
 * BERT's tokenizer as Hugging Face's `BertTokenizer` defines it: BasicTokenizer (clean
 * control characters, spaces around CJK ideographs, NFC, lower-case and strip accents,
 * split on whitespace and punctuation) then greedy longest-match-first WordPiece with
 * `##` continuations, [UNK] for words with no segmentation or over 100 characters.
 * Encodings carry offsets and word ids, which tokenizers.js does not, so labels can be
 * aligned with sub-words.
 */
export class WordPieceTokenizer {
  readonly vocab: Map<string, number>;
  readonly options: WordPieceOptions;
  private readonly neverSplit: Set<string>;

  constructor(readonly tokens: readonly string[], options: Partial<WordPieceOptions> = {}) {
    this.options = { ...DEFAULT_WORDPIECE, ...options };
    this.vocab = new Map();
    tokens.forEach((t, i) => {
      if (t !== undefined && !this.vocab.has(t)) this.vocab.set(t, i);
    });
    const { unkToken, clsToken, sepToken, padToken } = this.options;
    for (const special of [unkToken, clsToken, sepToken, padToken]) {
      if (!this.vocab.has(special)) throw new DataError(`the vocabulary has no ${special} token`, { where: 'vocabulary', hint: `BERT vocabularies start with ${SPECIAL_TOKENS.join(' ')}` });
    }
    this.neverSplit = new Set([...SPECIAL_TOKENS, unkToken, clsToken, sepToken, padToken]);
  }

  static fromFile(location: string, options: Partial<WordPieceOptions> = {}): WordPieceTokenizer {
    const read = readVocabulary(resolveVocabularyFile(location));
    return new WordPieceTokenizer(read.tokens, { ...read.options, ...options });
  }

  get size(): number {
    return this.tokens.length;
  }
  get padId(): number {
    return this.vocab.get(this.options.padToken)!;
  }
  get unkId(): number {
    return this.vocab.get(this.options.unkToken)!;
  }

  /** BasicTokenizer: words and punctuation with their source offsets. `wordOffset` numbers whitespace words from there. */
  basicTokenize(text: string, wordOffset = 0): BasicToken[] {
    const { lowercase, tokenizeChineseChars } = this.options;
    const strip = this.options.stripAccents ?? lowercase;
    const normalized = text.normalize('NFC');
    const out: BasicToken[] = [];
    let current: BasicToken | undefined;
    let word = wordOffset - 1;
    let inWord = false;
    const flush = () => {
      if (current && current.text.length) out.push(current);
      current = undefined;
    };
    const chars = Array.from(normalized);
    const positions: number[] = [];
    let at = 0;
    for (const ch of chars) {
      positions.push(at);
      at += ch.length;
    }
    // Split on whitespace first, so never-split specials ([CLS], [SEP], …) survive whole.
    let i = 0;
    while (i < chars.length) {
      const ch = chars[i];
      const cp = ch.codePointAt(0)!;
      if (cp === 0 || cp === 0xfffd || isControl(ch)) {
        i++;
        continue;
      }
      if (isWhitespace(ch)) {
        flush();
        inWord = false;
        i++;
        continue;
      }
      if (!inWord) {
        inWord = true;
        word++;
        let j = i;
        let chunk = '';
        while (j < chars.length && !isWhitespace(chars[j])) chunk += chars[j++];
        if (this.neverSplit.has(chunk)) {
          out.push({ text: chunk, starts: [positions[i]], ends: [positions[j - 1] + chars[j - 1].length], word });
          i = j;
          continue;
        }
      }
      const start = positions[i];
      const end = start + ch.length;
      if (tokenizeChineseChars && isChineseChar(cp)) {
        flush();
        out.push({ text: ch, starts: [start], ends: [end], word });
        i++;
        continue;
      }
      let transformed = lowercase ? ch.toLowerCase() : ch;
      if (strip) transformed = stripAccents(transformed);
      for (const c of Array.from(transformed)) {
        if (isPunctuation(c)) {
          flush();
          out.push({ text: c, starts: [start], ends: [end], word });
          continue;
        }
        current ??= { text: '', starts: [], ends: [], word };
        current.text += c;
        current.starts.push(start);
        current.ends.push(end);
      }
      i++;
    }
    flush();
    return out;
  }

  /** Greedy longest-match-first WordPiece of one basic token. */
  private wordPiece(token: BasicToken): Piece[] {
    const { unkToken, maxInputCharsPerWord, continuingSubwordPrefix } = this.options;
    const chars = Array.from(token.text);
    const whole: Piece = { token: unkToken, start: token.starts[0], end: token.ends[token.ends.length - 1], word: token.word };
    if (this.neverSplit.has(token.text) && this.vocab.has(token.text)) return [{ ...whole, token: token.text }];
    if (chars.length > maxInputCharsPerWord) return [whole];
    const pieces: Piece[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        let sub = chars.slice(start, end).join('');
        if (start > 0) sub = continuingSubwordPrefix + sub;
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === undefined) return [whole];
      pieces.push({ token: found, start: token.starts[start], end: token.ends[end - 1], word: token.word });
      start = end;
    }
    return pieces;
  }

  /** Sub-word tokens of a text (no specials). */
  tokenize(text: string): string[] {
    return this.pieces(text).map((p) => p.token);
  }

  private pieces(text: string, wordOffset = 0): Piece[] {
    return this.basicTokenize(text, wordOffset).flatMap((t) => this.wordPiece(t));
  }

  private piecesOfWords(words: readonly string[]): Piece[] {
    // Offsets of pre-split words are within the words joined by single spaces.
    const out: Piece[] = [];
    let at = 0;
    words.forEach((w, k) => {
      for (const p of this.pieces(w)) out.push({ ...p, start: p.start + at, end: p.end + at, word: k });
      at += w.normalize('NFC').length + 1;
    });
    return out;
  }

  /** Encodes a text or a text pair: [CLS] A [SEP] (B [SEP]), token types 0 then 1, padded/truncated to maxLength. */
  encode(text: string, pair?: string, options: EncodeOptions = {}): Encoding {
    return this.assemble(this.pieces(text), pair === undefined ? undefined : this.pieces(pair), options);
  }

  /** Encodes pre-split words (is_split_into_words): wordIds index `words`. */
  encodeWords(words: readonly string[], pairWords?: readonly string[], options: EncodeOptions = {}): Encoding {
    return this.assemble(this.piecesOfWords(words), pairWords ? this.piecesOfWords(pairWords) : undefined, options);
  }

  private assemble(a: Piece[], b: Piece[] | undefined, options: EncodeOptions): Encoding {
    const special = options.addSpecialTokens ?? true;
    const maxLength = options.maxLength;
    const truncation = options.truncation ?? maxLength !== undefined;
    const padding = options.padding ?? maxLength !== undefined;
    if (maxLength !== undefined && truncation) {
      const reserved = special ? (b ? 3 : 2) : 0;
      const budget = maxLength - reserved;
      if (budget < 0) throw new DataError(`maxLength ${maxLength} leaves no room for the special tokens`, { where: 'maxLength', hint: `use maxLength ≥ ${reserved + 1}` });
      a = a.slice();
      b = b?.slice();
      // 'longest_first', as transformers' truncate_sequences: drop from the longer, the second on ties.
      while (a.length + (b?.length ?? 0) > budget) {
        if (b && b.length >= a.length) b.pop();
        else a.pop();
      }
    }
    const enc: Encoding = { ids: [], tokens: [], typeIds: [], attentionMask: [], specialTokensMask: [], offsets: [], wordIds: [], sequenceIds: [] };
    const push = (token: string, type: number, piece?: Piece, sequence?: number) => {
      enc.ids.push(this.vocab.get(token) ?? this.unkId);
      enc.tokens.push(token);
      enc.typeIds.push(type);
      enc.attentionMask.push(1);
      enc.specialTokensMask.push(piece ? 0 : 1);
      enc.offsets.push(piece ? [piece.start, piece.end] : [0, 0]);
      enc.wordIds.push(piece ? piece.word : null);
      enc.sequenceIds.push(piece ? sequence! : null);
    };
    const { clsToken, sepToken, padToken } = this.options;
    if (special) push(clsToken, 0);
    for (const p of a) push(p.token, 0, p, 0);
    if (special) push(sepToken, 0);
    if (b) {
      for (const p of b) push(p.token, 1, p, 1);
      if (special) push(sepToken, 1);
    }
    if (maxLength !== undefined && padding) {
      while (enc.ids.length < maxLength) {
        enc.ids.push(this.padId);
        enc.tokens.push(padToken);
        enc.typeIds.push(0);
        enc.attentionMask.push(0);
        enc.specialTokensMask.push(1);
        enc.offsets.push([0, 0]);
        enc.wordIds.push(null);
        enc.sequenceIds.push(null);
      }
    }
    return enc;
  }
}

/**
 * A small WordPiece vocabulary from a corpus, for demos without a pretrained checkpoint:
 * the five specials, every character seen (alone and as a `##` continuation), then the
 * words (after BERT's basic tokenization) seen at least `minCount` times, most frequent
 * first, up to `maxSize` entries. Every text of the corpus then tokenizes without [UNK].
 */
export function buildWordPieceVocabulary(texts: Iterable<string>, options: { lowercase?: boolean; minCount?: number; maxSize?: number } = {}): string[] {
  const basic = new WordPieceTokenizer([...SPECIAL_TOKENS], { lowercase: options.lowercase ?? true });
  const counts = new Map<string, number>();
  const chars = new Set<string>();
  for (const text of texts) {
    for (const t of basic.basicTokenize(text)) {
      counts.set(t.text, (counts.get(t.text) ?? 0) + 1);
      for (const c of Array.from(t.text)) chars.add(c);
    }
  }
  const sortedChars = [...chars].sort();
  const vocab: string[] = [...SPECIAL_TOKENS, ...sortedChars, ...sortedChars.map((c) => `##${c}`)];
  const have = new Set(vocab);
  const words = [...counts]
    .filter(([w, c]) => c >= (options.minCount ?? 1) && !have.has(w))
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .map(([w]) => w);
  const room = options.maxSize === undefined ? words.length : Math.max(0, options.maxSize - vocab.length);
  return [...vocab, ...words.slice(0, room)];
}
