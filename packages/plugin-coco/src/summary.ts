import type { CocoEvalResult } from './evaluate';

/** Python's '{:0.3f}': like toFixed(3) but ties (only exact k/16 values) round half to even. */
export function formatFixed3(x: number): string {
  if (Number.isFinite(x) && Number.isInteger(x * 16)) {
    const scaled = x * 1000;
    const floor = Math.floor(scaled);
    if (scaled - floor === 0.5) {
      const n = floor % 2 === 0 ? floor : floor + 1;
      return (n / 1000).toFixed(3);
    }
  }
  return x.toFixed(3);
}

/** The lines pycocotools' summarize() prints, with its format strings. */
export function summaryLines(result: CocoEvalResult): string[] {
  const p = result.params;
  const iouRange = `${p.iouThrs[0]!.toFixed(2)}:${p.iouThrs[p.iouThrs.length - 1]!.toFixed(2)}`;
  const md = p.maxDets;
  const rows: Array<[boolean, number | undefined, string, number]> =
    result.iouType === 'keypoints'
      ? [
          [true, undefined, 'all', 20],
          [true, 0.5, 'all', 20],
          [true, 0.75, 'all', 20],
          [true, undefined, 'medium', 20],
          [true, undefined, 'large', 20],
          [false, undefined, 'all', 20],
          [false, 0.5, 'all', 20],
          [false, 0.75, 'all', 20],
          [false, undefined, 'medium', 20],
          [false, undefined, 'large', 20],
        ]
      : [
          [true, undefined, 'all', 100],
          [true, 0.5, 'all', md[2]!],
          [true, 0.75, 'all', md[2]!],
          [true, undefined, 'small', md[2]!],
          [true, undefined, 'medium', md[2]!],
          [true, undefined, 'large', md[2]!],
          [false, undefined, 'all', md[0]!],
          [false, undefined, 'all', md[1]!],
          [false, undefined, 'all', md[2]!],
          [false, undefined, 'small', md[2]!],
          [false, undefined, 'medium', md[2]!],
          [false, undefined, 'large', md[2]!],
        ];
  return rows.map(([ap, thr, area, maxDets], i) => {
    const title = (ap ? 'Average Precision' : 'Average Recall').padEnd(18);
    const type = ap ? '(AP)' : '(AR)';
    const iou = (thr === undefined ? iouRange : thr.toFixed(2)).padEnd(9);
    return ` ${title} ${type} @[ IoU=${iou} | area=${area.padStart(6)} | maxDets=${String(maxDets).padStart(3)} ] = ${formatFixed3(result.stats[i]!)}`;
  });
}

/** A per-category table of the summary stats (in %, like detectron2's). */
export function perCategoryTable(result: CocoEvalResult, columns: readonly string[] = result.statNames.slice(0, result.iouType === 'keypoints' ? 5 : 6)): string[] {
  const entries = Object.entries(result.perCategory);
  if (entries.length === 0) return [];
  const nameWidth = Math.max(8, ...entries.map(([k]) => k.length));
  const cell = (v: number): string => (v < 0 ? 'nan' : (v * 100).toFixed(3)).padStart(8);
  const lines = [`${'category'.padEnd(nameWidth)} ${columns.map((c) => c.padStart(8)).join(' ')}`];
  lines.push('-'.repeat(lines[0]!.length));
  for (const [name, entry] of entries) lines.push(`${name.padEnd(nameWidth)} ${columns.map((c) => cell(entry[c] as number)).join(' ')}`);
  return lines;
}
