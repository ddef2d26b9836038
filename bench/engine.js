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

const EPOCHS = Number(process.env.EPOCHS || 3);
const ROWS = Number(process.env.ROWS || 4096);
const BATCH = 32;
const HIDDEN = Number(process.env.HIDDEN || 256);
const MODEL = { type: 'mlp', hiddenUnits: [HIDDEN, HIDDEN] };
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
  const t0 = performance.now();
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
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
  model.dispose();
  opt.dispose();
  return ms;
}

async function engine() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-engine-'));
  let first = 0;
  let last = 0;
  let steps = 0;
  const timer = definePlugin({
    name: 'bench-timer',
    version: '1.0.0',
    register(ctx) {
      ctx.hooks.beforeRun.tap('Timer', () => void (first = performance.now()));
      ctx.hooks.afterRun.tap('Timer', () => void (last = performance.now()));
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
  return (last - first) / steps;
}

(async () => {
  // Alternate the two, twice, and keep each one's best: the machine is noisy.
  const b = [];
  const e = [];
  for (let round = 0; round < 2; round++) {
    b.push(await bare());
    e.push(await engine());
  }
  const bestBare = Math.min(...b);
  const bestEngine = Math.min(...e);
  console.log(`mlp 32→${HIDDEN}→${HIDDEN}→3, batch ${BATCH}, ${ROWS} rows × ${EPOCHS} epochs on wasm`);
  console.log(`bare tfjs loop   ${bestBare.toFixed(3)} ms/step  (runs: ${b.map((x) => x.toFixed(3)).join(', ')})`);
  console.log(`Kiln Trainer     ${bestEngine.toFixed(3)} ms/step  (runs: ${e.map((x) => x.toFixed(3)).join(', ')}; incl. validation, checkpoints, metrics log)`);
  console.log(`overhead         ${((bestEngine / bestBare - 1) * 100).toFixed(1)}%  (target ≤ 5%)`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
