import type { Model } from './model';

/** What inference needs beside the weights (written as kiln-model.json). */
export interface ModelCard {
  name: string;
  task: string;
  inputs: { name: string; shape: (number | null)[]; dtype: string }[];
  classNames?: string[];
  preprocessing?: Record<string, unknown>;
  metrics?: Record<string, number>;
  kilnVersion: string;
  config?: unknown;
}

export interface ExportResult {
  format: string;
  dir: string;
  files: string[];
}

/** Token and interface of the Exporter point: writes a trained model to a directory. */
export const Exporter: unique symbol = Symbol.for('kiln.point.Exporter');
export interface Exporter {
  readonly format: string;
  export(model: Model, outDir: string, card: ModelCard): Promise<ExportResult>;
}
