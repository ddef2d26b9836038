#!/usr/bin/env node
// Data loading in worker threads (trainer.workers): epoch time of a real `train()` run over an
// image folder of JPEG files decoded every epoch (cacheSize: 0), with 0, 1 and 2 workers,
// interleaved round by round in one process. Also prints how long reading one batch takes on
// the training thread, to show what there is to hide.
//   node bench/loader.js [--images 768] [--side 160] [--rounds 2] [--backend wasm] [--workers 0,1,2]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const jpeg = require('jpeg-js');
const { train, MemoryLogger, SeededRng, Kernel, Tokens } = require('../packages/core/dist');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const IMAGES = Number(arg('images', 768));
const SIDE = Number(arg('side', 160));
const ROUNDS = Number(arg('rounds', 2));
const BACKEND = arg('backend', 'wasm');
const WORKERS = arg('workers', '0,1,2').split(',').map(Number);
const BATCH = 64;

function makeFolder() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-loader-'));
  fs.symlinkSync(path.resolve(__dirname, '..', 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const rng = new SeededRng(1);
  const classes = ['dark', 'light', 'striped', 'spotted'];
  for (const [label, name] of classes.entries()) {
    fs.mkdirSync(path.join(dir, 'photos', name), { recursive: true });
    for (let n = 0; n < IMAGES / classes.length; n++) {
      const data = Buffer.alloc(SIDE * SIDE * 4);
      for (let y = 0; y < SIDE; y++) {
        for (let x = 0; x < SIDE; x++) {
          const base = label === 0 ? 60 : label === 1 ? 190 : label === 2 ? ((x >> 3) & 1 ? 200 : 50) : ((x >> 4) + (y >> 4)) & 1 ? 170 : 70;
          for (let c = 0; c < 3; c++) data[(y * SIDE + x) * 4 + c] = Math.max(0, Math.min(255, base + rng.normal() * 25));
          data[(y * SIDE + x) * 4 + 3] = 255;
        }
      }
      fs.writeFileSync(path.join(dir, 'photos', name, `${n}.jpg`), jpeg.encode({ data, width: SIDE, height: SIDE }, 90).data);
    }
  }
  return dir;
}

const config = (workers) => ({
  seed: 1,
  backend: BACKEND,
  data: { type: 'image-folder', path: 'photos', size: [32, 32], valSplit: 0.1, cacheSize: 0 },
  model: { type: 'simple-cnn', filters: [16, 32] },
  loss: { type: 'cross-entropy' },
  optimizer: { type: 'adam', lr: 1e-3 },
  metrics: [{ type: 'accuracy' }],
  callbacks: [{ type: 'metrics-log' }],
  trainer: { epochs: 3, batchSize: BATCH, workers, prefetch: 2 },
  output: { dir: 'runs', name: `w${workers}-${Date.now()}` },
});

/** Steady-state seconds per epoch: epochs 2–3 (the first pays worker start-up and JIT). */
function epochSeconds(runDir) {
  const lines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'epoch');
  const t = lines.map((l) => Date.parse(l.time));
  return (t[t.length - 1] - t[0]) / 1000 / (t.length - 1);
}

async function readOneBatch(dir) {
  const kernel = new Kernel({ logger: new MemoryLogger(), seed: 1, baseDir: dir });
  await kernel.use(require('@kiln/plugin-data').default);
  const ds = await (await kernel.build(Tokens.Reader, config(0).data, 'data')).load('train');
  for (let i = 0; i < BATCH; i++) ds.get(i); // warm-up (JIT)
  const t0 = performance.now();
  for (let i = BATCH; i < 3 * BATCH; i++) ds.get(i);
  return (performance.now() - t0) / 2;
}

(async () => {
  const dir = makeFolder();
  try {
    console.log(`${IMAGES} JPEG images ${SIDE}×${SIDE} → 32×32, simple-cnn, batch ${BATCH}, backend ${BACKEND}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`);
    console.log(`reading one batch on the training thread (decode + resize): ${(await readOneBatch(dir)).toFixed(0)} ms`);
    const seconds = Object.fromEntries(WORKERS.map((w) => [w, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const w of WORKERS) {
        const result = await train(config(w), { cwd: dir, logger: new MemoryLogger() });
        seconds[w].push(epochSeconds(result.runDir));
      }
    }
    const best = (w) => Math.min(...seconds[w]);
    for (const w of WORKERS) {
      console.log(`workers ${w}: ${seconds[w].map((s) => s.toFixed(2)).join(', ')} s/epoch; ${(IMAGES * 0.9 / best(w)).toFixed(0)} img/s; ${(best(WORKERS[0]) / best(w)).toFixed(2)}× workers ${WORKERS[0]}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();
