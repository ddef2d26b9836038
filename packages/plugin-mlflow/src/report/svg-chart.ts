export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  xLabel?: string;
  title?: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Short, exact-enough label for an axis tick or a value. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-3) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}

/** Round tick values covering [min, max] (the 1-2-5 rule). */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (min === max) return [min];
  const span = max - min;
  const raw = span / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => span / s <= target) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Histories up to this long get one circle per point (exact value on hover). */
export const MAX_MARKED_POINTS = 500;
/** Longer lines are reduced to the first, lowest, highest and last point of each pixel column. */
export const MAX_LINE_POINTS = 5000;

/** Keeps the shape of a long line at one value range per pixel column, in x order. */
export function decimate(points: ChartPoint[], columns: number, xMin: number, xMax: number): ChartPoint[] {
  const buckets = new Map<number, ChartPoint[]>();
  for (const p of points) {
    const column = Math.min(columns - 1, Math.floor(((p.x - xMin) / (xMax - xMin || 1)) * columns));
    const bucket = buckets.get(column);
    if (bucket) bucket.push(p);
    else buckets.set(column, [p]);
  }
  const out: ChartPoint[] = [];
  for (const column of [...buckets.keys()].sort((a, b) => a - b)) {
    const bucket = buckets.get(column)!;
    const low = bucket.reduce((a, b) => (b.y < a.y ? b : a));
    const high = bucket.reduce((a, b) => (b.y > a.y ? b : a));
    const kept = new Set([bucket[0], low, high, bucket[bucket.length - 1]]);
    out.push(...bucket.filter((p) => kept.has(p)));
  }
  return out;
}

/**
 * A line chart as an inline SVG string: axes with ticks and the line through the finite points;
 * up to MAX_MARKED_POINTS points also get a circle carrying the exact `data-x`/`data-y` and a
 * hover `<title>`. Non-finite values are not drawn; the caller reports them.
 */
export function lineChartSvg(points: ChartPoint[], options: ChartOptions = {}): string {
  const width = options.width ?? 560;
  const height = options.height ?? 260;
  const margin = { left: 64, right: 16, top: 12, bottom: 40 };
  const finite = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = finite.map((p) => p.x);
  const ys = finite.map((p) => p.y);
  let [xMin, xMax] = finite.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [yMin, yMax] = finite.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (xMin === xMax) [xMin, xMax] = [xMin - 1, xMax + 1];
  if (yMin === yMax) [yMin, yMax] = [yMin - (Math.abs(yMin) || 1) * 0.1, yMax + (Math.abs(yMax) || 1) * 0.1];
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const px = (x: number) => margin.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number) => margin.top + (1 - (y - yMin) / (yMax - yMin)) * plotH;
  const r = (v: number) => Number(v.toFixed(2));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img"` +
      ` data-x-min="${xMin}" data-x-max="${xMax}" data-y-min="${yMin}" data-y-max="${yMax}"` +
      ` data-plot="${margin.left} ${margin.top} ${plotW} ${plotH}">`,
  );
  if (options.title) parts.push(`<title>${escapeHtml(options.title)}</title>`);
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" class="plot-area"/>`);
  for (const t of niceTicks(yMin, yMax)) {
    const y = r(py(t));
    parts.push(`<line class="grid" x1="${margin.left}" x2="${margin.left + plotW}" y1="${y}" y2="${y}"/>`);
    parts.push(`<text class="tick" x="${margin.left - 6}" y="${y + 4}" text-anchor="end">${escapeHtml(formatValue(t))}</text>`);
  }
  for (const t of niceTicks(xMin, xMax)) {
    const x = r(px(t));
    parts.push(`<line class="grid" x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotH}"/>`);
    parts.push(`<text class="tick" x="${x}" y="${margin.top + plotH + 16}" text-anchor="middle">${escapeHtml(formatValue(t))}</text>`);
  }
  parts.push(`<text class="axis-label" x="${margin.left + plotW / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(options.xLabel ?? 'step')}</text>`);
  const line = finite.length > MAX_LINE_POINTS ? decimate(finite, Math.round(plotW), xMin, xMax) : finite;
  if (line.length > 1) {
    parts.push(`<polyline class="series" fill="none" data-points="${finite.length}" points="${line.map((p) => `${r(px(p.x))},${r(py(p.y))}`).join(' ')}"/>`);
  }
  for (const p of finite.length <= MAX_MARKED_POINTS ? finite : []) {
    parts.push(
      `<circle class="point" cx="${r(px(p.x))}" cy="${r(py(p.y))}" r="${finite.length > 100 ? 1.2 : 2.5}" data-x="${p.x}" data-y="${p.y}">` +
        `<title>${escapeHtml(`${options.xLabel ?? 'step'} ${p.x}: ${formatValue(p.y)}`)}</title></circle>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}
