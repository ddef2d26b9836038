#!/usr/bin/env node
/**
 * COCO bbox evaluation speed: @kiln/plugin-coco against pycocotools on the same generated files,
 * in one run. Needs `npx tsc -b packages/plugin-coco` first. pycocotools is timed when some
 * python (PYCOCOTOOLS_PYTHON, python3, /usr/bin/python3) can `import pycocotools`
 * (set PYTHONPATH to a local build of cocodataset/cocoapi's PythonAPI).
 *
 *   node bench/coco.js            both cases
 *   node bench/coco.js --small    only the 500-image case
 */
const { execFileSync, spawnSync } = require('node:child_process');
const { mkdtempSync, writeFileSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { evaluateCoco } = require('../packages/plugin-coco/dist/index.js');
const { mulberry32 } = require('../packages/core/dist');

/** Images with GT boxes of mixed sizes (some crowd) and detections: jittered true boxes plus clutter. */
function generate(images, categories, detectionsPerImage, seed) {
  const rnd = mulberry32(seed);
  const r2 = (x) => Math.round(x * 100) / 100;
  const gt = { images: [], categories: [], annotations: [] };
  const dt = [];
  for (let c = 1; c <= categories; c++) gt.categories.push({ id: c, name: `class${c}` });
  for (let i = 1; i <= images; i++) {
    gt.images.push({ id: i, width: 640, height: 480, file_name: `${i}.jpg` });
    const objects = 1 + Math.floor(rnd() * 13);
    let made = 0;
    for (let o = 0; o < objects; o++) {
      const scale = [24, 64, 220][Math.floor(rnd() * 3)];
      const w = 2 + rnd() * scale;
      const h = 2 + rnd() * scale;
      const box = [r2(rnd() * (640 - w)), r2(rnd() * (480 - h)), r2(w), r2(h)];
      const category = 1 + Math.floor(rnd() * categories);
      gt.annotations.push({ id: gt.annotations.length + 1, image_id: i, category_id: category, bbox: box, area: r2(box[2] * box[3] * 0.8), iscrowd: rnd() < 0.03 ? 1 : 0, segmentation: [] });
      if (made < detectionsPerImage && rnd() < 0.8) {
        const j = (v, s) => r2(v + (rnd() - 0.5) * s);
        dt.push({ image_id: i, category_id: rnd() < 0.9 ? category : 1 + Math.floor(rnd() * categories), bbox: [j(box[0], w * 0.2), j(box[1], h * 0.2), r2(w * (0.8 + rnd() * 0.4)), r2(h * (0.8 + rnd() * 0.4))], score: Math.round(rnd() * 1000) / 1000 });
        made++;
      }
    }
    for (; made < detectionsPerImage; made++) {
      const w = 2 + rnd() * 150;
      const h = 2 + rnd() * 150;
      dt.push({ image_id: i, category_id: 1 + Math.floor(rnd() * categories), bbox: [r2(rnd() * (640 - w)), r2(rnd() * (480 - h)), r2(w), r2(h)], score: Math.round(rnd() * 1000) / 1000 });
    }
  }
  return { gt, dt };
}

const PY_SCRIPT = `
import sys, json, time, io, contextlib
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1])
    t0 = time.perf_counter()
    dt = gt.loadRes(sys.argv[2])
    E = COCOeval(gt, dt, 'bbox'); E.evaluate(); E.accumulate(); E.summarize()
    t1 = time.perf_counter()
print(json.dumps({'seconds': t1 - t0, 'stats': [float(x) for x in E.stats]}))
`;

function findPython() {
  const candidates = [process.env.PYCOCOTOOLS_PYTHON, 'python3', '/usr/bin/python3', 'python'].filter(Boolean);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import pycocotools.cocoeval'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

/** First run (as a one-shot `kiln coco-eval` sees it) and best of `repeats` (warm). */
function timeKiln(gtFile, dtFile, repeats) {
  const gt = JSON.parse(readFileSync(gtFile, 'utf8'));
  let best = Infinity;
  let first;
  let stats;
  for (let k = 0; k < repeats; k++) {
    const t0 = performance.now();
    // same span as the python side: read + parse the results, evaluate, accumulate, summarize
    const dt = JSON.parse(readFileSync(dtFile, 'utf8'));
    stats = evaluateCoco(gt, dt, 'bbox', { gt: gtFile, dt: dtFile }).stats;
    const seconds = (performance.now() - t0) / 1000;
    first ??= seconds;
    best = Math.min(best, seconds);
  }
  return { seconds: best, first, stats };
}

function main() {
  const small = process.argv.includes('--small');
  const cases = [
    { name: '500 images / 5 categories / 5k detections', images: 500, categories: 5, perImage: 10, seed: 1 },
    ...(small ? [] : [{ name: '5000 images / 80 categories / 50k detections', images: 5000, categories: 80, perImage: 10, seed: 2 }]),
  ];
  const python = findPython();
  const dir = mkdtempSync(join(tmpdir(), 'kiln-coco-bench-'));
  console.log(`node ${process.version}; pycocotools: ${python ? `yes (${python})` : 'not found (set PYTHONPATH / PYCOCOTOOLS_PYTHON)'}`);
  try {
    for (const c of cases) {
      const { gt, dt } = generate(c.images, c.categories, c.perImage, c.seed);
      const gtFile = join(dir, `gt-${c.seed}.json`);
      const dtFile = join(dir, `dt-${c.seed}.json`);
      writeFileSync(gtFile, JSON.stringify(gt));
      writeFileSync(dtFile, JSON.stringify(dt));
      const kiln = timeKiln(gtFile, dtFile, 3);
      const line = [`${c.name} (${gt.annotations.length} GT, ${dt.length} detections)`, `  kiln        ${kiln.seconds.toFixed(3)} s  ${Math.round(dt.length / kiln.seconds).toLocaleString('en-US')} det/s (best of 3; first run ${kiln.first.toFixed(3)} s)`];
      if (python) {
        const out = JSON.parse(execFileSync(python, ['-c', PY_SCRIPT, gtFile, dtFile], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n').pop());
        const diff = Math.max(...out.stats.map((s, i) => Math.abs(s - kiln.stats[i])));
        line.push(`  pycocotools ${out.seconds.toFixed(3)} s  ${Math.round(dt.length / out.seconds).toLocaleString('en-US')} det/s`);
        line.push(`  ratio       ${(out.seconds / kiln.seconds).toFixed(1)}x faster (first run: ${(out.seconds / kiln.first).toFixed(1)}x); max |stats difference| = ${diff.toExponential(1)}`);
      }
      console.log(line.join('\n'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
