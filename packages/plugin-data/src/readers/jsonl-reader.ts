import * as fs from 'node:fs';
import { z } from 'zod';
import { ConfigError, DataError, SeededRng } from '@kiln/core';
import type { Dataset, DatasetInfo, Example, Reader, Split } from '@kiln/core';
import { InMemoryDataset, splitIndices } from '../dataset';
import { resolvePath, type ReaderContext } from '../paths';

export const JsonlReaderOptions = z.strictObject({
  path: z.string().optional().describe('One JSON-lines file, split into train/val by `valSplit`'),
  train: z.string().optional().describe('Training file (instead of `path`)'),
  val: z.string().optional().describe('Validation file'),
  test: z.string().optional().describe('Test file'),
  valSplit: z.number().min(0).max(0.9).default(0.2).describe('Fraction of `path` held out for validation, chosen by the seed'),
  inputField: z.string().default('input').describe('Field holding the features: a number array or a flat object of numbers'),
  labelField: z.string().default('label').describe('Field holding the target: a class name/index or a number (array) for regression'),
  task: z.enum(['classification', 'regression']).default('classification').describe('Class label or numeric target'),
  classes: z.array(z.string()).min(2).optional().describe('Class names in label-index order (default: sorted labels of the train split)'),
});
export type JsonlReaderOptions = z.output<typeof JsonlReaderOptions>;

interface RawLine {
  features: number[];
  label: unknown;
  source: string;
}

/** Number arrays or flat numeric objects, one JSON object per line; input `features`. */
export class JsonlReader implements Reader {
  readonly splits: readonly Split[];
  private prepared?: Map<Split, Dataset>;
  /** Keys of object-valued inputs, fixed by the first training line. */
  private keys?: string[];

  constructor(
    private readonly options: JsonlReaderOptions,
    private readonly context: ReaderContext,
  ) {
    if (!options.path && !options.train) throw new ConfigError('no data file', { where: 'data', hint: 'set `data.path` or `data.train`' });
    if (options.path && options.train) throw new ConfigError('give either `path` or `train`, not both', { where: 'data' });
    this.splits = options.path
      ? options.valSplit > 0 ? ['train', 'val'] : ['train']
      : (['train', 'val', 'test'] as const).filter((s) => options[s]);
  }

  async load(split: Split): Promise<Dataset> {
    this.prepared ??= this.prepare();
    const dataset = this.prepared.get(split);
    if (!dataset) throw new ConfigError(`this reader has no '${split}' split`, { where: 'data', hint: `available: ${this.splits.join(', ')}` });
    return dataset;
  }

  private prepare(): Map<Split, Dataset> {
    const raw = new Map<Split, RawLine[]>();
    if (this.options.path) {
      const all = this.readFile(resolvePath(this.context.baseDir, this.options.path));
      const { train, val } = splitIndices(all.length, this.options.valSplit, new SeededRng(this.context.seed).fork('jsonl-val-split'));
      raw.set('train', train.map((i) => all[i]));
      if (this.options.valSplit > 0) raw.set('val', val.map((i) => all[i]));
    } else {
      for (const split of this.splits) raw.set(split, this.readFile(resolvePath(this.context.baseDir, this.options[split]!)));
    }
    const train = raw.get('train')!;
    const width = train[0]?.features.length ?? 0;
    const { task } = this.options;
    let classNames: string[] | undefined;
    let targetSize = 1;
    if (task === 'classification') {
      classNames = this.options.classes ?? [...new Set(train.map((l) => String(l.label)))].sort((a, b) => (isFinite(+a) && isFinite(+b) ? +a - +b : a < b ? -1 : a > b ? 1 : 0));
    } else if (Array.isArray(train[0]?.label)) {
      targetSize = (train[0].label as unknown[]).length;
    }
    const info: DatasetInfo = {
      task,
      inputs: [{ name: 'features', shape: [width], dtype: 'float32' }],
      targetShape: task === 'regression' && Array.isArray(train[0]?.label) ? [targetSize] : [],
      targetDtype: task === 'classification' ? 'int32' : 'float32',
      classNames,
      extra: this.keys ? { featureNames: this.keys } : {},
    };
    const out = new Map<Split, Dataset>();
    for (const [split, lines] of raw) {
      const examples = lines.map((line): Example => {
        if (line.features.length !== width) {
          throw new DataError(`'${this.options.inputField}' has ${line.features.length} values, the first training line has ${width}`, { where: line.source, hint: 'every line needs the same number of features' });
        }
        return { inputs: { features: Float32Array.from(line.features) }, target: this.target(line, classNames, targetSize), source: line.source };
      });
      out.set(split, new InMemoryDataset(info, examples));
    }
    return out;
  }

