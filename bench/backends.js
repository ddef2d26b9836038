#!/usr/bin/env node
// `node bench/backends.js [--quick] [--profile]`: cpu vs wasm, side by side in one run.
// --profile adds per-kernel self times of one wasm training step of the small CNN and the transformer.
// matmul and 3x3-conv GFLOP/s (forward, weight gradient, input gradient) and training
// throughput (forward + backward + SGD update) of a small CNN and a 2-layer transformer.
// Needs a build first (`npm run build`).
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
const tfl = require('@tensorflow/tfjs-layers');
const { WasmBackend, CpuBackend, backendInfo } = require(path.join(__dirname, '../packages/plugin-backend-wasm/dist'));
const { profileStep } = require('./lib/kernel-profile');

const QUICK = process.argv.includes('--quick');
const PROFILE = process.argv.includes('--profile');
const MIN_SECONDS = QUICK ? 0.3 : 1.5;

/** Median seconds per call of fn (which must block until its result is computed). */
function time(fn) {
  const w0 = process.hrtime.bigint();
  fn();
  const warmup = Number(process.hrtime.bigint() - w0) / 1e9;
  // Slow calls (cpu backend) get one more sample; fast ones are repeated for MIN_SECONDS.
  const wanted = warmup > MIN_SECONDS ? 1 : 3;
  const samples = [];
  const start = process.hrtime.bigint();
  while (samples.length < wanted || (Number(process.hrtime.bigint() - start) / 1e9 < MIN_SECONDS && samples.length < 200)) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

/** Runs op (which returns one tensor) to completion and frees everything it made. */
function run(op) {
  // Not tf.tidy(() => op().dataSync()): tidy walks a returned typed array element by element.
  const out = tf.tidy(op);
  out.dataSync();
  out.dispose();
}

function seeded(shape, seed) {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

function kernels() {
  const results = {};
  const n = 512;
  tf.tidy(() => {
    const a = seeded([n, n], 1);
    const b = seeded([n, n], 2);
    results['matmul 512x512 GFLOP/s'] = (2 * n ** 3) / time(() => run(() => tf.matMul(a, b))) / 1e9;
  });
  const [B, H, W, C, K] = [8, 16, 16, 32, 32];
  const flops = 2 * B * H * W * 3 * 3 * C * K;
  tf.tidy(() => {
    const x = seeded([B, H, W, C], 3);
    const f = seeded([3, 3, C, K], 4);
    const dy = seeded([B, H, W, K], 5);
    results['conv3x3 fwd GFLOP/s'] = flops / time(() => run(() => tf.conv2d(x, f, 1, 'same'))) / 1e9;
    results['conv3x3 weight-grad GFLOP/s'] =
      flops / time(() => run(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, C, K] }))) / 1e9;
    results['conv3x3 input-grad GFLOP/s'] = flops / time(() => run(() => tf.conv2dTranspose(dy, f, [B, H, W, C], 1, 'same'))) / 1e9;
  });
  return results;
}

const profiles = [];

function maybeProfile(label, step) {
  if (!PROFILE || tf.getBackend() !== 'wasm') return;
  step();
  profiles.push({ label, ...profileStep(step) });
}

/** wasm only (the cpu backend takes minutes per call here): ResNet-18 CIFAR layer shapes at batch 64. */
function resnetConvs() {
  const shapes = QUICK
    ? [[64, 32, 32, 64, 64, 1], [64, 16, 16, 128, 128, 1]]
    : [[64, 32, 32, 64, 64, 1], [64, 32, 32, 64, 128, 2], [64, 16, 16, 128, 128, 1], [64, 8, 8, 256, 256, 1], [64, 4, 4, 512, 512, 1], [1, 32, 32, 64, 64, 1]];
  const rows = [];
  for (const [B, H, W, C, K, s] of shapes) {
    tf.tidy(() => {
      const x = seeded([B, H, W, C], 11);
      const f = seeded([3, 3, C, K], 12);
      const [OH, OW] = [Math.ceil(H / s), Math.ceil(W / s)];
      const dy = seeded([B, OH, OW, K], 13);
      const flops = 2 * B * OH * OW * 9 * C * K;
      const fwd = flops / time(() => run(() => tf.conv2d(x, f, s, 'same'))) / 1e9;
      const wgrad = flops / time(() => run(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: s, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, C, K] }))) / 1e9;
      const igrad = flops / time(() => run(() => tf.conv2dTranspose(dy, f, [B, H, W, C], s, 'same'))) / 1e9;
      rows.push([`[${B},${H},${W},${C}]→${K} s${s}`, fwd, wgrad, igrad]);
    });
  }
  return rows;
}

function smallCnn() {
  const batch = 16;
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [32, 32, 3], filters: 16, kernelSize: 3, padding: 'same', useBias: false }),
      tfl.layers.batchNormalization(),
      tfl.layers.activation({ activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', useBias: false }),
      tfl.layers.batchNormalization(),
      tfl.layers.activation({ activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 10 }),
    ],
  });
  const x = seeded([batch, 32, 32, 3], 6);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 7), 10));
  const opt = tf.train.sgd(0.01);
  const step = () => {
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
    loss.dataSync();
    loss.dispose();
  };
  const seconds = time(step);
  maybeProfile('small CNN, batch 16', step);
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
  return batch / seconds;
}

