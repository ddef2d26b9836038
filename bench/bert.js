#!/usr/bin/env node
// `node bench/bert.js [--quick] [--no-torch] [--no-check] [--profile] [--json out.json]`: BERT sequence
// classifier, hidden 256 / 4 layers / 4 heads / intermediate 1024 / vocab 30522, seq 128, batch 16:
// training (forward, backward, clip 1.0, AdamW) and inference sequences/s on kiln's wasm backend beside
// PyTorch (bench/bert_torch.py, 2 threads, Hugging Face module names) in the same run, and the ratios.
// First it checks the layout: a Kiln model saved with saveHuggingFace loads into the PyTorch modules with
// load_state_dict(strict=True) and gives the same logits. --profile adds a per-kernel profile of one
// wasm training step. Needs a build (`npm run build`).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const tf = require('@tensorflow/tfjs-core');
const { WasmBackend } = require(path.join(__dirname, '../packages/plugin-backend-wasm/dist'));
const { AdamWOptimizer } = require(path.join(__dirname, '../packages/plugin-train-basics/dist'));
const { buildBert, saveHuggingFace } = require(path.join(__dirname, '../packages/plugin-bert/dist'));
const { profileStep } = require('./lib/kernel-profile');

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const SHAPE = { hidden: 256, layers: 4, heads: 4, intermediate: 1024, vocab: 30522 };
const SEQ = 128;
const BATCH = 16;
const TRAIN_STEPS = QUICK ? 1 : 4;
const INFER_STEPS = QUICK ? 2 : 6;
const { throughput, seconds } = require('./lib/throughput');
const dataset = (task, classNames, vocabSize) => ({ task, inputs: [], targetShape: [], targetDtype: 'int32', classNames, extra: { vocabSize } });

