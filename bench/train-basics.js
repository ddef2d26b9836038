#!/usr/bin/env node
// `node bench/train-basics.js [--quick]`: @kiln/plugin-train-basics optimizer steps and losses against
// tfjs's built-in equivalents, side by side in one run on the cpu backend, plus a tensor-count check.
// Needs a build first (`npx tsc -b packages/plugin-train-basics`).
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tb = require(path.join(__dirname, '../packages/plugin-train-basics/dist'));

const QUICK = process.argv.includes('--quick');
const MIN_SECONDS = QUICK ? 0.5 : 2;

/** Mean milliseconds per call of fn, after one warm-up call, over at least MIN_SECONDS. */
function msPerCall(fn) {
  fn();
  let n = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < MIN_SECONDS || n < 5) {
    fn();
    n++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return (elapsed * 1000) / n;
}

// Parameters of an MLP 784-256-128-10 (~235k floats).
const SHAPES = [[784, 256], [256], [256, 128], [128], [128, 10], [10]];

function makeParams(tag) {
  return SHAPES.map((shape, i) => tf.variable(tf.randomNormal(shape, 0, 0.05, 'float32', 1 + i), true, `${tag}/p${i}`));
}

function optimizerRow(label, kiln, builtin) {
  const a = makeParams(`kiln_${label}`);
  const b = makeParams(`tfjs_${label}`);
  const grads = SHAPES.map((shape, i) => tf.randomNormal(shape, 0, 0.01, 'float32', 100 + i));
  const lr = 0.01;
  const kilnMs = msPerCall(() => kiln.step(a.map((variable, i) => ({ name: `p${i}`, variable, gradient: grads[i] })), lr));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 10; i++) kiln.step(a.map((variable, j) => ({ name: `p${j}`, variable, gradient: grads[j] })), lr);
  const growth = tf.memory().numTensors - before;
  const named = Object.fromEntries(b.map((v) => [v.name, v]));
  const tfjsMs = msPerCall(() => builtin.applyGradients(Object.fromEntries(Object.entries(named).map(([name], i) => [name, grads[i]]))));
  kiln.dispose();
  builtin.dispose();
  tf.dispose([...a, ...b, ...grads]);
  return { label, kilnMs, tfjsMs, growth };
}

function lossRow() {
  const logits = tf.randomNormal([512, 100], 0, 3, 'float32', 7);
  const labels = tf.tensor1d(Array.from({ length: 512 }, (_, i) => (i * 37) % 100), 'int32');
  const oneHot = tf.oneHot(labels, 100);
  const ce = new tb.CrossEntropyLoss({ labelSmoothing: 0 });
  const kilnMs = msPerCall(() => tf.dispose(ce.compute(logits, labels)));
  const tfjsMs = msPerCall(() => tf.dispose(tf.losses.softmaxCrossEntropy(oneHot, logits)));
  const a = ce.compute(logits, labels).dataSync()[0];
  const b = tf.losses.softmaxCrossEntropy(oneHot, logits).dataSync()[0];
  tf.dispose([logits, labels, oneHot]);
  return { kilnMs, tfjsMs, diff: Math.abs(a - b) };
}

async function main() {
  await tf.setBackend('cpu');
  console.log(`@kiln/plugin-train-basics bench (tfjs ${tf.version_core}, backend ${tf.getBackend()}, ${QUICK ? 'quick' : 'full'})`);
  console.log('\noptimizer step on an MLP 784-256-128-10 (235k params), ms per step');
  console.log('optimizer            kiln      tfjs built-in   kiln/tfjs   tensor growth over 10 steps');
  const rows = [
    optimizerRow('sgd+momentum', new tb.SgdOptimizer({ momentum: 0.9 }), tf.train.momentum(0.01, 0.9)),
    optimizerRow('adam', new tb.AdamOptimizer({}), tf.train.adam(0.01)),
    optimizerRow('rmsprop', new tb.RmspropOptimizer({}), tf.train.rmsprop(0.01, 0.99)),
  ];
  for (const r of rows) {
    console.log(`${r.label.padEnd(18)} ${r.kilnMs.toFixed(2).padStart(7)}  ${r.tfjsMs.toFixed(2).padStart(12)}   ${(r.kilnMs / r.tfjsMs).toFixed(2).padStart(9)}   ${r.growth}`);
  }
  for (const [label, opt] of [['adamw', new tb.AdamWOptimizer({})], ['lamb', new tb.LambOptimizer({})]]) {
    const p = makeParams(`only_${label}`);
    const g = SHAPES.map((shape, i) => tf.randomNormal(shape, 0, 0.01, 'float32', 200 + i));
    const ms = msPerCall(() => opt.step(p.map((variable, i) => ({ name: `p${i}`, variable, gradient: g[i] })), 0.01));
    console.log(`${label.padEnd(18)} ${ms.toFixed(2).padStart(7)}  ${'(none)'.padStart(12)}`);
    opt.dispose();
    tf.dispose([...p, ...g]);
  }
  const loss = lossRow();
  console.log('\nsoftmax cross-entropy, logits [512, 100], ms per call');
  console.log(`kiln ${loss.kilnMs.toFixed(3)}  tfjs tf.losses.softmaxCrossEntropy ${loss.tfjsMs.toFixed(3)}  kiln/tfjs ${(loss.kilnMs / loss.tfjsMs).toFixed(2)}  |difference| ${loss.diff.toExponential(1)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
