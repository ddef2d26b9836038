import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { ConfigError, DataError, type Dataset, type Reader, type Split } from '@kiln/core';
import { generateNer, generateTextClassification, NER_TAGS, SENTIMENT_CLASSES, TOPIC_CLASSES } from '@kiln/plugin-data';
import { buildWordPieceVocabulary, readVocabulary, resolveVocabularyFile, WordPieceTokenizer } from '../tokenizer';
import { classificationDataset, tokenClassificationDataset, type ClassificationRow, type TokenRow } from './text-dataset';

export interface TextReaderContext {
  baseDir: string;
  seed: number;
}

const tokenizerShape = {
  vocab: z.string().optional()
    .describe('vocab.txt or tokenizer.json (or a directory holding one, e.g. a Hugging Face checkpoint dir); default: a WordPiece vocabulary built from the training split'),
  maxVocabSize: z.number().int().min(10).optional().describe('Cap of the vocabulary built from the training split (ignored with vocab)'),
  lowercase: z.boolean().default(true).describe('Lower-case and strip accents (uncased BERT); with vocab, the tokenizer.json normalizer or tokenizer_config.json do_lower_case wins'),
  maxLength: z.number().int().min(3).default(128).describe('Tokens per example including [CLS]/[SEP]; longer inputs are truncated (longest first for pairs), shorter padded'),
};

function makeTokenizer(options: { vocab?: string; maxVocabSize?: number; lowercase: boolean }, baseDir: string, corpus: () => Iterable<string>): WordPieceTokenizer {
  if (options.vocab) {
    // The file's own settings (tokenizer.json normalizer, tokenizer_config.json do_lower_case) win over the option.
    const read = readVocabulary(resolveVocabularyFile(path.resolve(baseDir, options.vocab)));
    return new WordPieceTokenizer(read.tokens, { lowercase: options.lowercase, ...read.options });
  }
  return new WordPieceTokenizer(buildWordPieceVocabulary(corpus(), { lowercase: options.lowercase, maxSize: options.maxVocabSize }), { lowercase: options.lowercase });
}

/** A reader over two prepared splits. */
abstract class PreparedReader implements Reader {
  abstract readonly splits: readonly Split[];
  private prepared?: Map<Split, Dataset>;
  protected abstract prepare(): Map<Split, Dataset>;
  async load(split: Split): Promise<Dataset> {
    this.prepared ??= this.prepare();
    const dataset = this.prepared.get(split);
    if (!dataset) throw new ConfigError(`this reader has no '${split}' split`, { where: 'data', hint: 'configure a validation file (val) or size' });
    return dataset;
  }
}

export const BertSyntheticTextOptions = z.strictObject({
  task: z.enum(['classification', 'ner']).default('classification').describe("plugin-data's template sentences: topic/sentiment classification, or PER/LOC/ORG tagging (IOB2)"),
  kind: z.enum(['topic', 'sentiment']).default('topic').describe('For classification: 4 topics or 2 sentiments'),
  trainSize: z.number().int().min(1).default(2000).describe('Training sentences'),
  valSize: z.number().int().min(0).default(400).describe('Validation sentences'),
  ...tokenizerShape,
  maxLength: tokenizerShape.maxLength.default(32),
});
export type BertSyntheticTextOptions = z.output<typeof BertSyntheticTextOptions>;

/** plugin-data's synthetic sentences as raw text, tokenized with WordPiece for BERT. */
export class BertSyntheticTextReader extends PreparedReader {
  readonly splits: readonly Split[];
  constructor(
    private readonly options: BertSyntheticTextOptions,
    private readonly context: TextReaderContext,
  ) {
    super();
    this.splits = options.valSize > 0 ? ['train', 'val'] : ['train'];
  }

  protected prepare(): Map<Split, Dataset> {
    const o = this.options;
    const total = o.trainSize + o.valSize;
    const out = new Map<Split, Dataset>();
    if (o.task === 'ner') {
      const rows: TokenRow[] = generateNer(this.context.seed, total).map((s, i) => ({
        words: s.tokens,
        tags: s.tags.map((t) => NER_TAGS.indexOf(t as (typeof NER_TAGS)[number])),
        source: `synthetic-text:${i < o.trainSize ? 'train' : 'val'}:${i < o.trainSize ? i : i - o.trainSize}`,
      }));
      const train = rows.slice(0, o.trainSize);
      const tokenizer = makeTokenizer(o, this.context.baseDir, () => train.map((r) => r.words.join(' ')));
      out.set('train', tokenClassificationDataset(train, tokenizer, o.maxLength, [...NER_TAGS]));
      if (o.valSize > 0) out.set('val', tokenClassificationDataset(rows.slice(o.trainSize), tokenizer, o.maxLength, [...NER_TAGS]));
      return out;
    }
    const classes: readonly string[] = o.kind === 'topic' ? TOPIC_CLASSES : SENTIMENT_CLASSES;
    const rows: ClassificationRow[] = generateTextClassification(this.context.seed, total, o.kind).map((s, i) => ({
      text: s.text,
      label: classes.indexOf(s.label),
      source: `synthetic-text:${i < o.trainSize ? 'train' : 'val'}:${i < o.trainSize ? i : i - o.trainSize}`,
    }));
    const train = rows.slice(0, o.trainSize);
    const tokenizer = makeTokenizer(o, this.context.baseDir, () => train.map((r) => r.text));
    out.set('train', classificationDataset(train, tokenizer, o.maxLength, [...classes]));
    if (o.valSize > 0) out.set('val', classificationDataset(rows.slice(o.trainSize), tokenizer, o.maxLength, [...classes]));
    return out;
  }
}

