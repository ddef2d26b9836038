import * as fs from 'node:fs';
import * as path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { writeFileAtomic } from '@kiln/core';
import type { InputArray, Predictor } from './predictor';
import type { PredictInput } from './inputs';
import { postprocess, type Prediction } from './postprocess';

export interface PredictRow extends Prediction {
  source: string;
}

/** Stacks examples i..j of each input into one array per input. */
export function stack(predictor: Predictor, examples: PredictInput[]): InputArray[] {
  return predictor.inputs.map((spec) => {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const out = spec.dtype === 'int32' ? new Int32Array(n * examples.length) : new Float32Array(n * examples.length);
    examples.forEach((e, k) => out.set(e.inputs[spec.name], k * n));
    return out;
  });
}

/** Predicts every example in batches; a progress bar on `progress` (stderr) when given. */
export async function predictAll(predictor: Predictor, examples: PredictInput[], options: { batchSize: number; progress?: NodeJS.WriteStream }): Promise<PredictRow[]> {
  const bar = options.progress ? new SingleBar({ stream: options.progress, format: 'predict {bar} {value}/{total} | {eta_formatted}', hideCursor: false }, Presets.shades_classic) : undefined;
  bar?.start(examples.length, 0);
  const rows: PredictRow[] = [];
  try {
    for (let i = 0; i < examples.length; i += options.batchSize) {
      const chunk = examples.slice(i, i + options.batchSize);
      const { data, width } = await predictor.run(stack(predictor, chunk), chunk.length);
      chunk.forEach((e, k) => rows.push({ source: e.source, ...postprocess(data.subarray(k * width, (k + 1) * width), predictor.card.task, predictor.card.classNames, e.text) }));
      bar?.update(rows.length);
    }
  } finally {
    bar?.stop();
  }
  return rows;
}

function csvCell(v: unknown): string {
  const s = String(v ?? '');
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** JSONL (one object per line) or CSV (source, label, score_<class>… or value_<i>…). */
export function formatPredictions(rows: PredictRow[], format: 'jsonl' | 'csv'): string {
  if (format === 'jsonl') return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
  const first = rows[0];
  if (!first) return 'source\n';
  if (first.entities) {
    // One cell per entity field list: label:start-end per entity, and the entities as JSON.
    const lines = rows.map((r) => [r.source, (r.entities ?? []).map((e) => `${e.label}:${e.start}-${e.end}`).join(' '), JSON.stringify(r.entities ?? [])].map(csvCell).join(','));
    return `${['source,spans,entities', ...lines].join('\n')}\n`;
  }
  const scoreKeys = first.scores ? Object.keys(first.scores) : [];
  const valueCount = first.values?.length ?? 0;
  const header = ['source', ...(first.scores ? ['label', ...scoreKeys.map((k) => `score_${k}`)] : Array.from({ length: valueCount }, (_, i) => `value_${i}`))];
  const lines = rows.map((r) => [r.source, ...(r.scores ? [r.label, ...scoreKeys.map((k) => r.scores![k])] : r.values!)].map(csvCell).join(','));
  return `${[header.map(csvCell).join(','), ...lines].join('\n')}\n`;
}

export function writePredictions(rows: PredictRow[], out: string | undefined, stdout: NodeJS.WritableStream): void {
  const format = out && path.extname(out).toLowerCase() === '.csv' ? 'csv' : 'jsonl';
  const text = formatPredictions(rows, format);
  if (!out) {
    stdout.write(text);
    return;
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  writeFileAtomic(out, text);
}
