import type { Dataset, Split } from './data';

/** Token and interface of the Reader point: turns files (or a generator) into datasets. */
export const Reader: unique symbol = Symbol.for('kiln.point.Reader');
export interface Reader {
  /** Loads one split. Readers validate everything up front and throw DataError naming file and line. */
  load(split: Split): Promise<Dataset>;
  /** Splits this reader can produce. */
  readonly splits: readonly Split[];
}
