#!/usr/bin/env node
// `node bench/resnet.js [--quick] [--no-torch] [--no-cpu] [--profile] [--width=0.25]`: ResNet-18, CIFAR variant
// (widths 64/128/256/512, 32×32×3, batch 64, SGD momentum 0.9), training and inference images/s
// on kiln's wasm backend, on tfjs's cpu backend (one model.fit step of 8: it takes minutes), and in PyTorch
// (bench/resnet_torch.py, 2 threads) when python3-torch is installed; ratios from the same run.
// --profile adds a per-kernel profile of one wasm training step. Needs a build (`npm run build`).
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { profileStep } = require('./lib/kernel-profile');
const fs = require('node:fs');
const tf = require('@tensorflow/tfjs-core');
const { WasmBackend, CpuBackend } = require(path.join(__dirname, '../packages/plugin-backend-wasm/dist'));
const { ResNetBackbone, countParameters } = require(path.join(__dirname, '../packages/plugin-resnet/dist'));

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const BATCH = 64;
const CLASSES = 10;
const TRAIN_STEPS = QUICK ? 1 : 3;
const INFER_STEPS = QUICK ? 2 : 5;
const CPU_BATCH = 8;
const WIDTH = Number((args.find((a) => a.startsWith('--width=')) ?? '--width=1').slice('--width='.length));

function build(seed = 0) {
  const backbone = new ResNetBackbone({ depth: 18, stem: 'cifar', widthMultiplier: WIDTH, zeroInitResidual: false }, { inputShape: [32, 32, 3], seed });
  return backbone.classifier(CLASSES, { seed });
}

function data(batch) {
  return {
    x: tf.randomUniform([batch, 32, 32, 3], 0, 1, 'float32', 1),
    y: tf.oneHot(tf.randomUniform([batch], 0, CLASSES, 'int32', 2), CLASSES),
  };
}

const { throughput, seconds } = require('./lib/throughput');

/** Training and inference images/s with the Kiln Trainer's step: optimizer.minimize over model.apply. */
function kilnThroughput(model, log, withProfile) {
  const { x, y } = data(BATCH);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const step = () => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
    loss.dataSync();
    loss.dispose();
  };
  const infer = () => tf.tidy(() => model.apply(x, { training: false }).dataSync());
  const { train, inference } = throughput(tf, { step, infer, samples: BATCH, trainSteps: TRAIN_STEPS, inferSteps: INFER_STEPS, log });
  const profiled = withProfile ? profileStep(step) : undefined;
  optimizer.dispose();
  tf.dispose([x, y]);
  return { train, inference, profiled };
}

/**
 * tfjs's own loop on its cpu backend: one model.fit step over a batch of CPU_BATCH (a ResNet-18
 * step takes minutes there, so one step is the measurement; graph set-up is negligible beside it).
 */
async function cpuFitThroughput(model) {
  const { x, y } = data(CPU_BATCH);
  model.compile({ optimizer: tf.train.momentum(0.01, 0.9), loss: 'categoricalCrossentropy' });
  let t0 = process.hrtime.bigint();
  await model.fit(x, y, { batchSize: CPU_BATCH, epochs: 1, verbose: 0 });
  const train = CPU_BATCH / seconds(t0);
  t0 = process.hrtime.bigint();
  tf.tidy(() => model.predict(x).dataSync());
  const inference = CPU_BATCH / seconds(t0);
  tf.dispose([x, y]);
  return { train, inference };
}

function torchThroughput() {
  const script = path.join(__dirname, 'resnet_torch.py');
  const pythons = [process.env.TORCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  for (const python of pythons) {
    const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const r = spawnSync(python, [script, '--batch', String(BATCH), '--train-steps', String(QUICK ? 2 : 5), '--infer-steps', String(QUICK ? 3 : 10), '--threads', '2', '--width', String(WIDTH)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  }
  return undefined;
}

async function main() {
  const log = (s) => console.log(s);
  const results = {};
  const info = await new WasmBackend().activate();
  log(`ResNet-18 CIFAR (${[64, 128, 256, 512].map((w) => Math.max(1, Math.round(w * WIDTH))).join('/')}), 32×32×3, batch ${BATCH}, SGD momentum; wasm threads ${info.threads}, simd ${info.simd}`);
  const model = build();
  log(`parameters: ${countParameters(model).toLocaleString('en-US')}`);
  log('wasm (kiln step: optimizer.minimize over model.apply):');
  const wasm = kilnThroughput(model, log, args.includes('--profile'));
  results.wasm = { train: wasm.train, inference: wasm.inference };
  log(`  train ${wasm.train.toFixed(2)} img/s, inference ${wasm.inference.toFixed(2)} img/s`);
  if (wasm.profiled) {
    const { stepMs, rows } = wasm.profiled;
    const kernelMs = rows.reduce((s, [, e]) => s + e.ms, 0);
    log(`  one training step: ${stepMs.toFixed(0)} ms, ${kernelMs.toFixed(0)} ms in kernels (self time; ms, calls, % of step):`);
    for (const [name, e] of rows.slice(0, 22)) log(`    ${name.padEnd(28)} ${e.ms.toFixed(0).padStart(8)} ${String(e.calls).padStart(5)}  ${((100 * e.ms) / stepMs).toFixed(1).padStart(5)}%`);
    results.profile = { stepMs, kernels: Object.fromEntries(rows.map(([n, e]) => [n, { ms: +e.ms.toFixed(1), calls: e.calls }])) };
  }
  model.dispose();
  if (!args.includes('--no-cpu')) {
    await new CpuBackend().activate();
    log(`cpu (tfjs model.fit, batch ${CPU_BATCH}):`);
    const cpuModel = build();
    const cpu = await cpuFitThroughput(cpuModel);
    cpuModel.dispose();
    results.cpu = { train: cpu.train, inference: cpu.inference };
    log(`  train ${cpu.train.toFixed(3)} img/s, inference ${cpu.inference.toFixed(2)} img/s`);
  }
  if (!args.includes('--no-torch')) {
    const torch = torchThroughput();
    if (torch) {
      results.torch = { train: torch.train_img_s, inference: torch.infer_img_s, version: torch.torch, threads: torch.threads };
      log(`pytorch ${torch.torch} (${torch.threads} threads): train ${torch.train_img_s.toFixed(2)} img/s, inference ${torch.infer_img_s.toFixed(2)} img/s`);
    } else {
      log('pytorch: not installed (apt-get install python3-torch), skipped');
    }
  }
  log('ratios (same run):');
  if (results.torch) {
    log(`  kiln wasm / torch: train ${(results.wasm.train / results.torch.train).toFixed(3)}× (goal ≥ 0.15), inference ${(results.wasm.inference / results.torch.inference).toFixed(3)}×`);
  }
  if (results.cpu) {
    log(`  kiln wasm / tfjs cpu fit: train ${(results.wasm.train / results.cpu.train).toFixed(1)}× (goal ≥ 20), inference ${(results.wasm.inference / results.cpu.inference).toFixed(1)}×`);
  }
  const out = args[args.indexOf('--json') + 1];
  if (args.includes('--json') && out) fs.writeFileSync(out, JSON.stringify(results, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
