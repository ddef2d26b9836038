#!/usr/bin/env node
/**
 * `kiln serve` throughput and latency, and ONNX Runtime vs Kiln (tfjs wasm) inference of one model,
 * measured side by side in one run. The model, exported as tfjs and ONNX to a temp dir, is a small
 * ResNet (`--model resnet`, default: plugin-resnet's ResNet-18, CIFAR stem, widths ×0.25 = 16/32/64/128,
 * 32×32×3 → 10 classes) or a small CNN (`--model cnn`: conv16-bn-relu-pool →
 * conv32-bn-relu-pool → dense64 → 4 classes, like simple-cnn). The server runs
 * in a child process on 127.0.0.1 (autocannon in this one), one bounded run per configuration:
 * batching off, on (maxWaitMs 0: batch whatever queued while the model ran) and on-2ms (maxWaitMs 2).
 * Needs `npx tsc -b packages/plugin-export packages/plugin-backend-wasm` first.
 *
 *   node bench/serve.js                  small ResNet, 3 s per HTTP configuration
 *   node bench/serve.js --duration 5     seconds per HTTP configuration
 *   node bench/serve.js --model cnn      the small CNN instead
 */
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SERVER_FLAG = '--serve-child';

async function wasm() {
  const { WasmBackend } = require('../packages/plugin-backend-wasm/dist/index.js');
  await new WasmBackend().activate();
}

async function buildExports(dir, which) {
  const tf = require('@tensorflow/tfjs-core');
  const tfl = require('@tensorflow/tfjs-layers');
  const { TfjsExporter, OnnxExporter } = require('../packages/plugin-export/dist/index.js');
  const { KILN_VERSION } = require('../packages/core/dist/index.js');
  if (which === 'resnet') {
    const { ResNetBackbone } = require('../packages/plugin-resnet/dist/index.js');
    const lm = new ResNetBackbone({ depth: 18, stem: 'cifar', widthMultiplier: 0.25, zeroInitResidual: false }, { inputShape: [32, 32, 3], seed: 1 }).classifier(10, { seed: 1 });
    const model = { name: 'resnet', layersModel: lm };
    const card = { name: 'resnet', task: 'classification', inputs: [{ name: 'image', shape: [null, 32, 32, 3], dtype: 'float32' }], classNames: Array.from({ length: 10 }, (_, i) => `class${i}`), preprocessing: { kind: 'none' }, kilnVersion: KILN_VERSION };
    await new TfjsExporter().export(model, path.join(dir, 'model'), card);
    await new OnnxExporter().export(model, path.join(dir, 'model-onnx'), card);
    const params = lm.countParams();
    lm.dispose();
    tf.disposeVariables();
    return `ResNet-18 (CIFAR stem, widths ×0.25), ${(params / 1e6).toFixed(2)} M parameters`;
  }
  const input = tfl.input({ shape: [32, 32, 3], name: 'image' });
  let x = input;
  [16, 32].forEach((filters, i) => {
    x = tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, name: `conv_${i}`, kernelInitializer: tfl.initializers.heNormal({ seed: i }) }).apply(x);
    x = tfl.layers.batchNormalization({ name: `bn_${i}` }).apply(x);
    x = tfl.layers.activation({ activation: 'relu', name: `relu_${i}` }).apply(x);
    x = tfl.layers.maxPooling2d({ poolSize: 2, name: `pool_${i}` }).apply(x);
  });
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x);
  x = tfl.layers.dense({ units: 64, activation: 'relu', name: 'dense_0', kernelInitializer: tfl.initializers.glorotUniform({ seed: 9 }) }).apply(x);
  const out = tfl.layers.dense({ units: 4, name: 'head', kernelInitializer: tfl.initializers.glorotUniform({ seed: 10 }) }).apply(x);
  const lm = tfl.model({ inputs: input, outputs: out, name: 'cnn' });
  const model = { name: 'cnn', layersModel: lm };
  const card = { name: 'cnn', task: 'classification', inputs: [{ name: 'image', shape: [null, 32, 32, 3], dtype: 'float32' }], classNames: ['circle', 'square', 'triangle', 'cross'], preprocessing: { kind: 'none' }, kilnVersion: KILN_VERSION };
  await new TfjsExporter().export(model, path.join(dir, 'model'), card);
  await new OnnxExporter().export(model, path.join(dir, 'model-onnx'), card);
  lm.dispose();
  tf.disposeVariables();
  return '32×32×3 CNN (conv16/conv32/dense64)';
}

