import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokens, UsageError, type ExportInfo, type ExportResult, type Exporter, type Logger, type RunSetup } from '@kiln/core';
import { buildModelCard } from './card';
import { OnnxExporter, OnnxExporterOptions } from './onnx/onnx-exporter';
import { loadRun } from './run-loader';
import { TfjsExporter } from './tfjs/tfjs-exporter';

type OnExportHook = RunSetup['kernel']['hooks']['onExport'];

/**
 * Calls the onExport taps in order. tapable compiles a hook into `function(<arg names>)`, and core
 * declares this one's argument as `export` (a reserved word), so `hook.promise()` cannot compile.
 */
export async function fireOnExport(hook: OnExportHook, info: ExportInfo): Promise<void> {
  for (const tap of hook.taps) {
    const fn = tap.fn as (info: ExportInfo, callback?: (error?: unknown) => void) => unknown;
    if (tap.type === 'async') await new Promise<void>((resolve, reject) => fn(info, (error) => (error ? reject(error) : resolve())));
    else await fn(info);
  }
}

export const BUILTIN_FORMATS = ['tfjs', 'onnx'] as const;

export interface ExportModelOptions {
  /** Run directory or .safetensors checkpoint. */
  checkpoint: string;
  /** tfjs, onnx or another registered exporter; default: the run config's `exporter.type`, else tfjs. */
  format?: string;
  out: string;
  cwd?: string;
  logger?: Logger;
  /** Options of the exporter block (e.g. `{ tolerance: 1e-5 }` for onnx). */
  exporterOptions?: Record<string, unknown>;
}

/** The tokenizer.json a text reader read (`data.vocab`: the file or a directory holding one), resolved against the run's base dir. */
export function tokenizerJsonOf(config: { data?: { vocab?: unknown } }, baseDir: string): string | undefined {
  const vocab = config.data?.vocab;
  if (typeof vocab !== 'string') return undefined;
  const target = path.resolve(baseDir, vocab);
  const file = fs.existsSync(target) && fs.statSync(target).isDirectory() ? path.join(target, 'tokenizer.json') : target;
  return file.endsWith('.json') && fs.existsSync(file) ? file : undefined;
}

/** Rebuilds a trained run's model, exports it in `format` and fires the onExport hook. */
export async function exportModel(options: ExportModelOptions): Promise<ExportResult> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const run = await loadRun(options.checkpoint, { cwd, logger: options.logger });
  try {
    const { kernel, config, trainer } = run.setup;
    // The run's `exporter` block gives the default format and, for that format, its options (flags win).
    const block = (config as { exporter?: { type?: unknown } & Record<string, unknown> }).exporter;
    const format = options.format ?? (typeof block?.type === 'string' ? block.type : 'tfjs');
    const { type: _type, ...blockOptions } = block?.type === format ? block : { type: undefined };
    const exporterOptions = { ...blockOptions, ...options.exporterOptions };
    let exporter: Exporter;
    if (kernel.has(Tokens.Exporter, format)) {
      exporter = await kernel.build(Tokens.Exporter, { type: format, ...exporterOptions }, 'exporter');
    } else if (format === 'tfjs') {
      exporter = new TfjsExporter();
    } else if (format === 'onnx') {
      exporter = new OnnxExporter(OnnxExporterOptions.parse(exporterOptions));
    } else {
      const known = [...new Set([...BUILTIN_FORMATS, ...kernel.names(Tokens.Exporter)])];
      throw new UsageError(`unknown export format "${format}"`, { where: options.format ? '--format' : 'exporter.type', hint: `use one of: ${known.join(', ')}` });
    }
    const card = buildModelCard({ name: config.name ?? trainer.model.name, info: kernel.dataset!, metrics: run.metrics, config });
    const tokenizerJson = tokenizerJsonOf(config as { data?: { vocab?: unknown } }, run.baseDir);
    if (tokenizerJson && card.preprocessing?.kind === 'text') card.preprocessing = { ...card.preprocessing, tokenizerJson };
    const result = await exporter.export(trainer.model, path.resolve(cwd, options.out), card);
    await fireOnExport(kernel.hooks.onExport, { result });
    return result;
  } finally {
    run.dispose();
  }
}
