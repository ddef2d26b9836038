import type { StudyData, TrialRecord } from './study-file';
import { formatLeaderboard, formatParams, formatValue, leaderboard } from './leaderboard';

const W = 640;
const H = 320;
const PAD = 44;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

interface Series {
  label: string;
  color: string;
  points: [number, number][];
  line: boolean;
}

/** A minimal SVG chart: linear axes with min/max ticks, lines or dots. */
function chart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  if (!all.length) return `<p>${esc(title)}: no data</p>`;
  const [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const sx = (x: number) => PAD + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * PAD);
  const sy = (y: number) => H - PAD - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * PAD);
  const body = series
    .map((s) => {
      const pts = s.points.filter(([, y]) => Number.isFinite(y));
      const title = `<title>${esc(s.label)}</title>`;
      if (s.line && pts.length > 1) return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}">${title}</polyline>`;
      return pts.map(([x, y]) => `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}">${title}</circle>`).join('');
    })
    .join('\n');
  return `<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>
<line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#333"/><line x1="${PAD}" y1="${PAD}" x2="${PAD}" y2="${H - PAD}" stroke="#333"/>
<text x="${PAD}" y="${H - PAD + 16}" font-size="11">${formatValue(x0)}</text><text x="${W - PAD}" y="${H - PAD + 16}" font-size="11" text-anchor="end">${formatValue(x1)}</text>
<text x="${PAD - 4}" y="${H - PAD}" font-size="11" text-anchor="end">${formatValue(y0)}</text><text x="${PAD - 4}" y="${PAD + 4}" font-size="11" text-anchor="end">${formatValue(y1)}</text>
<text x="${W / 2}" y="${H - 8}" font-size="12" text-anchor="middle">${esc(xLabel)}</text><text x="12" y="${H / 2}" font-size="12" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">${esc(yLabel)}</text>
${body}
</svg></figure>`;
}

/** Trials grouped by bracket (Hyperband), rung (ASHA) or one group. */
function groups(trials: TrialRecord[]): Map<string, TrialRecord[]> {
  const out = new Map<string, TrialRecord[]>();
  for (const t of trials) {
    const key = t.tags?.bracket !== undefined ? `bracket s=${t.tags.bracket}` : 'all trials';
    out.set(key, [...(out.get(key) ?? []), t]);
  }
  return out;
}

/** The study as a self-contained HTML page: leaderboard, objective per trial, learning curves per bracket. */
export function studyReportHtml(study: StudyData): string {
  const rows = leaderboard(study.trials, study.mode);
  const byTrial: Series[] = [
    { label: 'completed', color: COLORS[0], line: false, points: study.trials.filter((t) => t.status === 'completed').map((t) => [Number(t.id), t.value ?? NaN]) },
    { label: 'pruned', color: COLORS[3], line: false, points: study.trials.filter((t) => t.status === 'pruned').map((t) => [Number(t.id), t.value ?? NaN]) },
  ];
  const curves = [...groups(study.trials)].map(([name, trials]) =>
    chart(`${name}: learning curves`, 'epoch', study.objective, trials.map((t, i) => ({ label: `trial ${t.id}`, color: COLORS[i % COLORS.length], line: true, points: t.epochs.map((e) => [e.epoch, e.value] as [number, number]) }))),
  );
  const table = rows
    .map((r) => `<tr><td>${r.rank}</td><td>${esc(r.trial)}</td><td>${r.status}</td><td>${r.value === undefined ? '-' : formatValue(r.value)}</td><td>${r.epochs}</td><td><code>${esc(formatParams(r.params))}</code></td></tr>`)
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Kiln study ${esc(study.name)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left}figure{margin:1em 0}</style></head>
<body><h1>Study ${esc(study.name)}</h1>
<p>${study.trials.length} trials, tuner <code>${esc(JSON.stringify(study.tuner))}</code>, objective <b>${esc(study.objective)}</b> (${study.mode}), status ${study.status}.</p>
${chart('objective per trial', 'trial', study.objective, byTrial)}
${curves.join('\n')}
<h2>Leaderboard</h2>
<table><thead><tr><th>rank</th><th>trial</th><th>status</th><th>${esc(study.objective)}</th><th>epochs</th><th>params</th></tr></thead><tbody>
${table}
</tbody></table></body></html>
`;
}

export function studyReportText(study: StudyData): string {
  return formatLeaderboard(leaderboard(study.trials, study.mode), study.objective);
}