/** Child process: serve the export dirs, report the address. */
const MODES = { off: { batching: false }, on: { batching: true, maxWaitMs: 0 }, 'on-2ms': { batching: true, maxWaitMs: 2 } };

async function serveChild(dirs, mode) {
  await wasm();
  const { loadExportedPredictor, createServer } = require('../packages/plugin-export/dist/index.js');
  const predictors = [];
  for (const d of dirs) predictors.push(await loadExportedPredictor(d));
  const app = createServer(predictors, { maxBatch: 32, ...MODES[mode] });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.send({ address });
  process.on('message', async () => {
    await app.close();
    process.exit(0);
  });
}

function startServer(dirs, batching) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [SERVER_FLAG, batching, ...dirs], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve({ child, address: m.address }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', resolve);
    child.send('stop');
  });
}

async function httpBench(dir, duration) {
  const autocannon = require('autocannon');
  const body = JSON.stringify({ instances: [Array.from({ length: 32 * 32 * 3 }, (_, i) => Math.sin(i) * 0.5)] });
  const rows = [];
  for (const model of ['model', 'model-onnx']) {
    for (const batching of Object.keys(MODES)) {
      const { child, address } = await startServer([path.join(dir, model)], batching);
      for (const connections of [1, 8, 64]) {
        const r = await autocannon({ url: `${address}/v1/models/${model}/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration });
        rows.push({ model, batching, connections, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx });
      }
      await stopServer(child);
    }
  }
  return rows;
}

async function inferenceBench(dir) {
  await wasm();
  const { loadExportedPredictor } = require('../packages/plugin-export/dist/index.js');
  const kiln = await loadExportedPredictor(path.join(dir, 'model'));
  const ort = await loadExportedPredictor(path.join(dir, 'model-onnx'));
  const rows = [];
  for (const batch of [1, 32]) {
    const x = Float32Array.from({ length: batch * 32 * 32 * 3 }, (_, i) => Math.cos(i) * 0.5);
    const row = { batch };
    for (const [name, p] of [['kiln-wasm', kiln], ['onnxruntime', ort]]) {
      for (let i = 0; i < 5; i++) await p.run([x], batch);
      const iterations = batch === 1 ? 100 : 10;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) await p.run([x], batch);
      row[name] = Number(process.hrtime.bigint() - t0) / 1e6 / iterations;
    }
    rows.push(row);
  }
  await kiln.dispose();
  await ort.dispose();
  return rows;
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === SERVER_FLAG) return serveChild(args.slice(2), args[1]);
  const d = args.indexOf('--duration');
  const duration = d >= 0 ? Number(args[d + 1]) : 3;
  const m = args.indexOf('--model');
  const which = m >= 0 ? args[m + 1] : 'resnet';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-serve-'));
  try {
    await wasm();
    const description = await buildExports(dir, which);
    console.log(`model: ${description}, ${os.cpus().length} CPUs, node ${process.version}, load ${os.loadavg()[0].toFixed(1)}`);
    console.log('\ninference, ms per batch (same model, same process):');
    console.log('batch  kiln-wasm  onnxruntime  ratio');
    for (const r of await inferenceBench(dir)) console.log(`${String(r.batch).padStart(5)}  ${r['kiln-wasm'].toFixed(3).padStart(9)}  ${r.onnxruntime.toFixed(3).padStart(11)}  ${(r['kiln-wasm'] / r.onnxruntime).toFixed(2)}x`);
    console.log(`\nHTTP POST /v1/models/:name/predict, one 32×32×3 instance per request, ${duration} s per row:`);
    console.log('runtime      batching  conc   req/s   p50 ms  p99 ms  errors');
    const rows = await httpBench(dir, duration);
    const runtime = (model) => (model === 'model' ? 'tfjs-wasm' : 'onnxruntime');
    for (const r of rows) console.log(`${runtime(r.model).padEnd(12)} ${r.batching.padEnd(8)}  ${String(r.connections).padStart(4)}  ${r.rps.toFixed(0).padStart(6)}  ${String(r.p50).padStart(7)}  ${String(r.p99).padStart(6)}  ${r.errors}`);
    for (const model of ['model', 'model-onnx']) {
      const on = rows.find((r) => r.model === model && r.batching === 'on' && r.connections === 64);
      const off = rows.find((r) => r.model === model && r.batching === 'off' && r.connections === 64);
      const on2 = rows.find((r) => r.model === model && r.batching === 'on-2ms' && r.connections === 64);
      console.log(`${runtime(model)}: throughput at 64 connections, batching on / off: ${(on.rps / off.rps).toFixed(2)}x, on-2ms / off: ${(on2.rps / off.rps).toFixed(2)}x`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
