import * as path from 'node:path';
import { UsageError, writeFileAtomic } from '@kiln/core';
import type { Command } from '@kiln/core';
import { readReportRun, renderRunReport } from './run-report';

/** Writes the report of `target` and returns the file written. */
export function writeRunReport(target: string, options: { store?: string; out?: string; cwd?: string } = {}): string {
  const cwd = options.cwd ?? process.cwd();
  const run = readReportRun(target, { store: options.store, cwd });
  const out = path.resolve(cwd, options.out ?? `report-${(run.runId ?? run.title).replace(/[^\w.-]+/g, '_')}.html`);
  writeFileAtomic(out, renderRunReport(run));
  return out;
}

export const reportCommand: Command = {
  name: 'report',
  description: 'Write a self-contained HTML page of a run: params, tags, final metrics and a chart per metric history.',
  arguments: [{ name: 'run', description: 'a run id (in --store), an mlruns run folder, or a Kiln run directory', required: true }],
  options: [
    { flags: '--store <dir>', description: 'the mlruns folder run ids are looked up in', default: 'mlruns' },
    { flags: '--out <file>', description: 'the HTML file to write (default: report-<run>.html)' },
  ],
  async run(args, options, context) {
    if (args.length !== 1) throw new UsageError(`kiln report needs one run, got ${args.length}`, { where: 'kiln report', hint: 'kiln report <runId> --store mlruns' });
    const file = writeRunReport(args[0], { store: options.store as string | undefined, out: options.out as string | undefined, cwd: context.cwd });
    context.stdout.write(`report written to ${path.relative(context.cwd, file) || file}\n`);
    return 0;
  },
};
