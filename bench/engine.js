#!/usr/bin/env node
// Engine overhead: per-step time of Kiln's Trainer (with the preset's default callbacks:
// progress bar, checkpoint, metrics log) vs a bare hand-written tfjs loop over the same
// model, loss, optimizer and batches, measured side by side in one process.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs');
const core = require('../packages/core/dist');
const { Kernel, MemoryLogger, Tokens, activateBackend, collate, SeededRng, train, definePlugin } = core;

const EPOCHS = Number(process.env.EPOCHS || 4);
const ROWS = Number(process.env.ROWS || 4096);
const BATCH = 32;
const HIDDEN = Number(process.env.HIDDEN || 256);
const MODEL = { type: 'mlp', hiddenUnits: [HIDDEN, HIDDEN], dropout: 0 };
const DATA = { type: 'synthetic-tabular', numFeatures: 32, trainSize: ROWS, valSize: 64 };

async function bare() {
  const kernel = new Kernel({ logger: new MemoryLogger(), seed: 1 });
  for (const p of ['@kiln/plugin-backend-wasm', '@kiln/plugin-train-basics', '@kiln/plugin-data']) await kernel.use(require(p).default);
  await activateBackend(kernel, 'wasm');
  const ds = await (await kernel.build(Tokens.Reader, DATA, 'data')).load('train');
  kernel.dataset = ds.info;
  const model = await kernel.build(Tokens.Model, MODEL, 'model');
  const loss = await kernel.build(Tokens.Loss, { type: 'cross-entropy' }, 'loss');
  const opt = await kernel.build(Tokens.Optimizer, { type: 'adam', lr: 1e-3 }, 'optimizer');
  const order = [...Array(ds.size).keys()];
  let steps = 0;
  let t0 = 0;
  let c0;
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    if (epoch === 1) {
      // Steady state: the first epoch pays one-off costs (JIT, wasm operator setup) in both loops.
      t0 = performance.now();
      c0 = process.cpuUsage();
      steps = 0;
    }
    new SeededRng(epoch).shuffle(order);
    for (let s = 0; s < order.length; s += BATCH) {
      const idx = order.slice(s, s + BATCH);
      const b = collate(idx.map((i) => ds.get(i)), ds.info, idx);
      const { value, grads } = tf.variableGrads(() => loss.compute(model.apply(b.inputs, { training: true }), b.targets), model.trainableVariables);
      opt.step(model.trainableVariables.map((v) => ({ name: v.name, variable: v, gradient: grads[v.name] })), 1e-3);
      await value.data();
      tf.dispose([value, ...Object.values(grads), ...Object.values(b.inputs), b.targets]);
      steps++;
    }
  }
  const ms = (performance.now() - t0) / steps;
  const cpu = cpuMs(process.cpuUsage(c0)) / steps;
  model.dispose();
  opt.dispose();
  return { ms, cpu };
}

async function engine() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-engine-'));
  let first = 0;
  let last = 0;
  let steps = 0;
  let c0;
  let cpu = 0;
  const timer = definePlugin({
    name: 'bench-timer',
    version: '1.0.0',
    register(ctx) {
      ctx.hooks.beforeEpoch.tap('Timer', ({ epoch }) => {
        if (epoch !== 1) return;
        first = performance.now();
        c0 = process.cpuUsage();
        steps = 0;
      });
      ctx.hooks.afterRun.tap('Timer', () => {
        last = performance.now();
        cpu = cpuMs(process.cpuUsage(c0));
      });
      ctx.hooks.afterTrainStep.tap('Timer', () => void steps++);
    },
  });
  await train(
    {
      extends: '@kiln/presets/tabular-classification',
      backend: 'wasm',
      data: DATA,
      model: MODEL,
      optimizer: { type: 'adam', lr: 1e-3 },
      metrics: [{ type: 'accuracy' }],
      trainer: { epochs: EPOCHS, batchSize: BATCH },
      output: { dir },
    },
    { cwd: dir, logger: new MemoryLogger(), plugins: [timer] },
  );
  fs.rmSync(dir, { recursive: true, force: true });
  return { ms: (last - first) / steps, cpu: cpu / steps };
}

function cpuMs(usage) {
  return (usage.user + usage.system) / 1000;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  // Alternate the two and take medians: the machine is noisy. CPU time (the process's own,
  // wasm runs on one thread) is the steadier figure when other jobs share the cores.
  const ROUNDS = Number(process.env.ROUNDS || 3);
  const b = [];
  const e = [];
  for (let round = 0; round < ROUNDS; round++) {
    b.push(await bare());
    e.push(await engine());
  }
  const fmt = (xs, key) => xs.map((x) => x[key].toFixed(3)).join(', ');
  const wallB = median(b.map((x) => x.ms));
  const wallE = median(e.map((x) => x.ms));
  const cpuB = median(b.map((x) => x.cpu));
  const cpuE = median(e.map((x) => x.cpu));
  console.log(`mlp 32→${HIDDEN}→${HIDDEN}→3, batch ${BATCH}, ${ROWS} rows × ${EPOCHS} epochs on wasm; per step over epochs 2..${EPOCHS}; median of ${ROUNDS} alternating rounds`);
  console.log(`bare tfjs loop   wall ${wallB.toFixed(3)} ms/step  cpu ${cpuB.toFixed(3)} ms/step  (wall runs: ${fmt(b, 'ms')})`);
  console.log(`Kiln Trainer     wall ${wallE.toFixed(3)} ms/step  cpu ${cpuE.toFixed(3)} ms/step  (wall runs: ${fmt(e, 'ms')}; incl. grad-norm monitor, validation, checkpoints, metrics log, progress bar)`);
  console.log(`overhead         wall ${((wallE / wallB - 1) * 100).toFixed(1)}%  cpu ${((cpuE / cpuB - 1) * 100).toFixed(1)}%  (target ≤ 5%)`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
