import { DataError } from '@kiln/core';
import type { DatasetInfo, Example } from '@kiln/core';

/** One parsed row with the place it came from (`file:line`). */
export interface TableRow {
  cells: string[];
  source: string;
}

export interface Table {
  /** File (or generator name) the rows came from, for messages. */
  file: string;
  header: string[];
  /** Source of the header row (`file:1`). */
  headerSource: string;
  rows: TableRow[];
}

export type ColumnKind = 'numeric' | 'categorical';

export interface TableEncoderOptions {
  label: string;
  features?: string[];
  columns?: Record<string, ColumnKind>;
  standardize: boolean;
  task: 'classification' | 'regression';
  classes?: string[];
  /** Encodings fitted earlier, reused instead of fitting on this table. */
  encoding?: ColumnEncoding[];
}

/** Per-column encoding fitted on the training table; stored in DatasetInfo.extra for exporters. */
export interface ColumnEncoding {
  name: string;
  kind: ColumnKind;
  /** Numeric: mean and std used for standardization (0 and 1 when off). */
  mean?: number;
  std?: number;
  /** Categorical: one-hot categories, in order. */
  categories?: string[];
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL = new Set(['NaN', 'nan', 'Infinity', '-Infinity', 'inf', '-inf']);

function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (NUMBER.test(t)) return Number(t);
  if (SPECIAL.has(t)) return undefined;
  return undefined;
}

/** Share of numeric cells above which a column counts as numeric with typos, rather than categorical. */
const MOSTLY_NUMERIC = 0.9;

