import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, flattenConfig, UsageError } from '@kiln/core';
import { MlflowFileStore, type RunRecord } from '../file-store/mlflow-file-store';
import { escapeHtml, formatValue, lineChartSvg, MAX_LINE_POINTS, type ChartPoint } from './svg-chart';
import { paramToString } from '../validation';

/** What a report shows, from an MLflow run (file store) or a Kiln run directory. */
export interface ReportRun {
  title: string;
  runId?: string;
  experiment?: string;
  status?: string;
  startTime?: number;
  endTime?: number | null;
  parentRunId?: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Final value of each metric (MLflow's latest: highest step, then newest timestamp). */
  metrics: Record<string, number>;
  /** Every logged point of each metric, in step order. */
  history: Record<string, ChartPoint[]>;
  /** What the x axis counts: `step` for tracked runs, `epoch` for a run directory's metrics.jsonl. */
  xLabel: string;
  children: { runId: string; runName: string; status: string }[];
  artifacts: string[];
  source: string;
}

function listFiles(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    return e.isDirectory() ? listFiles(path.join(dir, e.name), rel) : [rel];
  });
}

function fromRecord(store: MlflowFileStore, record: RunRecord): ReportRun {
  const experiment = store.listExperiments().find((e) => e.experimentId === record.info.experimentId)?.name;
  const history: Record<string, ChartPoint[]> = {};
  for (const [key, points] of Object.entries(record.metricHistory)) {
    history[key] = [...points].sort((a, b) => a.step - b.step || a.timestamp - b.timestamp).map((p) => ({ x: p.step, y: p.value }));
  }
  const children = store
    .listRuns(record.info.experimentId)
    .filter((r) => r.tags['mlflow.parentRunId'] === record.info.runId)
    .sort((a, b) => a.info.startTime - b.info.startTime)
    .map((r) => ({ runId: r.info.runId, runName: r.info.runName, status: r.info.status }));
  return {
    title: record.info.runName || record.info.runId,
    runId: record.info.runId,
    experiment,
    status: record.info.status,
    startTime: record.info.startTime,
    endTime: record.info.endTime,
    parentRunId: record.tags['mlflow.parentRunId'],
    params: record.params,
    tags: record.tags,
    metrics: record.metrics,
    history,
    xLabel: 'step',
    children,
    artifacts: listFiles(path.join(record.info.dir, 'artifacts')).sort(),
    source: record.info.dir,
  };
}

/** A Kiln run directory: run.json, config.json and the metrics-log callback's metrics.jsonl (one line per epoch). */
function fromRunDir(dir: string): ReportRun {
  const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as {
    status?: string;
    startedAt?: string;
    endedAt?: string;
    logs?: Record<string, number>;
    kilnVersion?: string;
    backend?: { name?: string };
  };
  const configFile = path.join(dir, 'config.json');
  const params: Record<string, string> = {};
  if (fs.existsSync(configFile)) {
    for (const [k, v] of Object.entries(flattenConfig(JSON.parse(fs.readFileSync(configFile, 'utf8'))))) params[k] = paramToString(v);
  }
  const history: Record<string, ChartPoint[]> = {};
  const metricsFile = path.join(dir, 'metrics.jsonl');
  if (fs.existsSync(metricsFile)) {
    fs.readFileSync(metricsFile, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (!line.trim()) return;
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch (cause) {
          throw new DataError(`malformed JSON line in metrics.jsonl`, { where: `${metricsFile}:${i + 1}`, hint: 'delete the broken line (a crash mid-write can leave one)', cause });
        }
        if (entry.kind !== undefined && entry.kind !== 'epoch') return;
        const epoch = Number(entry.epoch);
        for (const [key, value] of Object.entries(entry)) {
          if (key === 'epoch' || key === 'kind' || key === 'time') continue;
          if (typeof value !== 'number' && value !== null) continue;
          (history[key] ??= []).push({ x: epoch, y: value === null ? NaN : value });
        }
      });
  }
  const metrics: Record<string, number> = {};
  for (const [key, value] of Object.entries(record.logs ?? {})) if (key !== 'epoch') metrics[key] = value;
  for (const [key, points] of Object.entries(history)) if (metrics[key] === undefined && points.length) metrics[key] = points[points.length - 1].y;
  const tags: Record<string, string> = {};
  if (record.kilnVersion) tags['kiln.version'] = record.kilnVersion;
  if (record.backend?.name) tags['kiln.backend'] = record.backend.name;
  return {
    title: path.basename(dir),
    status: record.status,
    startTime: record.startedAt ? Date.parse(record.startedAt) : undefined,
    endTime: record.endedAt ? Date.parse(record.endedAt) : null,
    params,
    tags,
    metrics,
    history,
    xLabel: 'epoch',
    children: [],
    artifacts: listFiles(dir).filter((f) => f !== 'run.json').sort(),
    source: dir,
  };
}

/**
 * Finds what `target` names: a Kiln run directory (with run.json), an mlruns run folder (with
 * meta.yaml), or a run id in the `store` folder.
 */
