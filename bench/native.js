#!/usr/bin/env node
// `node bench/native.js [--quick] [--rounds N] [--only sgemm,resnet,bert,resnet-cpu] [--no-torch] [--no-wasm] [--profile]`
// Kiln's native backend (packages/plugin-backend-native) against wasm and PyTorch (Debian python3-torch,
// 2 threads), side by side in one run:
//   SGEMM 512×512×512 and 2048×256×1024 (M×K×N) GFLOP/s: native (addon, and tf.matMul on kiln-native), wasm, torch;
//   ResNet-18 CIFAR (batch 64, SGD momentum) training img/s: native, wasm, torch (bench/resnet_torch.py);
//   BERT-mini (L4/H256/A4/I1024, seq 128, batch 16, AdamW) training seq/s: native, wasm, torch (bench/native_torch.py).
// The machine is shared, so engines run in interleaved rounds (native, wasm, torch, native, …), each model
// measurement in its own process, and the medians are compared. --profile adds a per-kernel native ResNet step.
// resnet-cpu (not in the default set): CPU time of one ResNet-18 step on ONE thread, native (KILN_NUM_THREADS=1)
// against PyTorch (set_num_threads(1)): per-core efficiency, which other processes on the machine barely change.
// Needs a build (`npm run build`) and the addon (built by `npm install`).
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const QUICK = flag('--quick');
const ROUNDS = Number(value('--rounds', QUICK ? 1 : 3));
const ONLY = value('--only', 'sgemm,resnet,bert').split(',');
const PYTHONS = [process.env.TORCH_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);

const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function loadTf() {
  const tf = require('@tensorflow/tfjs-core');
  return tf;
}

async function activate(backend) {
  if (backend === 'native') {
    const { NativeBackend } = require(path.join(__dirname, '../packages/plugin-backend-native/dist'));
    return new NativeBackend().activate();
  }
  const { WasmBackend } = require(path.join(__dirname, '../packages/plugin-backend-wasm/dist'));
  return new WasmBackend().activate();
}

// ---------- workers (one model, one backend, one process) ----------

function resnetModel(tf) {
  const { ResNetBackbone } = require(path.join(__dirname, '../packages/plugin-resnet/dist'));
  const backbone = new ResNetBackbone({ depth: 18, stem: 'cifar', widthMultiplier: 1, zeroInitResidual: false }, { inputShape: [32, 32, 3], seed: 0 });
  const model = backbone.classifier(10, { seed: 0 });
  const x = tf.randomUniform([64, 32, 32, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32', 2), 10);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const step = () => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
    loss.dataSync();
    loss.dispose();
  };
  return { step, samples: 64 };
}

function bertModel(tf) {
  const { buildBert } = require(path.join(__dirname, '../packages/plugin-bert/dist'));
  const model = buildBert({ size: 'mini', head: 'sequence-classification', numLabels: 2, vocabSize: 30522 }, { seed: 0 });
  const [B, L] = [16, 128];
  const ids = tf.randomUniform([B, L], 0, 30522, 'int32', 3);
  const inputs = { input_ids: ids, attention_mask: tf.ones([B, L], 'int32'), token_type_ids: tf.zeros([B, L], 'int32') };
  const y = tf.oneHot(tf.randomUniform([B], 0, 2, 'int32', 4), 2);
  const optimizer = tf.train.adam(1e-4);
  const step = () => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(inputs, { training: true })), true);
    loss.dataSync();
    loss.dispose();
  };
  return { step, samples: B };
}

async function worker(kind, backend, steps) {
  const tf = loadTf();
  const info = await activate(backend);
  const { step, samples } = (kind === 'resnet' ? resnetModel : bertModel)(tf);
  step();
  const tensors = tf.memory().numTensors;
  const t0 = process.hrtime.bigint();
  const cpuMs = [];
  for (let i = 0; i < steps; i++) {
    const c = process.cpuUsage();
    step();
    const d = process.cpuUsage(c);
    cpuMs.push((d.user + d.system) / 1e3);
  }
  const rate = (samples * steps) / seconds(t0);
  if (tf.memory().numTensors !== tensors) throw new Error(`tensor leak: ${tensors} → ${tf.memory().numTensors}`);
  const out = { rate, cpuMsPerStep: median(cpuMs), threads: info.threads, isa: info.details?.isa };
  if (flag('--profile')) {
    const { profileStep } = require('./lib/kernel-profile');
    const { stepMs, rows } = profileStep(step);
    out.profile = { stepMs, rows: rows.slice(0, 25).map(([n, e]) => [n, +e.ms.toFixed(1), e.calls]) };
  }
  console.log(JSON.stringify(out));
}

// ---------- orchestration ----------

/**
 * CPU time of everything on the machine and of this process's waited-for children (Linux /proc), to say how
 * many cores other processes used while a measurement ran: the machine is shared, and PyTorch's OpenMP
 * threads lose far more than the native pool when a core is taken.
 */
