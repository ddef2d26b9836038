import * as path from 'node:path';
import { UsageError } from '@kiln/core';
import type { Command, CommandContext } from '@kiln/core';
import { MlflowFileStore, type RunRecord } from '../file-store/mlflow-file-store';

function formatNumber(value: number | undefined): string {
  if (value === undefined) return '-';
  if (!Number.isFinite(value)) return String(value);
  return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, '');
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n') + '\n';
}

/** Losses and errors improve downward; everything else (accuracy, f1, mAP) upward. */
export function metricImprovesDownward(metric: string): boolean {
  return /loss|error|mse|mae|rmse|perplexity|(^|[^a-z])(err|wer|cer)([^a-z]|$)/i.test(metric);
}

/**
 * Runs in display order: each run followed by its children (`mlflow.parentRunId`), keeping the
 * given order among siblings. A child whose parent is not listed is shown at the top level.
 */
export function nestRuns(runs: RunRecord[]): { run: RunRecord; depth: number }[] {
  const listed = new Set(runs.map((r) => r.info.runId));
  const children = new Map<string, RunRecord[]>();
  const roots: RunRecord[] = [];
  for (const r of runs) {
    const parent = r.tags['mlflow.parentRunId'];
    if (parent && listed.has(parent) && parent !== r.info.runId) children.set(parent, [...(children.get(parent) ?? []), r]);
    else roots.push(r);
  }
  const out: { run: RunRecord; depth: number }[] = [];
  const seen = new Set<string>();
  const visit = (r: RunRecord, depth: number) => {
    if (seen.has(r.info.runId)) return;
    seen.add(r.info.runId);
    out.push({ run: r, depth });
    for (const c of children.get(r.info.runId) ?? []) visit(c, depth + 1);
  };
  for (const r of roots) visit(r, 0);
  // A parent cycle (hand-edited tags) leaves runs unvisited: list them rather than drop them.
  for (const r of runs) visit(r, 0);
  return out;
}

/** Lines of `kiln runs`: one per run, sorted best first by a metric (`asc` for losses, inferred from the name when omitted). */
export function listRunsText(store: MlflowFileStore, options: { experiment?: string; sort?: string; asc?: boolean }): string {
  const experiments = store.listExperiments();
  let experimentId: string | undefined;
  if (options.experiment !== undefined) {
    const found = experiments.find((e) => e.name === options.experiment || e.experimentId === options.experiment);
    if (!found) {
      throw new UsageError(`no experiment '${options.experiment}' in ${store.root}`, { where: '--experiment', hint: `known experiments: ${experiments.map((e) => e.name).join(', ') || 'none'}` });
    }
    experimentId = found.experimentId;
  }
  const names = new Map(experiments.map((e) => [e.experimentId, e.name]));
  const runs = store.listRuns(experimentId);
  const sortKey = options.sort;
  const ascending = options.asc ?? (sortKey !== undefined && metricImprovesDownward(sortKey));
  if (sortKey) {
    // Runs without the metric (or with NaN) go last whatever the direction.
    const score = (r: RunRecord) => r.metrics[sortKey];
    runs.sort((a, b) => {
      const va = score(a), vb = score(b);
      const ma = va === undefined || Number.isNaN(va), mb = vb === undefined || Number.isNaN(vb);
      if (ma || mb) return ma === mb ? 0 : ma ? 1 : -1;
      return ascending ? va - vb : vb - va;
    });
  } else {
    runs.sort((a, b) => b.info.startTime - a.info.startTime);
  }
  const header = ['run id', 'name', 'experiment', 'status', 'started'];
  if (sortKey) header.push(sortKey);
  const rows = [header];
  for (const { run: r, depth } of nestRuns(runs)) {
    const name = depth === 0 ? r.info.runName : `${'  '.repeat(depth - 1)}└ ${r.info.runName}`;
    const row = [r.info.runId, name, names.get(r.info.experimentId) ?? r.info.experimentId, r.info.status, new Date(r.info.startTime).toISOString().slice(0, 19).replace('T', ' ')];
    if (sortKey) row.push(formatNumber(r.metrics[sortKey]));
    rows.push(row);
  }
  return runs.length === 0 ? `no runs in ${store.root}\n` : table(rows);
}

/** `kiln runs --compare a b`: params that differ, then the final value of every metric. */
export function compareRunsText(store: MlflowFileStore, a: string, b: string): string {
  const ra = store.readRun(a);
  const rb = store.readRun(b);
  const paramKeys = [...new Set([...Object.keys(ra.params), ...Object.keys(rb.params)])].sort();
  const differing = paramKeys.filter((k) => ra.params[k] !== rb.params[k]);
  const metricKeys = [...new Set([...Object.keys(ra.metrics), ...Object.keys(rb.metrics)])].sort();
  let out = `params that differ (${differing.length} of ${paramKeys.length}):\n`;
  out += differing.length ? table([['param', ra.info.runName || a, rb.info.runName || b], ...differing.map((k) => [k, ra.params[k] ?? '-', rb.params[k] ?? '-'])]) : '  (none)\n';
  out += `final metrics:\n`;
  out += metricKeys.length
    ? table([['metric', ra.info.runName || a, rb.info.runName || b], ...metricKeys.map((k) => [k, formatNumber(ra.metrics[k]), formatNumber(rb.metrics[k])])])
    : '  (none)\n';
  return out;
}

function parseOrder(value: unknown): boolean {
  if (value === 'asc' || value === 'desc') return value === 'asc';
  throw new UsageError(`--order must be "asc" or "desc", got '${String(value)}'`, { where: '--order' });
}

export const runsCommand: Command = {
  name: 'runs',
  description: 'List the runs of an MLflow file store (mlruns/), child runs under their parents, or compare two runs.',
  arguments: [{ name: 'runIds', description: 'with --compare: the two run ids', variadic: true }],
  options: [
    { flags: '--store <dir>', description: 'the mlruns folder', default: 'mlruns' },
    { flags: '--experiment <name>', description: 'only runs of this experiment (name or id)' },
    { flags: '--sort <metric>', description: 'sort best first by the final value of this metric (lowest first for names with loss/error/mse/…)' },
    { flags: '--order <order>', description: 'with --sort: force "asc" or "desc"' },
    { flags: '--compare', description: 'compare the two runs given as arguments', default: false },
  ],
  async run(args: string[], options: Record<string, unknown>, context: CommandContext): Promise<number> {
    const store = new MlflowFileStore(path.resolve(context.cwd, String(options.store ?? 'mlruns')));
    if (options.compare) {
      if (args.length !== 2) throw new UsageError(`--compare needs exactly two run ids, got ${args.length}`, { where: 'kiln runs', hint: 'kiln runs --compare <runIdA> <runIdB>' });
      context.stdout.write(compareRunsText(store, args[0], args[1]));
      return 0;
    }
    context.stdout.write(
      listRunsText(store, {
        experiment: options.experiment === undefined ? undefined : String(options.experiment),
        sort: options.sort === undefined ? undefined : String(options.sort),
        asc: options.order === undefined ? undefined : parseOrder(options.order),
      }),
    );
    return 0;
  },
};