  private target(line: RawLine, classNames: string[] | undefined, size: number): number | Float32Array {
    const { labelField } = this.options;
    if (classNames) {
      const index = classNames.indexOf(String(line.label));
      if (index < 0) throw new DataError(`'${labelField}' value ${JSON.stringify(line.label)} is not one of the classes [${classNames.join(', ')}]`, { where: line.source, hint: 'fix the label or list every class in `classes`' });
      return index;
    }
    const values = Array.isArray(line.label) ? line.label : [line.label];
    if (values.length !== size || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new DataError(`'${labelField}' must be a finite number${size > 1 ? ` array of length ${size}` : ''}, got ${JSON.stringify(line.label)}`, { where: line.source });
    }
    return size === 1 && !Array.isArray(line.label) ? (values[0] as number) : Float32Array.from(values as number[]);
  }

  private readFile(file: string): RawLine[] {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (cause) {
      throw new DataError(`cannot read ${file}`, { where: file, hint: 'check the path (relative paths are resolved against the config directory)', cause });
    }
    const { inputField, labelField } = this.options;
    const out: RawLine[] = [];
    text.split(/\r?\n/).forEach((lineText, i) => {
      if (lineText.trim() === '') return;
      const source = `${file}:${i + 1}`;
      let value: unknown;
      try {
        value = JSON.parse(lineText);
      } catch (cause) {
        throw new DataError(`invalid JSON: ${(cause as Error).message}`, { where: source, hint: 'each line must be one JSON object', cause });
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DataError('line is not a JSON object', { where: source });
      const record = value as Record<string, unknown>;
      if (!(inputField in record)) throw new DataError(`missing field '${inputField}'`, { where: source, hint: 'set `inputField` to the field holding the features' });
      if (!(labelField in record)) throw new DataError(`missing field '${labelField}'`, { where: source, hint: 'set `labelField` to the field holding the target' });
      out.push({ features: this.features(record[inputField], source), label: record[labelField], source });
    });
    return out;
  }

  private features(value: unknown, source: string): number[] {
    const field = this.options.inputField;
    if (typeof value === 'number') value = [value];
    if (Array.isArray(value)) {
      const bad = value.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
      if (bad >= 0) throw new DataError(`'${field}[${bad}]' is ${JSON.stringify(value[bad])}, not a finite number`, { where: source, hint: 'text inputs need a tokenizer reader (e.g. the BERT plugin)' });
      return value as number[];
    }
    if (typeof value === 'object' && value !== null) {
      const record = value as Record<string, unknown>;
      this.keys ??= Object.keys(record).sort();
      const keys = Object.keys(record).sort();
      if (keys.join('\u0000') !== this.keys.join('\u0000')) {
        throw new DataError(`'${field}' has keys [${keys.join(', ')}], expected [${this.keys.join(', ')}]`, { where: source, hint: 'every object needs the same numeric fields' });
      }
      return this.keys.map((k) => {
        const v = record[k];
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new DataError(`'${field}.${k}' is ${JSON.stringify(v)}, not a finite number`, { where: source });
        return v;
      });
    }
    throw new DataError(`'${field}' is ${JSON.stringify(value)}; expected a number array or an object of numbers`, { where: source, hint: 'text inputs need a tokenizer reader (e.g. the BERT plugin)' });
  }
}
