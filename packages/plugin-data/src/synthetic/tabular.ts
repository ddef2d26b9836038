import * as fs from 'node:fs';
import { z } from 'zod';
import { ConfigError, SeededRng } from '@kiln/core';
import type { Dataset, Reader, Split } from '@kiln/core';
import { encodeTables } from '../readers/csv-reader';
import type { Table } from '../readers/table-encoder';
import type { ReaderContext } from '../paths';

export interface TabularOptions {
  seed: number;
  n: number;
  task?: 'classification' | 'regression';
  numFeatures?: number;
  numClasses?: number;
  /** Std of the label noise (regression) or of the blobs around their centers (classification). */
  noise?: number;
}

/** A generated table of string cells: numeric `x0…`, categorical `group`, and `label`. */
export interface GeneratedTable {
  header: string[];
  rows: string[][];
}

export const GROUPS = ['a', 'b', 'c'] as const;
/** Regression offset added per `group` value (a known effect a model can learn). */
export const GROUP_OFFSETS = [-1, 0, 1.5] as const;

/**
 * Classification: Gaussian blobs, one center per class drawn from N(0, 2²) per feature.
 * Regression: y = Σ wᵢ·xᵢ + 2·sin(2·x₀) + offset[group] + noise·ε with x ~ N(0, 1).
 */
export function generateTabular(options: TabularOptions): GeneratedTable {
  const task = options.task ?? 'classification';
  const d = options.numFeatures ?? 4;
  const k = options.numClasses ?? 3;
  const rng = new SeededRng(options.seed).fork(`tabular-${task}`);
  const header = [...Array.from({ length: d }, (_, i) => `x${i}`), 'group', 'label'];
  const rows: string[][] = [];
  const fmt = (v: number) => v.toFixed(5);
  if (task === 'classification') {
    const noise = options.noise ?? 1;
    const centers = Array.from({ length: k }, () => Array.from({ length: d }, () => 2 * rng.normal()));
    for (let i = 0; i < options.n; i++) {
      const label = rng.int(0, k - 1);
      const x = centers[label].map((c) => c + noise * rng.normal());
      rows.push([...x.map(fmt), GROUPS[rng.int(0, GROUPS.length - 1)], `class${label}`]);
    }
  } else {
    const noise = options.noise ?? 0.1;
    const w = Array.from({ length: d }, () => rng.normal());
    for (let i = 0; i < options.n; i++) {
      const x = Array.from({ length: d }, () => rng.normal());
      const g = rng.int(0, GROUPS.length - 1);
      const y = x.reduce((s, v, j) => s + w[j] * v, 0) + 2 * Math.sin(2 * x[0]) + GROUP_OFFSETS[g] + noise * rng.normal();
      rows.push([...x.map(fmt), GROUPS[g], fmt(y)]);
    }
  }
  return { header, rows };
}

/** Writes a generated table as CSV (header row first), e.g. for the csv reader and tabular presets. */
export function writeTabularCsv(file: string, options: TabularOptions): GeneratedTable {
  const table = generateTabular(options);
  fs.writeFileSync(file, [table.header, ...table.rows].map((r) => r.join(',')).join('\n') + '\n');
  return table;
}

export const SyntheticTabularOptions = z.strictObject({
  task: z.enum(['classification', 'regression']).default('classification').describe('Gaussian blobs or a linear + sine function of the features'),
  numFeatures: z.number().int().min(1).default(4).describe('Numeric columns x0…'),
  numClasses: z.number().int().min(2).default(3).describe('Classes (classification)'),
  noise: z.number().min(0).optional().describe('Blob std (classification, default 1) or label noise std (regression, default 0.1)'),
  trainSize: z.number().int().min(1).default(1000).describe('Training rows'),
  valSize: z.number().int().min(0).default(200).describe('Validation rows'),
});
export type SyntheticTabularOptions = z.output<typeof SyntheticTabularOptions>;

/** Generated tables encoded like the csv reader (standardized numerics, one-hot `group`), input `features`. */
export class SyntheticTabularReader implements Reader {
  readonly splits: readonly Split[];
  private prepared?: Map<Split, Dataset>;

  constructor(
    private readonly options: SyntheticTabularOptions,
    private readonly context: Pick<ReaderContext, 'seed'>,
  ) {
    this.splits = options.valSize > 0 ? ['train', 'val'] : ['train'];
  }

  async load(split: Split): Promise<Dataset> {
    this.prepared ??= this.prepare();
    const dataset = this.prepared.get(split);
    if (!dataset) throw new ConfigError(`synthetic-tabular has no '${split}' split`, { where: 'data', hint: 'set data.valSize > 0 for a val split' });
    return dataset;
  }

  private prepare(): Map<Split, Dataset> {
    const o = this.options;
    const generated = generateTabular({ seed: this.context.seed, n: o.trainSize + o.valSize, task: o.task, numFeatures: o.numFeatures, numClasses: o.numClasses, noise: o.noise });
    const toTable = (rows: string[][], offset: number, split: Split): Table => ({
      file: 'synthetic-tabular',
      header: generated.header,
      headerSource: 'synthetic-tabular',
      rows: rows.map((cells, i) => ({ cells, source: `synthetic-tabular:${split}:${offset + i}` })),
    });
    const tables = new Map<Split, Table>([['train', toTable(generated.rows.slice(0, o.trainSize), 0, 'train')]]);
    if (o.valSize > 0) tables.set('val', toTable(generated.rows.slice(o.trainSize), 0, 'val'));
    return encodeTables(tables, {
      label: 'label',
      columns: { group: 'categorical' },
      standardize: true,
      task: o.task,
      classes: o.task === 'classification' ? Array.from({ length: o.numClasses }, (_, i) => `class${i}`) : undefined,
    });
  }
}
