#!/usr/bin/env node
// `node bench/plugin-data.js [--quick] [--no-learn]`: @kiln/plugin-data throughput, side by side in one run
// (collate vs per-example tensors + tf.stack, cached vs cold image-folder decode, csv parse), and
// whether a small CNN learns synthetic-shapes (val accuracy per epoch). Needs a build first.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const data = require(path.join(__dirname, '../packages/plugin-data/dist'));

const QUICK = process.argv.includes('--quick');
const LEARN = !process.argv.includes('--no-learn');

function perSecond(fn, count, minSeconds = QUICK ? 0.3 : 1) {
  fn();
  let n = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minSeconds || n < 3) {
    fn();
    n++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return (n * count) / elapsed;
}

const fmt = (v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));

async function throughput() {
  if (process.argv.includes('--no-throughput')) return;
  await tf.setBackend('cpu');
  const shapes = await new data.SyntheticShapesReader(data.ShapesOptions.parse({ trainSize: 512, valSize: 0 }), { seed: 1 }).load('train');
  const examples = Array.from({ length: 64 }, (_, i) => shapes.get(i));
  const rows = [];
  const render = perSecond(() => { for (let i = 0; i < 64; i++) shapes.get(i); }, 64);
  rows.push(['synthetic-shapes render 32×32', `${fmt(render)} img/s`, '']);
  const collate = perSecond(() => { const b = data.collate(examples, shapes.info); tf.dispose([b.inputs.image, b.targets]); }, 64);
  const stack = perSecond(() => {
    tf.tidy(() => { tf.stack(examples.map((e) => tf.tensor3d(e.inputs.image, [32, 32, 3]))); tf.tensor1d(examples.map((e) => e.target), 'int32'); });
  }, 64);
  rows.push(['collate (one typed array → tensor), batch 64', `${fmt(collate)} ex/s`, `${(collate / stack).toFixed(1)}× per-example tensors + tf.stack (${fmt(stack)} ex/s)`]);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-data-'));
  data.writeImageFolder(dir, { seed: 2, size: 64, trainSize: 256, valSize: 0 });
  const cold = await new data.ImageFolderReader(data.ImageFolderReaderOptions.parse({ path: dir, size: [32, 32], cacheSize: 0 }), { baseDir: dir, seed: 0 }).load('train');
  const warm = await new data.ImageFolderReader(data.ImageFolderReaderOptions.parse({ path: dir, size: [32, 32] }), { baseDir: dir, seed: 0 }).load('train');
  const coldRate = perSecond(() => { for (let i = 0; i < cold.size; i++) cold.get(i); }, cold.size);
  const warmRate = perSecond(() => { for (let i = 0; i < warm.size; i++) warm.get(i); }, warm.size);
  rows.push(['image-folder get, 64×64 PNG → 32×32, cold decode', `${fmt(coldRate)} img/s`, '']);
  rows.push(['image-folder get, LRU cache hit', `${fmt(warmRate)} img/s`, `${(warmRate / coldRate).toFixed(0)}× cold`]);
  const t0 = process.hrtime.bigint();
  await new data.ImageFolderReader(data.ImageFolderReaderOptions.parse({ path: dir, size: [32, 32] }), { baseDir: dir, seed: 0 }).load('train');
  rows.push(['image-folder load (list + header check), 256 files', `${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`, '']);

  const csv = path.join(dir, 't.csv');
  data.writeTabularCsv(csv, { seed: 3, n: 20000, numFeatures: 8 });
  const t1 = process.hrtime.bigint();
  await new data.CsvReader(data.CsvReaderOptions.parse({ path: csv, label: 'label' }), { baseDir: dir, seed: 0 }).load('train');
  const csvRate = 20000 / (Number(process.hrtime.bigint() - t1) / 1e9);
  rows.push(['csv load + encode (8 numeric + 1 categorical)', `${fmt(csvRate)} rows/s`, '']);
  fs.rmSync(dir, { recursive: true, force: true });
  console.log('\n| measurement | rate | ratio |\n|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

async function learn() {
  // The union package registers the gradients tfjs-layers' fit needs (as core's trainer does).
  require('@tensorflow/tfjs');
  const tfl = require('@tensorflow/tfjs-layers');
  // wasm (SIMD) when the backend plugin is built: conv training is several times faster than cpu.
  try {
    const { WasmBackend } = require(path.join(__dirname, '../packages/plugin-backend-wasm/dist'));
    await new WasmBackend().activate();
  } catch (error) {
    console.error(`wasm backend unavailable (${error.message}); training on cpu`);
  }
  const epochs = QUICK ? 3 : 5;
  const trainSize = 2000;
  const reader = new data.SyntheticShapesReader(data.ShapesOptions.parse({ trainSize, valSize: 500 }), { seed: 7 });
  const train = await reader.load('train');
  const val = await reader.load('val');
  const all = (ds) => data.collate(Array.from({ length: ds.size }, (_, i) => ds.get(i)), ds.info);
  const tr = all(train);
  const va = all(val);
  const block = (filters, first, pool = true) => [
    tfl.layers.conv2d({ ...(first ? { inputShape: [32, 32, 3] } : {}), filters, kernelSize: 3, padding: 'same', useBias: false }),
    tfl.layers.batchNormalization({ momentum: 0.9 }),
    tfl.layers.activation({ activation: 'relu' }),
    ...(pool ? [tfl.layers.maxPooling2d({ poolSize: 2 })] : []),
  ];
  // Global average pooling makes the classifier position-invariant, as the shapes move around.
  const model = tfl.sequential({ layers: [...block(16, true), ...block(32), ...block(64), ...block(64, false, false), tfl.layers.globalAveragePooling2d({}), tfl.layers.dense({ units: 4, activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.adam(2e-3), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const t0 = Date.now();
  console.log(`\nsmall CNN (4 conv + batch norm + global average pooling, ${model.countParams()} params) on synthetic-shapes 32×32, ${trainSize} train / 500 val, batch 32, Adam 2e-3, backend ${tf.getBackend()}:`);
  // tfjs-layers' sparse cross-entropy wants float labels.
  const trY = tr.targets.toFloat();
  const vaY = va.targets.toFloat();
  await model.fit(tr.inputs.image, trY, {
    epochs, batchSize: 32, shuffle: true, validationData: [va.inputs.image, vaY], verbose: 0,
    callbacks: { onEpochEnd: (e, logs) => console.log(`  epoch ${e + 1}: train acc ${logs.acc.toFixed(3)}  val acc ${logs.val_acc.toFixed(3)}  (${((Date.now() - t0) / 1000).toFixed(0)} s)`) },
  });
}

(async () => {
  await throughput();
  if (LEARN) await learn();
})().catch((e) => { console.error(e); process.exit(1); });
