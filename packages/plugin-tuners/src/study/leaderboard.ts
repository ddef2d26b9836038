import type { TrialRecord } from './study-file';

export interface LeaderboardRow {
  rank: number;
  trial: string;
  status: TrialRecord['status'];
  value?: number;
  epochs: number;
  params: Record<string, unknown>;
  runDir: string;
  tags?: Record<string, string | number>;
}

const better = (mode: 'min' | 'max') => (a: number, b: number) => (mode === 'max' ? b - a : a - b);

/** Finished trials, best first (completed before pruned, failed last); ties keep trial order. */
export function leaderboard(trials: TrialRecord[], mode: 'min' | 'max'): LeaderboardRow[] {
  const order = { completed: 0, pruned: 1, failed: 2, running: 3 } as const;
  const cmp = better(mode);
  return trials
    .filter((t) => t.status !== 'running')
    .sort((a, b) => {
      const av = a.value ?? NaN;
      const bv = b.value ?? NaN;
      if (a.status !== b.status && (a.status === 'failed' || b.status === 'failed')) return order[a.status] - order[b.status];
      if (Number.isNaN(av) || Number.isNaN(bv)) return Number.isNaN(av) ? 1 : -1;
      return cmp(av, bv) || order[a.status] - order[b.status] || Number(a.id) - Number(b.id);
    })
    .map((t, i) => ({ rank: i + 1, trial: t.id, status: t.status, value: t.value, epochs: t.epochs.length ? t.epochs[t.epochs.length - 1].epoch : 0, params: t.params, runDir: t.runDir, tags: t.tags }));
}

export function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4 ? v.toExponential(3) : v.toFixed(4);
  return JSON.stringify(v);
}

export function formatParams(params: Record<string, unknown>): string {
  return Object.entries(params).map(([k, v]) => `${k}=${formatValue(v)}`).join(' ');
}

/** A text table of the leaderboard. */
export function formatLeaderboard(rows: LeaderboardRow[], objective: string, limit = rows.length): string {
  const header = ['rank', 'trial', 'status', objective, 'epochs', 'params'];
  const body = rows.slice(0, limit).map((r) => [String(r.rank), r.trial, r.status, r.value === undefined ? '-' : formatValue(r.value), String(r.epochs), formatParams(r.params)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  return [header, ...body].map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}