export function readReportRun(target: string, options: { store?: string; cwd?: string } = {}): ReportRun {
  const cwd = options.cwd ?? process.cwd();
  const asPath = path.resolve(cwd, target);
  if (fs.existsSync(path.join(asPath, 'run.json')) && !fs.existsSync(path.join(asPath, 'meta.yaml'))) return fromRunDir(asPath);
  if (fs.existsSync(path.join(asPath, 'meta.yaml')) && fs.existsSync(path.join(asPath, 'metrics'))) {
    const store = new MlflowFileStore(path.dirname(path.dirname(asPath)));
    return fromRecord(store, store.readRun(path.basename(asPath)));
  }
  const root = path.resolve(cwd, options.store ?? 'mlruns');
  if (!fs.existsSync(root)) {
    throw new UsageError(`'${target}' is not a run directory, and there is no store at ${root} to look the run id up in`, {
      where: 'kiln report',
      hint: 'pass a run id with --store <mlruns folder>, an mlruns run folder, or a Kiln run directory (runs/<name>)',
    });
  }
  const store = new MlflowFileStore(root);
  return fromRecord(store, store.readRun(target));
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#1d2430;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
h3{font-size:14px;margin:0 0 4px;font-family:ui-monospace,monospace}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{color:#5a6473;font-weight:600}td.v{font-family:ui-monospace,monospace;word-break:break-all}
.sub{color:#5a6473}.charts{display:flex;flex-wrap:wrap;gap:18px}.metric{border:1px solid #e4e8ef;border-radius:6px;padding:10px}
.metric p{margin:4px 0 0;color:#5a6473;font-size:12px}
svg.chart{display:block;max-width:100%;height:auto}svg .plot-area{fill:#fafbfd;stroke:#c9d0db}svg .grid{stroke:#e6e9ef}
svg .tick,svg .axis-label{font:11px system-ui,sans-serif;fill:#5a6473}svg .series{stroke:#2f6fdf;stroke-width:1.6}svg .point{fill:#2f6fdf}
`;

function table(rows: [string, string][], emptyText: string): string {
  if (!rows.length) return `<p class="sub">${escapeHtml(emptyText)}</p>`;
  return `<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td class="v">${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

function time(ms: number | null | undefined): string {
  return ms === undefined || ms === null || Number.isNaN(ms) ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** One self-contained HTML page: no scripts run and nothing is fetched; charts are inline SVG. */
export function renderRunReport(run: ReportRun): string {
  const info: [string, string][] = [];
  if (run.runId) info.push(['run id', run.runId]);
  if (run.experiment) info.push(['experiment', run.experiment]);
  if (run.parentRunId) info.push(['parent run', run.parentRunId]);
  info.push(['status', run.status ?? '-'], ['started', time(run.startTime)], ['ended', time(run.endTime)]);
  if (run.startTime && run.endTime) info.push(['duration', `${((run.endTime - run.startTime) / 1000).toFixed(1)} s`]);
  info.push(['source', run.source]);
  const metricKeys = Object.keys(run.history).sort();
  const charts = metricKeys.map((key) => {
    const points = run.history[key];
    const finite = points.filter((p) => Number.isFinite(p.y));
    const skipped = points.length - finite.length;
    const ys = finite.map((p) => p.y);
    const summary = [
      `${points.length} point${points.length === 1 ? '' : 's'}`,
      ...(ys.length ? [`min ${formatValue(Math.min(...ys))}`, `max ${formatValue(Math.max(...ys))}`] : []),
      ...(run.metrics[key] !== undefined ? [`final ${formatValue(run.metrics[key])}`] : []),
      ...(finite.length > MAX_LINE_POINTS ? ['line reduced to the range of each pixel column'] : []),
      ...(skipped ? [`${skipped} non-finite value${skipped === 1 ? '' : 's'} (NaN/±Infinity) not drawn`] : []),
    ].join(' · ');
    return `<section class="metric" data-metric="${escapeHtml(key)}"><h3>${escapeHtml(key)}</h3>${lineChartSvg(points, { xLabel: run.xLabel, title: key })}<p>${escapeHtml(summary)}</p></section>`;
  });
  const finals = Object.keys(run.metrics)
    .sort()
    .map((k): [string, string] => [k, formatValue(run.metrics[k])]);
  const sortedEntries = (o: Record<string, string>) => Object.keys(o).sort().map((k): [string, string] => [k, o[k]]);
  const children = run.children.length
    ? `<h2>Child runs (${run.children.length})</h2>${table(run.children.map((c) => [c.runName || c.runId, `${c.runId} · ${c.status}`]), '')}`
    : '';
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(`Kiln run report: ${run.title}`)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(run.title)}</h1><p class="sub">Kiln run report, generated ${escapeHtml(new Date().toISOString())}</p>`,
    table(info, ''),
    `<h2>Final metrics</h2>${table(finals, 'no metrics were logged')}`,
    `<h2>Metric history</h2>${charts.length ? `<div class="charts">${charts.join('')}</div>` : '<p class="sub">no metrics were logged</p>'}`,
    `<h2>Parameters (${Object.keys(run.params).length})</h2>${table(sortedEntries(run.params), 'no parameters were logged')}`,
    `<h2>Tags (${Object.keys(run.tags).length})</h2>${table(sortedEntries(run.tags), 'no tags')}`,
    children,
    `<h2>Artifacts (${run.artifacts.length})</h2>${run.artifacts.length ? `<ul>${run.artifacts.map((a) => `<li><code>${escapeHtml(a)}</code></li>`).join('')}</ul>` : '<p class="sub">none</p>'}`,
    '</body></html>',
    '',
  ].join('\n');
}