/** Embedding → 2 × (attention + layernorm + GELU MLP + layernorm) → mean-pool → classifier. */
function transformer() {
  const [batch, seq, dim, heads, vocab, ff] = [8, 32, 64, 4, 1000, 256];
  const hd = dim / heads;
  let seed = 100;
  // tf.variable does not take ownership of its initial value.
  const own = (t) => {
    const variable = tf.variable(t);
    t.dispose();
    return variable;
  };
  const v = (shape, scale = 0.1) => own(tf.tidy(() => tf.mul(seeded(shape, seed++), scale)));
  const params = { embed: v([vocab, dim]), pos: v([seq, dim]), out: v([dim, 4]), layers: [] };
  for (let l = 0; l < 2; l++) {
    params.layers.push({ wq: v([dim, dim]), wk: v([dim, dim]), wv: v([dim, dim]), wo: v([dim, dim]), g1: own(tf.ones([dim])), b1: own(tf.zeros([dim])), w1: v([dim, ff]), c1: own(tf.zeros([ff])), w2: v([ff, dim]), c2: own(tf.zeros([dim])), g2: own(tf.ones([dim])), b2: own(tf.zeros([dim])) });
  }
  const layerNorm = (t, g, b) => {
    const { mean, variance } = tf.moments(t, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
  };
  const gelu = (t) => tf.mul(tf.mul(t, 0.5), tf.add(1, tf.erf(tf.div(t, Math.SQRT2))));
  const splitHeads = (t) => tf.transpose(tf.reshape(t, [batch, seq, heads, hd]), [0, 2, 1, 3]);
  const forward = (ids) => {
    let h = tf.add(tf.gather(params.embed, ids), params.pos);
    for (const p of params.layers) {
      const flat = tf.reshape(h, [batch * seq, dim]);
      const q = splitHeads(tf.matMul(flat, p.wq));
      const k = splitHeads(tf.matMul(flat, p.wk));
      const val = splitHeads(tf.matMul(flat, p.wv));
      const att = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(hd)));
      const ctx = tf.reshape(tf.transpose(tf.matMul(att, val), [0, 2, 1, 3]), [batch * seq, dim]);
      h = layerNorm(tf.add(h, tf.reshape(tf.matMul(ctx, p.wo), [batch, seq, dim])), p.g1, p.b1);
      const m = tf.add(tf.matMul(gelu(tf.add(tf.matMul(tf.reshape(h, [batch * seq, dim]), p.w1), p.c1)), p.w2), p.c2);
      h = layerNorm(tf.add(h, tf.reshape(m, [batch, seq, dim])), p.g2, p.b2);
    }
    return tf.matMul(tf.mean(h, 1), params.out);
  };
  const ids = tf.randomUniform([batch, seq], 0, vocab, 'int32', 8);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, 4, 'int32', 9), 4));
  const opt = tf.train.sgd(0.01);
  const step = () => {
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(ids)), true);
    loss.dataSync();
    loss.dispose();
  };
  const seconds = time(step);
  maybeProfile('2-layer transformer, batch 8 × 32 tokens', step);
  opt.dispose();
  tf.dispose([ids, y]);
  const all = [params.embed, params.pos, params.out, ...params.layers.flatMap((p) => Object.values(p))];
  tf.dispose(all);
  return batch / seconds;
}

async function measure(backend) {
  const info = await backend.activate();
  const before = tf.memory().numTensors;
  const r = kernels();
  const convRows = info.name === 'wasm' ? resnetConvs() : undefined;
  r['small CNN train samples/s'] = smallCnn();
  r['2-layer transformer train samples/s'] = transformer();
  // On wasm, Kiln keeps one small one-hot filter per filter shape whose weight gradient ran at batch 1 (none here).
  const kept = tf.memory().numTensors - before;
  if (kept > (info.name === 'wasm' ? 3 : 0)) console.error(`warning: ${kept} tensors left on ${info.name}`);
  return { info, r, convRows };
}

(async () => {
  const cpu = await measure(new CpuBackend());
  const wasm = await measure(new WasmBackend());
  const e = backendInfo();
  console.log(`tfjs ${e.tfjsVersion}; wasm: SIMD ${wasm.info.simd ? 'on' : 'off'}, ${wasm.info.threads} thread(s); node ${process.version}${QUICK ? ' (quick)' : ''}`);
  const rows = Object.keys(cpu.r).map((k) => [k, cpu.r[k].toFixed(2), wasm.r[k].toFixed(2), `${(wasm.r[k] / cpu.r[k]).toFixed(1)}x`]);
  const head = ['', 'cpu', 'wasm', 'wasm/cpu'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  for (const row of [head, ...rows]) console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  const w = wasm.r;
  console.log(`wasm weight-grad / forward conv: ${(w['conv3x3 weight-grad GFLOP/s'] / w['conv3x3 fwd GFLOP/s']).toFixed(2)}; input-grad / forward: ${(w['conv3x3 input-grad GFLOP/s'] / w['conv3x3 fwd GFLOP/s']).toFixed(2)}`);
  console.log('\nwasm 3x3 conv GFLOP/s at ResNet-18 CIFAR layer shapes (x → out channels, stride):');
  console.log(`  ${'shape'.padEnd(24)} forward  weight-grad  input-grad  wgrad/fwd  igrad/fwd`);
  for (const [name, f, wg, ig] of wasm.convRows) {
    console.log(`  ${name.padEnd(24)} ${f.toFixed(1).padStart(7)}  ${wg.toFixed(1).padStart(11)}  ${ig.toFixed(1).padStart(10)}  ${(wg / f).toFixed(2).padStart(9)}  ${(ig / f).toFixed(2).padStart(9)}`);
  }
  for (const p of profiles) {
    console.log(`\nwasm profile, one training step of the ${p.label}: ${p.stepMs.toFixed(1)} ms (self time per kernel, top 15)`);
    for (const [name, e] of p.rows.slice(0, 15)) console.log(`  ${name.padEnd(28)} ${e.ms.toFixed(2).padStart(8)} ms ${String(e.calls).padStart(5)} calls ${((100 * e.ms) / p.stepMs).toFixed(1).padStart(5)}%`);
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