export const TextClassificationReaderOptions = z.strictObject({
  train: z.string().describe('Training file: .csv/.tsv (with a header row) or .jsonl (one object per line)'),
  val: z.string().optional().describe('Validation file, same format'),
  textField: z.string().default('text').describe('Column/key of the text'),
  textPairField: z.string().optional().describe('Column/key of the second text for pair tasks (NLI, paraphrase): [CLS] a [SEP] b [SEP]'),
  labelField: z.string().default('label').describe('Column/key of the class label'),
  labels: z.array(z.string()).min(1).optional().describe('Class names in index order; default: the sorted distinct training labels'),
  ...tokenizerShape,
});
export type TextClassificationReaderOptions = z.output<typeof TextClassificationReaderOptions>;

interface RawRecord {
  fields: Record<string, unknown>;
  source: string;
}

function readRecords(file: string): RawRecord[] {
  if (!fs.existsSync(file)) throw new DataError(`file not found: ${file}`, { where: file, hint: 'check the path (relative paths are relative to the config file)' });
  const text = fs.readFileSync(file, 'utf8');
  if (/\.jsonl?$/i.test(file)) {
    const out: RawRecord[] = [];
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new DataError(`invalid JSON: ${(error as Error).message}`, { where: `${file}:${i + 1}`, hint: 'each line must be one JSON object' });
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DataError('a line is not a JSON object', { where: `${file}:${i + 1}`, hint: 'write {"text": "...", "label": "..."} per line' });
      out.push({ fields: value as Record<string, unknown>, source: `${file}:${i + 1}` });
    });
    return out;
  }
  if (!/\.(csv|tsv)$/i.test(file)) throw new DataError('unknown text file format', { where: file, hint: 'use .csv, .tsv or .jsonl' });
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, delimiter: /\.tsv$/i.test(file) ? '\t' : ',', info: true, relax_quotes: false, bom: true });
  } catch (error) {
    const e = error as Error & { lines?: number };
    throw new DataError(`malformed CSV: ${e.message}`, { where: e.lines ? `${file}:${e.lines}` : file, hint: 'quote fields that hold the delimiter, and give every row as many fields as the header' });
  }
  return rows.map((r) => ({ fields: r.record, source: `${file}:${r.info.lines}` }));
}

/** CSV/TSV/JSONL text (+ text pair) with a class label, for sequence classification. */
export class TextClassificationReader extends PreparedReader {
  readonly splits: readonly Split[];
  constructor(
    private readonly options: TextClassificationReaderOptions,
    private readonly context: TextReaderContext,
  ) {
    super();
    this.splits = options.val ? ['train', 'val'] : ['train'];
  }

  private field(record: RawRecord, key: string): string {
    const value = record.fields[key];
    if (value === undefined || value === null) throw new DataError(`no '${key}' field`, { where: record.source, hint: `every record needs '${key}' (set textField/labelField for other names)` });
    return String(value);
  }

  protected prepare(): Map<Split, Dataset> {
    const o = this.options;
    const files = { train: path.resolve(this.context.baseDir, o.train), val: o.val ? path.resolve(this.context.baseDir, o.val) : undefined };
    const raw = { train: readRecords(files.train), val: files.val ? readRecords(files.val) : undefined };
    if (raw.train.length === 0) throw new DataError('no records', { where: files.train, hint: 'the training file is empty' });
    const labels = o.labels ?? [...new Set(raw.train.map((r) => this.field(r, o.labelField)))].sort();
    const index = new Map(labels.map((l, i) => [l, i]));
    const toRows = (records: RawRecord[]): ClassificationRow[] =>
      records.map((r) => {
        const label = this.field(r, o.labelField);
        const id = index.get(label);
        if (id === undefined) throw new DataError(`label '${label}' is not one of the classes [${labels.join(', ')}]`, { where: r.source, hint: 'list every class in data.labels, or fix the label' });
        return { text: this.field(r, o.textField), textPair: o.textPairField ? this.field(r, o.textPairField) : undefined, label: id, source: r.source };
      });
    const train = toRows(raw.train);
    const tokenizer = makeTokenizer(o, this.context.baseDir, () => train.flatMap((r) => (r.textPair === undefined ? [r.text] : [r.text, r.textPair])));
    const out = new Map<Split, Dataset>();
    out.set('train', classificationDataset(train, tokenizer, o.maxLength, labels));
    if (raw.val) out.set('val', classificationDataset(toRows(raw.val), tokenizer, o.maxLength, labels));
    return out;
  }
}

