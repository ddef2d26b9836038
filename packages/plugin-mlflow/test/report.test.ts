import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { parseDocument, DomUtils } from 'htmlparser2';
import type { Element } from 'domhandler';
import { MemoryLogger, UsageError } from '@kiln/core';
import { decimate, lineChartSvg, MlflowFileTracker, niceTicks, reportCommand, writeRunReport } from '../src';
import { readRunFolder } from './support/independent-mlruns-reader';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-report-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function parse(file: string) {
  const doc = parseDocument(fs.readFileSync(file, 'utf8'));
  const sections = DomUtils.findAll((e) => e.name === 'section' && e.attribs.class === 'metric', doc.children);
  const charts = new Map<string, { svg: Element; points: { x: number; y: number; cx: number; cy: number }[] }>();
  for (const section of sections) {
    const svg = DomUtils.findOne((e) => e.name === 'svg', section.children)!;
    const points = DomUtils.findAll((e) => e.name === 'circle', svg.children).map((c) => ({
      x: Number(c.attribs['data-x']),
      y: Number(c.attribs['data-y']),
      cx: Number(c.attribs.cx),
      cy: Number(c.attribs.cy),
    }));
    charts.set(section.attribs['data-metric'], { svg, points });
  }
  return { doc, charts };
}

test('kiln report: one chart per metric whose points are the stored history; params, tags, final metrics; nothing fetched', async () => {
  const root = path.join(dir, 'mlruns');
  const tracker = new MlflowFileTracker({ root });
  const { runId, location } = await tracker.startRun({ experiment: 'mnist', runName: 'lr-0.01' });
  await tracker.logParams({ 'optimizer.lr': 0.01, 'model.type': 'mlp' });
  await tracker.setTags({ note: '<b>not bold</b>' });
  // train/loss = 1/(step+1) at steps 0..4; val/accuracy logged out of step order; grad has a NaN.
  for (let step = 0; step < 5; step++) await tracker.logMetrics({ 'train/loss': 1 / (step + 1) }, step, 1000 + step);
  await tracker.logMetrics({ 'val/accuracy': 0.9 }, 4, 2000);
  await tracker.logMetrics({ 'val/accuracy': 0.5 }, 0, 2001);
  await tracker.logMetrics({ 'val/accuracy': 0.7 }, 2, 2002);
  await tracker.logMetrics({ grad: 1 }, 0, 3000);
  await tracker.logMetrics({ grad: NaN }, 1, 3001);
  await tracker.logMetrics({ grad: 3 }, 2, 3002);
  const child = await tracker.startRun({ experiment: 'mnist', runName: 'trial-0', parentRunId: runId });
  await tracker.endRun('FINISHED');
  await tracker.endRun('FINISHED');

  const stdout = new PassThrough();
  let printed = '';
  stdout.on('data', (d: Buffer) => (printed += d));
  await reportCommand.run([runId], { store: 'mlruns', out: 'out/report.html' }, { stdout, cwd: dir, logger: new MemoryLogger(), globals: {} } as never);
  expect(printed).toBe(`report written to ${path.join('out', 'report.html')}\n`);
  const file = path.join(dir, 'out', 'report.html');
  const { doc, charts } = parse(file);

  const stored = readRunFolder(location).metrics;
  expect([...charts.keys()].sort()).toEqual(Object.keys(stored).sort());
  for (const [key, points] of Object.entries(stored)) {
    const expected = [...points].sort((a, b) => a.step - b.step).filter((p) => Number.isFinite(p.value));
    expect(charts.get(key)!.points.map((p) => [p.x, p.y])).toEqual(expected.map((p) => [p.step, p.value]));
  }
  // Pixel positions: plot area x 64..544 (560 wide, margins 64/16), y 12..220 (260 high, margins 12/40).
  // train/loss spans steps 0..4 and values 0.2..1, so step 2 sits mid-width and value 1 at the top.
  const loss = charts.get('train/loss')!.points;
  expect(loss.map((p) => p.cx)).toEqual([64, 184, 304, 424, 544]);
  expect(loss[0].cy).toBe(12);
  expect(loss[4].cy).toBe(220);
  expect(loss[1].cy).toBeCloseTo(12 + (1 - (0.5 - 0.2) / 0.8) * 208, 2);
  const polyline = DomUtils.findOne((e) => e.name === 'polyline', charts.get('train/loss')!.svg.children)!;
  expect(polyline.attribs.points.split(' ').map((xy) => xy.split(',').map(Number))).toEqual(loss.map((p) => [p.cx, p.cy]));
  const gradSection = DomUtils.findOne((e) => e.name === 'section' && e.attribs['data-metric'] === 'grad', doc.children)!;
  expect(DomUtils.textContent(gradSection)).toContain('1 non-finite value (NaN/±Infinity) not drawn');

  const text = DomUtils.textContent(doc);
  expect(text).toContain('optimizer.lr0.01');
  expect(text).toContain('mlflow.runNamelr-0.01');
  // Final values are MLflow's latest (highest step): train/loss 1/5, val/accuracy 0.9 (step 4), grad 3.
  expect(text).toMatch(/Final metrics.*grad3.*train\/loss0\.2.*val\/accuracy0\.9/s);
  expect(text).toContain('note<b>not bold</b>');
  expect(DomUtils.findAll((e) => e.name === 'b', doc.children)).toHaveLength(0);
  expect(text).toContain(`trial-0${child.runId} · FINISHED`);
  // Self-contained: no scripts, links, images or remote references.
  expect(DomUtils.findAll((e) => ['script', 'link', 'img', 'iframe'].includes(e.name), doc.children)).toHaveLength(0);
  expect(fs.readFileSync(file, 'utf8')).not.toMatch(/\b(src|href)=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
});

test('kiln report on a Kiln run directory charts metrics.jsonl by epoch', () => {
  const runDir = path.join(dir, 'runs', 'r1');
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ status: 'FINISHED', startedAt: '2026-01-01T00:00:00Z', endedAt: '2026-01-01T00:01:00Z', logs: { epoch: 3, 'val/loss': 0.4 } }));
  fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify({ optimizer: { lr: 0.1 } }));
  // val/loss = 1/epoch for epochs 1..3; a step line in between is not an epoch point.
  const lines = [1, 2, 3].map((epoch) => JSON.stringify({ kind: 'epoch', time: 't', epoch, 'val/loss': 1 / epoch }));
  lines.splice(1, 0, JSON.stringify({ kind: 'step', epoch: 1, step: 10, loss: 9 }));
  fs.writeFileSync(path.join(runDir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  const file = writeRunReport('runs/r1', { cwd: dir });
  expect(path.basename(file)).toBe('report-r1.html');
  const { doc, charts } = parse(file);
  expect([...charts.keys()]).toEqual(['val/loss']);
  expect(charts.get('val/loss')!.points.map((p) => [p.x, p.y])).toEqual([[1, 1], [2, 0.5], [3, 1 / 3]]);
  expect(DomUtils.textContent(doc)).toContain('optimizer.lr0.1');
  expect(DomUtils.textContent(DomUtils.findOne((e) => e.attribs.class === 'axis-label', doc.children)!)).toBe('epoch');
  expect(() => writeRunReport('ffffffffffffffffffffffffffffffff', { cwd: dir, store: 'nowhere' })).toThrow(UsageError);
});

