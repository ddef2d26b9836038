import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { ConfigError, DataError, SeededRng } from '@kiln/core';
import type { Dataset, Reader, Split } from '@kiln/core';
import { InMemoryDataset, splitIndices } from '../dataset';
import { resolvePath, type ReaderContext } from '../paths';
import { TableEncoder, type Table } from './table-encoder';

export const CsvReaderOptions = z.strictObject({
  path: z.string().optional().describe('One CSV/TSV file, split into train/val by `valSplit` (relative to the config file)'),
  train: z.string().optional().describe('Training file (instead of `path`)'),
  val: z.string().optional().describe('Validation file (with `train`)'),
  test: z.string().optional().describe('Test file (with `train`)'),
  valSplit: z.number().min(0).max(0.9).default(0.2).describe('Fraction of `path` held out for validation, chosen by the seed'),
  delimiter: z.string().min(1).optional().describe("Cell delimiter; default ',' or tab for .tsv files"),
  label: z.string().describe('Name of the label (target) column'),
  features: z.array(z.string()).min(1).optional().describe('Feature columns, in order (default: every column but the label)'),
  columns: z.record(z.string(), z.enum(['numeric', 'categorical'])).default({}).describe('Declared column kinds (default: detected from the train split)'),
  standardize: z.boolean().default(true).describe('Standardize numeric columns with the train-split mean and std'),
  task: z.enum(['classification', 'regression']).default('classification').describe('Class label or numeric target'),
  classes: z.array(z.string()).min(2).optional().describe('Class names in label-index order (default: sorted labels of the train split)'),
  encoding: z
    .array(
      z.strictObject({
        name: z.string().describe('Feature column'),
        kind: z.enum(['numeric', 'categorical']).describe('How the column is encoded'),
        mean: z.number().optional().describe('Numeric: the mean subtracted'),
        std: z.number().positive().optional().describe('Numeric: the std divided by'),
        categories: z.array(z.string()).optional().describe('Categorical: one-hot categories, in order'),
      }),
    )
    .min(1)
    .optional()
    .describe(
      "Column encodings fitted earlier (a trained model's dataset info `extra.columns`), reused as they are instead of fitted on this data: a model scores new data with the statistics it was trained with",
    ),
});
export type CsvReaderOptions = z.output<typeof CsvReaderOptions>;

/** Reads a delimited text file with csv-parse into a Table whose rows carry `file:line`. */
export function readDelimited(file: string, delimiter?: string): Table {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new DataError(`cannot read ${file}`, { where: file, hint: 'check the path (relative paths are resolved against the config directory)', cause });
  }
  const sep = delimiter ?? (path.extname(file).toLowerCase() === '.tsv' ? '\t' : ',');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { delimiter: sep, relax_column_count: true, skip_empty_lines: true, bom: true, info: true, trim: true });
  } catch (cause) {
    const line = (cause as { lines?: number }).lines;
    throw new DataError(`malformed CSV: ${(cause as Error).message}`, {
      where: line ? `${file}:${line}` : file,
      hint: 'check quoting on that line',
      cause,
    });
  }
  if (records.length === 0) throw new DataError('the file is empty', { where: file, hint: 'a header row naming the columns is required' });
  const [head, ...rows] = records;
  return {
    file,
    header: head.record,
    headerSource: `${file}:${head.info.lines}`,
    rows: rows.map((r) => ({ cells: r.record, source: `${file}:${r.info.lines}` })),
  };
}

/** CSV/TSV tables: numeric columns standardized, categorical columns one-hot, input `features`. */
export class CsvReader implements Reader {
  readonly splits: readonly Split[];
  private prepared?: Promise<Map<Split, Dataset>>;

  constructor(
    private readonly options: CsvReaderOptions,
    private readonly context: ReaderContext,
  ) {
    if (options.path && (options.train || options.val || options.test)) {
      throw new ConfigError('give either `path` or `train`/`val`/`test`, not both', { where: 'data', hint: 'remove `path` or the split files' });
    }
    if (!options.path && !options.train) {
      throw new ConfigError('no data file', { where: 'data', hint: 'set `data.path` (split by `valSplit`) or `data.train`' });
    }
    this.splits = options.path
      ? options.valSplit > 0 ? ['train', 'val'] : ['train']
      : (['train', 'val', 'test'] as const).filter((s) => options[s]);
  }

  load(split: Split): Promise<Dataset> {
    this.prepared ??= Promise.resolve().then(() => this.prepare());
    return this.prepared.then((all) => {
      const dataset = all.get(split);
      if (!dataset) throw new ConfigError(`this reader has no '${split}' split`, { where: 'data', hint: `available: ${this.splits.join(', ')}` });
      return dataset;
    });
  }

  /** Parses and validates every split at once, so a bad val row fails before training starts. */
  private prepare(): Map<Split, Dataset> {
    const { options } = this;
    const tables = new Map<Split, Table>();
    if (options.path) {
      const all = readDelimited(resolvePath(this.context.baseDir, options.path), options.delimiter);
      const { train, val } = splitIndices(all.rows.length, options.valSplit, new SeededRng(this.context.seed).fork('csv-val-split'));
      tables.set('train', { ...all, rows: train.map((i) => all.rows[i]) });
      if (options.valSplit > 0) tables.set('val', { ...all, rows: val.map((i) => all.rows[i]) });
    } else {
      for (const split of this.splits) tables.set(split, readDelimited(resolvePath(this.context.baseDir, options[split]!), options.delimiter));
    }
    return encodeTables(tables, options);
  }
}

export function encodeTables(tables: Map<Split, Table>, options: Omit<CsvReaderOptions, 'path' | 'train' | 'val' | 'test' | 'valSplit' | 'delimiter'>): Map<Split, Dataset> {
  const encoder = TableEncoder.fit(tables.get('train')!, options);
  const info = encoder.info();
  const out = new Map<Split, Dataset>();
  for (const [split, table] of tables) out.set(split, new InMemoryDataset(info, encoder.encode(table)));
  return out;
}