function compareLabels(a: string, b: string): number {
  const x = parseNumber(a);
  const y = parseNumber(b);
  if (x !== undefined && y !== undefined) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Turns tables of string cells into feature vectors: numeric columns standardized with
 * train-split statistics, categorical columns one-hot encoded with train-split categories.
 */
export class TableEncoder {
  readonly columns: ColumnEncoding[];
  readonly classNames?: string[];
  readonly width: number;
  private readonly labelColumn: string;

  private constructor(
    private readonly options: TableEncoderOptions,
    columns: ColumnEncoding[],
    classNames: string[] | undefined,
  ) {
    this.columns = columns;
    this.classNames = classNames;
    this.labelColumn = options.label;
    this.width = columns.reduce((w, c) => w + (c.kind === 'numeric' ? 1 : c.categories!.length), 0);
  }

  /** Fits column kinds, standardization statistics, categories and classes on the training table. */
  static fit(train: Table, options: TableEncoderOptions): TableEncoder {
    checkShape(train);
    const labelIndex = columnIndex(train, options.label, 'label');
    const featureNames = options.features ?? train.header.filter((h) => h !== options.label);
    for (const name of Object.keys(options.columns ?? {})) columnIndex(train, name, 'columns');
    if (featureNames.length === 0) {
      throw new DataError('no feature columns', { where: train.headerSource, hint: `the file needs columns besides the label '${options.label}'` });
    }
    const columns = options.encoding ? pinned(train, options.encoding) : featureNames.map((name): ColumnEncoding => {
      const index = columnIndex(train, name, 'features');
      const cells = train.rows.map((r) => r.cells[index]);
      const declared = options.columns?.[name];
      const numericCount = cells.filter((c) => parseNumber(c) !== undefined).length;
      const kind: ColumnKind = declared ?? (numericCount / Math.max(1, cells.length) >= MOSTLY_NUMERIC ? 'numeric' : 'categorical');
      if (kind === 'categorical') return { name, kind, categories: [...new Set(cells.map((c) => c.trim()))].sort(compareLabels) };
      const values = train.rows.map((row) => numericCell(row, index, name));
      let mean = 0;
      let std = 1;
      if (options.standardize && values.length > 0) {
        mean = values.reduce((a, b) => a + b, 0) / values.length;
        const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
        std = Math.sqrt(variance) || 1;
      }
      return { name, kind, mean, std };
    });
    let classNames: string[] | undefined;
    if (options.task === 'classification') {
      classNames = options.classes ?? [...new Set(train.rows.map((r) => r.cells[labelIndex].trim()))].sort(compareLabels);
    }
    return new TableEncoder(options, columns, classNames);
  }

  info(): DatasetInfo {
    const expanded = this.columns.flatMap((c) => (c.kind === 'numeric' ? [c.name] : c.categories!.map((k) => `${c.name}=${k}`)));
    return {
      task: this.options.task,
      inputs: [{ name: 'features', shape: [this.width], dtype: 'float32' }],
      targetShape: [],
      targetDtype: this.options.task === 'classification' ? 'int32' : 'float32',
      classNames: this.classNames,
      extra: { label: this.labelColumn, columns: this.columns, featureNames: expanded },
    };
  }

  /** Encodes every row; throws DataError at the first malformed one. */
  encode(table: Table): Example[] {
    checkShape(table);
    const labelIndex = columnIndex(table, this.labelColumn, 'label');
    const indices = this.columns.map((c) => columnIndex(table, c.name, 'features'));
    const classIndex = new Map(this.classNames?.map((name, i) => [name, i]));
    return table.rows.map((row) => {
      const features = new Float32Array(this.width);
      let offset = 0;
      this.columns.forEach((column, k) => {
        const cell = row.cells[indices[k]];
        if (column.kind === 'numeric') {
          features[offset++] = (numericCell(row, indices[k], column.name) - column.mean!) / column.std!;
        } else {
          // A category unseen in training encodes as all zeros, as scikit-learn's handle_unknown='ignore'.
          const at = column.categories!.indexOf(cell.trim());
          if (at >= 0) features[offset + at] = 1;
          offset += column.categories!.length;
        }
      });
      const labelText = row.cells[labelIndex].trim();
      let target: number;
      if (this.options.task === 'classification') {
        const index = classIndex.get(labelText);
        if (index === undefined) {
          throw new DataError(`label '${labelText}' in column '${this.labelColumn}' is not one of the classes [${this.classNames!.join(', ')}]`, {
            where: row.source,
            hint: this.options.classes ? 'fix the label or add it to `classes`' : 'this class is absent from the training split; list all classes in `classes`',
          });
        }
        target = index;
      } else {
        target = numericCell(row, labelIndex, this.labelColumn);
      }
      return { inputs: { features }, target, source: row.source };
    });
  }
}

/** Encodings given in the options, checked against the table's header and for completeness. */
function pinned(table: Table, encoding: ColumnEncoding[]): ColumnEncoding[] {
  return encoding.map((column, i) => {
    columnIndex(table, column.name, `encoding.${i}.name`);
    const complete = column.kind === 'numeric' ? column.mean !== undefined && column.std !== undefined : (column.categories?.length ?? 0) > 0;
    if (!complete) {
      throw new DataError(`encoding of column '${column.name}' is incomplete: a ${column.kind} column needs ${column.kind === 'numeric' ? '`mean` and `std`' : '`categories`'}`, {
        where: `data.encoding.${i}`,
        hint: "copy the encodings from the trained model's dataset info (extra.columns)",
      });
    }
    return { ...column };
  });
}

function columnIndex(table: Table, name: string, option: string): number {
  const index = table.header.indexOf(name);
  if (index < 0) {
    throw new DataError(`column '${name}' (from \`${option}\`) is not in the header [${table.header.join(', ')}]`, {
      where: table.headerSource,
      hint: 'check the column name or the delimiter',
    });
  }
  return index;
}

function checkShape(table: Table): void {
  for (const row of table.rows) {
    if (row.cells.length !== table.header.length) {
      const missing = row.cells.length < table.header.length ? `; column '${table.header[row.cells.length]}' is missing` : '';
      throw new DataError(`row has ${row.cells.length} columns, the header has ${table.header.length}${missing}`, {
        where: row.source,
        hint: 'fix the row (a stray or missing delimiter?) or remove it',
      });
    }
  }
}

function numericCell(row: TableRow, index: number, column: string): number {
  const value = parseNumber(row.cells[index]);
  if (value === undefined) {
    throw new DataError(`column '${column}' is numeric but the value is '${row.cells[index]}'`, {
      where: row.source,
      hint: `fix the value, or declare the column categorical with \`columns: { ${column}: categorical }\``,
    });
  }
  return value;
}