test('niceTicks: 1-2-5 steps covering the range', () => {
  expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  expect(niceTicks(0.2, 1)).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
  expect(niceTicks(0, 4)).toEqual([0, 1, 2, 3, 4]);
  expect(niceTicks(3, 97)).toEqual([20, 40, 60, 80]);
});

test('long histories: the line keeps every point up to 5000 (no per-point markers past 500), then one value range per pixel column', () => {
  // 1000 points y = x on x 0..999: plot x 64..544 and y 220..12, so point i sits at (64 + 480 i/999, 220 - 208 i/999).
  const linear = lineChartSvg(Array.from({ length: 1000 }, (_, i) => ({ x: i, y: i })));
  const doc = parseDocument(linear);
  expect(DomUtils.findAll((e) => e.name === 'circle', doc.children)).toHaveLength(0);
  const pairs = DomUtils.findOne((e) => e.name === 'polyline', doc.children)!.attribs.points.split(' ').map((xy) => xy.split(',').map(Number));
  expect(pairs).toHaveLength(1000);
  pairs.forEach(([x, y], i) => {
    expect(x).toBeCloseTo(64 + (480 * i) / 999, 2);
    expect(y).toBeCloseTo(220 - (208 * i) / 999, 2);
  });
  // 48 000 points over 480 columns (100 per column) of a saw wave 0,1,…,9: each column keeps its first, lowest, highest and last point.
  const saw = Array.from({ length: 48_000 }, (_, i) => ({ x: i, y: i % 10 }));
  const reduced = decimate(saw, 480, 0, 47_999);
  expect(reduced.length).toBeLessThanOrEqual(4 * 480);
  expect(reduced.slice(0, 3)).toEqual([{ x: 0, y: 0 }, { x: 9, y: 9 }, { x: 99, y: 9 }]);
  const svg = parseDocument(lineChartSvg(saw));
  const line = DomUtils.findOne((e) => e.name === 'polyline', svg.children)!;
  expect(line.attribs['data-points']).toBe('48000');
  expect(line.attribs.points.split(' ')).toHaveLength(reduced.length);
});
