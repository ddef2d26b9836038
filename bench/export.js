#!/usr/bin/env node
/**
 * ONNX Runtime vs Kiln (tfjs wasm) inference of the same exported models, on the same inputs,
 * measured side by side in one run: ResNet-18 (CIFAR stem, 32×32×3, 10 classes, 11.2 M parameters)
 * and a BERT-mini-shaped encoder with a sequence-classification head (L4/H256/A4, sequence 128).
 * Each model is exported with plugin-export's ONNX exporter (which verifies it in ONNX Runtime,
 * max |diff| ≤ 1e-4), then timed: median ms per batch over several runs after a warm-up.
 * Needs `npx tsc -b packages/plugin-export packages/plugin-backend-wasm packages/plugin-resnet packages/plugin-bert`.
 *
 *   node bench/export.js            ResNet-18 at batch 1 and 32, BERT at batch 1 and 8
 *   node bench/export.js --quick    fewer repetitions
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
const ort = require('onnxruntime-node');

const QUICK = process.argv.includes('--quick');
const REPS = QUICK ? 3 : 7;
const dist = (p) => path.join(__dirname, '..', 'packages', p, 'dist');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time(fn) {
  await fn(); // warm-up
  const out = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(out);
}

function maxDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function resnet(dir, rows) {
  const { ResNetBackbone } = require(dist('plugin-resnet'));
  const { OnnxExporter } = require(dist('plugin-export'));
  const { KILN_VERSION } = require(dist('core'));
  const backbone = new ResNetBackbone({ depth: 18, stem: 'cifar', widthMultiplier: 1, zeroInitResidual: false }, { inputShape: [32, 32, 3], seed: 1 });
  const lm = backbone.classifier(10, { seed: 1 });
  const card = { name: 'resnet18', task: 'classification', inputs: [{ name: 'image', shape: [null, 32, 32, 3], dtype: 'float32' }], classNames: Array.from({ length: 10 }, (_, i) => `c${i}`), preprocessing: { kind: 'none' }, kilnVersion: KILN_VERSION };
  const exporter = new OnnxExporter();
  let t0 = Date.now();
  await exporter.export({ name: 'resnet18', layersModel: lm }, path.join(dir, 'resnet18'), card);
  const exportMs = Date.now() - t0;
  const session = await ort.InferenceSession.create(path.join(dir, 'resnet18', 'model.onnx'));
  const single = await ort.InferenceSession.create(path.join(dir, 'resnet18', 'model.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const results = [];
  for (const batch of [1, 32]) {
    const x = tf.randomUniform([batch, 32, 32, 3], -1, 1, 'float32', 3);
    const data = x.dataSync().slice();
    const kiln = () => tf.tidy(() => (lm.predict(x)).dataSync());
    const run = (s) => async () => (await s.run({ image: new ort.Tensor('float32', data, [batch, 32, 32, 3]) })).output.data;
    const diff = maxDiff(kiln(), await run(session)());
    results.push({ model: 'ResNet-18 (cifar, 32×32)', batch, kilnMs: await time(kiln), ortMs: await time(run(session)), ort1Ms: await time(run(single)), diff });
    x.dispose();
  }
  await session.release();
  await single.release();
  lm.dispose();
  return { results, verify: exporter.lastVerification.maxAbsDiff, exportMs, size: fs.statSync(path.join(dir, 'resnet18', 'model.onnx')).size };
}

async function bert(dir) {
  const { BertModel, bertConfig } = require(dist('plugin-bert'));
  const { OnnxExporter, sampleTextInputs } = require(dist('plugin-export'));
  const { KILN_VERSION } = require(dist('core'));
  const L = 128;
  const config = bertConfig({ vocab_size: 30522, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024 });
  const model = new BertModel({ config, head: 'sequence-classification', numLabels: 2, seed: 1 });
  const inputs = ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({ name, shape: [null, L], dtype: 'int32' }));
  const vocabulary = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: config.vocab_size - 5 }, (_, i) => `w${i}`)];
  const card = { name: 'bert-mini', task: 'classification', inputs, classNames: ['neg', 'pos'], preprocessing: { kind: 'text', tokenizer: 'wordpiece', vocabulary, lowercase: true, maxLength: L }, kilnVersion: KILN_VERSION };
  const exporter = new OnnxExporter();
  await exporter.export(model, path.join(dir, 'bert'), card);
  const session = await ort.InferenceSession.create(path.join(dir, 'bert', 'model.onnx'));
  const single = await ort.InferenceSession.create(path.join(dir, 'bert', 'model.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const results = [];
  for (const batch of [1, 8]) {
    const { ids, mask, types } = sampleTextInputs(batch, L, config.vocab_size, 2, 5);
    const tensors = { input_ids: tf.tensor2d(ids, [batch, L], 'int32'), attention_mask: tf.tensor2d(mask, [batch, L], 'int32'), token_type_ids: tf.tensor2d(types, [batch, L], 'int32') };
    const int64 = (a) => new ort.Tensor('int64', BigInt64Array.from(a, (v) => BigInt(v)), [batch, L]);
    const kiln = () => tf.tidy(() => model.apply(tensors, { training: false }).dataSync());
    const run = (s) => async () => (await s.run({ input_ids: int64(ids), attention_mask: int64(mask), token_type_ids: int64(types) })).logits.data;
    const diff = maxDiff(kiln(), await run(session)());
    results.push({ model: 'BERT L4/H256/A4 (seq 128)', batch, kilnMs: await time(kiln), ortMs: await time(run(session)), ort1Ms: await time(run(single)), diff });
    Object.values(tensors).forEach((t) => t.dispose());
  }
  // The export's predictor on 16-token texts padded to 128: it drops the padding columns the batch shares.
  const { loadExportedPredictor } = require(dist('plugin-export'));
  const predictor = await loadExportedPredictor(path.join(dir, 'bert'));
  const batch = 8;
  const short = sampleTextInputs(batch, 16, config.vocab_size, 2, 9);
  const padded = (a) => {
    const out = new Int32Array(batch * L);
    for (let r = 0; r < batch; r++) out.set(a.subarray(r * 16, (r + 1) * 16), r * L);
    return out;
  };
  const rows = [padded(short.ids), padded(short.mask), padded(short.types)];
  const int64 = (a) => new ort.Tensor('int64', BigInt64Array.from(a, (v) => BigInt(v)), [batch, L]);
  const trimmedMs = await time(() => predictor.run(rows, batch));
  const fullMs = await time(() => session.run({ input_ids: int64(rows[0]), attention_mask: int64(rows[1]), token_type_ids: int64(rows[2]) }));
  await predictor.dispose();
  await session.release();
  await single.release();
  model.dispose();
  return { results, verify: exporter.lastVerification.maxAbsDiff, trimmedMs, fullMs };
}

async function main() {
  const { WasmBackend } = require(dist('plugin-backend-wasm'));
  await new WasmBackend().activate();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-export-'));
  try {
    console.log(`backend ${tf.getBackend()}, onnxruntime-node ${require('onnxruntime-node/package.json').version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`);
    const r = await resnet(dir);
    console.log(`ResNet-18 export: ${r.exportMs} ms incl. verification (max |diff| ${r.verify.toExponential(2)}), model.onnx ${(r.size / 2 ** 20).toFixed(1)} MiB`);
    const b = await bert(dir);
    console.log(`BERT export verified: max |diff| ${b.verify.toExponential(2)}`);
    console.log('\n| model | batch | Kiln wasm ms (1 thread) | ORT ms (default threads) | ratio | ORT ms (1 thread) | ratio, 1 thread each | max \\|diff\\| |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const x of [...r.results, ...b.results]) {
      const cells = [x.model, x.batch, x.kilnMs.toFixed(1), x.ortMs.toFixed(1), `${(x.kilnMs / x.ortMs).toFixed(2)}×`, x.ort1Ms.toFixed(1), `${(x.kilnMs / x.ort1Ms).toFixed(2)}×`, x.diff.toExponential(1)];
      console.log(`| ${cells.join(' | ')} |`);
    }
    console.log('\nratio = Kiln wasm time / ONNX Runtime time (> 1: ONNX Runtime is faster).');
    console.log(`BERT, batch 8 of 16-token texts padded to 128: ONNX Runtime on all 128 columns ${b.fullMs.toFixed(1)} ms, the export's predictor (padding dropped) ${b.trimmedMs.toFixed(1)} ms: ${(b.fullMs / b.trimmedMs).toFixed(1)}×`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