export const ConllReaderOptions = z.strictObject({
  train: z.string().describe('Training file in CoNLL-2003 column format: one token per line, the NER tag in the last column, blank lines between sentences, -DOCSTART- lines ignored'),
  val: z.string().optional().describe('Validation file, same format'),
  labels: z.array(z.string()).min(1).optional().describe("Tag names in index order; default: 'O' then the sorted distinct training tags"),
  iob1: z.boolean().default(false).describe('Convert IOB1 tags (the original CoNLL-2003 files: I- may start an entity) to IOB2'),
  ...tokenizerShape,
});
export type ConllReaderOptions = z.output<typeof ConllReaderOptions>;

/** IOB1 → IOB2: an I-X that does not continue an X entity becomes B-X. */
export function iob1ToIob2(tags: readonly string[]): string[] {
  return tags.map((tag, i) => {
    if (!tag.startsWith('I-')) return tag;
    const prev = i > 0 ? tags[i - 1] : 'O';
    return prev === 'O' || prev.slice(2) !== tag.slice(2) ? `B-${tag.slice(2)}` : tag;
  });
}

/** Sentences of a CoNLL-2003 style file; a malformed line is a DataError naming file:line. */
export function parseConll(text: string, file: string): { words: string[]; tags: string[]; source: string }[] {
  const sentences: { words: string[]; tags: string[]; source: string }[] = [];
  let current: { words: string[]; tags: string[]; source: string } | undefined;
  let columns: number | undefined;
  const end = () => {
    if (current && current.words.length) sentences.push(current);
    current = undefined;
  };
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.replace(/\r$/, '');
    const where = `${file}:${i + 1}`;
    if (!line.trim()) return end();
    const parts = line.trim().split(/\s+/);
    if (parts[0] === '-DOCSTART-') return end();
    if (parts.length < 2) throw new DataError(`expected a token and a tag separated by whitespace, got '${line.trim()}'`, { where, hint: 'CoNLL lines are `token [pos chunk] tag`, with blank lines between sentences' });
    if (columns !== undefined && parts.length !== columns) {
      throw new DataError(`${parts.length} columns where earlier lines have ${columns}`, { where, hint: 'every token line needs the same columns; a token with a space in it breaks the format' });
    }
    columns = parts.length;
    const tag = parts[parts.length - 1];
    if (!/^(O|[BI]-\S+)$/.test(tag)) throw new DataError(`'${tag}' is not an IOB tag (O, B-TYPE or I-TYPE)`, { where, hint: 'the NER tag must be the last column' });
    current ??= { words: [], tags: [], source: where };
    current.words.push(parts[0]);
    current.tags.push(tag);
  });
  end();
  return sentences;
}

/** CoNLL-2003 column files for token classification (NER). */
export class ConllReader extends PreparedReader {
  readonly splits: readonly Split[];
  constructor(
    private readonly options: ConllReaderOptions,
    private readonly context: TextReaderContext,
  ) {
    super();
    this.splits = options.val ? ['train', 'val'] : ['train'];
  }

  private read(file: string) {
    if (!fs.existsSync(file)) throw new DataError(`file not found: ${file}`, { where: file, hint: 'check the path (relative paths are relative to the config file)' });
    const sentences = parseConll(fs.readFileSync(file, 'utf8'), file);
    if (this.options.iob1) for (const s of sentences) s.tags = iob1ToIob2(s.tags);
    return sentences;
  }

  protected prepare(): Map<Split, Dataset> {
    const o = this.options;
    const trainFile = path.resolve(this.context.baseDir, o.train);
    const train = this.read(trainFile);
    if (train.length === 0) throw new DataError('no sentences', { where: trainFile, hint: 'the training file holds no token lines' });
    const val = o.val ? this.read(path.resolve(this.context.baseDir, o.val)) : undefined;
    const labels = o.labels ?? ['O', ...[...new Set(train.flatMap((s) => s.tags))].filter((t) => t !== 'O').sort()];
    const index = new Map(labels.map((l, i) => [l, i]));
    const toRows = (sentences: typeof train): TokenRow[] =>
      sentences.map((s) => ({
        words: s.words,
        tags: s.tags.map((t) => {
          const id = index.get(t);
          if (id === undefined) throw new DataError(`tag '${t}' is not one of the labels [${labels.join(', ')}]`, { where: s.source, hint: 'list every tag in data.labels' });
          return id;
        }),
        source: s.source,
      }));
    const trainRows = toRows(train);
    const tokenizer = makeTokenizer(o, this.context.baseDir, () => train.map((s) => s.words.join(' ')));
    const out = new Map<Split, Dataset>();
    out.set('train', tokenClassificationDataset(trainRows, tokenizer, o.maxLength, labels));
    if (val) out.set('val', tokenClassificationDataset(toRows(val), tokenizer, o.maxLength, labels));
    return out;
  }
}