function cpuSnapshot() {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const self = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    // After ')': state, ppid, …; utime/stime/cutime/cstime are fields 14–17 of the line, 11–14 here.
    return { busy: cpu.reduce((a, b) => a + b, 0) - cpu[3] - (cpu[4] ?? 0), total: cpu.reduce((a, b) => a + b, 0), own: f[11] + f[12] + f[13] + f[14] };
  } catch {
    return undefined;
  }
}

/** Cores used by other processes between two snapshots (undefined off Linux). */
function otherCores(a, b) {
  if (!a || !b || b.total === a.total) return undefined;
  const cores = require('node:os').cpus().length;
  return Math.max(0, ((b.busy - a.busy - (b.own - a.own)) / (b.total - a.total)) * cores);
}

function spawnJson(command, argv) {
  const r = spawnSync(command, argv, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function torchPython() {
  if (flag('--no-torch')) return undefined;
  for (const python of PYTHONS) if (spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return python;
  return undefined;
}

/** Median seconds per call of fn over ~`budget` s. */
function timeCall(fn, budget) {
  fn();
  const samples = [];
  const start = process.hrtime.bigint();
  while (samples.length < 5 || (seconds(start) < budget && samples.length < 500)) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(seconds(t0));
  }
  return median(samples);
}

async function sgemm(python, log) {
  const tf = loadTf();
  const { nativeAddon } = require(path.join(__dirname, '../packages/plugin-backend-native/dist'));
  await activate('wasm');
  await activate('native');
  const addon = nativeAddon();
  const shapes = [[512, 512, 512], [2048, 256, 1024]];
  const budget = QUICK ? 0.5 : 1.5;
  const results = {};
  for (const [m, k, n] of shapes) {
    const key = `${m}x${k}x${n}`;
    const flops = 2 * m * n * k;
    const r = (results[key] = { addon: [], native: [], wasm: [], torch: [] });
    const a = tf.randomUniform([m, k], -1, 1, 'float32', 1);
    const b = tf.randomUniform([k, n], -1, 1, 'float32', 2);
    const av = a.dataSync();
    const bv = b.dataSync();
    const c = new Float32Array(m * n);
    const onBackend = (name) => {
      tf.setBackend(name);
      return flops / timeCall(() => tf.tidy(() => tf.matMul(a, b)).dataSync(), budget) / 1e9;
    };
    for (let round = 0; round < ROUNDS; round++) {
      r.addon.push(flops / timeCall(() => addon.matMul(av, bv, c, 1, 1, m, n, k, false, false, null, 0, 0), budget) / 1e9);
      r.native.push(onBackend('kiln-native'));
      if (!flag('--no-wasm')) r.wasm.push(onBackend('wasm'));
      if (python) r.torch.push(spawnJson(python, [path.join(__dirname, 'native_torch.py'), 'sgemm', '--m', String(m), '--k', String(k), '--n', String(n), '--seconds', String(budget), '--threads', '2']).gflops);
    }
    tf.dispose([a, b]);
    const med = Object.fromEntries(Object.entries(r).filter(([, v]) => v.length).map(([e, v]) => [e, median(v)]));
    log(`SGEMM ${m}×${k}×${n} (M×K×N) GFLOP/s, median of ${ROUNDS}: ${Object.entries(med).map(([e, v]) => `${e === 'addon' ? 'native addon' : e === 'native' ? 'native tf.matMul' : e} ${v.toFixed(1)}`).join(', ')}`);
    if (med.torch) log(`  native/torch ${(med.addon / med.torch).toFixed(2)}× (addon), ${(med.native / med.torch).toFixed(2)}× (tf.matMul); goal ≥ 0.8`);
    if (med.wasm) log(`  native/wasm ${(med.native / med.wasm).toFixed(1)}×`);
    results[key] = { samples: r, median: med };
  }
  return results;
}

function model(kind, python, log) {
  const steps = QUICK ? 1 : kind === 'resnet' ? 3 : 3;
  const engines = ['native', ...(flag('--no-wasm') ? [] : ['wasm']), ...(python ? ['torch'] : [])];
  const samples = Object.fromEntries(engines.map((e) => [e, []]));
  const others = Object.fromEntries(engines.map((e) => [e, []]));
  let profiled;
  for (let round = 0; round < ROUNDS; round++) {
    for (const engine of engines) {
      let rate;
      const before = cpuSnapshot();
      if (engine === 'torch') {
        rate = kind === 'resnet'
          ? spawnJson(python, [path.join(__dirname, 'resnet_torch.py'), '--batch', '64', '--train-steps', String(steps), '--infer-steps', '1', '--threads', '2']).train_img_s
          : spawnJson(python, [path.join(__dirname, 'native_torch.py'), 'bert', '--steps', String(steps), '--threads', '2']).train_seq_s;
      } else {
        // wasm steps are ~10× slower: fewer of them keep the round short.
        const n = engine === 'wasm' ? Math.max(1, Math.ceil(steps / 2)) : steps;
        const wantProfile = flag('--profile') && engine === 'native' && round === 0;
        const out = spawnJson(process.execPath, [__filename, '--worker', kind, '--backend', engine, '--steps', String(n), ...(wantProfile ? ['--profile'] : [])]);
        rate = out.rate;
        if (out.profile) profiled = out.profile;
      }
      samples[engine].push(rate);
      others[engine].push(otherCores(before, cpuSnapshot()));
    }
  }
  const med = Object.fromEntries(engines.map((e) => [e, median(samples[e])]));
  const unit = kind === 'resnet' ? 'img/s' : 'seq/s';
  const title = kind === 'resnet' ? 'ResNet-18 CIFAR, batch 64, SGD momentum: training' : 'BERT-mini (L4/H256/A4), seq 128, batch 16, AdamW: training';
  log(`${title} ${unit}, median of ${ROUNDS} interleaved rounds: ${engines.map((e) => `${e} ${med[e].toFixed(2)}`).join(', ')}`);
  log(`  rounds: ${engines.map((e) => `${e} [${samples[e].map((v) => v.toFixed(2)).join(', ')}]`).join('; ')}`);
  const busy = (v) => (v === undefined ? '?' : v.toFixed(2));
  log(`  cores used by other processes during each: ${engines.map((e) => `${e} [${others[e].map(busy).join(', ')}]`).join('; ')}; load average ${require('node:os').loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  // Rounds where native and torch both ran with < 0.15 other cores busy: the only fair same-run comparison.
  const quiet = samples.native.map((_, i) => i).filter((i) => engines.every((e) => (others[e][i] ?? 1) < 0.15));
  if (med.torch && quiet.length) {
    const q = (e) => median(quiet.map((i) => samples[e][i]));
    log(`  quiet rounds (${quiet.length}/${ROUNDS}, < 0.15 other cores in both): native ${q('native').toFixed(2)}, torch ${q('torch').toFixed(2)}, native/torch ${(q('native') / q('torch')).toFixed(2)}×`);
  }
  if (med.torch) log(`  native/torch ${(med.native / med.torch).toFixed(2)}× (goal ≥ 0.8)${med.wasm ? `, wasm/torch ${(med.wasm / med.torch).toFixed(3)}×` : ''}`);
  if (med.wasm) log(`  native/wasm ${(med.native / med.wasm).toFixed(1)}×`);
  if (profiled) {
    log(`  one native step: ${profiled.stepMs.toFixed(0)} ms; self time by kernel (ms, calls):`);
    for (const [name, ms, calls] of profiled.rows) log(`    ${name.padEnd(34)} ${String(ms).padStart(8)} ${String(calls).padStart(5)}`);
  }
  return { samples, others, median: med, profile: profiled };
}

/** One-thread CPU time per ResNet-18 step, native and torch alternating. */
function resnetCpu(python, log) {
  const steps = QUICK ? 1 : 3;
  const r = { native: [], torch: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const env = { ...process.env, KILN_NUM_THREADS: '1' };
    const n = spawnSync(process.execPath, [__filename, '--worker', 'resnet', '--backend', 'native', '--steps', String(steps)], { encoding: 'utf8', env, maxBuffer: 1 << 24 });
    if (n.status !== 0) throw new Error(n.stderr);
    r.native.push(JSON.parse(n.stdout.trim().split('\n').pop()).cpuMsPerStep);
    if (python) r.torch.push(spawnJson(python, [path.join(__dirname, 'native_torch.py'), 'resnet-cpu', '--batch', '64', '--steps', String(steps), '--threads', '1']).cpu_ms_per_step);
  }
  const med = { native: median(r.native), torch: r.torch.length ? median(r.torch) : undefined };
  log(`ResNet-18 CIFAR, batch 64, one thread each: CPU ms per training step, median of ${ROUNDS}: native ${med.native.toFixed(0)}${med.torch ? `, torch ${med.torch.toFixed(0)}` : ''}`);
  log(`  rounds: native [${r.native.map((v) => v.toFixed(0)).join(', ')}]${med.torch ? `; torch [${r.torch.map((v) => v.toFixed(0)).join(', ')}]` : ''}`);
  if (med.torch) log(`  native/torch per-core throughput ${(med.torch / med.native).toFixed(2)}× (CPU time, insensitive to other processes)`);
  return { samples: r, median: med };
}

async function main() {
  if (flag('--worker')) return worker(value('--worker'), value('--backend', 'native'), Number(value('--steps', '3')));
  const log = (s) => console.log(s);
  const python = torchPython();
  const { nativeAddon } = require(path.join(__dirname, '../packages/plugin-backend-native/dist'));
  const info = nativeAddon().info();
  log(`native addon: isa ${info.isa}, threads ${info.threads}; torch: ${python ? spawnJson(python, ['-c', 'import torch, json; print(json.dumps(torch.__version__))']) : 'not installed (apt-get install python3-torch), skipped'}`);
  const results = {};
  if (ONLY.includes('sgemm')) results.sgemm = await sgemm(python, log);
  if (ONLY.includes('resnet')) results.resnet = model('resnet', python, log);
  if (ONLY.includes('bert')) results.bert = model('bert', python, log);
  if (ONLY.includes('resnet-cpu')) results.resnetCpu = resnetCpu(python, log);
  const out = value('--json');
  if (out) require('node:fs').writeFileSync(out, JSON.stringify(results, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