function python() {
  for (const candidate of [process.env.TORCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean)) {
    if (spawnSync(candidate, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  return undefined;
}

function runTorch(py, extra) {
  const r = spawnSync(py, [path.join(__dirname, 'bert_torch.py'), ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`bert_torch.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** Saves Kiln models in Hugging Face format, loads them into the PyTorch modules (strict) and compares logits. */
function layoutCheck(py, log) {
  const ids = [[2, 17, 45, 99, 3, 0], [2, 8, 3, 61, 70, 3]];
  const mask = [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]];
  const types = [[0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1]];
  for (const [task, labels] of [['classification', ['a', 'b', 'c']], ['token-classification', ['O', 'B-X', 'I-X']]]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bert-bench-'));
    const model = buildBert({ size: 'tiny', hiddenSize: 64, numHeads: 4, intermediateSize: 96, numLayers: 2, maxPositions: 16, initializerRange: 0.2 }, { dataset: dataset(task, labels, 100), seed: 7 });
    saveHuggingFace(model, dir);
    fs.writeFileSync(path.join(dir, 'inputs.json'), JSON.stringify({ input_ids: ids, attention_mask: mask, token_type_ids: types }));
    const kiln = tf.tidy(() => model.apply({ input_ids: tf.tensor2d(ids, undefined, 'int32'), attention_mask: tf.tensor2d(mask, undefined, 'int32'), token_type_ids: tf.tensor2d(types, undefined, 'int32') }, { training: false }).arraySync());
    const torch = runTorch(py, ['--check', dir]);
    const a = kiln.flat(Infinity);
    const b = torch.logits.flat(Infinity);
    const diff = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
    log(`  ${torch.architecture}: strict load ok, params kiln ${model.countParams()} / torch ${torch.params}, max |logit diff| ${diff.toExponential(2)}`);
    if (diff > 1e-4 || torch.params !== model.countParams()) throw new Error('layout check failed');
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Per-kernel self time of one call of `fn` (kernels wrapped with timers, inner kernels charged separately). */
async function kilnThroughput(log) {
  const model = buildBert(
    { size: 'mini', hiddenSize: SHAPE.hidden, numLayers: SHAPE.layers, numHeads: SHAPE.heads, intermediateSize: SHAPE.intermediate, vocabSize: SHAPE.vocab },
    { dataset: dataset('classification', ['a', 'b'], SHAPE.vocab), seed: 0 },
  );
  log(`  parameters: ${model.countParams().toLocaleString('en-US')}`);
  const inputs = {
    input_ids: tf.randomUniform([BATCH, SEQ], 5, SHAPE.vocab, 'int32', 1),
    attention_mask: tf.ones([BATCH, SEQ], 'int32'),
    token_type_ids: tf.zeros([BATCH, SEQ], 'int32'),
  };
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 2, 'int32', 2), 2);
  const optimizer = new AdamWOptimizer({ weightDecay: 0.01 });
  const names = Object.keys(model.getWeights());
  const variables = model.trainableVariables;
  // The Trainer's step: gradients, global norm (NaN guard + clip 1.0), AdamW update.
  const step = () => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(inputs, { training: true })), variables);
    const list = variables.map((v) => grads[v.name]);
    const norm = tf.tidy(() => tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g))))));
    const n = norm.dataSync()[0];
    value.dataSync();
    const scale = n > 1 ? 1 / (n + 1e-6) : 1;
    const clipped = list.map((g) => (scale === 1 ? g : tf.mul(g, scale)));
    optimizer.step(variables.map((variable, i) => ({ name: names[i], variable, gradient: clipped[i] })), 1e-4);
    tf.dispose([value, norm, ...list, ...(scale === 1 ? [] : clipped)]);
  };
  const infer = () => tf.tidy(() => model.apply(inputs, { training: false }).dataSync());
  const { train, inference } = throughput(tf, { step, infer, samples: BATCH, trainSteps: TRAIN_STEPS, inferSteps: INFER_STEPS, log });
  const profiled = args.includes('--profile') ? { train: profileStep(step), infer: profileStep(infer) } : undefined;
  optimizer.dispose();
  model.dispose();
  tf.dispose([y, ...Object.values(inputs)]);
  return { train, inference, profiled };
}

async function main() {
  const log = (s) => console.log(s);
  const results = {};
  const info = await new WasmBackend().activate();
  const py = args.includes('--no-torch') ? undefined : python();
  log(`BERT ${SHAPE.layers}L/H${SHAPE.hidden}/A${SHAPE.heads}/I${SHAPE.intermediate}, vocab ${SHAPE.vocab}, seq ${SEQ}, batch ${BATCH}; wasm threads ${info.threads}, simd ${info.simd}`);
  if (py && !args.includes('--no-check')) {
    log('layout check (Kiln saveHuggingFace → PyTorch modules with Hugging Face names, strict load):');
    layoutCheck(py, log);
  }
  log('kiln wasm (Trainer step: grads, global-norm clip 1.0, AdamW):');
  const wasm = await kilnThroughput(log);
  results.wasm = { train: wasm.train, inference: wasm.inference };
  log(`  train ${wasm.train.toFixed(2)} seq/s, inference ${wasm.inference.toFixed(2)} seq/s`);
  if (wasm.profiled) {
    for (const [label, { stepMs, rows }] of Object.entries(wasm.profiled)) {
      const kernelMs = rows.reduce((s, [, e]) => s + e.ms, 0);
      log(`  one ${label} step: ${stepMs.toFixed(0)} ms, ${kernelMs.toFixed(0)} ms in kernels (self time; ms, calls, % of step):`);
      for (const [name, e] of rows.slice(0, 16)) log(`    ${name.padEnd(26)} ${e.ms.toFixed(0).padStart(7)} ${String(e.calls).padStart(5)}  ${((100 * e.ms) / stepMs).toFixed(1).padStart(5)}%`);
    }
    results.profile = Object.fromEntries(Object.entries(wasm.profiled).map(([k, p]) => [k, { stepMs: p.stepMs, kernels: Object.fromEntries(p.rows.map(([n, e]) => [n, { ms: +e.ms.toFixed(1), calls: e.calls }])) }]));
  }
  if (py) {
    const torch = runTorch(py, ['--hidden', String(SHAPE.hidden), '--layers', String(SHAPE.layers), '--heads', String(SHAPE.heads), '--intermediate', String(SHAPE.intermediate), '--vocab', String(SHAPE.vocab), '--seq', String(SEQ), '--batch', String(BATCH), '--train-steps', String(QUICK ? 1 : 4), '--infer-steps', String(QUICK ? 2 : 6), '--threads', '2']);
    results.torch = { train: torch.train_seq_s, inference: torch.infer_seq_s, version: torch.torch, threads: torch.threads };
    log(`pytorch ${torch.torch} (${torch.threads} threads, ${torch.params.toLocaleString('en-US')} params): train ${torch.train_seq_s.toFixed(2)} seq/s, inference ${torch.infer_seq_s.toFixed(2)} seq/s`);
    log('ratios (same run):');
    log(`  kiln wasm / torch: train ${(results.wasm.train / results.torch.train).toFixed(3)}× (goal ≥ 0.25), inference ${(results.wasm.inference / results.torch.inference).toFixed(3)}× (goal ≥ 0.25)`);
  } else {
    log('pytorch: not run (--no-torch, or python3 with torch and numpy not found; apt-get install python3-torch)');
  }
  const out = args[args.indexOf('--json') + 1];
  if (args.includes('--json') && out) fs.writeFileSync(out, JSON.stringify(results, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
